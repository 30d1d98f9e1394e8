package org.clopt;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.RMSprop}.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   v = alpha * v + (1 - alpha) * g * g
 *   if centered:  a = alpha * a + (1 - alpha) * g;   d = sqrt(v - a * a) + eps
 *   else:         d = sqrt(v) + eps                  (eps outside the square root)
 *   if momentum > 0:  b = momentum * b + g / d;   p = p - lr * b
 *   else:             p = p - lr * g / d
 * </pre>
 *
 * State: {@code square_avg}, then {@code momentum_buffer} when momentum > 0, then
 * {@code grad_avg} when centered. Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0,
 * momentum 0, centered false.
 */
public final class RmsProp extends OptimizerConfig {
    private final double lr;
    private final double alpha;
    private final double eps;
    private final double weightDecay;
    private final double momentum;
    private final boolean centered;
    private final boolean maximize;

    private RmsProp(Builder b) {
        lr = Check.atLeastZero("lr", b.lr);
        alpha = Check.atLeastZero("alpha", b.alpha);
        eps = Check.atLeastZero("eps", b.eps);
        weightDecay = Check.atLeastZero("weight_decay", b.weightDecay);
        momentum = Check.atLeastZero("momentum", b.momentum);
        centered = b.centered;
        maximize = b.maximize;
    }

    public static Builder builder() {
        return new Builder();
    }

    static RmsProp from(Settings s) {
        return builder()
                .lr(s.number("lr", 1e-2))
                .alpha(s.number("alpha", 0.99))
                .eps(s.number("eps", 1e-8))
                .weightDecay(s.number("weight_decay", 0.0))
                .momentum(s.number("momentum", 0.0))
                .centered(s.flag("centered", false))
                .maximize(s.flag("maximize", false))
                .build();
    }

    public double lr() {
        return lr;
    }

    public double alpha() {
        return alpha;
    }

    public double eps() {
        return eps;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double momentum() {
        return momentum;
    }

    public boolean centered() {
        return centered;
    }

    public boolean maximize() {
        return maximize;
    }

    @Override
    public String algorithm() {
        return "rmsprop";
    }

    @Override
    public List<String> stateNames() {
        List<String> names = new ArrayList<>(List.of("square_avg"));
        if (momentum > 0) {
            names.add("momentum_buffer");
        }
        if (centered) {
            names.add("grad_avg");
        }
        return List.copyOf(names);
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("alpha", alpha);
        m.put("eps", eps);
        m.put("weight_decay", weightDecay);
        m.put("momentum", momentum);
        m.put("centered", centered);
        m.put("maximize", maximize);
        return m;
    }

    @Override
    String buildOptions() {
        return flag(maximize, "MAXIMIZE") + flag(momentum > 0, "MOMENTUM") + flag(centered, "CENTERED");
    }

    @Override
    float[] scalars(long t, float muProduct) {
        return new float[] {(float) weightDecay, (float) alpha, (float) (1 - alpha), (float) eps,
            (float) momentum, (float) -lr};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        float wd = s[0];
        float alphaF = s[1];
        float oneMinusAlpha = s[2];
        float epsF = s[3];
        float mu = s[4];
        float negLr = s[5];
        float[] squareAvg = state[0];
        float[] buf = momentum > 0 ? state[1] : null;
        float[] gradAvg = centered ? state[state.length - 1] : null;
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, wd);
            float v = squareAvg[i] * alphaF + oneMinusAlpha * g * g;
            squareAvg[i] = v;
            float d;
            if (centered) {
                float a = gradAvg[i] * alphaF + oneMinusAlpha * g;
                gradAvg[i] = a;
                d = (float) Math.sqrt(v - a * a) + epsF;
            } else {
                d = (float) Math.sqrt(v) + epsF;
            }
            if (buf != null) {
                float b = buf[i] * mu + g / d;
                buf[i] = b;
                p[i] = pi + negLr * b;
            } else {
                p[i] = pi + negLr * g / d;
            }
        }
    }

    /** Builds an {@link RmsProp}, starting from PyTorch's defaults. */
    public static final class Builder {
        private double lr = 1e-2;
        private double alpha = 0.99;
        private double eps = 1e-8;
        private double weightDecay;
        private double momentum;
        private boolean centered;
        private boolean maximize;

        private Builder() {
        }

        public Builder lr(double value) {
            lr = value;
            return this;
        }

        public Builder alpha(double value) {
            alpha = value;
            return this;
        }

        public Builder eps(double value) {
            eps = value;
            return this;
        }

        public Builder weightDecay(double value) {
            weightDecay = value;
            return this;
        }

        public Builder momentum(double value) {
            momentum = value;
            return this;
        }

        public Builder centered(boolean value) {
            centered = value;
            return this;
        }

        public Builder maximize(boolean value) {
            maximize = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid hyperparameter */
        public RmsProp build() {
            return new RmsProp(this);
        }
    }
}

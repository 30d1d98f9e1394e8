package org.clopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.Adadelta}.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   v = rho * v + (1 - rho) * g * g
 *   delta = sqrt(u + eps) / sqrt(v + eps) * g           (eps inside both square roots)
 *   u = rho * u + (1 - rho) * delta * delta
 *   p = p - lr * delta
 * </pre>
 *
 * State: {@code square_avg} v, {@code acc_delta} u. Defaults: lr 1.0, rho 0.9, eps 1e-6,
 * weight_decay 0.
 */
public final class Adadelta extends OptimizerConfig {
    private final double lr;
    private final double rho;
    private final double eps;
    private final double weightDecay;
    private final boolean maximize;

    private Adadelta(Builder b) {
        lr = Check.atLeastZero("lr", b.lr);
        rho = Check.unitClosed("rho", b.rho);
        eps = Check.atLeastZero("eps", b.eps);
        weightDecay = Check.atLeastZero("weight_decay", b.weightDecay);
        maximize = b.maximize;
    }

    public static Builder builder() {
        return new Builder();
    }

    static Adadelta from(Settings s) {
        return builder()
                .lr(s.number("lr", 1.0))
                .rho(s.number("rho", 0.9))
                .eps(s.number("eps", 1e-6))
                .weightDecay(s.number("weight_decay", 0.0))
                .maximize(s.flag("maximize", false))
                .build();
    }

    public double lr() {
        return lr;
    }

    public double rho() {
        return rho;
    }

    public double eps() {
        return eps;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public boolean maximize() {
        return maximize;
    }

    @Override
    public String algorithm() {
        return "adadelta";
    }

    @Override
    public List<String> stateNames() {
        return List.of("square_avg", "acc_delta");
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("rho", rho);
        m.put("eps", eps);
        m.put("weight_decay", weightDecay);
        m.put("maximize", maximize);
        return m;
    }

    @Override
    String buildOptions() {
        return flag(maximize, "MAXIMIZE");
    }

    @Override
    float[] scalars(long t, float muProduct) {
        return new float[] {(float) weightDecay, (float) rho, (float) (1 - rho), (float) eps,
            (float) -lr};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        float wd = s[0];
        float rhoF = s[1];
        float oneMinusRho = s[2];
        float epsF = s[3];
        float negLr = s[4];
        float[] squareAvg = state[0];
        float[] accDelta = state[1];
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, wd);
            float v = squareAvg[i] * rhoF + oneMinusRho * g * g;
            squareAvg[i] = v;
            float u = accDelta[i];
            float delta = (float) Math.sqrt(u + epsF) / (float) Math.sqrt(v + epsF) * g;
            accDelta[i] = u * rhoF + oneMinusRho * delta * delta;
            p[i] = pi + negLr * delta;
        }
    }

    /** Builds an {@link Adadelta}, starting from PyTorch's defaults. */
    public static final class Builder {
        private double lr = 1.0;
        private double rho = 0.9;
        private double eps = 1e-6;
        private double weightDecay;
        private boolean maximize;

        private Builder() {
        }

        public Builder lr(double value) {
            lr = value;
            return this;
        }

        public Builder rho(double value) {
            rho = value;
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

        public Builder maximize(boolean value) {
            maximize = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid hyperparameter */
        public Adadelta build() {
            return new Adadelta(this);
        }
    }
}

package org.clopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.Adagrad}.
 *
 * <pre>
 * s = initial_accumulator_value
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   clr = lr / (1 + (t - 1) * lr_decay)
 *   s = s + g * g
 *   p = p - clr * g / (sqrt(s) + eps)          (eps outside the square root)
 * </pre>
 *
 * State: {@code sum}. Defaults: lr 1e-2, lr_decay 0, weight_decay 0,
 * initial_accumulator_value 0, eps 1e-10.
 */
public final class Adagrad extends OptimizerConfig {
    private final double lr;
    private final double lrDecay;
    private final double weightDecay;
    private final double initialAccumulatorValue;
    private final double eps;
    private final boolean maximize;

    private Adagrad(Builder b) {
        lr = Check.atLeastZero("lr", b.lr);
        lrDecay = Check.atLeastZero("lr_decay", b.lrDecay);
        weightDecay = Check.atLeastZero("weight_decay", b.weightDecay);
        initialAccumulatorValue = Check.atLeastZero("initial_accumulator_value",
                b.initialAccumulatorValue);
        eps = Check.atLeastZero("eps", b.eps);
        maximize = b.maximize;
    }

    public static Builder builder() {
        return new Builder();
    }

    static Adagrad from(Settings s) {
        return builder()
                .lr(s.number("lr", 1e-2))
                .lrDecay(s.number("lr_decay", 0.0))
                .weightDecay(s.number("weight_decay", 0.0))
                .initialAccumulatorValue(s.number("initial_accumulator_value", 0.0))
                .eps(s.number("eps", 1e-10))
                .maximize(s.flag("maximize", false))
                .build();
    }

    public double lr() {
        return lr;
    }

    public double lrDecay() {
        return lrDecay;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double initialAccumulatorValue() {
        return initialAccumulatorValue;
    }

    public double eps() {
        return eps;
    }

    public boolean maximize() {
        return maximize;
    }

    @Override
    public String algorithm() {
        return "adagrad";
    }

    @Override
    public List<String> stateNames() {
        return List.of("sum");
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("lr_decay", lrDecay);
        m.put("weight_decay", weightDecay);
        m.put("initial_accumulator_value", initialAccumulatorValue);
        m.put("eps", eps);
        m.put("maximize", maximize);
        return m;
    }

    @Override
    String buildOptions() {
        return flag(maximize, "MAXIMIZE");
    }

    @Override
    float initialState(int index) {
        return (float) initialAccumulatorValue;
    }

    @Override
    float[] scalars(long t, float muProduct) {
        double clr = lr / (1 + (t - 1) * lrDecay);
        return new float[] {(float) weightDecay, (float) -clr, (float) eps};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        float wd = s[0];
        float negClr = s[1];
        float epsF = s[2];
        float[] sum = state[0];
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, wd);
            float acc = sum[i] + g * g;
            sum[i] = acc;
            p[i] = pi + negClr * g / ((float) Math.sqrt(acc) + epsF);
        }
    }

    /** Builds an {@link Adagrad}, starting from PyTorch's defaults. */
    public static final class Builder {
        private double lr = 1e-2;
        private double lrDecay;
        private double weightDecay;
        private double initialAccumulatorValue;
        private double eps = 1e-10;
        private boolean maximize;

        private Builder() {
        }

        public Builder lr(double value) {
            lr = value;
            return this;
        }

        public Builder lrDecay(double value) {
            lrDecay = value;
            return this;
        }

        public Builder weightDecay(double value) {
            weightDecay = value;
            return this;
        }

        public Builder initialAccumulatorValue(double value) {
            initialAccumulatorValue = value;
            return this;
        }

        public Builder eps(double value) {
            eps = value;
            return this;
        }

        public Builder maximize(boolean value) {
            maximize = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid hyperparameter */
        public Adagrad build() {
            return new Adagrad(this);
        }
    }
}

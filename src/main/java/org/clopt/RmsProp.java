package org.clopt;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

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
 * {@code grad_avg} when centered. Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class RmsProp extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("rmsprop", 8, RmsProp::new,
            Hyperparameter.number("lr", 1e-2, Range.AT_LEAST_ZERO),
            Hyperparameter.number("alpha", 0.99, Range.AT_LEAST_ZERO),
            Hyperparameter.number("eps", 1e-8, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            // Zero or not selects the kernel variant and the state; its value may change.
            Hyperparameter.number("momentum", 0, Range.AT_LEAST_ZERO),
            Hyperparameter.flag("centered", false).structural(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private RmsProp(Algorithm row, Map<String, Object> values) {
        super(row, values);
        // sqrt(v - a^2) needs v >= a^2, which two separately quantized arrays do not keep.
        if (flag("centered") && int8State()) {
            throw new IllegalArgumentException("invalid state_dtype: int8 does not support centered=true "
                    + "(the quantized square_avg and grad_avg can give v - grad_avg^2 < 0); use fp32 or bf16");
        }
    }

    /**
     * A builder starting from PyTorch's defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder(ALGORITHM);
    }

    @Override
    public Builder toBuilder() {
        return new Builder(this);
    }

    @Override
    public List<String> stateNames() {
        List<String> names = new ArrayList<>(List.of("square_avg"));
        if (number("momentum") > 0) {
            names.add("momentum_buffer");
        }
        if (flag("centered")) {
            names.add("grad_avg");
        }
        return List.copyOf(names);
    }

    @Override
    String buildOptions() {
        return super.buildOptions() + define(number("momentum") > 0, "MOMENTUM")
                + define(flag("centered"), "CENTERED");
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double alpha = number("alpha");
        return new float[] {(float) number("weight_decay"), (float) alpha, (float) (1 - alpha),
            (float) number("eps"), (float) number("momentum"), (float) -lr()};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        boolean centered = flag("centered");
        float wd = s[0];
        float alphaF = s[1];
        float oneMinusAlpha = s[2];
        float epsF = s[3];
        float mu = s[4];
        float negLr = s[5];
        float[] squareAvg = state[0];
        float[] buf = number("momentum") > 0 ? state[1] : null;
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
    public static final class Builder extends OptimizerConfig.Builder<Builder, RmsProp> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(RmsProp from) {
            super(from);
        }

        /**
         * Sets {@code alpha}, the smoothing constant of the running average of squared gradients.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder alpha(double value) {
            return set("alpha", value);
        }

        /**
         * Sets {@code eps}, which keeps the denominator away from zero, &gt;= 0.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder eps(double value) {
            return set("eps", value);
        }

        /**
         * Sets {@code momentum}; above 0, a {@code momentum_buffer} is kept.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder momentum(double value) {
            return set("momentum", value);
        }

        /**
         * Sets {@code centered}: whether to normalise by an estimate of the gradient's variance
         * (keeping {@code grad_avg}) instead of its uncentered second moment.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder centered(boolean value) {
            return set("centered", value);
        }
    }
}

package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

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
 * State: {@code sum}. Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Adagrad extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("adagrad", 8, Adagrad::new,
            Hyperparameter.number("lr", 1e-2, Range.AT_LEAST_ZERO),
            Hyperparameter.number("lr_decay", 0, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            Hyperparameter.number("initial_accumulator_value", 0, Range.AT_LEAST_ZERO),
            Hyperparameter.number("eps", 1e-10, Range.AT_LEAST_ZERO),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private Adagrad(Algorithm row, Map<String, Object> values) {
        super(row, values);
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
        return List.of("sum");
    }

    @Override
    float initialState(int index) {
        return (float) number("initial_accumulator_value");
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double clr = lr() / (1 + (t - 1) * number("lr_decay"));
        return new float[] {(float) number("weight_decay"), (float) -clr, (float) number("eps")};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
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
    public static final class Builder extends OptimizerConfig.Builder<Builder, Adagrad> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Adagrad from) {
            super(from);
        }

        /**
         * Sets {@code lr_decay}: step t uses {@code lr / (1 + (t - 1) * lr_decay)}.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder lrDecay(double value) {
            return set("lr_decay", value);
        }

        /**
         * Sets {@code initial_accumulator_value}, where the sum of squared gradients starts.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder initialAccumulatorValue(double value) {
            return set("initial_accumulator_value", value);
        }

        /**
         * Sets {@code eps}, added to the denominator outside the square root, &gt;= 0.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder eps(double value) {
            return set("eps", value);
        }
    }
}

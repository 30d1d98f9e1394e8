package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.Rprop}: resilient backpropagation, a step size per element that grows
 * while the gradient keeps its sign and shrinks when it flips; only the gradient's sign moves p.
 *
 * <pre>
 * prev = 0, step_size = lr
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   f = sign(g * prev)                              (torch.sign: 0 for NaN and for -0)
 *   f = etaplus  where f &gt; 0
 *   f = etaminus where f &lt; 0
 *   f = 1        where f == 0
 *   step_size = clamp(step_size * f, step_size_min, step_size_max)
 *   g = 0 where f == etaminus
 *   p = p + (-1 * sign(g)) * step_size
 *   prev = g
 * </pre>
 *
 * <p>{@code etas} is (etaminus, etaplus), {@code step_sizes} is (step_size_min,
 * step_size_max). As in PyTorch, a NaN product leaves the step size as it is and a NaN gradient
 * leaves p as it is ({@code torch.sign(NaN)} is 0), and the three assignments to f run one after
 * the other, in float32. {@code lr} only sets the step sizes a tensor starts with: changing it
 * later changes nothing, as in PyTorch. There is no {@code weight_decay}. State: {@code prev},
 * {@code step_size}. Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Rprop extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("rprop", 2, Rprop::new,
            Hyperparameter.number("lr", 1e-2, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("etas", 0.5, 1.2, Range.UNIT_EXCLUSIVE, Range.ABOVE_ONE),
            Hyperparameter.pair("step_sizes", 1e-6, 50, Range.AT_LEAST_ZERO),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtype());

    private Rprop(Algorithm row, Map<String, Object> values) {
        super(row, values);
        double min = pair("step_sizes", 0);
        double max = pair("step_sizes", 1);
        if (min > max) {
            throw new IllegalArgumentException("invalid step_sizes: " + min + "," + max
                    + " (step_sizes[0], the smallest step size, must be at most step_sizes[1], the largest)");
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
        return List.of("prev", "step_size");
    }

    @Override
    float initialState(int index) {
        return index == 1 ? (float) lr() : 0f;
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        return new float[] {(float) pair("etas", 0), (float) pair("etas", 1),
            (float) pair("step_sizes", 0), (float) pair("step_sizes", 1)};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float etaminus = s[0];
        float etaplus = s[1];
        float min = s[2];
        float max = s[3];
        float[] prev = state[0];
        float[] stepSize = state[1];
        for (int i = from; i < to; i++) {
            float g = prologue(grad[i], 0f, maximize, 0f);
            float f = torchSign(g * prev[i]);
            f = f > 0f ? etaplus : f;
            f = f < 0f ? etaminus : f;
            f = f == 0f ? 1f : f;
            float x = stepSize[i] * f;
            // torch.clamp: NaN stays NaN.
            x = x < min ? min : (x > max ? max : x);
            g = f == etaminus ? 0f : g;
            stepSize[i] = x;
            prev[i] = g;
            p[i] = p[i] + (-1f * torchSign(g)) * x;
        }
    }

    /** Builds an {@link Rprop}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.Builder<Builder, Rprop> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Rprop from) {
            super(from);
        }

        /**
         * Sets {@code etas}, the factors a step size is multiplied by when the gradient's sign
         * flips and when it stays.
         *
         * @param etaminus the factor on a sign flip, in (0, 1)
         * @param etaplus the factor while the sign stays, &gt; 1
         * @return this builder
         */
        public Builder etas(double etaminus, double etaplus) {
            return set("etas", List.of(etaminus, etaplus));
        }

        /**
         * Sets {@code step_sizes}, the bounds every step size is clamped to.
         *
         * @param min the smallest step size, &gt;= 0
         * @param max the largest step size, &gt;= min
         * @return this builder
         */
        public Builder stepSizes(double min, double max) {
            return set("step_sizes", List.of(min, max));
        }
    }
}

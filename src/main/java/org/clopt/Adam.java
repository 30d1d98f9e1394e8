package org.clopt;

import java.util.Map;

/**
 * {@code torch.optim.Adam}, with L2 weight decay folded into the gradient, or, with current
 * PyTorch's {@code decoupled_weight_decay}, decoupled as {@link AdamW}'s.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   if amsgrad:  vmax = max(vmax, v), and vmax replaces v below
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps        (eps outside the bias correction)
 *   p = p - lr / (1 - b1^t) * m / denom
 * </pre>
 *
 * State: {@code exp_avg} m, {@code exp_avg_sq} v, and {@code max_exp_avg_sq} with amsgrad.
 * Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Adam extends AdamBase {
    static final Algorithm ALGORITHM = new Algorithm("adam", 8, Adam::new, withDecoupled(shared(0)));

    /** Adam's hyperparameters: AdamW's and decoupled_weight_decay, which checkpoints gained in format 2. */
    private static Hyperparameter[] withDecoupled(Hyperparameter[] shared) {
        Hyperparameter[] all = java.util.Arrays.copyOf(shared, shared.length + 1);
        all[shared.length] = Hyperparameter.flag("decoupled_weight_decay", false).structural().since(2);
        return all;
    }

    private Adam(Algorithm row, Map<String, Object> values) {
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
    float decayScalar() {
        return flag("decoupled_weight_decay") ? (float) (1 - lr() * number("weight_decay"))
                : (float) number("weight_decay");
    }

    @Override
    boolean decoupledInAdamKernel() {
        return flag("decoupled_weight_decay");
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        adamStep(flag("decoupled_weight_decay"), p, grad, state, s, from, to);
    }

    /** Builds an {@link Adam}. */
    public static final class Builder extends AdamBase.Builder<Builder, Adam> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Adam from) {
            super(from);
        }

        /**
         * Sets {@code decoupled_weight_decay}: decay the parameters, as AdamW does, instead of
         * adding L2 decay to the gradient.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder decoupledWeightDecay(boolean value) {
            return set("decoupled_weight_decay", value);
        }
    }
}

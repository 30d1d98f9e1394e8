package org.clopt;

import java.util.Map;

/**
 * {@code torch.optim.Adam}, with L2 weight decay folded into the gradient.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
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
    static final Algorithm ALGORITHM = row("adam", 0, Adam::new);

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
        return (float) number("weight_decay");
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        adamStep(false, p, grad, state, s, from, to);
    }

    /** Builds an {@link Adam}. */
    public static final class Builder extends AdamBase.Builder<Builder, Adam> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Adam from) {
            super(from);
        }
    }
}

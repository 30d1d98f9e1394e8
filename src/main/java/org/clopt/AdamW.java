package org.clopt;

import java.util.Map;

/**
 * {@code torch.optim.AdamW}: Adam with decoupled weight decay.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad                (no L2 term in the gradient)
 *   p = p * (1 - lr * weight_decay)                (before the Adam update)
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   if amsgrad:  vmax = max(vmax, v), and vmax replaces v below
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps
 *   p = p - lr / (1 - b1^t) * m / denom
 * </pre>
 *
 * State as {@link Adam}. Defaults: Adam's, with PyTorch's larger weight_decay default.
 */
public final class AdamW extends AdamBase {
    static final Algorithm ALGORITHM = new Algorithm("adamw", 8, AdamW::new, shared(1e-2));

    private AdamW(Algorithm row, Map<String, Object> values) {
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
        return (float) (1 - lr() * number("weight_decay"));
    }

    @Override
    boolean decoupledInAdamKernel() {
        return false;
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        adamStep(true, p, grad, state, s, from, to);
    }

    /** Builds an {@link AdamW}. */
    public static final class Builder extends AdamBase.Builder<Builder, AdamW> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(AdamW from) {
            super(from);
        }
    }
}

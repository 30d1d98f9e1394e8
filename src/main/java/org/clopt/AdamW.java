package org.clopt;

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
 * State as {@link Adam}. Defaults as Adam except weight_decay 1e-2.
 */
public final class AdamW extends AdamBase {
    private AdamW(Builder b) {
        super(b);
    }

    public static Builder builder() {
        return new Builder();
    }

    static AdamW from(Settings s) {
        return read(s, builder(), 1e-2).build();
    }

    @Override
    public String algorithm() {
        return "adamw";
    }

    @Override
    float decayScalar() {
        return (float) (1 - lr() * weightDecay());
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        adamStep(true, p, grad, state, s, from, to);
    }

    /** Builds an {@link AdamW}. */
    public static final class Builder extends AdamBase.Builder<Builder, AdamW> {
        private Builder() {
            super(1e-2);
        }

        @Override
        Builder self() {
            return this;
        }

        @Override
        public AdamW build() {
            return new AdamW(this);
        }
    }
}

package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * LAMB, layer-wise adaptive moments (You et al. 2019, "Large Batch Optimization for Deep
 * Learning"), as {@code optax.lamb}: Adam's bias-corrected update plus weight decay, scaled for
 * each tensor by the trust ratio of the tensor's parameter norm to its update norm.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   r = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)      (eps outside the sqrt, as optax)
 *   if weight_decay != 0:  r = r + weight_decay * p
 *   ratio = ||p|| / ||r||    per tensor; 1 when either norm is 0
 *   p = p + (r * ratio) * (-lr)
 * </pre>
 *
 * <p>The norms are Euclidean, over each tensor's elements (a tensor of a
 * {@link ParameterSet}; an {@link Optimizer} is one tensor), computed as clipping's norms are,
 * in a fixed order (chunks of 4096 elements, 64 lanes, compensated sums across chunks) on both
 * paths. Each operation is rounded to float32 in optax's order. optax adds
 * {@code weight_decay * p} even when weight_decay is 0; clopt, as PyTorch's optimizers, skips
 * it then, which differs only when p is infinite or NaN. optax's mask of the decay is not
 * offered (weight decay applies to every tensor of the group: use a group with weight_decay 0
 * for biases and norms' parameters). A step is four passes (see {@code kernels/lamb.cl}): 48
 * bytes per element. State: {@code exp_avg} m, {@code exp_avg_sq} v. Defaults: optax's (lr
 * 1e-3, betas (0.9, 0.999), eps 1e-6, weight_decay 0).
 */
public final class Lamb extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("lamb", 8, Lamb::new,
            Hyperparameter.number("lr", 1e-3, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("betas", 0.9, 0.999, Range.UNIT_OPEN),
            Hyperparameter.number("eps", 1e-6, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            Hyperparameter.maximize());

    private Lamb(Algorithm row, Map<String, Object> values) {
        super(row, values);
    }

    /**
     * A builder starting from the defaults.
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
        return List.of("exp_avg", "exp_avg_sq");
    }

    /**
     * Bytes per element over the step's passes: 20 (the moments) + 12 (the norms of p and r) +
     * 16 (the update).
     *
     * @return 48
     */
    @Override
    public int bytesPerElement() {
        return 48;
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double beta1 = pair("betas", 0);
        double beta2 = pair("betas", 1);
        return new float[] {(float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2),
            (float) (1 - Math.pow(beta1, t)), (float) (1 - Math.pow(beta2, t)), (float) number("eps"),
            (float) number("weight_decay"), (float) -lr()};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float b1 = s[0];
        float oneMinusB1 = s[1];
        float b2 = s[2];
        float oneMinusB2 = s[3];
        float[] expAvg = state[0];
        float[] expAvgSq = state[1];
        for (int i = from; i < to; i++) {
            float g = prologue(grad[i], 0f, maximize, 0f);
            expAvg[i] = expAvg[i] * b1 + oneMinusB1 * g;
            expAvgSq[i] = expAvgSq[i] * b2 + oneMinusB2 * g * g;
        }
    }

    @Override
    PerTensorStep perTensorStep() {
        return TRUST_RATIO;
    }

    /** The trust ratio's passes: the norms of p and r, ||p|| / ||r||, and the update. */
    private static final PerTensorStep TRUST_RATIO = new PerTensorStep() {
        @Override
        public int reducedCount() {
            return 2;
        }

        /** p itself, and r. */
        @Override
        public float[][] reducedQuantities(float[] p, float[][] state, float[] s, int from, int to) {
            float[] r = new float[p.length];
            for (int i = from; i < to; i++) {
                r[i] = update(p[i], state[0][i], state[1][i], s);
            }
            return new float[][] {p, r};
        }

        /** The trust ratio ||p|| / ||r||, 1 when either is 0. */
        @Override
        public float tensorFactor(float[] norms) {
            return norms[0] == 0f || norms[1] == 0f ? 1f : norms[0] / norms[1];
        }

        @Override
        public void referenceApply(float[] p, float[][] state, float[] s, int from, int to, float ratio) {
            float negLr = s[8];
            for (int i = from; i < to; i++) {
                float r = update(p[i], state[0][i], state[1][i], s);
                p[i] = p[i] + (r * ratio) * negLr;
            }
        }
    };

    /** r = (m / bc1) / (sqrt(v / bc2) + eps) (+ weight_decay * p), as lamb.cl's lamb_r. */
    private static float update(float p, float m, float v, float[] s) {
        float r = (m / s[4]) / ((float) Math.sqrt(v / s[5]) + s[6]);
        if (s[7] != 0f) {
            r = r + s[7] * p;
        }
        return r;
    }

    /** Builds a {@link Lamb}, starting from the defaults. */
    public static final class Builder extends OptimizerConfig.MomentsBuilder<Builder, Lamb> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Lamb from) {
            super(from);
        }
    }
}

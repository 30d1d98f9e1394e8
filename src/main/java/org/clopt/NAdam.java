package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.NAdam}: Adam with Nesterov momentum and a momentum schedule.
 *
 * <pre>
 * mu_product = 1
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   mu_t    = b1 * (1 - 0.5 * 0.96^(t * momentum_decay))
 *   mu_next = b1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
 *   mu_product = mu_product * mu_t
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps
 *   p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
 *   p = p - lr * mu_next / (1 - mu_product * mu_next) * m / denom
 * </pre>
 *
 * <p>The update is PyTorch's current one (its multi-tensor path in 1.13). The single-tensor path
 * of PyTorch 1.13 multiplies one mu too many into the second step size; clopt does not copy that.
 * mu_product is kept in float, as PyTorch keeps it, and the step scalars are computed from it in
 * double. maximize and decoupled_weight_decay follow newer PyTorch releases.
 *
 * <p>State: {@code exp_avg} m, {@code exp_avg_sq} v, plus the scalar {@code mu_product}.
 * Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class NAdam extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("nadam", 8, NAdam::new,
            Hyperparameter.number("lr", 2e-3, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("betas", 0.9, 0.999, Range.UNIT_OPEN),
            Hyperparameter.number("eps", 1e-8, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            Hyperparameter.number("momentum_decay", 4e-3, Range.AT_LEAST_ZERO),
            Hyperparameter.flag("decoupled_weight_decay", false),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private NAdam(Algorithm row, Map<String, Object> values) {
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
        return List.of("exp_avg", "exp_avg_sq");
    }

    @Override
    public List<String> scalarStateNames() {
        return List.of("mu_product");
    }

    private double mu(long t) {
        return pair("betas", 0) * (1 - 0.5 * Math.pow(0.96, t * number("momentum_decay")));
    }

    @Override
    float[] initialScalarState() {
        return new float[] {1f};
    }

    @Override
    float[] nextScalarState(long t, float[] before) {
        // float times float is exact in double: this is the correctly rounded float product.
        return new float[] {(float) (before[0] * (double) (float) mu(t))};
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        // PyTorch multiplies mu_t into mu_product before the update and uses the new product.
        float muProduct = after[0];
        double muT = mu(t);
        double muNext = mu(t + 1);
        double lr = lr();
        double beta1 = pair("betas", 0);
        double beta2 = pair("betas", 1);
        double weightDecay = number("weight_decay");
        boolean decoupled = flag("decoupled_weight_decay");
        double biasCorrection2 = 1 - Math.pow(beta2, t);
        float l2 = decoupled ? 0f : (float) weightDecay;
        float decayFactor = decoupled ? (float) (1 - lr * weightDecay) : 1f;
        return new float[] {l2, decayFactor, (float) beta1, (float) (1 - beta1), (float) beta2,
            (float) (1 - beta2), (float) Math.sqrt(biasCorrection2), (float) number("eps"),
            (float) -(lr * (1 - muT) / (1 - muProduct)),
            (float) -(lr * muNext / (1 - muProduct * muNext))};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float l2 = s[0];
        float decayFactor = s[1];
        float b1 = s[2];
        float oneMinusB1 = s[3];
        float b2 = s[4];
        float oneMinusB2 = s[5];
        float bc2Sqrt = s[6];
        float epsF = s[7];
        float negGradStep = s[8];
        float negMomentStep = s[9];
        float[] expAvg = state[0];
        float[] expAvgSq = state[1];
        for (int i = from; i < to; i++) {
            float pi = p[i] * decayFactor;
            float g = prologue(grad[i], pi, maximize, l2);
            float m = expAvg[i] * b1 + oneMinusB1 * g;
            float v = expAvgSq[i] * b2 + oneMinusB2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            float denom = (float) Math.sqrt(v) / bc2Sqrt + epsF;
            float q = pi + negGradStep * g / denom;
            p[i] = q + negMomentStep * m / denom;
        }
    }

    /** Builds an {@link NAdam}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.MomentsBuilder<Builder, NAdam> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(NAdam from) {
            super(from);
        }


        /**
         * Sets {@code momentum_decay}, how fast the momentum schedule {@code mu_t} rises.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder momentumDecay(double value) {
            return set("momentum_decay", value);
        }

        /**
         * Sets {@code decoupled_weight_decay}: weight decay on the parameters, as AdamW, instead of
         * L2 decay added to the gradient.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder decoupledWeightDecay(boolean value) {
            return set("decoupled_weight_decay", value);
        }
    }
}

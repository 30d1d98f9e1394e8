package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.RAdam}: Adam with the variance of the adaptive step rectified, and plain
 * bias-corrected momentum for the first steps, while that variance is intractable.
 *
 * <pre>
 * rho_inf = 2 / (1 - b2) - 1
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   rho_t = rho_inf - 2 * t * b2^t / (1 - b2^t)
 *   if rho_t &gt; 5:
 *     rect = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
 *     p = p - m / (1 - b1^t) * lr * (1 / (sqrt(v) + eps) * sqrt(1 - b2^t)) * rect
 *   else:
 *     p = p - m / (1 - b1^t) * lr
 * </pre>
 *
 * <p>rho_t, the rectification and the branch are computed on the host per step, in double; the
 * branch is the same for every element. The update follows PyTorch's order, left to right; its
 * {@code sqrt(1 - b2^t) / (sqrt(v) + eps)}, a Python float over a tensor, is evaluated by torch
 * as {@code reciprocal(sqrt(v) + eps) * sqrt(1 - b2^t)}, and so here. With the default betas
 * the rectified update starts at step 6; a smaller b2 starts it later (never for b2 below about
 * 0.7, where rho_inf is at most 5).
 *
 * <p>Current PyTorch updates m with {@code lerp}, 1.13 with a multiply and an add; the two agree
 * to rounding, and clopt uses the second, as its Adam does. maximize and
 * decoupled_weight_decay follow newer PyTorch releases. State: {@code exp_avg} m,
 * {@code exp_avg_sq} v. Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class RAdam extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("radam", 8, RAdam::new,
            Hyperparameter.number("lr", 1e-3, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("betas", 0.9, 0.999, Range.UNIT_OPEN),
            Hyperparameter.number("eps", 1e-8, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            Hyperparameter.flag("decoupled_weight_decay", false),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private RAdam(Algorithm row, Map<String, Object> values) {
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
    float[] scalars(long t, float[] before, float[] after) {
        double lr = lr();
        double beta1 = pair("betas", 0);
        double beta2 = pair("betas", 1);
        double weightDecay = number("weight_decay");
        boolean decoupled = flag("decoupled_weight_decay");
        double biasCorrection1 = 1 - Math.pow(beta1, t);
        double biasCorrection2 = 1 - Math.pow(beta2, t);
        double rhoInf = 2 / (1 - beta2) - 1;
        double rhoT = rhoInf - 2 * t * Math.pow(beta2, t) / biasCorrection2;
        boolean rectified = rhoT > 5;
        double rect = rectified
                ? Math.sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT))
                : 0;
        float l2 = decoupled ? 0f : (float) weightDecay;
        float decayFactor = decoupled ? (float) (1 - lr * weightDecay) : 1f;
        return new float[] {l2, decayFactor, (float) beta1, (float) (1 - beta1), (float) beta2,
            (float) (1 - beta2), (float) biasCorrection1, (float) lr,
            (float) Math.sqrt(biasCorrection2), (float) number("eps"), (float) rect,
            rectified ? 1f : 0f};
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
        float bc1 = s[6];
        float lrF = s[7];
        float bc2Sqrt = s[8];
        float epsF = s[9];
        float rect = s[10];
        boolean rectified = s[11] != 0f;
        float[] expAvg = state[0];
        float[] expAvgSq = state[1];
        for (int i = from; i < to; i++) {
            float pi = p[i] * decayFactor;
            float g = prologue(grad[i], pi, maximize, l2);
            float m = expAvg[i] * b1 + oneMinusB1 * g;
            float v = expAvgSq[i] * b2 + oneMinusB2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            float step = m / bc1 * lrF;
            if (rectified) {
                float adaptiveLr = 1f / ((float) Math.sqrt(v) + epsF) * bc2Sqrt;
                p[i] = pi - step * adaptiveLr * rect;
            } else {
                p[i] = pi - step;
            }
        }
    }

    /** Builds an {@link RAdam}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.MomentsBuilder<Builder, RAdam> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(RAdam from) {
            super(from);
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

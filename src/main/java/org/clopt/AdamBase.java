package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * What Adam and AdamW share: hyperparameters, state, per-step scalars and the moment update.
 * They differ only in how weight decay enters: L2 in the gradient (Adam) or decoupled (AdamW, and
 * Adam with decoupled_weight_decay).
 */
abstract sealed class AdamBase extends OptimizerConfig permits Adam, AdamW {
    /** The hyperparameters Adam and AdamW share, AdamW's with another weight_decay default. */
    static Hyperparameter[] shared(double weightDecay) {
        return new Hyperparameter[] {
            Hyperparameter.number("lr", 1e-3, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("betas", 0.9, 0.999, Range.UNIT_OPEN),
            Hyperparameter.number("eps", 1e-8, Range.AT_LEAST_ZERO),
            Hyperparameter.number("weight_decay", weightDecay, Range.AT_LEAST_ZERO),
            Hyperparameter.flag("amsgrad", false).structural(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize(),
        };
    }

    AdamBase(Algorithm row, Map<String, Object> values) {
        super(row, values);
    }

    @Override
    public List<String> stateNames() {
        return flag("amsgrad") ? List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                : List.of("exp_avg", "exp_avg_sq");
    }

    @Override
    final String buildOptions() {
        return super.buildOptions() + define(flag("amsgrad"), "AMSGRAD")
                + define(decoupledInAdamKernel(), "DECOUPLED");
    }

    /** Whether the adam kernel runs with decoupled decay (Adam's option; AdamW has its own kernel). */
    abstract boolean decoupledInAdamKernel();

    /** Adam: the L2 weight decay; AdamW: the factor 1 - lr * weight_decay. */
    abstract float decayScalar();

    @Override
    final float[] scalars(long t, float[] before, float[] after) {
        double beta1 = pair("betas", 0);
        double beta2 = pair("betas", 1);
        double biasCorrection1 = 1 - Math.pow(beta1, t);
        double biasCorrection2 = 1 - Math.pow(beta2, t);
        return new float[] {decayScalar(), (float) beta1, (float) (1 - beta1), (float) beta2,
            (float) (1 - beta2), (float) Math.sqrt(biasCorrection2), (float) number("eps"),
            (float) -(lr() / biasCorrection1)};
    }

    /**
     * One step where {@code decoupled} says whether s[0] multiplies p (AdamW) or enters the
     * gradient as L2 decay (Adam).
     */
    final void adamStep(boolean decoupled, float[] p, float[] grad, float[][] state, float[] s,
                        int from, int to) {
        boolean maximize = flag("maximize");
        boolean amsgrad = flag("amsgrad");
        float b1 = s[1];
        float oneMinusB1 = s[2];
        float b2 = s[3];
        float oneMinusB2 = s[4];
        float bc2Sqrt = s[5];
        float epsF = s[6];
        float negStepSize = s[7];
        float[] expAvg = state[0];
        float[] expAvgSq = state[1];
        for (int i = from; i < to; i++) {
            float pi = decoupled ? p[i] * s[0] : p[i];
            float g = prologue(grad[i], pi, maximize, decoupled ? 0f : s[0]);
            float m = expAvg[i] * b1 + oneMinusB1 * g;
            float v = expAvgSq[i] * b2 + oneMinusB2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            if (amsgrad) {
                v = nanMax(state[2][i], v);
                state[2][i] = v;
            }
            p[i] = pi + negStepSize * m / ((float) Math.sqrt(v) / bc2Sqrt + epsF);
        }
    }

    /** torch.maximum: NaN if either is NaN. */
    static float nanMax(float a, float b) {
        return a > b || Float.isNaN(a) ? a : b;
    }

    /** The builder both share. */
    public abstract static class Builder<B extends Builder<B, C>, C extends AdamBase>
            extends OptimizerConfig.MomentsBuilder<B, C> {
        Builder(Algorithm row) {
            super(row);
        }

        Builder(C from) {
            super(from);
        }

        /**
         * Sets {@code amsgrad}: keep the running maximum of the second moment and divide by it.
         *
         * @param value the new value
         * @return this builder
         */
        public B amsgrad(boolean value) {
            return set("amsgrad", value);
        }
    }
}

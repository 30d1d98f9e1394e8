package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.Adamax}: Adam with the infinity norm in place of the second moment.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   u = max(b2 * u, |g| + eps)                 (eps inside the max; NaN wins, as torch.maximum)
 *   p = p - lr / (1 - b1^t) * m / u
 * </pre>
 *
 * <p>Current PyTorch updates m with {@code lerp}, 1.13 with a multiply and an add; the two agree
 * to rounding, and clopt uses the second, as its Adam does. State: {@code exp_avg} m,
 * {@code exp_inf} u. Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Adamax extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("adamax", 4, Adamax::new,
            Hyperparameter.number("lr", 2e-3, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("betas", 0.9, 0.999, Range.UNIT_OPEN),
            Hyperparameter.number("eps", 1e-8, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private Adamax(Algorithm row, Map<String, Object> values) {
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
        return List.of("exp_avg", "exp_inf");
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double beta1 = pair("betas", 0);
        double beta2 = pair("betas", 1);
        double clr = lr() / (1 - Math.pow(beta1, t));
        return new float[] {(float) number("weight_decay"), (float) beta1, (float) (1 - beta1),
            (float) beta2, (float) number("eps"), (float) -clr};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float wd = s[0];
        float b1 = s[1];
        float oneMinusB1 = s[2];
        float b2 = s[3];
        float epsF = s[4];
        float negClr = s[5];
        float[] expAvg = state[0];
        float[] expInf = state[1];
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, wd);
            float m = expAvg[i] * b1 + oneMinusB1 * g;
            float u = AdamBase.nanMax(expInf[i] * b2, Math.abs(g) + epsF);
            expAvg[i] = m;
            expInf[i] = u;
            p[i] = pi + negClr * m / u;
        }
    }

    /** Builds an {@link Adamax}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.MomentsBuilder<Builder, Adamax> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Adamax from) {
            super(from);
        }

    }
}

package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of Optimization
 * Algorithms", Algorithm 2), as lion-pytorch and {@code optax.lion}: the step is the sign of an
 * interpolation of momentum and gradient, so every element moves by the same lr.
 *
 * <pre>
 * m = 0
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   p = p * (1 - lr * weight_decay)
 *   c = b1 * m + (1 - b1) * g
 *   p = p - lr * sign(c)
 *   m = b2 * m + (1 - b2) * g
 * </pre>
 *
 * <p>Weight decay is decoupled, as AdamW's ({@code p *= 1 - lr * weight_decay}, always
 * applied, as lion-pytorch does). sign is {@code torch.sign}, which lion-pytorch's
 * {@code sign_()} is: 1, -1 or 0, and 0 for NaN (and +0 for -0). So a NaN gradient, or a NaN
 * momentum, leaves the parameter as it is rather than making it NaN; the momentum turns NaN,
 * as in lion-pytorch (optax's {@code jnp.sign} would give NaN to the parameter instead), and
 * clopt's Rprop steps by the same sign. Each operation is rounded to float32 in lion-pytorch's
 * order ({@code mul_} then {@code add}). There is no {@code eps}: no denominator. lr may be 0
 * (lion-pytorch asks for more than 0; clopt, as for every algorithm, lets a schedule reach 0)
 * and betas may be in [0, 1], as lion-pytorch allows. The paper suggests an lr 3-10 times
 * smaller than AdamW's and a weight decay as many times larger. (lion-pytorch's later
 * {@code decoupled_weight_decay} option, which divides weight_decay by the initial lr, is not
 * taken.) State: {@code exp_avg} m.
 * Defaults: lion-pytorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Lion extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("lion", 2, Lion::new,
            Hyperparameter.number("lr", 1e-4, Range.AT_LEAST_ZERO),
            Hyperparameter.pair("betas", 0.9, 0.99, Range.UNIT_CLOSED),
            Hyperparameter.weightDecay(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private Lion(Algorithm row, Map<String, Object> values) {
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
        return List.of("exp_avg");
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double lr = lr();
        double beta1 = pair("betas", 0);
        double beta2 = pair("betas", 1);
        return new float[] {(float) (1 - lr * number("weight_decay")), (float) beta1, (float) (1 - beta1),
            (float) beta2, (float) (1 - beta2), (float) lr};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float decayFactor = s[0];
        float b1 = s[1];
        float oneMinusB1 = s[2];
        float b2 = s[3];
        float oneMinusB2 = s[4];
        float lrF = s[5];
        float[] expAvg = state[0];
        for (int i = from; i < to; i++) {
            float g = prologue(grad[i], 0f, maximize, 0f);
            float m = expAvg[i];
            float c = m * b1 + oneMinusB1 * g;
            p[i] = p[i] * decayFactor - lrF * torchSign(c);
            expAvg[i] = m * b2 + oneMinusB2 * g;
        }
    }

    /** Builds a {@link Lion}, starting from the defaults. */
    public static final class Builder extends OptimizerConfig.Builder<Builder, Lion> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Lion from) {
            super(from);
        }

        /**
         * Sets {@code betas}: the first weighs the momentum in the step's sign, the second is
         * the momentum's decay rate.
         *
         * @param first the interpolation weight of the step, in [0, 1]
         * @param second the momentum's decay rate, in [0, 1]
         * @return this builder
         */
        public Builder betas(double first, double second) {
            return set("betas", List.of(first, second));
        }
    }
}

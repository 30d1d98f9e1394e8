package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.Adadelta}.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   v = rho * v + (1 - rho) * g * g
 *   delta = sqrt(u + eps) / sqrt(v + eps) * g           (eps inside both square roots)
 *   u = rho * u + (1 - rho) * delta * delta
 *   p = p - lr * delta
 * </pre>
 *
 * State: {@code square_avg} v, {@code acc_delta} u. Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Adadelta extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("adadelta", 12, Adadelta::new,
            Hyperparameter.number("lr", 1.0, Range.AT_LEAST_ZERO),
            Hyperparameter.number("rho", 0.9, Range.UNIT_CLOSED),
            Hyperparameter.number("eps", 1e-6, Range.AT_LEAST_ZERO),
            Hyperparameter.weightDecay(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());

    private Adadelta(Algorithm row, Map<String, Object> values) {
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
        return List.of("square_avg", "acc_delta");
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double rho = number("rho");
        return new float[] {(float) number("weight_decay"), (float) rho, (float) (1 - rho),
            (float) number("eps"), (float) -lr()};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float wd = s[0];
        float rhoF = s[1];
        float oneMinusRho = s[2];
        float epsF = s[3];
        float negLr = s[4];
        float[] squareAvg = state[0];
        float[] accDelta = state[1];
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, wd);
            float v = squareAvg[i] * rhoF + oneMinusRho * g * g;
            squareAvg[i] = v;
            float u = accDelta[i];
            float delta = (float) Math.sqrt(u + epsF) / (float) Math.sqrt(v + epsF) * g;
            accDelta[i] = u * rhoF + oneMinusRho * delta * delta;
            p[i] = pi + negLr * delta;
        }
    }

    /** Builds an {@link Adadelta}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.Builder<Builder, Adadelta> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Adadelta from) {
            super(from);
        }

        /**
         * Sets {@code rho}, the decay rate of both running averages, in [0, 1].
         *
         * @param value the new value
         * @return this builder
         */
        public Builder rho(double value) {
            return set("rho", value);
        }

        /**
         * Sets {@code eps}, added inside both square roots, &gt;= 0.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder eps(double value) {
            return set("eps", value);
        }
    }
}

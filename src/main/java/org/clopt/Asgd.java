package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.ASGD}: averaged stochastic gradient descent, SGD with a step size that
 * decays with the step count and a running average of the parameters from step {@code t0} on.
 *
 * <pre>
 * eta = lr, mu = 1, ax = 0
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   p = p * (1 - lambd * eta)
 *   p = p - eta * g
 *   ax = ax + (p - ax) * mu   if mu != 1
 *   ax = p                    otherwise
 *   eta = lr / (1 + lambd * lr * t)^alpha
 *   mu  = 1 / max(1, t - t0)
 * </pre>
 *
 * <p>This is PyTorch's single-tensor path, the same in 1.13 and upstream. eta and mu are scalar
 * state of each tensor ({@link #scalarStateNames()}), changed after every update from the lr of
 * that step; eta starts at the lr of the tensor's first step. Upstream keeps both as 0-dim
 * float32 tensors (its scalar dtype, float64 only when torch's default dtype is float64: not the
 * parameter's dtype, and not Python floats): the update reads eta as a Python float, computes
 * {@code 1 - lambd * eta} in double and hands it to the float32 multiply; the new eta and mu are
 * computed in double and rounded to float32 on {@code copy_}. clopt keeps them in float32 and
 * does the same, so its float32 results follow from the same values. (Upstream's
 * {@code foreach=True} path computes eta as {@code lr / (1 + lambd * lr * t^alpha)}, a
 * difference between its own two paths; clopt follows the single-tensor one, which PyTorch
 * takes on the CPU by default.)
 *
 * <p>ax is the average the algorithm is named for; the parameters themselves are plain
 * decayed SGD. With the default {@code t0} = 1e6, ax is a copy of p for the first million steps.
 * PyTorch checks only lr and weight_decay; clopt also requires {@code lambd} and {@code alpha}
 * to be at least 0: with a negative lambd the base {@code 1 + lambd * lr * t} turns negative and
 * PyTorch's eta a complex number, and a negative alpha makes eta grow without bound. t0 may be
 * any finite number. State: {@code ax}, plus the scalars {@code eta} and {@code mu}.
 * Defaults: PyTorch's ({@code Algorithms.named(name)} lists them).
 */
public final class Asgd extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("asgd", 2, Asgd::new,
            Hyperparameter.number("lr", 1e-2, Range.AT_LEAST_ZERO),
            Hyperparameter.number("lambd", 1e-4, Range.AT_LEAST_ZERO),
            Hyperparameter.number("alpha", 0.75, Range.AT_LEAST_ZERO),
            Hyperparameter.number("t0", 1e6, Range.FINITE),
            Hyperparameter.weightDecay(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtype());

    private Asgd(Algorithm row, Map<String, Object> values) {
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
        return List.of("ax");
    }

    @Override
    public List<String> scalarStateNames() {
        return List.of("eta", "mu");
    }

    @Override
    float[] initialScalarState() {
        return new float[] {(float) lr(), 1f};
    }

    @Override
    float[] nextScalarState(long t, float[] before) {
        double lr = lr();
        double eta = lr / Math.pow(1 + number("lambd") * lr * t, number("alpha"));
        double mu = 1 / Math.max(1, t - number("t0"));
        return new float[] {(float) eta, (float) mu};
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        // The update uses the eta and mu of the previous step; PyTorch advances them afterwards.
        float eta = before[0];
        float mu = before[1];
        return new float[] {(float) number("weight_decay"), (float) (1 - number("lambd") * eta), eta, mu};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        float weightDecay = s[0];
        float decayFactor = s[1];
        float eta = s[2];
        float mu = s[3];
        float[] ax = state[0];
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, weightDecay);
            float q = pi * decayFactor - eta * g;
            p[i] = q;
            ax[i] = mu != 1f ? ax[i] + (q - ax[i]) * mu : q;
        }
    }

    /** Builds an {@link Asgd}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.Builder<Builder, Asgd> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Asgd from) {
            super(from);
        }

        /**
         * Sets {@code lambd}, the decay term: of the step size over the steps and of p at each
         * step.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder lambd(double value) {
            return set("lambd", value);
        }

        /**
         * Sets {@code alpha}, the power of the step size's decay.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder alpha(double value) {
            return set("alpha", value);
        }

        /**
         * Sets {@code t0}, the step after which averaging starts.
         *
         * @param value the new value, finite
         * @return this builder
         */
        public Builder t0(double value) {
            return set("t0", value);
        }
    }
}

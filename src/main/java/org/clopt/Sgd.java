package org.clopt;

import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * {@code torch.optim.SGD}: plain SGD, momentum and Nesterov momentum.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   if momentum != 0:
 *     b = g                                     if t == 1 (no dampening on the first step)
 *     b = momentum * b + (1 - dampening) * g    otherwise
 *     g = g + momentum * b                      if nesterov
 *     g = b                                     otherwise
 *   p = p - lr * g
 * </pre>
 *
 * <p>{@link #algorithm()} is {@code sgd} without momentum (no state), {@code nesterov} with
 * Nesterov momentum and {@code momentum} otherwise (state {@code momentum_buffer}). The
 * {@code momentum} and {@code nesterov} presets differ from {@code sgd} only in their defaults
 * (momentum 0.9; nesterov true as well). {@code lr} defaults to 1e-3, as in current PyTorch (1.13's
 * SGD had none).
 */
public final class Sgd extends OptimizerConfig {
    /** Plain SGD: momentum 0, no state. */
    static final Algorithm SGD = new Algorithm("sgd", 2, Sgd::new,
            Hyperparameter.number("lr", 1e-3, Range.AT_LEAST_ZERO),
            // Zero or not selects the kernel and the state; its value may change.
            Hyperparameter.number("momentum", 0, Range.AT_LEAST_ZERO),
            Hyperparameter.number("dampening", 0, Range.FINITE),
            Hyperparameter.weightDecay(),
            Hyperparameter.flag("nesterov", false).structural(),
            Hyperparameter.maximize(),
            Hyperparameter.stateDtypeWithInt8(),
            Hyperparameter.min8bitSize());
    /** The {@code momentum} preset: momentum 0.9 unless set. */
    static final Algorithm MOMENTUM = SGD.preset("momentum", Map.of("momentum", 0.9));
    /** The {@code nesterov} preset: momentum 0.9 unless set, nesterov true. */
    static final Algorithm NESTEROV = SGD.preset("nesterov", Map.of("momentum", 0.9, "nesterov", true));

    private Sgd(Algorithm row, Map<String, Object> values) {
        super(row, values);
        double momentum = number("momentum");
        double dampening = number("dampening");
        if (flag("nesterov") && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("invalid nesterov: true requires momentum > 0 and "
                    + "dampening = 0 (got momentum " + momentum + ", dampening " + dampening + ")");
        }
    }

    /**
     * Plain SGD: momentum 0.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder(SGD);
    }

    /**
     * The {@code momentum} preset: momentum 0.9 unless set.
     *
     * @return a new builder
     */
    public static Builder momentumBuilder() {
        return new Builder(MOMENTUM);
    }

    /**
     * The {@code nesterov} preset: momentum 0.9 unless set, nesterov true.
     *
     * @return a new builder
     */
    public static Builder nesterovBuilder() {
        return new Builder(NESTEROV);
    }

    @Override
    public Builder toBuilder() {
        return new Builder(this);
    }

    @Override
    public String algorithm() {
        return number("momentum") == 0 ? "sgd" : flag("nesterov") ? "nesterov" : "momentum";
    }

    @Override
    public List<String> stateNames() {
        return number("momentum") == 0 ? List.of() : List.of("momentum_buffer");
    }

    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double lr = lr();
        double momentum = number("momentum");
        double weightDecay = number("weight_decay");
        if (momentum == 0) {
            return new float[] {(float) weightDecay, (float) lr};
        }
        return new float[] {(float) weightDecay, (float) momentum, (float) (1 - number("dampening")),
            (float) lr, t == 1 ? 1f : 0f};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        boolean maximize = flag("maximize");
        boolean nesterov = flag("nesterov");
        float wd = s[0];
        if (number("momentum") == 0) {
            float lrF = s[1];
            for (int i = from; i < to; i++) {
                float g = prologue(grad[i], p[i], maximize, wd);
                p[i] = p[i] + (-lrF) * g;
            }
            return;
        }
        float mu = s[1];
        float oneMinusDampening = s[2];
        float lrF = s[3];
        boolean first = s[4] != 0f;
        float[] buf = state[0];
        for (int i = from; i < to; i++) {
            float pi = p[i];
            float g = prologue(grad[i], pi, maximize, wd);
            float b = first ? g : buf[i] * mu + oneMinusDampening * g;
            buf[i] = b;
            p[i] = pi + (-lrF) * (nesterov ? g + mu * b : b);
        }
    }

    /** Builds an {@link Sgd}, starting from PyTorch's defaults. */
    public static final class Builder extends OptimizerConfig.Builder<Builder, Sgd> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Sgd from) {
            super(from);
        }

        /**
         * Sets {@code momentum}; above 0, a {@code momentum_buffer} is kept.
         *
         * @param value the new value, &gt;= 0
         * @return this builder
         */
        public Builder momentum(double value) {
            return set("momentum", value);
        }

        /**
         * Sets {@code dampening}, which scales down the gradient's share of the momentum buffer.
         *
         * @param value the new value, finite
         * @return this builder
         */
        public Builder dampening(double value) {
            return set("dampening", value);
        }

        /**
         * Sets {@code nesterov}: Nesterov momentum, which needs momentum &gt; 0 and dampening 0.
         *
         * @param value the new value
         * @return this builder
         */
        public Builder nesterov(boolean value) {
            return set("nesterov", value);
        }
    }
}

package org.clopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * (momentum 0.9; nesterov true). As in PyTorch 1.13, {@code lr} has no default.
 */
public final class Sgd extends OptimizerConfig {
    /** The momentum of the {@code momentum} and {@code nesterov} presets. */
    public static final double PRESET_MOMENTUM = 0.9;

    private final double lr;
    private final double momentum;
    private final double dampening;
    private final double weightDecay;
    private final boolean nesterov;
    private final boolean maximize;

    private Sgd(Builder b) {
        if (b.lr == null) {
            throw new IllegalArgumentException(
                    "missing lr: SGD has no default learning rate (set lr, a finite number >= 0)");
        }
        this.lr = Check.atLeastZero("lr", b.lr);
        this.momentum = Check.atLeastZero("momentum", b.momentum);
        this.dampening = Check.finite("dampening", b.dampening);
        this.weightDecay = Check.atLeastZero("weight_decay", b.weightDecay);
        this.nesterov = b.nesterov;
        this.maximize = b.maximize;
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("invalid nesterov: true requires momentum > 0 and "
                    + "dampening = 0 (got momentum " + momentum + ", dampening " + dampening + ")");
        }
    }

    /** Plain SGD: momentum 0. */
    public static Builder builder() {
        return new Builder(0.0, false);
    }

    /** The {@code momentum} preset: momentum 0.9 unless set. */
    public static Builder momentumBuilder() {
        return new Builder(PRESET_MOMENTUM, false);
    }

    /** The {@code nesterov} preset: momentum 0.9 unless set, nesterov true. */
    public static Builder nesterovBuilder() {
        return new Builder(PRESET_MOMENTUM, true);
    }

    static Sgd from(Settings s, double presetMomentum, boolean presetNesterov) {
        Builder b = new Builder(presetMomentum, presetNesterov);
        if (s.has("lr")) {
            b.lr(s.number("lr", 0.0));
        }
        return b.momentum(s.number("momentum", presetMomentum))
                .dampening(s.number("dampening", 0.0))
                .weightDecay(s.number("weight_decay", 0.0))
                .nesterov(s.flag("nesterov", presetNesterov))
                .maximize(s.flag("maximize", false))
                .build();
    }

    public double lr() {
        return lr;
    }

    public double momentum() {
        return momentum;
    }

    public double dampening() {
        return dampening;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public boolean nesterov() {
        return nesterov;
    }

    public boolean maximize() {
        return maximize;
    }

    @Override
    public String algorithm() {
        return momentum == 0 ? "sgd" : nesterov ? "nesterov" : "momentum";
    }

    @Override
    public List<String> stateNames() {
        return momentum == 0 ? List.of() : List.of("momentum_buffer");
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("momentum", momentum);
        m.put("dampening", dampening);
        m.put("weight_decay", weightDecay);
        m.put("nesterov", nesterov);
        m.put("maximize", maximize);
        return m;
    }

    @Override
    String buildOptions() {
        return flag(maximize, "MAXIMIZE");
    }

    @Override
    float[] scalars(long t, float muProduct) {
        if (momentum == 0) {
            return new float[] {(float) weightDecay, (float) lr};
        }
        return new float[] {(float) weightDecay, (float) momentum, (float) (1 - dampening),
            (float) lr, t == 1 ? 1f : 0f};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        float wd = s[0];
        if (momentum == 0) {
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

    /** Builds an {@link Sgd}; {@link #lr} must be set. */
    public static final class Builder {
        private Double lr;
        private double momentum;
        private double dampening;
        private double weightDecay;
        private boolean nesterov;
        private boolean maximize;

        private Builder(double momentum, boolean nesterov) {
            this.momentum = momentum;
            this.nesterov = nesterov;
        }

        public Builder lr(double value) {
            lr = value;
            return this;
        }

        public Builder momentum(double value) {
            momentum = value;
            return this;
        }

        public Builder dampening(double value) {
            dampening = value;
            return this;
        }

        public Builder weightDecay(double value) {
            weightDecay = value;
            return this;
        }

        public Builder nesterov(boolean value) {
            nesterov = value;
            return this;
        }

        public Builder maximize(boolean value) {
            maximize = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid hyperparameter */
        public Sgd build() {
            return new Sgd(this);
        }
    }
}

package org.clopt;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Loss scaling for 16-bit gradients, with {@code torch.cuda.amp.GradScaler}'s semantics and
 * defaults: the loss is multiplied by the scale before the backward pass, so that small
 * gradients survive fp16; the step reads each gradient times {@code 1/scale}; a step whose
 * gradients hold an Inf or NaN is skipped, leaving parameters, master weights, state and step
 * counts bit for bit as they were; and the scale backs off after a skipped step and grows after
 * {@code growth_interval} clean ones.
 *
 * <pre>{@code
 * GradScaler scaler = GradScaler.builder().build(set);   // attaches itself to the set
 * for (...) {
 *     float scale = scaler.getScale();                    // backward pass of loss * scale
 *     set.writeGradients(...);
 *     scaler.unscale();                                   // optional: before clipping
 *     set.clipGradNorm(1.0);
 *     scaler.step();                                      // set.step(), unless skipped
 *     scaler.update();
 * }
 * }</pre>
 *
 * <p>On the device: {@link #unscale()} marks every gradient of the set's tensors that take part
 * in steps to be read times {@code inv_scale = (float) (1 / (double) scale)} (as PyTorch's) and
 * enqueues one pass that looks for Inf and NaN in the unscaled gradients; the step kernels then
 * multiply each gradient by {@code inv_scale} as they read it, so no pass writes the unscaled
 * gradients back, and they stay in fp32 inside the kernel rather than being rounded to 16 bits
 * (tiny gradients that only the scale kept out of fp16's subnormal range survive).
 * {@link #step()} decides the skip with one read of 4 bytes, the only read-back, as PyTorch's
 * {@code GradScaler.step} does with its {@code found_inf.item()}. The scale itself lives on the
 * host.
 *
 * <p>The state ({@code scale}, {@code growth_factor}, {@code backoff_factor},
 * {@code growth_interval}, {@code _growth_tracker}: PyTorch's keys) is saved with the set's
 * {@link ParameterSet#stateDict()} and checkpoints; a scaler attached to a set built from a
 * checkpoint takes its saved state at once.
 */
public final class GradScaler implements Stateful {
    /** What happened since the last {@link #update()}: PyTorch's {@code OptState}. */
    private enum Stage { READY, UNSCALED, STEPPED }

    private final ParameterSet set;
    private final boolean enabled;
    private float scale;
    private double growthFactor;
    private double backoffFactor;
    private int growthInterval;
    private int growthTracker;
    private Stage stage = Stage.READY;
    /** Whether the last unscale found Inf or NaN, once read; null before the read. */
    private Boolean foundInf;

    private GradScaler(Builder b, ParameterSet set) {
        this.set = set;
        this.enabled = b.enabled;
        this.scale = b.initScale;
        this.growthFactor = b.growthFactor;
        this.backoffFactor = b.backoffFactor;
        this.growthInterval = b.growthInterval;
    }

    /**
     * A builder with PyTorch's defaults: {@code init_scale} 65536, {@code growth_factor} 2,
     * {@code backoff_factor} 0.5, {@code growth_interval} 2000, enabled.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The scale to multiply the loss by (PyTorch's {@code get_scale()}); 1 when disabled.
     *
     * @return the scale
     */
    public synchronized float getScale() {
        return enabled ? scale : 1f;
    }

    /**
     * The loss times the scale, in fp32 ({@code scaler.scale(loss)}); the loss itself when
     * disabled.
     *
     * @param loss the loss
     * @return the scaled loss
     */
    public synchronized float scale(float loss) {
        return enabled ? loss * scale : loss;
    }

    /**
     * Divides the set's gradients by the scale ({@code unscale_(optimizer)}): what a clipping
     * after it and the step then read, and checks them for Inf and NaN. Call it at most once
     * between {@link #update()}s, before {@link #step()}; {@link #step()} calls it if you did not.
     * Does nothing when disabled.
     *
     * @throws IllegalStateException if called twice since the last update, or after the step
     */
    public synchronized void unscale() {
        if (!enabled) {
            return;
        }
        if (stage == Stage.UNSCALED) {
            throw new IllegalStateException("unscale() has already been called since the last update()");
        }
        if (stage == Stage.STEPPED) {
            throw new IllegalStateException("unscale() is being called after step()");
        }
        // The reciprocal in double, then rounded, as PyTorch's: fp32 division may be inexact.
        set.unscaleGradients((float) (1.0 / (double) scale));
        foundInf = null;
        stage = Stage.UNSCALED;
    }

    /**
     * Steps the set unless the gradients hold Inf or NaN ({@code scaler.step(optimizer)}); when
     * disabled, simply steps it. Reads 4 bytes from the device.
     *
     * @return true if the set stepped, false if the step was skipped
     * @throws IllegalStateException if called twice since the last update
     */
    public synchronized boolean step() {
        if (!enabled) {
            set.step();
            return true;
        }
        if (stage == Stage.STEPPED) {
            throw new IllegalStateException("step() has already been called since the last update()");
        }
        if (stage == Stage.READY) {
            unscale();
        }
        foundInf = set.gradientsNonFinite();
        if (!foundInf) {
            set.step();
        }
        stage = Stage.STEPPED;
        return !foundInf;
    }

    /**
     * Updates the scale as {@code update()}: after a skipped step it is multiplied by
     * {@code backoff_factor} and the count of clean steps restarts; after {@code growth_interval}
     * clean steps in a row it is multiplied by {@code growth_factor} (unless that overflows).
     * Each product is taken in double and rounded to fp32, as PyTorch's kernel does. Does
     * nothing when disabled.
     *
     * @throws IllegalStateException if neither {@link #unscale()} nor {@link #step()} ran since
     *     the last update
     */
    public synchronized void update() {
        if (!enabled) {
            return;
        }
        if (stage == Stage.READY) {
            throw new IllegalStateException("no inf checks were recorded prior to update(): call step() first");
        }
        boolean found = foundInf != null ? foundInf : set.gradientsNonFinite();
        if (found) {
            scale = (float) (scale * backoffFactor);
            growthTracker = 0;
        } else if (growthTracker + 1 == growthInterval) {
            float grown = (float) (scale * growthFactor);
            if (Float.isFinite(grown)) {
                scale = grown;
            }
            growthTracker = 0;
        } else {
            growthTracker++;
        }
        reset();
    }

    /**
     * Sets the scale ({@code update(new_scale)}) and ends the iteration; the count of clean
     * steps is kept. Does nothing when disabled.
     *
     * @param newScale the new scale, &gt; 0 and finite
     * @throws IllegalArgumentException for a scale out of range
     */
    public synchronized void update(float newScale) {
        if (!enabled) {
            return;
        }
        checkScale("new_scale", newScale);
        scale = newScale;
        reset();
    }

    private void reset() {
        stage = Stage.READY;
        foundInf = null;
    }

    /**
     * Whether the scaler is enabled.
     *
     * @return false if every method but {@link #step()} does nothing
     */
    public boolean isEnabled() {
        return enabled;
    }

    /**
     * The growth factor.
     *
     * @return the factor the scale grows by
     */
    public synchronized double getGrowthFactor() {
        return growthFactor;
    }

    /**
     * The backoff factor.
     *
     * @return the factor the scale backs off by
     */
    public synchronized double getBackoffFactor() {
        return backoffFactor;
    }

    /**
     * The growth interval.
     *
     * @return the clean steps in a row after which the scale grows
     */
    public synchronized int getGrowthInterval() {
        return growthInterval;
    }

    /**
     * The count of clean steps since the scale last changed ({@code _growth_tracker}).
     *
     * @return the count
     */
    public synchronized int getGrowthTracker() {
        return growthTracker;
    }

    @Override
    public synchronized Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("type", "GradScaler");
        state.put("enabled", enabled);
        if (enabled) {
            state.put("scale", (double) scale);
            state.put("growth_factor", growthFactor);
            state.put("backoff_factor", backoffFactor);
            state.put("growth_interval", (long) growthInterval);
            state.put("_growth_tracker", (long) growthTracker);
        }
        return state;
    }

    @Override
    public synchronized void loadStateDict(Map<String, Object> state) {
        Objects.requireNonNull(state, "state");
        if (!"GradScaler".equals(state.get("type"))) {
            throw new IllegalArgumentException("not a GradScaler's state: " + state.get("type"));
        }
        if (!enabled) {
            return;
        }
        if (!Boolean.TRUE.equals(state.get("enabled"))) {
            throw new IllegalArgumentException("the state was saved from a disabled GradScaler");
        }
        float newScale = (float) number(state, "scale").doubleValue();
        double growth = number(state, "growth_factor").doubleValue();
        double backoff = number(state, "backoff_factor").doubleValue();
        long interval = number(state, "growth_interval").longValue();
        long tracker = number(state, "_growth_tracker").longValue();
        checkScale("scale", newScale);
        checkFactors(growth, backoff, interval);
        if (tracker < 0 || tracker >= interval) {
            throw new IllegalArgumentException("invalid _growth_tracker: " + tracker + " (must be in [0, "
                    + interval + "))");
        }
        scale = newScale;
        growthFactor = growth;
        backoffFactor = backoff;
        growthInterval = (int) interval;
        growthTracker = (int) tracker;
        reset();
    }

    @Override
    public boolean loadsWhenAttached() {
        return true;
    }

    private static Number number(Map<String, Object> state, String key) {
        if (!(state.get(key) instanceof Number n)) {
            throw new IllegalArgumentException("GradScaler state: no number under '" + key + "'");
        }
        return n;
    }

    private static void checkScale(String name, double value) {
        if (!(value > 0) || Double.isInfinite(value) || !Float.isFinite((float) value)) {
            throw new IllegalArgumentException("invalid " + name + ": " + value + " (must be > 0 and a finite float)");
        }
    }

    private static void checkFactors(double growth, double backoff, long interval) {
        if (!(growth > 1) || Double.isInfinite(growth)) {
            throw new IllegalArgumentException("invalid growth_factor: " + growth + " (must be > 1.0 and finite)");
        }
        if (!(backoff > 0 && backoff < 1)) {
            throw new IllegalArgumentException("invalid backoff_factor: " + backoff + " (must be in (0, 1))");
        }
        if (interval < 1 || interval > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("invalid growth_interval: " + interval + " (must be in [1, "
                    + Integer.MAX_VALUE + "])");
        }
    }

    @Override
    public String toString() {
        return enabled ? "GradScaler(scale=" + scale + ", growth_factor=" + growthFactor + ", backoff_factor="
                + backoffFactor + ", growth_interval=" + growthInterval + ")" : "GradScaler(enabled=False)";
    }

    /** GradScaler's arguments, checked when the scaler is built. */
    public static final class Builder {
        private float initScale = 65536f;
        private double growthFactor = 2.0;
        private double backoffFactor = 0.5;
        private int growthInterval = 2000;
        private boolean enabled = true;

        private Builder() {
        }

        /**
         * The first scale ({@code init_scale}, default 2^16).
         *
         * @param value &gt; 0 and a finite float
         * @return this builder
         */
        public Builder initScale(double value) {
            checkScale("init_scale", value);
            this.initScale = (float) value;
            return this;
        }

        /**
         * The factor the scale grows by ({@code growth_factor}, default 2).
         *
         * @param value &gt; 1 and finite
         * @return this builder
         */
        public Builder growthFactor(double value) {
            checkFactors(value, 0.5, 1);
            this.growthFactor = value;
            return this;
        }

        /**
         * The factor the scale backs off by ({@code backoff_factor}, default 0.5).
         *
         * @param value in (0, 1)
         * @return this builder
         */
        public Builder backoffFactor(double value) {
            checkFactors(2, value, 1);
            this.backoffFactor = value;
            return this;
        }

        /**
         * The clean steps in a row after which the scale grows ({@code growth_interval},
         * default 2000).
         *
         * @param value &gt;= 1
         * @return this builder
         */
        public Builder growthInterval(long value) {
            checkFactors(2, 0.5, value);
            this.growthInterval = (int) value;
            return this;
        }

        /**
         * Whether scaling is on ({@code enabled}, default true).
         *
         * @param value false to make {@link GradScaler#step()} a plain step and the rest no-ops
         * @return this builder
         */
        public Builder enabled(boolean value) {
            this.enabled = value;
            return this;
        }

        /**
         * A scaler for {@code set}, attached to it so that its state is saved with the set's.
         *
         * @param set the parameter set whose gradients it scales
         * @return the scaler
         */
        public GradScaler build(ParameterSet set) {
            GradScaler scaler = new GradScaler(this, Objects.requireNonNull(set, "set"));
            set.attach(scaler);
            return scaler;
        }
    }
}

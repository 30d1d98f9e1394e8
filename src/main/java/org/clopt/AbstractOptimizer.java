package org.clopt;

import java.util.Objects;

/**
 * The host side both paths share: argument checks, the 64-bit step count, NAdam's
 * mu_product, and the per-step scalars computed once in double.
 */
abstract class AbstractOptimizer implements Optimizer {
    final OptimizerConfig config;
    final int size;
    private long stepCount;
    private float muProduct = 1f;
    private boolean closed;

    AbstractOptimizer(OptimizerConfig config, int size) {
        this.config = Objects.requireNonNull(config, "config");
        if (size < 0) {
            throw new IllegalArgumentException("invalid size: " + size + " (must be >= 0)");
        }
        this.size = size;
    }

    @Override
    public final OptimizerConfig config() {
        return config;
    }

    @Override
    public final int size() {
        return size;
    }

    @Override
    public final long stepCount() {
        return stepCount;
    }

    /** NAdam's product of momentum coefficients so far (1 before the first step). */
    final float muProduct() {
        return muProduct;
    }

    @Override
    public final void step() {
        ensureOpen();
        long t = stepCount + 1;
        float nextMuProduct = config.nextMuProduct(t, muProduct);
        run(config.scalars(t, nextMuProduct));
        // Only a step that was launched advances the count.
        stepCount = t;
        muProduct = nextMuProduct;
    }

    /** Applies one step with these scalars to every element. */
    abstract void run(float[] scalars);

    @Override
    public final void writeParameters(float[] values) {
        putParameters(checked("parameters", values));
    }

    @Override
    public final void readParameters(float[] out) {
        getParameters(checked("parameters", out));
    }

    @Override
    public final void writeGradients(float[] values) {
        putGradients(checked("gradients", values));
    }

    @Override
    public final void readState(String name, float[] out) {
        getState(stateIndex(name), checked(name, out));
    }

    @Override
    public final void writeState(String name, float[] values) {
        putState(stateIndex(name), checked(name, values));
    }

    // The transfers below receive arrays already checked to hold exactly size floats.

    abstract void putParameters(float[] values);

    abstract void getParameters(float[] out);

    abstract void putGradients(float[] values);

    abstract void getState(int index, float[] out);

    abstract void putState(int index, float[] values);

    private float[] checked(String what, float[] array) {
        ensureOpen();
        Objects.requireNonNull(array, what);
        if (array.length != size) {
            throw new IllegalArgumentException(what + ": expected " + size + " floats, got "
                    + array.length);
        }
        return array;
    }

    private int stateIndex(String name) {
        int index = config.stateNames().indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("unknown state '" + name + "' for "
                    + config.algorithm() + " (has: " + String.join(", ", config.stateNames()) + ")");
        }
        return index;
    }

    final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this " + config.algorithm() + " optimizer is closed");
        }
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    abstract void release();
}

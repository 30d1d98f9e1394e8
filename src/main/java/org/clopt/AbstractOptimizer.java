package org.clopt;

import java.nio.FloatBuffer;
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
        run(config, config.scalars(t, nextMuProduct), 0, size);
        // Only a step that was launched advances the count.
        stepCount = t;
        muProduct = nextMuProduct;
    }

    /**
     * Applies one step with these scalars to elements [from, to). {@code config} has the same
     * algorithm and structural options as the one this optimizer was built with; parameter
     * sets pass their group's current hyperparameters.
     */
    abstract void run(OptimizerConfig config, float[] scalars, int from, int to);

    @Override
    public final void writeParameters(float[] values) {
        write(PARAMETERS, 0, FloatBuffer.wrap(checked("parameters", values)));
    }

    @Override
    public final void readParameters(float[] out) {
        read(PARAMETERS, 0, FloatBuffer.wrap(checked("parameters", out)));
    }

    @Override
    public final void writeGradients(float[] values) {
        write(GRADIENTS, 0, FloatBuffer.wrap(checked("gradients", values)));
    }

    @Override
    public final void readState(String name, float[] out) {
        read(stateArray(name), 0, FloatBuffer.wrap(checked(name, out)));
    }

    @Override
    public final void writeState(String name, float[] values) {
        write(stateArray(name), 0, FloatBuffer.wrap(checked(name, values)));
    }

    /** Array indices of the transfers: parameters, gradients, then state k at 2 + k. */
    static final int PARAMETERS = 0;
    static final int GRADIENTS = 1;

    /** Copies {@code src.remaining()} floats into array {@code array} from element {@code from}. */
    abstract void write(int array, int from, FloatBuffer src);

    /** Copies {@code dst.remaining()} floats of array {@code array} from element {@code from}. */
    abstract void read(int array, int from, FloatBuffer dst);

    /** Sets elements [from, from + count) of array {@code array} to {@code value}. */
    abstract void fill(int array, int from, int count, float value);

    private float[] checked(String what, float[] array) {
        ensureOpen();
        Objects.requireNonNull(array, what);
        if (array.length != size) {
            throw new IllegalArgumentException(what + ": expected " + size + " floats, got "
                    + array.length);
        }
        return array;
    }

    /** The transfer index of state array {@code name}. */
    final int stateArray(String name) {
        int index = config.stateNames().indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("unknown state '" + name + "' for "
                    + config.algorithm() + " (has: " + String.join(", ", config.stateNames()) + ")");
        }
        return 2 + index;
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

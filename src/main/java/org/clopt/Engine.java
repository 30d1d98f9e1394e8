package org.clopt;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The arrays of one parameter group and the launches of its step: parameters, gradients and
 * each state array of {@link #size} floats, on a device ({@link ClEngine}) or in Java arrays
 * ({@link ReferenceEngine}). An engine holds no step counts and no hyperparameters: the
 * {@link ParameterSet} that owns it passes the group's configuration and scalars to each
 * {@link #run}. The configuration it was made with fixes only the layout and the kernel
 * variant, which every later configuration shares ({@link OptimizerConfig#sameVariant}).
 */
abstract class Engine implements AutoCloseable {
    /** Array indices of the transfers: parameters, gradients, then state k at 2 + k. */
    static final int PARAMETERS = 0;
    static final int GRADIENTS = 1;

    final int size;
    final String algorithm;
    final List<String> stateNames;

    Engine(OptimizerConfig layout, int size) {
        this.size = size;
        this.algorithm = layout.algorithm();
        this.stateNames = layout.stateNames();
    }

    /** Applies one step with these scalars to elements [from, to), gradients times {@code scale}. */
    abstract void run(OptimizerConfig config, float[] scalars, int from, int to, SetKernels.GradScale scale);

    /**
     * One step of a run of consecutive tensors, tensor k being elements [bounds[k], bounds[k + 1]):
     * {@link #run} over the whole run, and for an algorithm with per-tensor norms
     * ({@link OptimizerConfig#perTensorStep()}) its norms and the update with each tensor's factor.
     */
    final void step(OptimizerConfig config, float[] scalars, int[] bounds, SetKernels.GradScale scale) {
        int from = bounds[0];
        int to = bounds[bounds.length - 1];
        run(config, scalars, from, to, scale);
        PerTensorStep perTensor = config.perTensorStep();
        if (perTensor != null && from < to) {
            runPerTensor(perTensor, scalars, bounds);
        }
    }

    /**
     * The passes after {@link #run} of a {@link PerTensorStep} algorithm: each
     * tensor's norms in reduce.cl's order, its factor, and the update.
     */
    abstract void runPerTensor(PerTensorStep config, float[] scalars, int[] bounds);

    /** reduce.cl's chunk table (first element, count) and tensor ends for these bounds. */
    static int[][] chunks(int[] bounds) {
        List<SetKernels.Segment> tensors = new ArrayList<>();
        for (int k = 0; k + 1 < bounds.length; k++) {
            tensors.add(new SetKernels.Segment(null, bounds[k], bounds[k + 1] - bounds[k]));
        }
        return SetKernels.chunks(tensors);
    }

    /**
     * The transfer index of the averaged parameters (after the state arrays), once
     * {@link #allocateAveraged()} has made them.
     */
    final int averagedArray() {
        return 2 + stateNames.size();
    }

    /** Makes the averaged parameters, zeros, if they are not there yet. */
    abstract void allocateAveraged();

    /** Copies {@code src.remaining()} floats into array {@code array} from element {@code from}. */
    abstract void write(int array, int from, FloatBuffer src);

    /** Copies {@code dst.remaining()} floats of array {@code array} from element {@code from}. */
    abstract void read(int array, int from, FloatBuffer dst);

    /** Sets elements [from, from + count) of array {@code array} to {@code value}. */
    abstract void fill(int array, int from, int count, float value);

    /** The transfer index of state array {@code name}. */
    final int stateArray(String name) {
        int index = stateNames.indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("unknown state '" + name + "' for " + algorithm
                    + " (has: " + String.join(", ", stateNames) + ")");
        }
        return 2 + index;
    }

    /** The name of transfer index {@code array}, for messages. */
    final String arrayName(int array) {
        return array == PARAMETERS ? "parameters" : array == GRADIENTS ? "gradients"
                : array == averagedArray() ? "averaged parameters" : stateNames.get(array - 2);
    }

    /** Releases what the engine holds. Called once, by its owner. */
    @Override
    public abstract void close();
}

package org.clopt;

import java.util.List;

/**
 * Parameters, gradients and optimizer state for one vector of {@link #size()} floats, and the
 * step that updates them with one algorithm.
 *
 * <p>{@link #create} keeps everything in buffers on an OpenCL {@link Device} and runs
 * {@code kernels/<algorithm>.cl}; a step enqueues its launch (two when the size is not a multiple
 * of the work-group size) and returns without waiting.
 * {@link #reference} runs the same equations in plain Java on the CPU, the path every kernel is
 * verified against. Reads wait for the steps enqueued before them.
 *
 * <p>An optimizer is not thread-safe. Close it to release its device memory.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * An optimizer whose parameters, gradients and state live on {@code device}; parameters and
     * gradients start at zero, state at its initial value.
     *
     * @throws IllegalArgumentException when {@code size} is negative
     * @throws DeviceMemoryException when the device cannot hold the buffers
     * @throws KernelBuildException when the device's compiler rejects the kernel
     */
    static Optimizer create(Device device, OptimizerConfig config, int size) {
        return new ClOptimizer(device, config, size);
    }

    /** The CPU reference: the same step in plain Java, single-threaded. */
    static Optimizer reference(OptimizerConfig config, int size) {
        return new ReferenceOptimizer(config, size);
    }

    OptimizerConfig config();

    /** Number of elements in the parameter vector. */
    int size();

    /** Steps taken so far (PyTorch's {@code state['step']}); 0 before the first. */
    long stepCount();

    /** The state arrays this optimizer keeps, by PyTorch state key ({@code exp_avg} ...). */
    default List<String> stateNames() {
        return config().stateNames();
    }

    /** One update of the parameters from the current gradients. */
    void step();

    /** Replaces the parameters; {@code values.length} must equal {@link #size()}. */
    void writeParameters(float[] values);

    /** Copies the parameters into {@code out}, whose length must equal {@link #size()}. */
    void readParameters(float[] out);

    /** Replaces the gradients the next step uses. */
    void writeGradients(float[] values);

    /** Copies state array {@code name} (one of {@link #stateNames()}) into {@code out}. */
    void readState(String name, float[] out);

    /** Replaces state array {@code name}. */
    void writeState(String name, float[] values);

    /** Releases device memory. Idempotent; the optimizer is unusable afterwards. */
    @Override
    void close();
}

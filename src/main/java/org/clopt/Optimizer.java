package org.clopt;

import java.util.List;
import java.util.Objects;

/**
 * Parameters, gradients and optimizer state for one vector of {@link #size()} floats, and the
 * step that updates them with one algorithm: a {@link ParameterSet} of one group holding one
 * tensor, {@value #TENSOR}, with the same step, schedules, state snapshots and checkpoints.
 *
 * <p>{@link #create} keeps everything in buffers on an OpenCL {@link Device} and runs
 * {@code kernels/<algorithm>.cl}; a step enqueues its launch (two when the size is not a multiple
 * of the work-group size) and returns without waiting.
 * {@link #reference} runs the same equations in plain Java on the CPU, the path every kernel is
 * verified against. Reads wait for the steps enqueued before them.
 *
 * <p>Calls from several threads are serialised, as for {@link ParameterSet}. Close it to
 * release its device memory.
 */
public final class Optimizer implements AutoCloseable {
    /** The name of the one tensor in {@link #parameterSet()}. */
    public static final String TENSOR = "param";

    private final ParameterSet set;
    private final int size;

    private Optimizer(ParameterSet set, int size) {
        this.set = set;
        this.size = size;
    }

    /**
     * An optimizer whose parameters, gradients and state live on {@code device}; parameters and
     * gradients start at zero, state at its initial value.
     *
     * @param device the device to run on
     * @param config the hyperparameters
     * @param size the number of parameters, &gt;= 0
     * @return the optimizer, to close when done
     * @throws IllegalArgumentException when {@code size} is negative
     * @throws DeviceMemoryException when the device cannot hold the buffers
     * @throws KernelBuildException when the device's compiler rejects the kernel
     */
    public static Optimizer create(Device device, OptimizerConfig config, int size) {
        return create(device, config, Precision.FP32, size);
    }

    /**
     * An optimizer whose parameters and gradients are stored in {@code precision} (bf16 or fp16,
     * with or without fp32 master weights; see {@link Precision}) on {@code device}. The master
     * weights are read through {@link #parameterSet()}'s {@code readMasterParameters(TENSOR, ...)}.
     *
     * @param device the device to run on
     * @param config the hyperparameters
     * @param precision how the parameters and gradients are stored
     * @param size the number of parameters, &gt;= 0
     * @return the optimizer, to close when done
     * @throws IllegalArgumentException when {@code size} is negative or the algorithm does not
     *     support the precision
     * @throws DeviceMemoryException when the device cannot hold the buffers
     * @throws KernelBuildException when the device's compiler rejects the kernel
     */
    public static Optimizer create(Device device, OptimizerConfig config, Precision precision, int size) {
        Objects.requireNonNull(device, "device");
        return new Optimizer(layout(config, precision, size).build(device), size);
    }

    /**
     * The CPU reference: the same step in plain Java, single-threaded.
     *
     * @param config the hyperparameters
     * @param size the number of parameters, &gt;= 0
     * @return the optimizer
     * @throws IllegalArgumentException when {@code size} is negative
     */
    public static Optimizer reference(OptimizerConfig config, int size) {
        return reference(config, Precision.FP32, size);
    }

    /**
     * The CPU reference of {@link #create(Device, OptimizerConfig, Precision, int)}: 16-bit
     * values rounded as the kernels round them.
     *
     * @param config the hyperparameters
     * @param precision how the parameters and gradients are stored
     * @param size the number of parameters, &gt;= 0
     * @return the optimizer
     * @throws IllegalArgumentException when {@code size} is negative or the algorithm does not
     *     support the precision
     */
    public static Optimizer reference(OptimizerConfig config, Precision precision, int size) {
        return new Optimizer(layout(config, precision, size).buildReference(), size);
    }

    private static ParameterSet.Builder layout(OptimizerConfig config, Precision precision, int size) {
        if (size < 0) {
            throw new IllegalArgumentException("invalid size: " + size + " (must be >= 0)");
        }
        return ParameterSet.builder().group(Objects.requireNonNull(config, "config"),
                Objects.requireNonNull(precision, "precision")).tensor(TENSOR, size);
    }

    /**
     * The hyperparameters now.
     *
     * @return the configuration
     */
    public OptimizerConfig config() {
        return set.config(0);
    }

    /**
     * Replaces the hyperparameters from the next step on, as a schedule does, for example
     * {@code setConfig(config().with("lr", 5e-4))}; see {@link ParameterSet#setConfig}.
     *
     * @param config the new configuration, of the same algorithm and structural options
     * @throws IllegalArgumentException naming what may not change
     */
    public void setConfig(OptimizerConfig config) {
        set.setConfig(0, config);
    }

    /**
     * Number of elements in the parameter vector.
     *
     * @return the element count
     */
    public int size() {
        return size;
    }

    /**
     * Steps taken so far (PyTorch's {@code state['step']}); 0 before the first.
     *
     * @return the step count
     */
    public long stepCount() {
        return set.stepCount(TENSOR);
    }

    /**
     * The state arrays this optimizer keeps, by PyTorch state key ({@code exp_avg} ...).
     *
     * @return the state keys, possibly empty
     */
    public List<String> stateNames() {
        return set.stateNames(TENSOR);
    }

    /** One update of the parameters from the current gradients. */
    public void step() {
        set.step();
    }

    /** Zeroes the gradients. */
    public void zeroGrad() {
        set.zeroGrad();
    }

    /**
     * Replaces the parameters; {@code values.length} must equal {@link #size()}.
     *
     * @param values the new parameters
     * @throws IllegalArgumentException for a wrong length
     */
    public void writeParameters(float[] values) {
        set.writeParameters(TENSOR, checked("parameters", values));
    }

    /**
     * Copies the parameters into {@code out}, whose length must equal {@link #size()}.
     *
     * @param out where the parameters go
     * @throws IllegalArgumentException for a wrong length
     */
    public void readParameters(float[] out) {
        set.readParameters(TENSOR, checked("parameters", out));
    }

    /**
     * Replaces the gradients the next step uses.
     *
     * @param values the gradients, {@link #size()} of them
     * @throws IllegalArgumentException for a wrong length
     */
    public void writeGradients(float[] values) {
        set.writeGradients(TENSOR, checked("gradients", values));
    }

    /**
     * Copies state array {@code name} (one of {@link #stateNames()}) into {@code out}.
     *
     * @param name the state key
     * @param out where the state goes, {@link #size()} long
     * @throws IllegalArgumentException for an unknown key or a wrong length
     */
    public void readState(String name, float[] out) {
        set.readState(TENSOR, name, checked(name, out));
    }

    /**
     * Replaces state array {@code name}.
     *
     * @param name the state key, one of {@link #stateNames()}
     * @param values the new state, {@link #size()} long
     * @throws IllegalArgumentException for an unknown key or a wrong length
     */
    public void writeState(String name, float[] values) {
        set.writeState(TENSOR, name, checked(name, values));
    }

    /**
     * A snapshot of the optimizer state; see {@link ParameterSet#stateDict()}.
     *
     * @return the snapshot, without the parameters
     */
    public StateDict stateDict() {
        return set.stateDict();
    }

    /**
     * Restores a snapshot; see {@link ParameterSet#loadStateDict}.
     *
     * @param state the snapshot to restore
     * @throws IllegalArgumentException saying what does not fit; the optimizer is then unchanged
     */
    public void loadStateDict(StateDict state) {
        set.loadStateDict(state);
    }

    /**
     * The one-tensor parameter set behind this optimizer, for everything else a set offers:
     * {@link Checkpoint#save(ParameterSet, java.nio.file.Path)}, device slices of the parameters
     * and gradients, freezing. Closing the optimizer closes it.
     *
     * @return the parameter set, owned by this optimizer
     */
    public ParameterSet parameterSet() {
        return set;
    }

    private float[] checked(String what, float[] array) {
        Objects.requireNonNull(array, what);
        if (array.length != size) {
            throw new IllegalArgumentException(what + ": expected " + size + " floats, got " + array.length);
        }
        return array;
    }

    /** Releases device memory. Idempotent; the optimizer is unusable afterwards. */
    @Override
    public void close() {
        set.close();
    }
}

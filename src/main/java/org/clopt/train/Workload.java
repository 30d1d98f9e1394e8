package org.clopt.train;

import java.util.Map;
import java.util.Objects;
import org.clopt.Closer;
import org.clopt.Device;
import org.clopt.DeviceBuffer;
import org.clopt.Dtype;
import org.clopt.Kernel;
import org.clopt.ParameterSet;
import org.clopt.Precision;
import org.jocl.cl_mem;

/**
 * A training problem that {@code train} runs on the device: its parameters, their initial values,
 * a forward and backward pass that writes the gradients straight into the parameter set's
 * device buffers, and a loss that is read back only when asked for. With a 16-bit type the
 * passes read the group's 16-bit working copy and write 16-bit gradients (arithmetic in fp32),
 * and the set keeps fp32 master weights.
 */
public abstract class Workload implements AutoCloseable {
    final Device device;
    final Dtype dtype;
    private final Closer resources = new Closer();

    Workload(Device device, Dtype dtype) {
        this.device = device;
        this.dtype = Objects.requireNonNull(dtype, "dtype");
    }

    abstract String name();

    /** Steps between loss readings (each one waits for the device). */
    abstract int logEvery();

    /**
     * The learning rate each algorithm gets on this workload, by registry name; an algorithm
     * without a row trains with its default learning rate.
     */
    abstract Map<String, String> learningRates();

    /** A table from alternating keys and values: {@code table("sgd", "0.2", "adam", "0.002")}. */
    static Map<String, String> table(String... keysAndValues) {
        Map<String, String> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(map);
    }

    /** The hyperparameters an algorithm gets on this workload: its learning rate, PyTorch's defaults otherwise. */
    final Map<String, String> settings(String optimizer) {
        return settings(learningRates(), optimizer);
    }

    static Map<String, String> settings(Map<String, String> learningRates, String optimizer) {
        String lr = learningRates.get(optimizer);
        return lr == null ? Map.of() : Map.of("lr", lr);
    }

    /** How the set's group stores what the passes read and write: fp32, or 16-bit with master weights. */
    final Precision precision() {
        return Precision.of(dtype);
    }

    /** The build options of the workload's kernels: common.cl's storage type. */
    final String buildOptions() {
        return switch (dtype) {
            case FP32 -> "";
            case BF16 -> "-DCLOPT_BF16";
            case FP16 -> "-DCLOPT_FP16";
        };
    }

    /** The tensors, added to a builder that already has the group. */
    abstract void addTensors(ParameterSet.Builder builder);

    /** Sets the initial parameters; the same seed gives every optimizer the same start. */
    abstract void initialize(ParameterSet set, long seed);

    /**
     * Enqueues the forward and backward pass for {@code step} (counted from 1): the gradients of
     * the loss times {@code lossScale} (a GradScaler's scale, 1 without one).
     */
    abstract void gradients(ParameterSet set, int step, float lossScale);

    /** The loss of the last {@link #gradients} pass; waits for it and reads a little back. */
    abstract double loss();

    /** Held-out accuracy after training, or NaN where it does not apply. */
    double accuracy(ParameterSet set) {
        HeldOut h = heldOut(set);
        return h == null ? Double.NaN : h.accuracy();
    }

    /**
     * A held-out evaluation.
     *
     * @param loss the mean loss over the held-out samples
     * @param accuracy the share of them classified right
     */
    record HeldOut(double loss, double accuracy) {
    }

    /**
     * The loss and accuracy on the held-out samples with the set's current parameters, or null
     * for a workload without any. It may overwrite what {@link #loss} reads: call it after that.
     */
    HeldOut heldOut(ParameterSet set) {
        return null;
    }

    /**
     * How the workload trains, in a few words for a figure's caption: its batch, or that the
     * loss is the full objective.
     *
     * @return the description
     */
    public abstract String description();

    /**
     * Whether each step's loss is a mini-batch's, a noisy sample of the objective (a plot
     * smooths it), rather than the objective itself.
     *
     * @return true for mini-batch losses
     */
    public abstract boolean miniBatch();

    // ---- the workload's own buffers and kernels, all owned by one Closer ----

    <T extends AutoCloseable> T own(T resource) {
        return resources.add(resource);
    }

    DeviceBuffer buffer(long bytes, String what) {
        return own(DeviceBuffer.allocate(device, Math.max(4, bytes), what));
    }

    DeviceBuffer upload(float[] values, String what) {
        return own(DeviceBuffer.of(device, values, what));
    }

    DeviceBuffer upload(int[] values, String what) {
        return own(DeviceBuffer.of(device, values, what));
    }

    /** Kernel {@code name} of {@code kernels/<file>.cl}, built for the workload's type. */
    Kernel kernel(String file, String name) {
        return own(Kernel.fromClasspath(device, file, name, buildOptions()));
    }

    static float[] download(DeviceBuffer buffer, int count) {
        float[] out = new float[count];
        buffer.read(out);
        return out;
    }

    /** Sets a kernel's arguments in order: DeviceBuffer, cl_mem, Integer (uint) or Float. */
    static Kernel args(Kernel kernel, Object... values) {
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            if (v instanceof DeviceBuffer b) {
                kernel.arg(i, b);
            } else if (v instanceof cl_mem m) {
                kernel.arg(i, m);
            } else if (v instanceof Integer n) {
                kernel.arg(i, n);
            } else if (v instanceof Float f) {
                kernel.arg(i, f);
            } else {
                // A double or long would otherwise reach the kernel with the wrong size.
                throw new IllegalArgumentException("argument " + i + " of " + kernel + ": a "
                        + (v == null ? "null" : v.getClass().getSimpleName())
                        + " (must be DeviceBuffer, cl_mem, Integer or Float)");
            }
        }
        return kernel;
    }

    /**
     * Tells the set that a backward pass is about to replace every gradient on the device: a
     * clipping pending on the old ones is dropped, not written into them (gradientSlice would).
     */
    static void replacingGradients(ParameterSet set) {
        set.names().forEach(set::markGradient);
    }

    /** The tensor's offset in elements (of its type) within its group's buffer. */
    static int offset(ParameterSet.DeviceSlice slice) {
        return (int) (slice.offsetBytes() / slice.dtype().bytes());
    }

    /** For a constructor that fails: releases what it made, keeping {@code cause} as the error. */
    void closeAfter(Throwable cause) {
        resources.closeQuietlyAfter(cause);
    }

    /** Releases the workload's buffers and kernels. */
    @Override
    public void close() {
        resources.close();
    }
}

package org.clopt.train;

import java.util.Map;
import org.clopt.Closer;
import org.clopt.Device;
import org.clopt.DeviceBuffer;
import org.clopt.Kernel;
import org.clopt.ParameterSet;
import org.jocl.cl_mem;

/**
 * A training problem that {@code train} runs on the device: its parameters, their initial values,
 * a forward and backward pass that writes the gradients straight into the parameter set's
 * device buffers, and a loss that is read back only when asked for.
 */
public abstract class Workload implements AutoCloseable {
    final Device device;
    private final Closer resources = new Closer();

    Workload(Device device) {
        this.device = device;
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

    /** The tensors, added to a builder that already has the group. */
    abstract void addTensors(ParameterSet.Builder builder);

    /** Sets the initial parameters; the same seed gives every optimizer the same start. */
    abstract void initialize(ParameterSet set, long seed);

    /** Enqueues the forward and backward pass for {@code step} (counted from 1). */
    abstract void gradients(ParameterSet set, int step);

    /** The loss of the last {@link #gradients} pass; waits for it and reads a little back. */
    abstract double loss();

    /** Held-out accuracy after training, or NaN where it does not apply. */
    double accuracy(ParameterSet set) {
        return Double.NaN;
    }

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

    Kernel kernel(String file, String name, String options) {
        return own(Kernel.fromClasspath(device, file, name, options));
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

    /** The tensor's offset in floats within its group's buffer. */
    static int offset(ParameterSet.DeviceSlice slice) {
        return (int) (slice.offsetBytes() / 4);
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

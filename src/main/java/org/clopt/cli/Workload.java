package org.clopt.cli;

import static org.jocl.CL.*;

import java.util.Map;
import org.clopt.Device;
import org.clopt.OpenClException;
import org.clopt.ParameterSet;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * A training problem that {@code train} runs on the device: its parameters, their initial values,
 * a forward and backward pass that writes the gradients straight into the parameter set's
 * device buffers, and a loss that is read back only when asked for.
 */
abstract class Workload implements AutoCloseable {
    final Device device;

    Workload(Device device) {
        this.device = device;
    }

    abstract String name();

    abstract int defaultSteps();

    /** Steps between loss readings (each one waits for the device). */
    abstract int logEvery();

    /** The hyperparameters each optimizer gets on this workload, under PyTorch's names. */
    abstract Map<String, String> settings(String optimizer);

    /** The tensors, added to a builder that already has the group. */
    abstract void addTensors(ParameterSet.Builder builder);

    /** Sets the initial parameters; the same seed gives every optimizer the same start. */
    abstract void initialize(ParameterSet set, long seed);

    /** Enqueues the forward and backward pass for {@code step} (counted from 1). */
    abstract void gradients(ParameterSet set, int step);

    /** The loss of the last {@link #gradients} pass; waits for it and reads a little back. */
    abstract double loss();

    /** Releases the workload's buffers and kernels. */
    @Override
    public abstract void close();

    /** Held-out accuracy after training, or NaN where it does not apply. */
    double accuracy(ParameterSet set) {
        return Double.NaN;
    }

    // ---- small OpenCL helpers for the workloads ----

    cl_mem buffer(long bytes, String what) {
        return call("allocating " + what, () -> clCreateBuffer(device.context(), CL_MEM_READ_WRITE,
                Math.max(4, bytes), null, null));
    }

    cl_mem upload(float[] values, String what) {
        cl_mem m = buffer(4L * values.length, what);
        call("writing " + what, () -> clEnqueueWriteBuffer(device.queue(), m, CL_TRUE, 0,
                4L * values.length, Pointer.to(values), 0, null, null));
        return m;
    }

    cl_mem upload(int[] values, String what) {
        cl_mem m = buffer(4L * values.length, what);
        call("writing " + what, () -> clEnqueueWriteBuffer(device.queue(), m, CL_TRUE, 0,
                4L * values.length, Pointer.to(values), 0, null, null));
        return m;
    }

    float[] download(cl_mem m, int count) {
        float[] out = new float[count];
        call("reading back", () -> clEnqueueReadBuffer(device.queue(), m, CL_TRUE, 0, 4L * count,
                Pointer.to(out), 0, null, null));
        return out;
    }

    /** Sets a kernel's arguments: cl_mem, Integer (uint) or Float. */
    static void args(cl_kernel kernel, Object... values) {
        call("clSetKernelArg", () -> {
            for (int i = 0; i < values.length; i++) {
                Object v = values[i];
                if (v instanceof cl_mem m) {
                    clSetKernelArg(kernel, i, Sizeof.cl_mem, Pointer.to(m));
                } else if (v instanceof Integer n) {
                    clSetKernelArg(kernel, i, Sizeof.cl_uint, Pointer.to(new int[] {n}));
                } else {
                    clSetKernelArg(kernel, i, Sizeof.cl_float, Pointer.to(new float[] {(Float) v}));
                }
            }
            return null;
        });
    }

    void launch(cl_kernel kernel, long[] global, long[] local) {
        call("clEnqueueNDRangeKernel", () -> clEnqueueNDRangeKernel(device.queue(), kernel,
                global.length, null, global, local, 0, null, null));
    }

    /** The tensor's offset in floats within its group's buffer. */
    static int offset(ParameterSet.DeviceSlice slice) {
        return (int) (slice.offsetBytes() / 4);
    }

    static <T> T call(String what, java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (CLException e) {
            throw new OpenClException(what + " failed: " + e.getMessage(), e.getStatus(), e);
        }
    }

    static void release(cl_kernel... kernels) {
        for (cl_kernel k : kernels) {
            if (k != null) {
                clReleaseKernel(k);
            }
        }
    }

    static void release(cl_mem... buffers) {
        for (cl_mem m : buffers) {
            if (m != null) {
                clReleaseMemObject(m);
            }
        }
    }
}

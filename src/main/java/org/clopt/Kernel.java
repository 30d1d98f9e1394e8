package org.clopt;

import static org.jocl.CL.*;

import java.util.Objects;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * One OpenCL kernel on a {@link Device}, for work of your own beside clopt's optimizers (a
 * model's forward and backward passes, a loss) on the same queue, so that it is ordered with
 * the steps. Arguments are typed, launches follow clopt's rule for one work-item per element,
 * OpenCL failures become clopt's exceptions, and closing releases the kernel (and its program,
 * when it was built from your source).
 *
 * <pre>{@code
 * try (Kernel scale = Kernel.fromSource(device, "kernel void scale(global float* x, float a) {"
 *         + " x[get_global_id(0)] *= a; }", "scale", "")) {
 *     ParameterSet.DeviceSlice g = set.gradientSlice("fc1.weight");
 *     scale.arg(0, g.buffer()).arg(1, 0.5f).launch(g.offsetBytes() / 4, (g.offsetBytes() + g.sizeBytes()) / 4);
 * }
 * }</pre>
 *
 * <p>Not thread-safe: arguments are state of the kernel object.
 */
public final class Kernel implements AutoCloseable {
    private final Device device;
    private final String name;
    private final cl_program ownProgram;
    private final cl_kernel kernel;
    private final long localSize;
    private boolean closed;

    private Kernel(Device device, String name, cl_program ownProgram, cl_kernel kernel) {
        this.device = device;
        this.name = name;
        this.ownProgram = ownProgram;
        this.kernel = kernel;
        long size;
        try {
            size = LaunchShape.localSizeFor(device.info(), kernel);
        } catch (RuntimeException e) {
            release();
            throw e;
        }
        this.localSize = size;
    }

    /**
     * Kernel {@code name} of the classpath file {@code org/clopt/kernels/<file>.cl}, compiled
     * after clopt's {@code common.cl} with these build options ({@code -D} flags); the program
     * is built once per device, file and options.
     *
     * @throws KernelBuildException with the compiler's log if the build fails
     */
    public static Kernel fromClasspath(Device device, String file, String name, String options) {
        Objects.requireNonNull(device, "device");
        cl_kernel k = device.createKernel(file, name, options);
        return new Kernel(device, name, null, k);
    }

    /**
     * Kernel {@code name} of OpenCL C {@code source}, built for this device with these options.
     *
     * @throws KernelBuildException with the compiler's log if the build fails
     */
    public static Kernel fromSource(Device device, String source, String name, String options) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(source, "source");
        cl_program program = device.build("the source of " + name, source, options);
        try {
            cl_kernel k = Cl.call("clCreateKernel " + name, () -> clCreateKernel(program, name, null));
            return new Kernel(device, name, program, k);
        } catch (RuntimeException e) {
            clReleaseProgram(program);
            throw e;
        }
    }

    /** Sets argument {@code index} to a buffer of clopt's or your own (a {@link DeviceBuffer}'s handle, a slice's buffer). */
    public Kernel arg(int index, cl_mem buffer) {
        Objects.requireNonNull(buffer, "buffer");
        return set(index, Sizeof.cl_mem, Pointer.to(buffer));
    }

    public Kernel arg(int index, DeviceBuffer buffer) {
        return arg(index, buffer.handle());
    }

    public Kernel arg(int index, float value) {
        return set(index, Sizeof.cl_float, Pointer.to(new float[] {value}));
    }

    /** An {@code int} or {@code uint} argument. */
    public Kernel arg(int index, int value) {
        return set(index, Sizeof.cl_int, Pointer.to(new int[] {value}));
    }

    /** A {@code local} memory argument of {@code bytes}. */
    public Kernel localArg(int index, long bytes) {
        return set(index, bytes, null);
    }

    private Kernel set(int index, long size, Pointer value) {
        ensureOpen();
        Cl.run("setting argument " + index + " of kernel " + name,
                () -> clSetKernelArg(kernel, index, size, value));
        return this;
    }

    /**
     * The work-group size of {@link #launch(long, long)}: clopt's rule for this kernel and
     * device (see the README's Performance section).
     */
    public long localSize() {
        return localSize;
    }

    /**
     * Runs one work-item per element of [from, to), indexed by {@code get_global_id(0)}, without
     * the kernel needing a bounds check: whole work-groups, then the remainder as one exact
     * work-group at a global offset.
     */
    public void launch(long from, long to) {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("invalid range [" + from + ", " + to + ") for kernel " + name);
        }
        ensureOpen();
        LaunchShape shape = LaunchShape.of(from, to, localSize);
        Cl.run("enqueue " + name, () -> shape.enqueue(device.queue(), kernel, null));
    }

    /** Runs an N-dimensional range; {@code local} may be null to let the runtime choose. */
    public void launch(long[] global, long[] local) {
        Objects.requireNonNull(global, "global");
        if (global.length < 1 || global.length > 3 || (local != null && local.length != global.length)) {
            throw new IllegalArgumentException("kernel " + name + ": global needs 1 to 3 dimensions "
                    + "and local, if given, as many");
        }
        ensureOpen();
        Cl.run("enqueue " + name, () -> clEnqueueNDRangeKernel(device.queue(), kernel, global.length,
                null, global, local, 0, null, null));
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("kernel " + name + " is closed");
        }
        device.ensureOpen();
    }

    /** Releases the kernel, and its program if it was built from source. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    private void release() {
        clReleaseKernel(kernel);
        if (ownProgram != null) {
            clReleaseProgram(ownProgram);
        }
    }
}

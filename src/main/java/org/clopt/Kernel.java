package org.clopt;

import static org.jocl.CL.*;

import java.util.Objects;
import org.jocl.CLException;
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
    private final int argumentCount;
    /**
     * The {@link DeviceBuffer} set at each index, or null: a launch checks they are still open,
     * since OpenCL does not keep a buffer alive for a kernel and using a released one can crash
     * the runtime.
     */
    private final DeviceBuffer[] buffers;
    private boolean closed;

    /** Takes ownership of {@code kernel} and {@code ownProgram}: releases them if it fails. */
    private Kernel(Device device, String name, cl_program ownProgram, cl_kernel kernel) {
        this.device = device;
        this.name = name;
        this.ownProgram = ownProgram;
        this.kernel = kernel;
        try {
            this.localSize = LaunchShape.localSizeFor(device.info(), kernel);
            int[] count = new int[1];
            Cl.run("clGetKernelInfo CL_KERNEL_NUM_ARGS of " + name, () -> clGetKernelInfo(kernel,
                    CL_KERNEL_NUM_ARGS, Sizeof.cl_uint, Pointer.to(count), null));
            this.argumentCount = count[0];
            this.buffers = new DeviceBuffer[count[0]];
        } catch (RuntimeException e) {
            release();
            throw e;
        }
    }

    /**
     * Kernel {@code name} of the classpath file {@code org/clopt/kernels/<file>.cl}, compiled
     * after clopt's {@code common.cl} with these build options ({@code -D} flags); the program
     * is built once per device, file and options.
     *
     * @param device the device to build for
     * @param file the file's name under {@code org/clopt/kernels/}, without {@code .cl}
     * @param name the kernel's name in the file
     * @param options OpenCL build options, possibly empty
     * @return the kernel, to close when done
     * @throws KernelBuildException with the compiler's log if the build fails
     */
    public static Kernel fromClasspath(Device device, String file, String name, String options) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(options, "options");
        cl_kernel k = device.createKernel(file, name, options);
        return new Kernel(device, name, null, k);
    }

    /** Kernel {@code name} made by clopt itself, which the result then owns. */
    static Kernel wrap(Device device, String name, cl_kernel kernel) {
        return new Kernel(device, name, null, kernel);
    }

    /**
     * Kernel {@code name} of OpenCL C {@code source}, built for this device with these options.
     *
     * @param device the device to build for
     * @param source the OpenCL C program
     * @param name the kernel's name in the program
     * @param options OpenCL build options, possibly empty
     * @return the kernel, to close when done
     * @throws KernelBuildException with the compiler's log if the build fails
     */
    public static Kernel fromSource(Device device, String source, String name, String options) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(options, "options");
        cl_program program = device.build("the source of " + name, source, options);
        cl_kernel k;
        try {
            k = Cl.call("clCreateKernel " + name, () -> clCreateKernel(program, name, null));
        } catch (RuntimeException e) {
            clReleaseProgram(program);
            throw e;
        }
        // From here the constructor owns both and releases them if it fails.
        return new Kernel(device, name, program, k);
    }

    /**
     * Sets argument {@code index} to a buffer of clopt's or your own (a {@link DeviceBuffer}'s
     * handle, a slice's buffer).
     *
     * @param index the argument's index, from 0
     * @param buffer the buffer
     * @return this kernel
     */
    public Kernel arg(int index, cl_mem buffer) {
        Objects.requireNonNull(buffer, "buffer");
        return set(index, Sizeof.cl_mem, Pointer.to(buffer), null);
    }

    /**
     * Sets argument {@code index} to {@code buffer}, which must be open and on this kernel's
     * device until the launches that use it.
     *
     * @param index the argument's index, from 0
     * @param buffer the buffer
     * @return this kernel
     * @throws IllegalArgumentException if the buffer belongs to another device
     */
    public Kernel arg(int index, DeviceBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        if (buffer.device() != device) {
            throw new IllegalArgumentException("kernel " + name + ": argument " + index + ", "
                    + buffer.what() + ", belongs to another Device (" + buffer.device()
                    + ") than the kernel (" + device + ")");
        }
        return set(index, Sizeof.cl_mem, Pointer.to(buffer.handle()), buffer);
    }

    /**
     * A {@code float} argument.
     *
     * @param index the argument's index, from 0
     * @param value the value
     * @return this kernel
     */
    public Kernel arg(int index, float value) {
        return set(index, Sizeof.cl_float, Pointer.to(new float[] {value}), null);
    }

    /**
     * An {@code int} or {@code uint} argument.
     *
     * @param index the argument's index, from 0
     * @param value the value
     * @return this kernel
     */
    public Kernel arg(int index, int value) {
        return set(index, Sizeof.cl_int, Pointer.to(new int[] {value}), null);
    }

    /**
     * Sets argument {@code index} to a {@code long} (64 bits).
     *
     * @param index the argument's position
     * @param value the value
     * @return this kernel
     * @throws OpenClException if the argument is not a long
     */
    public Kernel arg(int index, long value) {
        return set(index, Sizeof.cl_long, Pointer.to(new long[] {value}), null);
    }

    /**
     * A {@code local} memory argument of {@code bytes}.
     *
     * @param index the argument's index, from 0
     * @param bytes the size of the local buffer, &gt; 0
     * @return this kernel
     * @throws IllegalArgumentException if {@code bytes} is not positive
     */
    public Kernel localArg(int index, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("kernel " + name + ": local argument " + index
                    + " of " + bytes + " bytes (must be > 0)");
        }
        return set(index, bytes, null, null);
    }

    @Override
    public String toString() {
        return "kernel " + name;
    }

    /**
     * The number of arguments the kernel declares.
     *
     * @return the argument count
     */
    public int argumentCount() {
        return argumentCount;
    }

    /**
     * An index outside the kernel's arguments is left to OpenCL, which reports it as
     * {@code CL_INVALID_ARG_INDEX}: the same {@link OpenClException} as a wrong size or type.
     */
    private Kernel set(int index, long size, Pointer value, DeviceBuffer buffer) {
        ensureOpen();
        try {
            clSetKernelArg(kernel, index, size, value);
        } catch (CLException e) {
            throw Cl.wrap("setting argument " + index + " of kernel " + name + " (it has "
                    + argumentCount + " arguments)", e);
        }
        if (index >= 0 && index < buffers.length) { // OpenCL checked it; this guards a lenient runtime
            buffers[index] = buffer;
        }
        return this;
    }

    /**
     * The work-group size of {@link #launch(long, long)}: clopt's rule for this kernel and
     * device (see the README's Performance section).
     *
     * @return the work-group size, in work-items
     */
    public long localSize() {
        return localSize;
    }

    /**
     * Runs one work-item per element of [from, to), indexed by {@code get_global_id(0)}, without
     * the kernel needing a bounds check: whole work-groups, then the remainder as one exact
     * work-group at a global offset.
     *
     * @param from the first element, &gt;= 0
     * @param to one past the last element, &gt;= {@code from}
     * @throws IllegalArgumentException for a negative or reversed range
     * @throws IllegalStateException if the kernel, its device or a buffer argument is closed
     */
    public void launch(long from, long to) {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("invalid range [" + from + ", " + to + ") for kernel " + name);
        }
        ensureLaunchable();
        LaunchShape shape = LaunchShape.of(from, to, localSize);
        Cl.run("enqueue " + name, () -> shape.enqueue(device.queue(), kernel, null));
    }

    /**
     * Launches one work-item per element of [from, to) in work-groups of {@code local} items (a
     * remainder as one smaller group), for clopt's own kernels whose work-items each loop over
     * many elements, where the element-wise rule's large CPU groups would leave cores idle.
     */
    void launch(long from, long to, long local) {
        ensureLaunchable();
        LaunchShape shape = LaunchShape.of(from, to, Math.max(1, Math.min(local, localSize)));
        Cl.run("enqueue " + name, () -> shape.enqueue(device.queue(), kernel, null));
    }

    /**
     * Runs an N-dimensional range; {@code local} may be null to let the runtime choose.
     *
     * @param global the global size in each of 1 to 3 dimensions, each &gt;= 1
     * @param local the work-group size in each dimension, each &gt;= 1, or null
     * @throws IllegalArgumentException for a wrong number of dimensions or a size below 1
     * @throws IllegalStateException if the kernel, its device or a buffer argument is closed
     */
    public void launch(long[] global, long[] local) {
        Objects.requireNonNull(global, "global");
        if (global.length < 1 || global.length > 3 || (local != null && local.length != global.length)) {
            throw new IllegalArgumentException("kernel " + name + ": global needs 1 to 3 dimensions "
                    + "and local, if given, as many (global has " + global.length + ", local "
                    + (local == null ? "none" : local.length) + ")");
        }
        for (int d = 0; d < global.length; d++) {
            if (global[d] < 1 || (local != null && local[d] < 1)) {
                throw new IllegalArgumentException("kernel " + name + ": dimension " + d + " has global size "
                        + global[d] + (local == null ? "" : " and local size " + local[d]) + " (must be >= 1)");
            }
        }
        ensureLaunchable();
        Cl.run("enqueue " + name, () -> clEnqueueNDRangeKernel(device.queue(), kernel, global.length,
                null, global, local, 0, null, null));
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("kernel " + name + " is closed");
        }
        device.ensureOpen();
    }

    private void ensureLaunchable() {
        ensureOpen();
        for (int i = 0; i < buffers.length; i++) {
            if (buffers[i] != null && buffers[i].isClosed()) {
                throw new IllegalStateException("kernel " + name + ": argument " + i + ", "
                        + buffers[i].what() + ", was closed after it was set");
            }
        }
    }

    /** Releases the kernel, and its program if it was built from source. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            java.util.Arrays.fill(buffers, null);
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

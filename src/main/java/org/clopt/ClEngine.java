package org.clopt;

import static org.jocl.CL.*;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The OpenCL path: device buffers for parameters, gradients and each state array, and one
 * launch of {@code <algorithm>_step} per step over a range (two when the range is not a multiple
 * of the work-group size, see {@link LaunchShape}). A step sets the scalar arguments that changed
 * and enqueues; it never waits, reads back or transfers arrays.
 */
final class ClEngine extends Engine {
    private final Device device;
    /**
     * Parameters, gradients, then each state array, then the averaged parameters if made; empty
     * when the size is 0.
     */
    private cl_mem[] buffers;
    /** The gradient scale the scaled kernel holds now (argument 2). */
    private cl_mem scaleSet;
    /** The step kernel, and its variant that multiplies gradients by grad_scale (made on first use). */
    private final cl_kernel kernel;
    private cl_kernel scaledKernel;
    private final String options;
    /** The kernel files of the program: the algorithm's, after reduce.cl's for per-tensor norms. */
    private final List<String> files;
    /** The per-tensor passes ({@link OptimizerConfig#perTensorStep()}), made on first use. */
    private Kernel partials;
    private Kernel finish;
    private Kernel apply;
    /** The chunk table, tensor ends, partial norms and factors of the last run's bounds. */
    private ChunkTables tables;
    private DeviceBuffer factorBuffer;
    private final long localSize;
    /** The scalars each kernel holds now: most stay the same from step to step. */
    private float[] scalarsSet;
    private float[] scaledScalarsSet;

    ClEngine(Device device, OptimizerConfig layout, int size) {
        super(layout, size);
        this.device = device;
        this.files = layout.perTensorStep() != null ? List.of("reduce", algorithm) : List.of(algorithm);
        device.ensureOpen();
        int arrays = 2 + stateNames.size();
        long bytes = 4L * size;
        if (arrays * bytes > device.info().globalMemoryBytes()) {
            throw new DeviceMemoryException(algorithm + " on " + size + " elements needs "
                    + Device.mib(arrays * bytes) + " (" + arrays + " arrays) but "
                    + device.info().qualifiedName() + " has " + Device.mib(device.info().globalMemoryBytes())
                    + " of global memory", CL_MEM_OBJECT_ALLOCATION_FAILURE, null);
        }
        buffers = new cl_mem[size > 0 ? arrays : 0];
        cl_kernel k = null;
        try {
            for (int a = 0; a < buffers.length; a++) {
                buffers[a] = device.allocate(bytes, arrayName(a));
                fill(a, 0, size, a < 2 ? 0f : layout.initialState(a - 2));
            }
            k = device.createKernel(files, algorithm + "_step", layout.buildOptions());
            setBuffers(k);
            // Lazy allocators surface an out-of-memory here, at creation, not in a step.
            device.finish();
            localSize = LaunchShape.localSizeFor(device.info(), k);
        } catch (RuntimeException e) {
            releaseAll(k, buffers);
            throw e;
        }
        kernel = k;
        options = layout.buildOptions();
    }

    private void setBuffers(cl_kernel k) {
        Cl.run("clSetKernelArg", () -> {
            for (int a = 0; a < 2 + stateNames.size() && a < buffers.length; a++) {
                // p and grad, then grad_scale (set per run), then the state arrays.
                clSetKernelArg(k, a < 2 ? a : a + 1, Sizeof.cl_mem, Pointer.to(buffers[a]));
            }
            if (buffers.length > 0) {
                // Every argument must be set; the kernel without -DCLOPT_GRAD_SCALE never reads it.
                clSetKernelArg(k, 2, Sizeof.cl_mem, Pointer.to(buffers[GRADIENTS]));
            }
        });
    }

    /** The buffer behind transfer index {@code array}, for views on the device; null if empty. */
    cl_mem buffer(int array) {
        return buffers.length == 0 ? null : buffers[array];
    }

    @Override
    void run(OptimizerConfig config, float[] scalars, int from, int to, SetKernels.GradScale scale) {
        if (from == to) {
            return;
        }
        device.ensureOpen();
        boolean scaled = scale.buffer() != null;
        if (scaled && scaledKernel == null) {
            cl_kernel k = device.createKernel(files, algorithm + "_step", options + " -DCLOPT_GRAD_SCALE");
            try {
                setBuffers(k);
            } catch (RuntimeException e) {
                clReleaseKernel(k);
                throw e;
            }
            scaledKernel = k;
        }
        cl_kernel k = scaled ? scaledKernel : kernel;
        Cl.run("enqueue " + algorithm + "_step", () -> {
            if (scaled && scale.buffer() != scaleSet) {
                clSetKernelArg(k, 2, Sizeof.cl_mem, Pointer.to(scale.buffer()));
                scaleSet = scale.buffer();
            }
            float[] held = scaled ? scaledScalarsSet : scalarsSet;
            int first = 3 + stateNames.size();
            for (int i = 0; i < scalars.length; i++) {
                // Compare bits, not values: NaN and -0 must be set too.
                if (held == null || Float.floatToRawIntBits(held[i]) != Float.floatToRawIntBits(scalars[i])) {
                    clSetKernelArg(k, first + i, Sizeof.cl_float, Pointer.to(new float[] {scalars[i]}));
                }
            }
            if (scaled) {
                scaledScalarsSet = scalars;
            } else {
                scalarsSet = scalars;
            }
            LaunchShape.of(from, to, localSize).enqueue(device.queue(), k, null);
        });
    }

    /** Work-items (chunks) per work-group of the per-chunk passes, as reduce.cl's. */
    private static final int CHUNK_GROUP = 64;

    @Override
    void runPerTensor(PerTensorStep config, float[] scalars, int[] bounds) {
        device.ensureOpen();
        if (partials == null) {
            partials = Kernel.wrap(device, algorithm + "_partials",
                    device.createKernel(files, algorithm + "_partials", options));
            finish = Kernel.wrap(device, algorithm + "_finish",
                    device.createKernel(files, algorithm + "_finish", options));
            apply = Kernel.wrap(device, algorithm + "_apply",
                    device.createKernel(files, algorithm + "_apply", options));
        }
        ChunkTables now = ChunkTables.of(tables, device, bounds.clone(), () -> chunks(bounds),
                config.reducedCount(), "the per-tensor");
        if (now != tables) {
            tables = now;
            if (factorBuffer != null) {
                factorBuffer.close();
                factorBuffer = null;
            }
            factorBuffer = DeviceBuffer.allocate(device, 4L * Math.max(1, now.chunkCount), "the per-tensor factors");
        }
        int chunkCount = tables.chunkCount;
        for (Kernel k : new Kernel[] {partials, apply}) {
            k.arg(0, tables.chunks).arg(1, k == partials ? tables.partials : factorBuffer).arg(2, chunkCount);
            for (int a = 0; a < stateNames.size() + 1; a++) {
                k.arg(3 + a, buffers[a == 0 ? PARAMETERS : a + 1]);
            }
            for (int i = 0; i < scalars.length; i++) {
                k.arg(4 + stateNames.size() + i, scalars[i]);
            }
        }
        partials.launch(0, chunkCount, CHUNK_GROUP);
        finish.arg(0, tables.partials).arg(1, tables.tensorEnds).arg(2, bounds.length - 1).arg(3, chunkCount)
                .arg(4, factorBuffer).launch(0, 1);
        apply.launch(0, chunkCount, CHUNK_GROUP);
    }

    private void closeTables() {
        Closer all = new Closer();
        if (tables != null) {
            all.add(tables);
        }
        if (factorBuffer != null) {
            all.add(factorBuffer);
        }
        all.close();
        tables = null;
        factorBuffer = null;
    }

    @Override
    void allocateAveraged() {
        if (buffers.length == averagedArray()) {
            cl_mem averaged = device.allocate(4L * size, arrayName(averagedArray()));
            buffers = Arrays.copyOf(buffers, buffers.length + 1);
            buffers[buffers.length - 1] = averaged;
            fill(buffers.length - 1, 0, size, 0f);
        }
    }

    @Override
    void write(int array, int from, FloatBuffer src) {
        int count = src.remaining();
        if (count == 0) {
            return;
        }
        device.ensureOpen();
        Pointer host = host(src);
        Cl.run("writing " + arrayName(array), () -> clEnqueueWriteBuffer(device.queue(), buffers[array],
                CL_TRUE, 4L * from, 4L * count, host, 0, null, null));
    }

    @Override
    void read(int array, int from, FloatBuffer dst) {
        int count = dst.remaining();
        if (count == 0) {
            return;
        }
        device.ensureOpen();
        if (usableInPlace(dst)) {
            Cl.run("reading " + arrayName(array), () -> clEnqueueReadBuffer(device.queue(), buffers[array],
                    CL_TRUE, 4L * from, 4L * count, Pointer.toBuffer(dst), 0, null, null));
            return;
        }
        float[] copy = new float[count];
        Cl.run("reading " + arrayName(array), () -> clEnqueueReadBuffer(device.queue(), buffers[array],
                CL_TRUE, 4L * from, 4L * count, Pointer.to(copy), 0, null, null));
        dst.duplicate().put(copy);
    }

    /**
     * A host pointer to {@code src}'s remaining floats. Direct buffers in the device's byte order
     * and array-backed ones are used in place; any other (a big-endian direct buffer, a view of
     * a heap ByteBuffer) is copied, so that every FloatBuffer gives the same floats.
     */
    static Pointer host(FloatBuffer src) {
        if (usableInPlace(src)) {
            return Pointer.toBuffer(src);
        }
        float[] copy = new float[src.remaining()];
        src.duplicate().get(copy);
        return Pointer.to(copy);
    }

    private static boolean usableInPlace(FloatBuffer b) {
        return b.hasArray() || (b.isDirect() && b.order() == ByteOrder.nativeOrder());
    }

    @Override
    void fill(int array, int from, int count, float value) {
        if (count == 0) {
            return;
        }
        Cl.run("filling " + arrayName(array), () -> clEnqueueFillBuffer(device.queue(), buffers[array],
                Pointer.to(new float[] {value}), Sizeof.cl_float, 4L * from, 4L * count, 0, null, null));
    }

    @Override
    public void close() {
        for (Kernel k : new Kernel[] {partials, finish, apply}) {
            if (k != null) {
                k.close();
            }
        }
        closeTables();
        if (scaledKernel != null) {
            clReleaseKernel(scaledKernel);
        }
        releaseAll(kernel, buffers);
    }

    private static void releaseAll(cl_kernel kernel, cl_mem[] buffers) {
        if (kernel != null) {
            clReleaseKernel(kernel);
        }
        for (int i = buffers.length - 1; i >= 0; i--) {
            if (buffers[i] != null) {
                clReleaseMemObject(buffers[i]);
            }
        }
    }
}

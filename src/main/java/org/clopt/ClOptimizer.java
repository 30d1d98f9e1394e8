package org.clopt;

import static org.jocl.CL.*;

import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The OpenCL path: device buffers for parameters, gradients and each state array, and one
 * launch of {@code <algorithm>_step} per step (two when the size is not a multiple of the
 * work-group size, see {@link LaunchShape}). A step sets the scalar arguments that changed and
 * enqueues; it never waits, reads back or transfers arrays.
 */
final class ClOptimizer extends AbstractOptimizer {
    private final Device device;
    private final cl_mem parameters;
    private final cl_mem gradients;
    private final cl_mem[] state;
    private final cl_kernel kernel;
    private final LaunchShape shape;
    /** When set, launches record their profiling events in it (bench only). */
    cl_event[] launchEvents;
    /** The scalars the kernel holds now: most stay the same from step to step. */
    private float[] scalarsSet;

    ClOptimizer(Device device, OptimizerConfig config, int size) {
        this(device, config, size, 0);
    }

    /** With {@code requestedLocalSize} 0 the work-group size follows the device's rule. */
    ClOptimizer(Device device, OptimizerConfig config, int size, long requestedLocalSize) {
        super(config, size);
        this.device = device;
        device.ensureOpen();
        int arrays = 2 + config.stateNames().size();
        long bytes = 4L * size;
        if (arrays * bytes > device.info().globalMemoryBytes()) {
            throw new DeviceMemoryException(config.algorithm() + " on " + size + " elements needs "
                    + Device.mib(arrays * bytes) + " (" + arrays + " arrays) but "
                    + device.info().qualifiedName() + " has " + Device.mib(device.info().globalMemoryBytes())
                    + " of global memory", CL_MEM_OBJECT_ALLOCATION_FAILURE, null);
        }
        state = new cl_mem[arrays - 2];
        cl_mem p = null;
        cl_mem g = null;
        cl_kernel k = null;
        long local = 1;
        try {
            if (size > 0) {
                p = device.allocate(bytes, "parameters");
                fill(p, 0f);
                g = device.allocate(bytes, "gradients");
                fill(g, 0f);
                for (int i = 0; i < state.length; i++) {
                    state[i] = device.allocate(bytes, config.stateNames().get(i));
                    fill(state[i], config.initialState(i));
                }
            }
            k = device.createKernel(config.algorithm(), config.buildOptions());
            local = requestedLocalSize > 0 ? requestedLocalSize
                    : LaunchShape.localSizeFor(device.info(), k);
            if (size > 0) {
                setBufferArguments(k, p, g);
            }
            // Lazy allocators surface an out-of-memory here, at creation, not in a step.
            Cl.run("clFinish", () -> clFinish(device.queue()));
        } catch (RuntimeException e) {
            releaseAll(k, p, g, state);
            throw e;
        }
        parameters = p;
        gradients = g;
        kernel = k;
        shape = LaunchShape.of(size, local);
    }

    LaunchShape shape() {
        return shape;
    }

    private void setBufferArguments(cl_kernel k, cl_mem p, cl_mem g) {
        Cl.run("clSetKernelArg", () -> {
            int arg = 0;
            clSetKernelArg(k, arg++, Sizeof.cl_mem, Pointer.to(p));
            clSetKernelArg(k, arg++, Sizeof.cl_mem, Pointer.to(g));
            for (cl_mem s : state) {
                clSetKernelArg(k, arg++, Sizeof.cl_mem, Pointer.to(s));
            }
        });
    }

    private void fill(cl_mem buffer, float value) {
        Cl.run("clEnqueueFillBuffer", () -> clEnqueueFillBuffer(device.queue(), buffer,
                Pointer.to(new float[] {value}), Sizeof.cl_float, 0, 4L * size, 0, null, null));
    }

    @Override
    void run(float[] scalars) {
        if (size == 0) {
            return;
        }
        device.ensureOpen();
        Cl.run("enqueue " + config.algorithm() + "_step", () -> {
            int first = 2 + state.length;
            for (int k = 0; k < scalars.length; k++) {
                // Compare bits, not values: NaN and -0 must be set too.
                if (scalarsSet == null
                        || Float.floatToRawIntBits(scalarsSet[k]) != Float.floatToRawIntBits(scalars[k])) {
                    clSetKernelArg(kernel, first + k, Sizeof.cl_float, Pointer.to(new float[] {scalars[k]}));
                }
            }
            scalarsSet = scalars;
            shape.enqueue(device.queue(), kernel, launchEvents);
        });
    }

    @Override
    void putParameters(float[] values) {
        write(parameters, values, "parameters");
    }

    @Override
    void getParameters(float[] out) {
        read(parameters, out, "parameters");
    }

    @Override
    void putGradients(float[] values) {
        write(gradients, values, "gradients");
    }

    @Override
    void getState(int index, float[] out) {
        read(state[index], out, config.stateNames().get(index));
    }

    @Override
    void putState(int index, float[] values) {
        write(state[index], values, config.stateNames().get(index));
    }

    private void write(cl_mem buffer, float[] values, String what) {
        if (size == 0) {
            return;
        }
        device.ensureOpen();
        Cl.run("writing " + what, () -> clEnqueueWriteBuffer(device.queue(), buffer, CL_TRUE, 0,
                4L * size, Pointer.to(values), 0, null, null));
    }

    private void read(cl_mem buffer, float[] out, String what) {
        if (size == 0) {
            return;
        }
        device.ensureOpen();
        Cl.run("reading " + what, () -> clEnqueueReadBuffer(device.queue(), buffer, CL_TRUE, 0,
                4L * size, Pointer.to(out), 0, null, null));
    }

    @Override
    void release() {
        releaseAll(kernel, parameters, gradients, state);
    }

    private static void releaseAll(cl_kernel kernel, cl_mem p, cl_mem g, cl_mem[] state) {
        if (kernel != null) {
            clReleaseKernel(kernel);
        }
        for (int i = state.length - 1; i >= 0; i--) {
            if (state[i] != null) {
                clReleaseMemObject(state[i]);
            }
        }
        if (g != null) {
            clReleaseMemObject(g);
        }
        if (p != null) {
            clReleaseMemObject(p);
        }
    }
}

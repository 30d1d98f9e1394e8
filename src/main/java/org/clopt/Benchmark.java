package org.clopt;

import static org.jocl.CL.*;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * Times optimizer steps on a device and the memory roofline they are judged against. Each
 * figure is the median of several launches timed on the device (profiling events), after
 * warm-up; the wall time of the same number of launches enqueued back to back, waited for once,
 * is reported beside it to show the host's overhead.
 */
public final class Benchmark {
    private Benchmark() {
    }

    /**
     * One measurement.
     *
     * @param medianMs median device time of one launch
     * @param minMs fastest launch
     * @param wallMsPerStep wall time per step when steps are enqueued asynchronously
     * @param localSize the work-group size used
     */
    public record Timing(double medianMs, double minMs, double wallMsPerStep, long localSize) {
        /** Effective bandwidth in GB/s (10^9 bytes) for this many bytes per element. */
        public double gbps(long bytesPerElement, long n) {
            return bytesPerElement * n / (medianMs * 1e6);
        }
    }

    /** Bytes per element of the roofline kernel, y += a*x: read x and y, write y. */
    public static final int ROOFLINE_BYTES_PER_ELEMENT = 12;

    /** Times {@code repetitions} steps of {@code config} on {@code n} elements. */
    public static Timing optimizer(Device device, OptimizerConfig config, int n, int repetitions) {
        return optimizer(device, config, n, repetitions, 0);
    }

    static Timing optimizer(Device device, OptimizerConfig config, int n, int repetitions,
                            long localSize) {
        try (ClOptimizer opt = new ClOptimizer(device, config, n, localSize)) {
            float[] values = randomValues(n, 1);
            opt.writeParameters(values);
            opt.writeGradients(randomValues(n, 2));
            return time(device, repetitions, opt.shape(), events -> {
                opt.launchEvents = events;
                opt.step();
                opt.launchEvents = null;
            });
        }
    }

    /** Times the in-place read-modify-write {@code y += a*x} on {@code n} elements. */
    public static Timing roofline(Device device, int n, int repetitions) {
        return roofline(device, n, repetitions, 0);
    }

    static Timing roofline(Device device, int n, int repetitions, long localSize) {
        cl_mem y = device.allocate(4L * n, "roofline y");
        cl_mem x = null;
        cl_kernel kernel = null;
        try {
            x = device.allocate(4L * n, "roofline x");
            cl_mem xx = x;
            cl_kernel k = device.createKernel("axpy", "");
            kernel = k;
            LaunchShape shape = LaunchShape.of(n, localSize > 0 ? localSize
                    : LaunchShape.localSizeFor(device.info(), k));
            Cl.run("roofline setup", () -> {
                clEnqueueFillBuffer(device.queue(), y, Pointer.to(new float[] {1f}), 4, 0, 4L * n, 0, null, null);
                clEnqueueFillBuffer(device.queue(), xx, Pointer.to(new float[] {0.5f}), 4, 0, 4L * n, 0, null, null);
                clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(y));
                clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(xx));
                clSetKernelArg(k, 2, Sizeof.cl_float, Pointer.to(new float[] {1e-7f}));
            });
            return time(device, repetitions, shape, events -> Cl.run("enqueue axpy_step",
                    () -> shape.enqueue(device.queue(), k, events)));
        } finally {
            if (kernel != null) {
                clReleaseKernel(kernel);
            }
            if (x != null) {
                clReleaseMemObject(x);
            }
            clReleaseMemObject(y);
        }
    }

    private interface Launch {
        /** Enqueues one step, recording its launches' profiling events if {@code events} is set. */
        void enqueue(cl_event[] events);
    }

    private static Timing time(Device device, int repetitions, LaunchShape shape, Launch launch) {
        // Warm-up: the first launch at a shape compiles and caches a specialised kernel.
        for (int i = 0; i < 3; i++) {
            launch.enqueue(null);
        }
        finish(device);
        double[] ms = new double[repetitions];
        int launches = shape.launches();
        for (int r = 0; r < repetitions; r++) {
            cl_event[] events = new cl_event[launches];
            for (int k = 0; k < launches; k++) {
                events[k] = new cl_event();
            }
            launch.enqueue(events);
            Cl.run("clWaitForEvents", () -> clWaitForEvents(launches, events));
            // From the start of the first launch to the end of the last: the whole step.
            ms[r] = (profile(events[launches - 1], CL_PROFILING_COMMAND_END)
                    - profile(events[0], CL_PROFILING_COMMAND_START)) / 1e6;
            for (cl_event e : events) {
                clReleaseEvent(e);
            }
        }
        long start = System.nanoTime();
        for (int r = 0; r < repetitions; r++) {
            launch.enqueue(null);
        }
        finish(device);
        double wall = (System.nanoTime() - start) / 1e6 / repetitions;
        Arrays.sort(ms);
        return new Timing(ms[repetitions / 2], ms[0], wall, shape.localSize());
    }

    private static long profile(cl_event event, int what) {
        long[] value = new long[1];
        Cl.run("clGetEventProfilingInfo", () -> clGetEventProfilingInfo(event, what, Sizeof.cl_ulong,
                Pointer.to(value), null));
        return value[0];
    }

    private static void finish(Device device) {
        device.finish();
    }

    /** Times {@code repetitions} steps of the CPU reference on {@code n} elements (median ms). */
    public static double reference(OptimizerConfig config, int n, int repetitions) {
        try (Optimizer opt = Optimizer.reference(config, n)) {
            opt.writeParameters(randomValues(n, 1));
            opt.writeGradients(randomValues(n, 2));
            opt.step();
            double[] ms = new double[repetitions];
            for (int r = 0; r < repetitions; r++) {
                long start = System.nanoTime();
                opt.step();
                ms[r] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(ms);
            return ms[repetitions / 2];
        }
    }

    private static float[] randomValues(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() - 0.5);
        }
        return v;
    }
}

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
 * figure is the median of several steps timed on the device (profiling events, from the start of
 * a step's first launch to the end of its last), after warm-up; the wall time of the same number
 * of steps enqueued back to back and waited for once is reported beside it, to show the host's
 * overhead.
 */
public final class Benchmark {
    private Benchmark() {
    }

    /** Bytes per element of the roofline kernel, y += a*x: read x and y, write y. */
    public static final int ROOFLINE_BYTES_PER_ELEMENT = 12;

    /**
     * One measurement.
     *
     * @param medianMs median device time of one step
     * @param minMs fastest step
     * @param wallMsPerStep wall time per step when steps are enqueued asynchronously
     * @param localSize the work-group size used
     */
    public record Timing(double medianMs, double minMs, double wallMsPerStep, long localSize) {
        /** Effective bandwidth in GB/s (10^9 bytes) for this many bytes per element. */
        public double gbps(long bytesPerElement, long n) {
            return bytesPerElement * n / (medianMs * 1e6);
        }
    }

    /** An optimizer's step and the roofline, timed alternately so both see the same machine. */
    public record Comparison(Timing optimizer, Timing roofline) {
        /** The optimizer's effective bandwidth as a fraction of the roofline's. */
        public double rooflineFraction(OptimizerConfig config, long n) {
            return optimizer.gbps(config.bytesPerElement(), n)
                    / roofline.gbps(ROOFLINE_BYTES_PER_ELEMENT, n);
        }
    }

    /**
     * Times {@code repetitions} steps of {@code config} on {@code n} elements, alternating each
     * with a step of the roofline on as many elements.
     */
    public static Comparison compare(Device device, OptimizerConfig config, int n, int repetitions) {
        try (ClOptimizer opt = optimizerFor(device, config, n, 0);
             Roofline roofline = new Roofline(device, n, 0)) {
            Timing[] t = time(device, repetitions, new Launch[] {launch(opt), roofline});
            return new Comparison(t[0], t[1]);
        }
    }

    /**
     * As {@link #compare(Device, OptimizerConfig, int, int)}, with the {@code n} elements split
     * into {@code tensors} tensors of a {@link ParameterSet} (the last takes the remainder).
     */
    public static Comparison compare(Device device, OptimizerConfig config, int n, int tensors,
                                     int repetitions) {
        if (tensors < 1 || tensors > Math.max(1, n)) {
            throw new IllegalArgumentException("invalid tensors: " + tensors + " (must be in [1, " + n + "])");
        }
        ParameterSet.Builder builder = ParameterSet.builder().group(config);
        for (int k = 0; k < tensors; k++) {
            int size = k < tensors - 1 ? n / tensors : n - (tensors - 1) * (n / tensors);
            builder.tensor("t" + k, size);
        }
        try (ParameterSet set = builder.build(device);
             Roofline roofline = new Roofline(device, n, 0)) {
            ClOptimizer group = (ClOptimizer) set.engine(0);
            SplittableRandom random = new SplittableRandom(1);
            for (String name : set.names()) {
                float[] v = new float[set.size(name)];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (random.nextDouble() - 0.5);
                }
                set.writeParameters(name, v);
                set.writeGradients(name, v);
            }
            Launch step = new Launch() {
                @Override
                public LaunchShape shape() {
                    return group.shape();
                }

                @Override
                public void enqueue(cl_event[] events) {
                    group.launchEvents = events;
                    try {
                        set.step();
                    } finally {
                        group.launchEvents = null;
                    }
                }
            };
            Timing[] t = time(device, repetitions, new Launch[] {step, roofline});
            return new Comparison(t[0], t[1]);
        }
    }

    /** Times {@code repetitions} steps of {@code config} on {@code n} elements. */
    public static Timing optimizer(Device device, OptimizerConfig config, int n, int repetitions) {
        return optimizer(device, config, n, repetitions, 0);
    }

    static Timing optimizer(Device device, OptimizerConfig config, int n, int repetitions,
                            long localSize) {
        try (ClOptimizer opt = optimizerFor(device, config, n, localSize)) {
            return time(device, repetitions, new Launch[] {launch(opt)})[0];
        }
    }

    /** Times the in-place read-modify-write {@code y += a*x} on {@code n} elements. */
    public static Timing roofline(Device device, int n, int repetitions) {
        return roofline(device, n, repetitions, 0);
    }

    static Timing roofline(Device device, int n, int repetitions, long localSize) {
        try (Roofline roofline = new Roofline(device, n, localSize)) {
            return time(device, repetitions, new Launch[] {roofline})[0];
        }
    }

    private static ClOptimizer optimizerFor(Device device, OptimizerConfig config, int n, long localSize) {
        ClOptimizer opt = new ClOptimizer(device, config, n, localSize);
        opt.writeParameters(randomValues(n, 1));
        opt.writeGradients(randomValues(n, 2));
        return opt;
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

    /** Something that enqueues one step of its launches. */
    private interface Launch {
        LaunchShape shape();

        /** Enqueues one step, recording each launch's profiling event if {@code events} is set. */
        void enqueue(cl_event[] events);
    }

    private static Launch launch(ClOptimizer opt) {
        return new Launch() {
            @Override
            public LaunchShape shape() {
                return opt.shape();
            }

            @Override
            public void enqueue(cl_event[] events) {
                opt.launchEvents = events;
                try {
                    opt.step();
                } finally {
                    opt.launchEvents = null;
                }
            }
        };
    }

    /** The roofline kernel with its two buffers. */
    private static final class Roofline implements Launch, AutoCloseable {
        private final Device device;
        private final cl_mem y;
        private final cl_mem x;
        private final cl_kernel kernel;
        private final LaunchShape shape;

        Roofline(Device device, int n, long localSize) {
            this.device = device;
            y = device.allocate(4L * n, "roofline y");
            cl_mem xs = null;
            cl_kernel k = null;
            try {
                xs = device.allocate(4L * n, "roofline x");
                k = device.createKernel("axpy", "");
                cl_mem xx = xs;
                cl_kernel kk = k;
                Cl.run("roofline setup", () -> {
                    clEnqueueFillBuffer(device.queue(), y, Pointer.to(new float[] {1f}), 4, 0, 4L * n, 0, null, null);
                    clEnqueueFillBuffer(device.queue(), xx, Pointer.to(new float[] {0.5f}), 4, 0, 4L * n, 0, null, null);
                    clSetKernelArg(kk, 0, Sizeof.cl_mem, Pointer.to(y));
                    clSetKernelArg(kk, 1, Sizeof.cl_mem, Pointer.to(xx));
                    clSetKernelArg(kk, 2, Sizeof.cl_float, Pointer.to(new float[] {1e-7f}));
                });
                shape = LaunchShape.of(0, n, localSize > 0 ? localSize : LaunchShape.localSizeFor(device.info(), k));
            } catch (RuntimeException e) {
                if (k != null) {
                    clReleaseKernel(k);
                }
                if (xs != null) {
                    clReleaseMemObject(xs);
                }
                clReleaseMemObject(y);
                throw e;
            }
            x = xs;
            kernel = k;
        }

        @Override
        public LaunchShape shape() {
            return shape;
        }

        @Override
        public void enqueue(cl_event[] events) {
            Cl.run("enqueue axpy_step", () -> shape.enqueue(device.queue(), kernel, events));
        }

        @Override
        public void close() {
            clReleaseKernel(kernel);
            clReleaseMemObject(x);
            clReleaseMemObject(y);
        }
    }

    /** Times each launch {@code repetitions} times, alternating between them. */
    private static Timing[] time(Device device, int repetitions, Launch[] launches) {
        // Warm-up: the first launch at a shape compiles and caches a specialised kernel.
        for (int i = 0; i < 3; i++) {
            for (Launch l : launches) {
                l.enqueue(null);
            }
        }
        device.finish();
        double[][] ms = new double[launches.length][repetitions];
        for (int r = 0; r < repetitions; r++) {
            for (int k = 0; k < launches.length; k++) {
                ms[k][r] = deviceMs(launches[k]);
            }
        }
        Timing[] result = new Timing[launches.length];
        for (int k = 0; k < launches.length; k++) {
            long start = System.nanoTime();
            for (int r = 0; r < repetitions; r++) {
                launches[k].enqueue(null);
            }
            device.finish();
            double wall = (System.nanoTime() - start) / 1e6 / repetitions;
            Arrays.sort(ms[k]);
            result[k] = new Timing(ms[k][repetitions / 2], ms[k][0], wall, launches[k].shape().localSize());
        }
        return result;
    }

    /** One step timed on the device: start of its first launch to end of its last. */
    private static double deviceMs(Launch launch) {
        int count = launch.shape().launches();
        cl_event[] events = new cl_event[count];
        for (int i = 0; i < count; i++) {
            events[i] = new cl_event();
        }
        launch.enqueue(events);
        Cl.run("clWaitForEvents", () -> clWaitForEvents(count, events));
        double ms = (profile(events[count - 1], CL_PROFILING_COMMAND_END)
                - profile(events[0], CL_PROFILING_COMMAND_START)) / 1e6;
        for (cl_event e : events) {
            clReleaseEvent(e);
        }
        return ms;
    }

    private static long profile(cl_event event, int what) {
        long[] value = new long[1];
        Cl.run("clGetEventProfilingInfo", () -> clGetEventProfilingInfo(event, what, Sizeof.cl_ulong,
                Pointer.to(value), null));
        return value[0];
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

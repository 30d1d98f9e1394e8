package org.clopt.tools;

import static org.jocl.CL.*;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.clopt.Closer;
import org.clopt.Device;
import org.clopt.DeviceBuffer;
import org.clopt.GradScaler;
import org.clopt.HostMemoryException;
import org.clopt.Kernel;
import org.clopt.OpenClException;
import org.clopt.Optimizer;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Precision;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_event;

/**
 * Times optimizer steps on a device and the memory roofline they are judged against, from the
 * outside: a step is whatever {@code step()} enqueues, timed on the device between two markers
 * enqueued around it (profiling events: the end of the marker before to the end of the marker
 * after). Each figure is the median of several steps after warm-up; the wall time of the same
 * number of steps enqueued back to back and waited for once is reported beside it, to show the
 * host's overhead.
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
     */
    public record Timing(double medianMs, double minMs, double wallMsPerStep) {
        /**
         * Effective bandwidth in GB/s (10^9 bytes) for this many bytes per element.
         *
         * @param bytesPerElement bytes read and written per element per step
         * @param n the number of elements
         * @return the bandwidth of the median step
         */
        public double gbps(long bytesPerElement, long n) {
            return bytesPerElement * n / (medianMs * 1e6);
        }
    }

    /**
     * An optimizer's step and the roofline, timed alternately so both see the same machine.
     *
     * @param optimizer the optimizer's step
     * @param roofline the roofline kernel on as many elements
     */
    public record Comparison(Timing optimizer, Timing roofline) {
    }

    /**
     * Times {@code repetitions} steps of {@code config} on {@code n} elements, alternating each
     * with a step of the roofline on as many elements.
     *
     * @param device the device to time on
     * @param config the configuration to time
     * @param n the number of elements
     * @param repetitions the number of timed steps of each, after 3 of warm-up
     * @return both timings
     */
    public static Comparison compare(Device device, OptimizerConfig config, int n, int repetitions) {
        if (factored(config)) {
            return compare(device, config, n, 1, repetitions);
        }
        try (Optimizer opt = Optimizer.create(device, config, n);
             Roofline roofline = new Roofline(device, n)) {
            opt.writeParameters(randomValues(n, 1));
            opt.writeGradients(randomValues(n, 2));
            Timing[] t = time(device, repetitions, new Runnable[] {opt::step, roofline});
            return new Comparison(t[0], t[1]);
        }
    }

    /**
     * As {@link #compare(Device, OptimizerConfig, int, int)}, with the {@code n} elements split
     * into {@code tensors} tensors of a {@link ParameterSet} (the last takes the remainder).
     *
     * @param device the device to time on
     * @param config the configuration to time
     * @param n the number of elements in all
     * @param tensors the number of tensors, in [1, max(1, n)]
     * @param repetitions the number of timed steps of each, after 3 of warm-up
     * @return both timings
     * @throws IllegalArgumentException for a number of tensors out of range
     */
    public static Comparison compare(Device device, OptimizerConfig config, int n, int tensors,
                                     int repetitions) {
        try (ParameterSet set = randomSet(device, config, n, tensors);
             Roofline roofline = new Roofline(device, n)) {
            Timing[] t = time(device, repetitions, new Runnable[] {set::step, roofline});
            return new Comparison(t[0], t[1]);
        }
    }

    /**
     * Gradient clipping's cost, timed alternately: the plain step, clipping plus step, the
     * norm alone (the reduction that leaves the clip coefficient on the device) and the roofline.
     *
     * @param step the optimizer's step alone
     * @param clipAndStep {@code clipGradNorm} then the step, which reads the coefficient
     * @param norm {@code clipGradNorm} alone: one read of the gradients
     * @param roofline the roofline kernel on as many elements
     */
    public record ClipComparison(Timing step, Timing clipAndStep, Timing norm, Timing roofline) {
    }

    /**
     * Times clipping by the total gradient norm with {@code config}'s step on {@code n} elements
     * in {@code tensors} tensors of a set, as {@link #compare(Device, OptimizerConfig, int, int, int)}.
     * Each timed run starts from fresh gradients, as a training step does.
     *
     * @param device the device to time on
     * @param config the configuration to time
     * @param n the number of elements in all
     * @param tensors the number of tensors, in [1, max(1, n)]
     * @param maxNorm the clipping's max_norm
     * @param normType the clipping's norm_type (2, 1 or infinity)
     * @param repetitions the number of timed runs of each, after 3 of warm-up
     * @return the four timings
     * @throws IllegalArgumentException for a number of tensors out of range or invalid clipping
     */
    public static ClipComparison compareClipping(Device device, OptimizerConfig config, int n, int tensors,
                                                 double maxNorm, double normType, int repetitions) {
        try (ParameterSet set = randomSet(device, config, n, tensors);
             Roofline roofline = new Roofline(device, n)) {
            List<String> names = set.names();
            Runnable fresh = () -> names.forEach(set::markGradient);
            Runnable step = () -> {
                fresh.run();
                set.step();
            };
            Runnable clipAndStep = () -> {
                fresh.run();
                set.clipGradNorm(maxNorm, normType, false);
                set.step();
            };
            Runnable norm = () -> {
                fresh.run();
                set.clipGradNorm(maxNorm, normType, false);
            };
            Timing[] t = time(device, repetitions, new Runnable[] {step, clipAndStep, norm, roofline});
            return new ClipComparison(t[0], t[1], t[2], t[3]);
        }
    }

    /**
     * The step of {@code config} in each precision, on {@code n} elements in {@code tensors}
     * tensors of a set, timed alternately with each other and with the roofline; with
     * {@code scaled}, each precision also stepped through a {@link GradScaler} (fresh gradients,
     * {@code step()}: the check for Inf and NaN, its 4-byte read and the step; {@code update()}),
     * timed alternately with the rest.
     *
     * @param device the device to time on
     * @param config the configuration to time
     * @param n the number of elements in all
     * @param tensors the number of tensors, in [1, max(1, n)]
     * @param precisions the precisions to time
     * @param scaled whether to time the scaled step too
     * @param repetitions the number of timed steps of each, after 3 of warm-up
     * @return a timing per precision, then (with {@code scaled}) per precision with the scaler,
     *     then the roofline's
     * @throws IllegalArgumentException for a number of tensors out of range, or a precision the
     *     algorithm does not support
     */
    public static Timing[] comparePrecisions(Device device, OptimizerConfig config, int n, int tensors,
                                             List<Precision> precisions, boolean scaled, int repetitions) {
        try (Closer sets = new Closer()) {
            int modes = precisions.size();
            Runnable[] steps = new Runnable[(scaled ? 2 : 1) * modes + 1];
            for (int k = 0; k < modes; k++) {
                steps[k] = sets.add(randomSet(device, config, precisions.get(k), n, tensors))::step;
                if (scaled) {
                    ParameterSet set = sets.add(randomSet(device, config, precisions.get(k), n, tensors));
                    // A scale of 1: the random gradients stay finite, so no step is skipped.
                    GradScaler scaler = GradScaler.builder().initScale(1).build(set);
                    List<String> names = set.names();
                    steps[modes + k] = () -> {
                        names.forEach(set::markGradient);
                        scaler.step();
                        scaler.update();
                    };
                }
            }
            Roofline roofline = sets.add(new Roofline(device, n));
            steps[steps.length - 1] = roofline;
            return time(device, repetitions, steps);
        }
    }

    /**
     * Times steps of {@code config} with each work-group size (0: the tuned size or the rule) on
     * a set of its own, alternately with each other and the roofline, round by round.
     *
     * @return one timing per size, then the roofline's
     */
    public static Timing[] compareWorkGroupSizes(Device device, OptimizerConfig config, int n, long[] sizes,
                                                 int repetitions) {
        try (Closer sets = new Closer()) {
            Runnable[] steps = new Runnable[sizes.length + 1];
            for (int k = 0; k < sizes.length; k++) {
                steps[k] = sets.add(randomSet(device, config, Precision.FP32, n, 1, false, sizes[k]))::step;
            }
            steps[sizes.length] = sets.add(new Roofline(device, n));
            return time(device, repetitions, steps);
        }
    }

    /**
     * Times steps of each configuration (the same algorithm with other state types, say) on its
     * own set of {@code n} elements in {@code tensors} tensors, alternately with each other and
     * the roofline, round by round.
     *
     * @return one timing per configuration, then the roofline's
     */
    public static Timing[] compareConfigs(Device device, List<OptimizerConfig> configs, int n, int tensors,
                                          int repetitions) {
        try (Closer sets = new Closer()) {
            Runnable[] steps = new Runnable[configs.size() + 1];
            for (int k = 0; k < configs.size(); k++) {
                steps[k] = sets.add(randomSet(device, configs.get(k), Precision.FP32, n, tensors))::step;
            }
            steps[configs.size()] = sets.add(new Roofline(device, n));
            return time(device, repetitions, steps);
        }
    }

    /**
     * The cost of gradients that come from Java arrays, timed alternately on one set: wall time
     * from the first host write to the step's end ({@link Device#finish()}), median and fastest
     * of the repetitions, mean in {@link Timing#wallMsPerStep()}.
     *
     * @param onDevice the step alone, with the gradients already on the device
     * @param written {@link ParameterSet#writeGradients(String, float[])} for every tensor, then the step
     * @param inPlace {@code put} into {@link ParameterSet#gradientBuffer} for every tensor, then the step
     * @param mappedOnly {@code gradientBuffer} for every tensor without a write, then the step: the
     *     cost of handing the gradients to the host and back, which a backward pass that writes
     *     into the buffers itself pays instead of a copy
     */
    public record HostGradientComparison(Timing onDevice, Timing written, Timing inPlace, Timing mappedOnly) {
    }

    /**
     * Times a step of {@code config} on {@code n} elements split into {@code tensors} tensors
     * whose gradients are on the device already, against the same step after new gradients are
     * copied from Java arrays: by {@code writeGradients} and into {@code gradientBuffer}.
     *
     * @param device the device to time on
     * @param config the configuration to time
     * @param n the number of elements in all
     * @param tensors the number of tensors, in [1, max(1, n)]
     * @param repetitions the number of timed rounds of each, after 3 of warm-up
     * @return the four timings
     * @throws IllegalArgumentException for a number of tensors out of range
     * @throws IllegalStateException when the device cannot hand out its gradients
     *     ({@link ParameterSet#gradientBuffer})
     */
    public static HostGradientComparison compareHostGradients(Device device, OptimizerConfig config, int n,
                                                              int tensors, int repetitions) {
        try (ParameterSet set = randomSet(device, config, Precision.FP32, n, tensors, true)) {
            List<String> names = set.names();
            float[][] gradients = new float[names.size()][];
            for (int k = 0; k < gradients.length; k++) {
                gradients[k] = randomValues(set.size(names.get(k)), 3 + k);
            }
            Runnable[] rounds = {
                set::step,
                () -> {
                    for (int k = 0; k < gradients.length; k++) {
                        set.writeGradients(names.get(k), gradients[k]);
                    }
                    set.step();
                },
                () -> {
                    for (int k = 0; k < gradients.length; k++) {
                        set.gradientBuffer(names.get(k)).put(gradients[k]);
                    }
                    set.step();
                },
                () -> {
                    for (String name : names) {
                        set.gradientBuffer(name);
                    }
                    set.step();
                },
            };
            for (int i = 0; i < 3; i++) {
                for (Runnable round : rounds) {
                    round.run();
                }
            }
            device.finish();
            double[][] ms = new double[rounds.length][repetitions];
            for (int r = 0; r < repetitions; r++) {
                for (int k = 0; k < rounds.length; k++) {
                    long start = System.nanoTime();
                    rounds[k].run();
                    device.finish();
                    ms[k][r] = (System.nanoTime() - start) / 1e6;
                }
            }
            Timing[] t = new Timing[rounds.length];
            for (int k = 0; k < rounds.length; k++) {
                double mean = Arrays.stream(ms[k]).average().orElse(0);
                Arrays.sort(ms[k]);
                t[k] = new Timing(ms[k][repetitions / 2], ms[k][0], mean);
            }
            return new HostGradientComparison(t[0], t[1], t[2], t[3]);
        }
    }

    /** A set of {@code tensors} tensors holding {@code n} random parameters and gradients. */
    /**
     * Whether the algorithm's state follows the tensor's shape (adafactor factors matrices): it is
     * then timed on matrices, what it is for ({@link Conformance.Shape#MATRIX}: 2^24 elements are
     * 4096 x 4096).
     */
    static boolean factored(OptimizerConfig config) {
        return !config.stateKeys(new int[] {2, 2}).equals(config.stateKeys(new int[] {4}));
    }

    /** The shape a timed tensor of n elements has: see {@link #factored}. */
    private static int[] shape(OptimizerConfig config, int n) {
        return factored(config) ? Conformance.Shape.MATRIX.of(n) : new int[] {n};
    }

    private static ParameterSet randomSet(Device device, OptimizerConfig config, int n, int tensors) {
        return randomSet(device, config, Precision.FP32, n, tensors);
    }

    private static ParameterSet randomSet(Device device, OptimizerConfig config, Precision precision, int n,
                                          int tensors) {
        return randomSet(device, config, precision, n, tensors, false);
    }

    private static ParameterSet randomSet(Device device, OptimizerConfig config, Precision precision, int n,
                                          int tensors, boolean hostGradients) {
        return randomSet(device, config, precision, n, tensors, hostGradients, 0);
    }

    static ParameterSet randomSet(Device device, OptimizerConfig config, Precision precision, int n,
                                  int tensors, boolean hostGradients, long workGroupSize) {
        if (tensors < 1 || tensors > Math.max(1, n)) {
            throw new IllegalArgumentException("invalid tensors: " + tensors + " (must be in [1, " + n + "])");
        }
        ParameterSet.Builder builder = ParameterSet.builder().hostGradients(hostGradients)
                .workGroupSize(workGroupSize).group(config, precision);
        for (int k = 0; k < tensors; k++) {
            int size = k < tensors - 1 ? n / tensors : n - (tensors - 1) * (n / tensors);
            builder.tensor("t" + k, shape(config, size));
        }
        ParameterSet set = builder.build(device);
        try {
            SplittableRandom random = new SplittableRandom(1);
            for (String name : set.names()) {
                float[] v = new float[set.size(name)];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (random.nextDouble() - 0.5);
                }
                set.writeParameters(name, v);
                set.writeGradients(name, v);
            }
            return set;
        } catch (RuntimeException e) {
            set.close();
            throw e;
        }
    }

    /**
     * Times the in-place read-modify-write {@code y += a*x} on {@code n} elements.
     *
     * @param device the device to time on
     * @param n the number of elements
     * @param repetitions the number of timed runs, after 3 of warm-up
     * @return the timing
     */
    public static Timing roofline(Device device, int n, int repetitions) {
        try (Roofline roofline = new Roofline(device, n)) {
            return time(device, repetitions, new Runnable[] {roofline})[0];
        }
    }

    /**
     * Times {@code repetitions} steps of the CPU reference on {@code n} elements (median ms).
     *
     * @param config the configuration to time
     * @param n the number of elements
     * @param repetitions the number of timed steps, after one of warm-up; at least 1
     * @return the median step time in milliseconds
     */
    public static double reference(OptimizerConfig config, int n, int repetitions) {
        try (ParameterSet opt = ParameterSet.builder().group(config).tensor("t", shape(config, n)).buildReference()) {
            opt.writeParameters("t", randomValues(n, 1));
            opt.writeGradients("t", randomValues(n, 2));
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

    /** The roofline kernel ({@code kernels/tools/axpy.cl}) with its two buffers. */
    private static final class Roofline implements Runnable, AutoCloseable {
        private final int n;
        private final Closer resources = new Closer();
        private final Kernel kernel;

        Roofline(Device device, int n) {
            this.n = n;
            try {
                DeviceBuffer y = resources.add(DeviceBuffer.allocate(device, 4L * Math.max(1, n), "roofline y"));
                DeviceBuffer x = resources.add(DeviceBuffer.allocate(device, 4L * Math.max(1, n), "roofline x"));
                y.fill(1f);
                x.fill(0.5f);
                kernel = resources.add(Kernel.fromClasspath(device, "tools/axpy", "axpy_step", ""));
                kernel.arg(0, y).arg(1, x).arg(2, 1e-7f);
            } catch (RuntimeException e) {
                resources.closeQuietlyAfter(e);
                throw e;
            }
        }

        @Override
        public void run() {
            kernel.launch(0, n);
        }

        @Override
        public void close() {
            resources.close();
        }
    }

    /** Times each step {@code repetitions} times, alternating between them. */
    private static Timing[] time(Device device, int repetitions, Runnable[] steps) {
        // Warm-up: the first launch at a shape compiles and caches a specialised kernel.
        for (int i = 0; i < 3; i++) {
            for (Runnable step : steps) {
                step.run();
            }
        }
        device.finish();
        double[][] ms = new double[steps.length][repetitions];
        for (int r = 0; r < repetitions; r++) {
            for (int k = 0; k < steps.length; k++) {
                ms[k][r] = deviceMs(device, steps[k]);
            }
        }
        Timing[] result = new Timing[steps.length];
        for (int k = 0; k < steps.length; k++) {
            long start = System.nanoTime();
            for (int r = 0; r < repetitions; r++) {
                steps[k].run();
            }
            device.finish();
            double wall = (System.nanoTime() - start) / 1e6 / repetitions;
            Arrays.sort(ms[k]);
            result[k] = new Timing(ms[k][repetitions / 2], ms[k][0], wall);
        }
        return result;
    }

    /** One step timed on the device, between a marker enqueued before it and one after. */
    private static double deviceMs(Device device, Runnable step) {
        cl_event before = new cl_event();
        cl_event after = new cl_event();
        // Only an event that a marker filled in is released: the failure that stopped the
        // timing must not be replaced by one from releasing an empty event.
        boolean haveBefore = false;
        boolean haveAfter = false;
        try {
            clEnqueueMarkerWithWaitList(device.queue(), 0, null, before);
            haveBefore = true;
            step.run();
            clEnqueueMarkerWithWaitList(device.queue(), 0, null, after);
            haveAfter = true;
            clWaitForEvents(1, new cl_event[] {after});
            return (profile(after) - profile(before)) / 1e6;
        } catch (CLException e) {
            throw new OpenClException("timing a step failed: " + stringFor_errorCode(e.getStatus()),
                    e.getStatus(), e);
        } finally {
            if (haveAfter) {
                clReleaseEvent(after);
            }
            if (haveBefore) {
                clReleaseEvent(before);
            }
        }
    }

    private static long profile(cl_event event) {
        long[] value = new long[1];
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, Sizeof.cl_ulong, Pointer.to(value), null);
        return value[0];
    }

    private static float[] randomValues(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v;
        try {
            v = new float[n];
        } catch (OutOfMemoryError e) {
            throw new HostMemoryException("the benchmark's input of " + n + " floats needs "
                    + String.format(Locale.ROOT, "%.1f MiB", n / 262144.0) + " of Java heap, more than is free of the "
                    + String.format(Locale.ROOT, "%.1f MiB", Runtime.getRuntime().maxMemory() / 1048576.0)
                    + " it may use (raise it with -Xmx)", e);
        }
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() - 0.5);
        }
        return v;
    }
}

package org.clopt;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * One complete optimizer step per invocation (enqueue, then clFinish) for every algorithm and
 * size, with the bytes it must move counted beside it. Run with
 * {@code mvn -q test-compile exec:exec@jmh}; see the README.
 *
 * <p>Throughput mode: {@code step} is steps per second, and the {@code bytes} counter is bytes
 * moved per second, so GB/s is {@code bytes} / 10^9 and ms per step is 1000 / {@code step}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class StepBenchmark {
    /** A registry name; {@code all}, expanded by {@link #main}, stands for every one. */
    @Param({ALL})
    public String algorithm;

    private static final String ALL = "all";

    @Param({"1048576", "16777216"})
    public int size;

    private Device device;
    private Optimizer optimizer;
    private long bytesPerStep;

    /** Bytes moved, reported by JMH as a rate next to the step rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Traffic {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (algorithm.equals(ALL)) {
            throw new IllegalStateException("run org.clopt.StepBenchmark's main, which expands "
                    + "algorithm=all to the registry's names");
        }
        OptimizerConfig config = OptimizerConfig.of(algorithm, Map.of());
        device = Device.open();
        optimizer = Optimizer.create(device, config, size);
        SplittableRandom random = new SplittableRandom(1);
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) (random.nextDouble() - 0.5);
        }
        optimizer.writeParameters(values);
        optimizer.writeGradients(values);
        bytesPerStep = (long) config.bytesPerElement() * size;
    }

    /**
     * Runs JMH with the given command-line options; the algorithms default to every row of the
     * registry, so a new algorithm is measured without touching this file.
     */
    public static void main(String[] args) throws Exception {
        CommandLineOptions options = new CommandLineOptions(args);
        ChainedOptionsBuilder builder = new OptionsBuilder().parent(options);
        if (options.getParameter("algorithm").orElse(List.of(ALL)).contains(ALL)) {
            builder.param("algorithm", Algorithms.NAMES.toArray(String[]::new));
        }
        new Runner(builder.build()).run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        optimizer.close();
        device.close();
    }

    @Benchmark
    public void step(Traffic traffic) {
        optimizer.step();
        device.finish();
        traffic.bytes += bytesPerStep;
    }
}

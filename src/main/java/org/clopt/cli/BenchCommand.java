package org.clopt.cli;

import com.google.gson.Gson;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.clopt.Algorithms;
import org.clopt.Device;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Precision;
import org.clopt.tools.Benchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bench}: each algorithm's fused step against the memory roofline of the same device. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Times the fused step of each chosen optimizer on the OpenCL device and, in "
            + "the same run and at the same size, the in-place roofline y += a*x (12 bytes per "
            + "element). Effective bandwidth counts the bytes the algorithm must move with the "
            + "options in force: 12 for p and grad, +8 per state array the options keep (20 for "
            + "momentum, 28 for adam or rprop, 36 for adam with amsgrad).",
            "Times are medians of device-timed launches after warm-up; wall time per step "
                + "(steps enqueued back to back) is checked beside them. The CPU reference "
                + "(single thread) is timed on the same data."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--optimizer", paramLabel = "NAME[,NAME...]|all", defaultValue = "all",
            completionCandidates = AlgorithmNames.class,
            description = "One or more, comma-separated, of: ${COMPLETION-CANDIDATES}; or all (default).")
    String optimizer;

    @Option(names = "--size", paramLabel = "N", defaultValue = "16777216",
            description = "Elements per step (default 2^24).")
    int size;

    @Option(names = "--tensors", paramLabel = "K", defaultValue = "1",
            description = "Split N into K equal tensors of one parameter set (the last takes the "
                + "remainder); default 1, a single vector.")
    int tensors;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "A hyperparameter for every chosen optimizer; repeatable.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--repetitions", paramLabel = "R", defaultValue = "50",
            description = "Timed steps per measurement (default 50).")
    int repetitions;

    @Option(names = "--precision", paramLabel = "MODE", split = ",",
            description = "Time each optimizer in these precisions, alternately with each other and the "
                + "roofline: fp32, bf16, fp16 (with fp32 master weights), bf16-no-master, fp16-no-master, "
                + "bf16-stochastic; or all. Default: fp32 alone.")
    List<String> precisionNames = new ArrayList<>();

    @Option(names = "--state-dtype", paramLabel = "TYPE", split = ",",
            description = "Time each optimizer with these state types (fp32, bf16, int8), alternately with each "
                    + "other and the roofline, on the same size: the effect of lean state on one run.")
    List<String> stateDtypes = new ArrayList<>();

    @Option(names = "--grad-scaler", description = "With --precision: also time each mode stepped through a "
            + "GradScaler (the check for Inf and NaN, its 4-byte read, the step).")
    boolean gradScaler;

    @Option(names = "--host-gradients", description = "Time, alternately, each optimizer's step with the "
            + "gradients already on the device, after writeGradients from a Java array per tensor, and after "
            + "a put of the same arrays into gradientBuffer (on devices that share memory with the host), "
            + "and after gradientBuffer without a write (what a backward pass writing there pays); wall "
            + "times to the step's end, as ratios to the first.")
    boolean hostGradients;

    @Option(names = "--sweep", description = "Time every size 2^FROM, 2^(FROM+1) ... 2^TO (see --sweep-range) "
            + "instead of one --size, each with the roofline at that size; sizes served by a cache are marked.")
    boolean sweep;

    @Option(names = "--sweep-range", paramLabel = "FROM:TO", defaultValue = "10:26",
            description = "The powers of two --sweep runs over (default ${DEFAULT-VALUE}).")
    String sweepRange;

    @Option(names = "--plot", paramLabel = "FILE.png",
            description = "With --sweep: a PNG of GB/s against N per optimizer, with the roofline.")
    java.nio.file.Path plot;

    @Option(names = "--json", description = "One JSON object per optimizer per line on stdout.")
    boolean json;

    @Mixin
    DeviceOption deviceOption;

    @Mixin
    ClipOptions clip;

    @Override
    public Integer call() throws java.io.IOException {
        List<OptimizerConfig> configs = configs();
        if (size < 1) {
            throw new BadInputException("--size " + size + ": must be >= 1");
        }
        if (tensors < 1 || tensors > size) {
            throw new BadInputException("--tensors " + tensors + ": must be in [1, N = " + size + "]");
        }
        if (repetitions < 3) {
            throw new BadInputException("--repetitions " + repetitions + ": must be >= 3");
        }
        clip.check();
        List<Precision> precisions = precisions();
        int[] range = sweepRange();
        if (plot != null && !sweep) {
            throw new BadInputException("--plot: needs --sweep");
        }
        if (sweep && (!precisionNames.isEmpty() || clip.enabled() || hostGradients)) {
            throw new BadInputException("--sweep: cannot be combined with --precision, --clip-grad-norm or "
                    + "--host-gradients");
        }
        if (!stateDtypes.isEmpty() && (sweep || !precisionNames.isEmpty() || clip.enabled() || hostGradients
                || settings.containsKey("state_dtype"))) {
            throw new BadInputException("--state-dtype: cannot be combined with --sweep, --precision, "
                    + "--clip-grad-norm, --host-gradients or --set state_dtype");
        }
        // Each optimizer with each state type, made now: a bad one is refused before any timing.
        List<List<OptimizerConfig>> variants = new ArrayList<>();
        for (OptimizerConfig config : stateDtypes.isEmpty() ? List.<OptimizerConfig>of() : configs) {
            List<OptimizerConfig> of = new ArrayList<>();
            for (String type : stateDtypes) {
                try {
                    of.add(config.with("state_dtype", type.trim()));
                } catch (IllegalArgumentException e) {
                    throw new BadInputException("--state-dtype: " + config.algorithm() + ": " + e.getMessage(), e);
                }
            }
            variants.add(of);
        }
        if (gradScaler && precisionNames.isEmpty()) {
            throw new BadInputException("--grad-scaler: needs --precision");
        }
        if (!precisionNames.isEmpty() && clip.enabled()) {
            throw new BadInputException("--precision: cannot be combined with --clip-grad-norm (time them apart)");
        }
        if (hostGradients && (!precisionNames.isEmpty() || clip.enabled())) {
            throw new BadInputException("--host-gradients: cannot be combined with --precision or"
                    + " --clip-grad-norm (time them apart)");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        try (Device device = deviceOption.open();
             ProgressBar progress = Progress.bar(spec, "bench", configs.size() * 2 + 1)) {
            if (hostGradients) {
                return benchHostGradients(device, configs, progress, out);
            }
            if (!precisionNames.isEmpty()) {
                return benchPrecisions(device, configs, precisions, progress, out);
            }
            if (!stateDtypes.isEmpty()) {
                return benchStateDtypes(device, variants, progress, out);
            }
            if (sweep) {
                return benchSweep(device, configs, range, progress, out);
            }
            List<Double> rooflines = new ArrayList<>();
            warmUp(device, progress, size, repetitions);
            for (OptimizerConfig config : configs) {
                // Each step alternates with a roofline step, so drift in the machine's speed
                // during the run affects both sides of the ratio alike.
                Progress.say(progress, config.algorithm());
                Benchmark.Timing t;
                Benchmark.Timing roofline;
                Benchmark.ClipComparison clipped = null;
                if (clip.enabled()) {
                    clipped = Benchmark.compareClipping(device, config, size, tensors, clip.maxNorm,
                            clip.normType(), repetitions);
                    t = clipped.step();
                    roofline = clipped.roofline();
                } else {
                    Benchmark.Comparison c = tensors == 1
                            ? Benchmark.compare(device, config, size, repetitions)
                            : Benchmark.compare(device, config, size, tensors, repetitions);
                    t = c.optimizer();
                    roofline = c.roofline();
                }
                double rooflineGbps = roofline.gbps(Benchmark.ROOFLINE_BYTES_PER_ELEMENT, size);
                rooflines.add(rooflineGbps);
                progress.step();
                double referenceMs = Benchmark.reference(config, size, Math.min(repetitions, 5));
                progress.step();
                double gbps = t.gbps(config.bytesPerElement(), size);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("optimizer", config.algorithm());
                row.put("n", size);
                row.put("tensors", tensors);
                row.put("device", device.toString());
                row.put("median_ms", round(t.medianMs()));
                row.put("min_ms", round(t.minMs()));
                row.put("wall_ms_per_step", round(t.wallMsPerStep()));
                row.put("bytes_per_element", config.bytesPerElement());
                row.put("state_bytes_per_element", config.stateBytesPerElement());
                row.put("gbps", round(gbps));
                row.put("roofline_gbps", round(rooflineGbps));
                row.put("roofline_fraction", round(gbps / rooflineGbps));
                row.put("melems_per_s", round(size / (t.medianMs() * 1e3)));
                row.put("reference_median_ms", round(referenceMs));
                row.put("speedup_over_reference", round(referenceMs / t.medianMs()));
                ParameterSet.WorkGroups wg = workGroups(device, config);
                row.put("work_group_size", wg.size());
                row.put("launch", wg.size() == 0 ? "own" : wg.tuned() ? "tuned" : "rule");
                if (clipped != null) {
                    // Clipping adds one read of the gradients (4 bytes per element) to the step.
                    double normGbps = clipped.norm().gbps(4, size);
                    row.put("clip_step_median_ms", round(clipped.clipAndStep().medianMs()));
                    row.put("clip_step_ratio", round(clipped.clipAndStep().medianMs() / t.medianMs()));
                    row.put("clip_step_ratio_of_bytes", round((config.bytesPerElement() + 4.0) / config.bytesPerElement()));
                    row.put("norm_median_ms", round(clipped.norm().medianMs()));
                    row.put("norm_gbps", round(normGbps));
                    row.put("norm_roofline_fraction", round(normGbps / rooflineGbps));
                    // The norm only reads: against the reads of the roofline (8 of its 12 bytes).
                    row.put("norm_roofline_read_fraction", round(normGbps / (rooflineGbps * 8 / 12)));
                }
                row.put("hyperparameters", config.hyperparameters());
                rows.add(row);
            }
            Progress.say(progress, "done");
            print(out, device, rooflines, rows);
        }
        return 0;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        int m = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    /** The exponents of --sweep-range, checked. */
    private int[] sweepRange() {
        String[] parts = sweepRange.split(":", -1);
        try {
            int from = Integer.parseInt(parts[0].trim());
            int to = Integer.parseInt(parts[parts.length - 1].trim());
            if (parts.length == 2 && from >= 0 && from <= to && to <= 30) {
                return new int[] {from, to};
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadInputException("--sweep-range " + sweepRange + ": must be FROM:TO, powers of two with "
                + "0 <= FROM <= TO <= 30");
    }

    /**
     * Each optimizer at every size of the sweep, alternately with the roofline at that size. A
     * size is cache-bound when its working set (every array the step touches) fits in the
     * device's reported global memory cache, or, on a device that reports none (POCL's CPU
     * device), when its roofline runs more than 1.2 times faster than at the largest size.
     */
    private int benchSweep(Device device, List<OptimizerConfig> configs, int[] range, ProgressBar progress,
                           PrintWriter out) throws java.io.IOException {
        List<SweepPlot.Point> points = new ArrayList<>();
        List<double[]> times = new ArrayList<>();
        long cache = device.globalMemoryCacheBytes();
        warmUp(device, progress, 1 << range[1], 5);
        for (OptimizerConfig config : configs) {
            Progress.say(progress, config.algorithm());
            for (int e = range[0]; e <= range[1]; e++) {
                int n = 1 << e;
                // Enough steps to time: many at small sizes, where one takes microseconds.
                int reps = (int) Math.max(repetitions, Math.min(2000, (1L << 24) / n * repetitions / 8));
                Benchmark.Comparison c = Benchmark.compare(device, config, n, reps);
                double gbps = c.optimizer().gbps(config.bytesPerElement(), n);
                double roof = c.roofline().gbps(Benchmark.ROOFLINE_BYTES_PER_ELEMENT, n);
                long workingSet = (long) config.bytesPerElement() * n;
                points.add(new SweepPlot.Point(config.algorithm(), n, gbps, roof, cache > 0 && workingSet <= cache));
                times.add(new double[] {c.optimizer().medianMs(), c.optimizer().wallMsPerStep(),
                    config.bytesPerElement()});
            }
            progress.step();
            progress.step();
        }
        // The roofline of each size: the median of its measurements beside every optimizer.
        Map<Long, Double> roof = new LinkedHashMap<>();
        for (int e = range[0]; e <= range[1]; e++) {
            long n = 1L << e;
            roof.put(n, median(points.stream().filter(p -> p.n() == n).mapToDouble(SweepPlot.Point::rooflineGbps)
                    .toArray()));
        }
        if (cache == 0) {
            double largest = roof.get(1L << range[1]);
            points.replaceAll(p -> new SweepPlot.Point(p.optimizer(), p.n(), p.gbps(), p.rooflineGbps(),
                    roof.get(p.n()) > 1.2 * largest));
        }
        Progress.say(progress, "done");
        String caption = device + ", N = 2^" + range[0] + " to 2^" + range[1];
        if (plot != null) {
            try {
                SweepPlot.write(plot, points, roof, caption);
            } catch (java.io.IOException e) {
                throw new java.io.IOException("--plot " + plot + ": " + e.getMessage(), e);
            }
        }
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < points.size(); i++) {
                SweepPlot.Point p = points.get(i);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("optimizer", p.optimizer());
                row.put("n", p.n());
                row.put("device", device.toString());
                row.put("median_ms", round(times.get(i)[0]));
                row.put("wall_ms_per_step", round(times.get(i)[1]));
                row.put("bytes_per_element", (int) times.get(i)[2]);
                row.put("gbps", round(p.gbps()));
                row.put("roofline_gbps", round(p.rooflineGbps()));
                row.put("roofline_fraction", round(p.gbps() / p.rooflineGbps()));
                row.put("cache_bound", p.cacheBound());
                rows.add(row);
            }
            return printJson(out, rows);
        }
        out.printf(Locale.ROOT, "device: %s%ncache-bound (marked 'cache'): %s%n%n", device, cache > 0
                ? "the working set fits in the device's " + cache + "-byte global memory cache"
                : "the device reports no cache; the roofline runs over 1.2x its speed at the largest size");
        out.printf(Locale.ROOT, "%-10s %10s %10s %9s %9s %8s%n", "optimizer", "N", "ms/step", "GB/s", "roofline",
                "% roof");
        for (int i = 0; i < points.size(); i++) {
            out.println(SweepPlot.row(points.get(i), times.get(i)[0]));
        }
        if (plot != null) {
            out.println("wrote " + plot);
        }
        out.flush();
        return 0;
    }

    /** One JSON object per row, a line each; the exit code. */
    private static int printJson(PrintWriter out, List<Map<String, Object>> rows) {
        Gson gson = new Gson();
        rows.forEach(r -> out.println(gson.toJson(r)));
        out.flush();
        return 0;
    }

    /** A first, discarded measurement lets the machine reach its steady speed. */
    private static void warmUp(Device device, ProgressBar progress, int n, int repetitions) {
        Progress.say(progress, "warm-up");
        Benchmark.roofline(device, n, repetitions);
        progress.step();
    }

    private List<Precision> precisions() {
        return PrecisionOptions.modes(precisionNames);
    }

    /** Each optimizer's step with gradients on the device, from writeGradients and from gradientBuffer. */
    private int benchHostGradients(Device device, List<OptimizerConfig> configs, ProgressBar progress,
                                   PrintWriter out) {
        List<Map<String, Object>> rows = new ArrayList<>();
        progress.step();
        for (OptimizerConfig config : configs) {
            Progress.say(progress, config.algorithm());
            Benchmark.HostGradientComparison c;
            try {
                c = Benchmark.compareHostGradients(device, config, size, tensors, repetitions);
            } catch (IllegalStateException e) {
                throw new BadInputException("--host-gradients: " + e.getMessage(), e);
            }
            progress.step();
            progress.step();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("optimizer", config.algorithm());
            row.put("n", size);
            row.put("tensors", tensors);
            row.put("device", device.toString());
            row.put("on_device_median_ms", round(c.onDevice().medianMs()));
            row.put("write_gradients_median_ms", round(c.written().medianMs()));
            row.put("write_gradients_ratio", round(c.written().medianMs() / c.onDevice().medianMs()));
            row.put("gradient_buffer_median_ms", round(c.inPlace().medianMs()));
            row.put("gradient_buffer_ratio", round(c.inPlace().medianMs() / c.onDevice().medianMs()));
            row.put("mapped_only_median_ms", round(c.mappedOnly().medianMs()));
            row.put("mapped_only_ratio", round(c.mappedOnly().medianMs() / c.onDevice().medianMs()));
            row.put("hyperparameters", config.hyperparameters());
            rows.add(row);
        }
        Progress.say(progress, "done");
        if (json) {
            return printJson(out, rows);
        }
        out.printf(Locale.ROOT, "device: %s%nwall time from the first gradient written to the step's end, median"
                + " of %d rounds timed alternately%n%n", device, repetitions);
        out.printf(Locale.ROOT, "%-10s %10s %7s %12s %16s %7s %16s %7s %12s %7s%n", "optimizer", "n", "tensors",
                "on device ms", "writeGradients", "ratio", "gradientBuffer", "ratio", "no copy", "ratio");
        for (Map<String, Object> r : rows) {
            out.printf(Locale.ROOT, "%-10s %10d %7d %12.3f %16.3f %7.2f %16.3f %7.2f %12.3f %7.2f%n",
                    r.get("optimizer"), r.get("n"), r.get("tensors"), r.get("on_device_median_ms"),
                    r.get("write_gradients_median_ms"), r.get("write_gradients_ratio"),
                    r.get("gradient_buffer_median_ms"), r.get("gradient_buffer_ratio"),
                    r.get("mapped_only_median_ms"), r.get("mapped_only_ratio"));
        }
        out.flush();
        return 0;
    }

    /**
     * Each optimizer in each precision, timed alternately with each other and the roofline;
     * bytes per element counted for the precision.
     */
    private int benchPrecisions(Device device, List<OptimizerConfig> configs, List<Precision> precisions,
                                ProgressBar progress, PrintWriter out) {
        List<Map<String, Object>> rows = new ArrayList<>();
        List<Double> rooflines = new ArrayList<>();
        warmUp(device, progress, size, repetitions);
        for (OptimizerConfig config : configs) {
            Progress.say(progress, config.algorithm());
            // lamb rounds to nearest only: it has no stochastic mode.
            List<Precision> modes = precisions.stream()
                    .filter(p -> p.supports(config)).toList();
            Benchmark.Timing[] t = Benchmark.comparePrecisions(device, config, size, tensors, modes, gradScaler,
                    repetitions);
            double rooflineGbps = t[t.length - 1].gbps(Benchmark.ROOFLINE_BYTES_PER_ELEMENT, size);
            rooflines.add(rooflineGbps);
            progress.step();
            progress.step();
            for (int k = 0; k < t.length - 1; k++) {
                Precision mode = modes.get(k % modes.size());
                boolean scaled = k >= modes.size();
                // The scaler's check reads the gradients once more: 4 or 2 bytes per element.
                int bytes = mode.bytesPerElement(config) + (scaled ? mode.dtype().bytes() : 0);
                double gbps = t[k].gbps(bytes, size);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("optimizer", config.algorithm());
                row.put("precision", mode.shortName() + (scaled ? "+scaler" : ""));
                row.put("n", size);
                row.put("tensors", tensors);
                row.put("device", device.toString());
                row.put("median_ms", round(t[k].medianMs()));
                row.put("min_ms", round(t[k].minMs()));
                row.put("wall_ms_per_step", round(t[k].wallMsPerStep()));
                row.put("bytes_per_element", bytes);
                row.put("gbps", round(gbps));
                row.put("roofline_gbps", round(rooflineGbps));
                row.put("roofline_fraction", round(gbps / rooflineGbps));
                row.put("time_vs_first", round(t[k].medianMs() / t[0].medianMs()));
                if (scaled) {
                    row.put("time_vs_unscaled", round(t[k].medianMs() / t[k - modes.size()].medianMs()));
                }
                row.put("hyperparameters", config.hyperparameters());
                rows.add(row);
            }
        }
        Progress.say(progress, "done");
        if (json) {
            return printJson(out, rows);
        }
        double[] sorted = rooflines.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        out.printf(Locale.ROOT, "device: %s%nroofline y += a*x at N = %d: %.1f to %.1f GB/s over the run, timed "
                + "alternately with each optimizer's steps in every precision%n%n", device, size, sorted[0],
                sorted[sorted.length - 1]);
        out.printf(Locale.ROOT, "%-10s %-16s %9s %9s %6s %9s %9s %9s %9s%n", "optimizer", "precision", "ms/step",
                "wall ms", "B/elem", "GB/s", "roofline", "% roof", "time/1st");
        for (Map<String, Object> r : rows) {
            out.printf(Locale.ROOT, "%-10s %-16s %9.3f %9.3f %6d %9.1f %9.1f %8.0f%% %9.3f%n", r.get("optimizer"),
                    r.get("precision"), r.get("median_ms"), r.get("wall_ms_per_step"), r.get("bytes_per_element"),
                    r.get("gbps"), r.get("roofline_gbps"), 100 * (double) r.get("roofline_fraction"),
                    r.get("time_vs_first"));
        }
        out.flush();
        return 0;
    }

    /**
     * Each optimizer with each state type, timed alternately with each other and the roofline;
     * bytes per element and state bytes counted for the state type.
     */
    private int benchStateDtypes(Device device, List<List<OptimizerConfig>> configs, ProgressBar progress,
                                 PrintWriter out) {
        List<Map<String, Object>> rows = new ArrayList<>();
        List<Double> rooflines = new ArrayList<>();
        warmUp(device, progress, size, repetitions);
        for (List<OptimizerConfig> variants : configs) {
            Progress.say(progress, variants.get(0).algorithm());
            Benchmark.Timing[] t = Benchmark.compareConfigs(device, variants, size, tensors, repetitions);
            double rooflineGbps = t[t.length - 1].gbps(Benchmark.ROOFLINE_BYTES_PER_ELEMENT, size);
            rooflines.add(rooflineGbps);
            progress.step();
            progress.step();
            for (int k = 0; k < variants.size(); k++) {
                OptimizerConfig v = variants.get(k);
                double gbps = t[k].gbps(v.bytesPerElement(), size);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("optimizer", v.algorithm());
                row.put("state_dtype", v.choice("state_dtype"));
                row.put("n", size);
                row.put("tensors", tensors);
                row.put("device", device.toString());
                row.put("median_ms", round(t[k].medianMs()));
                row.put("min_ms", round(t[k].minMs()));
                row.put("wall_ms_per_step", round(t[k].wallMsPerStep()));
                row.put("bytes_per_element", v.bytesPerElement());
                row.put("state_bytes_per_element", v.stateBytesPerElement());
                row.put("gbps", round(gbps));
                row.put("roofline_gbps", round(rooflineGbps));
                row.put("roofline_fraction", round(gbps / rooflineGbps));
                row.put("speedup_over_first", round(t[0].medianMs() / t[k].medianMs()));
                row.put("hyperparameters", v.hyperparameters());
                rows.add(row);
            }
        }
        Progress.say(progress, "done");
        if (json) {
            return printJson(out, rows);
        }
        double[] sorted = rooflines.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        out.printf(Locale.ROOT, "device: %s%nroofline y += a*x at N = %d: %.1f to %.1f GB/s over the run, timed "
                + "alternately with each optimizer's steps with every state type%n%n", device, size, sorted[0],
                sorted[sorted.length - 1]);
        out.printf(Locale.ROOT, "%-10s %-6s %9s %9s %6s %7s %9s %9s %9s %9s%n", "optimizer", "state", "ms/step",
                "wall ms", "B/elem", "state B", "GB/s", "roofline", "% roof", "speed-up");
        for (Map<String, Object> r : rows) {
            out.printf(Locale.ROOT, "%-10s %-6s %9.3f %9.3f %6d %7d %9.1f %9.1f %8.0f%% %8.2fx%n", r.get("optimizer"),
                    r.get("state_dtype"), r.get("median_ms"), r.get("wall_ms_per_step"), r.get("bytes_per_element"),
                    r.get("state_bytes_per_element"), r.get("gbps"), r.get("roofline_gbps"),
                    100 * (double) r.get("roofline_fraction"), r.get("speedup_over_first"));
        }
        out.flush();
        return 0;
    }

    private List<OptimizerConfig> configs() {
        List<String> names = optimizer.equals("all") ? Algorithms.NAMES
                : java.util.Arrays.stream(optimizer.split(",")).map(String::trim).distinct().toList();
        List<OptimizerConfig> configs = new ArrayList<>();
        for (String name : names) {
            try {
                configs.add(OptimizerConfig.of(name, settings));
            } catch (IllegalArgumentException e) {
                String flag = Algorithms.NAMES.contains(name) ? "--set" : "--optimizer";
                throw new BadInputException(flag + ": " + e.getMessage(), e);
            }
        }
        return configs;
    }

    /** The work-group sizes a set of this configuration steps with on this device. */
    private static ParameterSet.WorkGroups workGroups(Device device, OptimizerConfig config) {
        try (ParameterSet set = ParameterSet.builder().group(config).tensor("w", 1).build(device)) {
            return set.workGroups(0);
        }
    }

    private void print(PrintWriter out, Device device, List<Double> rooflines,
                       List<Map<String, Object>> rows) {
        if (json) {
            printJson(out, rows);
            return;
        }
        double[] sorted = rooflines.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        out.printf(Locale.ROOT, "device: %s%nroofline y += a*x at N = %d: %.1f to %.1f GB/s over "
                + "the run, timed alternately with each optimizer's steps%n%n", device, size, sorted[0],
                sorted[sorted.length - 1]);
        out.printf(Locale.ROOT, "%-10s %10s %9s %9s %9s %9s %9s %9s %9s %8s %11s%n", "optimizer", "N",
                "ms/step", "wall ms", "GB/s", "roofline", "% roof", "Melem/s", "ref ms", "speed-up", "work-group");
        for (Map<String, Object> r : rows) {
            out.printf(Locale.ROOT, "%-10s %10d %9.3f %9.3f %9.1f %9.1f %8.0f%% %9.0f %9.1f %7.1fx %11s%n",
                    r.get("optimizer"), r.get("n"), r.get("median_ms"), r.get("wall_ms_per_step"),
                    r.get("gbps"), r.get("roofline_gbps"), 100 * (double) r.get("roofline_fraction"),
                    r.get("melems_per_s"), r.get("reference_median_ms"),
                    r.get("speedup_over_reference"), "own".equals(r.get("launch")) ? "own"
                            : r.get("work_group_size") + " " + r.get("launch"));
        }
        if (clip.enabled()) {
            out.printf(Locale.ROOT, "%nclip_grad_norm_(max_norm=%s, norm_type=%s), timed alternately with the "
                    + "plain step (norm: one read of the gradients, against the roofline's reads, 8 of its 12 "
                    + "bytes):%n%-10s %12s %9s %12s %9s %9s %12s%n", clip.maxNorm, clip.normType, "optimizer",
                    "clip+step ms", "ratio", "bytes ratio", "norm ms", "norm GB/s", "% roof read");
            for (Map<String, Object> r : rows) {
                out.printf(Locale.ROOT, "%-10s %12.3f %9.3f %12.3f %9.3f %9.1f %11.0f%%%n", r.get("optimizer"),
                        r.get("clip_step_median_ms"), r.get("clip_step_ratio"), r.get("clip_step_ratio_of_bytes"),
                        r.get("norm_median_ms"), r.get("norm_gbps"), 100 * (double) r.get("norm_roofline_read_fraction"));
            }
        }
        out.flush();
    }

    /** Five significant digits: small figures (a tiny N's GB/s) keep their precision too. */
    private static double round(double v) {
        return Double.isFinite(v) && v != 0
                ? new java.math.BigDecimal(v).round(new java.math.MathContext(5)).doubleValue() : v;
    }
}

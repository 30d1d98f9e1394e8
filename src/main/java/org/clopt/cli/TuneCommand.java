package org.clopt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.clopt.Algorithms;
import org.clopt.Device;
import org.clopt.LaunchTuning;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Precision;
import org.clopt.tools.Benchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tune}: measures each step kernel's work-group size on this device and caches the best. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Times each chosen optimizer's step on the OpenCL device with every work-group "
            + "size from 32 to the kernel's limit (powers of two, up to 4096) and the rule's (4096 on "
            + "CPUs, 256 elsewhere), alternately round by round, at each of --sizes. A size is a candidate only if its "
            + "steps give the CPU reference's results (bit for bit on a device with correctly rounded "
            + "divide and sqrt). The size whose worst speed-up over the rule across the sizes is "
            + "largest wins if that is 3% or more, else the rule stays; the choice is written to the cache (" + "$XDG_CACHE_HOME/clopt/launch.json, else "
            + "~/.cache/clopt/launch.json), which every later set on this device, driver and kernel "
            + "source uses; bench shows it.",
            "Tunes PyTorch's defaults of each algorithm (lamb's first pass; adafactor's passes keep "
                + "their shapes)."},
        sortOptions = false)
final class TuneCommand implements Callable<Integer> {
    /** How much faster than the rule a size must be to replace it: beyond this machine's noise. */
    static final double MARGIN = 0.97;

    @Spec
    CommandSpec spec;

    @Option(names = "--optimizer", paramLabel = "NAME[,NAME...]|all", defaultValue = "all",
            description = "One or more, comma-separated, of the element-wise optimizers; or all (default).")
    String optimizer;

    @Option(names = "--sizes", paramLabel = "N", split = ",", defaultValue = "65536,16777216",
            description = "Elements per timed step, each size timed apart (default ${DEFAULT-VALUE}: "
                + "2^16 and 2^24). A size replaces the rule only if it is faster at every one.")
    List<Integer> sizes;

    @Option(names = "--repetitions", paramLabel = "R", defaultValue = "20",
            description = "Timed rounds of every size (default ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--json", description = "One JSON object per optimizer instead of the table.")
    boolean json;

    @Mixin
    DeviceOption deviceOption;

    @Override
    public Integer call() throws IOException {
        for (int n : sizes) {
            if (n < 1) {
                throw new BadInputException("--sizes " + n + ": every size must be at least 1");
            }
        }
        if (repetitions < 3) {
            throw new BadInputException("--repetitions " + repetitions + ": must be >= 3");
        }
        List<OptimizerConfig> configs = configs();
        PrintWriter out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        try (Device device = deviceOption.open();
             ProgressBar progress = Progress.bar(spec, "tune", configs.size())) {
            for (OptimizerConfig config : configs) {
                Progress.say(progress, config.algorithm());
                long rule = workGroups(device, config).rule();
                long[] candidates = candidates(device, config, rule);
                int ruleAt = Arrays.binarySearch(candidates, rule);
                // Each candidate's worst speed-up over the rule across the sizes.
                double[] worst = new double[candidates.length];
                Arrays.fill(worst, Double.POSITIVE_INFINITY);
                Map<String, Map<String, Double>> bySize = new LinkedHashMap<>();
                for (int n : sizes) {
                    Benchmark.Timing[] t = Benchmark.compareWorkGroupSizes(device, config, n, candidates, repetitions);
                    Map<String, Double> medians = new LinkedHashMap<>();
                    for (int k = 0; k < candidates.length; k++) {
                        medians.put(Long.toString(candidates[k]), t[k].medianMs());
                        worst[k] = Math.min(worst[k], t[ruleAt].medianMs() / t[k].medianMs());
                    }
                    bySize.put(Integer.toString(n), medians);
                }
                int best = ruleAt;
                for (int k = 0; k < candidates.length; k++) {
                    if (worst[k] > worst[best]) {
                        best = k;
                    }
                }
                long chosen = worst[best] >= 1 / MARGIN ? candidates[best] : rule;
                LaunchTuning.store(device, config, Precision.FP32, chosen);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("optimizer", config.algorithm());
                row.put("sizes", sizes);
                row.put("device", device.toString());
                row.put("rule", rule);
                row.put("best", candidates[best]);
                row.put("best_worst_speedup", worst[best]);
                row.put("chosen", chosen);
                row.put("median_ms_by_size", bySize);
                rows.add(row);
                progress.step();
            }
            Progress.say(progress, "done");
        }
        if (json) {
            for (Map<String, Object> r : rows) {
                out.println(new com.google.gson.Gson().toJson(r));
            }
            out.flush();
            return 0;
        }
        out.printf(Locale.ROOT, "%-10s %6s %6s %22s %7s%n", "optimizer", "rule", "best", "worst speed-up over rule",
                "chosen");
        for (Map<String, Object> r : rows) {
            out.printf(Locale.ROOT, "%-10s %6d %6d %21.2fx %7d%n", r.get("optimizer"), r.get("rule"), r.get("best"),
                    r.get("best_worst_speedup"), r.get("chosen"));
        }
        out.printf(Locale.ROOT, "%nwrote %s%n", LaunchTuning.cacheFile());
        out.flush();
        return 0;
    }

    private List<OptimizerConfig> configs() {
        List<String> names = optimizer.equals("all") ? Algorithms.NAMES
                : Arrays.stream(optimizer.split(",")).map(String::trim).distinct().toList();
        List<OptimizerConfig> configs = new ArrayList<>();
        for (String name : names) {
            if (!Algorithms.NAMES.contains(name)) {
                throw new BadInputException("--optimizer " + name + ": unknown (known: "
                        + String.join(", ", Algorithms.NAMES) + ", all)");
            }
            OptimizerConfig config = OptimizerConfig.of(name, Map.of());
            if (!name.equals("adafactor")) {
                configs.add(config);
            } else if (!optimizer.equals("all")) {
                throw new BadInputException("--optimizer adafactor: runs passes of their own shapes; nothing to tune");
            }
        }
        return configs;
    }

    /** The group's work-group sizes on this device: in force, the rule's, the kernel's limit. */
    private static ParameterSet.WorkGroups workGroups(Device device, OptimizerConfig config) {
        try (ParameterSet set = ParameterSet.builder().group(config).tensor("w", 1).build(device)) {
            return set.workGroups(0);
        }
    }

    /**
     * Powers of two from 32 to the kernel's limit and 4096, and the rule's size; each must give
     * the CPU reference's results before it is timed.
     */
    private long[] candidates(Device device, OptimizerConfig config, long rule) {
        TreeSet<Long> sizes = new TreeSet<>();
        sizes.add(rule);
        long max = Math.min(4096, workGroups(device, config).max());
        for (long s = 32; s <= max; s *= 2) {
            if (agreesWithReference(device, config, s)) {
                sizes.add(s);
            }
        }
        return sizes.stream().mapToLong(Long::longValue).toArray();
    }

    /** Three steps on 4099 elements with this work-group size against the CPU reference. */
    private static boolean agreesWithReference(Device device, OptimizerConfig config, long workGroupSize) {
        ParameterSet.Builder b = ParameterSet.builder().workGroupSize(workGroupSize).group(config).tensor("w", 4099);
        try (ParameterSet kernel = b.build(device); ParameterSet reference = b.buildReference()) {
            SplittableRandom random = new SplittableRandom(7);
            float[] v = new float[4099];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (random.nextDouble() - 0.5);
            }
            kernel.writeParameters("w", v);
            reference.writeParameters("w", v);
            for (int step = 0; step < 3; step++) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (random.nextDouble() - 0.5);
                }
                kernel.writeGradients("w", v);
                reference.writeGradients("w", v);
                kernel.step();
                reference.step();
            }
            float[] a = new float[4099];
            float[] r = new float[4099];
            kernel.readParameters("w", a);
            reference.readParameters("w", r);
            boolean exact = device.info().correctlyRoundedDivideSqrt();
            for (int i = 0; i < a.length; i++) {
                boolean same = Float.floatToIntBits(a[i]) == Float.floatToIntBits(r[i]);
                if (!same && (exact || Math.abs(a[i] - r[i]) > 4 * Math.ulp(r[i]))) {
                    return false;
                }
            }
            return true;
        }
    }
}

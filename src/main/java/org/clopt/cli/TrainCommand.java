package org.clopt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.clopt.Device;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code train}: real training on the OpenCL device, every optimizer on every workload. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains each workload with each optimizer on the OpenCL device: forward "
            + "pass, backward pass and optimizer step all run there, and only the loss comes "
            + "back, every few steps. Same seed, same data order and same initial parameters for "
            + "every optimizer.",
            "Workloads: digits (a 64-128-10 MLP on the 8x8 handwritten digits, mini-batches of "
                + "128, 20% held out for accuracy; 600 steps) and rosenbrock (the extended "
                + "Rosenbrock function over 10,000,384 parameters; 200 steps).",
            "Writes loss.csv (workload,optimizer,step,loss) and loss.png (loss curves, one panel "
                + "per workload) to --out, and prints a summary table."})
final class TrainCommand implements Callable<Integer> {
    static final List<String> WORKLOADS = List.of("digits", "rosenbrock");

    @Spec
    CommandSpec spec;

    @Option(names = "--workload", paramLabel = "NAME|all", defaultValue = "all",
            description = "digits, rosenbrock or all (default).")
    String workload;

    @Option(names = "--optimizer", paramLabel = "NAME|all", defaultValue = "all",
            description = "One optimizer or all nine (default), each with the workload's defaults "
                + "(see the README).")
    String optimizer;

    @Option(names = "--steps", paramLabel = "S",
            description = "Steps per optimizer (default: the workload's, 600 for digits, 200 for "
                + "rosenbrock).")
    Integer steps;

    @Option(names = "--seed", paramLabel = "X", defaultValue = "1",
            description = "Seed of the initial parameters and the data order (default 1).")
    long seed;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output folder (default: a new folder under runs/).")
    Path out;

    @Mixin
    DeviceOption deviceOption;

    /** One training run's figures. */
    record Run(String workload, String optimizer, double finalLoss, double firstLoss,
               double accuracy, double msPerStep, double optimizerShare) {
    }

    @Override
    public Integer call() throws IOException {
        List<String> workloads = choose("--workload", workload, WORKLOADS);
        List<String> optimizers = choose("--optimizer", optimizer, OptimizerConfig.NAMES);
        if (steps != null && steps < 1) {
            throw new BadInputException("--steps " + steps + ": must be at least 1");
        }
        Path dir = out != null ? out : Path.of("runs",
                LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new BadInputException("--out " + dir + ": exists and is not a directory");
        }
        Files.createDirectories(dir);
        List<LossReport.Point> points = new ArrayList<>();
        List<Run> runs = new ArrayList<>();
        String deviceName;
        try (Device device = deviceOption.open()) {
            deviceName = device.toString();
            long total = 0;
            for (String w : workloads) {
                total += (long) optimizers.size() * (steps != null ? steps : defaultSteps(w));
            }
            try (ProgressBar progress = Progress.bar(spec, "train", total)) {
                for (String w : workloads) {
                    try (Workload work = open(w, device)) {
                        for (String name : optimizers) {
                            runs.add(train(device, work, name, progress, points));
                        }
                    }
                }
            }
        }
        LossReport.writeCsv(dir.resolve("loss.csv"), points);
        LossReport.writePlot(dir.resolve("loss.png"), points);
        summary(spec.commandLine().getOut(), deviceName, runs, dir);
        return 0;
    }

    private static int defaultSteps(String workload) {
        return workload.equals("digits") ? 600 : 200;
    }

    private Workload open(String name, Device device) {
        return name.equals("digits") ? new DigitsWorkload(device, seed) : new RosenbrockWorkload(device);
    }

    private Run train(Device device, Workload work, String name, ProgressBar progress,
                      List<LossReport.Point> points) {
        OptimizerConfig config = OptimizerConfig.of(name, work.settings(name));
        ParameterSet.Builder builder = ParameterSet.builder().group(config);
        work.addTensors(builder);
        int total = steps != null ? steps : work.defaultSteps();
        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        double gradientMs = 0;
        double optimizerMs = 0;
        try (ParameterSet set = builder.build(device)) {
            work.initialize(set, seed);
            device.finish();
            long start = System.nanoTime();
            for (int step = 1; step <= total; step++) {
                boolean log = step == 1 || step % work.logEvery() == 0 || step == total;
                if (!log) {
                    work.gradients(set, step);
                    set.step();
                    progress.step();
                    continue;
                }
                // At a logging step the phases are timed apart (the loss read waits anyway):
                // forward and backward, then the loss (not counted), then the optimizer step.
                device.finish();
                long t0 = System.nanoTime();
                work.gradients(set, step);
                device.finish();
                long t1 = System.nanoTime();
                double loss = work.loss();
                long t2 = System.nanoTime();
                set.step();
                device.finish();
                long t3 = System.nanoTime();
                gradientMs += (t1 - t0) / 1e6;
                optimizerMs += (t3 - t2) / 1e6;
                points.add(new LossReport.Point(work.name(), name, step, loss));
                firstLoss = Double.isNaN(firstLoss) ? loss : firstLoss;
                lastLoss = loss;
                progress.step();
                progress.setExtraMessage(String.format(Locale.ROOT, "%s %s loss %.4g", work.name(), name, loss));
            }
            device.finish();
            long elapsed = System.nanoTime() - start;
            double accuracy = work.accuracy(set);
            return new Run(work.name(), name, lastLoss, firstLoss, accuracy, elapsed / 1e6 / total,
                    optimizerMs / (gradientMs + optimizerMs));
        }
    }

    private static List<String> choose(String flag, String value, List<String> known) {
        if (value.equals("all")) {
            return known;
        }
        if (!known.contains(value)) {
            throw new BadInputException(flag + " " + value + ": unknown (known: "
                    + String.join(", ", known) + ", all)");
        }
        return List.of(value);
    }

    private static void summary(PrintWriter out, String device, List<Run> runs, Path dir) {
        out.printf(Locale.ROOT, "device: %s%n%n", device);
        out.printf(Locale.ROOT, "%-11s %-9s %12s %12s %9s %9s %10s%n", "workload", "optimizer",
                "first loss", "final loss", "accuracy", "ms/step", "optimizer");
        for (Run r : runs) {
            out.printf(Locale.ROOT, "%-11s %-9s %12.5g %12.5g %9s %9.3f %9.0f%%%n", r.workload(),
                    r.optimizer(), r.firstLoss(), r.finalLoss(),
                    Double.isNaN(r.accuracy()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * r.accuracy()),
                    r.msPerStep(), 100 * r.optimizerShare());
        }
        out.printf(Locale.ROOT, "%n(optimizer: its share of the step's time, sampled at logging "
                + "steps)%nwrote %s and %s%n", dir.resolve("loss.csv"), dir.resolve("loss.png"));
        out.flush();
    }
}

package org.clopt.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.clopt.Algorithms;
import org.clopt.Device;
import org.clopt.Dtype;
import org.clopt.Hyperparameter;
import org.clopt.OptimizerConfig;
import org.clopt.Precision;
import org.clopt.train.LossReport;
import org.clopt.train.Trainer;
import org.clopt.train.Workload;
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
                + "128, 20%% held out for accuracy; 600 steps) and rosenbrock (the extended "
                + "Rosenbrock function over 1,000,448 parameters; 1000 steps).",
            "Writes loss.csv (workload,optimizer,step,loss), heldout.csv (digits' held-out loss and "
                + "accuracy at each logging step) and the figure as loss.png and loss.svg (loss curves, "
                + "one panel per workload and one of the held-out loss; with --scheduler, lr.csv and "
                + "the learning rate under the loss) to --out, and prints a summary table."})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--workload", paramLabel = "NAME|all", defaultValue = "all",
            description = "digits, rosenbrock or all (default).")
    String workload;

    @Option(names = "--optimizer", paramLabel = "NAME|all", defaultValue = "all",
            completionCandidates = AlgorithmNames.class,
            description = "One of: ${COMPLETION-CANDIDATES}; or all (default). Each gets the "
                + "workload's learning rate (see the README) and PyTorch's defaults otherwise.")
    String optimizer;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "A hyperparameter for every chosen optimizer that has it (state_dtype=bf16); "
                + "repeatable. Optimizers without it are left out, and the notes say so.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--steps", paramLabel = "S",
            description = "Steps per optimizer (default: the workload's, 600 for digits, 1000 for "
                + "rosenbrock).")
    Integer steps;

    @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", defaultValue = "fp32",
            description = "The type of the parameters the forward pass reads and of the gradients the "
                + "backward pass writes, on every workload: fp32 (default), or bf16 or fp16 with fp32 "
                + "master weights and optimizer state (arithmetic is fp32 throughout). fp16 scales the "
                + "loss with a GradScaler (PyTorch's defaults); bf16 needs none.")
    String precision;

    @Option(names = "--seed", paramLabel = "X", defaultValue = "1",
            description = "Seed of the initial parameters and the data order (default 1).")
    long seed;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output folder (default: a new folder under runs/); one that holds files "
                + "already is refused unless --overwrite.")
    Path out;

    /** How the summary table is printed. */
    enum Format { text, markdown, json }

    @Option(names = "--format", paramLabel = "text|markdown|json", defaultValue = "text",
            description = "The summary on stdout: an aligned table (default), a Markdown table to "
                + "paste, or one JSON object per run per line (the other lines then go to stderr).")
    Format format;

    @Option(names = "--overwrite", description = "Let --out name a folder that holds files already; "
            + "the run's files replace those of the same names.")
    boolean overwrite;

    @Mixin
    ScheduleOptions schedule;

    @Mixin
    ClipOptions clip;

    @Mixin
    DeviceOption deviceOption;

    @Override
    public Integer call() throws IOException {
        List<String> workloads = choose("--workload", workload, Trainer.WORKLOADS);
        List<String> optimizers = choose("--optimizer", optimizer, Algorithms.NAMES);
        Dtype dtype = dtype();
        if (steps != null && steps < 1) {
            throw new BadInputException("--steps " + steps + ": must be at least 1");
        }
        clip.check();
        // An algorithm that cannot run in the precision asked for (Precision.supports; the 16-bit
        // runs keep master weights, which every algorithm takes today) is an error when named
        // alone; from a list it is left out, and the notes say so.
        Precision precision = Precision.of(dtype);
        List<String> refused = optimizers.stream()
                .filter(o -> !precision.supports(OptimizerConfig.of(o, Map.of()))).toList();
        if (!refused.isEmpty() && refused.size() == optimizers.size()) {
            throw new BadInputException("--optimizer " + optimizer + ": " + refused.get(0) + " does not run with"
                    + " --precision " + this.precision + " (" + precision.unsupportedReason(
                            OptimizerConfig.of(refused.get(0), Map.of())) + ")");
        }
        optimizers = optimizers.stream().filter(o -> !refused.contains(o)).toList();
        if (!refused.isEmpty()) {
            spec.commandLine().getErr().println("train: left out with --precision " + this.precision + ": "
                    + String.join(", ", refused) + " (" + precision.unsupportedReason(
                            OptimizerConfig.of(refused.get(0), Map.of())) + ")");
        }
        // --set applies to the optimizers that have every key given; a bad value is bad input.
        List<String> lacking = optimizers.stream().filter(o -> !settings.keySet().stream()
                .allMatch(k -> Algorithms.named(o).hyperparameters().stream().anyMatch(h -> h.key().equals(k))))
                .toList();
        if (!lacking.isEmpty() && lacking.size() == optimizers.size()) {
            throw new BadInputException("--set " + String.join(",", settings.keySet()) + ": no chosen optimizer has "
                    + (settings.size() == 1 ? "it" : "them all") + " (" + String.join(", ", optimizers) + ")");
        }
        optimizers = optimizers.stream().filter(o -> !lacking.contains(o)).toList();
        if (!lacking.isEmpty()) {
            spec.commandLine().getErr().println("train: left out with --set " + String.join(",", settings.keySet())
                    + ": " + String.join(", ", lacking) + " (no such hyperparameter)");
        }
        // A choice some optimizers lack (state_dtype=int8) leaves those out too, if others have it.
        List<String> offChoice = optimizers.stream().filter(o -> settings.entrySet().stream().anyMatch(e ->
                Algorithms.named(o).hyperparameters().stream().anyMatch(h -> h.key().equals(e.getKey())
                        && h.kind() == Hyperparameter.Kind.CHOICE && !h.choices().contains(e.getValue()))))
                .toList();
        if (!offChoice.isEmpty() && offChoice.size() < optimizers.size()) {
            optimizers = optimizers.stream().filter(o -> !offChoice.contains(o)).toList();
            spec.commandLine().getErr().println("train: left out with --set " + String.join(",", settings.keySet())
                    + ": " + String.join(", ", offChoice) + " (not one of their choices)");
        }
        List<OptimizerConfig> configs = new ArrayList<>();
        for (String w : workloads) {
            for (String o : optimizers) {
                Map<String, String> all = new LinkedHashMap<>(Trainer.settings(w, o));
                all.putAll(settings);
                try {
                    configs.add(OptimizerConfig.of(o, all));
                } catch (IllegalArgumentException e) {
                    throw new BadInputException("--set: " + e.getMessage(), e);
                }
            }
        }
        schedule.check(configs);
        Trainer.Mechanics mechanics = new Trainer.Mechanics(
                schedule.enabled() ? set -> schedule.attach(set)::step : null, clip.maxNorm, clip.normType());
        Path dir = out != null ? out : Path.of("runs",
                LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new BadInputException("--out " + dir + ": exists and is not a directory");
        }
        if (Files.isDirectory(dir) && !overwrite) {
            try (var entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new BadInputException("--out " + dir + ": holds files already (another run's?); "
                            + "give a new folder, or --overwrite");
                }
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BadInputException("--out " + dir + ": cannot create the folder (" + reason(dir, e) + ")", e);
        }
        List<LossReport.Point> points = new ArrayList<>();
        List<LossReport.Point> rates = new ArrayList<>();
        List<Trainer.Run> runs = new ArrayList<>();
        Map<String, String> descriptions = new LinkedHashMap<>();
        Map<String, Boolean> miniBatch = new LinkedHashMap<>();
        String deviceName;
        try (Device device = deviceOption.open()) {
            deviceName = device.toString();
            long total = 0;
            Progress.Plan plan = new Progress.Plan();
            for (String w : workloads) {
                total += (long) optimizers.size() * stepsFor(w);
                plan.add(w, (long) optimizers.size() * stepsFor(w), Trainer.costHint(w));
            }
            try (ProgressBar progress = Progress.bar(spec, "train", total, plan)) {
                plan.start();
                Trainer.Listener listener = (w, o, step, loss) -> {
                    plan.stepped(w);
                    progress.step();
                    if (!Double.isNaN(loss)) {
                        Progress.say(progress, String.format(Locale.ROOT, "%s %s loss %.4g", w, o, loss));
                    }
                };
                for (String w : workloads) {
                    try (Workload work = Trainer.open(w, device, dtype, seed)) {
                        descriptions.put(w, work.description());
                        miniBatch.put(w, work.miniBatch());
                        for (String name : optimizers) {
                            Trainer.Run run = Trainer.train(device, work, name, settings, stepsFor(w), seed,
                                    mechanics, listener);
                            runs.add(run);
                            points.addAll(run.points());
                            rates.addAll(run.rates());
                            // Kept up to date as runs finish, so a later failure loses little.
                            LossReport.writeCsv(dir.resolve("loss.csv"), points);
                            if (!rates.isEmpty()) {
                                LossReport.writeCsv(dir.resolve("lr.csv"), rates, "lr");
                            }
                            if (runs.stream().anyMatch(r -> !r.heldOut().isEmpty())) {
                                writeHeldOut(dir.resolve("heldout.csv"), runs);
                            }
                        }
                    }
                }
            }
        }
        // The table first: it survives a failure to write the plot.
        PrintWriter out = spec.commandLine().getOut();
        switch (format) {
            case json -> json(out, deviceName, runs);
            case markdown -> markdown(out, deviceName, dtype, runs);
            default -> summary(out, deviceName, dtype, runs);
        }
        LossReport.writeFigure(dir.resolve("loss.png"), dir.resolve("loss.svg"), panels(runs, miniBatch),
                caption(deviceName, dtype, workloads, optimizers, descriptions));
        // JSON lines stay alone on stdout, for the programs that read them.
        PrintWriter notes = format == Format.json ? spec.commandLine().getErr() : out;
        notes.printf(Locale.ROOT, "wrote %s, %s and %s in %s%n", "loss.csv", "loss.png", "loss.svg", dir);
        notes.flush();
        return 0;
    }

    /**
     * The figure's panels: in the first row each workload's loss, digits' followed by its
     * held-out loss (legend: the final accuracy); in a second row, with a schedule, each
     * workload's learning rate under its loss. Mini-batch losses are smoothed over their raw
     * values; rosenbrock's step axis is logarithmic, as its losses fall within the first tens of
     * steps and rank only after.
     */
    private static List<List<LossReport.Panel>> panels(List<Trainer.Run> runs, Map<String, Boolean> miniBatch) {
        List<LossReport.Panel> top = new ArrayList<>();
        List<LossReport.Panel> bottom = new ArrayList<>();
        for (Map.Entry<String, Boolean> w : miniBatch.entrySet()) {
            List<Trainer.Run> of = runs.stream().filter(r -> r.workload().equals(w.getKey())).toList();
            boolean smooth = w.getValue();
            top.add(new LossReport.Panel(w.getKey() + (smooth ? ": training loss (mini-batch)" : ": loss"),
                    smooth ? "loss (log scale; smoothed, raw faint)" : "loss (log scale)",
                    of.stream().flatMap(r -> r.points().stream()).toList(), true,
                    w.getKey().equals("rosenbrock"), smooth, Map.of()));
            List<LossReport.Point> rates = of.stream().flatMap(r -> r.rates().stream()).toList();
            bottom.add(rates.isEmpty() ? null : LossReport.Panel.rates(w.getKey() + ": learning rate", rates));
            List<LossReport.Point> heldOut = of.stream().flatMap(r -> r.heldOut().stream()).toList();
            if (!heldOut.isEmpty()) {
                Map<String, String> accuracy = new LinkedHashMap<>();
                for (Trainer.Run r : of) {
                    accuracy.put(r.optimizer(), accuracy(r));
                }
                top.add(new LossReport.Panel(w.getKey() + ": held-out loss (legend: final held-out accuracy)",
                        "held-out loss (log scale)", heldOut, true, false, false, accuracy));
                bottom.add(null);
            }
        }
        return bottom.stream().allMatch(java.util.Objects::isNull) ? List.of(top) : List.of(top, bottom);
    }

    /** How the figure was made: device, precision, seed, and per workload its steps, data and rates. */
    private List<String> caption(String device, Dtype dtype, List<String> workloads, List<String> optimizers,
                                 Map<String, String> descriptions) {
        List<String> lines = new ArrayList<>();
        StringBuilder first = new StringBuilder(String.format(Locale.ROOT,
                "clopt train on %s; precision %s; seed %d", device, precision(dtype), seed));
        if (schedule.enabled()) {
            first.append("; scheduler ").append(String.join(" then ", schedule.specs));
        }
        if (clip.maxNorm != null) {
            first.append(String.format(Locale.ROOT, "; clip_grad_norm %s (norm %s)", clip.maxNorm, clip.normType()));
        }
        settings.forEach((k, v) -> first.append("; ").append(k).append(' ').append(v));
        lines.add(first.toString());
        for (String w : workloads) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s: %d steps, %s; lr",
                    w, stepsFor(w), descriptions.getOrDefault(w, "")));
            String separator = " ";
            for (String o : optimizers) {
                double lr = OptimizerConfig.of(o, Trainer.settings(w, o)).lr();
                String rate = new java.math.BigDecimal(lr).round(new java.math.MathContext(4)).stripTrailingZeros()
                        .toPlainString();
                line.append(separator).append(o).append(' ').append(rate);
                separator = ", ";
            }
            lines.add(line.toString());
        }
        lines.add("Other hyperparameters: PyTorch's defaults (momentum and nesterov: momentum 0.9). "
                + "Lines: solid SGD family, dash-dot adaptive, dashed Adam family, dotted sign-based; "
                + "legends list final values, lowest first.");
        return lines;
    }

    /** {@code workload,optimizer,step,loss,accuracy}: the held-out evaluations, all runs so far. */
    private static void writeHeldOut(Path file, List<Trainer.Run> runs) throws IOException {
        List<LossReport.Point> losses = new ArrayList<>();
        List<LossReport.Point> accuracies = new ArrayList<>();
        for (Trainer.Run r : runs) {
            losses.addAll(r.heldOut());
            accuracies.addAll(r.heldOutAccuracy());
        }
        LossReport.writeCsv(file, losses, "loss", accuracies, "accuracy");
    }

    /** Why a folder could not be made, in words: the nearest existing parent and what it refuses. */
    private static String reason(Path dir, IOException e) {
        Path parent = dir.toAbsolutePath().getParent();
        while (parent != null && !Files.exists(parent)) {
            parent = parent.getParent();
        }
        if (e instanceof java.nio.file.AccessDeniedException || (parent != null && !Files.isWritable(parent))) {
            return "permission denied: " + parent + " is not writable";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        // No reason given (a special file system such as /proc): say where it was refused.
        return parent + " does not take new folders";
    }

    private int stepsFor(String workload) {
        return steps != null ? steps : Trainer.defaultSteps(workload);
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

    private Dtype dtype() {
        for (Dtype d : Dtype.values()) {
            if (d.cliName().equals(precision)) {
                return d;
            }
        }
        throw new BadInputException("--precision " + precision + ": unknown (known: fp32, bf16, fp16)");
    }

    private static String accuracy(Trainer.Run r) {
        return Double.isNaN(r.accuracy()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * r.accuracy());
    }

    /** What the precision means, for the line under the device's. */
    private static String precision(Dtype dtype) {
        return switch (dtype) {
            case FP32 -> "fp32";
            case BF16 -> "bf16 parameters and gradients, fp32 master weights and state";
            case FP16 -> "fp16 parameters and gradients, fp32 master weights and state, loss scaling";
        };
    }

    /** Whether the runs stepped through a GradScaler (fp16): their table shows its figures. */
    private static boolean scaled(List<Trainer.Run> runs) {
        return runs.stream().anyMatch(r -> !Double.isNaN(r.lossScale()));
    }

    private static void markdown(PrintWriter out, String device, Dtype dtype, List<Trainer.Run> runs) {
        boolean scaled = scaled(runs);
        out.printf(Locale.ROOT, "device: %s%nprecision: %s%n%n", device, precision(dtype));
        out.println("| workload | optimizer | first loss | final loss | accuracy | ms/step | optimizer share |"
                + (scaled ? " skipped | scale |" : ""));
        out.println("|---|---|---:|---:|---:|---:|---:|" + (scaled ? "---:|---:|" : ""));
        for (Trainer.Run r : runs) {
            out.printf(Locale.ROOT, "| %s | %s | %.5g | %.5g | %s | %.3f | %.0f%% |", r.workload(), r.optimizer(),
                    r.firstLoss(), r.finalLoss(), accuracy(r), r.msPerStep(), 100 * r.optimizerShare());
            out.println(scaled ? String.format(Locale.ROOT, " %d | %.0f |", r.skippedSteps(), r.lossScale()) : "");
        }
        out.flush();
    }

    private static void json(PrintWriter out, String device, List<Trainer.Run> runs) {
        Gson gson = new GsonBuilder().serializeNulls().serializeSpecialFloatingPointValues().create();
        for (Trainer.Run r : runs) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("workload", r.workload());
            row.put("optimizer", r.optimizer());
            row.put("precision", r.dtype().cliName());
            row.put("first_loss", r.firstLoss());
            row.put("final_loss", r.finalLoss());
            row.put("accuracy", Double.isNaN(r.accuracy()) ? null : r.accuracy());
            row.put("ms_per_step", r.msPerStep());
            row.put("optimizer_share", r.optimizerShare());
            // The GradScaler's figures: null without one.
            row.put("skipped_steps", Double.isNaN(r.lossScale()) ? null : r.skippedSteps());
            row.put("loss_scale", Double.isNaN(r.lossScale()) ? null : r.lossScale());
            row.put("device", device);
            out.println(gson.toJson(row));
        }
        out.flush();
    }

    private static void summary(PrintWriter out, String device, Dtype dtype, List<Trainer.Run> runs) {
        boolean scaled = scaled(runs);
        out.printf(Locale.ROOT, "device: %s%nprecision: %s%n%n", device, precision(dtype));
        out.printf(Locale.ROOT, "%-11s %-9s %12s %12s %9s %9s %10s", "workload", "optimizer",
                "first loss", "final loss", "accuracy", "ms/step", "optimizer");
        out.println(scaled ? String.format(Locale.ROOT, " %8s %8s", "skipped", "scale") : "");
        for (Trainer.Run r : runs) {
            out.printf(Locale.ROOT, "%-11s %-9s %12.5g %12.5g %9s %9.3f %9.0f%%", r.workload(),
                    r.optimizer(), r.firstLoss(), r.finalLoss(), accuracy(r), r.msPerStep(), 100 * r.optimizerShare());
            out.println(scaled ? String.format(Locale.ROOT, " %8d %8.0f", r.skippedSteps(), r.lossScale()) : "");
        }
        out.printf(Locale.ROOT, "%n(optimizer: its share of the step's time, sampled at logging steps%s)%n",
                scaled ? "; skipped: steps the GradScaler skipped for Inf or NaN gradients; scale: its final "
                        + "loss scale" : "");
        out.flush();
    }
}

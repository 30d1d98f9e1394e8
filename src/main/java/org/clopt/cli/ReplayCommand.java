package org.clopt.cli;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.clopt.Averaging;
import org.clopt.Checkpoint;
import org.clopt.CheckpointException;
import org.clopt.Device;
import org.clopt.Dtype;
import org.clopt.GradScaler;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Precision;
import org.clopt.StateDict;
import org.clopt.io.AtomicFile;
import org.clopt.io.Npy;
import org.clopt.schedule.LRScheduler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code replay}: runs recorded gradients through an optimizer and saves the parameters. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = {"Replays T recorded gradient steps on N parameters and writes the final "
            + "parameters.",
            "P0.npy is a 1-D little-endian float32 array (N); GRADS.npy is 2-D float32 (T x N), "
                + "one row per step; OUT.npy receives the N final parameters as float32 (with "
                + "--param-dtype, the bf16 or fp16 values, exactly), written atomically. On bad "
                + "input the exit code is 2, one line on stderr says why, and OUT.npy is left as it "
                + "was."},
        sortOptions = false)
final class ReplayCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OptimizerOptions optimizerOptions;

    @Mixin
    DeviceOption deviceOption;

    @Option(names = "--params", required = true, paramLabel = "P0.npy",
            description = "Initial parameters: float32, shape (N).")
    Path params;

    @Option(names = "--grads", required = true, paramLabel = "GRADS.npy",
            description = "Gradients: float32, shape (T, N), one row per step.")
    Path grads;

    @Option(names = "--out", required = true, paramLabel = "OUT.npy",
            description = "Where the final parameters go (float32, shape (N)); with --param-dtype "
                + "bf16 or fp16, the 16-bit working copy, exactly.")
    Path out;

    @Option(names = "--shape", paramLabel = "D", split = ",",
            description = "The parameters' shape, row-major (default: a vector of N); P0, GRADS and "
                + "OUT stay flat. Algorithms that treat matrices apart read it.")
    List<Integer> tensorShape;

    @Option(names = "--device", paramLabel = "opencl|reference", defaultValue = "opencl",
            description = "opencl (default) runs the kernels on the selected device; reference "
                + "runs the CPU reference path.")
    String device;

    @Option(names = "--load-state", paramLabel = "FILE",
            description = "Load the optimizer state (a checkpoint saved by --save-state, with the "
                + "same precision) before the first step; the parameters still come from --params, "
                + "master weights from the state.")
    Path loadState;

    @Option(names = "--save-state", paramLabel = "FILE",
            description = "Save the optimizer state after the last step, as safetensors "
                + "(written atomically; see the README for the layout).")
    Path saveState;

    @Mixin
    ClipOptions clip;

    @Mixin
    ScheduleOptions schedule;

    @Option(names = "--clip-grad-value", paramLabel = "V",
            description = "Clamp each gradient to [-V, V] before each step (clip_grad_value_).")
    Double clipValue;

    @Option(names = "--accumulate", paramLabel = "K", defaultValue = "1",
            description = "Each step sums K consecutive rows of GRADS.npy, as p.grad += g over "
                + "micro-batches (T must be a multiple of K; default 1).")
    int accumulate;

    @Option(names = "--ema", paramLabel = "DECAY",
            description = "Keep an exponential moving average of the parameters, updated after "
                + "each step (AveragedModel with get_ema_multi_avg_fn(DECAY)); needs --ema-out.")
    Double emaDecay;

    @Option(names = "--ema-out", paramLabel = "FILE",
            description = "Where the averaged parameters after the last step go (float32, shape "
                + "(N), written with the other outputs, all or none).")
    Path emaOut;

    @Mixin
    PrecisionOptions precisionOptions;

    @Option(names = "--master-out", paramLabel = "FILE",
            description = "Where the fp32 master weights after the last step go (float32, shape (N), "
                + "written with the other outputs, all or none); needs master weights.")
    Path masterOut;

    @Option(names = "--quiet", description = "Print nothing on success (default: one summary line on stderr).")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        OptimizerConfig config = optimizerOptions.config();
        if (!device.equals("opencl") && !device.equals("reference")) {
            throw new BadInputException("--device " + device + ": must be opencl or reference");
        }
        clip.check();
        schedule.check(List.of(config));
        if (clip.enabled() && clipValue != null) {
            throw new BadInputException("--clip-grad-norm and --clip-grad-value: give one of them, not both");
        }
        if (clipValue != null && !(clipValue >= 0)) {
            throw new BadInputException("--clip-grad-value " + clipValue + ": must be a number >= 0");
        }
        if (accumulate < 1) {
            throw new BadInputException("--accumulate " + accumulate + ": must be >= 1");
        }
        if ((emaDecay == null) != (emaOut == null)) {
            throw new BadInputException(emaDecay == null ? "--ema-out needs --ema DECAY"
                    : "--ema needs --ema-out FILE (where the averaged parameters go)");
        }
        if (emaDecay != null && !(emaDecay >= 0 && emaDecay <= 1)) {
            throw new BadInputException("--ema " + emaDecay + ": must be in [0, 1]");
        }
        Precision precision = precisionOptions.precision(config);
        GradScaler.Builder scalerArguments = precisionOptions.scaler();
        if (masterOut != null && !precision.masterWeights()) {
            throw new BadInputException("--master-out " + masterOut + ": " + precision.dtype().cliName()
                    + " parameters " + (precision.dtype() == Dtype.FP32 ? "keep no master weights (give "
                    + "--param-dtype bf16 or fp16)" : "without master weights have none to write"));
        }
        Map<String, Path> outputs = new LinkedHashMap<>();
        outputs.put("--out", out);
        outputs.put("--save-state", saveState);
        outputs.put("--ema-out", emaOut);
        outputs.put("--master-out", masterOut);
        outputs.values().removeIf(Objects::isNull);
        List<String> flags = List.copyOf(outputs.keySet());
        for (int i = 0; i < flags.size(); i++) {
            checkOutput(flags.get(i), outputs.get(flags.get(i)));
            for (int j = 0; j < i; j++) {
                if (samePath(outputs.get(flags.get(j)), outputs.get(flags.get(i)))) {
                    throw new BadInputException(flags.get(j) + " and " + flags.get(i) + " are both "
                            + outputs.get(flags.get(i)) + ": each output needs a file of its own");
                }
            }
        }
        checkInput("--params", params);
        checkInput("--grads", grads);
        if (loadState != null) {
            checkInput("--load-state", loadState);
        }
        float[] p0 = readArray("--params", params, 1).floats();
        Npy.Array gradients = readArray("--grads", grads, 2);
        long[] shape = gradients.shape();
        if (shape[1] != p0.length) {
            throw new BadInputException("--grads " + grads + ": has " + shape[1]
                    + " columns but --params has N = " + p0.length);
        }
        if (p0.length == 0) {
            throw new BadInputException("--params " + params + ": has no parameters (N = 0): nothing to replay");
        }
        if (shape[0] % accumulate != 0) {
            throw new BadInputException("--grads " + grads + ": has T = " + shape[0] + " rows, not a multiple of "
                    + "--accumulate " + accumulate);
        }
        float[] g = gradients.floats();
        int steps = (int) shape[0] / accumulate;
        int n = p0.length;
        if (precision.dtype() != Dtype.FP32) {
            // The values as the 16-bit type holds them: parameters, so that master weights start
            // equal to them, and each gradient row as a backward pass in that type writes it
            // (accumulation adds rows as given, in fp32, before it rounds the sum).
            for (int i = 0; i < n; i++) {
                p0[i] = precision.dtype().round(p0[i]);
            }
            for (int i = 0; i < g.length; i++) {
                g[i] = precision.dtype().round(g[i]);
            }
        }
        Outputs result = new Outputs(new float[n], emaOut == null ? null : new float[n],
                masterOut == null ? null : new float[n]);
        String where = "the CPU reference";
        long start = System.nanoTime();
        int[] dims = tensorShape == null ? new int[] {n}
                : tensorShape.stream().mapToInt(Integer::intValue).toArray();
        long product = 1;
        for (int d : dims) {
            if (d < 1) {
                throw new BadInputException("--shape " + Npy.shapeText(longs(dims)) + ": dimensions must be >= 1");
            }
            product = Math.min((long) Integer.MAX_VALUE + 1, product * d);
        }
        if (product != n) {
            throw new BadInputException("--shape " + Npy.shapeText(longs(dims)) + ": has " + product
                    + " elements but --params has N = " + n);
        }
        ParameterSet.Builder layout = ParameterSet.builder().group(config, precision).tensor(TENSOR, dims);
        if (device.equals("reference")) {
            try (ParameterSet set = layout.buildReference()) {
                replay(set, scalerArguments, p0, g, steps, result);
                config = set.config(0);
            }
        } else {
            try (Device d = deviceOption.open(); ParameterSet set = layout.build(d)) {
                where = d.toString();
                replay(set, scalerArguments, p0, g, steps, result);
                config = set.config(0);
            }
        }
        double ms = (System.nanoTime() - start) / 1e6;
        // The outputs are written as a set: all in full first, then all made visible, so a
        // failure while writing any leaves every file as it was.
        try (AtomicFile outFile = AtomicFile.prepare(out, Npy.contents(result.parameters, n));
             AtomicFile stateFile = saveState == null ? null : AtomicFile.prepare(saveState,
                     channel -> Checkpoint.write(result.state, Channels.newOutputStream(channel)));
             AtomicFile emaFile = emaOut == null ? null : AtomicFile.prepare(emaOut,
                     Npy.contents(result.averaged, n));
             AtomicFile masterFile = masterOut == null ? null : AtomicFile.prepare(masterOut,
                     Npy.contents(result.master, n))) {
            for (AtomicFile f : new AtomicFile[] {stateFile, emaFile, masterFile}) {
                if (f != null) {
                    f.commit();
                }
            }
            outFile.commit();
        }
        if (!quiet) {
            StringBuilder wrote = new StringBuilder(out.toString());
            for (Path p : new Path[] {saveState, emaOut, masterOut}) {
                if (p != null) {
                    wrote.append(" and ").append(p);
                }
            }
            String scaling = scalerArguments == null ? "" : String.format(Locale.ROOT,
                    "; GradScaler skipped %d of %d steps, final scale %s", result.skipped, steps,
                    result.finalScale);
            spec.commandLine().getErr().printf(Locale.ROOT, "replay: %s, %d steps on %d parameters%s, %s, "
                    + "%.1f ms%s; wrote %s%n", config, steps, n,
                    precision.dtype() == Dtype.FP32 ? "" : ", " + precision, where, ms, scaling, wrote);
        }
        return 0;
    }

    /** What a replay gives: the outputs' contents and, with a scaler, what it did. */
    private static final class Outputs {
        final float[] parameters;
        final float[] averaged;
        final float[] master;
        StateDict state;
        int skipped;
        float finalScale;

        Outputs(float[] parameters, float[] averaged, float[] master) {
            this.parameters = parameters;
            this.averaged = averaged;
            this.master = master;
        }
    }

    /** The one tensor replay optimizes, as named in saved states. */
    static final String TENSOR = "params";

    /**
     * Runs the steps and fills {@code result}. A loaded state's hyperparameters give way to those
     * set with --set, as changing param_groups after load_state_dict does in PyTorch.
     */
    private void replay(ParameterSet set, GradScaler.Builder scalerArguments, float[] p0, float[] g, int steps,
                        Outputs result) {
        int n = p0.length;
        // The schedule and the scaler are made before a state is loaded, which then restores
        // their own states too.
        LRScheduler scheduler = schedule.attach(set);
        GradScaler scaler = scalerArguments == null ? null : scalerArguments.build(set);
        if (loadState != null) {
            try {
                Checkpoint.load(set, loadState);
            } catch (CheckpointException e) {
                throw new BadInputException("--load-state " + e.getMessage(), e);
            }
            OptimizerConfig loaded = set.config(0);
            for (Map.Entry<String, String> e : optimizerOptions.settings.entrySet()) {
                loaded = loaded.with(e.getKey(), e.getValue());
            }
            set.setConfig(0, loaded);
        }
        if (emaDecay != null) {
            if (set.averaging() == null) {
                set.startAveraging(Averaging.ema(emaDecay));
            } else if (!set.averaging().equals(Averaging.ema(emaDecay))) {
                throw new BadInputException("--ema " + emaDecay + ": the loaded state averages with "
                        + set.averaging());
            }
        }
        // The parameters come from --params; master weights are part of a loaded state, which
        // they then keep (a resume from OUT.npy and the state is exact).
        float[] master = null;
        if (loadState != null && set.precision(0).masterWeights()) {
            master = new float[n];
            set.readMasterParameters(TENSOR, master);
        }
        set.writeParameters(TENSOR, p0);
        if (master != null) {
            set.writeMasterParameters(TENSOR, master);
        }
        float[] row = new float[n];
        // PyTorch's order within a step: accumulate, (unscale,) clip, step, (update the scale,)
        // average, schedule. A step the scaler skips still averages and schedules, as PyTorch's
        // loop does.
        for (int t = 0; t < steps; t++) {
            for (int k = 0; k < accumulate; k++) {
                System.arraycopy(g, (t * accumulate + k) * n, row, 0, n);
                if (k == 0) {
                    set.writeGradients(TENSOR, row);
                } else {
                    set.accumulateGradients(TENSOR, row);
                }
            }
            if (scaler != null && (clip.enabled() || clipValue != null)) {
                scaler.unscale();
            }
            clip.apply(set);
            if (clipValue != null) {
                set.clipGradValue(clipValue);
            }
            if (scaler == null) {
                set.step();
            } else {
                result.skipped += scaler.step() ? 0 : 1;
                scaler.update();
            }
            if (emaDecay != null) {
                set.updateAveraged();
            }
            if (scheduler != null) {
                scheduler.step();
            }
        }
        set.readParameters(TENSOR, result.parameters);
        if (result.averaged != null) {
            set.readAveraged(TENSOR, result.averaged);
        }
        if (result.master != null) {
            set.readMasterParameters(TENSOR, result.master);
        }
        result.finalScale = scaler == null ? 1f : scaler.getScale();
        result.state = saveState == null ? null : set.stateDict();
    }

    private static long[] longs(int[] dims) {
        return java.util.Arrays.stream(dims).asLongStream().toArray();
    }

    /** An input must be a regular file: a pipe or device would block or read as something else. */
    private static void checkInput(String flag, Path file) {
        if (!Files.exists(file)) {
            throw new BadInputException(flag + " " + file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(flag + " " + file + ": not a regular file (a directory, "
                    + "device or pipe); give a file");
        }
    }

    private static boolean samePath(Path a, Path b) {
        try {
            if (Files.exists(a) && Files.exists(b)) {
                return Files.isSameFile(a, b);
            }
        } catch (IOException e) {
            // Compared by name below.
        }
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    /** An output must be a regular file or not exist yet, in a directory that does. */
    private void checkOutput(String flag, Path out) {
        Path parent = out.toAbsolutePath().getParent();
        // The text as typed: a Path has already dropped a trailing slash.
        var matched = spec.commandLine().getParseResult().matchedOption(flag);
        String given = matched == null || matched.stringValues().isEmpty() ? "" : matched.stringValues().get(0);
        if (given.endsWith("/") || given.endsWith(java.io.File.separator)) {
            throw new BadInputException(flag + " " + given + ": names a directory; give a file name");
        }
        if (Files.isDirectory(out)) {
            throw new BadInputException(flag + " " + out + ": is a directory");
        }
        if (Files.exists(out) && !Files.isRegularFile(out)) {
            throw new BadInputException(flag + " " + out + ": not a regular file (a device or pipe); "
                    + "outputs replace regular files only");
        }
        if (Files.isSymbolicLink(out) && !Files.exists(out)) {
            throw new BadInputException(flag + " " + out + ": a symbolic link to nothing");
        }
        if (parent == null || !Files.isDirectory(parent)) {
            throw new BadInputException(flag + " " + out + ": directory " + parent + " does not exist");
        }
        if (!Files.isWritable(parent)) {
            throw new BadInputException(flag + " " + out + ": directory " + parent + " is not writable");
        }
    }

    private static Npy.Array readArray(String flag, Path file, int dimensions) {
        Npy.Array array;
        try {
            array = Npy.read(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new BadInputException(flag + " " + file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(flag + " " + file + ": " + e.getMessage(), e);
        }
        if (array.shape().length != dimensions) {
            throw new BadInputException(flag + " " + file + ": shape " + Npy.shapeText(array.shape())
                    + " has " + array.shape().length + " dimensions (must have " + dimensions + ")");
        }
        return array;
    }
}

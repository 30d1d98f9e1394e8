package org.clopt.cli;

import org.clopt.io.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.clopt.Checkpoint;
import org.clopt.CheckpointException;
import org.clopt.Device;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
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
                + "one row per step; OUT.npy receives the N final parameters as float32, "
                + "written atomically. On bad input the exit code is 2, one line on stderr says "
                + "why, and OUT.npy is left as it was."},
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
            description = "Where the final parameters go (float32, shape (N)).")
    Path out;

    @Option(names = "--device", paramLabel = "opencl|reference", defaultValue = "opencl",
            description = "opencl (default) runs the kernels on the selected device; reference "
                + "runs the CPU reference path.")
    String device;

    @Option(names = "--load-state", paramLabel = "FILE",
            description = "Load the optimizer state (a checkpoint saved by --save-state) before "
                + "the first step; the parameters still come from --params.")
    Path loadState;

    @Option(names = "--save-state", paramLabel = "FILE",
            description = "Save the optimizer state after the last step, as safetensors "
                + "(written atomically; see the README for the layout).")
    Path saveState;

    @Option(names = "--quiet", description = "Print nothing on success (default: one summary line on stderr).")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        OptimizerConfig config = optimizerOptions.config();
        if (!device.equals("opencl") && !device.equals("reference")) {
            throw new BadInputException("--device " + device + ": must be opencl or reference");
        }
        checkOutput("--out", out);
        if (saveState != null) {
            checkOutput("--save-state", saveState);
        }
        float[] p0 = readArray("--params", params, 1).floats();
        Npy.Array gradients = readArray("--grads", grads, 2);
        long[] shape = gradients.shape();
        if (shape[1] != p0.length) {
            throw new BadInputException("--grads " + grads + ": has " + shape[1]
                    + " columns but --params has N = " + p0.length);
        }
        float[] g = gradients.floats();
        int steps = (int) shape[0];
        int n = p0.length;
        float[] result = new float[n];
        String where = "the CPU reference";
        long start = System.nanoTime();
        ParameterSet.Builder layout = ParameterSet.builder().group(config).tensor(TENSOR, n);
        if (device.equals("reference")) {
            try (ParameterSet set = layout.buildReference()) {
                replay(set, p0, g, steps, result);
            }
        } else {
            try (Device d = deviceOption.open(); ParameterSet set = layout.build(d)) {
                where = d.toString();
                replay(set, p0, g, steps, result);
            }
        }
        double ms = (System.nanoTime() - start) / 1e6;
        Npy.write(out, result, n);
        if (!quiet) {
            spec.commandLine().getErr().printf(Locale.ROOT, "replay: %s, %d steps on %d "
                    + "parameters, %s, %.1f ms; wrote %s%n", config, steps, n, where, ms, out);
        }
        return 0;
    }

    /** The one tensor replay optimizes, as named in saved states. */
    static final String TENSOR = "params";

    /** Runs the steps; saves the state (atomically, before OUT.npy is written) if asked. */
    private void replay(ParameterSet set, float[] p0, float[] g, int steps, float[] result) {
        int n = p0.length;
        if (loadState != null) {
            try {
                Checkpoint.load(set, loadState);
            } catch (CheckpointException e) {
                throw new BadInputException("--load-state " + e.getMessage(), e);
            }
        }
        set.writeParameters(TENSOR, p0);
        float[] row = new float[n];
        for (int t = 0; t < steps; t++) {
            System.arraycopy(g, t * n, row, 0, n);
            set.writeGradients(TENSOR, row);
            set.step();
        }
        set.readParameters(TENSOR, result);
        if (saveState != null) {
            Checkpoint.save(set, saveState);
        }
    }

    private static void checkOutput(String flag, Path out) {
        Path parent = out.toAbsolutePath().getParent();
        if (Files.isDirectory(out)) {
            throw new BadInputException(flag + " " + out + ": is a directory");
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

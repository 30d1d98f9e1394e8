package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.clopt.io.Npy;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replay contract: success writes OUT.npy; every bad input exits 2 with one line on stderr
 * naming the argument and value, and leaves OUT.npy as it was.
 */
class ReplayCommandTest {
    @TempDir
    Path dir;
    Path p0;
    Path grads;
    Path out;
    static final byte[] OLD_OUT = "previous contents".getBytes(StandardCharsets.UTF_8);

    @BeforeEach
    void files() throws IOException {
        p0 = dir.resolve("p0.npy");
        grads = dir.resolve("grads.npy");
        out = dir.resolve("out.npy");
        Npy.write(p0, new float[] {1, 2, 3}, 3);
        Npy.write(grads, new float[] {0.1f, 0.2f, 0.3f, -0.1f, 0f, 0.5f}, 2, 3);
        Files.write(out, OLD_OUT);
    }

    static Cli.Result run(String... args) {
        return Cli.run(args);
    }

    String[] replay(String... extra) {
        List<String> args = new ArrayList<>(List.of("replay", "--optimizer", "adam",
                "--params", p0.toString(), "--grads", grads.toString()));
        args.addAll(List.of(extra));
        if (!args.contains("--out")) {
            args.addAll(List.of("--out", out.toString()));
        }
        return args.toArray(String[]::new);
    }

    /** Exit 2, one line that contains every fragment, and OUT.npy untouched. */
    void rejected(Cli.Result r, String... fragments) throws IOException {
        Cli.rejected(r, fragments);
        assertArrayEquals(OLD_OUT, Files.readAllBytes(out));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")),
                    "no temporary files are left");
        }
    }

    @Test
    void writesTheFinalParametersOnBothDevices() throws IOException {
        for (String device : new String[] {"opencl", "reference"}) {
            Cli.Result r = run(replay("--device", device, "--set", "lr=0.1", "--set", "betas=0.8,0.99"));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().startsWith("replay: adam{lr=0.1, betas=[0.8, 0.99]"), r.err());
            Npy.Array a = Npy.read(out);
            assertArrayEquals(new long[] {3}, a.shape());
            // Two Adam steps of lr 0.1 move each parameter by about 0.1 to 0.2 against the gradient.
            float[] p = a.floats();
            assertTrue(p[0] < 1 && p[0] > 0.75, String.valueOf(p[0]));
            assertTrue(p[2] < 3 && p[2] > 2.75, String.valueOf(p[2]));
        }
        Cli.Result quiet = run(replay("--quiet"));
        assertEquals(0, quiet.code());
        assertEquals("", quiet.err());
    }

    @Test
    void savedStateResumesExactly() throws IOException {
        float[] g4 = {0.1f, 0.2f, 0.3f, -0.1f, 0f, 0.5f, 0.7f, -0.2f, 0.1f, 0.3f, 0.3f, -0.6f};
        Path all = dir.resolve("all.npy");
        Path half1 = dir.resolve("half1.npy");
        Path half2 = dir.resolve("half2.npy");
        Npy.write(all, g4, 4, 3);
        Npy.write(half1, java.util.Arrays.copyOfRange(g4, 0, 6), 2, 3);
        Npy.write(half2, java.util.Arrays.copyOfRange(g4, 6, 12), 2, 3);
        for (String device : new String[] {"opencl", "reference"}) {
            Path straight = dir.resolve(device + "-straight.npy");
            Path mid = dir.resolve(device + "-mid.npy");
            Path resumed = dir.resolve(device + "-resumed.npy");
            Path state = dir.resolve(device + "-state.safetensors");
            String[] common = {"replay", "--optimizer", "nadam", "--set", "lr=0.05", "--device", device, "--quiet"};
            assertEquals(0, run(concat(common, "--params", p0.toString(), "--grads", all.toString(),
                    "--out", straight.toString())).code());
            assertEquals(0, run(concat(common, "--params", p0.toString(), "--grads", half1.toString(),
                    "--out", mid.toString(), "--save-state", state.toString())).code());
            assertEquals(0, run(concat(common, "--params", mid.toString(), "--grads", half2.toString(),
                    "--out", resumed.toString(), "--load-state", state.toString())).code());
            assertArrayEquals(Npy.read(straight).floats(), Npy.read(resumed).floats(), device);
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void rejectsBadOrMismatchedStateFiles() throws IOException {
        Path garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, "definitely not safetensors".getBytes(StandardCharsets.UTF_8));
        rejected(run(replay("--load-state", garbage.toString())), "--load-state", "garbage.safetensors");
        Files.delete(garbage);
        Path state = dir.resolve("sgd.safetensors");
        Path other = dir.resolve("other.npy");
        assertEquals(0, run("replay", "--optimizer", "sgd", "--set", "lr=0.1", "--params", p0.toString(),
                "--grads", grads.toString(), "--out", other.toString(), "--save-state", state.toString(),
                "--quiet").code());
        Files.delete(other);
        rejected(run(replay("--load-state", state.toString())), "--load-state", "sgd.safetensors");
        Files.delete(state);
        rejected(run(replay("--load-state", dir.resolve("none.safetensors").toString())), "--load-state",
                "no such file");
        Cli.Result r = run(replay("--save-state", dir.resolve("no/dir/s.safetensors").toString()));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--save-state") && r.err().contains("does not exist"), r.err());
    }

    @Test
    void rejectsBadOptimizerSettings() throws IOException {
        rejected(run("replay", "--optimizer", "adamx", "--params", p0.toString(), "--grads",
                grads.toString(), "--out", out.toString()), "--optimizer", "adamx");
        rejected(run(replay("--set", "lr=fast")), "--set", "lr", "'fast'");
        rejected(run(replay("--set", "betas=0.9,1.5")), "--set", "betas[1]", "1.5", "[0, 1)");
        rejected(run(replay("--set", "momentum=0.9")), "--set", "unknown hyperparameter", "momentum");
        rejected(run(replay("--set", "amsgrad=yes")), "--set", "amsgrad", "'yes'");
        rejected(run(replay("--device", "gpu")), "--device", "gpu");
        rejected(run(replay("--bogus")), "--bogus");
        rejected(run("replay", "--optimizer", "adam", "--params", p0.toString(), "--out", out.toString()),
                "--grads");
        rejected(run(replay("--device-name", "no-such-device")), "no-such-device");
    }

    @Test
    void rejectsBadTrainingMechanics() throws IOException {
        rejected(run(replay("--clip-grad-norm", "1", "--clip-grad-value", "1")), "--clip-grad-norm",
                "--clip-grad-value", "not both");
        rejected(run(replay("--accumulate", "3")), "--accumulate 3", "T = 2", "multiple");
        rejected(run(replay("--ema", "0.9")), "--ema", "--ema-out");
        Path ema = dir.resolve("ema.npy");
        rejected(run(replay("--ema-out", ema.toString())), "--ema-out", "--ema DECAY");
        rejected(run(replay("--clip-grad-norm", "1", "--norm-type", "3")), "--norm-type 3", "2, 1 or inf");
        // Checked before anything is written: the averaged parameters' file is not made either.
        rejected(run(replay("--accumulate", "3", "--ema", "0.9", "--ema-out", ema.toString())), "--accumulate 3");
        assertTrue(Files.notExists(ema), "--ema-out written on bad input");
    }

    @Test
    void rejectsBadPrecisionOptions() throws IOException {
        rejected(run(replay("--param-dtype", "fp64")), "--param-dtype fp64", "fp32, bf16 or fp16");
        rejected(run(replay("--param-dtype", "BF16")), "--param-dtype BF16", "fp32, bf16 or fp16");
        rejected(run(replay("--master-weights", "true")), "--master-weights true", "bf16 or fp16");
        rejected(run(replay("--master-weights", "false")), "--master-weights false", "bf16 or fp16");
        rejected(run(replay("--param-dtype", "bf16", "--master-weights", "yes")), "--master-weights yes",
                "true or false");
        rejected(run(replay("--param-dtype", "fp16", "--master-weights", "false", "--stochastic-rounding", "true")),
                "--stochastic-rounding true", "bf16, not fp16");
        rejected(run(replay("--param-dtype", "bf16", "--stochastic-rounding", "true")), "--stochastic-rounding true",
                "--master-weights false");
        rejected(run(replay("--param-dtype", "bf16", "--master-weights", "true", "--stochastic-rounding", "true")),
                "--stochastic-rounding true", "--master-weights false");
        rejected(run(replay("--stochastic-rounding", "maybe")), "--stochastic-rounding maybe", "true or false");
        rejected(run(replay("--seed", "7")), "--seed 7", "--stochastic-rounding true");
        rejected(run(replay("--param-dtype", "bf16", "--master-weights", "false", "--stochastic-rounding", "false",
                "--seed", "7")), "--seed 7", "--stochastic-rounding true");
        Path master = dir.resolve("master.npy");
        rejected(run(replay("--master-out", master.toString())), "--master-out", "fp32", "no master weights");
        rejected(run(replay("--param-dtype", "fp16", "--master-weights", "false", "--master-out", master.toString())),
                "--master-out", "without master weights");
        rejected(run(replay("--param-dtype", "bf16", "--master-out", out.toString())), "--out and --master-out");
        List<String> lamb = new ArrayList<>(List.of(replay("--param-dtype", "bf16", "--master-weights", "false",
                "--stochastic-rounding", "true")));
        lamb.set(lamb.indexOf("adam"), "lamb");
        rejected(run(lamb.toArray(String[]::new)), "--stochastic-rounding true", "lamb with",
                "rounds to nearest only");
        List<String> adafactor = new ArrayList<>(List.of(replay("--param-dtype", "bf16", "--master-weights", "false")));
        adafactor.set(adafactor.indexOf("adam"), "adafactor");
        rejected(run(adafactor.toArray(String[]::new)), "--param-dtype bf16", "adafactor keeps fp32 master weights");
        assertTrue(Files.notExists(master), "--master-out written on bad input");
    }

    @Test
    void rejectsBadGradScalerArguments() throws IOException {
        rejected(run(replay("--grad-scaler", "init_scale=1024,growth=2")), "--grad-scaler", "unknown key 'growth'",
                "init_scale, growth_factor, backoff_factor, growth_interval, enabled");
        rejected(run(replay("--grad-scaler", "init_scale")), "--grad-scaler 'init_scale'", "KEY=VALUE");
        rejected(run(replay("--grad-scaler", "init_scale=0")), "--grad-scaler", "init_scale", "0.0",
                "> 0 and a finite float");
        rejected(run(replay("--grad-scaler", "init_scale=1e39")), "--grad-scaler", "init_scale", "finite float");
        rejected(run(replay("--grad-scaler", "init_scale=big")), "--grad-scaler", "init_scale", "'big'");
        rejected(run(replay("--grad-scaler", "growth_factor=1")), "--grad-scaler", "growth_factor", "> 1.0");
        rejected(run(replay("--grad-scaler", "backoff_factor=1.5")), "--grad-scaler", "backoff_factor", "1.5",
                "(0, 1)");
        rejected(run(replay("--grad-scaler", "growth_interval=0")), "--grad-scaler", "growth_interval", "[1, ");
        rejected(run(replay("--grad-scaler", "growth_interval=2.5")), "--grad-scaler", "growth_interval", "'2.5'",
                "integer");
        rejected(run(replay("--grad-scaler", "enabled=yes")), "--grad-scaler", "enabled", "'yes'", "True, False");
        rejected(run(replay("--grad-scaler", "init_scale=2,init_scale=4")), "--grad-scaler", "init_scale given twice");
    }

    /**
     * The scaler's summary: an Inf in the second row skips that step and halves the scale, the
     * first row's clean step grows it (growth_interval 1); disabled, every step is taken.
     */
    @Test
    void theSummarySaysWhatTheScalerDid() throws IOException {
        Npy.write(grads, new float[] {0.1f, 0.2f, 0.3f, -0.1f, Float.POSITIVE_INFINITY, 0.5f}, 2, 3);
        for (String device : new String[] {"opencl", "reference"}) {
            Cli.Result r = run(replay("--device", device, "--param-dtype", "fp16", "--grad-scaler",
                    "init_scale=1024,growth_interval=1"));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains(", 2 steps on 3 parameters, fp16 with master weights, "), r.err());
            assertTrue(r.err().contains("; GradScaler skipped 1 of 2 steps, final scale 1024.0; wrote "), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        // Disabled, the Inf reaches the parameter.
        Cli.Result r = run(replay("--grad-scaler", "enabled=False"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("; GradScaler skipped 0 of 2 steps, final scale 1.0; wrote "), r.err());
        assertTrue(Float.isNaN(Npy.read(out).floats()[1]), r.err());
        // fp32 keeps the summary as it was.
        r = run(replay("--set", "lr=0.1"));
        assertTrue(r.err().matches("(?s)replay: adam\\{[^}]*\\}, 2 steps on 3 parameters, [^,]+, [0-9.]+ ms; wrote .*"),
                r.err());
    }

    /**
     * With 16-bit parameters the state file holds the precision and master weights (and the
     * scaler's state): resuming from OUT.npy and the state is exact, and a state saved with one
     * precision is refused by another.
     */
    @Test
    void aSixteenBitStateResumesExactlyAndOnlyWithItsPrecision() throws IOException {
        float[] g4 = {0.1f, 0.2f, 0.3f, -0.1f, Float.NaN, 0.5f, 0.7f, -0.2f, 0.1f, 0.3f, 0.3f, -0.6f};
        Path all = dir.resolve("all.npy");
        Path half1 = dir.resolve("half1.npy");
        Path half2 = dir.resolve("half2.npy");
        Npy.write(all, g4, 4, 3);
        Npy.write(half1, java.util.Arrays.copyOfRange(g4, 0, 6), 2, 3);
        Npy.write(half2, java.util.Arrays.copyOfRange(g4, 6, 12), 2, 3);
        String[][] precisions = {
            {"--param-dtype", "bf16", "--grad-scaler", "init_scale=256,growth_interval=1"},
            {"--param-dtype", "fp16", "--master-weights", "false"},
            {"--param-dtype", "bf16", "--master-weights", "false", "--stochastic-rounding", "true", "--seed", "9"}};
        for (String[] precision : precisions) {
            boolean master = !List.of(precision).contains("--master-weights");
            for (String device : new String[] {"opencl", "reference"}) {
                String[] common = concat(new String[] {"replay", "--optimizer", "adam", "--set", "lr=0.05",
                    "--device", device, "--quiet"}, precision);
                Path straight = dir.resolve("straight.npy");
                Path mid = dir.resolve("mid.npy");
                Path resumed = dir.resolve("resumed.npy");
                Path state = dir.resolve("state.safetensors");
                List<String> masters = master ? List.of("--master-out", dir.resolve("m-straight.npy").toString())
                        : List.of();
                assertEquals(0, run(concat(concat(common, "--params", p0.toString(), "--grads", all.toString(),
                        "--out", straight.toString()), masters.toArray(String[]::new))).code());
                assertEquals(0, run(concat(common, "--params", p0.toString(), "--grads", half1.toString(),
                        "--out", mid.toString(), "--save-state", state.toString())).code());
                List<String> resumedMasters = master ? List.of("--master-out", dir.resolve("m-resumed.npy").toString())
                        : List.of();
                Cli.Result r = run(concat(concat(common, "--params", mid.toString(), "--grads", half2.toString(),
                        "--out", resumed.toString(), "--load-state", state.toString()),
                        resumedMasters.toArray(String[]::new)));
                assertEquals(0, r.code(), r.err());
                String what = String.join(" ", precision) + " on " + device;
                assertArrayEquals(Files.readAllBytes(straight), Files.readAllBytes(resumed), what);
                if (master) {
                    assertArrayEquals(Files.readAllBytes(dir.resolve("m-straight.npy")),
                            Files.readAllBytes(dir.resolve("m-resumed.npy")), what + " master weights");
                }
                // Any other precision refuses the state, naming both.
                rejected(run("replay", "--optimizer", "adam", "--params", p0.toString(), "--grads", grads.toString(),
                        "--out", out.toString(), "--load-state", state.toString()), "--load-state",
                        "in the state but fp32 in the set");
            }
        }
        Path fp32 = dir.resolve("fp32.safetensors");
        Path other = dir.resolve("other.npy");
        assertEquals(0, run(replay("--out", other.toString(), "--save-state", fp32.toString(), "--quiet")).code());
        rejected(run(replay("--param-dtype", "bf16", "--load-state", fp32.toString())), "--load-state",
                "group 0 is fp32 in the state but bf16 with master weights in the set");
    }

    @Test
    void aShapeKeepsTheFilesFlatAndMustMatchN() throws IOException {
        assertEquals(0, run(replay("--quiet")).code());
        float[] flat = Npy.read(out).floats();
        Cli.Result r = run(replay("--shape", "3,1", "--quiet"));
        assertEquals(0, r.code(), r.err());
        Npy.Array shaped = Npy.read(out);
        assertArrayEquals(new long[] {3}, shaped.shape());
        assertArrayEquals(flat, shaped.floats()); // adam is element-wise: the shape changes nothing
        Files.write(out, OLD_OUT);
        rejected(run(replay("--shape", "2,2")), "--shape (2, 2)", "4 elements", "N = 3");
        rejected(run(replay("--shape", "3,0")), "--shape (3, 0)", ">= 1");
        rejected(run(replay("--shape", "three")), "--shape", "three");
    }

    @Test
    void rejectsBadSchedules() throws IOException {
        rejected(run(replay("--scheduler", "WarpLR(gamma=2)")), "--scheduler", "WarpLR");
        rejected(run(replay("--scheduler", "StepLR(step_size=2,gama=0.5)")), "--scheduler", "gama");
        rejected(run(replay("--scheduler", "StepLR(gamma=0.5)")), "--scheduler", "step_size");
        rejected(run(replay("--scheduler-milestones", "1")), "--scheduler-milestones");
        // Adam's betas[0] cycles, but adagrad has neither momentum nor betas.
        List<String> adagrad = new ArrayList<>(List.of(replay("--scheduler", "OneCycleLR(max_lr=0.1,total_steps=2)")));
        adagrad.set(adagrad.indexOf("adam"), "adagrad");
        rejected(run(adagrad.toArray(String[]::new)), "--scheduler", "cycle_momentum");
        // A schedule that runs for every step of the replay works.
        Cli.Result r = run(replay("--scheduler", "OneCycleLR(max_lr=0.1,total_steps=2)", "--quiet"));
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void rejectsBadFiles() throws IOException {
        Path missing = dir.resolve("missing.npy");
        rejected(run("replay", "--optimizer", "sgd", "--set", "lr=1", "--params", missing.toString(),
                "--grads", grads.toString(), "--out", out.toString()), "--params", "missing.npy",
                "no such file");
        Files.write(p0, "not numpy at all".getBytes(StandardCharsets.UTF_8));
        rejected(run(replay()), "--params", "p0.npy");
        files();
        byte[] whole = Files.readAllBytes(grads);
        Files.write(grads, java.util.Arrays.copyOf(whole, whole.length - 4));
        rejected(run(replay()), "--grads", "grads.npy");
        files();
        Npy.write(grads, new float[] {1, 2, 3, 4}, 2, 2);
        rejected(run(replay()), "--grads", "2 columns", "N = 3");
        Npy.write(grads, new float[] {1, 2, 3}, 3);
        rejected(run(replay()), "--grads", "(3,)", "must have 2");
        Npy.write(p0, new float[] {1, 2, 3, 4}, 2, 2);
        rejected(run(replay()), "--params", "(2, 2)", "must have 1");
        files();
        writeFloat64(p0, new double[] {1, 2, 3});
        rejected(run(replay()), "--params", "<f8", "float32");
    }

    @Test
    void rejectsAnUnwritableOutput() throws IOException {
        Cli.Result r = run(replay("--out", dir.resolve("no/such/dir/out.npy").toString()));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("does not exist"), r.err());
        r = run(replay("--out", dir.toString()));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("is a directory"), r.err());
    }

    @Test
    void missingOpenClIsOneLineAndExitTwo() throws Exception {
        // An empty vendor directory makes the ICD loader find no platform at all.
        Path vendors = Files.createDirectory(dir.resolve("vendors"));
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), replay()[0]);
        pb.command().addAll(List.of(replay()).subList(1, replay().length));
        pb.environment().put("OCL_ICD_VENDORS", vendors.toString());
        pb.environment().remove("CLOPT_DEVICE");
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, p.waitFor(), err);
        assertEquals(1, err.strip().split("\n").length, err);
        assertTrue(err.contains("no OpenCL platform found") && err.contains("apt-get install pocl-opencl-icd"), err);
        assertArrayEquals(OLD_OUT, Files.readAllBytes(out));
    }

    @Test
    void helpDocumentsTheContract() {
        Cli.Result top = run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("replay"), top.out());
        Cli.Result r = run("replay", "--help");
        assertEquals(0, r.code());
        for (String s : new String[] {"--optimizer", "--set", "--params", "--grads", "--out",
            "--device", "opencl", "reference", "--device-name", "--param-dtype", "--master-weights",
            "--stochastic-rounding", "--seed", "--grad-scaler", "--master-out"}) {
            assertTrue(r.out().contains(s), s + " missing from: " + r.out());
        }
    }

    private static void writeFloat64(Path file, double[] values) throws IOException {
        String header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + values.length + ",), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 8 * values.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        for (double v : values) {
            b.putDouble(v);
        }
        Files.write(file, b.array());
    }
}

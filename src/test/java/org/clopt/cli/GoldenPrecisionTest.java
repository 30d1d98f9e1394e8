package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.clopt.Dtype;
import org.clopt.io.GoldenNpy;
import org.clopt.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * replay's mixed precision (--param-dtype, --master-weights, --grad-scaler) against PyTorch
 * ({@code scripts/golden_precision.py}), on both devices:
 * <ul>
 *   <li>with master weights, the master weights must be as close to PyTorch's float64 run of
 *       the fp32 optimizer on the rounded inputs as {@link GoldenTest#compare} allows, and the
 *       working copy (OUT.npy) must be their rounding exactly;</li>
 *   <li>without master weights, the parameters must be as close to PyTorch's run that rounds the
 *       parameter after each step as PyTorch's own float32 run is, within {@link GoldenTest#FACTOR},
 *       measured in units of the 16-bit type (a rounding that goes the other way is one unit),
 *       plus one unit;</li>
 *   <li>with a scaler, the summary must report the steps PyTorch's GradScaler skips and its
 *       final scale;</li>
 *   <li>the two devices must agree bit for bit.</li>
 * </ul>
 */
class GoldenPrecisionTest {
    private static final String[] DEVICES = {"opencl", "reference"};
    private static final Pattern SCALER =
            Pattern.compile("GradScaler skipped (\\d+) of (\\d+) steps, final scale (\\S+);");
    private static Path root;

    /**
     * Worst errors per case: {opencl, reference, PyTorch float32} from PyTorch float64, in fp32
     * ulps of the master weights or in 16-bit units of the parameters without them.
     */
    private static final Map<String, double[]> WORST = new TreeMap<>();

    @BeforeAll
    static void findFiles() throws URISyntaxException {
        root = index().getParent();
    }

    private static Path index() throws URISyntaxException {
        return Path.of(GoldenPrecisionTest.class.getResource("/org/clopt/golden_precision/cases.tsv").toURI());
    }

    @AfterAll
    static void report() {
        StringBuilder s = new StringBuilder("error from PyTorch float64, master weights in fp32 ulp, parameters "
                + "without them in 16-bit units (opencl / reference / PyTorch float32):");
        WORST.forEach((k, v) -> s.append(String.format(" %s %.1f/%.1f/%.1f;", k, v[0], v[1], v[2])));
        System.out.println(s);
    }

    record Case(String name, String optimizer, Map<String, String> settings, List<String> args, Integer skipped,
                Float finalScale) {
        @Override
        public String toString() {
            return name;
        }

        Dtype dtype() {
            return Dtype.parse(args.get(args.indexOf("--param-dtype") + 1));
        }

        boolean master() {
            int at = args.indexOf("--master-weights");
            return at < 0 || args.get(at + 1).equals("true");
        }

        boolean scaled() {
            return args.contains("--grad-scaler");
        }
    }

    static List<Case> cases() throws IOException, URISyntaxException {
        List<Case> cases = new ArrayList<>();
        for (String line : Files.readAllLines(index())) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] cols = line.split("\t", -1);
            assertEquals(6, cols.length, "cases.tsv: " + line);
            Map<String, String> settings = new LinkedHashMap<>();
            for (String kv : cols[2].split(";")) {
                if (!kv.isEmpty()) {
                    settings.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
            }
            List<String> args = List.of(cols[3].split(" "));
            boolean scaled = args.contains("--grad-scaler");
            assertEquals(scaled, !cols[4].equals("-"), "cases.tsv: " + line);
            cases.add(new Case(cols[0], cols[1], settings, args, scaled ? Integer.valueOf(cols[4]) : null,
                    scaled ? Float.valueOf(cols[5]) : null));
        }
        // Every mode and size is covered: a cases.tsv cut short fails here rather than passing thinly.
        for (Dtype dtype : new Dtype[] {Dtype.BF16, Dtype.FP16}) {
            for (boolean master : new boolean[] {true, false}) {
                for (boolean scaled : new boolean[] {true, false}) {
                    assertTrue(cases.stream().anyMatch(c -> c.dtype() == dtype && c.master() == master
                            && c.scaled() == scaled), "cases.tsv has no case of " + dtype.cliName()
                            + (master ? " with" : " without") + " master weights" + (scaled ? " with" : " without")
                            + " a scaler: regenerate it with scripts/golden_precision.py");
                }
            }
        }
        for (String option : List.of("--accumulate", "--clip-grad-norm")) {
            assertTrue(cases.stream().anyMatch(c -> c.scaled() && c.args.contains(option)),
                    "cases.tsv has no scaler case with " + option);
        }
        return cases;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void replayTracksPyTorch(Case c, @TempDir Path tmp) throws IOException {
        Path dir = root.resolve(c.name);
        int n = Npy.read(dir.resolve("params0.npy")).floats().length;
        float[][] outs = new float[DEVICES.length][];
        float[][] masters = new float[DEVICES.length][];
        for (int d = 0; d < DEVICES.length; d++) {
            Path out = tmp.resolve(DEVICES[d] + ".npy");
            Path master = tmp.resolve(DEVICES[d] + "-master.npy");
            List<String> args = new ArrayList<>(List.of("replay", "--optimizer", c.optimizer,
                    "--params", dir.resolve("params0.npy").toString(),
                    "--grads", dir.resolve("grads.npy").toString(),
                    "--out", out.toString(), "--device", DEVICES[d]));
            c.settings.forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
            args.addAll(c.args);
            if (c.master()) {
                args.addAll(List.of("--master-out", master.toString()));
            }
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), c + " on " + DEVICES[d] + ": " + r.err());
            Matcher m = SCALER.matcher(r.err());
            assertEquals(c.scaled(), m.find(), c + ": " + r.err());
            if (c.scaled()) {
                assertEquals(c.skipped, Integer.valueOf(m.group(1)), c + " steps skipped: " + r.err());
                assertEquals(c.finalScale, Float.valueOf(m.group(3)), c + " final scale: " + r.err());
            }
            outs[d] = read(out, n);
            masters[d] = c.master() ? read(master, n) : null;
        }
        double[] worst = new double[3];
        String stem = c.master() ? "master" : "params";
        double[] f64 = GoldenNpy.read(dir.resolve(stem + "_f64.npy"));
        double[] f32 = GoldenNpy.read(dir.resolve(stem + "_f32.npy"));
        assertEquals(n, f64.length, c + ": " + stem + "_f64.npy");
        assertEquals(2 * n, f32.length, c + ": " + stem + "_f32.npy");
        double[] previous = Arrays.copyOfRange(f32, 0, n);
        double[] torch32 = Arrays.copyOfRange(f32, n, 2 * n);
        for (int d = 0; d < DEVICES.length; d++) {
            String what = c + " on " + DEVICES[d];
            assertHeldBy(c.dtype(), outs[d], what);
            double[] e;
            if (c.master()) {
                for (int i = 0; i < n; i++) {
                    if (Float.floatToIntBits(c.dtype().round(masters[d][i])) != Float.floatToIntBits(outs[d][i])) {
                        fail(String.format("%s: the working copy at %d is %s, not the rounded master weight %s",
                                what, i, outs[d][i], c.dtype().round(masters[d][i])));
                    }
                }
                e = GoldenTest.compare(what + " master weights", toDouble(masters[d]), f64, torch32, 0, n, previous);
                // The working copy can differ from PyTorch's rounded master weights only where
                // those lie within the error of a rounding boundary: by one 16-bit step at most.
                double units = compareInUnits(c.dtype(), outs[d], roundAll(c.dtype(), torch32), previous);
                assertTrue(units <= 1, what + ": the working copy is " + units + " 16-bit steps from PyTorch's");
            } else {
                e = compareInUnits(what + " parameters", c.dtype(), outs[d], f64, torch32, previous);
            }
            worst[d] = Math.max(worst[d], e[0]);
            worst[2] = Math.max(worst[2], e[1]);
        }
        for (int i = 0; i < n; i++) {
            if (Float.floatToIntBits(outs[0][i]) != Float.floatToIntBits(outs[1][i])
                    || (c.master() && Float.floatToIntBits(masters[0][i]) != Float.floatToIntBits(masters[1][i]))) {
                fail(String.format("%s: opencl and reference differ at %d", c, i));
            }
        }
        WORST.put(c.name, worst);
    }

    /**
     * Stochastic rounding through replay: a seed gives the same bits on every run and on both
     * devices, another seed other bits, and every value is a bf16.
     */
    @Test
    void stochasticRoundingIsReproducibleAndSeeded(@TempDir Path tmp) throws IOException {
        Path dir = root.resolve("adam_bf16_no_master");
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String run : new String[] {"opencl-1", "opencl-1-again", "reference-1", "opencl-2", "reference-2"}) {
            Path out = tmp.resolve(run + ".npy");
            Cli.run(0, "replay", "--optimizer", "adam", "--set", "lr=0.02",
                    "--params", dir.resolve("params0.npy").toString(), "--grads", dir.resolve("grads.npy").toString(),
                    "--out", out.toString(), "--device", run.substring(0, run.indexOf('-')), "--quiet",
                    "--param-dtype", "bf16", "--master-weights", "false", "--stochastic-rounding", "true",
                    "--seed", run.split("-")[1]);
            files.put(run, Files.readAllBytes(out));
            assertHeldBy(Dtype.BF16, Npy.read(out).floats(), run);
        }
        assertArrayEquals(files.get("opencl-1"), files.get("opencl-1-again"), "the same seed twice");
        assertArrayEquals(files.get("opencl-1"), files.get("reference-1"), "opencl and reference, seed 1");
        assertArrayEquals(files.get("opencl-2"), files.get("reference-2"), "opencl and reference, seed 2");
        assertFalse(Arrays.equals(files.get("opencl-1"), files.get("opencl-2")), "seeds 1 and 2 give the same bits");
    }

    private static float[] read(Path file, int n) throws IOException {
        Npy.Array a = Npy.read(file);
        assertEquals("<f4", a.descr());
        assertArrayEquals(new long[] {n}, a.shape());
        return a.floats();
    }

    /** Every value is one the 16-bit type holds: rounding it changes nothing. */
    private static void assertHeldBy(Dtype dtype, float[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            if (Float.floatToIntBits(dtype.round(values[i])) != Float.floatToIntBits(values[i])) {
                fail(what + ": " + values[i] + " at " + i + " is not a " + dtype.cliName() + " value");
            }
        }
    }

    private static double[] roundAll(Dtype dtype, double[] values) {
        double[] r = new double[values.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = dtype.round((float) values[i]);
        }
        return r;
    }

    /**
     * {@link GoldenTest#compare} in units of the 16-bit type at the scale of max(|float64
     * value|, |its previous value|): ours must be within FACTOR of PyTorch float32's, plus one
     * unit (one rounding gone the other way).
     */
    private static double[] compareInUnits(String what, Dtype dtype, float[] ours, double[] f64, double[] f32,
                                           double[] previous) {
        double oursErr = compareInUnits(dtype, ours, f64, previous);
        float[] torch = new float[f32.length];
        for (int i = 0; i < torch.length; i++) {
            torch[i] = (float) f32[i];
        }
        double torchErr = compareInUnits(dtype, torch, f64, previous);
        double allowed = GoldenTest.FACTOR * torchErr + 1;
        assertTrue(oursErr <= allowed, String.format("%s: %.2f %s steps from PyTorch float64, PyTorch float32 is "
                + "%.2f (allowed %.2f)", what, oursErr, dtype.cliName(), torchErr, allowed));
        return new double[] {oursErr, torchErr};
    }

    /** The largest distance in units of the 16-bit type. */
    private static double compareInUnits(Dtype dtype, float[] ours, double[] reference, double[] previous) {
        double worst = 0;
        for (int i = 0; i < ours.length; i++) {
            double scale = Math.max(Math.abs(reference[i]), Math.abs(previous[i]));
            worst = Math.max(worst, Math.abs(ours[i] - reference[i]) / unit(dtype, scale));
        }
        return worst;
    }

    /** The spacing of the 16-bit type's values at {@code scale}. */
    private static double unit(Dtype dtype, double scale) {
        double ulp = Math.max(Math.ulp((float) scale), Float.MIN_NORMAL);
        return dtype == Dtype.BF16 ? ulp * 0x1p16 : Math.max(Math.ulp((float) scale) * 0x1p13, 0x1p-24);
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}

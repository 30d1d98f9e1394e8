package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.clopt.io.GoldenNpy;
import org.clopt.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * replay's training mechanics (gradient accumulation, norm and value clipping, the EMA of the
 * parameters, learning-rate schedulers) against PyTorch ({@code scripts/golden_mechanics.py}):
 * on both devices the final parameters, and the averaged ones, must be as close to PyTorch's
 * float64 run as {@link GoldenTest#compare} allows, NaN exactly where PyTorch has NaN, and the
 * two devices must agree bit for bit.
 */
class GoldenMechanicsTest {
    private static final String[] DEVICES = {"opencl", "reference"};
    private static Path root;

    /** Worst errors per case: {opencl, reference, PyTorch float32} in ulp, printed for the record. */
    private static final Map<String, double[]> WORST = new TreeMap<>();

    @BeforeAll
    static void findFiles() throws URISyntaxException {
        root = index().getParent();
    }

    private static Path index() throws URISyntaxException {
        return Path.of(GoldenMechanicsTest.class.getResource("/org/clopt/golden_mechanics/cases.tsv").toURI());
    }

    @AfterAll
    static void report() {
        StringBuilder s = new StringBuilder("ulp from PyTorch float64 (opencl / reference / PyTorch float32):");
        WORST.forEach((k, v) -> s.append(String.format(" %s %.1f/%.1f/%.1f;", k, v[0], v[1], v[2])));
        System.out.println(s);
    }

    record Case(String name, String optimizer, Map<String, String> settings, List<String> args) {
        @Override
        public String toString() {
            return name;
        }

        boolean averages() {
            return args.contains("--ema");
        }
    }

    static List<Case> cases() throws IOException, URISyntaxException {
        List<Case> cases = new ArrayList<>();
        for (String line : Files.readAllLines(index())) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] cols = line.split("\t", -1);
            assertEquals(4, cols.length, "cases.tsv: " + line);
            Map<String, String> settings = new LinkedHashMap<>();
            for (String kv : cols[2].split(";")) {
                if (!kv.isEmpty()) {
                    settings.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
            }
            List<String> args = cols[3].isEmpty() ? List.of() : List.of(cols[3].split(" "));
            cases.add(new Case(cols[0], cols[1], settings, args));
        }
        // Every mechanic is covered: a cases.tsv cut short fails here rather than passing thinly.
        for (String option : List.of("--accumulate", "--clip-grad-norm", "--clip-grad-value", "--ema",
                "--scheduler", "--scheduler-milestones")) {
            assertTrue(cases.stream().anyMatch(c -> c.args.contains(option)),
                    "cases.tsv has no case with " + option + ": regenerate it with scripts/golden_mechanics.py");
        }
        return cases;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void replayTracksPyTorch(Case c, @TempDir Path tmp) throws IOException {
        Path dir = root.resolve(c.name);
        assertEquals(c.averages(), Files.exists(dir.resolve("ema_f64.npy")), c + ": --ema and ema_f64.npy");
        float[][] params = new float[DEVICES.length][];
        float[][] averaged = new float[DEVICES.length][];
        for (int d = 0; d < DEVICES.length; d++) {
            Path out = tmp.resolve(DEVICES[d] + ".npy");
            Path ema = tmp.resolve(DEVICES[d] + "-ema.npy");
            List<String> args = new ArrayList<>(List.of("replay", "--optimizer", c.optimizer,
                    "--params", dir.resolve("params0.npy").toString(),
                    "--grads", dir.resolve("grads.npy").toString(),
                    "--out", out.toString(), "--device", DEVICES[d], "--quiet"));
            c.settings.forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
            args.addAll(c.args);
            if (c.averages()) {
                args.addAll(List.of("--ema-out", ema.toString()));
            }
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), c + " on " + DEVICES[d] + ": " + r.err());
            params[d] = read(out);
            averaged[d] = c.averages() ? read(ema) : null;
        }
        double[] worst = new double[3];
        check(c + " parameters", params, dir, "params", worst);
        if (c.averages()) {
            check(c + " averaged parameters", averaged, dir, "ema", worst);
        }
        WORST.put(c.name, worst);
    }

    private static float[] read(Path file) throws IOException {
        Npy.Array a = Npy.read(file);
        assertEquals("<f4", a.descr());
        assertArrayEquals(new long[] {67}, a.shape());
        return a.floats();
    }

    /**
     * Each device's result against the last step of PyTorch's trajectory {@code <stem>_f64.npy}
     * (its step before gives the scale, as in GoldenTest), and the devices against each other.
     */
    private static void check(String what, float[][] results, Path dir, String stem, double[] worst)
            throws IOException {
        double[] f64 = GoldenNpy.read(dir.resolve(stem + "_f64.npy"));
        double[] f32 = GoldenNpy.read(dir.resolve(stem + "_f32.npy"));
        int n = results[0].length;
        int last = f64.length - n;
        assertTrue(last >= n, what + ": the trajectory has fewer than two steps");
        double[] previous = Arrays.copyOfRange(f64, last - n, last);
        for (int d = 0; d < results.length; d++) {
            double[] ours = new double[n];
            for (int i = 0; i < n; i++) {
                ours[i] = results[d][i];
            }
            double[] e = compareWithNaN(what + " on " + DEVICES[d], ours, f64, f32, last, n, previous);
            worst[d] = Math.max(worst[d], e[0]);
            worst[2] = Math.max(worst[2], e[1]);
        }
        // The kernel and the reference compute the same operations in the same order. NaN
        // compares by position only: which NaN an operation makes is the hardware's choice.
        for (int i = 0; i < n; i++) {
            if (Float.floatToIntBits(results[0][i]) != Float.floatToIntBits(results[1][i])) {
                fail(String.format("%s: opencl and reference differ at %d: %s and %s", what, i,
                        Float.toHexString(results[0][i]), Float.toHexString(results[1][i])));
            }
        }
    }

    /**
     * {@link GoldenTest#compare} where NaN must stand exactly where PyTorch float64 has it (and
     * its float32 run too); the elements that are NaN are left out of the error.
     */
    static double[] compareWithNaN(String what, double[] ours, double[] f64, double[] f32, int offset, int n,
                                   double[] previous) {
        double[] o = ours.clone();
        double[] r64 = Arrays.copyOfRange(f64, offset, offset + n);
        double[] r32 = Arrays.copyOfRange(f32, offset, offset + n);
        double[] p = previous.clone();
        for (int i = 0; i < n; i++) {
            assertEquals(Double.isNaN(r64[i]), Double.isNaN(r32[i]),
                    what + ": PyTorch's float64 and float32 runs disagree on NaN at " + i);
            assertEquals(Double.isNaN(r64[i]), Double.isNaN(o[i]),
                    what + " at " + i + ": " + o[i] + " where PyTorch float64 has " + r64[i]);
            if (Double.isNaN(r64[i])) {
                o[i] = 0;
                r64[i] = 0;
                r32[i] = 0;
            }
            if (Double.isNaN(p[i])) {
                p[i] = 0;
            }
        }
        return GoldenTest.compare(what, o, r64, r32, 0, n, p);
    }
}

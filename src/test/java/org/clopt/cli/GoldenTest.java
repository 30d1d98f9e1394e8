package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.clopt.OnDevice;
import org.clopt.ParameterSet;
import org.clopt.OptimizerConfig;
import org.clopt.io.GoldenNpy;
import org.clopt.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both paths against trajectories recorded from PyTorch 1.13 ({@code scripts/golden.py}): after
 * every step, the parameters, and every state array after the last, must be as close to
 * PyTorch's float64 run as PyTorch's own float32 run is, within a small factor. The replay
 * command is checked on the same files.
 */
class GoldenTest extends OnDevice {
    /** How much further from float64 than PyTorch's float32 run clopt may be. */
    static final double FACTOR = 4;
    /** Allowance in float32 ulps on top, for trajectories where PyTorch's float32 is exact. */
    static final double FLOOR_ULPS = 4;

    private static Path root;

    @BeforeAll
    static void findFiles() throws URISyntaxException {
        root = Path.of(GoldenTest.class.getResource("/org/clopt/golden/cases.tsv").toURI()).getParent();
    }

    /** Worst errors per algorithm (kernel path, PyTorch float32), printed for the record. */
    private static final Map<String, double[]> WORST = new java.util.TreeMap<>();

    @AfterAll
    static void report() {
        StringBuilder s = new StringBuilder("ulp from PyTorch float64 (kernel / PyTorch float32):");
        WORST.forEach((k, v) -> s.append(String.format(" %s %.1f/%.1f;", k, v[0], v[1])));
        System.out.println(s);
    }

    /** A case; {@code shape} is its parameters' shape (cases.tsv's fourth column), empty for a vector. */
    record Case(String name, String optimizer, Map<String, String> settings, String shape) {
        int[] dims(int n) {
            return shape.isEmpty() ? new int[] {n}
                    : java.util.Arrays.stream(shape.split(",")).mapToInt(Integer::parseInt).toArray();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() throws IOException, URISyntaxException {
        Path index = Path.of(GoldenTest.class.getResource("/org/clopt/golden/cases.tsv").toURI());
        List<Case> cases = new ArrayList<>();
        for (String line : Files.readAllLines(index)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] cols = line.split("\t", -1);
            Map<String, String> settings = new LinkedHashMap<>();
            for (String kv : cols[2].split(";")) {
                if (!kv.isEmpty()) {
                    settings.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
            }
            cases.add(new Case(cols[0], cols[1], settings, cols.length > 3 ? cols[3] : ""));
        }
        // Every algorithm of the registry has golden cases, dense and sparse.
        for (String name : org.clopt.Algorithms.NAMES) {
            assertTrue(cases.stream().filter(c -> c.optimizer.equals(name)).count() >= 2,
                    "cases.tsv has no golden cases for " + name + ": add them to scripts/golden.py");
        }
        return cases;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelTracksPyTorch(Case c) throws IOException {
        OptimizerConfig config = OptimizerConfig.of(c.optimizer, c.settings);
        try (ParameterSet opt = layout(c).build(device)) {
            double[] errors = check(c, opt);
            WORST.merge(config.algorithm(), errors,
                    (a, b) -> new double[] {Math.max(a[0], b[0]), Math.max(a[1], b[1])});
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void referenceTracksPyTorch(Case c) throws IOException {
        try (ParameterSet opt = layout(c).buildReference()) {
            check(c, opt);
        }
    }

    /** One tensor of the case's shape, in a group of its configuration. */
    private static ParameterSet.Builder layout(Case c) throws IOException {
        int n = (int) Npy.read(root.resolve(c.name).resolve("params0.npy")).shape()[0];
        return ParameterSet.builder().group(OptimizerConfig.of(c.optimizer, c.settings)).tensor(TENSOR, c.dims(n));
    }

    private static final String TENSOR = "p";

    /** Checks every step and state array; returns the worst errors {ours, PyTorch float32}. */
    private double[] check(Case c, ParameterSet opt) throws IOException {
        Path dir = root.resolve(c.name);
        float[] p0 = Npy.read(dir.resolve("params0.npy")).floats();
        Npy.Array grads = Npy.read(dir.resolve("grads.npy"));
        double[] f64 = GoldenNpy.read(dir.resolve("params_f64.npy"));
        double[] f32 = GoldenNpy.read(dir.resolve("params_f32.npy"));
        int steps = (int) grads.shape()[0];
        int n = p0.length;
        float[] g = grads.floats();
        opt.writeParameters(TENSOR, p0);
        float[] row = new float[n];
        float[] p = new float[n];
        double[] previous = toDouble(p0);
        double[] worst = new double[2];
        for (int t = 0; t < steps; t++) {
            System.arraycopy(g, t * n, row, 0, n);
            opt.writeGradients(TENSOR, row);
            opt.step();
            opt.readParameters(TENSOR, p);
            double[] e = compare(c + " param after step " + (t + 1), toDouble(p), f64, f32, t * n, n,
                    previous);
            worst[0] = Math.max(worst[0], e[0]);
            worst[1] = Math.max(worst[1], e[1]);
            previous = java.util.Arrays.copyOfRange(f64, t * n, t * n + n);
        }
        for (String name : opt.stateNames(TENSOR)) {
            int size = java.util.Arrays.stream(opt.stateShape(TENSOR, name)).reduce(1, (a, b) -> a * b);
            float[] s = new float[size];
            opt.readState(TENSOR, name, s);
            compare(c + " " + name, toDouble(s),
                    GoldenNpy.read(dir.resolve("state_" + name + "_f64.npy")),
                    GoldenNpy.read(dir.resolve("state_" + name + "_f32.npy")), 0, size, new double[size]);
        }
        return worst;
    }

    /**
     * Max error in float32 ulps of max(|float64 value|, |its previous value|), the scale of the
     * operands when p - update cancels: ours must be within FACTOR of PyTorch float32's.
     */
    static double[] compare(String what, double[] ours, double[] f64, double[] f32, int offset, int n,
                            double[] previous) {
        double oursErr = 0;
        double torchErr = 0;
        for (int i = 0; i < n; i++) {
            double ref = f64[offset + i];
            double scale = Math.max(Math.abs(ref), Math.abs(previous[i]));
            double ulp = Math.max(Math.ulp((float) scale), Float.MIN_NORMAL);
            oursErr = Math.max(oursErr, Math.abs(ours[i] - ref) / ulp);
            torchErr = Math.max(torchErr, Math.abs(f32[offset + i] - ref) / ulp);
        }
        double allowed = FACTOR * torchErr + FLOOR_ULPS;
        String message = String.format(
                "%s: %.1f ulp from PyTorch float64, PyTorch float32 is %.1f ulp (allowed %.1f)",
                what, oursErr, torchErr, allowed);
        assertTrue(oursErr <= allowed, message);
        return new double[] {oursErr, torchErr};
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void replayMatchesTheLibrary(Case c, @TempDir Path tmp) throws IOException {
        Path dir = root.resolve(c.name);
        List<String> args = new ArrayList<>(List.of("replay", "--optimizer", c.optimizer,
                "--params", dir.resolve("params0.npy").toString(),
                "--grads", dir.resolve("grads.npy").toString()));
        c.settings.forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
        if (!c.shape.isEmpty()) {
            args.addAll(List.of("--shape", c.shape));
        }
        int n = (int) Npy.read(dir.resolve("params0.npy")).shape()[0];
        float[][] results = new float[2][];
        String[] devices = {"opencl", "reference"};
        for (int d = 0; d < 2; d++) {
            Path out = tmp.resolve(devices[d] + ".npy");
            List<String> run = new ArrayList<>(args);
            run.addAll(List.of("--out", out.toString(), "--device", devices[d], "--quiet"));
            assertEquals(0, Main.run(run.toArray(String[]::new)), c.name);
            Npy.Array a = Npy.read(out);
            assertEquals("<f4", a.descr());
            assertArrayEquals(new long[] {n}, a.shape());
            results[d] = a.floats();
        }
        // Both devices must agree with PyTorch's last step as the library does.
        double[] f64 = GoldenNpy.read(dir.resolve("params_f64.npy"));
        double[] f32 = GoldenNpy.read(dir.resolve("params_f32.npy"));
        int last = f64.length - n;
        double[] previous = java.util.Arrays.copyOfRange(f64, last - n, last);
        for (float[] r : results) {
            compare(c + " replay", toDouble(r), f64, f32, last, n, previous);
        }
    }
}

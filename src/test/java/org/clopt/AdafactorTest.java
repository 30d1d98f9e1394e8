package org.clopt;

import static org.clopt.HandCases.flat;
import static org.clopt.HandCases.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.clopt.io.GoldenNpy;
import org.clopt.tools.Conformance;
import org.junit.jupiter.api.Test;

/**
 * Adafactor's factored statistics and per-tensor step: values worked out by hand for a group
 * of a matrix, a vector and a 3-D tensor (which {@code scripts/golden.py}'s NumPy Adafactor must
 * give too), and the kernels against the CPU reference on groups of many shapes, steps, clipping
 * and special values, state arrays included.
 */
class AdafactorTest extends OnDevice {
    /** lr 0.25 (rho = 0.25 at t = 1), eps2 0.125, weight_decay 0.5 (decay 0.875). */
    static final OptimizerConfig HAND = Adafactor.builder().lr(0.25).eps(null, 0.125).weightDecay(0.5).build();
    static final String[] NAMES = {"matrix", "vector", "cube"};
    static final int[][] SHAPES = {{2, 4}, {2}, {2, 1, 2}};
    static final float[][] P0 = {{2, 2, 2, 2, 2, 2, 2, 2}, {0, 0}, {4, 4, 4, 4}};
    static final float[][] GRADS = {{3, 3, 3, 3, 4, 4, 4, 4}, {3, -4}, {3, 4, 6, 8}};

    /*
     * t = 1, so w = 1: each statistic is its first mean.
     * matrix: row norms 6, 8: row_var 36/4 = 9, 64/4 = 16; column norms 5: col_var 25/2 = 12.5;
     *   mean(row_var) = 12.5, var = row_var: u = 3/3, 4/4 = 1; RMS(u) = 1, no clipping;
     *   RMS(p) = 2: alpha = 2 * 0.25 = 0.5; p = 2 * 0.875 - 0.5 = 1.25.
     * vector: variance = g^2 = 9, 16: u = 1, -1; ||p|| = 0: alpha = eps2 * rho = 1/32.
     * cube (R = 1, C = 2): row norms 5, 10: row_var 12.5, 50; col_var = g^2 = 9, 16, 36, 64;
     *   var = col_var: u = 1; RMS(p) = 4: alpha = 1; p = 4 * 0.875 - 1 = 2.5.
     */
    static final float[][] PARAMS = {{1.25f, 1.25f, 1.25f, 1.25f, 1.25f, 1.25f, 1.25f, 1.25f},
        {-0.03125f, 0.03125f}, {2.5f, 2.5f, 2.5f, 2.5f}};
    static final Map<String, float[]> STATE = Map.of(
            "matrix.row_var", new float[] {9, 16}, "matrix.col_var", new float[] {12.5f, 12.5f, 12.5f, 12.5f},
            "vector.variance", new float[] {9, 16},
            "cube.row_var", new float[] {12.5f, 50}, "cube.col_var", new float[] {9, 16, 36, 64});

    private static ParameterSet hand(Device on) {
        ParameterSet.Builder b = ParameterSet.builder().group(HAND);
        for (int t = 0; t < NAMES.length; t++) {
            b.tensor(NAMES[t], SHAPES[t]);
        }
        return on == null ? b.buildReference() : b.build(on);
    }

    @Test
    void bothPathsGiveTheHandValues() {
        for (Device on : new Device[] {device, null}) {
            String path = on == null ? "reference " : "kernel ";
            try (ParameterSet set = hand(on)) {
                for (int t = 0; t < NAMES.length; t++) {
                    set.writeParameters(NAMES[t], P0[t]);
                    set.writeGradients(NAMES[t], GRADS[t]);
                }
                set.step();
                for (int t = 0; t < NAMES.length; t++) {
                    float[] out = new float[P0[t].length];
                    set.readParameters(NAMES[t], out);
                    assertArrayEquals(PARAMS[t], out, path + NAMES[t]);
                    for (String key : set.stateNames(NAMES[t])) {
                        float[] expected = STATE.get(NAMES[t] + "." + key);
                        float[] state = new float[expected.length];
                        set.readState(NAMES[t], key, state);
                        assertArrayEquals(expected, state, path + NAMES[t] + " " + key);
                    }
                }
            }
        }
    }

    @Test
    void theGoldenScriptsAdafactorGivesTheHandValues() throws IOException, URISyntaxException {
        Path dir = Path.of(AdafactorTest.class.getResource("/org/clopt/golden/adafactor_hand/params_f64.npy")
                .toURI()).getParent();
        double[] trajectory = GoldenNpy.read(dir.resolve("params_f64.npy"));
        float[] params = flat(PARAMS);
        assertEquals(params.length, trajectory.length);
        for (int i = 0; i < params.length; i++) {
            assertEquals(params[i], trajectory[i], "[" + i + "]");
        }
        float[] rowVar = {9, 16, 12.5f, 50};
        float[] colVar = {12.5f, 12.5f, 12.5f, 12.5f, 9, 16, 36, 64};
        assertArrayEquals(toDouble(rowVar), GoldenNpy.read(dir.resolve("state_row_var_f64.npy")));
        assertArrayEquals(toDouble(colVar), GoldenNpy.read(dir.resolve("state_col_var_f64.npy")));
        assertArrayEquals(new double[] {9, 16}, GoldenNpy.read(dir.resolve("state_variance_f64.npy")));
        assertArrayEquals(toDouble(flat(P0)), GoldenNpy.read(dir.resolve("params0.npy")));
        assertArrayEquals(toDouble(flat(GRADS)), GoldenNpy.read(dir.resolve("grads.npy")));
    }

    @Test
    void stateShapesFollowTheTensor() {
        OptimizerConfig c = Adafactor.builder().build();
        assertArrayEquals(new int[] {3, 4, 1}, c.stateShape("row_var", new int[] {3, 4, 5}));
        assertArrayEquals(new int[] {3, 1, 5}, c.stateShape("col_var", new int[] {3, 4, 5}));
        assertNull(c.stateShape("variance", new int[] {4, 5}));
        assertArrayEquals(new int[] {7}, c.stateShape("variance", new int[] {7}));
        assertEquals(List.of("variance"), c.stateKeys(new int[] {7}));
        assertEquals(List.of("row_var", "col_var"), c.stateKeys(new int[] {2, 3}));
        try (ParameterSet set = ParameterSet.builder().group(c).tensor("w", 2, 3).buildReference()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> set.readState("w", "variance", new float[6]));
            assertTrue(e.getMessage().contains("keeps no variance"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> set.readState("w", "row_var", new float[3]));
            assertTrue(e.getMessage().contains("has 2 floats"), e.getMessage());
        }
    }

    @Test
    void sixteenBitGroupsKeepMasterWeights() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ParameterSet.builder().group(Adafactor.builder().build(),
                        Precision.of(Dtype.BF16).withMasterWeights(false)).tensor("w", 4, 4).buildReference());
        assertTrue(e.getMessage().contains("adafactor keeps fp32 master weights"), e.getMessage());
        // With master weights the step is the fp32 step on the rounded gradients, on both paths.
        for (Dtype dtype : new Dtype[] {Dtype.BF16, Dtype.FP16}) {
            for (Device on : new Device[] {device, null}) {
                ParameterSet.Builder half = ParameterSet.builder().group(Adafactor.builder().build(), Precision.of(dtype))
                        .tensor("w", 33, 31).tensor("v", 100);
                ParameterSet.Builder full = ParameterSet.builder().group(Adafactor.builder().build())
                        .tensor("w", 33, 31).tensor("v", 100);
                try (ParameterSet a = on == null ? half.buildReference() : half.build(on);
                     ParameterSet b = on == null ? full.buildReference() : full.build(on)) {
                    SplittableRandom random = new SplittableRandom(5);
                    for (String name : a.names()) {
                        float[] p = values(random, a.size(name), false);
                        a.writeParameters(name, p);
                        b.writeParameters(name, p);
                        a.writeMasterParameters(name, p);
                    }
                    for (int step = 0; step < 3; step++) {
                        for (String name : a.names()) {
                            float[] g = values(random, a.size(name), false);
                            for (int i = 0; i < g.length; i++) {
                                g[i] = dtype.round(g[i]);
                            }
                            a.writeGradients(name, g);
                            b.writeGradients(name, g);
                        }
                        a.step();
                        b.step();
                    }
                    for (String name : a.names()) {
                        float[] master = new float[a.size(name)];
                        float[] fp32 = new float[master.length];
                        float[] working = new float[master.length];
                        a.readMasterParameters(name, master);
                        b.readParameters(name, fp32);
                        a.readParameters(name, working);
                        assertArrayEquals(fp32, master, dtype + " " + name);
                        for (int i = 0; i < master.length; i++) {
                            assertEquals(dtype.round(master[i]), working[i], dtype + " " + name + "[" + i + "]");
                        }
                    }
                }
            }
        }
    }

    @Test
    void epsTakesNoneAsText() {
        OptimizerConfig c = OptimizerConfig.of("adafactor", Map.of("eps", "None,0.01"));
        assertEquals(Arrays.asList(null, 0.01), c.hyperparameters().get("eps"));
        assertEquals("None,0.01", Hyperparameter.format(c.hyperparameters().get("eps")));
        OptimizerConfig two = OptimizerConfig.of("adafactor", Map.of("eps", "1e-30,0.001"));
        assertEquals(List.of(1e-30, 0.001), two.hyperparameters().get("eps"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adafactor", Map.of("eps", "0.001,None")));
        assertTrue(e.getMessage().contains("eps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Adafactor.builder().d(0.5).build());
        assertEquals("invalid d: 0.5 (must be a finite number >= 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Adafactor.builder().beta2Decay(0.1).build());
        assertEquals("invalid beta2_decay: 0.1 (must be a finite number <= 0)", e.getMessage());
    }

    /** Shapes of one group: vectors, matrices (rows longer than a chunk, and one column), 3-D, empty. */
    static final int[][] MANY = {{1000}, {33, 31}, {0, 5}, {3, 7, 5}, {2, 5000}, {4097, 1}, {1}, {6, 4, 3, 2},
        {129, 64}, {5}};

    @Test
    void kernelsTrackTheReferenceOverManyShapes() {
        for (Map<String, String> settings : List.of(Map.<String, String>of(),
                Map.of("lr", "0.05", "beta2_decay", "-0.5", "eps", "1e-20,0.01", "d", "1.5",
                        "weight_decay", "0.1", "maximize", "true"))) {
            OptimizerConfig config = OptimizerConfig.of("adafactor", settings);
            for (boolean special : new boolean[] {false, true}) {
                for (boolean clip : new boolean[] {false, true}) {
                    compare(config, special, clip);
                }
            }
        }
    }

    private static void compare(OptimizerConfig config, boolean special, boolean clip) {
        ParameterSet.Builder b = ParameterSet.builder().group(config);
        for (int t = 0; t < MANY.length; t++) {
            b.tensor("t" + t, MANY[t]);
        }
        SplittableRandom random = new SplittableRandom(7);
        double allowed = Conformance.allowedUlps("adafactor");
        try (ParameterSet kernel = b.build(device); ParameterSet reference = b.buildReference()) {
            for (int t = 0; t < MANY.length; t++) {
                float[] p = values(random, size(MANY[t]), false);
                kernel.writeParameters("t" + t, p);
                reference.writeParameters("t" + t, p);
            }
            for (int step = 1; step <= 4; step++) {
                for (int t = 0; t < MANY.length; t++) {
                    float[] g = values(random, size(MANY[t]), special && step == 2 && t % 3 == 0);
                    kernel.writeGradients("t" + t, g);
                    reference.writeGradients("t" + t, g);
                }
                if (clip) {
                    kernel.clipGradNorm(0.5);
                    reference.clipGradNorm(0.5);
                }
                kernel.step();
                reference.step();
                for (int t = 0; t < MANY.length; t++) {
                    String name = "t" + t;
                    String what = config + " special=" + special + " clip=" + clip + " step " + step + " "
                            + name + Arrays.toString(MANY[t]);
                    int n = size(MANY[t]);
                    assertClose(what + " param", read(kernel, name, null, n), read(reference, name, null, n),
                            allowed);
                    for (String key : reference.stateNames(name)) {
                        int m = size(reference.stateShape(name, key));
                        assertClose(what + " " + key, read(kernel, name, key, m), read(reference, name, key, m),
                                allowed);
                    }
                }
            }
        }
    }

    private static float[] read(ParameterSet set, String name, String key, int n) {
        float[] out = new float[n];
        if (key == null) {
            set.readParameters(name, out);
        } else {
            set.readState(name, key, out);
        }
        return out;
    }

    private static void assertClose(String what, float[] actual, float[] expected, double allowed) {
        for (int i = 0; i < expected.length; i++) {
            double ulps = Conformance.ulps(actual[i], expected[i], expected[i]);
            assertTrue(ulps <= allowed, what + "[" + i + "]: kernel " + actual[i] + ", reference " + expected[i]
                    + " (" + ulps + " ulp)");
        }
    }

    private static float[] values(SplittableRandom random, int n, boolean special) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        if (special && n > 0) {
            float[] s = {Float.NaN, Float.POSITIVE_INFINITY, 1e30f, 1e-30f, 0f, -0f, Float.MIN_VALUE};
            for (float x : s) {
                v[random.nextInt(n)] = x;
            }
        }
        return v;
    }

    private static int size(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }


}

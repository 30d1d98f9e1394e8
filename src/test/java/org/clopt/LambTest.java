package org.clopt;

import static org.clopt.HandCases.flat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import org.clopt.io.GoldenNpy;
import org.junit.jupiter.api.Test;

/**
 * LAMB's per-tensor trust ratio against values worked out by hand, because its golden values
 * come from clopt's own NumPy implementation ({@code scripts/golden.py}) and each golden case is
 * one tensor: that implementation's float64 output for a small case of three tensors, and both
 * clopt paths on the same tensors as one group, must be exactly these. Every value is a short
 * binary fraction, so nothing rounds.
 */
class LambTest extends OnDevice {
    /** betas (0.5, 0.75), eps 0: after the first step m / (1 - b1) = g, v / (1 - b2) = g^2, r = sign(g). */
    static final OptimizerConfig CONFIG = Lamb.builder().lr(0.125).betas(0.5, 0.75).eps(0).build();
    static final String[] NAMES = {"a", "b", "c"};
    static final float[][] P0 = {{3f, 4f, 0f, 0f}, {0f, 0f, 0f}, {0.5f, 0.5f, 0.5f, 0.5f}};
    static final float[][] GRADS = {{1f, -1f, 1f, -1f}, {2f, -0.5f, 4f}, {-3f, 5f, -7f, 9f}};

    /*
     * a: ||p|| = 5, r = 1, -1, 1, -1, ||r|| = 2: ratio 2.5, p - 0.125 * 2.5 * r = p - 0.3125 r
     * b: ||p|| = 0: ratio 1, p - 0.125 r
     * c: ||p|| = 1, ||r|| = 2: ratio 0.5, p - 0.0625 r
     */
    static final float[][] PARAMS = {{2.6875f, 4.3125f, -0.3125f, 0.3125f}, {-0.125f, 0.125f, -0.125f},
        {0.5625f, 0.4375f, 0.5625f, 0.4375f}};
    /** m = 0.5 g, v = 0.25 g^2. */
    static final float[][] EXP_AVG = {{0.5f, -0.5f, 0.5f, -0.5f}, {1f, -0.25f, 2f}, {-1.5f, 2.5f, -3.5f, 4.5f}};
    static final float[][] EXP_AVG_SQ = {{0.25f, 0.25f, 0.25f, 0.25f}, {1f, 0.0625f, 4f},
        {2.25f, 6.25f, 12.25f, 20.25f}};


    @Test
    void theGoldenScriptsLambGivesTheHandValues() throws IOException, URISyntaxException {
        Path dir = Path.of(LambTest.class.getResource("/org/clopt/golden/lamb_hand/params_f64.npy").toURI())
                .getParent();
        float[] params = flat(PARAMS);
        double[] trajectory = GoldenNpy.read(dir.resolve("params_f64.npy"));
        assertEquals(params.length, trajectory.length);
        for (int i = 0; i < params.length; i++) {
            assertEquals(params[i], trajectory[i], "[" + i + "]");
        }
        float[] m = flat(EXP_AVG);
        float[] v = flat(EXP_AVG_SQ);
        double[] gm = GoldenNpy.read(dir.resolve("state_exp_avg_f64.npy"));
        double[] gv = GoldenNpy.read(dir.resolve("state_exp_avg_sq_f64.npy"));
        for (int i = 0; i < m.length; i++) {
            assertEquals(m[i], gm[i], "exp_avg [" + i + "]");
            assertEquals(v[i], gv[i], "exp_avg_sq [" + i + "]");
        }
        float[] p0 = flat(P0);
        float[] grads = flat(GRADS);
        double[] gp0 = GoldenNpy.read(dir.resolve("params0.npy"));
        double[] gg = GoldenNpy.read(dir.resolve("grads.npy"));
        for (int i = 0; i < p0.length; i++) {
            assertEquals(p0[i], gp0[i]);
            assertEquals(grads[i], gg[i]);
        }
    }

    private static ParameterSet threeTensors(Device on) {
        ParameterSet.Builder b = ParameterSet.builder().group(CONFIG);
        for (int t = 0; t < NAMES.length; t++) {
            b.tensor(NAMES[t], P0[t].length);
        }
        return on == null ? b.buildReference() : b.build(on);
    }

    @Test
    void bothPathsGiveEachTensorItsOwnRatio() {
        for (Device on : new Device[] {device, null}) {
            try (ParameterSet set = threeTensors(on)) {
                for (int t = 0; t < NAMES.length; t++) {
                    set.writeParameters(NAMES[t], P0[t]);
                    set.writeGradients(NAMES[t], GRADS[t]);
                }
                set.step();
                for (int t = 0; t < NAMES.length; t++) {
                    float[] out = new float[P0[t].length];
                    set.readParameters(NAMES[t], out);
                    assertArrayEquals(PARAMS[t], out, (on == null ? "reference " : "kernel ") + NAMES[t]);
                    set.readState(NAMES[t], "exp_avg", out);
                    assertArrayEquals(EXP_AVG[t], out);
                    set.readState(NAMES[t], "exp_avg_sq", out);
                    assertArrayEquals(EXP_AVG_SQ[t], out);
                }
            }
        }
    }

    @Test
    void aZeroUpdateLeavesTheTensorAsItIs() {
        // g = 0 with eps > 0: r = 0, ||r|| = 0, ratio 1 and p unchanged; the other tensor moves.
        OptimizerConfig config = Lamb.builder().lr(0.5).build();
        for (Device on : new Device[] {device, null}) {
            ParameterSet.Builder b = ParameterSet.builder().group(config).tensor("still", 5000).tensor("moves", 3);
            try (ParameterSet set = on == null ? b.buildReference() : b.build(on)) {
                float[] p = new float[5000];
                Arrays.fill(p, 2f);
                set.writeParameters("still", p);
                set.writeGradients("still", new float[5000]);
                set.writeParameters("moves", new float[] {1f, 1f, 1f});
                set.writeGradients("moves", new float[] {1f, 1f, 1f});
                set.step();
                float[] out = new float[5000];
                set.readParameters("still", out);
                assertArrayEquals(p, out);
                float[] moved = new float[3];
                set.readParameters("moves", moved);
                // r = 1 / (1 + 1e-6) each; ratio sqrt(3) / ||r||; the step is about lr * ratio * r = 0.5.
                for (float x : moved) {
                    assertEquals(0.5f, x, 1e-5f);
                }
            }
        }
    }
}

package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.clopt.io.GoldenNpy;
import org.junit.jupiter.api.Test;

/**
 * Lion against values worked out by hand, because its golden values come from clopt's own NumPy
 * implementation of the paper's Algorithm 2 ({@code scripts/golden.py}), not from a library: that
 * implementation's float64 output for a small case, and both clopt paths on the same case, must
 * be exactly these. Every value of the case is a short binary fraction, so nothing rounds.
 */
class LionTest extends OnDevice {
    /** lr 0.5, betas (0.5, 0.75), weight_decay 0.5: p is multiplied by 1 - 0.25 = 0.75 first. */
    static final OptimizerConfig CONFIG = Lion.builder().lr(0.5).betas(0.5, 0.75).weightDecay(0.5).build();
    static final float[] P0 = {1f, -2f, 0.5f};
    static final float[][] GRADS = {{1f, -1f, 0f}, {-2f, -1f, 4f}, {0.3125f, Float.NaN, -3f}};

    /*
     * step 1, m = 0:            p * 0.75 = 0.75, -1.5, 0.375
     *   c = 0.5*m + 0.5*g       = 0.5, -0.5, 0           sign  1, -1, 0
     *   p = p - 0.5 * sign      = 0.25, -1, 0.375
     *   m = 0.75*m + 0.25*g     = 0.25, -0.25, 0
     * step 2:                   p * 0.75 = 0.1875, -0.75, 0.28125
     *   c = 0.125 - 1, -0.125 - 0.5, 0 + 2 = -0.875, -0.625, 2    sign -1, -1, 1
     *   p                       = 0.6875, -0.25, -0.21875
     *   m = 0.1875 - 0.5, -0.1875 - 0.25, 0 + 1 = -0.3125, -0.4375, 1
     * step 3:                   p * 0.75 = 0.515625, -0.1875, -0.1640625
     *   c = -0.15625 + 0.15625, NaN, 0.5 - 1.5 = 0, NaN, -1      sign 0, 0 (torch.sign), -1
     *   p                       = 0.515625, -0.1875, 0.3359375
     *   m = -0.234375 + 0.078125, NaN, 0.75 - 0.75 = -0.15625, NaN, 0
     */
    static final float[][] PARAMS = {{0.25f, -1f, 0.375f}, {0.6875f, -0.25f, -0.21875f},
        {0.515625f, -0.1875f, 0.3359375f}};
    static final float[] EXP_AVG = {-0.15625f, Float.NaN, 0f};

    @Test
    void theGoldenScriptsLionGivesTheHandValues() throws IOException, URISyntaxException {
        Path dir = Path.of(LionTest.class.getResource("/org/clopt/golden/lion_hand/params_f64.npy").toURI())
                .getParent();
        double[] trajectory = GoldenNpy.read(dir.resolve("params_f64.npy"));
        for (int t = 0; t < PARAMS.length; t++) {
            for (int i = 0; i < P0.length; i++) {
                assertEquals(PARAMS[t][i], trajectory[t * P0.length + i], "step " + (t + 1) + " [" + i + "]");
            }
        }
        double[] m = GoldenNpy.read(dir.resolve("state_exp_avg_f64.npy"));
        for (int i = 0; i < P0.length; i++) {
            assertEquals(EXP_AVG[i], m[i], "exp_avg [" + i + "]");
        }
        double[] p0 = GoldenNpy.read(dir.resolve("params0.npy"));
        double[] grads = GoldenNpy.read(dir.resolve("grads.npy"));
        for (int i = 0; i < P0.length; i++) {
            assertEquals(P0[i], p0[i]);
            for (int t = 0; t < GRADS.length; t++) {
                assertEquals(GRADS[t][i], grads[t * P0.length + i]);
            }
        }
    }

    @Test
    void bothPathsGiveTheHandValues() {
        try (Optimizer kernel = Optimizer.create(device, CONFIG, P0.length);
             Optimizer reference = Optimizer.reference(CONFIG, P0.length)) {
            for (Optimizer opt : new Optimizer[] {kernel, reference}) {
                opt.writeParameters(P0);
                float[] p = new float[P0.length];
                for (int t = 0; t < GRADS.length; t++) {
                    opt.writeGradients(GRADS[t]);
                    opt.step();
                    opt.readParameters(p);
                    assertArrayEquals(PARAMS[t], p, "step " + (t + 1));
                }
                float[] m = new float[P0.length];
                opt.readState("exp_avg", m);
                assertArrayEquals(EXP_AVG, m);
            }
        }
    }

    @Test
    void maximizeStepsUpTheGradient() {
        try (Optimizer opt = Optimizer.reference(Lion.builder().lr(0.5).maximize(true).build(), 2)) {
            opt.writeParameters(new float[] {1f, 1f});
            opt.writeGradients(new float[] {2f, -3f});
            opt.step();
            float[] p = new float[2];
            opt.readParameters(p);
            assertArrayEquals(new float[] {1.5f, 0.5f}, p);
        }
    }
}

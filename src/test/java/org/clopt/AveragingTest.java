package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Averaged parameters (AveragedModel): the device against the CPU reference bit for bit, both
 * against the update written out in float32 as PyTorch computes it, and saved and restored with
 * the set.
 */
class AveragingTest extends OnDevice {
    private static final int[] SIZES = {0, 1, 3, 1023, 4097, 70001};

    private static ParameterSet build(boolean onDevice) {
        ParameterSet.Builder b = ParameterSet.builder().group(Adam.builder().lr(0.01).build());
        for (int n : SIZES) {
            b.tensor("t" + n, n);
        }
        return onDevice ? b.build(device) : b.buildReference();
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }

    /** torch.lerp (its vectorized form, with fused multiply-adds) and get_swa_avg_fn, in float32. */
    private static float expected(Averaging a, long before, float avg, float p) {
        if (before == 0) {
            return p;
        }
        if (a.ema()) {
            float w = (float) (1 - a.decay());
            return w < 0.5f ? Math.fma(w, p - avg, avg) : Math.fma(w - 1f, p - avg, p);
        }
        return avg + (p - avg) / (float) (before + 1);
    }

    @Test
    void updatesMatchPyTorchsFormulaOnBothPaths() {
        for (Averaging a : new Averaging[] {Averaging.ema(0.9), Averaging.ema(0.3), Averaging.ema(1), Averaging.swa()}) {
            try (ParameterSet cl = build(true); ParameterSet ref = build(false)) {
                cl.startAveraging(a);
                ref.startAveraging(a);
                SplittableRandom r = new SplittableRandom(3);
                float[][] mirror = new float[SIZES.length][];
                for (int step = 0; step < 5; step++) {
                    for (int k = 0; k < SIZES.length; k++) {
                        float[] p = random(r, SIZES[k]);
                        cl.writeParameters("t" + SIZES[k], p);
                        ref.writeParameters("t" + SIZES[k], p);
                        if (mirror[k] == null) {
                            mirror[k] = new float[SIZES[k]];
                        }
                        for (int i = 0; i < p.length; i++) {
                            mirror[k][i] = expected(a, step, mirror[k][i], p[i]);
                        }
                    }
                    cl.updateAveraged();
                    ref.updateAveraged();
                    for (int k = 0; k < SIZES.length; k++) {
                        float[] x = new float[SIZES[k]];
                        float[] y = new float[SIZES[k]];
                        cl.readAveraged("t" + SIZES[k], x);
                        ref.readAveraged("t" + SIZES[k], y);
                        assertArrayEquals(mirror[k], y, a + " step " + step);
                        assertArrayEquals(y, x, a + " step " + step);
                    }
                }
                assertEquals(5, cl.averagedCount());
            }
        }
    }

    @Test
    void averagedParametersAreSavedAndRestored() throws IOException {
        try (ParameterSet set = build(true)) {
            set.startAveraging(Averaging.ema(0.75));
            SplittableRandom r = new SplittableRandom(1);
            for (int step = 0; step < 3; step++) {
                for (int n : SIZES) {
                    set.writeParameters("t" + n, random(r, n));
                    set.writeGradients("t" + n, random(r, n));
                }
                set.step();
                set.updateAveraged();
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Checkpoint.write(set.stateDict(true), bytes);
            StateDict state = Checkpoint.read(new ByteArrayInputStream(bytes.toByteArray()));
            assertEquals(Averaging.ema(0.75), state.averaging());
            assertEquals(3, state.averagedCount());
            try (ParameterSet copy = ParameterSet.builder(state).build(device)) {
                assertEquals(Averaging.ema(0.75), copy.averaging());
                for (ParameterSet s : new ParameterSet[] {set, copy}) {
                    s.writeParameters("t3", new float[] {1, 2, 3});
                    s.updateAveraged();
                }
                for (int n : SIZES) {
                    float[] x = new float[n];
                    float[] y = new float[n];
                    set.readAveraged("t" + n, x);
                    copy.readAveraged("t" + n, y);
                    assertArrayEquals(x, y);
                }
            }
            // A set that averages refuses a state without averaged parameters.
            try (ParameterSet plain = build(false)) {
                StateDict none = plain.stateDict();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> set.loadStateDict(none));
                assertTrue(e.getMessage().contains("no averaged parameters"), e.getMessage());
            }
        }
    }

    @Test
    void misuseIsRefusedClearly() {
        try (ParameterSet set = build(false)) {
            assertThrows(IllegalStateException.class, set::updateAveraged);
            assertThrows(IllegalStateException.class, () -> set.readAveraged("t1", new float[1]));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Averaging.ema(1.5));
            assertEquals("invalid decay: 1.5 (must be in [0, 1])", e.getMessage());
            set.startAveraging(Averaging.swa());
            assertThrows(IllegalStateException.class, () -> set.startAveraging(Averaging.swa()));
            // A group added later is averaged too.
            set.addGroup(Sgd.builder().lr(0.1).build(), new ParameterSet.TensorSpec("late", 4));
            set.writeParameters("late", new float[] {1, 2, 3, 4});
            set.updateAveraged();
            float[] x = new float[4];
            set.readAveraged("late", x);
            assertArrayEquals(new float[] {1, 2, 3, 4}, x);
        }
    }
}

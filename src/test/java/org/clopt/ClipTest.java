package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradient clipping and accumulation: the device's reduction against the CPU reference bit for
 * bit, both against the norm in double precision, and PyTorch's semantics at the edges (zero
 * and non-finite norms, max_norm 0, one huge element, empty tensors).
 */
class ClipTest extends OnDevice {
    /** Name, group, size: empty tensors, sizes at and around the chunk of 4096, a large one. */
    private static final Object[][] LAYOUT = {
        {"e0", 0, 0}, {"one", 0, 1}, {"three", 0, 3}, {"k", 0, 1023}, {"chunk", 0, 4096},
        {"e1", 1, 0}, {"mid", 1, 4097}, {"big", 1, 70001}, {"e2", 1, 0},
    };
    private static final double[] NORMS = {2, 1, Double.POSITIVE_INFINITY};

    private static ParameterSet build(boolean onDevice) {
        ParameterSet.Builder b = ParameterSet.builder();
        int group = -1;
        for (Object[] t : LAYOUT) {
            if ((int) t[1] != group) {
                group = (int) t[1];
                b.group(Sgd.builder().lr(group == 0 ? 1 : 0.5).build());
            }
            b.tensor((String) t[0], (int) t[2]);
        }
        return onDevice ? b.build(device) : b.buildReference();
    }

    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return x;
    }

    private static void writeAll(ParameterSet set, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        for (String name : set.names()) {
            set.writeParameters(name, random(r, set.size(name), 1));
            set.writeGradients(name, random(r, set.size(name), scale));
        }
    }

    private static List<float[]> read(ParameterSet set, boolean gradients) {
        List<float[]> all = new ArrayList<>();
        for (String name : set.names()) {
            float[] x = new float[set.size(name)];
            if (gradients) {
                set.readGradients(name, x);
            } else {
                set.readParameters(name, x);
            }
            all.add(x);
        }
        return all;
    }

    /** The norm of the concatenated gradients in double precision. */
    private static double exactNorm(List<float[]> gradients, double p) {
        double acc = 0;
        for (float[] g : gradients) {
            for (float x : g) {
                double a = Math.abs(x);
                acc = p == 2 ? acc + a * a : p == 1 ? acc + a : Math.max(acc, a);
            }
        }
        return p == 2 ? Math.sqrt(acc) : acc;
    }

    private static void assertSame(List<float[]> expected, List<float[]> actual) {
        for (int t = 0; t < expected.size(); t++) {
            assertArrayEquals(expected.get(t), actual.get(t), "tensor " + LAYOUT[t][0]);
        }
    }

    @Test
    void deviceMatchesReferenceBitForBitAndTheNormIsAccurate() {
        for (double p : NORMS) {
            for (double maxNorm : new double[] {0.5, 1e6, 0}) {
                try (ParameterSet cl = build(true); ParameterSet ref = build(false)) {
                    for (int step = 0; step < 3; step++) {
                        for (ParameterSet set : List.of(cl, ref)) {
                            writeAll(set, 7 + step, 0.1);
                            set.clipGradNorm(maxNorm, p, false);
                            set.step();
                        }
                        float norm = ref.gradNorm();
                        assertEquals(Float.floatToIntBits(norm), Float.floatToIntBits(cl.gradNorm()), "p=" + p);
                        SplittableRandom r = new SplittableRandom(7 + step);
                        List<float[]> raw = new ArrayList<>();
                        for (String name : ref.names()) {
                            random(r, ref.size(name), 1);
                            raw.add(random(r, ref.size(name), 0.1));
                        }
                        double exact = exactNorm(raw, p);
                        assertEquals(exact, norm, exact * 2e-6, "p=" + p);
                        assertSame(read(ref, false), read(cl, false));
                    }
                }
            }
        }
    }

    @Test
    void clippedGradientsAreTorchsInPlaceProduct() {
        try (ParameterSet set = build(true)) {
            writeAll(set, 3, 1);
            List<float[]> raw = read(set, true);
            set.clipGradNorm(1.0);
            float total = set.gradNorm();
            float coef = Math.min((float) 1.0 * (1f / (total + 1e-6f)), 1f);
            List<float[]> clipped = read(set, true);
            for (int t = 0; t < raw.size(); t++) {
                for (int i = 0; i < raw.get(t).length; i++) {
                    assertEquals(raw.get(t)[i] * coef, clipped.get(t)[i]);
                }
            }
            assertEquals(1.0, exactNorm(clipped, 2), 1e-5);
        }
    }

    /** A step reads grad * coefficient; a second step without new gradients reuses the clipped ones. */
    @Test
    void fusedClippingEqualsClippingInPlace() {
        try (ParameterSet fused = build(true); ParameterSet inPlace = build(true)) {
            writeAll(fused, 11, 1);
            writeAll(inPlace, 11, 1);
            fused.clipGradNorm(0.25);
            inPlace.clipGradNorm(0.25);
            read(inPlace, true); // writes the coefficient into the gradients
            for (int k = 0; k < 2; k++) {
                fused.step();
                inPlace.step();
            }
            assertSame(read(inPlace, false), read(fused, false));
            // Clipping again clips the clipped gradients, as PyTorch's would.
            fused.clipGradNorm(0.1);
            assertEquals(0.25, fused.gradNorm(), 1e-6);
            assertEquals(0.1, exactNorm(read(fused, true), 2), 1e-6);
        }
    }

    static List<org.clopt.tools.Conformance.OptionSet> optionSets() {
        return org.clopt.tools.Conformance.optionSets();
    }

    /**
     * Every algorithm's clipped kernel variant (-DCLOPT_GRAD_SCALE): steps that read grad *
     * coefficient are bit for bit the steps of the same kernel on gradients clipped in place.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("optionSets")
    void everyAlgorithmsFusedClippingEqualsClippingInPlace(org.clopt.tools.Conformance.OptionSet options) {
        ParameterSet.Builder b = ParameterSet.builder().group(options.config()).tensor("a", 1023).tensor("b", 3)
                .group(options.config()).tensor("c", 4097);
        try (ParameterSet fused = b.build(device); ParameterSet inPlace = b.build(device)) {
            SplittableRandom r = new SplittableRandom(4);
            for (int step = 0; step < 3; step++) {
                for (String name : fused.names()) {
                    float[] p = random(r, fused.size(name), 1);
                    float[] g = random(r, fused.size(name), 2);
                    if (step == 0) {
                        fused.writeParameters(name, p);
                        inPlace.writeParameters(name, p);
                    }
                    fused.writeGradients(name, g);
                    inPlace.writeGradients(name, g);
                }
                fused.clipGradNorm(0.5, step == 1 ? Double.POSITIVE_INFINITY : 2, false, "a", "c");
                inPlace.clipGradNorm(0.5, step == 1 ? Double.POSITIVE_INFINITY : 2, false, "a", "c");
                read(inPlace, true); // writes the coefficient into the gradients
                fused.step();
                inPlace.step();
            }
            for (String name : fused.names()) {
                float[] x = new float[fused.size(name)];
                float[] y = new float[fused.size(name)];
                fused.readParameters(name, x);
                inPlace.readParameters(name, y);
                assertArrayEquals(y, x, options + " " + name);
                for (String key : fused.stateNames(name)) {
                    fused.readState(name, key, x);
                    inPlace.readState(name, key, y);
                    assertArrayEquals(y, x, options + " " + name + " " + key);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void edgeCases(boolean onDevice) {
        try (ParameterSet set = build(onDevice)) {
            String[] names = set.names().toArray(String[]::new);
            // Zero gradients: norm 0, coefficient max_norm / 1e-6 clamped to 1.
            writeAll(set, 1, 0);
            set.clipGradNorm(1.0);
            assertEquals(0f, set.gradNorm());
            assertEquals(0.0, exactNorm(read(set, true), 2));
            // One huge element: the norm is exact, not inf (a float sum of squares would overflow).
            for (double p : NORMS) {
                writeAll(set, 1, 0);
                float[] big = new float[set.size("big")];
                big[5000] = -1e30f;
                set.writeGradients("big", big);
                set.clipGradNorm(2.0, p, false);
                assertEquals(1e30f, set.gradNorm(), "p=" + p);
                float[] g = new float[big.length];
                set.readGradients("big", g);
                assertEquals(-2.0f, g[5000], 1e-6f);
                // Tiny values do not underflow to a zero norm.
                big[5000] = 1e-30f;
                big[7] = 1e-30f;
                set.writeGradients("big", big);
                set.clipGradNorm(2.0, p, false);
                double expected = p == 2 ? Math.sqrt(2) * 1e-30 : p == 1 ? 2e-30 : 1e-30;
                assertEquals(expected, set.gradNorm(), expected * 1e-6, "p=" + p);
            }
            // max_norm 0 zeroes the gradients.
            writeAll(set, 2, 1);
            set.clipGradNorm(0.0);
            for (float[] g : read(set, true)) {
                for (float x : g) {
                    assertEquals(0f, Math.abs(x));
                }
            }
            // A non-finite norm: the coefficient (0 for inf, NaN for NaN) is applied ...
            writeAll(set, 2, 1);
            float[] one = {Float.POSITIVE_INFINITY};
            set.writeGradients("one", one);
            set.clipGradNorm(1.0);
            assertEquals(Float.POSITIVE_INFINITY, set.gradNorm());
            float[] g = new float[3];
            set.readGradients("three", g);
            for (float x : g) {
                assertEquals(0f, Math.abs(x)); // times 0: -0 for negative gradients, as in PyTorch
            }
            set.writeGradients("one", new float[] {Float.NaN});
            set.clipGradNorm(1.0);
            assertTrue(Float.isNaN(set.gradNorm()));
            set.readGradients("three", g);
            assertTrue(Float.isNaN(g[0]));
            // ... or, with error_if_nonfinite, nothing is scaled and the step is not spoilt.
            writeAll(set, 2, 1);
            List<float[]> before = read(set, true);
            set.writeGradients("one", one);
            NonFiniteNormException e = assertThrows(NonFiniteNormException.class,
                    () -> set.clipGradNorm(1.0, 2, true));
            assertTrue(e.getMessage().contains("Infinity"), e.getMessage());
            set.readGradients("three", g);
            assertArrayEquals(before.get(2), g);
            // Selected tensors only: the others keep their gradients.
            writeAll(set, 4, 1);
            List<float[]> raw = read(set, true);
            set.clipGradNorm(0.01, 2, false, "mid", "three");
            List<float[]> now = read(set, true);
            assertArrayEquals(raw.get(7), now.get(7)); // big
            assertEquals(0.01, exactNorm(List.of(now.get(2), now.get(6)), 2), 1e-7);
            assertEquals(Math.sqrt(Math.pow(exactNorm(List.of(raw.get(2)), 2), 2)
                    + Math.pow(exactNorm(List.of(raw.get(6)), 2), 2)), set.gradNorm(), 1e-4);
            assertEquals(names.length, LAYOUT.length);
        }
    }

    @Test
    void invalidArgumentsNameTheParameter() {
        try (ParameterSet set = build(false)) {
            for (double bad : new double[] {-1, Double.NaN, Double.POSITIVE_INFINITY}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> set.clipGradNorm(bad));
                assertTrue(e.getMessage().startsWith("invalid max_norm: " + bad), e.getMessage());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> set.clipGradNorm(1, 3, false));
            assertEquals("invalid norm_type: 3.0 (must be 2, 1 or inf)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> set.clipGradValue(-0.5));
            assertTrue(e.getMessage().startsWith("invalid clip_value: -0.5"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> set.clipGradNorm(1, 2, false, "nope"));
            assertEquals("unknown tensor 'nope'", e.getMessage());
            assertThrows(IllegalStateException.class, set::gradNorm);
        }
    }

    /** The reduction's order does not depend on the work-group size: the same bits at every size. */
    @Test
    void partialsAreTheSameAtEveryWorkGroupSize() {
        SplittableRandom r = new SplittableRandom(5);
        int chunks = 64;
        float[] x = random(r, chunks * SetKernels.CHUNK - 300, 3);
        List<SetKernels.Segment> one = List.of(new SetKernels.Segment(null, 0, x.length));
        int[] table = SetKernels.chunks(one)[0];
        for (int norm : new int[] {SetKernels.NORM_L2, SetKernels.NORM_L1, SetKernels.NORM_INF, SetKernels.SUM}) {
            float[] expected = new float[chunks];
            for (int c = 0; c < chunks; c++) {
                expected[c] = SetKernels.Reference.partial(x, table[2 * c], table[2 * c + 1], norm, 1f);
            }
            try (DeviceBuffer in = DeviceBuffer.of(device, x, "x");
                 DeviceBuffer pairs = DeviceBuffer.of(device, table, "chunks");
                 DeviceBuffer out = DeviceBuffer.allocate(device, 4L * chunks, "partials");
                 Kernel k = Kernel.fromClasspath(device, "reduce",
                         "norm_partials_" + new String[] {"inf", "l1", "l2", "sum"}[norm], "")) {
                k.arg(0, in).arg(1, pairs).arg(2, out).arg(3, 1f);
                for (long local : new long[] {1, 2, 8, 64}) {
                    out.fill(-1f);
                    k.launch(new long[] {chunks}, new long[] {local});
                    float[] actual = new float[chunks];
                    out.read(actual);
                    assertArrayEquals(expected, actual, "norm " + norm + ", work-groups of " + local);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void accumulationSumsInOrder(boolean onDevice) {
        try (ParameterSet set = build(onDevice)) {
            SplittableRandom r = new SplittableRandom(9);
            for (String name : set.names()) {
                int n = set.size(name);
                float[] a = random(r, n, 1);
                float[] b = random(r, n, 1);
                float[] c = random(r, n, 1);
                set.clearGradient(name);
                set.accumulateGradients(name, a); // no gradient: a copy, as p.grad = g
                ByteBuffer bytes = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.BIG_ENDIAN);
                bytes.asFloatBuffer().put(b);
                set.accumulateGradients(name, bytes.asFloatBuffer());
                set.accumulateGradients(name, FloatBuffer.wrap(c));
                float[] expected = new float[n];
                for (int i = 0; i < n; i++) {
                    expected[i] = (a[i] + b[i]) + c[i];
                }
                float[] g = new float[n];
                set.readGradients(name, g);
                assertArrayEquals(expected, g, name);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> set.accumulateGradients("three", new float[2]));
            assertEquals("three: expected 3 floats, got 2", e.getMessage());
        }
    }

    @Test
    void accumulationFromTheDevice() {
        try (ParameterSet set = build(true)) {
            float[] src = new float[4100];
            for (int i = 0; i < src.length; i++) {
                src[i] = i * 0.25f;
            }
            writeAll(set, 1, 1);
            float[] before = new float[4097];
            set.readGradients("mid", before);
            try (DeviceBuffer b = DeviceBuffer.of(device, src, "src")) {
                set.accumulateGradients("mid", new ParameterSet.DeviceSlice(b.handle(), 12, 4L * 4097));
                float[] g = new float[4097];
                set.readGradients("mid", g);
                for (int i = 0; i < g.length; i++) {
                    assertEquals(before[i] + src[i + 3], g[i]);
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> set.accumulateGradients("mid", new ParameterSet.DeviceSlice(b.handle(), 2, 4L * 4097)));
                assertTrue(e.getMessage().contains("multiple of 4"), e.getMessage());
            }
        }
        try (ParameterSet ref = build(false)) {
            assertThrows(IllegalStateException.class,
                    () -> ref.accumulateGradients("one", new ParameterSet.DeviceSlice(null, 0, 4)));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void clipGradValueClampsInPlace(boolean onDevice) {
        try (ParameterSet set = build(onDevice)) {
            writeAll(set, 6, 2);
            set.writeGradients("three", new float[] {Float.NaN, -5, 0.25f});
            List<float[]> raw = read(set, true);
            set.clipGradValue(0.5);
            List<float[]> now = read(set, true);
            for (int t = 0; t < raw.size(); t++) {
                for (int i = 0; i < raw.get(t).length; i++) {
                    float x = raw.get(t)[i];
                    float expected = Float.isNaN(x) ? x : Math.max(-0.5f, Math.min(0.5f, x));
                    assertEquals(expected, now.get(t)[i]);
                }
            }
        }
    }
}

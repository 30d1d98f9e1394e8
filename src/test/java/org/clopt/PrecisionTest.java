package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.clopt.tools.Conformance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 16-bit groups (bf16, fp16; with and without master weights; stochastic rounding): every
 * algorithm's kernel against the CPU reference, parameters, master weights and every state
 * array, after each of several steps, on sizes 1, 3, 1023, 4097 and 2^18; and the master weights
 * against the fp32 algorithm run on the rounded gradients.
 */
class PrecisionTest extends OnDevice {
    private static final int[] SIZES = {1, 3, 1023, 4097, 1 << 18};
    private static final int STEPS = 4;

    static List<Precision> precisions() {
        return List.of(Precision.of(Dtype.BF16), Precision.of(Dtype.FP16),
                Precision.of(Dtype.BF16).withMasterWeights(false), Precision.of(Dtype.FP16).withMasterWeights(false),
                Precision.of(Dtype.BF16).withMasterWeights(false).withStochasticRounding(42));
    }

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (Conformance.OptionSet options : Conformance.optionSets()) {
            for (Precision p : precisions()) {
                if (p.supports(options.config())) {
                    list.add(Arguments.of(options, p));
                }
            }
        }
        return list.stream();
    }

    private static ParameterSet build(OptimizerConfig config, Precision precision, boolean onDevice) {
        ParameterSet.Builder b = ParameterSet.builder().group(config, precision);
        for (int n : SIZES) {
            b.tensor("t" + n, n);
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

    /** The kernel's and the reference's arrays after each step, compared element by element. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void kernelMatchesTheReference(Conformance.OptionSet options, Precision precision) {
        OptimizerConfig config = options.config();
        double allowed = Conformance.allowedUlps(config.algorithm());
        try (ParameterSet cl = build(config, precision, true); ParameterSet ref = build(config, precision, false)) {
            SplittableRandom r = new SplittableRandom(11);
            for (int n : SIZES) {
                float[] p = random(r, n, 1);
                cl.writeParameters("t" + n, p);
                ref.writeParameters("t" + n, p);
            }
            for (int step = 0; step < STEPS; step++) {
                for (int n : SIZES) {
                    float[] g = random(r, n, 0.1);
                    cl.writeGradients("t" + n, g);
                    ref.writeGradients("t" + n, g);
                }
                cl.step();
                ref.step();
                for (int n : SIZES) {
                    String name = "t" + n;
                    String where = options + " " + precision + " " + name + " step " + (step + 1);
                    compare(cl, ref, name, -1, precision, allowed, where);
                    if (precision.masterWeights()) {
                        compare(cl, ref, name, -2, precision, allowed, where);
                        assertWorkingIsRoundedMaster(cl, name, precision.dtype(), where);
                    }
                    for (String key : cl.stateNames(name)) {
                        float[] a = new float[n];
                        float[] b = new float[n];
                        cl.readState(name, key, a);
                        ref.readState(name, key, b);
                        assertClose(a, b, Dtype.FP32, allowed, where + " " + key);
                    }
                }
            }
        }
    }

    /** array -1: the parameters (working copy); -2: the master weights. */
    private static void compare(ParameterSet cl, ParameterSet ref, String name, int array, Precision precision,
                                double allowed, String where) {
        int n = cl.size(name);
        float[] a = new float[n];
        float[] b = new float[n];
        if (array == -1) {
            cl.readParameters(name, a);
            ref.readParameters(name, b);
            assertClose(a, b, precision.dtype(), allowed, where + " parameters");
        } else {
            cl.readMasterParameters(name, a);
            ref.readMasterParameters(name, b);
            assertClose(a, b, Dtype.FP32, allowed, where + " master");
        }
    }

    private static void assertWorkingIsRoundedMaster(ParameterSet set, String name, Dtype dtype, String where) {
        int n = set.size(name);
        float[] working = new float[n];
        float[] master = new float[n];
        set.readParameters(name, working);
        set.readMasterParameters(name, master);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(dtype.round(master[i])), Float.floatToIntBits(working[i]),
                    where + ": working copy at " + i + " is not the rounded master weight");
        }
    }

    /**
     * Bit for bit where the algorithm's kernel reproduces the reference exactly in fp32 (the
     * allowance is for devices whose divide and sqrt are not correctly rounded); within the
     * allowance otherwise, and for 16-bit values within one 16-bit step of the allowance.
     */
    private static void assertClose(float[] actual, float[] expected, Dtype dtype, double allowed, String where) {
        for (int i = 0; i < actual.length; i++) {
            float a = actual[i];
            float e = expected[i];
            if (Float.floatToIntBits(a) == Float.floatToIntBits(e)) {
                continue;
            }
            double tolerance = dtype == Dtype.FP32 ? allowed * Math.ulp(Math.max(Math.abs(e), Float.MIN_NORMAL))
                    : allowed > 0 ? ulp(dtype, e) : 0;
            assertTrue(Math.abs(a - e) <= tolerance, where + " at " + i + ": " + a + " vs " + e);
        }
    }

    /** The distance from |e| to the next larger value of the 16-bit type. */
    private static double ulp(Dtype dtype, float e) {
        float m = Math.abs(e);
        return dtype.fromBits((short) (dtype.toBits(m) + 1)) - m;
    }

    /** Master weights after T steps are the fp32 algorithm's on the rounded gradients. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("masterCases")
    void masterWeightsAreTheFp32RunOnRoundedGradients(Conformance.OptionSet options, Dtype dtype) {
        OptimizerConfig config = options.config();
        try (ParameterSet half = build(config, Precision.of(dtype), false);
             ParameterSet full = build(config, Precision.FP32, false)) {
            SplittableRandom r = new SplittableRandom(5);
            for (int n : SIZES) {
                float[] p = random(r, n, 1);
                half.writeParameters("t" + n, p);
                full.writeParameters("t" + n, p);
            }
            for (int step = 0; step < STEPS; step++) {
                for (int n : SIZES) {
                    float[] g = random(r, n, 0.1);
                    half.writeGradients("t" + n, g);
                    for (int i = 0; i < n; i++) {
                        g[i] = dtype.round(g[i]);
                    }
                    full.writeGradients("t" + n, g);
                }
                half.step();
                full.step();
            }
            for (int n : SIZES) {
                float[] a = new float[n];
                float[] b = new float[n];
                half.readMasterParameters("t" + n, a);
                full.readParameters("t" + n, b);
                assertArrayEquals(b, a, options + " " + dtype + " t" + n);
            }
        }
    }

    static Stream<Arguments> masterCases() {
        return Conformance.optionSets().stream()
                .flatMap(o -> Stream.of(Dtype.BF16, Dtype.FP16)
                        .filter(d -> Precision.of(d).supports(o.config())).map(d -> Arguments.of(o, d)));
    }

    @Test
    void writesRoundToTheTypeAndMasterKeepsTheValue() {
        float[] values = {1 + 0x1p-9f, 70000f, 1e-8f, Float.NaN};
        for (Dtype dtype : new Dtype[] {Dtype.BF16, Dtype.FP16}) {
            for (boolean onDevice : new boolean[] {true, false}) {
                ParameterSet.Builder b = ParameterSet.builder().group(Adam.builder().build(), Precision.of(dtype))
                        .tensor("w", values.length);
                try (ParameterSet set = onDevice ? b.build(device) : b.buildReference()) {
                    set.writeParameters("w", values);
                    set.writeGradients("w", values);
                    float[] working = new float[values.length];
                    float[] master = new float[values.length];
                    float[] grads = new float[values.length];
                    set.readParameters("w", working);
                    set.readMasterParameters("w", master);
                    set.readGradients("w", grads);
                    for (int i = 0; i < values.length; i++) {
                        assertEquals(Float.floatToIntBits(dtype.round(values[i])), Float.floatToIntBits(working[i]));
                        assertEquals(Float.floatToIntBits(dtype.round(values[i])), Float.floatToIntBits(grads[i]));
                    }
                    assertArrayEquals(values, master);
                }
            }
        }
    }

    @Test
    void stochasticRoundingIsReproducibleAndSeeded() {
        float[][] runs = new float[3][];
        long[] seeds = {1, 1, 2};
        for (int k = 0; k < 3; k++) {
            Precision p = Precision.of(Dtype.BF16).withMasterWeights(false).withStochasticRounding(seeds[k]);
            try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(1e-4).build(), p)
                    .tensor("w", 4097).build(device)) {
                SplittableRandom r = new SplittableRandom(3);
                set.writeParameters("w", random(r, 4097, 1));
                for (int step = 0; step < 3; step++) {
                    set.writeGradients("w", random(r, 4097, 1));
                    set.step();
                }
                runs[k] = new float[4097];
                set.readParameters("w", runs[k]);
            }
        }
        assertArrayEquals(runs[0], runs[1]);
        assertNotEquals(java.util.Arrays.toString(runs[0]), java.util.Arrays.toString(runs[2]));
    }

    @Test
    void stochasticRoundingKeepsSmallUpdatesOnAverage() {
        // lr * g = 2^-12 on parameters of 1: below half a bf16 step (2^-8), nearest rounding
        // never moves them, stochastic rounding moves 1/16 of them by a step, as expected.
        int n = 1 << 16;
        for (boolean stochastic : new boolean[] {false, true}) {
            Precision p = Precision.of(Dtype.BF16).withMasterWeights(false);
            if (stochastic) {
                p = p.withStochasticRounding(9);
            }
            try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(0x1p-12).build(), p)
                    .tensor("w", n).build(device)) {
                float[] ones = new float[n];
                java.util.Arrays.fill(ones, 1f);
                set.writeParameters("w", ones);
                float[] g = new float[n];
                java.util.Arrays.fill(g, -1f);
                set.writeGradients("w", g);
                set.step();
                float[] after = new float[n];
                set.readParameters("w", after);
                double mean = 0;
                for (float x : after) {
                    mean += x - 1;
                }
                mean /= n;
                if (stochastic) {
                    assertEquals(0x1p-12, mean, 0x1p-12 * 0.05, "the mean update survives");
                } else {
                    assertEquals(0, mean);
                }
            }
        }
    }

    @Test
    void theOneTensorOptimizerTakesAPrecisionToo() {
        float[] p = random(new SplittableRandom(2), 1023, 1);
        float[] g = random(new SplittableRandom(3), 1023, 0.1);
        float[][] out = new float[3][1023];
        Precision bf16 = Precision.of(Dtype.BF16);
        try (Optimizer cl = Optimizer.create(device, Adam.builder().build(), bf16, 1023);
             Optimizer ref = Optimizer.reference(Adam.builder().build(), bf16, 1023);
             ParameterSet set = ParameterSet.builder().group(Adam.builder().build(), bf16).tensor("w", 1023)
                     .build(device)) {
            cl.writeParameters(p);
            ref.writeParameters(p);
            set.writeParameters("w", p);
            cl.writeGradients(g);
            ref.writeGradients(g);
            set.writeGradients("w", g);
            cl.step();
            ref.step();
            set.step();
            cl.readParameters(out[0]);
            ref.readParameters(out[1]);
            set.readParameters("w", out[2]);
            assertEquals(bf16, cl.parameterSet().precision(0));
        }
        assertArrayEquals(out[2], out[0]);
        assertArrayEquals(out[2], out[1]);
        for (float x : out[0]) {
            assertEquals(Dtype.BF16.round(x), x);
        }
    }

    @Test
    void invalidCombinationsFailWithTheirNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Precision.of(Dtype.FP16).withMasterWeights(false).withStochasticRounding(1));
        assertTrue(e.getMessage().contains("stochastic_rounding"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Precision.of(Dtype.BF16).withStochasticRounding(1));
        assertTrue(e.getMessage().contains("master weights"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Precision.FP32.withMasterWeights(true));
        assertTrue(e.getMessage().contains("master_weights"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ParameterSet.builder()
                .group(Lamb.builder().build(), Precision.of(Dtype.BF16).withMasterWeights(false)
                        .withStochasticRounding(1)).tensor("w", 3)
                .buildReference());
        assertTrue(e.getMessage().contains("lamb"), e.getMessage());
        try (ParameterSet set = ParameterSet.builder().group(Adam.builder().build(), Precision.FP32).tensor("w", 3)
                .buildReference()) {
            IllegalStateException s = assertThrows(IllegalStateException.class,
                    () -> set.readMasterParameters("w", new float[3]));
            assertTrue(s.getMessage().contains("master"), s.getMessage());
        }
    }
}

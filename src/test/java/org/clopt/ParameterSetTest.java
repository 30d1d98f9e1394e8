package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.clopt.tools.Conformance;
import org.jocl.CL;
import org.jocl.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parameter sets: every tensor of every group behaves exactly as if it had its own optimizer,
 * taking part only in the steps where it is neither frozen nor without a gradient.
 */
class ParameterSetTest extends OnDevice {
    /** Tensor name, group, shape; zero-size tensors first, in the middle and last. */
    static final Object[][] LAYOUT = {
        {"empty0", 0, new int[] {0}}, {"one", 0, new int[] {1}}, {"three", 0, new int[] {3, 1}},
        {"empty1", 0, new int[] {2, 0}}, {"big", 0, new int[] {1023}}, {"mid", 1, new int[] {4097}},
        {"mat", 1, new int[] {17, 3}}, {"empty2", 1, new int[] {0, 5}},
    };
    static final int STEPS = 6;




    static List<Conformance.OptionSet> optionSets() {
        return Conformance.optionSets();
    }

    static OptimizerConfig secondGroup(Conformance.OptionSet options) {
        Map<String, String> settings = new HashMap<>(options.settings());
        settings.put("lr", "0.003");
        return OptimizerConfig.of(options.optimizer(), settings);
    }

    static ParameterSet.Builder layout(OptimizerConfig first, OptimizerConfig second) {
        ParameterSet.Builder b = ParameterSet.builder();
        int group = -1;
        for (Object[] t : LAYOUT) {
            if ((int) t[1] != group) {
                group = (int) t[1];
                b.group(group == 0 ? first : second);
            }
            b.tensor((String) t[0], (int[]) t[2]);
        }
        return b;
    }

    /** Whether tensor k takes part in step s (1-based): some sit steps out. */
    static boolean active(String name, int step) {
        return !(name.equals("three") && step == 3) && !(name.equals("big") && (step == 2 || step == 4))
                && !(name.equals("mat") && step == 1);
    }

    static float[] values(int n, SplittableRandom random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optionSets")
    void everyTensorMatchesItsOwnReferenceOptimizer(Conformance.OptionSet options) {
        OptimizerConfig first = options.config();
        OptimizerConfig second = secondGroup(options);
        // Each tensor's own reference: a set of that one tensor, of the same shape (Adafactor's
        // state follows it).
        Map<String, ParameterSet> own = new LinkedHashMap<>();
        try (ParameterSet set = layout(first, second).build(device)) {
            SplittableRandom random = new SplittableRandom(7);
            for (String name : set.names()) {
                ParameterSet o = ParameterSet.builder().group(set.group(name) == 0 ? first : second)
                        .tensor(name, set.shape(name)).buildReference();
                own.put(name, o);
                float[] p = values(set.size(name), random);
                set.writeParameters(name, p);
                o.writeParameters(name, p);
            }
            for (int step = 1; step <= STEPS; step++) {
                for (String name : set.names()) {
                    float[] g = values(set.size(name), random);
                    if (name.equals("three") && step == 3) {
                        set.setFrozen(name, true);
                    } else if (name.equals("three")) {
                        set.setFrozen(name, false);
                    }
                    if (active(name, step) || name.equals("three")) {
                        set.writeGradients(name, g);
                    } else {
                        set.clearGradient(name);
                    }
                    if (active(name, step)) {
                        own.get(name).writeGradients(name, g);
                        own.get(name).step();
                    }
                }
                set.step();
                for (String name : set.names()) {
                    assertEquals(own.get(name).stepCount(name), set.stepCount(name), name);
                    compare(options + " " + name + " param, step " + step, own.get(name), set, name,
                            null, first.algorithm());
                    for (String key : set.stateNames(name)) {
                        compare(options + " " + name + " " + key + ", step " + step, own.get(name), set,
                                name, key, first.algorithm());
                    }
                }
            }
        } finally {
            own.values().forEach(ParameterSet::close);
        }
    }

    private static void compare(String what, ParameterSet expected, ParameterSet set, String name,
                                String key, String algorithm) {
        int n = key == null ? set.size(name) : Arrays.stream(set.stateShape(name, key)).reduce(1, (x, y) -> x * y);
        float[] e = new float[n];
        float[] a = new float[n];
        if (key == null) {
            expected.readParameters(name, e);
            set.readParameters(name, a);
        } else {
            expected.readState(name, key, e);
            set.readState(name, key, a);
        }
        double allowed = Conformance.allowedUlps(algorithm);
        for (int i = 0; i < n; i++) {
            double ulps = Conformance.ulps(a[i], e[i], e[i]);
            int index = i;
            assertTrue(ulps <= allowed, () -> what + "[" + index + "]: " + a[index] + " vs " + e[index]);
        }
    }

    @Test
    void scheduleChangesTheNextStepAndTheDeviceFollowsTheReference() {
        OptimizerConfig adam = Adam.builder().lr(1e-2).build();
        try (ParameterSet onDevice = layout(adam, adam).build(device);
             ParameterSet reference = layout(adam, adam).buildReference()) {
            SplittableRandom random = new SplittableRandom(3);
            for (String name : onDevice.names()) {
                float[] p = values(onDevice.size(name), random);
                onDevice.writeParameters(name, p);
                reference.writeParameters(name, p);
            }
            for (int step = 1; step <= 5; step++) {
                for (ParameterSet set : List.of(onDevice, reference)) {
                    set.setConfig(1, Adam.builder().lr(1e-2 / step).betas(0.9, 0.99).build());
                }
                for (String name : onDevice.names()) {
                    float[] g = values(onDevice.size(name), random);
                    onDevice.writeGradients(name, g);
                    reference.writeGradients(name, g);
                }
                onDevice.step();
                reference.step();
            }
            for (String name : onDevice.names()) {
                float[] a = new float[onDevice.size(name)];
                float[] e = new float[a.length];
                onDevice.readParameters(name, a);
                reference.readParameters(name, e);
                assertArrayEquals(e, a, name);
            }
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                    () -> onDevice.setConfig(0, Adam.builder().amsgrad(true).build()));
            assertTrue(x.getMessage().startsWith("group 0: cannot change"), x.getMessage());
            assertThrows(IllegalArgumentException.class, () -> onDevice.setConfig(0, AdamW.builder().build()));
            assertThrows(IllegalArgumentException.class, () -> onDevice.setConfig(2, adam));
        }
    }

    @Test
    void aGroupWithLrZeroAndAFrozenTensorStayBitIdentical() {
        try (ParameterSet set = ParameterSet.builder()
                .group(AdamW.builder().lr(0).build()).tensor("still", 1000)
                .group(Adam.builder().lr(0.1).build()).tensor("moving", 1000).tensor("frozen", 1000)
                .build(device)) {
            SplittableRandom random = new SplittableRandom(5);
            Map<String, float[]> before = new HashMap<>();
            for (String name : set.names()) {
                float[] p = values(1000, random);
                set.writeParameters(name, p);
                before.put(name, p);
            }
            set.setFrozen("frozen", true);
            float[] frozenState = new float[1000];
            for (int step = 0; step < 5; step++) {
                for (String name : set.names()) {
                    set.writeGradients(name, values(1000, random));
                }
                set.step();
            }
            float[] p = new float[1000];
            set.readParameters("still", p);
            assertArrayEquals(before.get("still"), p);
            set.readParameters("frozen", p);
            assertArrayEquals(before.get("frozen"), p);
            set.readState("frozen", "exp_avg", frozenState);
            assertArrayEquals(new float[1000], frozenState);
            assertEquals(0, set.stepCount("frozen"));
            set.readParameters("moving", p);
            assertNotEquals(before.get("moving")[0], p[0]);
            assertEquals(5, set.stepCount("moving"));
        }
    }

    @Test
    void zeroGradAndSetToNone() {
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(1).build())
                .tensor("a", 4).tensor("b", 4).build(device)) {
            set.writeParameters("a", new float[] {1, 1, 1, 1});
            set.writeParameters("b", new float[] {1, 1, 1, 1});
            set.writeGradients("a", new float[] {1, 2, 3, 4});
            set.writeGradients("b", new float[] {1, 2, 3, 4});
            set.zeroGrad();
            set.step();
            float[] p = new float[4];
            set.readParameters("a", p);
            assertArrayEquals(new float[] {1, 1, 1, 1}, p);
            assertEquals(1, set.stepCount("a"));
            set.zeroGrad(true);
            set.step();
            assertEquals(1, set.stepCount("a"));
            assertEquals(1, set.stepCount("b"));
            set.writeGradients("b", new float[] {1, 1, 1, 1});
            set.step();
            set.readParameters("b", p);
            assertArrayEquals(new float[] {0, 0, 0, 0}, p);
            assertEquals(1, set.stepCount("a"));
            assertEquals(2, set.stepCount("b"));
        }
    }

    @Test
    void gradientsWrittenOnTheDeviceAreUsedWithoutACopy() {
        try (ParameterSet viaSlice = ParameterSet.builder().group(Adam.builder().build())
                     .tensor("x", 5).tensor("y", 7).build(device);
             ParameterSet viaArray = ParameterSet.builder().group(Adam.builder().build())
                     .tensor("x", 5).tensor("y", 7).build(device)) {
            float[] g = {1, -2, 3, -4, 5, -6, 7};
            ParameterSet.DeviceSlice slice = viaSlice.gradientSlice("y");
            assertEquals(20, slice.offsetBytes());
            assertEquals(28, slice.sizeBytes());
            // What a user's backward kernel would do: write into the slice on clopt's queue.
            CL.clEnqueueWriteBuffer(device.queue(), slice.buffer(), true, slice.offsetBytes(),
                    slice.sizeBytes(), Pointer.to(g), 0, null, null);
            viaSlice.markGradient("y");
            viaArray.writeGradients("y", g);
            viaSlice.step();
            viaArray.step();
            float[] a = new float[7];
            float[] b = new float[7];
            viaSlice.readParameters("y", a);
            viaArray.readParameters("y", b);
            assertArrayEquals(b, a);
            assertTrue(a[0] < 0, String.valueOf(a[0]));
            assertEquals(viaSlice.parameterSlice("y").buffer(), viaSlice.parameterSlice("x").buffer());
        }
    }

    @Test
    void floatBuffersDirectOrNotKeepTheirPosition() {
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(0.5).build())
                .tensor("w", 3).build(device)) {
            FloatBuffer direct = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder()).asFloatBuffer();
            direct.put(new float[] {9, 1, 2, 3}).position(1);
            set.writeParameters("w", direct);
            assertEquals(1, direct.position());
            set.writeGradients("w", FloatBuffer.wrap(new float[] {2, 2, 2}));
            set.step();
            FloatBuffer out = FloatBuffer.allocate(3);
            set.readParameters("w", out);
            assertEquals(0, out.position());
            assertArrayEquals(new float[] {0, 1, 2}, out.array());
        }
    }

    @Test
    void misuseIsRejected() {
        assertThrows(IllegalStateException.class, () -> ParameterSet.builder().tensor("x", 1));
        assertThrows(IllegalStateException.class, () -> ParameterSet.builder().buildReference());
        assertThrows(IllegalArgumentException.class,
                () -> ParameterSet.builder().group(Adam.builder().build()).tensor("x", 1).tensor("x", 2));
        assertThrows(IllegalArgumentException.class,
                () -> ParameterSet.builder().group(Adam.builder().build()).tensor("x", 2, -1));
        assertThrows(IllegalArgumentException.class,
                () -> ParameterSet.builder().group(Adam.builder().build()).tensor("x", 65536, 65536));
        ParameterSet set = ParameterSet.builder().group(Adam.builder().build()).tensor("x", 3).buildReference();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> set.writeParameters("x", new float[2]));
        assertEquals("x: expected 3 floats, got 2", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> set.readParameters("nope", new float[3]));
        assertThrows(IllegalArgumentException.class, () -> set.readState("x", "sum", new float[3]));
        assertThrows(IllegalStateException.class, () -> set.gradientSlice("x"));
        set.close();
        set.close();
        assertThrows(IllegalStateException.class, set::step);
    }

    /**
     * A step whose weight_decay is 0 runs a kernel variant without the decay's check: switching
     * weight_decay between 0 and not mid-run (and clipping, a variant of its own) gives the
     * reference's results bit for bit.
     */
    @Test
    void weightDecayVariantsFollowTheConfiguration() {
        for (OptimizerConfig config : new OptimizerConfig[] {Adam.builder().build(), Sgd.builder().lr(0.1).build(),
            RmsProp.builder().build()}) {
            ParameterSet.Builder b = ParameterSet.builder().group(config).tensor("w", 4097);
            try (ParameterSet cl = b.build(device); ParameterSet ref = b.buildReference()) {
                java.util.SplittableRandom r = new java.util.SplittableRandom(6);
                float[] p = new float[4097];
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (r.nextDouble() - 0.5);
                }
                cl.writeParameters("w", p);
                ref.writeParameters("w", p);
                double[] decays = {0, 0.1, 0.1, 0, 0.05, 0};
                for (int step = 0; step < decays.length; step++) {
                    for (ParameterSet set : new ParameterSet[] {cl, ref}) {
                        set.setConfig(0, set.config(0).with("weight_decay", decays[step]));
                        set.writeGradients("w", p);
                        if (step % 2 == 1) {
                            set.clipGradNorm(0.5);
                        }
                        set.step();
                    }
                    float[] a = new float[4097];
                    float[] e = new float[4097];
                    cl.readParameters("w", a);
                    ref.readParameters("w", e);
                    assertArrayEquals(e, a, config.algorithm() + " step " + step);
                }
            }
        }
    }
}

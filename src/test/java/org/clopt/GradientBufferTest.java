package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Gradients written in place through {@link ParameterSet#gradientBuffer}: what is put there is
 * exactly what the next step and every other use of the gradients see, on the device as on the
 * CPU reference, and a buffer kept too long never writes into freed memory.
 */
class GradientBufferTest extends OnDevice {
    private static final OptimizerConfig ADAM = Adam.builder().lr(1e-2).build();

    /** Whether the device can hand out its gradients: else every test checks it refuses. */
    private static boolean shared() {
        return device.info().hostUnifiedMemory();
    }

    private static ParameterSet layout(boolean onDevice) {
        ParameterSet.Builder b = ParameterSetTest.layout(ADAM, Sgd.builder().lr(0.1).momentum(0.9).build())
                .hostGradients(true);
        return onDevice ? b.build(device) : b.buildReference();
    }

    private static void assertSameParameters(ParameterSet expected, ParameterSet actual, String what) {
        for (String name : expected.names()) {
            float[] e = new float[expected.size(name)];
            float[] a = new float[e.length];
            expected.readParameters(name, e);
            actual.readParameters(name, a);
            assertArrayEquals(e, a, what + ": " + name);
        }
    }

    @Test
    void writesThroughTheBufferAreWhatTheStepUses() {
        try (ParameterSet viaBuffer = layout(true);
             ParameterSet viaWrite = layout(true);
             ParameterSet reference = layout(false)) {
            if (!shared()) {
                assertThrows(IllegalStateException.class, () -> viaBuffer.gradientBuffer("one"));
                return;
            }
            SplittableRandom random = new SplittableRandom(11);
            for (String name : viaBuffer.names()) {
                float[] p = ParameterSetTest.values(viaBuffer.size(name), random);
                for (ParameterSet set : List.of(viaBuffer, viaWrite, reference)) {
                    set.writeParameters(name, p);
                }
            }
            for (int step = 1; step <= 4; step++) {
                for (String name : viaBuffer.names()) {
                    float[] g = ParameterSetTest.values(viaBuffer.size(name), random);
                    FloatBuffer view = viaBuffer.gradientBuffer(name);
                    assertEquals(g.length, view.remaining(), name);
                    assertEquals(ByteOrder.nativeOrder(), view.order(), name);
                    view.put(g);
                    reference.gradientBuffer(name).put(g);
                    viaWrite.writeGradients(name, g);
                }
                for (ParameterSet set : List.of(viaBuffer, viaWrite, reference)) {
                    set.step();
                }
            }
            assertSameParameters(viaWrite, viaBuffer, "device, buffer vs writeGradients");
            assertSameParameters(reference, viaBuffer, "device vs reference");
        }
    }

    /**
     * A step reads the gradients of a large tensor while the test writes the next ones at once:
     * the second gradientBuffer call must wait for the step, or the step would see them.
     */
    @Test
    void theNextWriteWaitsForTheStep() {
        int n = 1 << 21;
        OptimizerConfig nadam = NAdam.builder().lr(1e-3).build();
        try (ParameterSet set = ParameterSet.builder().hostGradients(true).group(nadam).tensor("w", n)
                .build(device);
             ParameterSet reference = ParameterSet.builder().hostGradients(true).group(nadam).tensor("w", n).buildReference()) {
            if (!shared()) {
                assertThrows(IllegalStateException.class, () -> set.gradientBuffer("w"));
                return;
            }
            float[] g = new float[n];
            for (int step = 1; step <= 4; step++) {
                java.util.Arrays.fill(g, step % 2 == 0 ? -1f : 0.5f * step);
                set.gradientBuffer("w").put(g);
                reference.writeGradients("w", g);
                set.step();
                reference.step();
            }
            assertSameParameters(reference, set, "device vs reference");
        }
    }

    @Test
    void clippingAccumulationAndReadsSeeWhatWasWritten() {
        try (ParameterSet set = layout(true);
             ParameterSet reference = layout(false)) {
            if (!shared()) {
                return;
            }
            SplittableRandom random = new SplittableRandom(12);
            for (String name : set.names()) {
                float[] g = ParameterSetTest.values(set.size(name), random);
                set.gradientBuffer(name).put(g);
                reference.writeGradients(name, g);
            }
            float[] extra = ParameterSetTest.values(set.size("big"), random);
            set.accumulateGradients("big", extra);
            reference.accumulateGradients("big", extra);
            set.clipGradNorm(0.5);
            reference.clipGradNorm(0.5);
            assertEquals(reference.gradNorm(), set.gradNorm());
            for (String name : set.names()) {
                float[] e = new float[set.size(name)];
                float[] a = new float[e.length];
                reference.readGradients(name, e);
                set.readGradients(name, a);
                assertArrayEquals(e, a, name);
            }
            // A pending clipping is in what the buffer shows.
            set.clipGradNorm(0.25);
            reference.clipGradNorm(0.25);
            for (String name : set.names()) {
                float[] e = new float[set.size(name)];
                float[] a = new float[e.length];
                reference.readGradients(name, e);
                set.gradientBuffer(name).get(a);
                assertArrayEquals(e, a, name);
            }
            set.step();
            reference.step();
            assertSameParameters(reference, set, "device vs reference");
        }
    }

    @Test
    void aTensorWithoutAGradientTakesPartAgain() {
        try (ParameterSet set = layout(true);
             ParameterSet reference = layout(false)) {
            if (!shared()) {
                return;
            }
            set.zeroGrad(true);
            reference.zeroGrad(true);
            float[] g = {0.5f, -2f, 3f};
            set.gradientBuffer("three").put(g);
            reference.writeGradients("three", g);
            set.step();
            reference.step();
            assertEquals(1, set.stepCount("three"));
            assertEquals(0, set.stepCount("one"));
            assertSameParameters(reference, set, "device vs reference");
        }
    }

    @Test
    void aBufferUsedAfterCloseWritesJavaMemory() {
        FloatBuffer kept;
        try (ParameterSet set = layout(true)) {
            if (!shared()) {
                return;
            }
            kept = set.gradientBuffer("mid");
            set.step();
        }
        float[] g = new float[kept.remaining()];
        java.util.Arrays.fill(g, 7f);
        kept.put(g);
        assertEquals(7f, kept.get(g.length - 1));
    }

    @Test
    void sixteenBitGroupsSayWhyNot() {
        for (boolean onDevice : new boolean[] {true, false}) {
            ParameterSet.Builder b = ParameterSet.builder().hostGradients(true)
                    .group(ADAM, Precision.of(Dtype.BF16)).tensor("w", 3);
            try (ParameterSet set = onDevice ? b.build(device) : b.buildReference()) {
                IllegalStateException x = assertThrows(IllegalStateException.class, () -> set.gradientBuffer("w"));
                assertTrue(x.getMessage().contains("bf16"), x.getMessage());
            }
        }
    }

    @Test
    void aSetBuiltWithoutHostGradientsSaysHowToAskForThem() {
        for (boolean onDevice : new boolean[] {true, false}) {
            ParameterSet.Builder b = ParameterSet.builder().group(ADAM).tensor("w", 3);
            try (ParameterSet set = onDevice ? b.build(device) : b.buildReference()) {
                IllegalStateException x = assertThrows(IllegalStateException.class, () -> set.gradientBuffer("w"));
                assertTrue(x.getMessage().contains("hostGradients(true)"), x.getMessage());
            }
        }
    }
}

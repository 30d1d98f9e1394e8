package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.clopt.tools.Conformance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * State in memory as PyTorch has it: snapshots, loads, sets rebuilt from a snapshot or a
 * checkpoint stream, groups added to a live set, and the one-tensor Optimizer doing all of it.
 */
class StateDictTest extends OnDevice {

    static List<Conformance.OptionSet> optionSets() {
        return Conformance.optionSets();
    }

    static ParameterSet.Builder layout(OptimizerConfig config) {
        return ParameterSet.builder().group(config).tensor("w", 33, 31).tensor("b", 1)
                .group(config.with("lr", config.lr() / 2)).tensor("v", 4097).tensor("e", 0);
    }

    static void gradients(ParameterSet set, int step) {
        SplittableRandom random = new SplittableRandom(step);
        for (String name : set.names()) {
            set.writeGradients(name, values(set.size(name), random));
        }
    }

    static float[] values(int n, SplittableRandom random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }

    static void initialize(ParameterSet set) {
        SplittableRandom random = new SplittableRandom(42);
        for (String name : set.names()) {
            set.writeParameters(name, values(set.size(name), random));
        }
    }

    static float[] read(ParameterSet set, String name, String key) {
        float[] out = new float[key == null ? set.size(name)
                : java.util.Arrays.stream(set.stateShape(name, key)).reduce(1, (a, b) -> a * b)];
        if (key == null) {
            set.readParameters(name, out);
        } else {
            set.readState(name, key, out);
        }
        return out;
    }

    static void assertSameState(ParameterSet expected, ParameterSet actual) {
        assertEquals(expected.names(), actual.names());
        for (String name : expected.names()) {
            assertEquals(expected.stepCount(name), actual.stepCount(name), name);
            assertArrayEquals(read(expected, name, null), read(actual, name, null), name);
            for (String key : expected.stateNames(name)) {
                assertArrayEquals(read(expected, name, key), read(actual, name, key), name + " " + key);
            }
        }
        for (int g = 0; g < expected.groupCount(); g++) {
            assertEquals(expected.config(g), actual.config(g));
        }
    }

    /** 3 steps, a snapshot through a checkpoint stream, a set rebuilt from it alone, 3 more steps. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionSets")
    void aSetRebuiltFromAStreamedCheckpointResumesBitExact(Conformance.OptionSet options) throws IOException {
        OptimizerConfig config = options.config();
        try (ParameterSet straight = layout(config).build(device);
             ParameterSet first = layout(config).build(device)) {
            initialize(straight);
            initialize(first);
            for (int step = 1; step <= 6; step++) {
                gradients(straight, step);
                straight.step();
            }
            for (int step = 1; step <= 3; step++) {
                gradients(first, step);
                first.step();
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Checkpoint.write(first.stateDict(true), bytes);
            StateDict state = Checkpoint.read(new ByteArrayInputStream(bytes.toByteArray()));
            try (ParameterSet resumed = ParameterSet.builder(state).build(device)) {
                for (int step = 4; step <= 6; step++) {
                    gradients(resumed, step);
                    resumed.step();
                }
                assertSameState(straight, resumed);
            }
        }
    }

    @Test
    void aSnapshotIsImmutableAndLoadsIntoAFreshSet() {
        OptimizerConfig config = NAdam.builder().build();
        try (ParameterSet set = layout(config).build(device);
             ParameterSet other = layout(config).buildReference()) {
            initialize(set);
            gradients(set, 1);
            set.step();
            StateDict snapshot = set.stateDict(true);
            float[] before = new float[set.size("w")];
            snapshot.params().get(0).state("exp_avg").get(before);
            gradients(set, 2);
            set.step();
            float[] after = new float[set.size("w")];
            snapshot.params().get(0).state("exp_avg").get(after);
            assertArrayEquals(before, after);
            assertThrows(ReadOnlyBufferException.class, () -> snapshot.params().get(0).state("exp_avg").put(0, 1f));
            assertEquals(1, snapshot.params().get(0).step());
            assertTrue(snapshot.params().get(0).scalarState().get("mu_product") < 1f);
            other.loadStateDict(snapshot);
            assertEquals(1, other.stepCount("w"));
            assertArrayEquals(before, read(other, "w", "exp_avg"));
            assertEquals(snapshot.params().get(0).scalarState(), other.stateDict().params().get(0).scalarState());
        }
    }

    @Test
    void aSnapshotThatDoesNotFitChangesNothing() {
        OptimizerConfig adam = Adam.builder().build();
        try (ParameterSet set = layout(adam).build(device)) {
            initialize(set);
            gradients(set, 1);
            set.step();
            StateDict before = set.stateDict(true);
            List<StateDict> misfits = new ArrayList<>();
            try (ParameterSet renamed = ParameterSet.builder().group(adam).tensor("x", 33, 31).tensor("b", 1)
                    .group(adam).tensor("v", 4097).tensor("e", 0).buildReference();
                 ParameterSet reshaped = ParameterSet.builder().group(adam).tensor("w", 31, 33).tensor("b", 1)
                    .group(adam).tensor("v", 4097).tensor("e", 0).buildReference();
                 ParameterSet amsgrad = layout(adam.with("amsgrad", true)).buildReference();
                 ParameterSet adamw = layout(AdamW.builder().build()).buildReference();
                 ParameterSet fewer = ParameterSet.builder().group(adam).tensor("w", 33, 31).buildReference()) {
                for (ParameterSet s : List.of(renamed, reshaped, amsgrad, adamw, fewer)) {
                    gradients(s, 1);
                    s.step();
                    s.step();
                    misfits.add(s.stateDict(true));
                }
            }
            for (StateDict misfit : misfits) {
                assertThrows(IllegalArgumentException.class, () -> set.loadStateDict(misfit));
                StateDict now = set.stateDict(true);
                for (int i = 0; i < before.params().size(); i++) {
                    assertEquals(before.params().get(i).step(), now.params().get(i).step());
                    assertEquals(before.params().get(i).parameters(), now.params().get(i).parameters());
                    assertEquals(before.params().get(i).state("exp_avg"), now.params().get(i).state("exp_avg"));
                }
            }
        }
    }

    @Test
    void snapshotsCheckThemselves() {
        OptimizerConfig adam = Adam.builder().build();
        Map<String, float[]> state = Map.of("exp_avg", new float[2], "exp_avg_sq", new float[2]);
        // A state array of another size than its algorithm gives the shape: refused by the state dict.
        IllegalArgumentException sized = assertThrows(IllegalArgumentException.class, () -> new StateDict(
                List.of(adam), List.of(new StateDict.Param("p", new int[] {3}, 0, 1, state, Map.of(), null))));
        assertTrue(sized.getMessage().contains("has 2 floats, [3] is 3"), sized.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new StateDict.Param("p", new int[] {2}, 0, -1, state, Map.of(), null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StateDict.Param("p", new int[] {2}, 0, StateDict.MAX_STEP + 1, state, Map.of(), null));
        assertTrue(e.getMessage().contains("2^53"), e.getMessage());
        StateDict.Param p = new StateDict.Param("p", new int[] {2}, 1, 1, state, Map.of(), null);
        assertThrows(IllegalArgumentException.class, () -> new StateDict(List.of(adam), List.of(p)));
        assertThrows(IllegalArgumentException.class,
                () -> new StateDict(List.of(AdamW.builder().amsgrad(true).build(), adam), List.of(
                        new StateDict.Param("p", new int[] {2}, 0, 1, state, Map.of(), null))));
        StateDict.Param q = new StateDict.Param("q", new int[] {2}, 0, 1, state, Map.of(), null);
        e = assertThrows(IllegalArgumentException.class, () -> new StateDict(List.of(adam, adam), List.of(p, q)));
        assertTrue(e.getMessage().contains("group by group"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new StateDict(List.of(NAdam.builder().build()),
                List.of(new StateDict.Param("p", new int[] {2}, 0, 1, state, Map.of(), null))));
    }

    @Test
    void groupsCanBeAddedToALiveSet() {
        OptimizerConfig adam = Adam.builder().lr(0.01).build();
        OptimizerConfig head = RmsProp.builder().momentum(0.5).build();
        SplittableRandom random = new SplittableRandom(7);
        float[] w0 = values(100, random);
        float[] h0 = values(30, random);
        try (ParameterSet set = ParameterSet.builder().group(adam).tensor("w", 10, 10).build(device);
             Optimizer w = Optimizer.reference(adam, 100);
             Optimizer h = Optimizer.reference(head, 30)) {
            set.writeParameters("w", w0);
            w.writeParameters(w0);
            for (int step = 1; step <= 4; step++) {
                if (step == 3) {
                    int group = set.addGroup(head, new ParameterSet.TensorSpec("head", 3, 10),
                            new ParameterSet.TensorSpec("none", 0));
                    assertEquals(1, group);
                    set.writeParameters("head", h0);
                    h.writeParameters(h0);
                }
                float[] g = values(100, random);
                set.writeGradients("w", g);
                w.writeGradients(g);
                w.step();
                if (step >= 3) {
                    float[] gh = values(30, random);
                    set.writeGradients("head", gh);
                    h.writeGradients(gh);
                    h.step();
                }
                set.step();
            }
            assertEquals(List.of("w", "head", "none"), set.names());
            assertEquals(4, set.stepCount("w"));
            assertEquals(2, set.stepCount("head"));
            float[] expected = new float[30];
            h.readParameters(expected);
            float[] actual = new float[30];
            set.readParameters("head", actual);
            for (int i = 0; i < 30; i++) {
                assertTrue(Conformance.ulps(actual[i], expected[i], expected[i]) <= 8, "head[" + i + "]");
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> set.addGroup(adam, new ParameterSet.TensorSpec("w", 2)));
            assertEquals("duplicate tensor name 'w'", e.getMessage());
            assertEquals(2, set.groupCount());
            try (ParameterSet copy = ParameterSet.builder(set.stateDict(true)).build(device)) {
                assertSameState(set, copy);
            }
        }
    }

    @Test
    void aSingleTensorOptimizerDoesWhatASetDoes() throws IOException {
        OptimizerConfig config = AdamW.builder().lr(0.01).weightDecay(0).build();
        SplittableRandom random = new SplittableRandom(3);
        float[] p0 = values(1023, random);
        try (Optimizer opt = Optimizer.create(device, config, 1023);
             ParameterSet twin = ParameterSet.builder().group(config).tensor("t", 1023).buildReference()) {
            opt.writeParameters(p0);
            twin.writeParameters("t", p0);
            for (int step = 1; step <= 4; step++) {
                if (step == 3) {
                    opt.setConfig(opt.config().with("lr", 0.002));
                    twin.setConfig(0, twin.config(0).with("lr", 0.002));
                }
                float[] g = values(1023, random);
                opt.writeGradients(g);
                twin.writeGradients("t", g);
                opt.step();
                twin.step();
            }
            assertEquals(0.0, opt.config().number("weight_decay"));
            assertEquals(0.002, opt.config().lr());
            float[] a = new float[1023];
            float[] e = new float[1023];
            opt.readParameters(a);
            twin.readParameters("t", e);
            for (int i = 0; i < a.length; i++) {
                assertTrue(Conformance.ulps(a[i], e[i], e[i]) <= 8, "param[" + i + "]");
            }
            StateDict state = opt.stateDict();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Checkpoint.write(state, bytes);
            try (Optimizer other = Optimizer.reference(config, 1023)) {
                other.loadStateDict(Checkpoint.read(new ByteArrayInputStream(bytes.toByteArray())));
                assertEquals(4, other.stepCount());
                assertEquals(opt.config(), other.config());
                float[] m = new float[1023];
                float[] n = new float[1023];
                opt.readState("exp_avg", m);
                other.readState("exp_avg", n);
                assertArrayEquals(m, n);
            }
            opt.zeroGrad();
            float[] before = new float[1023];
            opt.readParameters(before);
            opt.setConfig(opt.config().with("lr", 0));
            opt.step();
            opt.readParameters(a);
            assertArrayEquals(before, a);
            assertEquals(5, opt.parameterSet().stepCount(Optimizer.TENSOR));
        }
    }

    @Test
    void aTruncatedOrPaddedStreamIsRejected() throws IOException {
        try (ParameterSet set = layout(Adam.builder().build()).buildReference()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Checkpoint.write(set.stateDict(true), out);
            byte[] whole = out.toByteArray();
            for (int cut : new int[] {0, 7, 8, 100, whole.length - 1}) {
                byte[] part = java.util.Arrays.copyOf(whole, cut);
                assertThrows(CheckpointException.class, () -> Checkpoint.read(new ByteArrayInputStream(part)),
                        "cut at " + cut);
            }
            byte[] padded = java.util.Arrays.copyOf(whole, whole.length + 1);
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> Checkpoint.read(new ByteArrayInputStream(padded)));
            assertTrue(e.getMessage().contains("trailing"), e.getMessage());
        }
    }

    /** Every FloatBuffer a user can make stores the same floats on both paths. */
    @Test
    void everyKindOfFloatBufferGivesTheSameFloats() {
        float[] values = {3.5f, -1.25f, 1e-30f, 7f};
        List<FloatBuffer> kinds = new ArrayList<>();
        kinds.add(FloatBuffer.wrap(values));
        kinds.add(FloatBuffer.wrap(values).asReadOnlyBuffer());
        for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
            kinds.add(ByteBuffer.allocateDirect(16).order(order).asFloatBuffer().put(values).flip());
            kinds.add(ByteBuffer.allocate(16).order(order).asFloatBuffer().put(values).flip());
        }
        try (ParameterSet onDevice = ParameterSet.builder().group(Sgd.builder().lr(1).build())
                .tensor("p", 4).build(device);
             ParameterSet reference = ParameterSet.builder().group(Sgd.builder().lr(1).build())
                .tensor("p", 4).buildReference()) {
            for (FloatBuffer kind : kinds) {
                for (ParameterSet set : List.of(onDevice, reference)) {
                    set.writeParameters("p", new float[4]);
                    set.writeParameters("p", kind);
                    assertArrayEquals(values, read(set, "p", null), kind + " on " + set);
                    for (FloatBuffer out : List.of(
                            ByteBuffer.allocateDirect(16).order(ByteOrder.BIG_ENDIAN).asFloatBuffer(),
                            ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer(),
                            FloatBuffer.allocate(4))) {
                        set.readParameters("p", out);
                        float[] back = new float[4];
                        out.get(back);
                        assertArrayEquals(values, back, "read into " + out);
                    }
                }
            }
        }
    }
}

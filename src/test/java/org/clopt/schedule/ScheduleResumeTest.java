package org.clopt.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.clopt.Checkpoint;
import org.clopt.ParameterSet;
import org.clopt.StateDict;
import org.clopt.Stateful;
import org.clopt.schedule.GoldenSchedules.Case;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Resuming: every golden case run k steps, saved through a checkpoint stream, rebuilt and
 * loaded, then run on gives bit for bit the values of the uninterrupted run; also through a
 * set built from the checkpoint, whose pending scheduler states load at its first step.
 */
class ScheduleResumeTest {
    static Stream<Arguments> resumes() {
        List<Arguments> list = new ArrayList<>();
        for (Case c : GoldenSchedules.cases()) {
            for (int k : new int[] {0, 137, 998}) {
                list.add(Arguments.of(c, k));
            }
        }
        return list.stream();
    }

    static StateDict throughCheckpoint(StateDict state) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Checkpoint.write(state, out);
        return Checkpoint.read(new ByteArrayInputStream(out.toByteArray()));
    }

    @ParameterizedTest(name = "{0} at {1}")
    @MethodSource("resumes")
    void resumesBitForBit(Case c, int k) throws IOException {
        double[][][] whole = GoldenSchedules.record(c);
        StateDict saved;
        try (ParameterSet set = GoldenSchedules.set(c.set())) {
            Object s = GoldenSchedules.scheduler(c, set);
            for (int t = 0; t < k; t++) {
                GoldenSchedules.step(s, c, t);
            }
            saved = throughCheckpoint(set.stateDict());
        }
        assertEquals(1, saved.schedulers().size(), "one scheduler attached, its children inside");

        // A new set with the same schedulers, then the state loaded.
        try (ParameterSet set = GoldenSchedules.set(c.set())) {
            Object s = GoldenSchedules.scheduler(c, set);
            set.loadStateDict(saved);
            assertEquals(k, lastEpoch(s, c), "last_epoch after the load");
            assertSame(c, whole, GoldenSchedules.run(c, set, s, k, new double[2][set.groupCount()][c.steps() + 1]), k);
        }

        // A set built from the state: the scheduler states wait for its first step.
        try (ParameterSet set = ParameterSet.builder(saved).buildReference()) {
            Object s = GoldenSchedules.scheduler(c, set);
            set.step();
            assertSame(c, whole, GoldenSchedules.run(c, set, s, k, new double[2][set.groupCount()][c.steps() + 1]), k);
        }
    }

    private static int lastEpoch(Object s, Case c) {
        return s instanceof ReduceLROnPlateau p ? p.lastEpoch() : ((LRScheduler) s).lastEpoch();
    }

    private static void assertSame(Case c, double[][][] expected, double[][][] actual, int from) {
        for (int kind = 0; kind < 2; kind++) {
            for (int g = 0; g < expected[kind].length; g++) {
                for (int t = from; t < expected[kind][g].length; t++) {
                    if (Double.doubleToRawLongBits(expected[kind][g][t]) != Double.doubleToRawLongBits(actual[kind][g][t])) {
                        throw new AssertionError(c + " resumed at " + from + ": group " + g
                                + (kind == 0 ? " lr" : " momentum") + " at epoch " + t + " is " + actual[kind][g][t]
                                + ", uninterrupted " + expected[kind][g][t]);
                    }
                }
            }
        }
    }

    @Test
    void statesNameTheirClassAndWriteInfinityAsText() throws IOException {
        try (ParameterSet set = GoldenSchedules.set("two")) {
            ReduceLROnPlateau plateau = ReduceLROnPlateau.builder().mode("max").build(set);
            assertEquals("ReduceLROnPlateau", plateau.stateDict().get("type"));
            assertEquals("-inf", plateau.stateDict().get("best"));
            StateDict back = throughCheckpoint(set.stateDict());
            assertEquals("-inf", back.schedulers().get(0).get("best"));
            plateau.step(Double.NaN);
            assertEquals("-inf", plateau.stateDict().get("best"), "NaN never improves");
            plateau.step(0.5);
            assertEquals(0.5, plateau.stateDict().get("best"));
        }
        for (String name : Schedulers.specNames()) {
            try (ParameterSet set = GoldenSchedules.set("sgd")) {
                LRScheduler s = Schedulers.parse(set, example(name));
                assertEquals(name, s.stateDict().get("type"));
                assertEquals(name, set.stateDict().schedulers().get(0).get("type"));
            }
        }
    }

    static String example(String name) {
        switch (name) {
            case "StepLR":
                return "StepLR(3)";
            case "MultiStepLR":
                return "MultiStepLR([3])";
            case "ExponentialLR":
                return "ExponentialLR(0.9)";
            case "CosineAnnealingLR":
                return "CosineAnnealingLR(10)";
            case "CosineAnnealingWarmRestarts":
                return "CosineAnnealingWarmRestarts(10)";
            case "CyclicLR":
                return "CyclicLR(0.01, 0.1)";
            case "OneCycleLR":
                return "OneCycleLR(0.1, 100)";
            default:
                return name + "()";
        }
    }

    @Test
    void aLoadChecksEverythingFirstAndChangesNothingOnError() {
        try (ParameterSet set = GoldenSchedules.set("two")) {
            LRScheduler warmup = new LinearLR(set, 0.1, 1.0, 10);
            LRScheduler cosine = new CosineAnnealingLR(set, 50, new double[] {1e-3, 1e-4});
            SequentialLR s = new SequentialLR(set, List.of(warmup, cosine), List.of(10));
            for (int t = 0; t < 20; t++) {
                s.step();
            }
            Map<String, Object> good = s.stateDict();
            Map<String, Object> before = s.stateDict();

            assertRefused(s, with(good, "type", "ChainedScheduler"), "is of a ChainedScheduler");
            assertRefused(s, without(good, "last_epoch"), "last_epoch");
            assertRefused(s, with(good, "surprise", 1L), "unexpected state entry surprise");
            assertRefused(s, with(good, "_milestones", List.of(1L, 2L)), "_milestones");
            assertRefused(s, with(good, "_last_lr", List.of(0.1)), "_last_lr must be a list of 2 numbers");
            // A child's state that does not fit: nothing loads, the first child included.
            List<Object> children = new ArrayList<>((List<?>) good.get("_schedulers"));
            Map<String, Object> cosineState = new HashMap<>(castMap(children.get(1)));
            cosineState.put("T_max", 0L);
            children.set(1, cosineState);
            Map<String, Object> first = new HashMap<>(castMap(children.get(0)));
            first.put("last_epoch", 5L);
            children.set(0, first);
            assertRefused(s, with(good, "_schedulers", children), "scheduler 1: CosineAnnealingLR: invalid T_max: 0");
            assertEquals(before, s.stateDict());

            s.loadStateDict(good);
            assertEquals(before, s.stateDict());
        }
    }

    @Test
    void aSetRefusesSchedulerStatesThatDoNotFitAndStaysAsItWas() throws IOException {
        StateDict saved;
        try (ParameterSet set = GoldenSchedules.set("sgd")) {
            new StepLR(set, 5).step();
            saved = throughCheckpoint(set.stateDict());
        }
        try (ParameterSet set = GoldenSchedules.set("sgd")) {
            ExponentialLR other = new ExponentialLR(set, 0.5);
            other.step();
            StateDict before = set.stateDict();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> set.loadStateDict(saved));
            assertTrue(e.getMessage().contains("StepLR"), e.getMessage());
            assertEquals(before.schedulers(), set.stateDict().schedulers());
            assertEquals(before.groups(), set.stateDict().groups());
        }
        try (ParameterSet set = GoldenSchedules.set("two")) {
            StepLR two = new StepLR(set, 5);
            Map<String, Object> one;
            try (ParameterSet single = GoldenSchedules.set("sgd")) {
                one = new StepLR(single, 5).stateDict();
            }
            Map<String, Object> before = two.stateDict();
            assertRefused(two, one, "base_lrs must be a list of 2 numbers");
            assertEquals(before, two.stateDict());
        }
    }

    @Test
    void lambdaStatesHoldNoFunctionsAndResumeWithTheSameOnes() {
        try (ParameterSet set = GoldenSchedules.set("two")) {
            LambdaLR s = new LambdaLR(set, List.of(e -> 1.0 / (1 + e), e -> 0.5));
            s.step();
            s.step();
            Map<String, Object> state = s.stateDict();
            assertEquals(java.util.Set.of("type", "base_lrs", "last_epoch", "_step_count", "_last_lr"), state.keySet());
            try (ParameterSet again = GoldenSchedules.set("two")) {
                LambdaLR resumed = new LambdaLR(again, List.of(e -> 1.0 / (1 + e), e -> 0.5));
                resumed.loadStateDict(state);
                resumed.step();
                s.step();
                assertEquals(java.util.Arrays.toString(s.getLastLr()), java.util.Arrays.toString(resumed.getLastLr()));
            }
        }
    }

    @Test
    void aCompositeDrivesAndSavesItsSchedulers() {
        try (ParameterSet set = GoldenSchedules.set("sgd")) {
            StepLR a = new StepLR(set, 3);
            ExponentialLR b = new ExponentialLR(set, 0.5);
            assertEquals(2, set.stateDict().schedulers().size());
            ChainedScheduler chain = new ChainedScheduler(set, List.of(a, b));
            List<Map<String, Object>> saved = set.stateDict().schedulers();
            assertEquals(1, saved.size());
            assertEquals("ChainedScheduler", saved.get(0).get("type"));
            assertEquals(2, ((List<?>) saved.get(0).get("_schedulers")).size());
            IllegalStateException e = assertThrows(IllegalStateException.class, a::step);
            assertTrue(e.getMessage().contains("driven by a ChainedScheduler"), e.getMessage());
            IllegalArgumentException again = assertThrows(IllegalArgumentException.class,
                    () -> new SequentialLR(set, List.of(a, b), List.of(3)));
            assertTrue(again.getMessage().contains("is driven by a ChainedScheduler already"), again.getMessage());
            chain.step();
            assertEquals(1, a.lastEpoch());
            assertEquals(1, chain.lastEpoch());
        }
    }

    private static void assertRefused(Stateful s, Map<String, Object> state, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.loadStateDict(state));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Object o) {
        return (Map<String, Object>) o;
    }

    private static Map<String, Object> with(Map<String, Object> state, String key, Object value) {
        Map<String, Object> copy = new HashMap<>(state);
        copy.put(key, value);
        return copy;
    }

    private static Map<String, Object> without(Map<String, Object> state, String key) {
        Map<String, Object> copy = new HashMap<>(state);
        copy.remove(key);
        return copy;
    }
}

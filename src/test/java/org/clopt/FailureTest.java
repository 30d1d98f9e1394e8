package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Steps and loads that fail part way, as an OpenCL error would make them: counts always match
 * the data, a retried step applies nothing twice, and a failed load leaves the set as it was.
 */
class FailureTest {
    @TempDir
    Path dir;

    /** The CPU reference engine of group {@code failing}, failing its next launch or write when told. */
    static final class Failing extends ReferenceEngine {
        boolean failRun;
        /** State writes to let through before one fails; negative: none fails. */
        int writesBeforeFailure = -1;

        Failing(OptimizerConfig layout, int size, int[] stateSizes) {
            super(layout, Precision.FP32, size, stateSizes);
        }

        @Override
        void run(OptimizerConfig config, float[] scalars, int from, int to, StepInput input) {
            if (failRun) {
                throw new OpenClException("enqueue failed: CL_OUT_OF_RESOURCES (-5)", -5, null);
            }
            super.run(config, scalars, from, to, input);
        }

        @Override
        void write(int array, int from, FloatBuffer src) {
            if (array >= 2 && writesBeforeFailure >= 0 && writesBeforeFailure-- == 0) {
                throw new OpenClException("writing state failed: CL_OUT_OF_RESOURCES (-5)", -5, null);
            }
            super.write(array, from, src);
        }
    }

    private Failing second;

    private ParameterSet set() {
        return ParameterSet.builder().group(Adam.builder().build()).tensor("a", 5)
                .group(Adam.builder().lr(0.01).build()).tensor("b", 7)
                .engines((device, layout, precision, size, stateSizes, tensorSizes, host, wgs) -> size == 7
                        ? (second = new Failing(layout, size, stateSizes))
                        : new ReferenceEngine(layout, precision, size, stateSizes))
                .buildReference();
    }

    private static float[] read(ParameterSet set, String name) {
        float[] out = new float[set.size(name)];
        set.readParameters(name, out);
        return out;
    }

    @Test
    void aStepThatFailsInAGroupCountsWhatWasLaunchedAndARetryAppliesNothingTwice() {
        try (ParameterSet straight = set(); ParameterSet s = set()) {
            Failing failing = second;
            for (ParameterSet x : new ParameterSet[] {straight, s}) {
                x.writeParameters("a", new float[] {1, 2, 3, 4, 5});
                x.writeGradients("a", new float[] {1, 1, 1, 1, 1});
                x.writeGradients("b", new float[] {1, 1, 1, 1, 1, 1, 1});
            }
            failing.failRun = true;
            assertThrows(OpenClException.class, s::step);
            assertEquals(1, s.stepCount("a"), "group 0 was launched: its step counts");
            assertEquals(0, s.stepCount("b"), "group 1 failed: its step does not");
            straight.step();
            assertArrayEquals(read(straight, "a"), read(s, "a"), "the counts match the data");
            failing.failRun = false;
            s.step();
            straight.step();
            assertEquals(2, s.stepCount("a"));
            assertEquals(1, s.stepCount("b"));
            assertArrayEquals(read(straight, "a"), read(s, "a"), "group 0 stepped twice in all");
        }
    }

    @Test
    void aLoadThatFailsPartWayPutsTheSetBack() {
        try (ParameterSet source = set()) {
            source.writeGradients("a", new float[] {1, 1, 1, 1, 1});
            source.step();
            source.step();
            StateDict state = source.stateDict(true);
            try (ParameterSet target = set()) {
                Failing failing = second;
                target.writeParameters("b", new float[] {7, 6, 5, 4, 3, 2, 1});
                StateDict before = target.stateDict(true);
                failing.writesBeforeFailure = 1; // exp_avg of b is written, exp_avg_sq fails
                OpenClException e = assertThrows(OpenClException.class, () -> target.loadStateDict(state));
                assertTrue(e.getMessage().contains("writing state failed"), e.getMessage());
                StateDict after = target.stateDict(true);
                for (int i = 0; i < 2; i++) {
                    assertEquals(before.params().get(i).step(), after.params().get(i).step());
                    assertEquals(before.params().get(i).parameters(), after.params().get(i).parameters());
                    assertEquals(before.params().get(i).state("exp_avg"), after.params().get(i).state("exp_avg"));
                }
                assertEquals(before.groups(), after.groups());
                // Through a checkpoint file the same failure is a CheckpointException.
                Path file = dir.resolve("state.safetensors");
                Checkpoint.write(state, file);
                failing.writesBeforeFailure = 1;
                CheckpointException c = assertThrows(CheckpointException.class, () -> Checkpoint.load(target, file));
                assertTrue(c.getMessage().contains("put back as it was"), c.getMessage());
                assertEquals(0, target.stepCount("a"));
                assertTrue(Arrays.equals(new float[] {7, 6, 5, 4, 3, 2, 1}, read(target, "b")));
            }
        }
    }
}

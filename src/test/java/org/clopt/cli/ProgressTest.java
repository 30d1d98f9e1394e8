package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The time left of a plan whose parts' steps cost differently, on a clock the test moves. */
class ProgressTest {
    private long now;

    private void step(Progress.Plan plan, String part, long ms) {
        now += ms * 1_000_000;
        plan.stepped(part);
    }

    @Test
    void timeLeftIsEachPartsStepsLeftTimesItsOwnTimePerStep() {
        Progress.Plan plan = new Progress.Plan(() -> now).add("slow", 10, 1).add("fast", 100, 0.1);
        plan.start();
        assertEquals(Optional.empty(), plan.left(), "nothing timed yet");
        // The first step carries the part's setup and is not timed.
        step(plan, "slow", 500);
        assertEquals(Optional.empty(), plan.left());
        for (int i = 0; i < 4; i++) {
            step(plan, "slow", 20);
        }
        // 5 slow steps left at 20 ms; 100 fast ones estimated from the hint, at 2 ms.
        assertEquals(Duration.ofMillis(5 * 20 + 100 * 2), plan.left().orElseThrow());
        for (int i = 0; i < 5; i++) {
            step(plan, "slow", 20);
        }
        step(plan, "fast", 300);
        for (int i = 0; i < 10; i++) {
            step(plan, "fast", 5);
        }
        // The fast part's own 5 ms per step replaces the hint's 2 ms: 89 steps left.
        assertEquals(Duration.ofMillis(89 * 5), plan.left().orElseThrow());
        for (int i = 0; i < 89; i++) {
            step(plan, "fast", 5);
        }
        assertTrue(plan.left().orElseThrow().isZero());
    }
}

package org.clopt.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The error measure the conformance check rests on. */
class ConformanceUlpsTest {
    @Test
    void countsUlpsOfTheLargerOperand() {
        assertEquals(0, Conformance.ulps(1f, 1f, 0f));
        assertEquals(1, Conformance.ulps(Math.nextUp(1f), 1f, 0f));
        assertEquals(3, Conformance.ulps(1f + 3 * Math.ulp(1f), 1f, 0.5f));
        // p - update cancelled to a small result: judged against the previous value's ulp.
        assertEquals(1, Conformance.ulps(Math.ulp(1f), 0f, 1f));
    }

    @Test
    void nanAndInfinityMustMatchExactly() {
        assertEquals(0, Conformance.ulps(Float.NaN, Float.NaN, 1f));
        assertEquals(0, Conformance.ulps(Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, 1f));
        assertEquals(Double.POSITIVE_INFINITY, Conformance.ulps(Float.NaN, 1f, 1f));
        assertEquals(Double.POSITIVE_INFINITY, Conformance.ulps(1f, Float.NaN, 1f));
        assertEquals(Double.POSITIVE_INFINITY, Conformance.ulps(Float.MAX_VALUE, Float.POSITIVE_INFINITY, 1f));
        assertEquals(Double.POSITIVE_INFINITY,
                Conformance.ulps(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 1f));
    }

    @Test
    void flushedSubnormalsAreWithinOneUlpOfTheSmallestNormal() {
        assertEquals(0.5, Conformance.ulps(0f, Float.MIN_NORMAL / 2, 0f), 1e-9);
    }
}

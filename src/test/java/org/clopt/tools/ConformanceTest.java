package org.clopt.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import org.clopt.OnDevice;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every kernel meets: for every algorithm and option set, on sizes that are not
 * multiples of any vector width or work-group size, with dense, sparse and special-valued
 * gradients, the kernel tracks the CPU reference within the algorithm's ulp allowance in the
 * parameters and every state array, after each of several steps. Runs on real OpenCL: with no
 * device this fails, it never skips.
 */
class ConformanceTest extends OnDevice {
    static final int[] SIZES = {1, 3, 1023, 4097, 1 << 20};
    static final int STEPS = 7;


    /** Worst error seen per algorithm, printed to the test report for the record. */
    private static final java.util.Map<String, Double> WORST = new java.util.TreeMap<>();

    @AfterAll
    static void report() {
        System.out.println("kernel vs CPU reference, worst ulp per algorithm on " + device + ": " + WORST);
    }

    static List<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Conformance.OptionSet options : Conformance.optionSets()) {
            for (int size : SIZES) {
                for (Conformance.Gradients kind : Conformance.Gradients.values()) {
                    // The special values need no million-element run to be exercised.
                    if (kind != Conformance.Gradients.SPECIAL || size < (1 << 20)) {
                        cases.add(Arguments.of(options, size, kind));
                    }
                }
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0}, n={1}, {2}")
    @MethodSource("cases")
    void kernelMatchesReference(Conformance.OptionSet options, int size, Conformance.Gradients kind) {
        Conformance.Result result = Conformance.check(device, options, size, kind, STEPS, 42L + size);
        WORST.merge(options.config().algorithm(), result.worstUlps(), Math::max);
        assertTrue(result.passed(), () -> options + " n=" + size + " " + kind + ": "
                + result.firstFailure());
    }
}

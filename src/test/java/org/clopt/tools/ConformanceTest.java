package org.clopt.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.clopt.OnDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every kernel meets: for every algorithm and option set, on sizes that are not
 * multiples of any vector width or work-group size, with dense, sparse and special-valued
 * gradients, the kernel tracks the CPU reference within the algorithm's ulp allowance in the
 * parameters and every state array, after each of several steps. The cases are
 * {@link Conformance#cases}, the matrix {@code verify} runs too. Runs on real OpenCL: with no
 * device this fails, it never skips.
 */
class ConformanceTest extends OnDevice {
    /** Worst error seen per algorithm, printed to the test report for the record. */
    private static final java.util.Map<String, Double> WORST = new java.util.TreeMap<>();

    @AfterAll
    static void report() {
        System.out.println("kernel vs CPU reference, worst ulp per algorithm on " + device + ": " + WORST);
    }

    static List<Conformance.Case> cases() {
        return Conformance.cases(Conformance.DEFAULT_SIZES);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void kernelMatchesReference(Conformance.Case c) {
        Conformance.Result result = Conformance.check(device, c, Conformance.DEFAULT_STEPS);
        WORST.merge(c.options().config().algorithm(), result.worstUlps(), Math::max);
        assertTrue(result.passed(), () -> c + ": " + result.firstFailure());
    }

    @Test
    void matrixIsEveryOptionSetTimesEverySizeAndKindWithoutSpecialValuesOnTheLargeSize() {
        int sets = Conformance.optionSets().size();
        int kinds = Conformance.Gradients.values().length;
        assertEquals(sets * (4 * kinds + (kinds - 1)), cases().size());
        assertTrue(cases().stream().noneMatch(c -> c.size() >= Conformance.SPECIAL_BELOW
                && c.gradients() == Conformance.Gradients.SPECIAL));
        assertEquals(List.of(1, 3), Conformance.cases(List.of(1, 3)).stream()
                .map(Conformance.Case::size).distinct().toList());
    }
}

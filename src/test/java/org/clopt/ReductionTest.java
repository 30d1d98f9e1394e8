package org.clopt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The public sum: the same bits as the CPU reference's order, close to the exact sum. */
class ReductionTest extends OnDevice {
    @Test
    void sumsMatchTheReferenceAndTheExactValue() {
        SplittableRandom r = new SplittableRandom(2);
        float[] x = new float[3 * SetKernels.CHUNK + 77];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 3 - 1);
        }
        try (Reduction reduction = Reduction.open(device); DeviceBuffer b = DeviceBuffer.of(device, x, "x");
             SetKernels.Reference reference = new SetKernels.Reference()) {
            for (int[] range : new int[][] {{0, 0}, {0, 1}, {5, 3}, {0, x.length}, {100, 4097}, {9, x.length - 9}}) {
                float sum = reduction.sum(b, range[0], range[1]);
                assertEquals(reference.sum(x, range[0], range[1]), sum, 0f, "bits of " + range[0] + "+" + range[1]);
                double exact = 0;
                for (int i = range[0]; i < range[0] + range[1]; i++) {
                    exact += x[i];
                }
                assertEquals(exact, sum, 1e-5 * Math.max(1, Math.abs(exact)));
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> reduction.sum(b, 10, x.length));
            assertTrue(e.getMessage().startsWith("invalid range [10, "), e.getMessage());
        }
    }
}

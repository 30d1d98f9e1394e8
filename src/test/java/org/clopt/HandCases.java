package org.clopt;

import java.util.Arrays;

/** Helpers of the tests that check hand-worked cases of several tensors (LambTest, AdafactorTest). */
final class HandCases {
    private HandCases() {
    }

    /** The tensors' values laid end to end, as a group and the golden files hold them. */
    static float[] flat(float[][] parts) {
        int n = Arrays.stream(parts).mapToInt(a -> a.length).sum();
        float[] out = new float[n];
        int at = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, out, at, a.length);
            at += a.length;
        }
        return out;
    }

    /** The values widened to double, for comparison with float64 golden files. */
    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}

package org.clopt.schedule;

import java.math.BigDecimal;
import java.util.List;

/**
 * Python's float arithmetic where it differs from Java's, so that a schedule computes what
 * PyTorch computes, fails where PyTorch fails, and messages show numbers as Python writes them.
 */
final class Py {
    private Py() {
    }

    /** {@code a / b}, or Python's ZeroDivisionError as an ArithmeticException. */
    static double div(double a, double b) {
        if (b == 0) {
            throw new ArithmeticException("float division by zero");
        }
        return a / b;
    }

    /**
     * CPython's {@code float ** float}: 1 to any power is 1, 0 to a negative power and an
     * overflow raise, a negative base to a fractional power gives a complex number (an error
     * here); everything else is C's {@code pow} (Java's, which may differ from the C library's
     * in the last bit).
     */
    static double pow(double x, double y) {
        if (x == 1.0 || y == 0.0) {
            return 1.0;
        }
        if (x == 0.0 && y < 0) {
            throw new ArithmeticException("0.0 cannot be raised to a negative power");
        }
        if (x < 0 && Double.isFinite(x) && Double.isFinite(y) && y != Math.rint(y)) {
            throw new ArithmeticException(repr(x) + " ** " + repr(y) + " is a complex number");
        }
        double r = Math.pow(x, y);
        if (Double.isInfinite(r) && Double.isFinite(x) && Double.isFinite(y)) {
            throw new ArithmeticException("(34, 'Numerical result out of range')");
        }
        return r;
    }

    /** Python's {@code bisect.bisect_right}: the same probes, so even an unsorted list agrees. */
    static int bisectRight(int[] a, int x) {
        int lo = 0;
        int hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (x < a[mid]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** Python's {@code max(a, b)}: the first of equal values (which matters for -0.0 and 0.0). */
    static double max(double a, double b) {
        return b > a ? b : a;
    }

    /** Python's {@code repr} of a float: {@code 0.1}, {@code 1e-05}, {@code 2.0}, {@code inf}. */
    static String repr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d > 0 ? "0.0" : "-0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = exact.precision() - exact.scale() - 1;
        String sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16) {
            String digits = exact.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
        }
        String plain = exact.abs().toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }

    /** Python's repr of an argument value: floats as {@link #repr(double)}, strings quoted, lists. */
    static String repr(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof Double d) {
            return repr(d.doubleValue());
        }
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (value instanceof String s) {
            return "'" + s + "'";
        }
        if (value instanceof double[] a) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < a.length; i++) {
                b.append(i == 0 ? "" : ", ").append(repr(a[i]));
            }
            return b.append(']').toString();
        }
        if (value instanceof int[] a) {
            return repr(java.util.Arrays.stream(a).boxed().toList());
        }
        if (value instanceof List<?> list) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                b.append(i == 0 ? "" : ", ").append(repr(list.get(i)));
            }
            return b.append(']').toString();
        }
        return String.valueOf(value);
    }
}

package org.clopt.schedule;

/** Argument checks whose messages name the scheduler, the argument, its value and the range. */
final class Check {
    private Check() {
    }

    static IllegalArgumentException invalid(String type, String name, Object value, String range) {
        return new IllegalArgumentException(type + ": invalid " + name + ": " + Py.repr(value)
                + " (must be " + range + ")");
    }

    static double finite(String type, String name, double value) {
        if (!Double.isFinite(value)) {
            throw invalid(type, name, value, "a finite number");
        }
        return value;
    }

    static int atLeast(String type, String name, int value, int min) {
        if (value < min) {
            throw invalid(type, name, value, "an integer >= " + min);
        }
        return value;
    }

    /** {@code low <= value <= high}, or with {@code lowOpen} {@code low < value <= high}. */
    static double between(String type, String name, double value, double low, boolean lowOpen, double high) {
        boolean ok = (lowOpen ? value > low : value >= low) && value <= high;
        if (!ok) {
            throw invalid(type, name, value, "in " + (lowOpen ? "(" : "[") + Py.repr(low) + ", "
                    + Py.repr(high) + "]");
        }
        return value;
    }

    static <T> T notNull(String type, String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(type + ": " + name + " is null");
        }
        return value;
    }
}

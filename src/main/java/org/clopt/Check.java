package org.clopt;

/** Hyperparameter checks with messages that name the parameter, its value and the allowed range. */
final class Check {
    private Check() {
    }

    static double atLeastZero(String name, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw invalid(name, value, "a finite number >= 0");
        }
        return value;
    }

    static double finite(String name, double value) {
        if (!Double.isFinite(value)) {
            throw invalid(name, value, "a finite number");
        }
        return value;
    }

    /** 0 <= value < 1, the range of Adam's betas. */
    static double unitOpen(String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw invalid(name, value, "in [0, 1)");
        }
        return value;
    }

    /** 0 <= value <= 1, the range of Adadelta's rho. */
    static double unitClosed(String name, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw invalid(name, value, "in [0, 1]");
        }
        return value;
    }

    static IllegalArgumentException invalid(String name, double value, String range) {
        return new IllegalArgumentException(
                "invalid " + name + ": " + value + " (must be " + range + ")");
    }
}

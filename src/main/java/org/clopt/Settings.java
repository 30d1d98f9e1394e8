package org.clopt;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Hyperparameters given as text under PyTorch's keyword names ("lr", "betas", "amsgrad"), as
 * the command line and scripts pass them. Each value is taken once; {@link #finish} rejects the
 * keys nobody took.
 */
final class Settings {
    private final String algorithm;
    private final Map<String, String> remaining;
    private final TreeSet<String> known = new TreeSet<>();

    Settings(String algorithm, Map<String, String> values) {
        this.algorithm = algorithm;
        this.remaining = new LinkedHashMap<>(values);
    }

    boolean has(String key) {
        known.add(key);
        return remaining.containsKey(key);
    }

    double number(String key, double fallback) {
        known.add(key);
        String text = remaining.remove(key);
        return text == null ? fallback : parseNumber(key, text);
    }

    boolean flag(String key, boolean fallback) {
        known.add(key);
        String text = remaining.remove(key);
        if (text == null) {
            return fallback;
        }
        switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true":
                return true;
            case "false":
                return false;
            default:
                throw new IllegalArgumentException(
                        "invalid " + key + ": '" + text + "' (must be true or false)");
        }
    }

    /** A pair such as betas=0.9,0.999. */
    double[] pair(String key, double first, double second) {
        known.add(key);
        String text = remaining.remove(key);
        if (text == null) {
            return new double[] {first, second};
        }
        String[] parts = text.split(",", -1);
        if (parts.length != 2) {
            throw new IllegalArgumentException(
                    "invalid " + key + ": '" + text + "' (must be two numbers separated by a comma)");
        }
        return new double[] {parseNumber(key, parts[0]), parseNumber(key, parts[1])};
    }

    void finish() {
        if (!remaining.isEmpty()) {
            String key = remaining.keySet().iterator().next();
            throw new IllegalArgumentException("unknown hyperparameter for " + algorithm + ": '"
                    + key + "' (known: " + String.join(", ", known) + ")");
        }
    }

    private static double parseNumber(String key, String text) {
        try {
            return Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "invalid " + key + ": '" + text + "' (must be a number)", e);
        }
    }
}

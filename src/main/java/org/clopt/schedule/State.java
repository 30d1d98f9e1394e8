package org.clopt.schedule;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Scheduler states as JSON data ({@link org.clopt.Stateful}'s rules): doubles that JSON cannot
 * hold (infinities, NaN, and -0.0, whose sign a round trip through an integer would lose) are
 * written as the strings {@code "inf"}, {@code "-inf"}, {@code "nan"} and {@code "-0.0"}; numbers
 * are read through {@link Number}, whatever type a checkpoint gives back.
 */
final class State {
    private State() {
    }

    /** A new state map with its {@code "type"}. */
    static Map<String, Object> of(String type) {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("type", type);
        return state;
    }

    static Object number(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0 && 1 / d < 0) {
            return "-0.0";
        }
        return d;
    }

    static List<Object> numbers(double[] values) {
        List<Object> list = new ArrayList<>();
        for (double v : values) {
            list.add(number(v));
        }
        return list;
    }

    static List<Object> integers(int[] values) {
        List<Object> list = new ArrayList<>();
        for (int v : values) {
            list.add((long) v);
        }
        return list;
    }

    /** Reads a state, checking each entry as it goes; {@link #done()} refuses entries not read. */
    static final class Reader {
        private final Map<String, Object> state;
        private final String type;
        private final Set<String> read = new HashSet<>();

        Reader(Map<String, Object> state, String type) {
            if (state == null) {
                throw new IllegalArgumentException(type + ": the state is null");
            }
            this.state = state;
            this.type = type;
            Object actual = state.get("type");
            if (!type.equals(actual)) {
                throw new IllegalArgumentException(type + ": the state is of a " + actual
                        + ", not of a " + type);
            }
            read.add("type");
        }

        IllegalArgumentException bad(String key, String expected) {
            return new IllegalArgumentException(type + ": state entry " + key + " must be " + expected
                    + ", not " + (state.containsKey(key) ? String.valueOf(state.get(key)) : "missing"));
        }

        boolean has(String key) {
            return state.containsKey(key);
        }

        private Object get(String key, String expected) {
            read.add(key);
            Object value = state.get(key);
            if (value == null) {
                throw bad(key, expected);
            }
            return value;
        }

        double number(String key) {
            return toNumber(key, get(key, "a number"), "a number");
        }

        private double toNumber(String key, Object value, String expected) {
            if (value instanceof Number n) {
                return n.doubleValue();
            }
            if (value instanceof String s) {
                switch (s) {
                    case "inf":
                        return Double.POSITIVE_INFINITY;
                    case "-inf":
                        return Double.NEGATIVE_INFINITY;
                    case "nan":
                        return Double.NaN;
                    case "-0.0":
                        return -0.0;
                    default:
                        break;
                }
            }
            throw bad(key, expected);
        }

        /** A list of exactly {@code n} numbers. */
        double[] numbers(String key, int n) {
            String expected = "a list of " + n + " numbers";
            if (!(get(key, expected) instanceof List<?> list) || list.size() != n) {
                throw bad(key, expected);
            }
            double[] values = new double[n];
            for (int i = 0; i < n; i++) {
                values[i] = toNumber(key, list.get(i), expected);
            }
            return values;
        }

        /** A number for every group or a list of one per group. */
        Signature.Floats floats(String key, int n) {
            return state.get(key) instanceof List<?> ? Signature.Floats.list(numbers(key, n))
                    : Signature.Floats.scalar(number(key));
        }

        /** A list of numbers of any length. */
        double[] numbers(String key) {
            if (!(state.get(key) instanceof List<?> list)) {
                throw bad(key, "a list of numbers");
            }
            return numbers(key, list.size());
        }

        int integer(String key) {
            return toInt(key, get(key, "an integer"), "an integer");
        }

        long longInteger(String key) {
            Object value = get(key, "an integer");
            if (value instanceof Number n && isIntegral(n)) {
                return n.longValue();
            }
            throw bad(key, "an integer");
        }

        private int toInt(String key, Object value, String expected) {
            if (value instanceof Number n && isIntegral(n) && n.longValue() == (int) n.longValue()) {
                return (int) n.longValue();
            }
            throw bad(key, expected);
        }

        private static boolean isIntegral(Number n) {
            double d = n.doubleValue();
            return n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte
                    || (d == Math.rint(d) && Math.abs(d) < 0x1p53);
        }

        int[] integers(String key) {
            String expected = "a list of integers";
            if (!(get(key, expected) instanceof List<?> list)) {
                throw bad(key, expected);
            }
            int[] values = new int[list.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = toInt(key, list.get(i), expected);
            }
            return values;
        }

        boolean flag(String key) {
            if (get(key, "true or false") instanceof Boolean b) {
                return b;
            }
            throw bad(key, "true or false");
        }

        String string(String key) {
            if (get(key, "a string") instanceof String s) {
                return s;
            }
            throw bad(key, "a string");
        }

        String string(String key, List<String> allowed) {
            String expected = "one of " + allowed;
            if (get(key, expected) instanceof String s && allowed.contains(s)) {
                return s;
            }
            throw bad(key, expected);
        }

        /** A list of exactly {@code n} states (maps). */
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> states(String key, int n) {
            String expected = "a list of " + n + " scheduler states";
            if (!(get(key, expected) instanceof List<?> list) || list.size() != n) {
                throw bad(key, expected);
            }
            List<Map<String, Object>> states = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof Map<?, ?>)) {
                    throw bad(key, expected);
                }
                states.add((Map<String, Object>) o);
            }
            return states;
        }

        /** Refuses entries nothing read: a state of another version or kind. */
        void done() {
            for (String key : state.keySet()) {
                if (!read.contains(key)) {
                    throw new IllegalArgumentException(type + ": unexpected state entry " + key);
                }
            }
        }
    }
}

package org.clopt.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.clopt.ParameterSet;

/**
 * A scheduler's constructor as PyTorch declares it, the optimizer left out: its class name and
 * its arguments in order, each with its PyTorch name, kind and default. Written once per
 * scheduler, it gives the defaults of the Java constructors and builders, binds text specs
 * ({@link SpecParser}) and writes help texts.
 */
final class Signature {
    /** What an argument takes, as a Python value in a spec. */
    enum Kind {
        /** An int. */
        INT("an integer"),
        /** An int or None. */
        OPTIONAL_INT("an integer or None"),
        /** A float (an int is taken as one, as Python does). */
        FLOAT("a number"),
        /** A float for every group, or a list or tuple of one per group. */
        FLOATS("a number or a list of one number per parameter group"),
        /** A list or tuple of ints. */
        INTS("a list of integers"),
        /** True or False. */
        BOOL("True or False"),
        /** One of a few strings. */
        CHOICE("a string"),
        /** A Java function: None is the only value text can give. */
        FUNCTION("a Java function"),
        /** last_epoch: only -1, a schedule from its start. */
        LAST_EPOCH("-1");

        final String text;

        Kind(String text) {
            this.text = text;
        }
    }

    /** One argument; a required one has no default. */
    record Param(String name, Kind kind, boolean required, Object defaultValue, List<String> choices) {
        static Param required(String name, Kind kind) {
            return new Param(name, kind, true, null, List.of());
        }

        static Param optional(String name, Kind kind, Object defaultValue) {
            return new Param(name, kind, false, defaultValue, List.of());
        }

        static Param choice(String name, String defaultValue, String... choices) {
            return new Param(name, Kind.CHOICE, false, defaultValue, List.of(choices));
        }

        static Param lastEpoch() {
            return new Param("last_epoch", Kind.LAST_EPOCH, false, -1, List.of());
        }

        @Override
        public String toString() {
            return required ? name : name + "=" + Py.repr(defaultValue);
        }
    }

    /** Makes the scheduler from bound arguments. */
    interface Factory {
        Object create(ParameterSet set, Args args);
    }

    final String name;
    final List<Param> params;
    private final Factory factory;
    /** Why the scheduler cannot be made from text, or null when it can. */
    final String notAsText;

    private Signature(String name, Factory factory, String notAsText, Param... params) {
        this.name = name;
        this.factory = factory;
        this.notAsText = notAsText;
        this.params = List.of(params);
    }

    static Signature of(String name, Factory factory, Param... params) {
        return new Signature(name, factory, null, params);
    }

    /** A scheduler that only the Java API makes, and why. */
    static Signature javaOnly(String name, String why, Param... params) {
        return new Signature(name, null, why, params);
    }

    Param param(String key) {
        for (Param p : params) {
            if (p.name.equals(key)) {
                return p;
            }
        }
        throw new IllegalArgumentException(name + ": unknown argument '" + key + "' (allowed: "
                + String.join(", ", names()) + ")");
    }

    List<String> names() {
        return params.stream().map(Param::name).toList();
    }

    /** {@code StepLR(step_size, gamma=0.1, last_epoch=-1)}. */
    String usage() {
        List<String> parts = new ArrayList<>();
        params.forEach(p -> parts.add(p.toString()));
        return name + "(" + String.join(", ", parts) + ")";
    }

    /** Empty arguments, filled by a builder or by {@link #bind}. */
    Args args() {
        return new Args(this);
    }

    /** Binds a parsed call's arguments by position and keyword, as Python does. */
    Args bind(List<Object> positional, Map<String, Object> keywords) {
        if (positional.size() > params.size()) {
            throw new IllegalArgumentException(name + " takes at most " + params.size() + " arguments ("
                    + String.join(", ", names()) + "), got " + positional.size());
        }
        Args args = args();
        for (int i = 0; i < positional.size(); i++) {
            Param p = params.get(i);
            args.put(p.name, convert(p, positional.get(i)));
        }
        for (Map.Entry<String, Object> e : keywords.entrySet()) {
            Param p = param(e.getKey());
            if (args.has(p.name)) {
                throw new IllegalArgumentException(name + ": got multiple values for argument '" + p.name + "'");
            }
            args.put(p.name, convert(p, e.getValue()));
        }
        return args;
    }

    /** A parsed Python value as the argument's Java value. */
    private Object convert(Param p, Object value) {
        Object v = value == SpecParser.NONE ? null : value;
        switch (p.kind) {
            case INT:
            case LAST_EPOCH:
                if (isInt(v)) {
                    return (int) (long) (Long) v;
                }
                break;
            case OPTIONAL_INT:
                if (v == null || isInt(v)) {
                    return v == null ? null : (int) (long) (Long) v;
                }
                break;
            case FLOAT:
                if (v instanceof Long || v instanceof Double) {
                    return ((Number) v).doubleValue();
                }
                break;
            case FLOATS:
                if (v instanceof Long || v instanceof Double) {
                    return Floats.scalar(((Number) v).doubleValue());
                }
                if (v instanceof List<?> list && list.stream().allMatch(x -> x instanceof Long || x instanceof Double)) {
                    return Floats.list(list.stream().mapToDouble(x -> ((Number) x).doubleValue()).toArray());
                }
                break;
            case INTS:
                if (v instanceof List<?> list && list.stream().allMatch(Signature::isInt)) {
                    return list.stream().mapToInt(x -> (int) ((Long) x).longValue()).toArray();
                }
                break;
            case BOOL:
                if (v instanceof Boolean) {
                    return v;
                }
                break;
            case CHOICE:
                if (v instanceof String s) {
                    if (!p.choices.contains(s)) {
                        throw new IllegalArgumentException(name + ": invalid " + p.name + ": '" + s
                                + "' (must be one of " + choices(p) + ")");
                    }
                    return s;
                }
                break;
            case FUNCTION:
                if (v == null) {
                    return null;
                }
                throw new IllegalArgumentException(name + ": " + p.name + " needs a Java function, which text "
                        + "cannot give: make the scheduler with the Java API");
            default:
                break;
        }
        String expected = p.kind == Kind.CHOICE ? "one of " + choices(p) : p.kind.text;
        throw new IllegalArgumentException(name + ": " + p.name + " must be " + expected + ", not "
                + Py.repr(value == SpecParser.NONE ? null : value));
    }

    /** A Python int that fits a Java int. */
    private static boolean isInt(Object v) {
        return v instanceof Long l && l == (int) l.longValue();
    }

    static String choices(Param p) {
        return String.join(", ", p.choices.stream().map(c -> "'" + c + "'").toList());
    }

    /** Makes the scheduler from text: a spec's bound arguments. */
    LRScheduler create(ParameterSet set, Args args) {
        if (notAsText != null) {
            throw new IllegalArgumentException(notAsText);
        }
        return (LRScheduler) factory.create(set, args);
    }

    /** Per-group numbers given as one number for every group or a list of one per group. */
    record Floats(double[] values, boolean isList) {
        static Floats scalar(double value) {
            return new Floats(new double[] {value}, false);
        }

        static Floats list(double... values) {
            return new Floats(values.clone(), true);
        }

        /** From a builder's varargs: one value is for every group. */
        static Floats of(double... values) {
            if (values.length == 0) {
                throw new IllegalArgumentException("no value given");
            }
            return values.length == 1 ? scalar(values[0]) : list(values);
        }

        /** One finite value per group, or an error naming the argument. */
        double[] perGroup(String type, String name, int groups) {
            if (isList && values.length != groups) {
                throw new IllegalArgumentException(type + ": " + name + " has " + values.length
                        + " values but the set has " + groups + " parameter groups");
            }
            double[] out = isList ? values.clone() : filled(values[0], groups);
            for (int g = 0; g < out.length; g++) {
                Check.finite(type, isList ? name + "[" + g + "]" : name, out[g]);
            }
            return out;
        }

        private static double[] filled(double value, int n) {
            double[] a = new double[n];
            Arrays.fill(a, value);
            return a;
        }

        @Override
        public String toString() {
            return isList ? Py.repr(values) : Py.repr(values[0]);
        }
    }
}

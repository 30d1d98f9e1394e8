package org.clopt;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One hyperparameter of an {@link Algorithm}, declared once: its PyTorch keyword, its kind
 * (a number, a pair of numbers such as {@code betas}, or a flag), its default (PyTorch's), the
 * values it allows and whether it is structural.
 * Validation, builders' defaults, text parsing, {@link OptimizerConfig#hyperparameters()},
 * checkpoints and help texts all read these.
 *
 * <p>Values are {@link Double} for a number, an immutable {@code List<Double>} of two for a
 * pair and {@link Boolean} for a flag. Every number must be finite and fit in float32, since
 * the kernels compute in float32.
 */
public final class Hyperparameter {
    /** What kind of value it takes. */
    public enum Kind {
        /** A number, held as a {@link Double}. */
        NUMBER,
        /** Two numbers, held as an immutable {@code List<Double>}. */
        PAIR,
        /** A flag, held as a {@link Boolean}. */
        FLAG,
        /** One of a few names, held as a {@link String}: {@code state_dtype}'s fp32 or bf16. */
        CHOICE
    }

    /** The values a number (or each number of a pair) may take. */
    public enum Range {
        /** 0 &lt;= value; lr, weight decay, eps and most others. */
        AT_LEAST_ZERO("a finite number >= 0"),
        /** Any finite value; SGD's dampening, as PyTorch. */
        FINITE("a finite number"),
        /** 0 &lt;= value &lt; 1: Adam's betas. */
        UNIT_OPEN("in [0, 1)"),
        /** 0 &lt;= value &lt;= 1: Adadelta's rho. */
        UNIT_CLOSED("in [0, 1]"),
        /** 0 &lt; value &lt; 1: Rprop's etaminus. */
        UNIT_EXCLUSIVE("in (0, 1)"),
        /** 1 &lt; value, finite: Rprop's etaplus. */
        ABOVE_ONE("a finite number > 1"),
        /** 1 &lt;= value, finite: Adafactor's clipping threshold d. */
        AT_LEAST_ONE("a finite number >= 1"),
        /** value &lt;= 0, finite: Adafactor's beta2_decay. */
        AT_MOST_ZERO("a finite number <= 0"),
        COUNT("an integer in [0, 2147483647]");

        private final String text;

        Range(String text) {
            this.text = text;
        }

        boolean contains(double v) {
            switch (this) {
                case AT_LEAST_ZERO:
                    return v >= 0 && Double.isFinite(v);
                case FINITE:
                    return Double.isFinite(v);
                case UNIT_OPEN:
                    return v >= 0 && v < 1;
                case UNIT_EXCLUSIVE:
                    return v > 0 && v < 1;
                case ABOVE_ONE:
                    return v > 1 && Double.isFinite(v);
                case AT_LEAST_ONE:
                    return v >= 1 && Double.isFinite(v);
                case AT_MOST_ZERO:
                    return v <= 0 && Double.isFinite(v);
                case COUNT:
                    return v >= 0 && v <= Integer.MAX_VALUE && v == Math.rint(v);
                default:
                    return v >= 0 && v <= 1;
            }
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private final String key;
    private final Kind kind;
    private final Range range;
    private final Range secondRange;
    private final Object defaultValue;
    private final boolean structural;
    private final int since;
    /** Whether a pair's first element may be None (null; {@code None} in text). */
    private final boolean firstOptional;
    /** The names a choice takes, empty for the other kinds. */
    private final List<String> choices;

    private Hyperparameter(String key, Kind kind, Range range, Range secondRange, Object defaultValue,
                           boolean structural) {
        this(key, kind, range, secondRange, defaultValue, structural, 1, false, List.of());
    }

    private Hyperparameter(String key, Kind kind, Range range, Range secondRange, Object defaultValue,
                           boolean structural, int since, boolean firstOptional, List<String> choices) {
        this.key = Objects.requireNonNull(key, "key");
        this.kind = kind;
        this.range = range;
        this.secondRange = secondRange;
        this.defaultValue = defaultValue;
        this.structural = structural;
        this.since = since;
        this.firstOptional = firstOptional;
        this.choices = choices;
    }

    /** A number with this default. */
    static Hyperparameter number(String key, double defaultValue, Range range) {
        return new Hyperparameter(key, Kind.NUMBER, range, null, defaultValue, false);
    }

    /** Two numbers, each in {@code range}, given as {@code first,second} in text. */
    static Hyperparameter pair(String key, double first, double second, Range range) {
        return pair(key, first, second, range, range);
    }

    /** Two numbers, the first in {@code firstRange}, the second in {@code secondRange} (Rprop's etas). */
    static Hyperparameter pair(String key, double first, double second, Range firstRange, Range secondRange) {
        return new Hyperparameter(key, Kind.PAIR, firstRange, secondRange, List.of(first, second), false);
    }

    /**
     * Two numbers as {@link #pair}, of which the first may be None: null in Java and JSON,
     * {@code None} in text (Adafactor's {@code eps}, whose None the algorithm resolves).
     */
    static Hyperparameter pairWithOptionalFirst(String key, Double first, double second, Range firstRange,
                                                Range secondRange) {
        return new Hyperparameter(key, Kind.PAIR, firstRange, secondRange, pairOf(first, second), false, 1, true,
                List.of());
    }

    /** An immutable pair that may hold a null first element, which List.of refuses. */
    private static List<Double> pairOf(Double first, Double second) {
        return Collections.unmodifiableList(Arrays.asList(first, second));
    }

    /** One of {@code choices}, the first being the default. */
    static Hyperparameter choice(String key, String... choices) {
        return new Hyperparameter(key, Kind.CHOICE, null, null, choices[0], false, 1, false, List.of(choices));
    }

    /**
     * {@code state_dtype}: how the state arrays are stored, fp32 (the default) or bf16 (each
     * element rounded to nearest even when stored, widened exactly when read). Structural: it
     * sets the state's layout and the kernel variant.
     */
    static Hyperparameter stateDtype() {
        return choice("state_dtype", "fp32", "bf16").structural().since(5);
    }

    /**
     * {@code state_dtype} of the algorithms whose state quantizes well (moments, momentum and
     * squared-gradient averages): fp32, bf16, or int8 block-wise quantization ({@link Int8State}).
     */
    static Hyperparameter stateDtypeWithInt8() {
        return choice("state_dtype", "fp32", "bf16", "int8").structural().since(5);
    }

    /**
     * {@code min_8bit_size}, bitsandbytes' option: with {@code state_dtype=int8}, tensors of
     * fewer elements keep fp32 state. Structural: it sets the state's layout.
     */
    static Hyperparameter min8bitSize() {
        return number("min_8bit_size", Int8State.MIN_8BIT_SIZE, Range.COUNT).structural().since(6);
    }

    /** A flag with this default. */
    static Hyperparameter flag(String key, boolean defaultValue) {
        return new Hyperparameter(key, Kind.FLAG, null, null, defaultValue, false);
    }

    /** {@code weight_decay} with PyTorch's usual default 0: L2 decay, or decoupled where the algorithm says. */
    static Hyperparameter weightDecay() {
        return number("weight_decay", 0, Range.AT_LEAST_ZERO);
    }

    /** {@code maximize}, which every algorithm has: structural, since it selects the kernel variant. */
    static Hyperparameter maximize() {
        return flag("maximize", false).structural();
    }

    /**
     * The same hyperparameter marked structural: it can select the kernel variant or the
     * state kept, so a parameter group's value is fixed once the group exists.
     */
    Hyperparameter structural() {
        return new Hyperparameter(key, kind, range, secondRange, defaultValue, true, since, firstOptional, choices);
    }

    /**
     * The same hyperparameter, added to clopt when checkpoints were at this format version:
     * files of an older version lack it and load with its default.
     */
    Hyperparameter since(int formatVersion) {
        return new Hyperparameter(key, kind, range, secondRange, defaultValue, structural, formatVersion, firstOptional,
                choices);
    }

    /** The same hyperparameter with another default, for a preset or a variant. */
    Hyperparameter withDefault(Object value) {
        return new Hyperparameter(key, kind, range, secondRange, coerce(value), structural, since, firstOptional,
                choices);
    }

    /**
     * PyTorch's keyword name, such as {@code lr} or {@code betas}.
     *
     * @return the keyword
     */
    public String key() {
        return key;
    }

    /**
     * The kind of value it takes.
     *
     * @return the kind
     */
    public Kind kind() {
        return kind;
    }

    /**
     * The allowed values of a number, or of a pair's first number; null for a flag.
     *
     * @return the range, or null
     */
    public Range range() {
        return range;
    }

    /**
     * The allowed values of a pair's number {@code index}; most pairs have one range for both,
     * Rprop's {@code etas} has one each.
     *
     * @param index 0 for the first number, 1 for the second
     * @return the range
     * @throws IllegalStateException if this hyperparameter is not a pair
     * @throws IndexOutOfBoundsException if {@code index} is neither 0 nor 1
     */
    public Range range(int index) {
        if (kind != Kind.PAIR) {
            throw new IllegalStateException(key + " is a " + kind.name().toLowerCase(Locale.ROOT) + ", not a pair");
        }
        Objects.checkIndex(index, 2);
        return index == 0 ? range : secondRange;
    }

    /**
     * The names a choice takes.
     *
     * @return the names, in order, the first the default; empty for the other kinds
     */
    public List<String> choices() {
        return choices;
    }

    /**
     * The default value.
     *
     * @return the default
     */
    public Object defaultValue() {
        return defaultValue;
    }

    /**
     * Whether the value is fixed once a parameter group exists (it can change the kernel or the
     * state).
     *
     * @return true if structural
     */
    public boolean isStructural() {
        return structural;
    }

    /**
     * The checkpoint format version from which files carry this hyperparameter.
     *
     * @return 1 for those clopt had from the start
     */
    public int since() {
        return since;
    }

    /**
     * Turns a value given in Java into this hyperparameter's representation: any
     * {@link Number} for a number; a {@code List} of two numbers, a {@code double[]} or
     * {@code float[]} of two for a pair; a {@link Boolean} for a flag; or text as
     * {@link #parse} takes it.
     *
     * @throws IllegalArgumentException naming the key when the value is of the wrong kind
     */
    Object coerce(Object value) {
        if (value instanceof String text) {
            return parse(text);
        }
        switch (kind) {
            case NUMBER:
                if (value instanceof Number n) {
                    return n.doubleValue();
                }
                break;
            case FLAG:
                if (value instanceof Boolean b) {
                    return b;
                }
                break;
            default:
                if (value instanceof double[] d && d.length == 2) {
                    return List.of(d[0], d[1]);
                }
                if (value instanceof float[] f && f.length == 2) {
                    return List.of((double) f[0], (double) f[1]);
                }
                if (value instanceof List<?> l && l.size() == 2 && l.get(1) instanceof Number b) {
                    if (l.get(0) instanceof Number a) {
                        return List.of(a.doubleValue(), b.doubleValue());
                    }
                    if (l.get(0) == null && firstOptional) {
                        return pairOf(null, b.doubleValue());
                    }
                }
                break;
        }
        throw new IllegalArgumentException("invalid " + key + ": " + value + " (must be " + expected() + ")");
    }

    /** Parses the text form: a number, {@code true}/{@code false}, or {@code first,second}. */
    Object parse(String text) {
        switch (kind) {
            case NUMBER:
                return parseNumber(text);
            case CHOICE:
                if (!choices.contains(text.trim())) {
                    throw new IllegalArgumentException("invalid " + key + ": '" + text + "' (must be " + expected() + ")");
                }
                return text.trim();
            case FLAG:
                switch (text.trim().toLowerCase(Locale.ROOT)) {
                    case "true":
                        return true;
                    case "false":
                        return false;
                    default:
                        throw new IllegalArgumentException(
                                "invalid " + key + ": '" + text + "' (must be true or false)");
                }
            default:
                String[] parts = text.split(",", -1);
                if (parts.length != 2) {
                    throw new IllegalArgumentException("invalid " + key + ": '" + text
                            + "' (must be " + expected() + " separated by a comma)");
                }
                if (firstOptional && parts[0].trim().equals("None")) {
                    return pairOf(null, parseNumber(parts[1]));
                }
                return List.of(parseNumber(parts[0]), parseNumber(parts[1]));
        }
    }

    /** Checks a coerced value against the range; the message names the key (or element), value and range. */
    void check(Object value) {
        if (kind == Kind.NUMBER) {
            checkNumber(key, (Double) value, range);
        } else if (kind == Kind.PAIR) {
            List<?> pair = (List<?>) value;
            if (pair.get(0) != null) {
                checkNumber(key + "[0]", (Double) pair.get(0), range);
            }
            checkNumber(key + "[1]", (Double) pair.get(1), secondRange);
        }
    }

    private static void checkNumber(String name, double v, Range range) {
        if (!range.contains(v)) {
            throw new IllegalArgumentException("invalid " + name + ": " + v + " (must be " + range + ")");
        }
        if (Math.abs(v) > Float.MAX_VALUE) {
            // The kernels take float32 scalars: a larger value would run as infinity.
            throw new IllegalArgumentException("invalid " + name + ": " + v
                    + " (must be at most " + Float.MAX_VALUE + " in magnitude, float32's largest value)");
        }
    }

    private double parseNumber(String text) {
        try {
            return Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid " + key + ": '" + text + "' (must be a number)", e);
        }
    }

    private String expected() {
        return kind == Kind.NUMBER ? "a number" : kind == Kind.FLAG ? "true or false"
                : kind == Kind.CHOICE ? "one of " + String.join(", ", choices)
                : firstOptional ? "None or a number, and a number" : "two numbers";
    }

    /** The value in the text form {@link #parse} reads: {@code 0.001}, {@code 0.9,0.999}, {@code true}. */
    static String format(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof List<?> pair) {
            return format(pair.get(0)) + "," + format(pair.get(1));
        }
        if (value instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString(d.longValue());
        }
        return String.valueOf(value);
    }

    /** {@code key=default}. */
    @Override
    public String toString() {
        return key + "=" + format(defaultValue);
    }
}

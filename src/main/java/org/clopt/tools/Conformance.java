package org.clopt.tools;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.clopt.Algorithm;
import org.clopt.Algorithms;
import org.clopt.Device;
import org.clopt.Dtype;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Precision;

/**
 * Checks a device's kernels against the CPU reference: the same inputs, several steps, and
 * every parameter and state element compared after each step in units in the last place (ulp).
 * The test suite and the {@code verify} command both run it.
 *
 * <p>{@link #cases(List)} is the one matrix both run: every option set x every size x every
 * kind of gradients, each with its own seed, so a failure seen by {@code verify} reproduces as
 * the test case of the same name.
 *
 * <p>The error of an element is |kernel - reference| / ulp(max(|previous value|, |reference|)),
 * so a cancellation in {@code p - update} is judged against the size of the operands. NaN and
 * infinities must match exactly.
 */
public final class Conformance {
    /**
     * The sizes checked unless told otherwise: none a multiple of a vector width or work-group
     * size except the large one, which exercises whole work-groups and no tail.
     */
    public static final List<Integer> DEFAULT_SIZES = List.of(1, 3, 1023, 4097, 1 << 20);
    /** Steps per check unless told otherwise, each compared. */
    public static final int DEFAULT_STEPS = 7;
    /** Special-valued gradients run only on sizes below this: they need no million-element run. */
    public static final int SPECIAL_BELOW = 1 << 20;

    private Conformance() {
    }

    /**
     * One configuration to check, under its command-line name and settings.
     *
     * @param optimizer a name of {@link Algorithms#NAMES}
     * @param settings hyperparameter values as text by PyTorch keyword
     */
    public record OptionSet(String optimizer, Map<String, String> settings, Shape shape) {
        /**
         * An option set on a vector.
         *
         * @param optimizer a name of {@link Algorithms#NAMES}
         * @param settings hyperparameter values as text by PyTorch keyword
         */
        public OptionSet(String optimizer, Map<String, String> settings) {
            this(optimizer, settings, Shape.VECTOR);
        }

        /**
         * The configuration these settings give.
         *
         * @return the validated configuration
         * @throws IllegalArgumentException naming the unknown optimizer or the invalid setting
         */
        public OptimizerConfig config() {
            return OptimizerConfig.of(optimizer, settings);
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder(optimizer);
            settings.forEach((k, v) -> s.append(' ').append(k).append('=').append(v));
            if (shape != Shape.VECTOR) {
                s.append(" (").append(shape.name().toLowerCase(java.util.Locale.ROOT)).append(')');
            }
            return s.toString();
        }
    }

    /**
     * The shape a case gives its tensor of n elements, for algorithms whose state depends on it
     * (Adafactor factors a tensor of 2 or more dimensions).
     */
    public enum Shape {
        /** n. */
        VECTOR,
        /** rows x columns, rows the largest divisor of n up to sqrt(n): 1023 is 31 x 33. */
        MATRIX,
        /** a x rows x columns, a the largest divisor up to the cube root: 1023 is 3 x 11 x 31. */
        CUBE;

        /**
         * The dimensions for n elements.
         *
         * @param n the number of elements, at least 1
         * @return the dimensions, whose product is n
         */
        public int[] of(int n) {
            switch (this) {
                case VECTOR:
                    return new int[] {n};
                case MATRIX: {
                    int rows = divisorUpTo(n, Math.sqrt(n));
                    return new int[] {rows, n / rows};
                }
                default: {
                    int first = divisorUpTo(n, Math.cbrt(n));
                    int[] rest = MATRIX.of(n / first);
                    return new int[] {first, rest[0], rest[1]};
                }
            }
        }

        private static int divisorUpTo(int n, double limit) {
            int best = 1;
            for (int d = 1; d <= limit + 1e-9; d++) {
                if (n % d == 0) {
                    best = d;
                }
            }
            return best;
        }
    }

    /** What the gradients look like. */
    public enum Gradients {
        /** Every element non-zero. */
        DENSE,
        /** About 90% exact zeros, as with embeddings or ReLU layers. */
        SPARSE,
        /** Dense, with NaN, infinities, subnormals and huge values sprinkled in. */
        SPECIAL
    }

    /**
     * One check of the matrix: an option set on one size with one kind of gradients.
     *
     * @param options the configuration
     * @param size the number of elements, at least 1
     * @param gradients the kind of gradients
     */
    public record Case(OptionSet options, int size, Gradients gradients, Precision precision) {
        /**
         * Checks the size and the precision.
         *
         * @param options the configuration
         * @param size the number of elements, at least 1
         * @param gradients the kind of gradients
         * @param precision how the parameters and gradients are stored
         * @throws IllegalArgumentException if {@code size} is below 1 or the algorithm does not
         *     support the precision
         */
        public Case {
            if (size < 1) {
                throw new IllegalArgumentException("invalid size " + size + " (must be at least 1)");
            }
            if (!precision.supports(options.config())) {
                throw new IllegalArgumentException(options.optimizer() + " does not support " + precision);
            }
        }

        /**
         * A case in fp32.
         *
         * @param options the configuration
         * @param size the number of elements, at least 1
         * @param gradients the kind of gradients
         * @throws IllegalArgumentException if {@code size} is below 1
         */
        public Case(OptionSet options, int size, Gradients gradients) {
            this(options, size, gradients, Precision.FP32);
        }

        /**
         * The seed of this case's inputs, the same wherever the case runs.
         *
         * @return the seed
         */
        public long seed() {
            return 42L + size;
        }

        @Override
        public String toString() {
            return options + ", n=" + size + ", " + gradients
                    + (precision.equals(Precision.FP32) ? "" : ", " + precision.shortName());
        }
    }

    /**
     * The matrix for these sizes: every {@link #optionSets() option set} x every size x every kind
     * of gradients, except special values on sizes of {@link #SPECIAL_BELOW} or more; ordered by
     * option set, then size, then kind.
     *
     * @param sizes the sizes, each at least 1
     * @return the cases
     * @throws IllegalArgumentException if a size is below 1
     */
    public static List<Case> cases(List<Integer> sizes) {
        return cases(sizes, List.of(Precision.FP32));
    }

    /**
     * The matrix for these sizes in these precisions: as {@link #cases(List)} for each precision
     * an option set supports, ordered by option set, then precision, size and kind.
     *
     * @param sizes the sizes, each at least 1
     * @param precisions the precisions
     * @return the cases
     * @throws IllegalArgumentException if a size is below 1
     */
    public static List<Case> cases(List<Integer> sizes, List<Precision> precisions) {
        List<Case> cases = new ArrayList<>();
        for (OptionSet options : optionSets()) {
            for (Precision precision : precisions) {
                if (!precision.supports(options.config())) {
                    continue;
                }
                for (int size : sizes) {
                    for (Gradients kind : Gradients.values()) {
                        if (kind != Gradients.SPECIAL || size < SPECIAL_BELOW) {
                            cases.add(new Case(options, size, kind, precision));
                        }
                    }
                }
            }
        }
        return cases;
    }

    /**
     * The outcome for one configuration.
     *
     * @param options the configuration checked
     * @param size the number of elements
     * @param gradients the kind of gradients
     * @param maxUlps the largest error per array ("param", then each state key)
     * @param allowedUlps the allowance for this algorithm
     * @param firstFailure a description of the first element out of tolerance, or null
     */
    public record Result(OptionSet options, int size, Gradients gradients,
                         Map<String, Double> maxUlps, double allowedUlps, String firstFailure) {
        /**
         * Whether every element of every array stayed within the allowance.
         *
         * @return true if no element failed
         */
        public boolean passed() {
            return firstFailure == null;
        }

        /**
         * The largest error over all arrays, 0 when there are none.
         *
         * @return the largest error, in ulp
         */
        public double worstUlps() {
            return maxUlps.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        }
    }

    /**
     * Every algorithm, each with its defaults and with its structural and prologue options.
     *
     * @return the option sets, algorithm by algorithm
     */
    public static List<OptionSet> optionSets() {
        List<OptionSet> sets = new ArrayList<>();
        add(sets, "sgd", "lr=0.1");
        add(sets, "sgd", "lr=0.05", "weight_decay=0.1", "maximize=true");
        add(sets, "momentum", "lr=0.1");
        add(sets, "momentum", "lr=0.1", "momentum=0.8", "dampening=0.3", "weight_decay=0.01");
        add(sets, "nesterov", "lr=0.1");
        add(sets, "nesterov", "lr=0.05", "momentum=0.5", "weight_decay=0.01", "maximize=true");
        add(sets, "adagrad");
        add(sets, "adagrad", "lr=0.1", "lr_decay=0.1", "weight_decay=0.1",
                "initial_accumulator_value=0.5", "eps=1e-6", "maximize=true");
        add(sets, "rmsprop");
        add(sets, "rmsprop", "centered=true");
        add(sets, "rmsprop", "momentum=0.9");
        add(sets, "rmsprop", "lr=0.001", "alpha=0.9", "centered=true", "momentum=0.5",
                "weight_decay=0.1", "maximize=true");
        add(sets, "adadelta");
        add(sets, "adadelta", "lr=0.5", "rho=0.5", "eps=1e-5", "weight_decay=0.1", "maximize=true");
        add(sets, "adam");
        add(sets, "adam", "amsgrad=true");
        add(sets, "adam", "lr=0.01", "betas=0.8,0.99", "eps=1e-6", "weight_decay=0.1", "maximize=true");
        add(sets, "adam", "lr=0.01", "weight_decay=0.1", "decoupled_weight_decay=true", "amsgrad=true");
        add(sets, "adamw");
        add(sets, "adamw", "lr=0.01", "weight_decay=0.1", "amsgrad=true", "maximize=true");
        add(sets, "nadam");
        add(sets, "nadam", "weight_decay=0.1");
        add(sets, "nadam", "lr=0.01", "weight_decay=0.1", "decoupled_weight_decay=true",
                "momentum_decay=0.01", "maximize=true");
        add(sets, "adamax");
        add(sets, "adamax", "lr=0.01", "betas=0.8,0.99", "eps=1e-6", "weight_decay=0.1", "maximize=true");
        add(sets, "rprop");
        add(sets, "rprop", "lr=0.05", "etas=0.3,1.5", "step_sizes=0.01,0.2", "maximize=true");
        add(sets, "radam");
        add(sets, "radam", "weight_decay=0.1");
        add(sets, "radam", "lr=0.01", "betas=0.8,0.99", "eps=1e-6", "weight_decay=0.1",
                "decoupled_weight_decay=true", "maximize=true");
        add(sets, "asgd");
        // t0 = 2.5: ax averages from step 5 on (mu = 1/1.5, 1/2.5, ...), not only copies p.
        add(sets, "asgd", "lr=0.05", "lambd=0.1", "alpha=0.5", "t0=2.5", "weight_decay=0.1", "maximize=true");
        add(sets, "lion");
        add(sets, "lion", "lr=0.01", "betas=0.8,0.95", "weight_decay=0.1", "maximize=true");
        add(sets, "lamb");
        add(sets, "lamb", "lr=0.01", "betas=0.8,0.99", "eps=1e-8", "weight_decay=0.01", "maximize=true");
        // bf16 state (state_dtype): every algorithm that offers it (the element-wise ones), with its options.
        add(sets, "momentum", "lr=0.1", "state_dtype=bf16");
        add(sets, "nesterov", "lr=0.05", "momentum=0.5", "weight_decay=0.01", "maximize=true", "state_dtype=bf16");
        add(sets, "adagrad", "lr=0.1", "initial_accumulator_value=0.3", "state_dtype=bf16");
        add(sets, "rmsprop", "centered=true", "momentum=0.9", "state_dtype=bf16");
        add(sets, "adam", "amsgrad=true", "state_dtype=bf16");
        add(sets, "adam", "lr=0.01", "weight_decay=0.1", "decoupled_weight_decay=true", "state_dtype=bf16");
        add(sets, "adamw", "state_dtype=bf16");
        add(sets, "lion", "lr=0.01", "weight_decay=0.1", "state_dtype=bf16");
        add(sets, "adadelta", "lr=0.5", "weight_decay=0.1", "state_dtype=bf16");
        add(sets, "nadam", "lr=0.01", "weight_decay=0.1", "decoupled_weight_decay=true", "state_dtype=bf16");
        add(sets, "adamax", "state_dtype=bf16");
        add(sets, "radam", "state_dtype=bf16");
        add(sets, "asgd", "lr=0.05", "lambd=0.1", "alpha=0.5", "t0=2.5", "state_dtype=bf16");
        add(sets, "rprop", "lr=0.05", "etas=0.3,1.5", "step_sizes=0.01,0.2", "state_dtype=bf16");
        // int8 state: every algorithm that offers it; min_8bit_size 1000 quantizes the sizes from
        // 1023 up and leaves 1 and 3 in fp32. Kernels and reference quantize alike (0 ulp).
        add(sets, "momentum", "lr=0.1", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "nesterov", "lr=0.05", "momentum=0.5", "weight_decay=0.01", "maximize=true", "state_dtype=int8",
                "min_8bit_size=1000");
        add(sets, "adagrad", "lr=0.1", "initial_accumulator_value=0.3", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "rmsprop", "momentum=0.9", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "adam", "amsgrad=true", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "adam", "lr=0.01", "weight_decay=0.1", "decoupled_weight_decay=true", "state_dtype=int8",
                "min_8bit_size=1000");
        add(sets, "adamw", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "lion", "lr=0.01", "weight_decay=0.1", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "adadelta", "lr=0.5", "weight_decay=0.1", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "nadam", "lr=0.01", "weight_decay=0.1", "decoupled_weight_decay=true", "state_dtype=int8",
                "min_8bit_size=1000");
        add(sets, "adamax", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "radam", "state_dtype=int8", "min_8bit_size=1000");
        add(sets, "adafactor");
        sets.add(new OptionSet("adafactor", Map.of(), Shape.MATRIX));
        sets.add(new OptionSet("adafactor", Map.of(), Shape.CUBE));
        add(sets, "adafactor", "lr=0.05", "beta2_decay=-0.5", "eps=1e-20,0.01", "d=1.5", "weight_decay=0.1",
                "maximize=true");
        OptionSet all = sets.get(sets.size() - 1);
        sets.add(new OptionSet("adafactor", all.settings(), Shape.MATRIX));
        return sets;
    }

    private static void add(List<OptionSet> sets, String optimizer, String... settings) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String s : settings) {
            int eq = s.indexOf('=');
            map.put(s.substring(0, eq), s.substring(eq + 1));
        }
        sets.add(new OptionSet(optimizer, java.util.Collections.unmodifiableMap(map)));
    }

    /**
     * The allowance in ulp for an algorithm: its registry row's
     * ({@link Algorithm#conformanceUlps()}).
     *
     * @param algorithm a name of {@link Algorithms#NAMES}
     * @return the allowance, in ulp
     */
    public static double allowedUlps(String algorithm) {
        return Algorithms.named(algorithm).conformanceUlps();
    }

    /**
     * Runs one case of the matrix for {@code steps} steps, with the case's seed.
     *
     * @param device the device whose kernel is checked
     * @param c the case
     * @param steps the number of steps, each compared
     * @return the outcome
     */
    public static Result check(Device device, Case c, int steps) {
        return check(device, c.options(), c.size(), c.gradients(), steps, c.seed(), c.precision());
    }

    /**
     * As {@link #check(Device, OptionSet, int, Gradients, int, long)} in a given precision, on a
     * tensor of the option set's {@link Shape}. With 16-bit parameters and gradients the
     * parameters (the working copy) are compared in steps of the 16-bit type (allowed: one
     * where the algorithm's allowance is not 0, else none), the master weights and each state
     * array in fp32 ulp. The device's conversions are those of the CPU reference bit for bit, so
     * a difference comes from the arithmetic alone.
     *
     * @param device the device whose kernel is checked
     * @param options the configuration
     * @param size the number of elements
     * @param gradients the kind of gradients
     * @param steps the number of steps, each compared
     * @param seed the seed of the parameters and gradients
     * @param precision how the parameters and gradients are stored
     * @return the outcome; the parameters' error is under "param", or "param (16-bit steps)"
     */
    public static Result check(Device device, OptionSet options, int size, Gradients gradients,
                               int steps, long seed, Precision precision) {
        OptimizerConfig config = options.config();
        double allowed = allowedUlps(config.algorithm());
        boolean sixteenBit = !precision.dtype().equals(Dtype.FP32);
        int[] shape = options.shape().of(size);
        String param = sixteenBit ? PARAM16 : PARAM;
        List<String> names = new ArrayList<>(List.of(param));
        if (precision.masterWeights()) {
            names.add("master");
        }
        names.addAll(config.stateKeys(shape));
        Map<String, Double> worst = new LinkedHashMap<>();
        names.forEach(n -> worst.put(n, 0.0));
        String failure = null;
        SplittableRandom random = new SplittableRandom(seed);
        ParameterSet.Builder layout = ParameterSet.builder().group(config, precision).tensor(TENSOR, shape);
        try (ParameterSet kernel = layout.build(device); ParameterSet reference = layout.buildReference()) {
            float[] p = new float[size];
            for (int i = 0; i < size; i++) {
                p[i] = (float) normal(random);
            }
            kernel.writeParameters(TENSOR, p);
            reference.writeParameters(TENSOR, p);
            float[][] previous = new float[names.size()][];
            for (int a = 0; a < names.size(); a++) {
                previous[a] = read(reference, names.get(a));
            }
            for (int step = 1; step <= steps; step++) {
                float[] g = gradients(gradients, size, random);
                kernel.writeGradients(TENSOR, g);
                reference.writeGradients(TENSOR, g);
                kernel.step();
                reference.step();
                for (int a = 0; a < names.size(); a++) {
                    String name = names.get(a);
                    // 16-bit parameters, and bf16 state arrays, are compared in steps of their type.
                    boolean state16 = config.stateDtype() != Dtype.FP32 && config.stateNames().contains(name);
                    boolean sixteen = name.equals(PARAM16) || state16;
                    Dtype type = state16 ? config.stateDtype() : precision.dtype();
                    double allowance = sixteen ? (allowed > 0 ? 1 : 0) : allowed;
                    float[] expected = read(reference, name);
                    float[] actual = read(kernel, name);
                    for (int i = 0; i < expected.length; i++) {
                        double ulps = sixteen ? steps16(actual[i], expected[i], previous[a][i], type)
                                : ulps(actual[i], expected[i], previous[a][i]);
                        if (ulps > worst.get(name)) {
                            worst.put(name, ulps);
                        }
                        if (ulps > allowance && failure == null) {
                            failure = String.format("%s[%d] after step %d: kernel %s, reference %s "
                                    + "(previous %s, %.1f%s > %.0f)", name, i, step, actual[i], expected[i],
                                    previous[a][i], ulps, sixteen ? "" : " ulp", allowance);
                        }
                    }
                    previous[a] = expected;
                }
            }
        }
        return new Result(options, size, gradients, worst, allowed, failure);
    }

    /** The key of the 16-bit parameters' error, in steps of their type. */
    private static final String PARAM16 = "param (16-bit steps)";
    /** The key of fp32 parameters' error, in ulp. */
    private static final String PARAM = "param";
    private static final String TENSOR = "p";

    private static float[] read(ParameterSet set, String name) {
        if (name.equals(PARAM) || name.equals(PARAM16) || name.equals("master")) {
            return read(set, name, set.size(TENSOR));
        }
        return read(set, name, java.util.Arrays.stream(set.stateShape(TENSOR, name)).reduce(1, (x, y) -> x * y));
    }

    private static float[] read(ParameterSet set, String name, int size) {
        float[] out = new float[size];
        if (name.equals(PARAM16) || name.equals(PARAM)) {
            set.readParameters(TENSOR, out);
        } else if (name.equals("master")) {
            set.readMasterParameters(TENSOR, out);
        } else {
            set.readState(TENSOR, name, out);
        }
        return out;
    }

    /**
     * The error of a 16-bit {@code actual} in steps of {@code dtype} at the larger of
     * {@code expected} and {@code previous}; infinite when NaN or infinity do not match.
     */
    private static double steps16(float actual, float expected, float previous, Dtype dtype) {
        if (!Float.isFinite(expected) || !Float.isFinite(actual)) {
            return ulps(actual, expected, previous);
        }
        float scale = dtype.round(Math.max(Math.abs(expected), Float.isFinite(previous) ? Math.abs(previous) : 0));
        double step = Float.isInfinite(scale) ? Double.POSITIVE_INFINITY
                : dtype.fromBits((short) (dtype.toBits(scale) + 1)) - scale;
        // Floor at the type's smallest normal's step: a device may flush subnormals to zero.
        double floor = dtype == Dtype.FP16 ? 0x1p-24 : Math.ulp(Float.MIN_NORMAL) * 0x1p16;
        return Math.abs((double) actual - (double) expected) / Math.max(step, floor);
    }

    /**
     * Runs {@code steps} steps on the device and on the reference and compares every array.
     *
     * @param device the device whose kernel is checked
     * @param options the configuration
     * @param size the number of elements
     * @param gradients the kind of gradients
     * @param steps the number of steps, each compared
     * @param seed the seed of the parameters and gradients
     * @return the outcome
     */
    public static Result check(Device device, OptionSet options, int size, Gradients gradients,
                               int steps, long seed) {
        return check(device, options, size, gradients, steps, seed, Precision.FP32);
    }

    /**
     * The error of {@code actual} in ulp of the larger of {@code expected} and {@code previous};
     * infinite when NaN or infinity do not match exactly.
     *
     * @param actual the kernel's value
     * @param expected the reference's value
     * @param previous the reference's value before the step, which sets the scale when larger
     * @return the error, in ulp; an ulp is never taken below {@link Float#MIN_NORMAL}
     */
    public static double ulps(float actual, float expected, float previous) {
        if (Float.isNaN(expected) || Float.isInfinite(expected)
                || Float.isNaN(actual) || Float.isInfinite(actual)) {
            return Float.compare(actual, expected) == 0
                    || (Float.isNaN(actual) && Float.isNaN(expected)) ? 0 : Double.POSITIVE_INFINITY;
        }
        double scale = Math.max(Math.abs(expected), Float.isFinite(previous) ? Math.abs(previous) : 0);
        // Floor at the smallest normal: a device may flush subnormals to zero.
        double ulp = Math.max(Math.ulp((float) scale), Float.MIN_NORMAL);
        return Math.abs((double) actual - (double) expected) / ulp;
    }

    private static float[] gradients(Gradients kind, int size, SplittableRandom random) {
        float[] g = new float[size];
        for (int i = 0; i < size; i++) {
            boolean zero = kind == Gradients.SPARSE && random.nextDouble() < 0.9;
            g[i] = zero ? 0f : (float) (0.5 * normal(random));
        }
        if (kind == Gradients.SPECIAL) {
            float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.MIN_VALUE, -Float.MIN_VALUE, 1e30f, -1e30f, 1e-30f, 0f, -0f};
            for (int k = 0; k < special.length && k < size; k++) {
                g[random.nextInt(size)] = special[k];
            }
        }
        return g;
    }

    private static double normal(SplittableRandom random) {
        // Box-Muller; inputs need only be reproducible and roughly normal.
        double u = 1 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }
}

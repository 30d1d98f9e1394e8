package org.clopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The hyperparameters of one optimizer algorithm, immutable and validated at construction, with
 * PyTorch {@code torch.optim} names, defaults and semantics.
 *
 * <p>Each subclass documents its update rule; the same equations head its kernel file
 * ({@code kernels/<algorithm>.cl}) and its CPU reference step. Build one with the subclass's
 * builder, from text with {@link #of(String, Map)}, or from another with {@link #with} (a
 * schedule's tool: {@code config.with("lr", 5e-4)} changes the learning rate and nothing else)
 * and {@link #toBuilder()}.
 */
public abstract class OptimizerConfig {
    /** The scalar state of the algorithms that keep none. */
    static final float[] NO_SCALAR_STATE = new float[0];

    private final Algorithm row;
    private final Map<String, Object> values;

    /** Package-private: every algorithm lives in this package, as a row of {@link Algorithms}. */
    OptimizerConfig(Algorithm row, Map<String, Object> values) {
        this.row = row;
        this.values = values;
        Object min = values.get("min_8bit_size");
        if (min != null && ((Double) min).intValue() != Int8State.MIN_8BIT_SIZE && !int8State()) {
            throw new IllegalArgumentException("invalid min_8bit_size: " + ((Double) min).intValue()
                    + " applies only with state_dtype=int8 (got state_dtype=" + values.get("state_dtype") + ")");
        }
    }

    /**
     * Builds a configuration from PyTorch keyword names and their values as text: numbers,
     * {@code true}/{@code false}, and comma-separated pairs ({@code betas=0.9,0.999}).
     *
     * @param optimizer a name of {@link Algorithms#NAMES}
     * @param hyperparameters values as text by PyTorch keyword; a missing key takes its default
     * @return the validated configuration
     * @throws IllegalArgumentException naming the optimizer, key or value that is not valid
     */
    public static OptimizerConfig of(String optimizer, Map<String, String> hyperparameters) {
        return Algorithms.named(optimizer).create(hyperparameters);
    }

    /**
     * A copy with hyperparameter {@code key} (a PyTorch keyword) set to {@code value} and every
     * other one as it is here, validated as a build is.
     *
     * @param key the hyperparameter's PyTorch keyword
     * @param value a number, a pair ({@code List} of two numbers or {@code double[2]}), a
     *     boolean, or any of these as text
     * @return the new configuration
     * @throws IllegalArgumentException naming the key or value that is not valid
     */
    public final OptimizerConfig with(String key, Object value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, key);
        Map<String, Object> changed = new LinkedHashMap<>(values);
        row.hyperparameter(key);
        changed.put(key, value);
        return row.create(changed);
    }

    /**
     * A builder holding every hyperparameter of this configuration, to change several at once.
     *
     * @return a new builder
     */
    public abstract Builder<?, ?> toBuilder();

    /**
     * The algorithm this configuration runs: the kernel file {@code kernels/<algorithm>.cl} and
     * its kernel {@code <algorithm>_step}, a name of {@link Algorithms#NAMES}. SGD reports
     * {@code sgd}, {@code momentum} or {@code nesterov} according to its options.
     *
     * @return the algorithm's name
     */
    public String algorithm() {
        return row.name();
    }

    /**
     * The state arrays under their PyTorch state keys, in kernel argument order: every key that
     * some tensor keeps ({@link #stateKeys(int[])} says which a tensor of a given shape keeps).
     *
     * @return the state keys, possibly empty
     */
    public abstract List<String> stateNames();

    /**
     * The shape of state array {@code key} for a parameter tensor of shape {@code shape}, or
     * null when such a tensor keeps none of it. For most algorithms every state array has the
     * tensor's shape; Adafactor keeps {@code row_var} and {@code col_var}, factors of the
     * tensor's last two dimensions, for a tensor of 2 or more dimensions, and {@code variance}
     * for the others.
     *
     * @param key a state key of {@link #stateNames()}
     * @param shape the tensor's dimensions
     * @return the state array's dimensions (a new array), or null
     * @throws IllegalArgumentException for a key this algorithm does not keep
     */
    public int[] stateShape(String key, int[] shape) {
        if (!stateNames().contains(key)) {
            throw new IllegalArgumentException("unknown state '" + key + "' for " + algorithm() + " (has: "
                    + String.join(", ", stateNames()) + ")");
        }
        return shape.clone();
    }

    /**
     * The state keys a tensor of shape {@code shape} keeps: those of {@link #stateNames()} whose
     * {@link #stateShape} is not null, in the same order.
     *
     * @param shape the tensor's dimensions
     * @return the state keys, possibly empty
     */
    public final List<String> stateKeys(int[] shape) {
        return stateNames().stream().filter(key -> stateShape(key, shape) != null).toList();
    }

    /**
     * Scalar state kept per tensor besides the step count, by PyTorch key, as float32 values
     * that advance every step (NAdam's {@code mu_product}, ASGD's {@code eta} and {@code mu}).
     *
     * @return the keys, usually empty
     */
    public List<String> scalarStateNames() {
        return List.of();
    }

    /**
     * Every hyperparameter under its PyTorch keyword name, in PyTorch's order (immutable).
     *
     * @return the hyperparameters by keyword
     */
    public final Map<String, Object> hyperparameters() {
        return values;
    }

    /**
     * The registry row whose hyperparameter specs this configuration follows.
     *
     * @return the algorithm's registry row
     */
    public final Algorithm spec() {
        return row;
    }

    /**
     * The learning rate, which every algorithm has.
     *
     * @return the learning rate
     */
    public final double lr() {
        return number("lr");
    }

    /**
     * A number-valued hyperparameter, such as {@code eps}.
     *
     * @param key the hyperparameter's PyTorch keyword
     * @return its value
     * @throws IllegalArgumentException for an unknown key or one that is not a number
     */
    public final double number(String key) {
        return (Double) value(key, Hyperparameter.Kind.NUMBER);
    }

    /**
     * A flag, such as {@code amsgrad}.
     *
     * @param key the hyperparameter's PyTorch keyword
     * @return its value
     * @throws IllegalArgumentException for an unknown key or one that is not a flag
     */
    public final boolean flag(String key) {
        return (Boolean) value(key, Hyperparameter.Kind.FLAG);
    }

    /**
     * Element {@code index} (0 or 1) of a pair, such as {@code betas}.
     *
     * @param key the hyperparameter's PyTorch keyword
     * @param index 0 for the first element, 1 for the second
     * @return the element
     * @throws IllegalArgumentException for an unknown key or one that is not a pair
     */
    public final double pair(String key, int index) {
        return (Double) ((List<?>) value(key, Hyperparameter.Kind.PAIR)).get(index);
    }

    /**
     * A choice, such as {@code state_dtype}.
     *
     * @param key the hyperparameter's PyTorch keyword
     * @return its value
     * @throws IllegalArgumentException for an unknown key or one that is not a choice
     */
    public final String choice(String key) {
        return (String) value(key, Hyperparameter.Kind.CHOICE);
    }

    /**
     * How the state arrays are stored: {@code state_dtype} for the algorithms that have it,
     * else fp32.
     *
     * @return the state arrays' element type
     */
    public final Dtype stateDtype() {
        Object v = values.get("state_dtype");
        return v == null || int8State() ? Dtype.FP32 : Dtype.parse((String) v);
    }

    /**
     * Whether the state is 8-bit block-wise ({@code state_dtype=int8}): tensors of at least
     * {@link #min8bitSize()} elements keep codes and block maxima, smaller ones fp32, which
     * {@link #stateDtype()} then names.
     *
     * @return true with {@code state_dtype=int8}
     */
    public final boolean int8State() {
        return "int8".equals(values.get("state_dtype"));
    }

    /**
     * With {@link #int8State()}, the fewest elements a tensor's state is quantized at
     * ({@code min_8bit_size}).
     *
     * @return the threshold, {@value Int8State#MIN_8BIT_SIZE} unless set
     */
    public final int min8bitSize() {
        Object v = values.get("min_8bit_size");
        return v == null ? Int8State.MIN_8BIT_SIZE : ((Double) v).intValue();
    }

    /** Whether the step kernels keep int8 state: int8 asked for, and state to keep (not plain SGD). */
    final boolean quantizesState() {
        return int8State() && !stateNames().isEmpty();
    }

    /**
     * The state arrays that are never negative, which int8 state quantizes with the unsigned
     * code map: PyTorch's names for second moments, sums of squares and infinity norms mean
     * the same in every algorithm.
     */
    private static final java.util.Set<String> NON_NEGATIVE_STATE =
            java.util.Set.of("exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg", "acc_delta", "exp_inf");

    /** Whether state array {@code key} is never negative (see {@link #NON_NEGATIVE_STATE}). */
    static boolean nonNegativeState(String key) {
        return NON_NEGATIVE_STATE.contains(key);
    }

    private Object value(String key, Hyperparameter.Kind kind) {
        Hyperparameter h = row.hyperparameter(key);
        if (h.kind() != kind) {
            throw new IllegalArgumentException(key + " is a " + h.kind().name().toLowerCase(java.util.Locale.ROOT)
                    + ", not a " + kind.name().toLowerCase(java.util.Locale.ROOT));
        }
        return values.get(key);
    }

    /**
     * Bytes the step reads and writes per element in fp32: the roofline's numerator.
     *
     * An algorithm with per-tensor norms ({@code lamb}) counts every pass of its step.
     *
     * @return bytes moved per element per step
     */
    public int bytesPerElement() {
        // p and grad read, p written; each state array read and written.
        return 12 + 2 * stateBytesPerElement();
    }

    /**
     * Bytes of optimizer state kept per parameter: each state array's element size (4, 2 with
     * {@code state_dtype=bf16}, 1 with int8, whose block maxima add 4 bytes per 256 elements);
     * Adafactor's factors are about none per element of a matrix.
     *
     * @return bytes of state per element
     */
    public int stateBytesPerElement() {
        return (int8State() ? 1 : stateDtype().bytes()) * stateNames().size();
    }

    /**
     * Whether {@code other} runs the same kernel variant on the same state, so that a parameter
     * group can switch to it between steps: same algorithm, state and structural options.
     */
    final boolean sameVariant(OptimizerConfig other) {
        return algorithm().equals(other.algorithm()) && stateNames().equals(other.stateNames())
                && buildOptions().equals(other.buildOptions());
    }

    /** Same class and hyperparameters. */
    @Override
    public final boolean equals(Object o) {
        return o instanceof OptimizerConfig c && c.getClass() == getClass() && c.values.equals(values);
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode() * 31 + values.hashCode();
    }

    @Override
    public String toString() {
        return algorithm() + values;
    }

    // ---- what the host needs to run the step; package-private ----

    /**
     * OpenCL build options (-D flags) for this configuration's structural options: MAXIMIZE,
     * which every algorithm has, and whatever an algorithm adds to it.
     */
    String buildOptions() {
        return define(flag("maximize"), "MAXIMIZE") + define(stateDtype() == Dtype.BF16, "CLOPT_STATE_BF16")
                + (quantizesState() ? " -DCLOPT_STATE_INT8 -DCLOPT_BLOCK=" + Int8State.BLOCK + " -DCLOPT_BUCKETS="
                        + Int8State.BUCKETS : "");
    }

    /** The value every element of state array {@code index} starts at. */
    float initialState(int index) {
        return 0f;
    }

    /**
     * The scalar state a tensor takes its first step with, in the order of
     * {@link #scalarStateNames()}. As PyTorch creates a parameter's state at its first step from
     * the group's hyperparameters then, this is asked of the configuration of that step
     * (ASGD's {@code eta} starts at the lr of its first step).
     */
    float[] initialScalarState() {
        return NO_SCALAR_STATE;
    }

    /**
     * The scalar state after step {@code t} (first step is 1), from the state before it, which is
     * not changed: computed in double from float32 values and rounded to float32, as PyTorch
     * keeps these values in float32 tensors.
     */
    float[] nextScalarState(long t, float[] before) {
        return before;
    }

    /**
     * The per-step scalars for step {@code t} (first step is 1), computed in double and rounded
     * to float, in the kernel's argument order. {@code before} and {@code after} are the
     * tensor's scalar state before and after the step ({@link #nextScalarState}); an algorithm
     * reads the one its PyTorch update reads (NAdam advances mu_product first and uses the new
     * value; ASGD steps with eta and mu, then advances them).
     */
    abstract float[] scalars(long t, float[] before, float[] after);

    /**
     * The CPU reference: one step over elements [from, to), the same equations in the same
     * order as the kernel.
     */
    abstract void referenceStep(float[] p, float[] grad, float[][] state, float[] scalars,
                                int from, int to);

    /**
     * The per-tensor passes of an algorithm whose step needs each tensor's norms (lamb's trust
     * ratio), or null for an element-wise one: see {@link PerTensorStep}.
     */
    PerTensorStep perTensorStep() {
        return null;
    }

    /** The gradient after the shared prologue: maximize, then L2 weight decay. */
    static float prologue(float grad, float p, boolean maximize, float weightDecay) {
        float g = maximize ? -grad : grad;
        if (weightDecay != 0f) {
            g = g + weightDecay * p;
        }
        return g;
    }

    /** torch.sign: 1, -1 or +0; +0 for NaN and for -0 (Math.signum keeps both). */
    static float torchSign(float x) {
        return (x > 0f ? 1f : 0f) - (x < 0f ? 1f : 0f);
    }

    static String define(boolean on, String define) {
        return on ? " -D" + define : "";
    }

    /**
     * The builder every algorithm's builder extends: it starts from the row's defaults (or from
     * a configuration, with {@link OptimizerConfig#toBuilder()}), takes values by typed setters
     * or by PyTorch keyword with {@link #set}, and validates everything in {@link #build()}.
     *
     * @param <B> the algorithm's builder
     * @param <C> the configuration it builds
     */
    public abstract static class Builder<B extends Builder<B, C>, C extends OptimizerConfig> {
        private final Algorithm row;
        private final Map<String, Object> values = new LinkedHashMap<>();

        Builder(Algorithm row) {
            this.row = row;
        }

        Builder(OptimizerConfig from) {
            this.row = from.row;
            values.putAll(from.values);
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /**
         * Sets hyperparameter {@code key} (a PyTorch keyword) to {@code value}, given as for
         * {@link OptimizerConfig#with}.
         *
         * @param key the hyperparameter's PyTorch keyword
         * @param value the new value
         * @return this builder
         * @throws IllegalArgumentException for a key this algorithm does not have
         */
        public B set(String key, Object value) {
            row.hyperparameter(key);
            values.put(key, Objects.requireNonNull(value, key));
            return self();
        }

        /**
         * Sets the learning rate, {@code lr}.
         *
         * @param value the new value
         * @return this builder
         */
        public B lr(double value) {
            return set("lr", value);
        }

        /**
         * Sets {@code weight_decay}.
         *
         * @param value the new value
         * @return this builder
         */
        public B weightDecay(double value) {
            return set("weight_decay", value);
        }

        /**
         * Sets {@code maximize}: whether to step up the gradient instead of down.
         *
         * @param value the new value
         * @return this builder
         */
        public B maximize(boolean value) {
            return set("maximize", value);
        }

        /**
         * Validates every hyperparameter and builds the configuration.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid or missing hyperparameter
         */
        @SuppressWarnings("unchecked")
        public C build() {
            return (C) row.create(values);
        }
    }

    /**
     * The builder of the algorithms with Adam's moment estimates (Adam, AdamW, NAdam, RAdam,
     * Adamax): {@code betas} and {@code eps} on top of the common setters.
     *
     * @param <B> the algorithm's builder
     * @param <C> the configuration it builds
     */
    public abstract static class MomentsBuilder<B extends MomentsBuilder<B, C>, C extends OptimizerConfig>
            extends Builder<B, C> {
        MomentsBuilder(Algorithm row) {
            super(row);
        }

        MomentsBuilder(OptimizerConfig from) {
            super(from);
        }

        /**
         * Sets {@code betas}, the decay rates of the first and second moment estimates.
         *
         * @param first the first moment's decay rate, in [0, 1)
         * @param second the second moment's decay rate, in [0, 1)
         * @return this builder
         */
        public B betas(double first, double second) {
            return set("betas", List.of(first, second));
        }

        /**
         * Sets {@code eps}, which keeps the denominator away from zero, &gt;= 0.
         *
         * @param value the new value
         * @return this builder
         */
        public B eps(double value) {
            return set("eps", value);
        }
    }
}

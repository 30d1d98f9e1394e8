package org.clopt;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The complete optimizer state of a {@link ParameterSet} as an immutable host snapshot, as
 * PyTorch's {@code optimizer.state_dict()}: each group's hyperparameters
 * ({@code param_groups}), and for each tensor in the set's order its name, shape and group, its
 * step count, its state arrays and scalar state under PyTorch's keys ({@code state}) and,
 * optionally, its parameters.
 *
 * <p>{@link ParameterSet#stateDict()} takes one, {@link ParameterSet#loadStateDict} restores
 * one, {@link ParameterSet.Builder#build(Device)} of {@link ParameterSet#builder(StateDict)}
 * rebuilds a set from one, and {@link Checkpoint} encodes one to a file or a stream. The
 * constructor checks that the snapshot is consistent in itself; whether it fits a particular
 * set is checked when it is loaded.
 */
public final class StateDict {
    /** The largest step count a snapshot may hold: 2^53, below which a double counts exactly. */
    public static final long MAX_STEP = 1L << 53;

    /** One tensor's entry. Arrays are copied in and handed out as read-only views. */
    public static final class Param {
        private final String name;
        private final int[] shape;
        private final int group;
        private final long step;
        private final Map<String, float[]> state;
        private final Map<String, Float> scalarState;
        private final float[] parameters;
        private final float[] averaged;
        private final float[] master;

        /**
         * An entry, checked for consistency in itself.
         *
         * @param name the tensor's name
         * @param shape the tensor's dimensions, each &gt;= 0
         * @param group the index of the tensor's group
         * @param step the tensor's step count, in [0, {@link StateDict#MAX_STEP}]
         * @param state the state arrays by PyTorch key, each of the size its algorithm gives it for the shape (the state dict checks it)
         * @param scalarState scalar state by PyTorch key, such as NAdam's {@code mu_product}: every
         *     key the group's algorithm keeps
         * @param parameters the parameters, or null for a snapshot of optimizer state only
         * @throws IllegalArgumentException for a negative dimension, a step count out of range,
         *     or an array whose length is not the tensor's size
         */
        public Param(String name, int[] shape, int group, long step, Map<String, float[]> state,
                     Map<String, Float> scalarState, float[] parameters) {
            this(name, shape, group, step, state, scalarState, parameters, null);
        }

        /**
         * An entry with the tensor's averaged parameters ({@link Averaging}), checked for
         * consistency in itself.
         *
         * @param name the tensor's name
         * @param shape the tensor's dimensions, each &gt;= 0
         * @param group the index of the tensor's group
         * @param step the tensor's step count, in [0, {@link StateDict#MAX_STEP}]
         * @param state the state arrays by PyTorch key, each of the size its algorithm gives it for the shape (the state dict checks it)
         * @param scalarState scalar state by PyTorch key, such as NAdam's {@code mu_product}: every
         *     key the group's algorithm keeps
         * @param parameters the parameters, or null for a snapshot of optimizer state only
         * @param averaged the averaged parameters, or null when the set keeps none
         * @throws IllegalArgumentException as the constructor without {@code averaged}, or for
         *     averaged parameters not of the tensor's size
         */
        public Param(String name, int[] shape, int group, long step, Map<String, float[]> state,
                     Map<String, Float> scalarState, float[] parameters, float[] averaged) {
            this(name, shape, group, step, state, scalarState, parameters, averaged, null);
        }

        /**
         * An entry of a group with fp32 master weights ({@link Precision}), checked for
         * consistency in itself.
         *
         * @param name the tensor's name
         * @param shape the tensor's dimensions, each &gt;= 0
         * @param group the index of the tensor's group
         * @param step the tensor's step count, in [0, {@link StateDict#MAX_STEP}]
         * @param state the state arrays by PyTorch key, each of the size its algorithm gives it for the shape (the state dict checks it)
         * @param scalarState scalar state by PyTorch key: every key the group's algorithm keeps
         * @param parameters the parameters (the 16-bit working copy, widened), or null for a
         *     snapshot of optimizer state only
         * @param averaged the averaged parameters, or null when the set keeps none
         * @param master the fp32 master weights, or null when the group keeps none
         * @throws IllegalArgumentException as the constructor without {@code master}, or for
         *     master weights not of the tensor's size
         */
        public Param(String name, int[] shape, int group, long step, Map<String, float[]> state,
                     Map<String, Float> scalarState, float[] parameters, float[] averaged, float[] master) {
            this.averaged = averaged == null ? null : averaged.clone();
            this.master = master == null ? null : master.clone();
            this.name = Objects.requireNonNull(name, "name");
            this.shape = shape.clone();
            this.group = group;
            this.step = step;
            Map<String, float[]> copy = new LinkedHashMap<>();
            state.forEach((k, v) -> copy.put(k, v.clone()));
            this.state = Collections.unmodifiableMap(copy);
            this.scalarState = Collections.unmodifiableMap(new LinkedHashMap<>(scalarState));
            this.parameters = parameters == null ? null : parameters.clone();
            long size = StateDict.size(shape, name);
            if (step < 0 || step > MAX_STEP) {
                throw new IllegalArgumentException(name + ": invalid step count " + step
                        + " (must be in [0, 2^53]: per-step scalars are computed in double from it)");
            }
            // Each state array's size follows its algorithm (StateDict checks it against the group).
            if (this.parameters != null && this.parameters.length != size) {
                throw new IllegalArgumentException(name + ": parameters have " + this.parameters.length
                        + " floats, the tensor " + size);
            }
            if (this.averaged != null && this.averaged.length != size) {
                throw new IllegalArgumentException(name + ": averaged parameters have " + this.averaged.length
                        + " floats, the tensor " + size);
            }
            if (this.master != null && this.master.length != size) {
                throw new IllegalArgumentException(name + ": master weights have " + this.master.length
                        + " floats, the tensor " + size);
            }
        }

        /**
         * The fp32 master weights as a read-only view, or null when the group keeps none.
         *
         * @return the master weights, read-only, or null
         */
        public FloatBuffer master() {
            return master == null ? null : FloatBuffer.wrap(master).asReadOnlyBuffer();
        }

        float[] masterArray() {
            return master;
        }

        /**
         * The averaged parameters as a read-only view, or null when the set keeps none.
         *
         * @return the averaged parameters, read-only, or null
         */
        public FloatBuffer averaged() {
            return averaged == null ? null : FloatBuffer.wrap(averaged).asReadOnlyBuffer();
        }

        float[] averagedArray() {
            return averaged;
        }

        /**
         * The tensor's name.
         *
         * @return the name
         */
        public String name() {
            return name;
        }

        /**
         * A copy of the shape.
         *
         * @return the shape (a copy)
         */
        public int[] shape() {
            return shape.clone();
        }

        /**
         * The index of the tensor's group in {@link StateDict#groups()}.
         *
         * @return the group's index
         */
        public int group() {
            return group;
        }

        /**
         * PyTorch's {@code state[p]["step"]}.
         *
         * @return the step count
         */
        public long step() {
            return step;
        }

        /**
         * The state array keys, in kernel order.
         *
         * @return the keys, possibly empty
         */
        public List<String> stateKeys() {
            return List.copyOf(state.keySet());
        }

        /**
         * State array {@code key} as a read-only view.
         *
         * @param key the PyTorch state key
         * @return the array, read-only
         * @throws IllegalArgumentException if there is none under that key
         */
        public FloatBuffer state(String key) {
            float[] values = state.get(key);
            if (values == null) {
                throw new IllegalArgumentException(name + ": no state '" + key + "' (has: "
                        + String.join(", ", state.keySet()) + ")");
            }
            return FloatBuffer.wrap(values).asReadOnlyBuffer();
        }

        /**
         * Scalar state by PyTorch key (NAdam's {@code mu_product}, ASGD's {@code eta} and
         * {@code mu}); empty for most algorithms. At step 0 it holds the values the first step
         * would start from under the group's configuration of the snapshot; a snapshot loaded at
         * step 0 leaves them to the configuration of the first step, as PyTorch creates a
         * parameter's state at its first step.
         *
         * @return the scalar state (immutable)
         */
        public Map<String, Float> scalarState() {
            return scalarState;
        }

        /**
         * The parameters as a read-only view, or null when the snapshot has none.
         *
         * @return the parameters, read-only, or null
         */
        public FloatBuffer parameters() {
            return parameters == null ? null : FloatBuffer.wrap(parameters).asReadOnlyBuffer();
        }

        float[] stateArray(String key) {
            return state.get(key);
        }

        /** Int8 state as stored, by key, for the tensors whose state is quantized; else empty. */
        private Map<String, Quantized> quantized = Map.of();

        /**
         * Int8 state array {@code key} as stored: the codes and block maxima that
         * {@link #state(String)} dequantizes; null when the tensor's state of that key is not
         * 8-bit (another state type, or a tensor below {@code min_8bit_size}).
         *
         * @param key the PyTorch state key
         * @return the codes and block maxima, or null
         */
        public Quantized quantized(String key) {
            return quantized.get(key);
        }

        /** This entry with the stored form of its int8 state arrays. */
        Param withQuantized(Map<String, Quantized> parts) {
            Param p = new Param(name, shape, group, step, state, scalarState, parameters, averaged, master);
            p.quantized = Map.copyOf(parts);
            return p;
        }

        float[] parameterArray() {
            return parameters;
        }

        int size() {
            return (int) StateDict.size(shape, name);
        }
    }

    /**
     * A state array kept as 8-bit codes ({@code state_dtype=int8}): one code per element and one
     * absmax per block of {@value Int8State#BLOCK} elements (the last may be shorter); element i is
     * {@code map[codes[i] & 0xFF] * absmax[i / 256]}, the map being the array's dynamic code map.
     * bitsandbytes calls the codes {@code state1}/{@code state2}, the maxima {@code absmax1}/
     * {@code absmax2}.
     *
     * @param codes the codes, one per element
     * @param absmax the maxima, one per block
     */
    public record Quantized(byte[] codes, float[] absmax) {
        /** Copies both arrays. */
        public Quantized {
            codes = codes.clone();
            absmax = absmax.clone();
        }

        @Override
        public byte[] codes() {
            return codes.clone();
        }

        @Override
        public float[] absmax() {
            return absmax.clone();
        }
    }

    private final List<OptimizerConfig> groups;
    private final List<Precision> precisions;
    private final List<Param> params;
    private final List<Map<String, Object>> schedulers;
    private final Averaging averaging;
    private final long averagedCount;

    /**
     * A snapshot of these groups and tensors.
     *
     * @param groups each group's hyperparameters, at least one
     * @param params every tensor's entry, in the set's order
     * @throws IllegalArgumentException if a tensor names a group that does not exist, two
     *     tensors share a name, a tensor's state keys are not its group's, or some tensors have
     *     parameters and others do not
     */
    public StateDict(List<OptimizerConfig> groups, List<Param> params) {
        this(groups, params, List.of());
    }

    /**
     * A snapshot of these groups and tensors, and of the schedulers (or other {@link Stateful}
     * objects) attached to the set.
     *
     * @param groups each group's hyperparameters, at least one
     * @param params every tensor's entry, in the set's order
     * @param schedulers each attached object's {@link Stateful#stateDict()}, in order (copied
     *     deeply)
     * @throws IllegalArgumentException as {@link #StateDict(List, List)}, or for a scheduler state
     *     that is not JSON data with a {@code "type"} string
     */
    public StateDict(List<OptimizerConfig> groups, List<Param> params, List<Map<String, Object>> schedulers) {
        this(groups, params, schedulers, null, 0);
    }

    /**
     * A snapshot of these groups, tensors and schedulers, and of the averaged parameters.
     *
     * @param groups each group's hyperparameters, at least one
     * @param params every tensor's entry, in the set's order
     * @param schedulers each attached object's {@link Stateful#stateDict()}, in order
     * @param averaging how the set averages its parameters, or null when it does not; then
     *     every tensor's entry has its averaged parameters, else none has
     * @param averagedCount how many updates the average has seen ({@code n_averaged}), &gt;= 0
     * @throws IllegalArgumentException as {@link #StateDict(List, List, List)}, or when the
     *     averaged parameters do not match {@code averaging}
     */
    public StateDict(List<OptimizerConfig> groups, List<Param> params, List<Map<String, Object>> schedulers,
                     Averaging averaging, long averagedCount) {
        this(groups, Collections.nCopies(groups.size(), Precision.FP32), params, schedulers, averaging, averagedCount);
    }

    /**
     * A snapshot of groups of these precisions, with their tensors, schedulers and averaged
     * parameters.
     *
     * @param groups each group's hyperparameters, at least one
     * @param precisions each group's precision
     * @param params every tensor's entry, in the set's order; an entry has master weights
     *     exactly when its group keeps them
     * @param schedulers each attached object's {@link Stateful#stateDict()}, in order
     * @param averaging how the set averages its parameters, or null when it does not
     * @param averagedCount how many updates the average has seen, &gt;= 0
     * @throws IllegalArgumentException as {@link #StateDict(List, List, List, Averaging, long)},
     *     for a count of precisions other than of groups, or for master weights that do not
     *     match their group's precision
     */
    public StateDict(List<OptimizerConfig> groups, List<Precision> precisions, List<Param> params,
                     List<Map<String, Object>> schedulers, Averaging averaging, long averagedCount) {
        this.precisions = List.copyOf(precisions);
        if (this.precisions.size() != groups.size()) {
            throw new IllegalArgumentException(precisions.size() + " precisions for " + groups.size() + " groups");
        }
        this.averaging = averaging;
        this.averagedCount = averagedCount;
        if (averagedCount < 0 || (averaging == null && averagedCount != 0)) {
            throw new IllegalArgumentException("invalid count of averaged updates " + averagedCount
                    + (averaging == null ? " without averaging" : " (must be >= 0)"));
        }
        for (Param p : params) {
            if ((p.averagedArray() != null) != (averaging != null)) {
                throw new IllegalArgumentException(p.name() + (averaging == null
                        ? ": averaged parameters in a snapshot without averaging"
                        : ": no averaged parameters in a snapshot with averaging " + averaging));
            }
        }
        this.groups = List.copyOf(groups);
        this.params = List.copyOf(params);
        List<Map<String, Object>> copies = new ArrayList<>();
        for (int i = 0; i < schedulers.size(); i++) {
            Map<String, Object> state = schedulers.get(i);
            if (state == null || !(state.get("type") instanceof String)) {
                throw new IllegalArgumentException("scheduler state " + i + " has no \"type\" string");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> copy = (Map<String, Object>) jsonCopy(state, "scheduler state " + i);
            copies.add(copy);
        }
        this.schedulers = List.copyOf(copies);
        if (this.groups.isEmpty()) {
            throw new IllegalArgumentException("a state dict needs at least one group");
        }
        Set<String> names = new HashSet<>();
        int lastGroup = 0;
        for (Param p : this.params) {
            if (p.group() < lastGroup) {
                throw new IllegalArgumentException(p.name() + ": group " + p.group() + " after group "
                        + lastGroup + " (tensors are listed group by group, as PyTorch numbers them)");
            }
            lastGroup = Math.max(lastGroup, p.group());
            if (!names.add(p.name())) {
                throw new IllegalArgumentException("duplicate tensor name '" + p.name() + "'");
            }
            if (p.group() < 0 || p.group() >= this.groups.size()) {
                throw new IllegalArgumentException(p.name() + ": group " + p.group() + " does not exist (there are "
                        + this.groups.size() + ")");
            }
            OptimizerConfig config = this.groups.get(p.group());
            List<String> keys = config.stateKeys(p.shape());
            if (!Set.copyOf(p.stateKeys()).equals(Set.copyOf(keys))) {
                throw new IllegalArgumentException(p.name() + ": state " + p.stateKeys() + " but "
                        + config.algorithm() + " keeps " + keys + " for shape " + java.util.Arrays.toString(p.shape()));
            }
            for (String key : keys) {
                int[] stateShape = config.stateShape(key, p.shape());
                long expected = size(stateShape, p.name());
                if (p.stateArray(key).length != expected) {
                    throw new IllegalArgumentException(p.name() + ": state " + key + " has "
                            + p.stateArray(key).length + " floats, " + java.util.Arrays.toString(stateShape)
                            + " is " + expected);
                }
            }
            if (!p.scalarState().keySet().equals(Set.copyOf(config.scalarStateNames()))) {
                throw new IllegalArgumentException(p.name() + ": scalar state " + p.scalarState().keySet()
                        + " but " + config.algorithm() + " keeps " + config.scalarStateNames());
            }
            if ((p.parameterArray() == null) != (this.params.get(0).parameterArray() == null)) {
                throw new IllegalArgumentException("some tensors have parameters and some do not");
            }
            Precision precision = this.precisions.get(p.group());
            if ((p.masterArray() != null) != precision.masterWeights()) {
                throw new IllegalArgumentException(p.name() + (precision.masterWeights()
                        ? ": no master weights but its group is " + precision
                        : ": master weights but its group is " + precision + ", which keeps none"));
            }
        }
    }

    /**
     * Each group's hyperparameters ({@code param_groups}).
     *
     * @return the groups' configurations (immutable)
     */
    public List<OptimizerConfig> groups() {
        return groups;
    }

    /**
     * Each group's precision.
     *
     * @return the groups' precisions (immutable)
     */
    public List<Precision> precisions() {
        return precisions;
    }

    /**
     * Every tensor, in the set's order (PyTorch's param indices).
     *
     * @return the tensors' entries (immutable)
     */
    public List<Param> params() {
        return params;
    }

    /**
     * The state of each scheduler (or other {@link Stateful} object) attached to the set, in
     * order of attachment: immutable JSON data.
     *
     * @return the schedulers' states (immutable)
     */
    public List<Map<String, Object>> schedulers() {
        return schedulers;
    }

    /** An immutable deep copy of JSON data: maps, lists, strings, booleans and finite numbers. */
    private static Object jsonCopy(Object value, String where) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException(where + ": key " + e.getKey() + " is not a string");
                }
                copy.put(key, jsonCopy(e.getValue(), where + "." + key));
            }
            return Collections.unmodifiableMap(copy);
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                copy.add(jsonCopy(list.get(i), where + "[" + i + "]"));
            }
            return Collections.unmodifiableList(copy);
        }
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isFinite(d)) {
                return d;
            }
        } else if (value instanceof Long || value instanceof Integer || value instanceof Short
                || value instanceof Byte) {
            return ((Number) value).longValue();
        } else if (value instanceof Number n) {
            // BigDecimal and the like: an integer that fits a long stays one, anything else a double.
            java.math.BigDecimal exact = new java.math.BigDecimal(n.toString());
            try {
                return exact.longValueExact();
            } catch (ArithmeticException notALong) {
                double d = exact.doubleValue();
                if (Double.isFinite(d)) {
                    return d;
                }
            }
        }
        if (value instanceof String || value instanceof Boolean) {
            return value;
        }
        throw new IllegalArgumentException(where + ": " + value + " is not JSON data (a finite number, "
                + "string, boolean, list or map)");
    }

    /**
     * How the set averaged its parameters, or null when it did not.
     *
     * @return the averaging, or null
     */
    public Averaging averaging() {
        return averaging;
    }

    /**
     * How many updates the averaged parameters have seen ({@code AveragedModel.n_averaged}).
     *
     * @return the count, 0 without averaging
     */
    public long averagedCount() {
        return averagedCount;
    }

    /**
     * Whether the snapshot holds the parameters too.
     *
     * @return true if the tensors' parameters are included
     */
    public boolean hasParameters() {
        return !params.isEmpty() && params.get(0).parameterArray() != null;
    }

    /** The layout: tensor names, shapes and groups, for messages. */
    String layout() {
        List<String> parts = new ArrayList<>();
        for (Param p : params) {
            parts.add(p.name() + Arrays.toString(p.shape) + "@" + p.group());
        }
        return String.join(", ", parts);
    }

    private static long size(int[] shape, String name) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(name + ": invalid shape " + Arrays.toString(shape)
                        + " (dimensions must be >= 0)");
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape)
                        + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        return n;
    }
}

package org.clopt;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jocl.cl_mem;

/**
 * Many named tensors in parameter groups, as PyTorch's {@code param_groups}: each group has its
 * own hyperparameters, and its tensors' parameters, gradients and state arrays are laid out
 * one after another in flat buffers, so that a step of a group is one launch (or a few: see
 * below), whatever the number of tensors. {@link Optimizer} is the one-tensor case of the same
 * code.
 *
 * <pre>{@code
 * try (ParameterSet set = ParameterSet.builder()
 *         .group(AdamW.builder().lr(1e-3).build()).tensor("fc1.weight", 256, 784).tensor("fc2.weight", 10, 256)
 *         .group(AdamW.builder().lr(1e-3).weightDecay(0).build()).tensor("fc1.bias", 256).tensor("fc2.bias", 10)
 *         .build(device)) {
 *     set.writeParameters("fc1.weight", initial);
 *     ...
 *     set.writeGradients("fc1.weight", gradient);   // or write into gradientSlice(...) on the device
 *     set.clipGradNorm(1.0);                        // clip_grad_norm_, fused into the step
 *     set.step();
 *     set.setConfig(0, set.config(0).with("lr", 5e-4));   // by hand, or a scheduler's step()
 * }
 * }</pre>
 *
 * <p>As in PyTorch, each tensor has its own step count, advanced only by steps it takes part in.
 * A tensor sits a step out when it is frozen ({@code requires_grad=False}) or has no gradient
 * ({@code grad is None}): its parameters and state stay bit for bit as they were. A step
 * launches once per run of consecutive tensors of a group that take part and share a step count,
 * so one launch per group in the usual case; each run's tensors count the step as taken once its
 * launch is enqueued, so a step that fails part way (an OpenCL error) leaves every tensor's
 * count matching its data. Tensors start with a gradient of zeros;
 * {@link #zeroGrad(boolean) zeroGrad(true)} or {@link #clearGradient} remove it until the next
 * write or {@link #markGradient}.
 *
 * <p>Around the step, on the device and with PyTorch's semantics: {@link #accumulateGradients}
 * ({@code .grad +=}), {@link #clipGradNorm} and {@link #clipGradValue} ({@code torch.nn.utils}),
 * {@link #startAveraging} and {@link #updateAveraged} ({@code AveragedModel}), and learning-rate
 * schedulers ({@code org.clopt.schedule}), which {@link #attach} themselves so that their state
 * is saved with the set's.
 *
 * <p>A group may hold its parameters and gradients in bf16 or fp16 ({@link Precision}: with
 * fp32 master weights, or without), and a {@link GradScaler} scales the loss for them; optimizer
 * state and arithmetic stay fp32. Transfers of floats round to the group's type on the way in
 * and widen exactly on the way out.
 *
 * <p>Thread-safe in the sense that calls from several threads are serialised: each method
 * runs alone, and {@link #close} waits for a running step. Close it to release its device memory.
 */
public final class ParameterSet implements AutoCloseable {
    /** A tensor's place (its group and its range in the group's flat arrays) and its counters. */
    private static final class Tensor {
        final String name;
        final int[] shape;
        final int group;
        final int offset;
        final int size;
        /** Its place for the engine: elements, shape, and its parts of the state arrays. */
        final Engine.TensorLayout layout;
        long step;
        /**
         * The algorithm's scalar state after the last step (NAdam's mu_product, ASGD's eta and
         * mu), in the order of its scalarStateNames; null until the first step, which starts
         * from the configuration's initial values then, as PyTorch creates state lazily.
         */
        float[] scalarState;
        boolean frozen;
        boolean hasGradient = true;
        /**
         * The gradient is to be read times the clip coefficient on the device: a clipping not
         * yet written into the gradient (the step kernels apply it as they read).
         */
        boolean clipped;
        /**
         * The loss scaler's 1/scale the gradient is to be read times, before any clip
         * coefficient (1 for none): an unscaling not yet written into the gradient.
         */
        float unscale = 1f;

        Tensor(String name, int[] shape, int group, int offset, int size, int[] stateOffsets) {
            this.name = name;
            this.shape = shape;
            this.group = group;
            this.offset = offset;
            this.size = size;
            this.layout = new Engine.TensorLayout(offset, size, shape, stateOffsets);
        }
    }

    /**
     * A tensor to add: its name and shape (any dimension may be 0).
     *
     * @param name the tensor's name, unique in the set
     * @param shape the tensor's dimensions
     */
    public record TensorSpec(String name, int... shape) {
        /**
         * Checks the name and copies the shape.
         *
         * @param name the tensor's name, not null
         * @param shape the tensor's dimensions (copied)
         */
        public TensorSpec {
            Objects.requireNonNull(name, "name");
            shape = shape.clone();
        }
    }

    private final Device device;
    /** Every tensor in the order added, group by group. */
    private final List<Tensor> tensors = new ArrayList<>();
    private final Map<String, Tensor> byName = new HashMap<>();
    /** Per group: its tensors, its engine and its configuration now. */
    private final List<List<Tensor>> groupTensors = new ArrayList<>();
    private final List<Engine> engines = new ArrayList<>();
    private final List<OptimizerConfig> configs = new ArrayList<>();
    private final List<Precision> precisions = new ArrayList<>();
    /** Schedulers and the like, saved with the set in this order. */
    private final List<Stateful> attached = new ArrayList<>();
    /**
     * States of attached objects from a loaded snapshot that had none attached yet (a set built
     * from a checkpoint), with the group configurations they go with; applied at the first
     * step, to the objects attached by then.
     */
    private List<Map<String, Object>> pending = List.of();
    private List<OptimizerConfig> pendingConfigs = List.of();
    /** How the parameters are averaged, or null; and the number of updates so far. */
    private Averaging averaging;
    private long averagedCount;
    /** Whether a clipping computed a norm that {@link #gradNorm()} can read. */
    private boolean gradNormComputed;
    private boolean closed;

    /** Makes a group's engine; tests substitute one that fails on demand. */
    interface EngineFactory {
        Engine create(Device device, OptimizerConfig layout, Precision precision, int size, int[] stateSizes,
                      int[] tensorSizes, boolean hostGradients, long workGroupSize);
    }

    /** The engines every set uses: OpenCL with a device, the CPU reference without. */
    static final EngineFactory DEFAULT_ENGINES = (device, layout, precision, size, stateSizes, tensorSizes,
                                                  hostGradients, workGroupSize) ->
            device == null ? new ReferenceEngine(layout, precision, size, stateSizes, tensorSizes)
            : new ClEngine(device, layout, precision, size, stateSizes, tensorSizes, hostGradients, workGroupSize);

    private final EngineFactory engineFactory;
    /** Whether groups keep their gradients where {@link #gradientBuffer} can hand them out. */
    private final boolean hostGradients;
    /** The step kernels' work-group size asked for, or 0: tuned, else the rule. */
    private final long workGroupSize;
    /** Clipping, accumulation and averaging on the groups' arrays. */
    private final SetKernels kernels;

    private ParameterSet(Device device, EngineFactory engineFactory, boolean hostGradients, long workGroupSize) {
        this.hostGradients = hostGradients;
        this.workGroupSize = workGroupSize;
        this.device = device;
        this.engineFactory = engineFactory;
        this.kernels = SetKernels.of(device);
    }

    /**
     * An empty builder; add a {@link Builder#group group} before its tensors.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder(null);
    }

    /**
     * A builder holding the layout of {@code state} (its groups' hyperparameters and its tensors'
     * names, shapes and groups); {@link Builder#build(Device)} then loads the snapshot into the
     * new set. With a checkpoint: {@code ParameterSet.builder(Checkpoint.read(path)).build(device)}.
     *
     * @param state the snapshot whose layout and contents the set gets
     * @return a builder with the snapshot's groups and tensors
     */
    public static Builder builder(StateDict state) {
        Builder b = new Builder(state);
        int group = -1;
        for (StateDict.Param p : state.params()) {
            while (group < p.group()) {
                ++group;
                b.group(state.groups().get(group), state.precisions().get(group));
            }
            b.tensor(p.name(), p.shape());
        }
        while (group < state.groups().size() - 1) {
            ++group;
            b.group(state.groups().get(group), state.precisions().get(group));
        }
        return b;
    }

    /**
     * The tensor names in the order they were added.
     *
     * @return the names, in order
     */
    public synchronized List<String> names() {
        return tensors.stream().map(t -> t.name).toList();
    }

    /**
     * A copy of the tensor's shape.
     *
     * @param name the tensor's name
     * @return the shape (a copy)
     * @throws IllegalArgumentException for an unknown tensor
     */
    public synchronized int[] shape(String name) {
        return tensor(name).shape.clone();
    }

    /**
     * Number of elements of the tensor.
     *
     * @param name the tensor's name
     * @return the element count
     * @throws IllegalArgumentException for an unknown tensor
     */
    public synchronized int size(String name) {
        return tensor(name).size;
    }

    /**
     * The number of parameter groups.
     *
     * @return the number of groups
     */
    public synchronized int groupCount() {
        return configs.size();
    }

    /**
     * The group the tensor belongs to, counted from 0 in the order groups were added.
     *
     * @param name the tensor's name
     * @return the group's index
     * @throws IllegalArgumentException for an unknown tensor
     */
    public synchronized int group(String name) {
        return tensor(name).group;
    }

    /**
     * The group's hyperparameters now.
     *
     * @param group the group's index
     * @return the group's configuration
     * @throws IllegalArgumentException for an index out of range
     */
    public synchronized OptimizerConfig config(int group) {
        return configs.get(checkGroup(group));
    }

    /**
     * Replaces a group's hyperparameters from the next step on, as a schedule does; to change one
     * hyperparameter, pass {@code config(group).with(key, value)}. The new configuration must keep
     * the algorithm and its structural options (the state it keeps and the kernel variant):
     * learning rate, betas, weight decay and the like may change freely.
     *
     * @param group the group's index
     * @param config the new configuration
     * @throws IllegalArgumentException naming what may not change
     */
    public synchronized void setConfig(int group, OptimizerConfig config) {
        ensureOpen();
        Objects.requireNonNull(config, "config");
        OptimizerConfig old = configs.get(checkGroup(group));
        if (!config.sameVariant(old)) {
            throw new IllegalArgumentException("group " + group + ": cannot change " + old
                    + " into " + config + " (the algorithm and its structural options, such as "
                    + "amsgrad, centered, nesterov, maximize or momentum on or off, are fixed when "
                    + "the group is made)");
        }
        configs.set(group, config);
    }

    /**
     * The work-group sizes of a group's step kernel on the device.
     *
     * @param size the size it runs with
     * @param rule the size of the rule (4096 on CPUs, 256 elsewhere, within the kernel's limit)
     * @param max the most the kernel allows on this device
     * @param tuned whether {@code size} is the one {@code clopt tune} measured ({@link LaunchTuning})
     */
    public record WorkGroups(long size, long rule, long max, boolean tuned) {
    }

    /**
     * The work-group sizes of group {@code group}'s step kernel: all 0 on the CPU reference and
     * for the algorithms of several passes of their own shapes (lamb, adafactor) or int8 state.
     *
     * @param group the group's index
     * @return its sizes
     */
    public synchronized WorkGroups workGroups(int group) {
        ensureOpen();
        Objects.checkIndex(group, engines.size());
        return engines.get(group) instanceof ClEngine c ? c.workGroups() : new WorkGroups(0, 0, 0, false);
    }

    /**
     * Adds a parameter group with its tensors to a live set, as PyTorch's
     * {@code add_param_group}: its buffers are allocated now, its tensors come after every
     * existing one (so existing tensors keep their indices) and start at step 0.
     *
     * @param config the new group's hyperparameters
     * @param tensorSpecs the new group's tensors, in order
     * @return the new group's index
     * @throws IllegalArgumentException for an empty or duplicate name, or a bad shape; the set is
     *         then unchanged
     */
    public int addGroup(OptimizerConfig config, TensorSpec... tensorSpecs) {
        return addGroup(config, Precision.FP32, tensorSpecs);
    }

    /**
     * Adds a parameter group of this precision with its tensors to a live set (see
     * {@link #addGroup(OptimizerConfig, TensorSpec...)}).
     *
     * @param config the new group's hyperparameters
     * @param precision how the group stores its parameters and gradients
     * @param tensorSpecs the new group's tensors, in order
     * @return the new group's index
     * @throws IllegalArgumentException for an empty or duplicate name, a bad shape, or an
     *         algorithm the precision does not support; the set is then unchanged
     */
    public synchronized int addGroup(OptimizerConfig config, Precision precision, TensorSpec... tensorSpecs) {
        ensureOpen();
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(precision, "precision");
        String unsupported = precision.unsupportedReason(config);
        if (unsupported != null) {
            throw new IllegalArgumentException(config.algorithm() + " with " + precision + " parameters: "
                    + unsupported);
        }
        List<Tensor> added = new ArrayList<>();
        Set<String> addedNames = new HashSet<>();
        long offset = 0;
        List<String> stateNames = config.stateNames();
        // Each state array holds the tensors' parts end to end, as the parameters do.
        long[] stateEnds = new long[stateNames.size()];
        int group = configs.size();
        for (TensorSpec spec : tensorSpecs) {
            if (byName.containsKey(spec.name()) || !addedNames.add(spec.name())) {
                throw new IllegalArgumentException("duplicate tensor name '" + spec.name() + "'");
            }
            int size = checkedSize(spec.name(), spec.shape());
            int[] stateOffsets = new int[stateNames.size()];
            for (int k = 0; k < stateOffsets.length; k++) {
                int[] stateShape = config.stateShape(stateNames.get(k), spec.shape());
                stateOffsets[k] = stateShape == null ? -1 : (int) stateEnds[k];
                stateEnds[k] += stateShape == null ? 0 : checkedSize(spec.name(), stateShape);
            }
            if (offset + size > Integer.MAX_VALUE || Arrays.stream(stateEnds).anyMatch(e -> e > Integer.MAX_VALUE)) {
                throw new IllegalArgumentException("tensor '" + spec.name() + "': group " + group
                        + " would exceed " + Integer.MAX_VALUE + " elements");
            }
            added.add(new Tensor(spec.name(), spec.shape(), group, (int) offset, size, stateOffsets));
            offset += size;
        }
        int[] stateSizes = Arrays.stream(stateEnds).mapToInt(e -> (int) e).toArray();
        int[] tensorSizes = added.stream().mapToInt(t -> t.size).toArray();
        Engine engine = engineFactory.create(device, config, precision, (int) offset, stateSizes, tensorSizes,
                hostGradients, workGroupSize);
        if (averaging != null) {
            try {
                engine.allocateAveraged();
            } catch (RuntimeException e) {
                engine.close();
                throw e;
            }
        }
        engines.add(engine);
        configs.add(config);
        precisions.add(precision);
        groupTensors.add(added);
        for (Tensor t : added) {
            tensors.add(t);
            byName.put(t.name, t);
        }
        return group;
    }

    /**
     * Attaches {@code state} (a learning-rate scheduler, say) to the set: from now on its state
     * is part of {@link #stateDict()}, in the order of attachment, and {@link #loadStateDict}
     * restores it. Schedulers attach themselves when made.
     *
     * <p>To resume a run, make the same schedulers in the same order as the run that saved the
     * state, then load it. A set built from a snapshot ({@link #builder(StateDict)}) that holds
     * scheduler states keeps them until its first {@link #step()}, and loads them then into the
     * objects attached by that time, together with the groups' hyperparameters of the snapshot
     * (which a scheduler's constructor may have changed); the counts and kinds must match. An
     * object that {@link Stateful#loadsWhenAttached() loads when attached} (a {@link GradScaler},
     * whose scale the first backward pass needs) gets its saved state at once instead.
     *
     * @param state the object to save with the set
     * @throws IllegalArgumentException if it is attached already, or if it loads when attached
     *     and the saved state at its place is not of its kind (it is then not attached)
     */
    public synchronized void attach(Stateful state) {
        ensureOpen();
        Objects.requireNonNull(state, "state");
        if (attached.stream().anyMatch(a -> a == state)) {
            throw new IllegalArgumentException("already attached: " + state);
        }
        int index = attached.size();
        if (state.loadsWhenAttached() && index < pending.size()) {
            try {
                state.loadStateDict(pending.get(index));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("the state this set was built from holds " + types(pending)
                        + " but a " + state.stateDict().get("type") + " is attached at place " + index + ": "
                        + e.getMessage(), e);
            }
            // Loaded: the first step must not load it again over what happened since.
            List<Map<String, Object>> rest = new ArrayList<>(pending);
            rest.set(index, null);
            pending = rest;
        }
        attached.add(state);
    }

    /**
     * Detaches an object attached before, as a scheduler that another one (a sequence of
     * schedulers) now drives and saves; does nothing for an object not attached.
     *
     * @param state the object to detach
     */
    public synchronized void detach(Stateful state) {
        attached.removeIf(a -> a == state);
    }

    /**
     * The tensor's step count (PyTorch's {@code state['step']}).
     *
     * @param name the tensor's name
     * @return the number of steps the tensor has taken
     */
    public synchronized long stepCount(String name) {
        return tensor(name).step;
    }

    /**
     * A frozen tensor ({@code requires_grad=False}) takes no part in steps until unfrozen.
     *
     * @param name the tensor's name
     * @param value true to freeze, false to unfreeze
     */
    public synchronized void setFrozen(String name, boolean value) {
        tensor(name).frozen = value;
    }

    /**
     * Removes the tensor's gradient ({@code grad = None}): it sits out steps until one is written.
     *
     * @param name the tensor's name
     */
    public synchronized void clearGradient(String name) {
        Tensor t = tensor(name);
        t.hasGradient = false;
        t.clipped = false;
        t.unscale = 1f;
    }

    /**
     * Says a gradient is present again after one was written on the device into
     * {@link #gradientSlice}, or is about to be: a clipping pending on the previous gradient is
     * dropped with it. Call it for every tensor a backward pass of your own writes.
     *
     * @param name the tensor's name
     */
    public synchronized void markGradient(String name) {
        Tensor t = tensor(name);
        t.hasGradient = true;
        t.clipped = false;
        t.unscale = 1f;
    }

    /** Zeroes every gradient, as {@code zero_grad(set_to_none=False)}. */
    public void zeroGrad() {
        zeroGrad(false);
    }

    /**
     * With {@code setToNone}, removes every gradient (the tensors sit out steps until a gradient
     * is written); otherwise fills them with zeros, which still take part in steps.
     *
     * @param setToNone true to remove the gradients, false to zero them
     */
    public synchronized void zeroGrad(boolean setToNone) {
        ensureOpen();
        for (Tensor t : tensors) {
            t.clipped = false;
            t.unscale = 1f;
            if (setToNone) {
                t.hasGradient = false;
            } else {
                engines.get(t.group).fill(Engine.GRADIENTS, t.offset, t.size, 0f);
            }
        }
    }

    /** One step of every group, for each tensor that takes part. Enqueues and returns. */
    public synchronized void step() {
        ensureOpen();
        if (!pending.isEmpty()) {
            loadAttached(pending, "the state this set was built from");
            for (int g = 0; g < configs.size(); g++) {
                configs.set(g, pendingConfigs.get(g));
            }
            pending = List.of();
            pendingConfigs = List.of();
        }
        for (Stateful a : attached) {
            a.beforeStep();
        }
        for (int g = 0; g < configs.size(); g++) {
            OptimizerConfig config = configs.get(g);
            List<Tensor> list = groupTensors.get(g);
            int i = 0;
            while (i < list.size()) {
                Tensor first = list.get(i);
                if (!active(first)) {
                    i++;
                    continue;
                }
                // A run: consecutive tensors of this group that take part with equal step counts
                // and scalar state (bit for bit), so with the same kernel scalars.
                int j = i + 1;
                while (j < list.size() && active(list.get(j)) && list.get(j).step == first.step
                        && Arrays.equals(list.get(j).scalarState, first.scalarState)
                        && list.get(j).clipped == first.clipped
                        && Float.floatToRawIntBits(list.get(j).unscale) == Float.floatToRawIntBits(first.unscale)) {
                    j++;
                }
                long t = first.step + 1;
                float[] before = first.scalarState != null ? first.scalarState : config.initialScalarState();
                float[] after = config.nextScalarState(t, before);
                List<Engine.TensorLayout> run = new ArrayList<>(j - i);
                for (int k = i; k < j; k++) {
                    run.add(list.get(k).layout);
                }
                Precision precision = precisions.get(g);
                int key = precision.stochasticRounding() ? Dtype.roundingKey(precision.seed(), t) : 0;
                engines.get(g).step(config, config.scalars(t, before, after), run,
                        new Engine.StepInput(kernels.scale(first.clipped), first.unscale, key));
                for (int k = i; k < j; k++) {
                    list.get(k).step = t;
                    list.get(k).scalarState = after;
                }
                i = j;
            }
        }
    }

    private static boolean active(Tensor t) {
        return !t.frozen && t.hasGradient;
    }

    /**
     * Replaces the tensor's parameters with {@code values} (exactly its size).
     *
     * @param name the tensor's name
     * @param values the new parameters
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     */
    public void writeParameters(String name, float[] values) {
        transfer(name, -1, FloatBuffer.wrap(values), true);
    }

    /**
     * Replaces the tensor's parameters from {@code values}' position to its limit; the position
     * is kept. Any FloatBuffer works: heap, direct in either byte order, or a view of a ByteBuffer.
     *
     * @param name the tensor's name
     * @param values the new parameters; exactly the tensor's size must remain
     * @throws IllegalArgumentException for an unknown tensor or a remaining count other than its
     *         size
     */
    public void writeParameters(String name, FloatBuffer values) {
        transfer(name, -1, values.duplicate(), true);
    }

    /**
     * Copies the tensor's parameters into {@code out} (exactly its size).
     *
     * @param name the tensor's name
     * @param out where the parameters go
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     */
    public void readParameters(String name, float[] out) {
        transfer(name, -1, FloatBuffer.wrap(out), false);
    }

    /**
     * Copies the parameters into {@code out} from its position; the position is kept.
     *
     * @param name the tensor's name
     * @param out where the parameters go; exactly the tensor's size must remain
     * @throws IllegalArgumentException for an unknown tensor or a remaining count other than its
     *         size
     */
    public void readParameters(String name, FloatBuffer out) {
        transfer(name, -1, out.duplicate(), false);
    }

    /**
     * Replaces the tensor's gradient; the tensor then takes part in the next step.
     *
     * @param name the tensor's name
     * @param values the gradient (exactly the tensor's size)
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     */
    public synchronized void writeGradients(String name, float[] values) {
        writeGradients(name, FloatBuffer.wrap(values));
    }

    /**
     * Replaces the tensor's gradient from {@code values}' position to its limit; the position is
     * kept. The tensor then takes part in the next step.
     *
     * @param name the tensor's name
     * @param values the gradient; exactly the tensor's size must remain
     * @throws IllegalArgumentException for an unknown tensor or a remaining count other than its
     *         size
     */
    public synchronized void writeGradients(String name, FloatBuffer values) {
        transfer(name, Engine.GRADIENTS, values.duplicate(), true);
        Tensor t = tensor(name);
        t.hasGradient = true;
        t.clipped = false;
        t.unscale = 1f;
    }

    /**
     * The tensor's gradient as a buffer you write (and may read) in place, with no copy: for
     * example {@code set.gradientBuffer("fc1.weight").put(gradient)}, or a backward pass of your
     * own writing into it. The tensor then takes part in the next step, as after
     * {@link #writeGradients(String, FloatBuffer)}; a clipping or unscaling pending on the old
     * gradient is written into it first, so that the buffer holds what a step would read.
     *
     * <p>On a device that shares memory with the host ({@link DeviceInfo#hostUnifiedMemory()}:
     * CPUs such as POCL, integrated GPUs), an fp32 group keeps its gradients in Java memory the
     * set owns, under its device buffer; on the CPU reference set the buffer wraps its array.
     * The first call for a group after the device used its gradients maps them for the host,
     * which waits until the steps and other commands enqueued before are done; later calls
     * return views of the same mapping. The next use of the gradients on the device (a step,
     * {@link #clipGradNorm}, {@link #clipGradValue}, {@link #accumulateGradients},
     * {@link #readGradients}, {@link #writeGradients}, {@link #gradientSlice}, {@link #zeroGrad},
     * a {@link GradScaler}'s unscaling) ends the mapping. So: call this method again in each
     * round, after the step, rather than keep a buffer from an earlier one; a buffer written
     * while the device works on the gradients gives undefined gradients. A buffer never points
     * into freed memory: it keeps its memory alive, even after {@link #close}, and the garbage
     * collector frees that memory once neither the set nor any buffer of it is reachable (a set
     * that handed out none frees it at close).
     *
     * <p>The set must be built with {@link Builder#hostGradients(boolean) hostGradients(true)}.
     * Groups whose gradients cannot be shared so throw {@link IllegalStateException}: 16-bit
     * groups (bf16 and fp16 gradients do not fit a FloatBuffer), and on a device that does not
     * share memory with the host (a discrete GPU) every group. Use {@link #writeGradients} or a
     * kernel writing into {@link #gradientSlice} there.
     *
     * @param name the tensor's name
     * @return the tensor's gradient: exactly its size, native byte order, position 0
     * @throws IllegalArgumentException for an unknown tensor
     * @throws IllegalStateException when the tensor's group cannot hand out its gradients (the
     *     message says why), or the set is closed
     */
    public synchronized FloatBuffer gradientBuffer(String name) {
        ensureOpen();
        Tensor t = tensor(name);
        Engine engine = engines.get(t.group);
        String why = !hostGradients ? "the set was built without Builder.hostGradients(true)"
                : engine.gradientViewUnavailable();
        if (why != null) {
            throw new IllegalStateException(name + ": the gradients of group " + t.group
                    + " cannot be written in place: " + why + "; use writeGradients, or write them on the device"
                    + " through gradientSlice");
        }
        settle(t);
        FloatBuffer view = engine.gradientView(t.offset, t.size);
        t.hasGradient = true;
        t.clipped = false;
        t.unscale = 1f;
        return view;
    }

    /**
     * Copies the tensor's gradient into {@code out} (exactly its size), as the step would read
     * it: a clipping since it was written is applied first.
     *
     * @param name the tensor's name
     * @param out where the gradient goes
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     */
    public synchronized void readGradients(String name, float[] out) {
        settle(tensor(name));
        transfer(name, Engine.GRADIENTS, FloatBuffer.wrap(out), false);
    }

    /**
     * Adds {@code values} to the tensor's gradient, as {@code p.grad += g} (or
     * {@code p.grad = g} when it has none): micro-batches summed in place, in order. The tensor
     * then takes part in the next step. In a 16-bit group each sum is taken in fp32 and rounded
     * once to the group's type, as PyTorch's in-place add of an fp32 tensor to a bf16 or fp16
     * {@code .grad} (round {@code values} first to add a 16-bit micro-batch gradient).
     *
     * @param name the tensor's name
     * @param values the gradient to add (exactly the tensor's size)
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     */
    public void accumulateGradients(String name, float[] values) {
        accumulateGradients(name, FloatBuffer.wrap(values));
    }

    /**
     * Adds the floats from {@code values}' position to its limit to the tensor's gradient (see
     * {@link #accumulateGradients(String, float[])}); the position is kept.
     *
     * @param name the tensor's name
     * @param values the gradient to add; exactly the tensor's size must remain
     * @throws IllegalArgumentException for an unknown tensor or a remaining count other than its
     *         size
     */
    public synchronized void accumulateGradients(String name, FloatBuffer values) {
        ensureOpen();
        Tensor t = tensor(name);
        if (!t.hasGradient) {
            writeGradients(name, values);
            return;
        }
        checkCount(t, values.remaining());
        settle(t);
        kernels.addGradients(segment(t), values.duplicate());
    }

    /**
     * Adds a gradient that is on the device to the tensor's gradient (see
     * {@link #accumulateGradients(String, float[])}): {@code source} is a range of floats of a
     * buffer of this set's device context, such as a backward pass of your own wrote. Enqueued,
     * in order with the steps.
     *
     * @param name the tensor's name
     * @param source where the gradient to add lives: exactly the tensor's size, of fp32 or of the
     *     gradients' own type, at an offset that is a multiple of the element size
     * @throws IllegalArgumentException for an unknown tensor, a type other than fp32 or the
     *     gradients', a size other than the tensor's or a misaligned offset
     * @throws IllegalStateException on the CPU reference set, which has no device buffers
     */
    public synchronized void accumulateGradients(String name, DeviceSlice source) {
        ensureOpen();
        Objects.requireNonNull(source, "source");
        if (device == null) {
            throw new IllegalStateException("the CPU reference set has no device buffers");
        }
        Tensor t = tensor(name);
        Dtype type = precisions.get(t.group).dtype();
        if (source.dtype() != Dtype.FP32 && source.dtype() != type) {
            throw new IllegalArgumentException(name + ": cannot add a " + source.dtype().cliName() + " source to "
                    + type.cliName() + " gradients (fp32 or " + type.cliName() + ")");
        }
        int bytes = source.dtype().bytes();
        if (source.sizeBytes() != (long) bytes * t.size || source.offsetBytes() % bytes != 0
                || source.offsetBytes() < 0 || (t.size > 0 && source.buffer() == null)) {
            throw new IllegalArgumentException(name + ": the source must be " + (long) bytes * t.size
                    + " bytes of a buffer at an offset that is a multiple of " + bytes + ", not "
                    + source.sizeBytes() + " bytes at " + source.offsetBytes());
        }
        if (!t.hasGradient) {
            engines.get(t.group).fill(Engine.GRADIENTS, t.offset, t.size, 0f);
            t.hasGradient = true;
            t.clipped = false;
            t.unscale = 1f;
        }
        settle(t);
        if (t.size > 0) {
            kernels.addGradients(segment(t), source.buffer(), source.offsetBytes() / bytes, source.dtype());
        }
    }

    /**
     * Clips the gradient norm of every tensor that takes part in steps (not frozen, with a
     * gradient), as {@code torch.nn.utils.clip_grad_norm_(params, maxNorm)} with the Euclidean
     * norm. See {@link #clipGradNorm(double, double, boolean, String...)}.
     *
     * @param maxNorm the largest norm the gradients keep, &gt;= 0
     * @throws IllegalArgumentException for a negative or non-finite {@code maxNorm}
     */
    public void clipGradNorm(double maxNorm) {
        clipGradNorm(maxNorm, 2, false);
    }

    /**
     * Clips the gradients of {@code tensors} (none named: every tensor that takes part in steps,
     * that is not frozen and has a gradient) as {@code torch.nn.utils.clip_grad_norm_}: the norm
     * of all their gradients together, as if concatenated into one vector, is computed, and each
     * gradient is multiplied by {@code clip_coef = min(maxNorm / (total_norm + 1e-6), 1)}.
     *
     * <p>On the device, without a read-back: one reduction pass over the gradients leaves the
     * coefficient in device memory, and the step kernels multiply each gradient by it as they
     * read it, so the gradient buffers keep their values until the gradient is read
     * ({@link #readGradients}, {@link #gradientSlice}), accumulated into or clipped again, when
     * the scaling is written into them. A step sees exactly what PyTorch's would; a step
     * repeated without new gradients reuses the clipped ones, as PyTorch's does. The reduction's
     * order is fixed by the tensors' sizes alone (chunks of 4096 elements, see
     * {@code kernels/reduce.cl}), so the same gradients give the same norm on every run and on
     * the CPU reference. {@link #gradNorm()} reads the total norm back.
     *
     * <p>A total norm that is not finite is handled as PyTorch does without
     * {@code error_if_nonfinite}: the coefficient (0 or NaN) is applied. With
     * {@code errorIfNonfinite}, the norm is read back (a wait) and a non-finite one throws
     * before anything is scaled.
     *
     * @param maxNorm the largest norm the gradients keep, &gt;= 0 (PyTorch does not check;
     *     a negative value would flip the gradients)
     * @param normType 2, 1 or {@link Double#POSITIVE_INFINITY} (the largest magnitude)
     * @param errorIfNonfinite whether a non-finite total norm throws
     * @param tensors the tensors to clip; none for every tensor that takes part in steps
     * @throws IllegalArgumentException for an invalid {@code maxNorm} or {@code normType}, or
     *     an unknown tensor
     * @throws NonFiniteNormException with {@code errorIfNonfinite}, when the norm is not finite
     */
    public synchronized void clipGradNorm(double maxNorm, double normType, boolean errorIfNonfinite,
                                          String... tensors) {
        ensureOpen();
        if (!(maxNorm >= 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("invalid max_norm: " + maxNorm + " (must be >= 0 and finite)");
        }
        int norm = normCode(normType);
        List<Tensor> selected = selection(tensors);
        // The coefficient has one place on the device: an earlier clipping goes into the
        // gradients before a new one is computed.
        for (Tensor t : this.tensors) {
            if (t.clipped) {
                settle(t);
            }
        }
        kernels.norm(selected.stream().map(this::segment).toList(), norm, (float) maxNorm, commonUnscale(selected));
        if (errorIfNonfinite) {
            float total = kernels.result()[1];
            if (!Float.isFinite(total)) {
                throw new NonFiniteNormException("the total norm of order " + normType + " of the gradients is "
                        + total + ", so they cannot be clipped (error_if_nonfinite=True)");
            }
        }
        for (Tensor t : selected) {
            t.clipped = true;
        }
        gradNormComputed = true;
    }

    /**
     * The total norm of the last {@link #clipGradNorm} (what PyTorch's returns): read back from
     * the device, so it waits for the work queued before it.
     *
     * @return the total norm of the gradients clipped last
     * @throws IllegalStateException before any clipping
     */
    public synchronized float gradNorm() {
        ensureOpen();
        if (!gradNormComputed) {
            throw new IllegalStateException("no gradient norm yet: clipGradNorm computes it");
        }
        return kernels.result()[1];
    }

    /**
     * Starts keeping an averaged copy of every tensor's parameters on the device, as
     * {@code torch.optim.swa_utils.AveragedModel}: {@link #updateAveraged()} after a step updates
     * it, {@link #readAveraged} reads it, and it is part of the state dict and checkpoints.
     *
     * @param averaging EMA with a decay, or SWA's equal weights
     * @throws IllegalStateException if the set averages already
     */
    public synchronized void startAveraging(Averaging averaging) {
        ensureOpen();
        Objects.requireNonNull(averaging, "averaging");
        if (this.averaging != null) {
            throw new IllegalStateException("the set averages its parameters already (" + this.averaging + ")");
        }
        engines.forEach(Engine::allocateAveraged);
        this.averaging = averaging;
        this.averagedCount = 0;
    }

    /**
     * Updates the averaged parameters from the parameters, as {@code update_parameters(model)}:
     * the first update copies them, later ones average (see {@link Averaging}). Every tensor
     * takes part, frozen or not. One launch per group, enqueued.
     *
     * @throws IllegalStateException if the set does not average ({@link #startAveraging})
     */
    public synchronized void updateAveraged() {
        ensureOpen();
        if (averaging == null) {
            throw new IllegalStateException("the set does not average its parameters: call startAveraging first");
        }
        int mode = averagedCount == 0 ? SetKernels.AVERAGE_COPY
                : averaging.ema() ? SetKernels.AVERAGE_EMA : SetKernels.AVERAGE_SWA;
        float weight = averaging.weight(averagedCount);
        for (Engine engine : engines) {
            kernels.average(new SetKernels.Segment(engine, 0, engine.size), mode, weight);
        }
        averagedCount++;
    }

    /**
     * How the set averages its parameters, or null when it does not.
     *
     * @return the averaging, or null
     */
    public synchronized Averaging averaging() {
        return averaging;
    }

    /**
     * The number of {@link #updateAveraged()} calls so far ({@code n_averaged}).
     *
     * @return the count
     */
    public synchronized long averagedCount() {
        return averagedCount;
    }

    /**
     * Copies the tensor's averaged parameters into {@code out} (exactly its size).
     *
     * @param name the tensor's name
     * @param out where the averaged parameters go
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     * @throws IllegalStateException if the set does not average
     */
    public synchronized void readAveraged(String name, float[] out) {
        ensureOpen();
        if (averaging == null) {
            throw new IllegalStateException("the set does not average its parameters: call startAveraging first");
        }
        Tensor t = tensor(name);
        transfer(name, engines.get(t.group).averagedArray(), FloatBuffer.wrap(out), false);
    }

    /**
     * Clamps the gradients of {@code tensors} (none named: every tensor that takes part in steps)
     * to [-clipValue, clipValue] in place, as {@code torch.nn.utils.clip_grad_value_}; NaN stays
     * NaN. One pass over the gradients, on the device.
     *
     * @param clipValue the largest magnitude a gradient keeps, &gt;= 0
     * @param tensors the tensors to clip; none for every tensor that takes part in steps
     * @throws IllegalArgumentException for a negative or NaN {@code clipValue}, or an unknown
     *     tensor
     */
    public synchronized void clipGradValue(double clipValue, String... tensors) {
        ensureOpen();
        if (!(clipValue >= 0)) {
            throw new IllegalArgumentException("invalid clip_value: " + clipValue + " (must be >= 0)");
        }
        for (Tensor t : selection(tensors)) {
            settle(t);
            kernels.clampGradients(segment(t), (float) clipValue);
        }
    }

    private static int normCode(double normType) {
        if (normType == 2) {
            return SetKernels.NORM_L2;
        }
        if (normType == 1) {
            return SetKernels.NORM_L1;
        }
        if (normType == Double.POSITIVE_INFINITY) {
            return SetKernels.NORM_INF;
        }
        throw new IllegalArgumentException("invalid norm_type: " + normType + " (must be 2, 1 or inf)");
    }

    /** The named tensors, or with none every tensor that takes part in steps; each once. */
    private List<Tensor> selection(String... names) {
        if (names.length == 0) {
            return tensors.stream().filter(ParameterSet::active).toList();
        }
        Set<String> seen = new HashSet<>();
        List<Tensor> list = new ArrayList<>();
        for (String name : names) {
            Tensor t = tensor(name);
            if (!seen.add(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' named twice");
            }
            list.add(t);
        }
        return list;
    }

    /** Writes a pending unscale and clip coefficient into the tensor's gradient. */
    private void settle(Tensor t) {
        if (t.clipped || t.unscale != 1f) {
            kernels.scaleGradients(segment(t), t.unscale, t.clipped);
            t.clipped = false;
            t.unscale = 1f;
        }
    }

    /**
     * The unscale factor the tensors' gradients are read with, for a reduction over them all:
     * their common pending one, or (should they differ) 1 after each is written into its gradient.
     */
    private float commonUnscale(List<Tensor> list) {
        float unscale = list.isEmpty() ? 1f : list.get(0).unscale;
        if (list.stream().anyMatch(t -> Float.floatToRawIntBits(t.unscale) != Float.floatToRawIntBits(unscale))) {
            list.forEach(this::settle);
            return 1f;
        }
        return unscale;
    }

    /**
     * The loss scaler's {@code unscale_}: every tensor that takes part in steps is to have its
     * gradient read times {@code inverseScale} (an earlier pending unscale or clip is written
     * into the gradient first), and the gradients so read are checked for Inf and NaN on the
     * device; {@link #gradientsNonFinite()} reads the answer.
     */
    synchronized void unscaleGradients(float inverseScale) {
        ensureOpen();
        List<Tensor> list = selection();
        if (list.isEmpty()) {
            throw new IllegalStateException("no inf checks can be recorded: no tensor of the set takes part in a"
                    + " step (each is frozen or has no gradient)");
        }
        for (Tensor t : list) {
            settle(t);
            t.unscale = inverseScale;
        }
        kernels.checkFinite(list.stream().map(this::segment).toList(), inverseScale);
    }

    /** Whether the last {@link #unscaleGradients} found Inf or NaN: a read of 4 bytes. */
    synchronized boolean gradientsNonFinite() {
        ensureOpen();
        return kernels.nonFinite();
    }

    private SetKernels.Segment segment(Tensor t) {
        return new SetKernels.Segment(engines.get(t.group), t.offset, t.size);
    }

    private static void checkCount(Tensor t, int count) {
        if (count != t.size) {
            throw new IllegalArgumentException(t.name + ": expected " + t.size + " floats, got " + count);
        }
    }

    /**
     * Copies the tensor's state array {@code key} (a PyTorch state key), row-major, into
     * {@code out}.
     *
     * @param name the tensor's name
     * @param key the state key, one of {@link #stateNames(String)}
     * @param out where the state goes (exactly the size of {@link #stateShape})
     * @throws IllegalArgumentException for an unknown tensor or key, a key the tensor does not
     *     keep, or a wrong length
     */
    public synchronized void readState(String name, String key, float[] out) {
        transferState(name, key, FloatBuffer.wrap(out), false);
    }

    /**
     * Replaces the tensor's state array {@code key} (a PyTorch state key) with {@code values},
     * row-major.
     *
     * @param name the tensor's name
     * @param key the state key, one of {@link #stateNames(String)}
     * @param values the new state (exactly the size of {@link #stateShape})
     * @throws IllegalArgumentException for an unknown tensor or key, a key the tensor does not
     *     keep, or a wrong length
     */
    public synchronized void writeState(String name, String key, float[] values) {
        transferState(name, key, FloatBuffer.wrap(values), true);
    }

    private void transferState(String name, String key, FloatBuffer buffer, boolean write) {
        ensureOpen();
        Tensor t = tensor(name);
        Engine engine = engines.get(t.group);
        int array = engine.stateArray(key);
        int[] shape = stateShape(name, key);
        int count = checkedSize(name, shape);
        if (buffer.remaining() != count) {
            throw new IllegalArgumentException(name + ": state " + key + " of shape " + Arrays.toString(shape)
                    + " has " + count + " floats, got " + buffer.remaining());
        }
        int from = t.layout.stateOffsets()[array - 2];
        if (write) {
            engine.write(array, from, buffer);
        } else {
            engine.read(array, from, buffer);
        }
    }

    /**
     * The state keys the tensor keeps: its group's, less those its shape keeps none of
     * (Adafactor keeps {@code row_var} and {@code col_var} for a matrix, {@code variance} for
     * a vector).
     *
     * @param name the tensor's name
     * @return the state keys, possibly empty
     */
    public synchronized List<String> stateNames(String name) {
        Tensor t = tensor(name);
        return configs.get(t.group).stateKeys(t.shape);
    }

    /**
     * The shape of the tensor's state array {@code key}: the tensor's own, or for Adafactor's
     * factors that of {@link OptimizerConfig#stateShape}.
     *
     * @param name the tensor's name
     * @param key the state key, one of {@link #stateNames(String)}
     * @return the state array's dimensions
     * @throws IllegalArgumentException for an unknown tensor or key, or a key the tensor does
     *     not keep
     */
    public synchronized int[] stateShape(String name, String key) {
        Tensor t = tensor(name);
        OptimizerConfig config = configs.get(t.group);
        int[] shape = config.stateShape(key, t.shape);
        if (shape == null) {
            throw new IllegalArgumentException(name + ": " + config.algorithm() + " keeps no " + key
                    + " for a tensor of shape " + Arrays.toString(t.shape) + " (it keeps: "
                    + String.join(", ", config.stateKeys(t.shape)) + ")");
        }
        return shape;
    }

    /**
     * {@code array} is an engine transfer index, or -1 for the parameters: with master weights
     * both master and working copy are written, and the working copy is read.
     */
    private synchronized void transfer(String name, int array, FloatBuffer buffer, boolean write) {
        ensureOpen();
        Tensor t = tensor(name);
        if (buffer.remaining() != t.size) {
            throw new IllegalArgumentException(name + ": expected " + t.size + " floats, got "
                    + buffer.remaining());
        }
        Engine engine = engines.get(t.group);
        int a = array < 0 ? engine.workingArray() : array;
        if (write) {
            if (array < 0 && a != Engine.PARAMETERS) {
                engine.write(Engine.PARAMETERS, t.offset, buffer.duplicate());
            }
            engine.write(a, t.offset, buffer);
        } else {
            engine.read(a, t.offset, buffer);
        }
    }

    /**
     * Copies the tensor's fp32 master weights into {@code out} (exactly its size).
     *
     * @param name the tensor's name
     * @param out where the master weights go
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     * @throws IllegalStateException if the tensor's group keeps no master weights
     */
    public synchronized void readMasterParameters(String name, float[] out) {
        transfer(name, masterArray(name), FloatBuffer.wrap(out), false);
    }

    /**
     * Replaces the tensor's fp32 master weights, and nothing else: the working copy stays as it
     * is until the next step writes it (to set both, use {@link #writeParameters}).
     *
     * @param name the tensor's name
     * @param values the master weights (exactly the tensor's size)
     * @throws IllegalArgumentException for an unknown tensor or a length other than its size
     * @throws IllegalStateException if the tensor's group keeps no master weights
     */
    public synchronized void writeMasterParameters(String name, float[] values) {
        transfer(name, masterArray(name), FloatBuffer.wrap(values), true);
    }

    private int masterArray(String name) {
        Tensor t = tensor(name);
        if (!precisions.get(t.group).masterWeights()) {
            throw new IllegalStateException(name + ": group " + t.group + " is " + precisions.get(t.group)
                    + " and keeps no master weights");
        }
        return Engine.PARAMETERS;
    }

    /**
     * A group's precision: how it stores its parameters and gradients.
     *
     * @param group the group's index
     * @return the precision
     */
    public synchronized Precision precision(int group) {
        return precisions.get(checkGroup(group));
    }

    /**
     * A snapshot of the optimizer state, without the parameters: {@code state_dict()}.
     *
     * @return the snapshot
     */
    public StateDict stateDict() {
        return stateDict(false);
    }

    /**
     * A snapshot of the optimizer state and, with {@code includeParameters}, the parameters.
     *
     * @param includeParameters whether the snapshot holds the parameters too
     * @return the snapshot
     */
    public synchronized StateDict stateDict(boolean includeParameters) {
        ensureOpen();
        List<StateDict.Param> params = new ArrayList<>();
        for (Tensor t : tensors) {
            OptimizerConfig config = configs.get(t.group);
            Map<String, float[]> state = new LinkedHashMap<>();
            for (String key : config.stateKeys(t.shape)) {
                float[] values = new float[checkedSize(t.name, config.stateShape(key, t.shape))];
                readState(t.name, key, values);
                state.put(key, values);
            }
            Map<String, Float> scalars = new LinkedHashMap<>();
            float[] values = t.scalarState != null ? t.scalarState : config.initialScalarState();
            List<String> keys = config.scalarStateNames();
            for (int k = 0; k < keys.size(); k++) {
                scalars.put(keys.get(k), values[k]);
            }
            float[] parameters = null;
            if (includeParameters) {
                parameters = new float[t.size];
                readParameters(t.name, parameters);
            }
            float[] averaged = null;
            if (averaging != null) {
                averaged = new float[t.size];
                readAveraged(t.name, averaged);
            }
            float[] master = null;
            if (precisions.get(t.group).masterWeights()) {
                master = new float[t.size];
                readMasterParameters(t.name, master);
            }
            StateDict.Param param = new StateDict.Param(t.name, t.shape, t.group, t.step, state, scalars, parameters,
                    averaged, master);
            Engine engine = engines.get(t.group);
            if (engine.quantizedTensor(t.offset, t.size)) {
                // The stored form too, which a resumed run must continue from unchanged.
                Map<String, StateDict.Quantized> parts = new LinkedHashMap<>();
                for (String key : state.keySet()) {
                    parts.put(key, engine.readQuantized(engine.stateArray(key) - 2, t.offset));
                }
                param = param.withQuantized(parts);
            }
            params.add(param);
        }
        List<Map<String, Object>> schedulers = new ArrayList<>(pending);
        for (int i = 0; i < schedulers.size(); i++) {
            if (schedulers.get(i) == null) {
                schedulers.set(i, attached.get(i).stateDict());
            }
        }
        if (pending.isEmpty()) {
            attached.forEach(a -> schedulers.add(a.stateDict()));
        }
        return new StateDict(configs, precisions, params, schedulers, averaging, averagedCount);
    }

    /**
     * Loads {@code states} into the attached objects, one each in order (a null entry: one
     * loaded when attached); if one refuses, those loaded before it get their previous state back.
     */
    private void loadAttached(List<Map<String, Object>> states, String what) {
        if (states.size() != attached.size()) {
            throw new IllegalArgumentException(what + " holds " + states.size() + " state(s) of schedulers and "
                    + "scalers " + types(states) + " but " + attached.size() + " are attached to the set "
                    + types(attached.stream().map(Stateful::stateDict).toList())
                    + ": make the same schedulers and GradScalers, in the same order, as the run that saved it");
        }
        List<Map<String, Object>> previous = attached.stream().map(Stateful::stateDict).toList();
        for (int i = 0; i < states.size(); i++) {
            if (states.get(i) == null) {
                continue;
            }
            try {
                attached.get(i).loadStateDict(states.get(i));
            } catch (RuntimeException e) {
                for (int k = 0; k < i; k++) {
                    attached.get(k).loadStateDict(previous.get(k));
                }
                throw new IllegalArgumentException("scheduler " + i + ": " + e.getMessage(), e);
            }
        }
    }

    private List<Object> types(List<Map<String, Object>> states) {
        List<Object> types = new ArrayList<>();
        for (int i = 0; i < states.size(); i++) {
            Map<String, Object> s = states.get(i) != null ? states.get(i) : attached.get(i).stateDict();
            types.add(s.get("type"));
        }
        return types;
    }

    /**
     * Restores a snapshot, as {@code load_state_dict}: every state array, step count and scalar
     * state, each group's hyperparameters, and the parameters if the snapshot has them. It must
     * fit the set: the same tensors (names, shapes, groups) in the same order, and groups of the
     * same algorithms and structural options. Everything is checked before anything changes,
     * and if a transfer fails part way (an OpenCL error) the previous state is written back
     * before the error is thrown.
     *
     * @param state the snapshot to restore
     * @throws IllegalArgumentException saying what does not fit; the set is then unchanged
     */
    public synchronized void loadStateDict(StateDict state) {
        ensureOpen();
        Objects.requireNonNull(state, "state");
        if (state.params().size() != tensors.size() || state.groups().size() != configs.size()) {
            throw new IllegalArgumentException("the state has " + state.params().size() + " tensors in "
                    + state.groups().size() + " groups, the set " + tensors.size() + " in " + configs.size());
        }
        for (int g = 0; g < configs.size(); g++) {
            if (!state.groups().get(g).sameVariant(configs.get(g))) {
                throw new IllegalArgumentException("group " + g + " is " + state.groups().get(g)
                        + " in the state but " + configs.get(g) + " in the set");
            }
            if (!state.precisions().get(g).equals(precisions.get(g))) {
                throw new IllegalArgumentException("group " + g + " is " + state.precisions().get(g)
                        + " in the state but " + precisions.get(g) + " in the set");
            }
        }
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            StateDict.Param p = state.params().get(i);
            if (!p.name().equals(t.name) || !Arrays.equals(p.shape(), t.shape) || p.group() != t.group) {
                throw new IllegalArgumentException("tensor " + i + " is '" + p.name() + "' of shape "
                        + Arrays.toString(p.shape()) + " in group " + p.group() + " in the state but '"
                        + t.name + "' of shape " + Arrays.toString(t.shape) + " in group " + t.group
                        + " in the set");
            }
        }
        if (averaging != null && state.averaging() == null) {
            throw new IllegalArgumentException("the state has no averaged parameters but the set averages ("
                    + averaging + ")");
        }
        boolean adopted = averaging == null && state.averaging() != null;
        if (adopted) {
            // The set takes the snapshot's averaging on, as when it is built from a checkpoint.
            engines.forEach(Engine::allocateAveraged);
            averaging = state.averaging();
        }
        List<Map<String, Object>> schedulers = state.schedulers();
        boolean keepPending = attached.isEmpty() && !schedulers.isEmpty();
        List<Map<String, Object>> previousSchedulers = attached.stream().map(Stateful::stateDict).toList();
        if (!keepPending) {
            // Checks the counts and loads the schedulers, all or none, before any transfer.
            loadAttached(schedulers, "the state");
        }
        // A transfer can still fail (the device): then the set is put back as it was.
        StateDict previous = stateDict(state.hasParameters());
        try {
            apply(state);
            pending = keepPending ? schedulers : List.of();
            pendingConfigs = keepPending ? List.copyOf(state.groups()) : List.of();
        } catch (RuntimeException e) {
            try {
                apply(previous);
                if (adopted) {
                    averaging = null;
                    averagedCount = 0;
                }
                for (int i = 0; i < attached.size(); i++) {
                    attached.get(i).loadStateDict(previousSchedulers.get(i));
                }
            } catch (RuntimeException again) {
                e.addSuppressed(again);
                throw new IllegalStateException("loading a state failed (" + e.getMessage()
                        + ") and so did restoring the previous one: the set is in an unknown state", e);
            }
            throw e;
        }
    }

    /** Writes every array of a checked snapshot, then the counters and hyperparameters. */
    private void apply(StateDict state) {
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            StateDict.Param p = state.params().get(i);
            Engine engine = engines.get(t.group);
            for (String key : p.stateKeys()) {
                StateDict.Quantized q = p.quantized(key);
                if (q != null && engine.quantizedTensor(t.offset, t.size)) {
                    engine.writeQuantized(engine.stateArray(key) - 2, t.offset, q);
                } else {
                    writeState(t.name, key, p.stateArray(key));
                }
            }
            if (p.parameterArray() != null) {
                writeParameters(t.name, p.parameterArray());
            }
            if (p.masterArray() != null) {
                if (p.parameterArray() == null) {
                    // Without the working copy, it is made from the master weights, as a step would.
                    writeParameters(t.name, p.masterArray());
                } else {
                    writeMasterParameters(t.name, p.masterArray());
                }
            }
            if (p.averagedArray() != null) {
                transfer(t.name, engines.get(t.group).averagedArray(), FloatBuffer.wrap(p.averagedArray()), true);
            }
        }
        averaging = state.averaging();
        averagedCount = state.averagedCount();
        for (int i = 0; i < tensors.size(); i++) {
            StateDict.Param p = state.params().get(i);
            tensors.get(i).step = p.step();
            tensors.get(i).scalarState = scalarState(state.groups().get(p.group()), p);
        }
        for (int g = 0; g < configs.size(); g++) {
            configs.set(g, state.groups().get(g));
        }
    }

    /**
     * A snapshot's scalar state as a tensor holds it: none before the first step (the first step
     * starts from the configuration then, as PyTorch's lazily created state does), else the
     * values in the algorithm's order.
     */
    private static float[] scalarState(OptimizerConfig config, StateDict.Param p) {
        if (p.step() == 0) {
            return null;
        }
        List<String> keys = config.scalarStateNames();
        float[] values = new float[keys.size()];
        for (int k = 0; k < values.length; k++) {
            values[k] = p.scalarState().get(keys.get(k));
        }
        return values;
    }

    /**
     * Where a tensor's data lives on the device, for kernels of your own on the same context
     * ({@link Device#context()}) and queue ({@link Device#queue()}): a byte range of a buffer
     * the set owns, of elements of {@code dtype}. The buffer is null for an empty tensor.
     *
     * @param buffer the buffer, owned by the set
     * @param offsetBytes where the tensor starts in it
     * @param sizeBytes the tensor's size in bytes
     * @param dtype the type of its elements
     */
    public record DeviceSlice(cl_mem buffer, long offsetBytes, long sizeBytes, Dtype dtype) {
        /**
         * A slice of fp32 elements.
         *
         * @param buffer the buffer
         * @param offsetBytes where the tensor starts in it
         * @param sizeBytes the tensor's size in bytes
         */
        public DeviceSlice(cl_mem buffer, long offsetBytes, long sizeBytes) {
            this(buffer, offsetBytes, sizeBytes, Dtype.FP32);
        }

        /**
         * Checks the type.
         *
         * @param buffer the buffer
         * @param offsetBytes where the tensor starts in it
         * @param sizeBytes the tensor's size in bytes
         * @param dtype the type of its elements
         */
        public DeviceSlice {
            Objects.requireNonNull(dtype, "dtype");
        }
    }

    /**
     * The tensor's gradient on the device; call {@link #markGradient} after writing it there.
     *
     * @param name the tensor's name
     * @return where the gradient lives
     * @throws IllegalStateException on the CPU reference set, which has no device buffers
     */
    public synchronized DeviceSlice gradientSlice(String name) {
        // What the caller finds there must be what a step would use.
        if (device != null) {
            settle(tensor(name));
        }
        return slice(name, Engine.GRADIENTS);
    }

    /**
     * The tensor's parameters on the device, for a forward pass that reads them in place: the
     * 16-bit working copy in a group with master weights.
     *
     * @param name the tensor's name
     * @return where the parameters live
     * @throws IllegalStateException on the CPU reference set, which has no device buffers
     */
    public synchronized DeviceSlice parameterSlice(String name) {
        ensureOpen();
        return slice(name, engines.get(tensor(name).group).workingArray());
    }

    private synchronized DeviceSlice slice(String name, int array) {
        ensureOpen();
        if (device == null) {
            throw new IllegalStateException("the CPU reference set has no device buffers");
        }
        Tensor t = tensor(name);
        Engine engine = engines.get(t.group);
        Dtype type = engine.dtype(array);
        return new DeviceSlice(((ClEngine) engine).buffer(array), (long) type.bytes() * t.offset,
                (long) type.bytes() * t.size, type);
    }

    private Tensor tensor(String name) {
        Tensor t = byName.get(Objects.requireNonNull(name, "name"));
        if (t == null) {
            throw new IllegalArgumentException("unknown tensor '" + name + "'");
        }
        return t;
    }

    private int checkGroup(int group) {
        if (group < 0 || group >= configs.size()) {
            throw new IllegalArgumentException("invalid group " + group + " (the set has "
                    + configs.size() + ")");
        }
        return group;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this parameter set is closed");
        }
    }

    /** Releases every group's device memory, waiting for a step running in another thread. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            closeEngines();
        }
    }

    private void closeEngines() {
        Closer closer = new Closer();
        engines.forEach(closer::add);
        closer.add(kernels);
        closer.close();
    }

    private static int checkedSize(String name, int[] shape) {
        long count = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': invalid shape "
                        + Arrays.toString(shape) + " (dimensions must be >= 0)");
            }
            count *= d;
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                        + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        return (int) count;
    }

    /** Adds groups, each followed by its tensors. */
    public static final class Builder {
        private final StateDict initial;
        private final List<OptimizerConfig> configs = new ArrayList<>();
        private final List<Precision> precisions = new ArrayList<>();
        private final List<List<TensorSpec>> tensors = new ArrayList<>();
        private final List<Integer> sizes = new ArrayList<>();
        private final Set<String> names = new HashSet<>();

        private EngineFactory engineFactory = DEFAULT_ENGINES;
        private boolean hostGradients;
        private long workGroupSize;

        private Builder(StateDict initial) {
            this.initial = initial;
        }

        /**
         * Whether the set's fp32 groups keep their gradients where {@link #gradientBuffer} can
         * hand them out for writing in place (default false): on a device that shares memory
         * with the host, in Java memory the set owns, under the device buffers
         * ({@code CL_MEM_USE_HOST_PTR}); that memory returns to the system when the set is closed
         * and no buffer handed out is reachable any more.
         *
         * @param value true to allow {@link #gradientBuffer}
         * @return this builder
         */
        public Builder hostGradients(boolean value) {
            this.hostGradients = value;
            return this;
        }

        /**
         * The work-group size of every group's step kernel (default 0: the size {@code clopt tune}
         * measured for the kernel on this device, else the rule of 4096 on CPUs and 256
         * elsewhere). For tuning and experiments; results do not depend on it. Kernels of
         * several passes (lamb, adafactor) and int8 state keep their own shapes.
         *
         * @param size the work-group size, at least 1 and at most what the kernel allows
         *     (checked when a group is made), or 0
         * @return this builder
         * @throws IllegalArgumentException for a negative size
         */
        public Builder workGroupSize(long size) {
            if (size < 0) {
                throw new IllegalArgumentException("invalid work-group size: " + size + " (must be >= 1, or 0 for the "
                        + "tuned or default size)");
            }
            this.workGroupSize = size;
            return this;
        }

        /** Another way to make engines, for tests of failures the real ones cannot be made to show. */
        Builder engines(EngineFactory factory) {
            this.engineFactory = factory;
            return this;
        }

        /**
         * Starts a group with these hyperparameters; the tensors added next belong to it.
         *
         * @param config the group's hyperparameters
         * @return this builder
         */
        public Builder group(OptimizerConfig config) {
            return group(config, Precision.FP32);
        }

        /**
         * Starts a group with these hyperparameters and this precision; the tensors added next
         * belong to it.
         *
         * @param config the group's hyperparameters
         * @param precision how the group stores its parameters and gradients
         * @return this builder
         */
        public Builder group(OptimizerConfig config, Precision precision) {
            configs.add(Objects.requireNonNull(config, "config"));
            precisions.add(Objects.requireNonNull(precision, "precision"));
            tensors.add(new ArrayList<>());
            sizes.add(0);
            return this;
        }

        /**
         * Adds a tensor of this shape (any dimension may be 0) to the current group.
         *
         * @param name the tensor's name, unique in the set
         * @param shape the tensor's dimensions
         * @return this builder
         * @throws IllegalStateException before any group
         * @throws IllegalArgumentException for a duplicate name, a negative dimension, or a group
         *         over {@link Integer#MAX_VALUE} elements
         */
        public Builder tensor(String name, int... shape) {
            Objects.requireNonNull(name, "name");
            if (configs.isEmpty()) {
                throw new IllegalStateException("tensor '" + name + "' added before any group");
            }
            if (names.contains(name)) {
                throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
            }
            int size = checkedSize(name, shape);
            int group = tensors.size() - 1;
            if ((long) sizes.get(group) + size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor '" + name + "': group " + group
                        + " would exceed " + Integer.MAX_VALUE + " elements");
            }
            tensors.get(group).add(new TensorSpec(name, shape));
            sizes.set(group, sizes.get(group) + size);
            names.add(name);
            return this;
        }

        /**
         * Allocates the groups' buffers on {@code device} (and loads the initial state, if any).
         *
         * @param device the device to allocate on
         * @return the new set, to close when done
         * @throws IllegalStateException without any group
         */
        public ParameterSet build(Device device) {
            return build(Objects.requireNonNull(device, "device"), true);
        }

        /**
         * The same set on the CPU reference path.
         *
         * @return the new set
         * @throws IllegalStateException without any group
         */
        public ParameterSet buildReference() {
            return build(null, false);
        }

        private ParameterSet build(Device device, boolean onDevice) {
            if (configs.isEmpty()) {
                throw new IllegalStateException("a parameter set needs at least one group");
            }
            ParameterSet set = new ParameterSet(onDevice ? device : null, engineFactory, hostGradients, workGroupSize);
            try {
                for (int g = 0; g < configs.size(); g++) {
                    set.addGroup(configs.get(g), precisions.get(g), tensors.get(g).toArray(TensorSpec[]::new));
                }
                if (initial != null) {
                    set.loadStateDict(initial);
                }
                return set;
            } catch (RuntimeException e) {
                set.close();
                throw e;
            }
        }
    }
}

package org.clopt;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jocl.cl_mem;

/**
 * Many named tensors in parameter groups, as PyTorch's {@code param_groups}: each group has its
 * own hyperparameters, and its tensors' parameters, gradients and state arrays are laid out
 * one after another in flat buffers, so that a step of a group is one launch (or a few: see
 * below), whatever the number of tensors.
 *
 * <pre>{@code
 * try (ParameterSet set = ParameterSet.builder()
 *         .group(AdamW.builder().lr(1e-3).build()).tensor("fc1.weight", 256, 784).tensor("fc2.weight", 10, 256)
 *         .group(AdamW.builder().lr(1e-3).weightDecay(0).build()).tensor("fc1.bias", 256).tensor("fc2.bias", 10)
 *         .build(device)) {
 *     set.writeParameters("fc1.weight", initial);
 *     ...
 *     set.writeGradients("fc1.weight", gradient);   // or write into gradientSlice(...) on the device
 *     set.step();
 * }
 * }</pre>
 *
 * <p>As in PyTorch, each tensor has its own step count, advanced only by steps it takes part in.
 * A tensor sits a step out when it is frozen ({@code requires_grad=False}) or has no gradient
 * ({@code grad is None}): its parameters and state stay bit for bit as they were. A step
 * launches once per run of consecutive tensors that take part and share a step count, so one
 * launch per group in the usual case. Tensors start with a gradient of zeros;
 * {@link #zeroGrad(boolean) zeroGrad(true)} or {@link #clearGradient} remove it until the next
 * write or {@link #markGradient}.
 *
 * <p>Not thread-safe. Close it to release its device memory.
 */
public final class ParameterSet implements AutoCloseable {
    /** A tensor's place: its group and its range in the group's flat arrays. */
    private record Tensor(String name, int[] shape, int group, int offset, int size) {
    }

    private final Device device;
    private final List<Tensor> tensors;
    private final Map<String, Integer> index = new LinkedHashMap<>();
    private final AbstractOptimizer[] groups;
    private final OptimizerConfig[] configs;
    private final long[] steps;
    private final float[] muProducts;
    private final boolean[] frozen;
    private final boolean[] hasGradient;
    private boolean closed;

    private ParameterSet(Device device, List<OptimizerConfig> configs, List<Tensor> tensors,
                         int[] groupSizes) {
        this.device = device;
        this.tensors = List.copyOf(tensors);
        for (int i = 0; i < tensors.size(); i++) {
            index.put(tensors.get(i).name(), i);
        }
        this.configs = configs.toArray(OptimizerConfig[]::new);
        this.groups = new AbstractOptimizer[configs.size()];
        try {
            for (int g = 0; g < groups.length; g++) {
                groups[g] = device == null ? new ReferenceOptimizer(configs.get(g), groupSizes[g])
                        : new ClOptimizer(device, configs.get(g), groupSizes[g]);
            }
        } catch (RuntimeException e) {
            closeGroups();
            throw e;
        }
        steps = new long[tensors.size()];
        muProducts = new float[tensors.size()];
        Arrays.fill(muProducts, 1f);
        frozen = new boolean[tensors.size()];
        hasGradient = new boolean[tensors.size()];
        Arrays.fill(hasGradient, true);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The tensor names in the order they were added. */
    public List<String> names() {
        return List.copyOf(index.keySet());
    }

    /** A copy of the tensor's shape. */
    public int[] shape(String name) {
        return tensor(name).shape().clone();
    }

    /** Number of elements of the tensor. */
    public int size(String name) {
        return tensor(name).size();
    }

    public int groupCount() {
        return groups.length;
    }

    /** The group the tensor belongs to, counted from 0 in the order groups were added. */
    public int group(String name) {
        return tensor(name).group();
    }

    /** The group's hyperparameters now. */
    public OptimizerConfig config(int group) {
        return configs[checkGroup(group)];
    }

    /**
     * Replaces a group's hyperparameters from the next step on, as a schedule does. The new
     * configuration must keep the algorithm and its structural options (the state it keeps and
     * the kernel variant): learning rate, betas, weight decay and the like may change freely.
     */
    public void setConfig(int group, OptimizerConfig config) {
        ensureOpen();
        OptimizerConfig old = configs[checkGroup(group)];
        Objects.requireNonNull(config, "config");
        if (!config.algorithm().equals(old.algorithm()) || !config.stateNames().equals(old.stateNames())
                || !config.buildOptions().equals(old.buildOptions())) {
            throw new IllegalArgumentException("group " + group + ": cannot change " + old
                    + " into " + config + " (the algorithm and its structural options, such as "
                    + "amsgrad, centered, nesterov or maximize, are fixed when the set is built)");
        }
        configs[group] = config;
    }

    /** The tensor's step count (PyTorch's {@code state['step']}). */
    public long stepCount(String name) {
        return steps[indexOf(name)];
    }

    /** A frozen tensor ({@code requires_grad=False}) takes no part in steps until unfrozen. */
    public void setFrozen(String name, boolean value) {
        frozen[indexOf(name)] = value;
    }

    /** Removes the tensor's gradient ({@code grad = None}): it sits out steps until one is written. */
    public void clearGradient(String name) {
        hasGradient[indexOf(name)] = false;
    }

    /** Says a gradient is present again after one was written on the device into {@link #gradientSlice}. */
    public void markGradient(String name) {
        hasGradient[indexOf(name)] = true;
    }

    /** Zeroes every gradient, as {@code zero_grad(set_to_none=False)}. */
    public void zeroGrad() {
        zeroGrad(false);
    }

    /**
     * With {@code setToNone}, removes every gradient (the tensors sit out steps until a gradient
     * is written); otherwise fills them with zeros, which still take part in steps.
     */
    public void zeroGrad(boolean setToNone) {
        ensureOpen();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (setToNone) {
                hasGradient[i] = false;
            } else {
                groups[t.group()].fill(AbstractOptimizer.GRADIENTS, t.offset(), t.size(), 0f);
            }
        }
    }

    /** One step of every group, for each tensor that takes part. */
    public void step() {
        ensureOpen();
        long[] nextSteps = steps.clone();
        float[] nextMu = muProducts.clone();
        for (int g = 0; g < groups.length; g++) {
            OptimizerConfig config = configs[g];
            int i = 0;
            while (i < tensors.size()) {
                if (tensors.get(i).group() != g || !active(i)) {
                    i++;
                    continue;
                }
                // A run: consecutive tensors of this group that take part with equal counters.
                int j = i + 1;
                while (j < tensors.size() && tensors.get(j).group() == g && active(j)
                        && steps[j] == steps[i] && muProducts[j] == muProducts[i]) {
                    j++;
                }
                long t = steps[i] + 1;
                float mu = config.nextMuProduct(t, muProducts[i]);
                Tensor last = tensors.get(j - 1);
                groups[g].run(config, config.scalars(t, mu), tensors.get(i).offset(),
                        last.offset() + last.size());
                for (int k = i; k < j; k++) {
                    nextSteps[k] = t;
                    nextMu[k] = mu;
                }
                i = j;
            }
        }
        System.arraycopy(nextSteps, 0, steps, 0, steps.length);
        System.arraycopy(nextMu, 0, muProducts, 0, muProducts.length);
    }

    private boolean active(int i) {
        return !frozen[i] && hasGradient[i];
    }

    /** Replaces the tensor's parameters with {@code values} (exactly its size). */
    public void writeParameters(String name, float[] values) {
        transfer(name, AbstractOptimizer.PARAMETERS, FloatBuffer.wrap(values), true);
    }

    /** Replaces the tensor's parameters from {@code values}' position to its limit; the position is kept. */
    public void writeParameters(String name, FloatBuffer values) {
        transfer(name, AbstractOptimizer.PARAMETERS, values.duplicate(), true);
    }

    public void readParameters(String name, float[] out) {
        transfer(name, AbstractOptimizer.PARAMETERS, FloatBuffer.wrap(out), false);
    }

    /** Copies the parameters into {@code out} from its position; the position is kept. */
    public void readParameters(String name, FloatBuffer out) {
        transfer(name, AbstractOptimizer.PARAMETERS, out.duplicate(), false);
    }

    /** Replaces the tensor's gradient; the tensor then takes part in the next step. */
    public void writeGradients(String name, float[] values) {
        transfer(name, AbstractOptimizer.GRADIENTS, FloatBuffer.wrap(values), true);
        hasGradient[indexOf(name)] = true;
    }

    public void writeGradients(String name, FloatBuffer values) {
        transfer(name, AbstractOptimizer.GRADIENTS, values.duplicate(), true);
        hasGradient[indexOf(name)] = true;
    }

    /** Copies the tensor's part of state array {@code key} (a PyTorch state key) into {@code out}. */
    public void readState(String name, String key, float[] out) {
        Tensor t = tensor(name);
        transfer(name, groups[t.group()].stateArray(key), FloatBuffer.wrap(out), false);
    }

    public void writeState(String name, String key, float[] values) {
        Tensor t = tensor(name);
        transfer(name, groups[t.group()].stateArray(key), FloatBuffer.wrap(values), true);
    }

    /** The state keys of the tensor's group. */
    public List<String> stateNames(String name) {
        return configs[tensor(name).group()].stateNames();
    }

    private void transfer(String name, int array, FloatBuffer buffer, boolean write) {
        ensureOpen();
        Tensor t = tensor(name);
        if (buffer.remaining() != t.size()) {
            throw new IllegalArgumentException(name + ": expected " + t.size() + " floats, got "
                    + buffer.remaining());
        }
        if (write) {
            groups[t.group()].write(array, t.offset(), buffer);
        } else {
            groups[t.group()].read(array, t.offset(), buffer);
        }
    }

    /**
     * Where a tensor's data lives on the device, for kernels of your own on the same context
     * ({@link Device#context()}) and queue ({@link Device#queue()}): a byte range of a buffer
     * the set owns. The buffer is null for an empty tensor.
     */
    public record DeviceSlice(cl_mem buffer, long offsetBytes, long sizeBytes) {
    }

    /** The tensor's gradient on the device; call {@link #markGradient} after writing it there. */
    public DeviceSlice gradientSlice(String name) {
        return slice(name, AbstractOptimizer.GRADIENTS);
    }

    /** The tensor's parameters on the device, for a forward pass that reads them in place. */
    public DeviceSlice parameterSlice(String name) {
        return slice(name, AbstractOptimizer.PARAMETERS);
    }

    private DeviceSlice slice(String name, int array) {
        ensureOpen();
        if (device == null) {
            throw new IllegalStateException("the CPU reference set has no device buffers");
        }
        Tensor t = tensor(name);
        return new DeviceSlice(((ClOptimizer) groups[t.group()]).buffer(array), 4L * t.offset(),
                4L * t.size());
    }

    /** NAdam's running product of momentum coefficients for the tensor. */
    float muProduct(String name) {
        return muProducts[indexOf(name)];
    }

    /** Sets every tensor's counters and every group's hyperparameters, as a checkpoint had them. */
    void restoreCounters(long[] stepCounts, float[] mu, OptimizerConfig[] groupConfigs) {
        System.arraycopy(stepCounts, 0, steps, 0, steps.length);
        System.arraycopy(mu, 0, muProducts, 0, muProducts.length);
        System.arraycopy(groupConfigs, 0, configs, 0, configs.length);
    }

    /** The engine of a group (bench reaches its launches through it). */
    AbstractOptimizer engine(int group) {
        return groups[checkGroup(group)];
    }

    private Tensor tensor(String name) {
        return tensors.get(indexOf(name));
    }

    private int indexOf(String name) {
        Integer i = index.get(name);
        if (i == null) {
            throw new IllegalArgumentException("unknown tensor '" + name + "'");
        }
        return i;
    }

    private int checkGroup(int group) {
        if (group < 0 || group >= groups.length) {
            throw new IllegalArgumentException("invalid group " + group + " (the set has "
                    + groups.length + ")");
        }
        return group;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this parameter set is closed");
        }
    }

    /** Releases every group's device memory. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            closeGroups();
        }
    }

    private void closeGroups() {
        for (int g = groups.length - 1; g >= 0; g--) {
            if (groups[g] != null) {
                groups[g].close();
            }
        }
    }

    /** Adds groups, each followed by its tensors. */
    public static final class Builder {
        private final List<OptimizerConfig> configs = new ArrayList<>();
        private final List<Tensor> tensors = new ArrayList<>();
        private final List<Integer> sizes = new ArrayList<>();

        private Builder() {
        }

        /** Starts a group with these hyperparameters; the tensors added next belong to it. */
        public Builder group(OptimizerConfig config) {
            configs.add(Objects.requireNonNull(config, "config"));
            sizes.add(0);
            return this;
        }

        /** Adds a tensor of this shape (any dimension may be 0) to the current group. */
        public Builder tensor(String name, int... shape) {
            Objects.requireNonNull(name, "name");
            if (configs.isEmpty()) {
                throw new IllegalStateException("tensor '" + name + "' added before any group");
            }
            for (Tensor t : tensors) {
                if (t.name().equals(name)) {
                    throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
                }
            }
            long count = 1;
            for (int d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor '" + name + "': invalid shape "
                            + Arrays.toString(shape) + " (dimensions must be >= 0)");
                }
                count *= d;
                if (count > Integer.MAX_VALUE) {
                    break;
                }
            }
            int group = configs.size() - 1;
            long offset = sizes.get(group);
            if (count > Integer.MAX_VALUE || offset + count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor '" + name + "': group " + group
                        + " would exceed " + Integer.MAX_VALUE + " elements");
            }
            tensors.add(new Tensor(name, shape.clone(), group, (int) offset, (int) count));
            sizes.set(group, (int) (offset + count));
            return this;
        }

        /** Allocates the groups' buffers on {@code device}. */
        public ParameterSet build(Device device) {
            return new ParameterSet(Objects.requireNonNull(device, "device"), configs, tensors, groupSizes());
        }

        /** The same set on the CPU reference path. */
        public ParameterSet buildReference() {
            return new ParameterSet(null, configs, tensors, groupSizes());
        }

        private int[] groupSizes() {
            if (configs.isEmpty()) {
                throw new IllegalStateException("a parameter set needs at least one group");
            }
            return sizes.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}

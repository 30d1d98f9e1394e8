package org.clopt;

import java.util.List;
import java.util.Map;

/**
 * The hyperparameters of one optimizer algorithm, immutable and validated at construction, with
 * PyTorch {@code torch.optim} names, defaults and semantics.
 *
 * <p>Each subclass documents its update rule; the same equations head its kernel file
 * ({@code kernels/<algorithm>.cl}) and its CPU reference step. Build one with the subclass's
 * builder, or from text with {@link #of(String, Map)}.
 */
public abstract sealed class OptimizerConfig permits Sgd, Adagrad, RmsProp, Adadelta, AdamBase, NAdam {

    OptimizerConfig() {
    }

    /** The names {@link #of} accepts. {@code momentum} and {@code nesterov} are SGD presets. */
    public static final List<String> NAMES = List.of(
            "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam");

    /**
     * Builds a configuration from PyTorch keyword names and their values as text: numbers,
     * {@code true}/{@code false}, and comma-separated pairs ({@code betas=0.9,0.999}).
     *
     * @param optimizer one of {@link #NAMES}
     * @throws IllegalArgumentException naming the optimizer, key or value that is not valid
     */
    public static OptimizerConfig of(String optimizer, Map<String, String> hyperparameters) {
        Settings s = new Settings(optimizer, hyperparameters);
        OptimizerConfig config;
        switch (optimizer) {
            case "sgd":
                config = Sgd.from(s, 0.0, false);
                break;
            case "momentum":
                config = Sgd.from(s, Sgd.PRESET_MOMENTUM, false);
                break;
            case "nesterov":
                config = Sgd.from(s, Sgd.PRESET_MOMENTUM, true);
                break;
            case "adagrad":
                config = Adagrad.from(s);
                break;
            case "rmsprop":
                config = RmsProp.from(s);
                break;
            case "adadelta":
                config = Adadelta.from(s);
                break;
            case "adam":
                config = Adam.from(s);
                break;
            case "adamw":
                config = AdamW.from(s);
                break;
            case "nadam":
                config = NAdam.from(s);
                break;
            default:
                throw new IllegalArgumentException("unknown optimizer: '" + optimizer
                        + "' (known: " + String.join(", ", NAMES) + ")");
        }
        s.finish();
        return config;
    }

    /**
     * The algorithm this configuration runs: the kernel file {@code kernels/<algorithm>.cl} and
     * its kernel {@code <algorithm>_step}. SGD reports {@code sgd}, {@code momentum} or
     * {@code nesterov} according to its options.
     */
    public abstract String algorithm();

    /** The per-element state arrays under their PyTorch state keys, in kernel argument order. */
    public abstract List<String> stateNames();

    /** Every hyperparameter under its PyTorch keyword name, in PyTorch's order. */
    public abstract Map<String, Object> hyperparameters();

    /** Bytes the step reads and writes per element in fp32: the roofline's numerator. */
    public final int bytesPerElement() {
        // p and grad read, p written; each state array read and written.
        return 12 + 8 * stateNames().size();
    }

    @Override
    public String toString() {
        return algorithm() + hyperparameters();
    }

    // ---- what the host needs to run the step; package-private ----

    /** OpenCL build options (-D flags) for this configuration's structural options. */
    abstract String buildOptions();

    /** The value every element of state array {@code index} starts at. */
    float initialState(int index) {
        return 0f;
    }

    /** NAdam's running product of momentum coefficients after step {@code t}; others keep it. */
    float nextMuProduct(long t, float muProduct) {
        return muProduct;
    }

    /**
     * The per-step scalars for step {@code t} (first step is 1), computed in double and rounded
     * to float, in the kernel's argument order.
     */
    abstract float[] scalars(long t, float muProduct);

    /**
     * The CPU reference: one step over elements [from, to), the same equations in the same
     * order as the kernel.
     */
    abstract void referenceStep(float[] p, float[] grad, float[][] state, float[] scalars,
                                int from, int to);

    /** The gradient after the shared prologue: maximize, then L2 weight decay. */
    static float prologue(float grad, float p, boolean maximize, float weightDecay) {
        float g = maximize ? -grad : grad;
        if (weightDecay != 0f) {
            g = g + weightDecay * p;
        }
        return g;
    }

    static String flag(boolean on, String define) {
        return on ? " -D" + define : "";
    }
}

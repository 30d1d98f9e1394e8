package org.clopt;

import java.util.Objects;

/**
 * How a parameter group stores its tensors: the type of the parameters a forward pass reads
 * and of the gradients a backward pass writes, and for 16-bit types where the fp32 values the
 * update works on live. Optimizer state is always fp32, and so is all arithmetic: 16-bit values
 * are widened as a kernel loads them and rounded as it stores them.
 *
 * <ul>
 *   <li>{@link #FP32}: everything fp32, as without mixed precision.</li>
 *   <li>{@code of(BF16)}, {@code of(FP16)}: with <b>master weights</b> (the default, as Apex and
 *       DeepSpeed): the set keeps fp32 master parameters beside the 16-bit working copy; a step
 *       reads the 16-bit gradient, updates master and state in fp32 and writes the working copy
 *       rounded to nearest even, in the same kernel.</li>
 *   <li>{@code of(BF16).withMasterWeights(false)} (or fp16): no fp32 copy; a step widens the
 *       16-bit parameter, updates it in fp32 and rounds it back, to nearest even or, for bf16,
 *       {@link #withStochasticRounding stochastically} (seeded and reproducible). The lean
 *       choice: Adam then moves 22 bytes per element instead of 28.</li>
 * </ul>
 *
 * <p>Every tensor of a group shares its group's precision; put tensors of another type (fp32
 * norms beside bf16 weights, say) in a group of their own.
 *
 * @param dtype the type of the parameters' working copy and of the gradients
 * @param masterWeights whether fp32 master parameters are kept (16-bit types only)
 * @param stochasticRounding whether parameters are rounded stochastically (bf16 without master
 *     weights only)
 * @param seed the seed of stochastic rounding (0 without it)
 */
public record Precision(Dtype dtype, boolean masterWeights, boolean stochasticRounding, long seed) {
    /** fp32 parameters and gradients. */
    public static final Precision FP32 = new Precision(Dtype.FP32, false, false, 0);

    /**
     * Checks the combination.
     *
     * @param dtype the type of the parameters' working copy and of the gradients
     * @param masterWeights whether fp32 master parameters are kept (16-bit types only)
     * @param stochasticRounding whether parameters are rounded stochastically (bf16 without
     *     master weights only)
     * @param seed the seed of stochastic rounding (0 without it)
     * @throws IllegalArgumentException for master weights or stochastic rounding with fp32,
     *     stochastic rounding other than for bf16 without master weights, or a seed without it
     */
    public Precision {
        Objects.requireNonNull(dtype, "dtype");
        if (dtype == Dtype.FP32 && masterWeights) {
            throw new IllegalArgumentException("invalid master_weights for fp32: fp32 parameters are their own"
                    + " master weights (master weights apply to bf16 and fp16)");
        }
        if (stochasticRounding && (dtype != Dtype.BF16 || masterWeights)) {
            throw new IllegalArgumentException("invalid stochastic_rounding for " + dtype.cliName()
                    + (masterWeights ? " with master weights" : "") + ": it applies to bf16 without master weights");
        }
        if (!stochasticRounding && seed != 0) {
            throw new IllegalArgumentException("invalid seed " + seed + ": a seed applies only with stochastic rounding");
        }
    }

    /**
     * A precision of this type: fp32, or 16-bit with master weights.
     *
     * @param dtype the type of parameters and gradients
     * @return the precision
     */
    public static Precision of(Dtype dtype) {
        return dtype == Dtype.FP32 ? FP32 : new Precision(dtype, true, false, 0);
    }

    /**
     * This precision with or without master weights.
     *
     * @param value whether fp32 master weights are kept
     * @return the new precision
     * @throws IllegalArgumentException for master weights with fp32, or without them while
     *     rounding stochastically
     */
    public Precision withMasterWeights(boolean value) {
        return new Precision(dtype, value, stochasticRounding && !value, stochasticRounding && !value ? seed : 0);
    }

    /**
     * This precision with stochastic rounding of the parameters, seeded: the same seed, layout
     * and steps give the same bits on every device and on the CPU reference.
     *
     * @param seed the seed
     * @return the new precision
     * @throws IllegalArgumentException unless this is bf16 without master weights
     */
    public Precision withStochasticRounding(long seed) {
        return new Precision(dtype, masterWeights, true, seed);
    }

    /**
     * The bytes a step of {@code config} moves per element in this precision: the fp32 count,
     * with 2-byte gradients; with master weights, plus the 2-byte working copy written; without
     * them, 2-byte parameters read and written (Adam: 28, 28 and 22; lamb, which reads p twice:
     * 48, 48 and 40).
     *
     * @param config the configuration
     * @return bytes read and written per element per step
     */
    public int bytesPerElement(OptimizerConfig config) {
        int fp32 = config.bytesPerElement();
        // lamb reads p twice (its norms, then its update), every other kernel once.
        int parameterReads = config.perTensorStep() != null ? 2 : 1;
        return !is16Bit() ? fp32 : masterWeights ? fp32 : fp32 - 2 - 2 * parameterReads - 2;
    }

    /**
     * A short name for tables and the command line: {@code fp32}, {@code bf16} and {@code fp16}
     * (with master weights), {@code bf16-no-master}, {@code fp16-no-master} and
     * {@code bf16-stochastic} (without master weights, rounded stochastically with seed 0).
     *
     * @return the name
     */
    public String shortName() {
        return dtype.cliName() + (!is16Bit() || masterWeights ? "" : stochasticRounding ? "-stochastic" : "-no-master");
    }

    /**
     * The precision of a {@link #shortName()}.
     *
     * @param name a short name
     * @return the precision (stochastic rounding with seed 0)
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Precision ofShortName(String name) {
        for (Precision p : SHORT_NAMED) {
            if (p.shortName().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("invalid precision: '" + name + "' (must be one of "
                + String.join(", ", SHORT_NAMED.stream().map(Precision::shortName).toList()) + ")");
    }

    /** Every mode, under its short name. */
    public static final java.util.List<Precision> SHORT_NAMED = java.util.List.of(FP32, of(Dtype.BF16),
            of(Dtype.FP16), of(Dtype.BF16).withMasterWeights(false), of(Dtype.FP16).withMasterWeights(false),
            of(Dtype.BF16).withMasterWeights(false).withStochasticRounding(0));

    /**
     * Whether a group of {@code config} may have this precision: every algorithm may, except
     * that one with per-tensor passes (lamb) rounds its parameters to nearest only: its update
     * is a pass of its own, without the step's key of stochastic rounding; and adafactor keeps
     * fp32 master weights in a 16-bit group.
     *
     * @param config the group's configuration
     * @return true if the combination is supported
     */
    public boolean supports(OptimizerConfig config) {
        return unsupportedReason(config) == null;
    }

    /**
     * Why a group of {@code config} may not have this precision.
     *
     * @param config the group's configuration
     * @return the reason, or null when {@link #supports} it
     */
    public String unsupportedReason(OptimizerConfig config) {
        if (config instanceof Adafactor && is16Bit() && !masterWeights) {
            return "adafactor keeps fp32 master weights in a 16-bit group (drop withMasterWeights(false))";
        }
        if (config.perTensorStep() != null && stochasticRounding) {
            return "its per-tensor update rounds to nearest only (drop withStochasticRounding)";
        }
        return null;
    }

    /** Whether parameters and gradients are 16-bit. */
    boolean is16Bit() {
        return dtype != Dtype.FP32;
    }

    /** The kernels' build options for this precision (common.cl). */
    String buildOptions() {
        // The constructor allows master weights and stochastic rounding only with 16-bit types.
        return gradientOptions() + (masterWeights ? " -DCLOPT_MASTER" : "")
                + (stochasticRounding ? " -DCLOPT_STOCHASTIC" : "");
    }

    /** The build options of kernels that touch only gradients: their type. */
    String gradientOptions() {
        return switch (dtype) {
            case FP32 -> "";
            case BF16 -> " -DCLOPT_BF16";
            case FP16 -> " -DCLOPT_FP16";
        };
    }


    @Override
    public String toString() {
        return dtype.cliName() + (masterWeights ? " with master weights" : "")
                + (stochasticRounding ? " with stochastic rounding (seed " + seed + ")" : "");
    }
}

package org.clopt;

/**
 * How a {@link ParameterSet} averages its parameters over steps, as
 * {@code torch.optim.swa_utils.AveragedModel} does: an exponential moving average
 * ({@code multi_avg_fn=get_ema_multi_avg_fn(decay)}) or the equal-weight average of stochastic
 * weight averaging (the default {@code AveragedModel}). The first update copies the parameters;
 * each later one (n updates before it) computes, in float32 as PyTorch does:
 *
 * <pre>
 *   EMA: avg = lerp(avg, p, 1 - decay)      (torch.lerp: avg + w*(p - avg) for w &lt; 0.5,
 *                                             else p - (1 - w)*(p - avg), each a fused multiply-add)
 *   SWA: avg = avg + (p - avg) / (n + 1)
 * </pre>
 *
 * @param ema true for the exponential moving average, false for SWA's equal weights
 * @param decay the EMA's decay in [0, 1] (how much of the average each update keeps); NaN for SWA
 */
public record Averaging(boolean ema, double decay) {
    /**
     * Checks the decay.
     *
     * @param ema true for the exponential moving average, false for SWA
     * @param decay the EMA's decay in [0, 1]; ignored (NaN) for SWA
     * @throws IllegalArgumentException for an EMA decay outside [0, 1]
     */
    public Averaging {
        if (ema && !(decay >= 0 && decay <= 1)) {
            throw new IllegalArgumentException("invalid decay: " + decay + " (must be in [0, 1])");
        }
        if (!ema) {
            decay = Double.NaN;
        }
    }

    /**
     * The exponential moving average with this decay (PyTorch's {@code get_ema_multi_avg_fn}).
     *
     * @param decay in [0, 1], such as 0.999
     * @return the averaging
     * @throws IllegalArgumentException for a decay outside [0, 1]
     */
    public static Averaging ema(double decay) {
        return new Averaging(true, decay);
    }

    /**
     * The equal-weight average of stochastic weight averaging (PyTorch's default
     * {@code AveragedModel}).
     *
     * @return the averaging
     */
    public static Averaging swa() {
        return new Averaging(false, Double.NaN);
    }

    /** The lerp weight of the kernel: 1 - decay for EMA, n + 1 for SWA after n updates. */
    float weight(long updatesBefore) {
        return ema ? (float) (1 - decay) : (float) (updatesBefore + 1);
    }

    @Override
    public String toString() {
        return ema ? "ema(decay=" + decay + ")" : "swa";
    }
}

package org.clopt.cli;

import org.clopt.ParameterSet;
import picocli.CommandLine.Option;

/** Gradient-norm clipping before each step: torch.nn.utils.clip_grad_norm_. */
final class ClipOptions {
    @Option(names = "--clip-grad-norm", paramLabel = "MAX",
            description = "Clip the gradients' total norm to MAX before each step "
                + "(clip_grad_norm_; on the device, fused into the step).")
    Double maxNorm;

    @Option(names = "--norm-type", paramLabel = "2|1|inf", defaultValue = "2",
            description = "The norm of --clip-grad-norm: 2 (default), 1 or inf.")
    String normType;

    /** Checks the values, so that bad input fails before any work. */
    void check() {
        normType();
        if (maxNorm != null && (!(maxNorm >= 0) || maxNorm.isInfinite())) {
            throw new BadInputException("--clip-grad-norm " + maxNorm + ": must be a finite number >= 0");
        }
    }

    boolean enabled() {
        return maxNorm != null;
    }

    double normType() {
        return switch (normType) {
            case "2", "2.0" -> 2;
            case "1", "1.0" -> 1;
            case "inf", "Infinity" -> Double.POSITIVE_INFINITY;
            default -> throw new BadInputException("--norm-type " + normType + ": must be 2, 1 or inf");
        };
    }

    /** Clips every tensor of the set that takes part in the step, if asked. */
    void apply(ParameterSet set) {
        if (maxNorm != null) {
            set.clipGradNorm(maxNorm, normType(), false);
        }
    }
}

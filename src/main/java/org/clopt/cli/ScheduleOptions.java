package org.clopt.cli;

import java.util.ArrayList;
import java.util.List;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.schedule.LRScheduler;
import org.clopt.schedule.Schedulers;
import picocli.CommandLine.Option;

/** A learning-rate schedule given as PyTorch scheduler specs. */
final class ScheduleOptions {
    @Option(names = "--scheduler", paramLabel = "SPEC",
            description = {"A torch.optim.lr_scheduler class with Python keyword arguments, e.g. "
                + "'CosineAnnealingLR(T_max=90,eta_min=1e-5)'; repeatable: several with "
                + "--scheduler-milestones are a SequentialLR, several without a ChainedScheduler.",
                "Schedulers: ${sys:clopt.scheduler.names}."})
    List<String> specs = new ArrayList<>();

    @Option(names = "--scheduler-milestones", paramLabel = "M", split = ",",
            description = "The steps at which a SequentialLR of the --scheduler specs moves on to the next.")
    List<Integer> milestones = new ArrayList<>();

    static {
        System.setProperty("clopt.scheduler.names", String.join(", ", Schedulers.specNames()));
    }

    boolean enabled() {
        return !specs.isEmpty();
    }

    /**
     * Checks the specs against each optimizer that will run them, on a throwaway set of the CPU
     * reference, so that bad input fails before any work (a schedule that cycles momentum fits
     * adam but not adagrad).
     */
    void check(List<OptimizerConfig> configs) {
        if (!enabled()) {
            if (!milestones.isEmpty()) {
                throw new BadInputException("--scheduler-milestones needs --scheduler specs (several)");
            }
            return;
        }
        for (OptimizerConfig config : configs) {
            try (ParameterSet probe = ParameterSet.builder().group(config).tensor("probe", 1).buildReference()) {
                attach(probe, configs.size() > 1 ? " (with " + config.algorithm() + ")" : "");
            }
        }
    }

    /** The schedule on {@code set}, attached to it; null without --scheduler. */
    LRScheduler attach(ParameterSet set) {
        return attach(set, "");
    }

    private LRScheduler attach(ParameterSet set, String context) {
        if (!enabled()) {
            return null;
        }
        try {
            return Schedulers.of(set, specs, milestones);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--scheduler" + context + ": " + e.getMessage(), e);
        }
    }
}

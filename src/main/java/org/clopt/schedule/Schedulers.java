package org.clopt.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;

/**
 * Schedulers from text, for the command line: a spec is a PyTorch class name and its keyword
 * arguments written as in Python, the optimizer left out:
 *
 * <pre>
 * CosineAnnealingLR(T_max=90, eta_min=1e-5)
 * OneCycleLR(max_lr=0.01, total_steps=1000, anneal_strategy='linear')
 * CyclicLR(base_lr=[1e-4, 1e-5], max_lr=1e-2, mode="triangular2", cycle_momentum=False)
 * MultiStepLR(milestones=[2, 5, 9], gamma=0.5)
 * </pre>
 *
 * <p>Values: ints, floats ({@code 1e-5}, {@code .5}, {@code -3}), {@code True}, {@code False},
 * {@code None}, strings in single or double quotes, lists or tuples. Positional arguments are
 * taken in PyTorch's order ({@code StepLR(30, 0.5)}); {@code last_epoch} may only be -1. An
 * argument PyTorch takes as a float or a list (base_lr, max_lr, momenta, eta_min, min_lr) may be
 * a list of one value per parameter group. Every error is an {@link IllegalArgumentException}
 * with a one-line message that names the class, the argument, the value and what is allowed.
 * LambdaLR and MultiplicativeLR (which need Java functions) and ReduceLROnPlateau (which needs a
 * metric at each step) are made with the Java API only.
 */
public final class Schedulers {
    private static final List<Signature> ALL = List.of(LambdaLR.SIGNATURE, MultiplicativeLR.SIGNATURE,
            StepLR.SIGNATURE, MultiStepLR.SIGNATURE, ConstantLR.SIGNATURE, LinearLR.SIGNATURE,
            ExponentialLR.SIGNATURE, SequentialLR.SIGNATURE, CosineAnnealingLR.SIGNATURE,
            ChainedScheduler.SIGNATURE, ReduceLROnPlateau.SIGNATURE, CyclicLR.SIGNATURE,
            CosineAnnealingWarmRestarts.SIGNATURE, OneCycleLR.SIGNATURE, PolynomialLR.SIGNATURE);
    private static final Map<String, Signature> BY_NAME = ALL.stream()
            .collect(Collectors.toMap(s -> s.name, Function.identity()));

    private Schedulers() {
    }

    /**
     * Every scheduler's class name, in PyTorch's order ({@code lr_scheduler.__all__}).
     *
     * @return the names
     */
    public static List<String> names() {
        return ALL.stream().map(s -> s.name).toList();
    }

    /**
     * The names of the schedulers a spec can make: all but LambdaLR, MultiplicativeLR,
     * ReduceLROnPlateau, SequentialLR and ChainedScheduler (the last two come from several
     * specs, see {@link #of}).
     *
     * @return the names
     */
    public static List<String> specNames() {
        return ALL.stream().filter(s -> s.notAsText == null).map(s -> s.name).toList();
    }

    /**
     * A scheduler's arguments with their defaults, for help texts:
     * {@code StepLR(step_size, gamma=0.1, last_epoch=-1)}.
     *
     * @param name a name of {@link #names()}
     * @return the signature, PyTorch's without the optimizer
     * @throws IllegalArgumentException for an unknown name
     */
    public static String usage(String name) {
        return signature(name).usage();
    }

    private static Signature signature(String name) {
        Signature s = BY_NAME.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown scheduler '" + name + "' (known: "
                    + String.join(", ", names()) + ")");
        }
        return s;
    }

    /**
     * Makes the scheduler a spec describes on {@code set}; it takes its initial step and
     * attaches itself to the set.
     *
     * @param set the parameter set whose groups it schedules
     * @param spec a class name and its arguments, such as {@code StepLR(step_size=30)}
     * @return the scheduler
     * @throws IllegalArgumentException for a spec that does not parse, an unknown class or
     *     argument, a missing or invalid value, or a scheduler text cannot make; the set is then
     *     unchanged
     */
    public static LRScheduler parse(ParameterSet set, String spec) {
        Objects.requireNonNull(set, "set");
        SpecParser.Call call = SpecParser.parse(spec);
        Signature signature = signature(call.name());
        if (signature.notAsText != null) {
            throw new IllegalArgumentException(signature.notAsText);
        }
        Args args = signature.bind(call.positional(), call.keywords());
        args.checkLastEpoch();
        return signature.create(set, args);
    }

    /**
     * The schedule of a command line: one spec makes that scheduler; several specs with
     * milestones make a {@link SequentialLR} of them, several without a
     * {@link ChainedScheduler}.
     *
     * @param set the parameter set whose groups it schedules
     * @param specs one or more specs, as {@link #parse} takes them
     * @param milestones the epochs at which a SequentialLR switches, one fewer than specs; null
     *     or empty for one spec or a ChainedScheduler
     * @return the scheduler attached to the set
     * @throws IllegalArgumentException for no spec, milestones with a single spec, a wrong number
     *     of milestones, or any error of {@link #parse}; the set is then unchanged
     */
    public static LRScheduler of(ParameterSet set, List<String> specs, List<Integer> milestones) {
        Objects.requireNonNull(set, "set");
        if (specs == null || specs.isEmpty()) {
            throw new IllegalArgumentException("no scheduler spec given");
        }
        boolean hasMilestones = milestones != null && !milestones.isEmpty();
        if (specs.size() == 1) {
            if (hasMilestones) {
                throw new IllegalArgumentException("milestones " + milestones + " need two or more scheduler specs "
                        + "(a SequentialLR); got one: " + specs.get(0));
            }
            return parse(set, specs.get(0));
        }
        // The schedulers attach themselves as they are made: undo them all if a later one fails.
        List<OptimizerConfig> configs = new ArrayList<>();
        for (int g = 0; g < set.groupCount(); g++) {
            configs.add(set.config(g));
        }
        double[] initialLrs = InitialLr.snapshot(set);
        List<LRScheduler> made = new ArrayList<>();
        try {
            for (String spec : specs) {
                made.add(parse(set, spec));
            }
            return hasMilestones ? new SequentialLR(set, made, milestones) : new ChainedScheduler(set, made);
        } catch (RuntimeException e) {
            made.forEach(set::detach);
            for (int g = 0; g < configs.size(); g++) {
                set.setConfig(g, configs.get(g));
            }
            InitialLr.restore(set, initialLrs);
            throw e;
        }
    }
}

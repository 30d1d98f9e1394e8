package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.BOOL;
import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.FLOATS;
import static org.clopt.schedule.Signature.Kind.FUNCTION;
import static org.clopt.schedule.Signature.Kind.INT;
import static org.clopt.schedule.Signature.Kind.OPTIONAL_INT;

import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Floats;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.CyclicLR}: cycles each group's lr between {@code base_lr} and
 * {@code max_lr} (the cyclical learning rates of Smith, 2017), and with {@code cycle_momentum}
 * its momentum inversely between {@code max_momentum} and {@code base_momentum}.
 *
 * <pre>
 * total_size = step_size_up + step_size_down          step_ratio = step_size_up / total_size
 * cycle = floor(1 + t / total_size)                   x = 1.0 + t / total_size - cycle
 * scale = x / step_ratio                   if x &lt;= step_ratio
 *       = (x - 1) / (step_ratio - 1)       otherwise
 * f     = scale_fn(cycle)                  if scale_mode == 'cycle'
 *       = scale_fn(t)                      if scale_mode == 'iterations'
 * lr_t       = base_lr + (max_lr - base_lr) * scale * f
 * momentum_t = max_momentum - (max_momentum - base_momentum) * scale * f
 * scale_fn: 'triangular': 1.0    'triangular2': 1 / 2.0 ** (cycle - 1)    'exp_range': gamma ** t
 * </pre>
 *
 * <p>The constructor sets each group's lr to {@code base_lr} and its momentum to
 * {@code max_momentum}; the initial step then computes epoch 0 from {@code base_lrs} as they are
 * before the constructor replaces them by {@code base_lr}, as PyTorch's does (the group's
 * {@code initial_lr}: {@code base_lr} unless another scheduler was made on the set first).
 * With {@code cycle_momentum}, as upstream PyTorch, a group with {@code betas} (Adam and the
 * like) gets {@code betas[0]} cycled, one with {@code momentum} its momentum; a group with
 * neither is an error, and so is a group whose momentum the cycle would move between zero and
 * non-zero (clopt fixes that when the group is made: SGD without momentum needs
 * {@code cycle_momentum=False}). Not chainable.
 *
 * <p>Arguments ({@link #builder()}): {@code base_lr} and {@code max_lr} (required; a number or
 * one per group), {@code step_size_up} = 2000 (&gt;= 1), {@code step_size_down} = None (same as
 * up; else &gt;= 0), {@code mode} = 'triangular' ('triangular2', 'exp_range'; ignored with a
 * {@code scale_fn}), {@code gamma} = 1.0, {@code scale_fn} = None (a Java function, not saved
 * in the state), {@code scale_mode} = 'cycle' ('iterations'; used with a {@code scale_fn}),
 * {@code cycle_momentum} = True, {@code base_momentum} = 0.8, {@code max_momentum} = 0.9 (a
 * number or one per group). clopt refuses a negative step size and a {@code scale_mode} other
 * than the two, which PyTorch takes.
 */
public final class CyclicLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("CyclicLR", CyclicLR::new,
            Param.required("base_lr", FLOATS), Param.required("max_lr", FLOATS),
            Param.optional("step_size_up", INT, 2000), Param.optional("step_size_down", OPTIONAL_INT, null),
            Param.choice("mode", "triangular", "triangular", "triangular2", "exp_range"),
            Param.optional("gamma", FLOAT, 1.0), Param.optional("scale_fn", FUNCTION, null),
            Param.choice("scale_mode", "cycle", "cycle", "iterations"),
            Param.optional("cycle_momentum", BOOL, true),
            Param.optional("base_momentum", FLOATS, Floats.scalar(0.8)),
            Param.optional("max_momentum", FLOATS, Floats.scalar(0.9)), Param.lastEpoch());

    CyclicLR(ParameterSet set, Args args) {
        super(set, Policy.of(set, args));
    }

    /**
     * A builder: set at least {@link Builder#baseLr} and {@link Builder#maxLr}.
     *
     * @return a new builder with PyTorch's defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The momentum (or betas[0]) of each group as the last step set it.
     *
     * @return a new array, one value per group
     * @throws IllegalStateException if the scheduler does not cycle momentum
     */
    public double[] getLastMomentum() {
        if (lastMomentum == null) {
            throw new IllegalStateException("CyclicLR: made with cycle_momentum=False");
        }
        return lastMomentum.clone();
    }

    /** CyclicLR's arguments under their Java names; {@link #build} makes the scheduler. */
    public static final class Builder {
        private final Args args = SIGNATURE.args();

        private Builder() {
        }

        /**
         * Sets {@code base_lr}, the lower lr of the cycle: one value for every group, or one per group.
         *
         * @param values the lr(s)
         * @return this builder
         */
        public Builder baseLr(double... values) {
            args.put("base_lr", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code max_lr}, the upper lr of the cycle: one value for every group, or one per group.
         *
         * @param values the lr(s)
         * @return this builder
         */
        public Builder maxLr(double... values) {
            args.put("max_lr", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code step_size_up}, the epochs of the rising half of a cycle.
         *
         * @param value the epochs, &gt;= 1
         * @return this builder
         */
        public Builder stepSizeUp(int value) {
            args.put("step_size_up", value);
            return this;
        }

        /**
         * Sets {@code step_size_down}, the epochs of the falling half; null for the same as up.
         *
         * @param value the epochs, &gt;= 0, or null
         * @return this builder
         */
        public Builder stepSizeDown(Integer value) {
            args.put("step_size_down", value);
            return this;
        }

        /**
         * Sets {@code mode}: 'triangular', 'triangular2' or 'exp_range'.
         *
         * @param value the mode
         * @return this builder
         */
        public Builder mode(String value) {
            args.put("mode", value);
            return this;
        }

        /**
         * Sets {@code gamma}, the base of 'exp_range'.
         *
         * @param value the factor per epoch
         * @return this builder
         */
        public Builder gamma(double value) {
            args.put("gamma", value);
            return this;
        }

        /**
         * Sets {@code scale_fn}, a scaling policy in [0, 1] that replaces the mode's.
         *
         * @param value the function of the cycle or of the epoch (see {@link #scaleMode})
         * @return this builder
         */
        public Builder scaleFn(DoubleUnaryOperator value) {
            args.put("scale_fn", value);
            return this;
        }

        /**
         * Sets {@code scale_mode}, what {@code scale_fn} takes: 'cycle' or 'iterations'.
         *
         * @param value the mode
         * @return this builder
         */
        public Builder scaleMode(String value) {
            args.put("scale_mode", value);
            return this;
        }

        /**
         * Sets {@code cycle_momentum}: whether to cycle momentum (or betas[0]) too.
         *
         * @param value true to cycle it
         * @return this builder
         */
        public Builder cycleMomentum(boolean value) {
            args.put("cycle_momentum", value);
            return this;
        }

        /**
         * Sets {@code base_momentum}, the lower momentum, at the lr's peak.
         *
         * @param values one for every group, or one per group
         * @return this builder
         */
        public Builder baseMomentum(double... values) {
            args.put("base_momentum", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code max_momentum}, the upper momentum, at the cycle's start.
         *
         * @param values one for every group, or one per group
         * @return this builder
         */
        public Builder maxMomentum(double... values) {
            args.put("max_momentum", Floats.of(values));
            return this;
        }

        /**
         * Makes the scheduler on {@code set}: it takes its initial step and attaches itself.
         *
         * @param set the parameter set whose groups it schedules
         * @return the scheduler
         * @throws IllegalArgumentException naming a missing or invalid argument, or a value a
         *     group refuses; the set is then unchanged
         */
        public CyclicLR build(ParameterSet set) {
            return new CyclicLR(set, args);
        }
    }

    private static final class Policy extends Rule {
        static final List<String> MODES = List.of("triangular", "triangular2", "exp_range");
        final double[] baseLrs;
        final double[] maxLrs;
        final double totalSize;
        final double stepRatio;
        final String mode;
        final double gamma;
        final DoubleUnaryOperator scaleFn;
        final String scaleMode;
        final boolean cycleMomentum;
        final double[] baseMomentums;
        final double[] maxMomentums;
        final String[] keys;

        Policy(double[] baseLrs, double[] maxLrs, double totalSize, double stepRatio, String mode, double gamma,
               DoubleUnaryOperator scaleFn, String scaleMode, boolean cycleMomentum, double[] baseMomentums,
               double[] maxMomentums, String[] keys) {
            this.baseLrs = baseLrs;
            this.maxLrs = maxLrs;
            this.totalSize = totalSize;
            this.stepRatio = stepRatio;
            this.mode = mode;
            this.gamma = Check.finite("CyclicLR", "gamma", gamma);
            this.scaleFn = scaleFn;
            // A built-in mode fixes what its function takes.
            this.scaleMode = scaleFn != null ? scaleMode : mode.equals("exp_range") ? "iterations" : "cycle";
            this.cycleMomentum = cycleMomentum;
            this.baseMomentums = baseMomentums;
            this.maxMomentums = maxMomentums;
            this.keys = keys;
        }

        static Policy of(ParameterSet set, Args a) {
            a.checkLastEpoch();
            String t = "CyclicLR";
            int groups = set.groupCount();
            double[] baseLrs = a.floats("base_lr").perGroup(t, "base_lr", groups);
            double[] maxLrs = a.floats("max_lr").perGroup(t, "max_lr", groups);
            int up = Check.atLeast(t, "step_size_up", a.integer("step_size_up"), 1);
            Integer down = a.optionalInteger("step_size_down");
            double totalSize = (double) up + (down == null ? up : Check.atLeast(t, "step_size_down", down, 0));
            DoubleUnaryOperator scaleFn = a.function("scale_fn", DoubleUnaryOperator.class);
            String mode = Check.notNull(t, "mode", a.string("mode"));
            if (scaleFn == null && !MODES.contains(mode)) {
                throw Check.invalid(t, "mode", mode, "one of 'triangular', 'triangular2', 'exp_range' when "
                        + "there is no scale_fn");
            }
            String scaleMode = Check.notNull(t, "scale_mode", a.string("scale_mode"));
            if (!List.of("cycle", "iterations").contains(scaleMode)) {
                throw Check.invalid(t, "scale_mode", scaleMode, "'cycle' or 'iterations'");
            }
            boolean cycle = a.flag("cycle_momentum");
            double[] baseMomentums = null;
            double[] maxMomentums = null;
            String[] keys = null;
            if (cycle) {
                keys = new String[groups];
                for (int g = 0; g < groups; g++) {
                    keys[g] = momentumKey(t, set, g);
                }
                baseMomentums = a.floats("base_momentum").perGroup(t, "base_momentum", groups);
                maxMomentums = a.floats("max_momentum").perGroup(t, "max_momentum", groups);
            }
            return new Policy(baseLrs, maxLrs, totalSize, up / totalSize, mode, a.number("gamma"), scaleFn,
                    scaleMode, cycle, baseMomentums, maxMomentums, keys);
        }

        @Override
        void init(LRScheduler s) {
            for (int g = 0; g < s.groups; g++) {
                checked(g, "lr", s.set.config(g), maxLrs[g]);
                s.setLr(g, baseLrs[g]);
            }
            if (cycleMomentum) {
                s.lastMomentum = new double[s.groups];
                for (int g = 0; g < s.groups; g++) {
                    s.setMomentum(g, keys[g], maxMomentums[g]);
                    checked(g, keys[g], s.set.config(g), baseMomentums[g]);
                }
            }
            super.init(s);
            s.baseLrs = baseLrs.clone();
        }

        private double scale(double x) {
            if (scaleFn != null) {
                return scaleFn.applyAsDouble(x);
            }
            switch (mode) {
                case "triangular":
                    return 1.0;
                case "triangular2":
                    return Py.div(1, Py.pow(2.0, x - 1));
                default:
                    return Py.pow(gamma, x);
            }
        }

        @Override
        double[] getLr(LRScheduler s) {
            int e = s.lastEpoch;
            long cycle = (long) Math.floor(1 + Py.div(e, totalSize));
            double x = 1.0 + Py.div(e, totalSize) - cycle;
            double scaleFactor = x <= stepRatio ? Py.div(x, stepRatio) : Py.div(x - 1, stepRatio - 1);
            double f = scale(scaleMode.equals("cycle") ? cycle : e);
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                double baseHeight = (maxLrs[g] - s.baseLrs[g]) * scaleFactor;
                lrs[g] = s.baseLrs[g] + baseHeight * f;
            }
            if (cycleMomentum) {
                for (int g = 0; g < lrs.length; g++) {
                    double baseHeight = (maxMomentums[g] - baseMomentums[g]) * scaleFactor;
                    s.setMomentum(g, keys[g], maxMomentums[g] - baseHeight * f);
                }
            }
            return lrs;
        }

        @Override
        boolean cyclesMomentum() {
            return cycleMomentum;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("max_lrs", State.numbers(maxLrs));
            state.put("total_size", State.number(totalSize));
            state.put("step_ratio", State.number(stepRatio));
            state.put("mode", mode);
            state.put("gamma", State.number(gamma));
            state.put("scale_mode", scaleMode);
            state.put("scale_fn", scaleFn == null ? "None" : "custom");
            state.put("cycle_momentum", cycleMomentum);
            if (cycleMomentum) {
                state.put("base_momentums", State.numbers(baseMomentums));
                state.put("max_momentums", State.numbers(maxMomentums));
            }
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            String t = "CyclicLR";
            int groups = s.groups;
            double[] maxLrs = in.numbers("max_lrs", groups);
            double totalSize = in.number("total_size");
            double stepRatio = in.number("step_ratio");
            if (!(totalSize > 0) || !(stepRatio > 0 && stepRatio <= 1)) {
                throw new IllegalArgumentException(t + ": invalid total_size " + Py.repr(totalSize) + " and step_ratio "
                        + Py.repr(stepRatio) + " in the state (must be > 0 and in (0, 1])");
            }
            String custom = in.string("scale_fn", List.of("None", "custom"));
            if (custom.equals("custom") != (scaleFn != null)) {
                throw new IllegalArgumentException(t + ": the state was saved " + (scaleFn == null ? "with" : "without")
                        + " a scale_fn and this scheduler has " + (scaleFn == null ? "none" : "one")
                        + ": make it as the one that saved the state");
            }
            String mode = scaleFn == null ? in.string("mode", MODES) : in.string("mode");
            String scaleMode = in.string("scale_mode", List.of("cycle", "iterations"));
            boolean cycle = in.flag("cycle_momentum");
            double[] baseMomentums = null;
            double[] maxMomentums = null;
            String[] keys = null;
            if (cycle) {
                baseMomentums = in.numbers("base_momentums", groups);
                maxMomentums = in.numbers("max_momentums", groups);
                keys = new String[groups];
                for (int g = 0; g < groups; g++) {
                    keys[g] = momentumKey(t, s.set, g);
                }
            }
            return new Policy(s.baseLrs, maxLrs, totalSize, stepRatio, mode, in.number("gamma"), scaleFn, scaleMode,
                    cycle, baseMomentums, maxMomentums, keys);
        }
    }
}

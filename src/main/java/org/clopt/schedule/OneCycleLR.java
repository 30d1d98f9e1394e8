package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.BOOL;
import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.FLOATS;
import static org.clopt.schedule.Signature.Kind.OPTIONAL_INT;

import java.util.List;
import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Floats;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.OneCycleLR}: the 1cycle policy (Smith and Topin, 2017): each
 * group's lr rises from {@code initial_lr = max_lr / div_factor} to {@code max_lr}, then falls to
 * {@code min_lr = initial_lr / final_div_factor}, over {@code total_steps} steps; with
 * {@code cycle_momentum} its momentum moves inversely between {@code max_momentum} and
 * {@code base_momentum}.
 *
 * <pre>
 * phases (end_step, lr from -&gt; to, momentum from -&gt; to):
 *   two phases:    pct_start * total_steps - 1      initial_lr -&gt; max_lr   max_momentum -&gt; base_momentum
 *                  total_steps - 1                  max_lr -&gt; min_lr       base_momentum -&gt; max_momentum
 *   three_phase:   pct_start * total_steps - 1      initial_lr -&gt; max_lr   max_momentum -&gt; base_momentum
 *                  2 * pct_start * total_steps - 2  max_lr -&gt; initial_lr   base_momentum -&gt; max_momentum
 *                  total_steps - 1                  initial_lr -&gt; min_lr   max_momentum -&gt; max_momentum
 * at epoch t, in the first phase with t &lt;= end_step (else the last), start_step the previous end (0.0 first):
 *   pct = (t - start_step) / (end_step - start_step)
 *   'cos':     anneal(a, b, pct) = b + (a - b) / 2.0 * (cos(pi * pct) + 1)
 *   'linear':  anneal(a, b, pct) = (b - a) * pct + a
 * </pre>
 *
 * <p>Not chainable. The constructor overwrites each group's {@code initial_lr} (see
 * {@link LRScheduler}) with {@code max_lr / div_factor}. A step to an epoch past
 * {@code total_steps} fails, as in PyTorch. Momentum cycling works as {@link CyclicLR}'s:
 * {@code betas[0]} for groups with betas, {@code momentum} for the others.
 *
 * <p>Arguments ({@link #builder()}): {@code max_lr} (required; a number or one per group);
 * {@code total_steps} = None, or else {@code epochs} and {@code steps_per_epoch} = None (each
 * &gt;= 1), whose product it then is; {@code pct_start} = 0.3 in [0, 1];
 * {@code anneal_strategy} = 'cos' ('linear'); {@code cycle_momentum} = True;
 * {@code base_momentum} = 0.85 and {@code max_momentum} = 0.95 (a number or one per group);
 * {@code div_factor} = 25.0 and {@code final_div_factor} = 1e4 (non-zero); {@code three_phase}
 * = False.
 */
public final class OneCycleLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("OneCycleLR", OneCycleLR::new,
            Param.required("max_lr", FLOATS), Param.optional("total_steps", OPTIONAL_INT, null),
            Param.optional("epochs", OPTIONAL_INT, null), Param.optional("steps_per_epoch", OPTIONAL_INT, null),
            Param.optional("pct_start", FLOAT, 0.3), Param.choice("anneal_strategy", "cos", "cos", "linear"),
            Param.optional("cycle_momentum", BOOL, true), Param.optional("base_momentum", FLOATS, Floats.scalar(0.85)),
            Param.optional("max_momentum", FLOATS, Floats.scalar(0.95)), Param.optional("div_factor", FLOAT, 25.0),
            Param.optional("final_div_factor", FLOAT, 1e4), Param.optional("three_phase", BOOL, false),
            Param.lastEpoch());

    OneCycleLR(ParameterSet set, Args args) {
        super(set, Policy.of(set, args));
    }

    /**
     * A builder: set at least {@link Builder#maxLr} and the length of the cycle.
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
            throw new IllegalStateException("OneCycleLR: made with cycle_momentum=False");
        }
        return lastMomentum.clone();
    }

    /** OneCycleLR's arguments under their Java names; {@link #build} makes the scheduler. */
    public static final class Builder {
        private final Args args = SIGNATURE.args();

        private Builder() {
        }

        /**
         * Sets {@code max_lr}, the peak lr: one value for every group, or one per group.
         *
         * @param values the lr(s)
         * @return this builder
         */
        public Builder maxLr(double... values) {
            args.put("max_lr", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code total_steps}, the length of the cycle.
         *
         * @param value the steps, &gt;= 1
         * @return this builder
         */
        public Builder totalSteps(int value) {
            args.put("total_steps", value);
            return this;
        }

        /**
         * Sets {@code epochs}: without total_steps, the cycle is epochs * steps_per_epoch long.
         *
         * @param value the epochs, &gt;= 1
         * @return this builder
         */
        public Builder epochs(int value) {
            args.put("epochs", value);
            return this;
        }

        /**
         * Sets {@code steps_per_epoch}: without total_steps, the cycle is epochs * steps_per_epoch long.
         *
         * @param value the steps per epoch, &gt;= 1
         * @return this builder
         */
        public Builder stepsPerEpoch(int value) {
            args.put("steps_per_epoch", value);
            return this;
        }

        /**
         * Sets {@code pct_start}, the fraction of the cycle spent raising the lr.
         *
         * @param value the fraction, in [0, 1]
         * @return this builder
         */
        public Builder pctStart(double value) {
            args.put("pct_start", value);
            return this;
        }

        /**
         * Sets {@code anneal_strategy}: 'cos' or 'linear'.
         *
         * @param value the strategy
         * @return this builder
         */
        public Builder annealStrategy(String value) {
            args.put("anneal_strategy", value);
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
         * Sets {@code base_momentum}, the momentum at the lr's peak.
         *
         * @param values one for every group, or one per group
         * @return this builder
         */
        public Builder baseMomentum(double... values) {
            args.put("base_momentum", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code max_momentum}, the momentum at the cycle's ends.
         *
         * @param values one for every group, or one per group
         * @return this builder
         */
        public Builder maxMomentum(double... values) {
            args.put("max_momentum", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code div_factor}: initial_lr = max_lr / div_factor.
         *
         * @param value the divisor, non-zero
         * @return this builder
         */
        public Builder divFactor(double value) {
            args.put("div_factor", value);
            return this;
        }

        /**
         * Sets {@code final_div_factor}: min_lr = initial_lr / final_div_factor.
         *
         * @param value the divisor, non-zero
         * @return this builder
         */
        public Builder finalDivFactor(double value) {
            args.put("final_div_factor", value);
            return this;
        }

        /**
         * Sets {@code three_phase}: a third phase that anneals from initial_lr to min_lr.
         *
         * @param value true for three phases
         * @return this builder
         */
        public Builder threePhase(boolean value) {
            args.put("three_phase", value);
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
        public OneCycleLR build(ParameterSet set) {
            return new OneCycleLR(set, args);
        }
    }

    /** A phase: where it ends, and the indices of its lrs (initial, max, min) and momenta (max, base). */
    private record Phase(double endStep, int startLr, int endLr, int startMomentum, int endMomentum) {
    }

    private static final class Policy extends Rule {
        static final int INITIAL = 0;
        static final int MAX = 1;
        static final int MIN = 2;
        static final int MAX_MOMENTUM = 0;
        static final int BASE_MOMENTUM = 1;

        final int totalSteps;
        final double pctStart;
        final String annealStrategy;
        final boolean threePhase;
        final List<Phase> phases;
        /** Per group: initial, max and min lr; max and base momentum. */
        final double[][] lrs;
        final boolean cycleMomentum;
        final double[][] momentums;
        final String[] keys;

        Policy(int totalSteps, double pctStart, String annealStrategy, boolean threePhase, double[][] lrs,
               boolean cycleMomentum, double[][] momentums, String[] keys) {
            String t = "OneCycleLR";
            this.totalSteps = Check.atLeast(t, "total_steps", totalSteps, 1);
            this.pctStart = Check.between(t, "pct_start", pctStart, 0, false, 1);
            if (!List.of("cos", "linear").contains(annealStrategy)) {
                throw Check.invalid(t, "anneal_strategy", annealStrategy, "'cos' or 'linear'");
            }
            this.annealStrategy = annealStrategy;
            this.threePhase = threePhase;
            this.phases = threePhase
                    ? List.of(new Phase(pctStart * totalSteps - 1, INITIAL, MAX, MAX_MOMENTUM, BASE_MOMENTUM),
                            new Phase(2 * pctStart * totalSteps - 2, MAX, INITIAL, BASE_MOMENTUM, MAX_MOMENTUM),
                            new Phase(totalSteps - 1, INITIAL, MIN, MAX_MOMENTUM, MAX_MOMENTUM))
                    : List.of(new Phase(pctStart * totalSteps - 1, INITIAL, MAX, MAX_MOMENTUM, BASE_MOMENTUM),
                            new Phase(totalSteps - 1, MAX, MIN, BASE_MOMENTUM, MAX_MOMENTUM));
            this.lrs = lrs;
            this.cycleMomentum = cycleMomentum;
            this.momentums = momentums;
            this.keys = keys;
        }

        static Policy of(ParameterSet set, Args a) {
            a.checkLastEpoch();
            String t = "OneCycleLR";
            int groups = set.groupCount();
            Integer totalSteps = a.optionalInteger("total_steps");
            Integer epochs = a.optionalInteger("epochs");
            Integer stepsPerEpoch = a.optionalInteger("steps_per_epoch");
            int total;
            if (totalSteps != null) {
                total = Check.atLeast(t, "total_steps", totalSteps, 1);
            } else if (epochs != null && stepsPerEpoch != null) {
                Check.atLeast(t, "epochs", epochs, 1);
                Check.atLeast(t, "steps_per_epoch", stepsPerEpoch, 1);
                try {
                    total = Math.multiplyExact(epochs, stepsPerEpoch);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException(t + ": epochs * steps_per_epoch = " + (long) epochs * stepsPerEpoch
                            + " steps is more than " + Integer.MAX_VALUE, e);
                }
            } else {
                throw new IllegalArgumentException(t + ": give either total_steps or both epochs and steps_per_epoch");
            }
            double[] maxLrs = a.floats("max_lr").perGroup(t, "max_lr", groups);
            double divFactor = Check.finite(t, "div_factor", a.number("div_factor"));
            double finalDivFactor = Check.finite(t, "final_div_factor", a.number("final_div_factor"));
            if (divFactor == 0) {
                throw Check.invalid(t, "div_factor", divFactor, "non-zero: initial_lr = max_lr / div_factor");
            }
            if (finalDivFactor == 0) {
                throw Check.invalid(t, "final_div_factor", finalDivFactor,
                        "non-zero: min_lr = initial_lr / final_div_factor");
            }
            double[][] lrs = new double[groups][];
            for (int g = 0; g < groups; g++) {
                double initial = maxLrs[g] / divFactor;
                lrs[g] = new double[] {initial, maxLrs[g], initial / finalDivFactor};
            }
            boolean cycle = a.flag("cycle_momentum");
            double[][] momentums = null;
            String[] keys = null;
            if (cycle) {
                keys = new String[groups];
                for (int g = 0; g < groups; g++) {
                    keys[g] = momentumKey(t, set, g);
                }
                double[] max = a.floats("max_momentum").perGroup(t, "max_momentum", groups);
                double[] base = a.floats("base_momentum").perGroup(t, "base_momentum", groups);
                momentums = new double[groups][];
                for (int g = 0; g < groups; g++) {
                    momentums[g] = new double[] {max[g], base[g]};
                }
            }
            return new Policy(total, a.number("pct_start"), Check.notNull(t, "anneal_strategy", a.string("anneal_strategy")),
                    a.flag("three_phase"), lrs, cycle, momentums, keys);
        }

        @Override
        void init(LRScheduler s) {
            double[] initial = new double[s.groups];
            for (int g = 0; g < s.groups; g++) {
                initial[g] = lrs[g][INITIAL];
                for (double lr : lrs[g]) {
                    checked(g, "lr", s.set.config(g), lr);
                }
            }
            InitialLr.put(s.set, initial);
            if (cycleMomentum) {
                s.lastMomentum = new double[s.groups];
                for (int g = 0; g < s.groups; g++) {
                    s.setMomentum(g, keys[g], momentums[g][MAX_MOMENTUM]);
                    checked(g, keys[g], s.set.config(g), momentums[g][BASE_MOMENTUM]);
                }
            }
            super.init(s);
        }

        private double anneal(double start, double end, double pct) {
            if (annealStrategy.equals("cos")) {
                double cosOut = Math.cos(Math.PI * pct) + 1;
                return end + (start - end) / 2.0 * cosOut;
            }
            return (end - start) * pct + start;
        }

        @Override
        double[] getLr(LRScheduler s) {
            int stepNum = s.lastEpoch;
            if (stepNum > totalSteps) {
                throw new IllegalStateException("OneCycleLR: tried to step " + stepNum
                        + " times; the specified number of total steps is " + totalSteps);
            }
            double[] out = new double[s.groups];
            for (int g = 0; g < out.length; g++) {
                double startStep = 0.0;
                for (int i = 0; i < phases.size(); i++) {
                    Phase phase = phases.get(i);
                    double endStep = phase.endStep();
                    if (stepNum <= endStep || i == phases.size() - 1) {
                        double pct = Py.div(stepNum - startStep, endStep - startStep);
                        out[g] = anneal(lrs[g][phase.startLr()], lrs[g][phase.endLr()], pct);
                        if (cycleMomentum) {
                            s.setMomentum(g, keys[g], anneal(momentums[g][phase.startMomentum()],
                                    momentums[g][phase.endMomentum()], pct));
                        }
                        break;
                    }
                    startStep = endStep;
                }
            }
            return out;
        }

        @Override
        boolean cyclesMomentum() {
            return cycleMomentum;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("total_steps", (long) totalSteps);
            state.put("pct_start", State.number(pctStart));
            state.put("anneal_strategy", annealStrategy);
            state.put("three_phase", threePhase);
            state.put("initial_lrs", State.numbers(column(lrs, INITIAL)));
            state.put("max_lrs", State.numbers(column(lrs, MAX)));
            state.put("min_lrs", State.numbers(column(lrs, MIN)));
            state.put("cycle_momentum", cycleMomentum);
            if (cycleMomentum) {
                state.put("max_momentums", State.numbers(column(momentums, MAX_MOMENTUM)));
                state.put("base_momentums", State.numbers(column(momentums, BASE_MOMENTUM)));
            }
        }

        private static double[] column(double[][] rows, int index) {
            double[] c = new double[rows.length];
            for (int i = 0; i < c.length; i++) {
                c[i] = rows[i][index];
            }
            return c;
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            int groups = s.groups;
            int total = in.integer("total_steps");
            double pct = in.number("pct_start");
            String strategy = in.string("anneal_strategy", List.of("cos", "linear"));
            boolean three = in.flag("three_phase");
            double[] initial = in.numbers("initial_lrs", groups);
            double[] max = in.numbers("max_lrs", groups);
            double[] min = in.numbers("min_lrs", groups);
            double[][] lrs = new double[groups][];
            for (int g = 0; g < groups; g++) {
                lrs[g] = new double[] {initial[g], max[g], min[g]};
            }
            boolean cycle = in.flag("cycle_momentum");
            double[][] momentums = null;
            String[] keys = null;
            if (cycle) {
                double[] maxM = in.numbers("max_momentums", groups);
                double[] baseM = in.numbers("base_momentums", groups);
                momentums = new double[groups][];
                keys = new String[groups];
                for (int g = 0; g < groups; g++) {
                    momentums[g] = new double[] {maxM[g], baseM[g]};
                    keys[g] = momentumKey("OneCycleLR", s.set, g);
                }
            }
            return new Policy(total, pct, strategy, three, lrs, cycle, momentums, keys);
        }
    }
}

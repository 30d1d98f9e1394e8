package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.FLOATS;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Stateful;
import org.clopt.schedule.Signature.Floats;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.ReduceLROnPlateau}: reduces each group's lr by {@code factor}
 * when a metric has stopped improving for more than {@code patience} steps.
 *
 * <pre>
 * step(metric):  last_epoch += 1
 *   better = metric &lt; best * (1 - threshold)   mode 'min', threshold_mode 'rel'
 *            metric &lt; best - threshold         'min', 'abs'
 *            metric &gt; best * (threshold + 1)   'max', 'rel'
 *            metric &gt; best + threshold         'max', 'abs'       (best starts at inf, or -inf for 'max')
 *   if better:  best = metric;  num_bad_epochs = 0   else:  num_bad_epochs += 1
 *   if cooldown_counter &gt; 0:  cooldown_counter -= 1;  num_bad_epochs = 0
 *   if num_bad_epochs &gt; patience:
 *     for each group:  new_lr = max(lr * factor, min_lr);  if lr - new_lr &gt; eps:  lr = new_lr
 *     cooldown_counter = cooldown;  num_bad_epochs = 0
 * </pre>
 *
 * <p>It acts on every group the set has at each step, as PyTorch acts on every param group: a
 * group added since takes the scalar {@code min_lr}, and with a list of {@code min_lr} a step
 * that must reduce fails. Arguments ({@link #builder()}): {@code mode} = 'min' ('max'),
 * {@code factor} = 0.1 (&lt; 1, finite), {@code patience} = 10, {@code threshold} = 1e-4,
 * {@code threshold_mode} = 'rel' ('abs'), {@code cooldown} = 0, {@code min_lr} = 0 (a number or
 * one per group), {@code eps} = 1e-8. It needs a metric at each step, so it cannot be made from a
 * text spec nor be part of a {@link SequentialLR} or {@link ChainedScheduler}.
 *
 * <p>Like an {@link LRScheduler}, it attaches itself to the set as the last thing its
 * constructor does, and its state (with {@code best} = {@code "inf"} until a first metric, as
 * JSON has no infinity) is saved with the set's. A step that fails leaves it and the set as they
 * were. Not thread-safe.
 */
public final class ReduceLROnPlateau implements Stateful {
    static final Signature SIGNATURE = Signature.javaOnly("ReduceLROnPlateau",
            "ReduceLROnPlateau needs a metric at every step, which the command line cannot give: make it with "
                    + "ReduceLROnPlateau.builder() and call step(metric)",
            Param.choice("mode", "min", "min", "max"), Param.optional("factor", FLOAT, 0.1),
            Param.optional("patience", INT, 10), Param.optional("threshold", FLOAT, 1e-4),
            Param.choice("threshold_mode", "rel", "rel", "abs"), Param.optional("cooldown", INT, 0),
            Param.optional("min_lr", FLOATS, Floats.scalar(0.0)), Param.optional("eps", FLOAT, 1e-8));
    private static final String TYPE = "ReduceLROnPlateau";

    /** The arguments, checked; a load replaces them all. */
    private record Settings(String mode, double factor, int patience, double threshold, String thresholdMode,
                            int cooldown, double[] minLrs, Double defaultMinLr, double eps) {
        Settings {
            if (!List.of("min", "max").contains(mode)) {
                throw Check.invalid(TYPE, "mode", mode, "'min' or 'max'");
            }
            if (!(factor < 1.0) || !Double.isFinite(factor)) {
                throw Check.invalid(TYPE, "factor", factor, "a finite number < 1.0");
            }
            Check.finite(TYPE, "threshold", threshold);
            if (!List.of("rel", "abs").contains(thresholdMode)) {
                throw Check.invalid(TYPE, "threshold_mode", thresholdMode, "'rel' or 'abs'");
            }
            for (int g = 0; g < minLrs.length; g++) {
                Check.finite(TYPE, "min_lr[" + g + "]", minLrs[g]);
            }
            Check.finite(TYPE, "eps", eps);
        }
    }

    private final ParameterSet set;
    private Settings settings;
    private int lastEpoch;
    private double best;
    private int numBadEpochs;
    private int cooldownCounter;
    private double[] lastLr;

    /**
     * With PyTorch's defaults: mode 'min', factor 0.1, patience 10, threshold 1e-4 'rel',
     * cooldown 0, min_lr 0, eps 1e-8.
     *
     * @param set the parameter set whose groups' lrs it sets
     */
    public ReduceLROnPlateau(ParameterSet set) {
        this(set, SIGNATURE.args());
    }

    private ReduceLROnPlateau(ParameterSet set, Args a) {
        this.set = Check.notNull(TYPE, "set", set);
        Floats minLr = a.floats("min_lr");
        this.settings = new Settings(Check.notNull(TYPE, "mode", a.string("mode")), a.number("factor"),
                a.integer("patience"), a.number("threshold"), Check.notNull(TYPE, "threshold_mode",
                a.string("threshold_mode")), a.integer("cooldown"), minLr.perGroup(TYPE, "min_lr", set.groupCount()),
                minLr.isList() ? null : minLr.values()[0], a.number("eps"));
        this.lastEpoch = 0;
        this.best = worst(settings.mode);
        this.lastLr = lrs();
        set.attach(this);
    }

    private static double worst(String mode) {
        return mode.equals("min") ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }

    /**
     * A builder with PyTorch's defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Takes the metric of the epoch just ended and reduces the lrs if it has stopped improving:
     * PyTorch's {@code step(metrics)}.
     *
     * @param metric the quantity watched (a loss in mode 'min'); NaN never improves
     * @throws IllegalStateException if a reduction would set a value a group refuses, or groups
     *     were added to the set since it was made with a list of {@code min_lr}; it and the set
     *     are then unchanged
     */
    public void step(double metric) {
        Settings s = settings;
        int epoch;
        try {
            epoch = Math.addExact(lastEpoch, 1);
        } catch (ArithmeticException e) {
            throw new IllegalStateException(TYPE + ": the epoch count overflows", e);
        }
        double newBest = best;
        int bad = numBadEpochs;
        int cooldownLeft = cooldownCounter;
        if (isBetter(s, metric, best)) {
            newBest = metric;
            bad = 0;
        } else {
            bad++;
        }
        if (cooldownLeft > 0) {
            cooldownLeft--;
            bad = 0;
        }
        Settings next = s;
        OptimizerConfig[] reduced = null;
        if (bad > s.patience) {
            int groups = set.groupCount();
            if (groups != s.minLrs.length) {
                if (s.defaultMinLr == null) {
                    throw new IllegalStateException(TYPE + ": the set has " + groups + " parameter groups and "
                            + "min_lr has " + s.minLrs.length + " values: groups were added since the scheduler "
                            + "was made with a list of min_lr");
                }
                double[] minLrs = new double[groups];
                Arrays.fill(minLrs, s.defaultMinLr);
                next = new Settings(s.mode, s.factor, s.patience, s.threshold, s.thresholdMode, s.cooldown, minLrs,
                        s.defaultMinLr, s.eps);
            }
            reduced = new OptimizerConfig[groups];
            for (int g = 0; g < groups; g++) {
                OptimizerConfig config = set.config(g);
                double oldLr = config.lr();
                double newLr = Py.max(oldLr * s.factor, next.minLrs[g]);
                if (oldLr - newLr > s.eps) {
                    try {
                        reduced[g] = LRScheduler.checked(g, "lr", config, newLr);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalStateException(TYPE + ": step to epoch " + epoch + " failed: "
                                + e.getMessage(), e);
                    }
                }
            }
            cooldownLeft = s.cooldown;
            bad = 0;
        }
        if (reduced != null) {
            for (int g = 0; g < reduced.length; g++) {
                if (reduced[g] != null) {
                    set.setConfig(g, reduced[g]);
                }
            }
        }
        settings = next;
        lastEpoch = epoch;
        best = newBest;
        numBadEpochs = bad;
        cooldownCounter = cooldownLeft;
        lastLr = lrs();
    }

    private static boolean isBetter(Settings s, double a, double best) {
        boolean rel = s.thresholdMode.equals("rel");
        if (s.mode.equals("min")) {
            return rel ? a < best * (1.0 - s.threshold) : a < best - s.threshold;
        }
        return rel ? a > best * (s.threshold + 1.0) : a > best + s.threshold;
    }

    private double[] lrs() {
        double[] lrs = new double[set.groupCount()];
        for (int g = 0; g < lrs.length; g++) {
            lrs[g] = set.config(g).lr();
        }
        return lrs;
    }

    /**
     * Each group's lr after the last step (or at construction): PyTorch's {@code get_last_lr()}.
     *
     * @return a new array, one value per group
     */
    public double[] getLastLr() {
        return lastLr.clone();
    }

    /**
     * The number of metrics taken: PyTorch's {@code last_epoch}, 0 at construction.
     *
     * @return the epoch of the last metric
     */
    public int lastEpoch() {
        return lastEpoch;
    }

    /**
     * The state, as PyTorch's {@code state_dict()}: {@code "type"}, the arguments under PyTorch's
     * names ({@code min_lrs}, and {@code default_min_lr} where {@code min_lr} was one number),
     * {@code last_epoch}, {@code best} ({@code "inf"} or {@code "-inf"} before a first
     * improvement), {@code num_bad_epochs}, {@code cooldown_counter} and {@code _last_lr}.
     *
     * @return a new map of JSON data
     */
    @Override
    public Map<String, Object> stateDict() {
        Settings s = settings;
        Map<String, Object> state = State.of(TYPE);
        state.put("mode", s.mode);
        state.put("factor", State.number(s.factor));
        state.put("patience", (long) s.patience);
        state.put("threshold", State.number(s.threshold));
        state.put("threshold_mode", s.thresholdMode);
        state.put("cooldown", (long) s.cooldown);
        state.put("min_lrs", State.numbers(s.minLrs));
        if (s.defaultMinLr != null) {
            state.put("default_min_lr", State.number(s.defaultMinLr));
        }
        state.put("eps", State.number(s.eps));
        state.put("last_epoch", (long) lastEpoch);
        state.put("best", State.number(best));
        state.put("num_bad_epochs", (long) numBadEpochs);
        state.put("cooldown_counter", (long) cooldownCounter);
        state.put("_last_lr", State.numbers(lastLr));
        return state;
    }

    /**
     * Restores a state taken by {@link #stateDict()}; as PyTorch's {@code load_state_dict}, its
     * arguments replace the constructor's. Everything is checked before anything changes.
     *
     * @param state the state
     * @throws IllegalArgumentException naming what does not fit; the scheduler is then unchanged
     */
    @Override
    public void loadStateDict(Map<String, Object> state) {
        State.Reader in = new State.Reader(state, TYPE);
        Settings s = new Settings(in.string("mode", List.of("min", "max")), in.number("factor"), in.integer("patience"),
                in.number("threshold"), in.string("threshold_mode", List.of("rel", "abs")), in.integer("cooldown"),
                in.numbers("min_lrs"), in.has("default_min_lr") ? in.number("default_min_lr") : null, in.number("eps"));
        int epoch = in.integer("last_epoch");
        double best = in.number("best");
        int bad = in.integer("num_bad_epochs");
        int cooldownLeft = in.integer("cooldown_counter");
        double[] last = in.numbers("_last_lr", set.groupCount());
        in.done();
        this.settings = s;
        this.lastEpoch = epoch;
        this.best = best;
        this.numBadEpochs = bad;
        this.cooldownCounter = cooldownLeft;
        this.lastLr = last;
    }

    /**
     * The arguments, as in a spec.
     *
     * @return {@code ReduceLROnPlateau(mode='min', factor=0.1, ...)}
     */
    @Override
    public String toString() {
        Settings s = settings;
        return TYPE + "(mode='" + s.mode + "', factor=" + Py.repr(s.factor) + ", patience=" + s.patience
                + ", threshold=" + Py.repr(s.threshold) + ", threshold_mode='" + s.thresholdMode + "', cooldown="
                + s.cooldown + ", min_lr=" + (s.defaultMinLr != null ? Py.repr(s.defaultMinLr.doubleValue())
                : Py.repr(s.minLrs)) + ", eps=" + Py.repr(s.eps) + ")";
    }

    /** ReduceLROnPlateau's arguments under their Java names; {@link #build} makes the scheduler. */
    public static final class Builder {
        private final Args args = SIGNATURE.args();

        private Builder() {
        }

        /**
         * Sets {@code mode}: 'min' to reduce when the metric stops falling, 'max' when it stops rising.
         *
         * @param value the mode
         * @return this builder
         */
        public Builder mode(String value) {
            args.put("mode", value);
            return this;
        }

        /**
         * Sets {@code factor}: new_lr = lr * factor.
         *
         * @param value the factor, &lt; 1
         * @return this builder
         */
        public Builder factor(double value) {
            args.put("factor", value);
            return this;
        }

        /**
         * Sets {@code patience}: the steps without improvement that are tolerated.
         *
         * @param value the steps
         * @return this builder
         */
        public Builder patience(int value) {
            args.put("patience", value);
            return this;
        }

        /**
         * Sets {@code threshold}: how much better than the best a metric must be to count.
         *
         * @param value the threshold, relative or absolute (see {@link #thresholdMode})
         * @return this builder
         */
        public Builder threshold(double value) {
            args.put("threshold", value);
            return this;
        }

        /**
         * Sets {@code threshold_mode}: 'rel' or 'abs'.
         *
         * @param value the mode
         * @return this builder
         */
        public Builder thresholdMode(String value) {
            args.put("threshold_mode", value);
            return this;
        }

        /**
         * Sets {@code cooldown}: the steps after a reduction during which bad steps do not count.
         *
         * @param value the steps
         * @return this builder
         */
        public Builder cooldown(int value) {
            args.put("cooldown", value);
            return this;
        }

        /**
         * Sets {@code min_lr}, the lowest lr: one value for every group, or one per group.
         *
         * @param values the lr(s)
         * @return this builder
         */
        public Builder minLr(double... values) {
            args.put("min_lr", Floats.of(values));
            return this;
        }

        /**
         * Sets {@code eps}: a reduction smaller than this is skipped.
         *
         * @param value the smallest change
         * @return this builder
         */
        public Builder eps(double value) {
            args.put("eps", value);
            return this;
        }

        /**
         * Makes the scheduler on {@code set} and attaches it.
         *
         * @param set the parameter set whose groups it schedules
         * @return the scheduler
         * @throws IllegalArgumentException naming an invalid argument
         */
        public ReduceLROnPlateau build(ParameterSet set) {
            return new ReduceLROnPlateau(set, args);
        }
    }
}

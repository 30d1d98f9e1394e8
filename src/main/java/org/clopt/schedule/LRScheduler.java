package org.clopt.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Stateful;

/**
 * A learning-rate scheduler, as PyTorch's {@code torch.optim.lr_scheduler.LRScheduler}: it sets
 * the {@code lr} of each parameter group of a {@link ParameterSet} (and, for {@link CyclicLR}
 * and {@link OneCycleLR}, {@code momentum} or {@code betas[0]}) by replacing the group's
 * configuration on the host ({@code set.setConfig(g, set.config(g).with("lr", lr))}); the next
 * {@link ParameterSet#step()} uses it.
 *
 * <p>As in PyTorch, the constructor takes the initial step: {@link #lastEpoch()} becomes 0 and
 * the lr of epoch 0 is set. Call {@link #step()} after each {@code set.step()}. Most schedules
 * are chainable: their step multiplies the group's lr as it is now, so that several schedulers
 * (a {@link ChainedScheduler}, or changes made by hand) compose; each class's documentation gives
 * its equations, the recursive form that it computes and the closed form that
 * {@link SequentialLR} uses at a milestone. Every value is computed in double, in PyTorch's
 * order of operations, so the sequence is PyTorch's.
 *
 * <p>Every group's first scheduler records the group's lr as its {@code initial_lr}, which is
 * the base lr ({@code base_lrs}) of that scheduler and of every later one made on the set, as
 * PyTorch's {@code param_group["initial_lr"]}. A scheduler governs the groups the set had when
 * it was made; groups added later keep their lr.
 *
 * <p>The scheduler {@link ParameterSet#attach attaches} itself to the set as the last thing its
 * constructor does, so that its {@link #stateDict()} is saved with the set's state dict and
 * checkpoints and restored by {@link ParameterSet#loadStateDict}. To resume a run, make the same
 * schedulers in the same order on a new set (or on a set built from the state, which loads them
 * at its first step) and load the state: the lr sequence then continues bit for bit. A
 * {@code last_epoch} other than -1 is not supported: resuming goes through the state.
 *
 * <p>A constructor that fails (invalid arguments, a value the group's configuration refuses)
 * leaves the set as it was, and so does a step that fails. A value PyTorch would set but a clopt
 * configuration refuses (a negative lr, momentum switched between zero and non-zero) fails the
 * constructor or step that would set it. Not thread-safe: step a scheduler from one thread. The
 * schedulers are the classes of this package; others cannot extend this class.
 */
public abstract class LRScheduler implements Stateful {
    final ParameterSet set;
    /** The number of groups the set had when the scheduler was made: those it governs. */
    final int groups;
    Rule rule;
    /** PyTorch's {@code last_epoch}, {@code _step_count}, {@code _is_initial}, {@code base_lrs}, {@code _last_lr}. */
    int lastEpoch = -1;
    int stepCount;
    boolean initial;
    double[] baseLrs;
    double[] lastLr;
    /** The momentum or betas[0] last set per group, for the schedulers that cycle it; else null. */
    double[] lastMomentum;
    /** The SequentialLR or ChainedScheduler that drives this one, if any. */
    LRScheduler parent;
    /**
     * Why the set may not step, or null: the schedule computed an lr no optimizer takes (a
     * OneCycleLR stepped once past its total_steps anneals linearly below zero, as PyTorch's
     * does). PyTorch keeps such a value in param_groups and fails nowhere if no step follows,
     * as after a training loop's last scheduler step; clopt keeps the group's last valid lr
     * and refuses the next step of the set, or of this scheduler, saying why.
     */
    String runOut;
    /** Inside {@link #step()}: only a step, never a constructor, may run out. */
    private boolean stepping;

    /** Runs the rule's constructor steps; on success, attaches the scheduler, as the last action. */
    LRScheduler(ParameterSet set, Rule rule) {
        this.set = Objects.requireNonNull(set, "set");
        this.groups = set.groupCount();
        this.rule = rule;
        List<OptimizerConfig> configs = configs();
        double[] initialLrs = InitialLr.snapshot(set);
        List<LRScheduler> children = rule.children();
        List<Map<String, Object>> childStates = children.stream().map(LRScheduler::stateDict).toList();
        try {
            rule.init(this);
        } catch (RuntimeException e) {
            restore(configs);
            InitialLr.restore(set, initialLrs);
            for (int i = 0; i < children.size(); i++) {
                children.get(i).rule.prepareLoad(children.get(i), childStates.get(i)).run();
            }
            throw new IllegalArgumentException(prefixed(e), e);
        }
        for (LRScheduler child : children) {
            set.detach(child);
            child.parent = this;
        }
        set.attach(this);
    }

    /**
     * Advances the schedule one epoch (PyTorch's {@code scheduler.step()}) and sets each
     * group's lr for the next {@link ParameterSet#step()}.
     *
     * <p>A step that computes an lr no optimizer takes (below zero: a linear OneCycleLR stepped
     * once past its last step, as a training loop's final scheduler step does) succeeds as
     * PyTorch's does and reports the value in {@link #getLastLr()}, but leaves the group's lr
     * as it was and makes the set's next {@link ParameterSet#step()}, and this scheduler's next
     * step, fail saying why (the state dict carries this on).
     *
     * @throws IllegalStateException if the scheduler is driven by a {@link SequentialLR} or
     *     {@link ChainedScheduler} (step that one), if its schedule has run out (above), or if
     *     the step fails as PyTorch's would (a {@link OneCycleLR} past its total steps, a
     *     division by zero) or sets a value the group's configuration refuses; the scheduler and
     *     the set are then unchanged
     */
    public final void step() {
        if (parent != null) {
            throw new IllegalStateException(this + " is driven by a " + parent.type() + ": step that one");
        }
        if (runOut != null) {
            throw new IllegalStateException(runOut);
        }
        Map<String, Object> before = stateDict();
        List<OptimizerConfig> configs = configs();
        try {
            stepping = true;
            rule.step(this);
        } catch (RuntimeException e) {
            restore(configs);
            rule.prepareLoad(this, before).run();
            String m = message(e);
            throw new IllegalStateException(type() + ": step to epoch " + ((long) rule.lastEpoch(this) + 1)
                    + " failed: " + (m.startsWith(type() + ": ") ? m.substring(type().length() + 2) : m), e);
        } finally {
            stepping = false;
        }
    }

    /**
     * The lr of each group the scheduler governs, as its last step (or its constructor) set it:
     * PyTorch's {@code get_last_lr()}.
     *
     * @return a new array, one value per group
     */
    public final double[] getLastLr() {
        return lastLr.clone();
    }

    /**
     * PyTorch's {@code last_epoch}: 0 after the constructor, one more after each
     * {@link #step()}. A {@link ChainedScheduler} reports its last scheduler's.
     *
     * @return the index of the epoch whose lr is set now
     */
    public final int lastEpoch() {
        return rule.lastEpoch(this);
    }

    /**
     * The state, as PyTorch's {@code state_dict()}: {@code "type"} (the class name), the
     * constructor's arguments under PyTorch's names, {@code base_lrs}, {@code last_epoch},
     * {@code _step_count} and {@code _last_lr} (and {@code _last_momentum} where momentum is
     * cycled); a SequentialLR or ChainedScheduler holds its schedulers' states under
     * {@code _schedulers}. Functions (LambdaLR's, CyclicLR's scale_fn) are not saved, as PyTorch
     * saves none for plain functions. Non-finite numbers are the strings {@code "inf"},
     * {@code "-inf"} and {@code "nan"}.
     *
     * @return a new map of JSON data
     */
    @Override
    public final Map<String, Object> stateDict() {
        return rule.save(this);
    }

    /**
     * Restores a state taken by {@link #stateDict()} of a scheduler of the same class made on a
     * set with as many groups; as PyTorch's {@code load_state_dict}, the state's arguments
     * replace the constructor's. Everything is checked before anything changes. The groups'
     * lrs are part of the set's state, not of this one.
     *
     * @param state the state
     * @throws IllegalArgumentException naming what does not fit; the scheduler is then unchanged
     */
    @Override
    public final void loadStateDict(Map<String, Object> state) {
        rule.prepareLoad(this, state).run();
        runOut = null;
        for (int g = 0; g < groups; g++) {
            if (!(lastLr[g] >= 0) || Double.isInfinite(lastLr[g])) {
                runOut = runOutMessage(g, lastLr[g]);
            }
        }
    }

    /**
     * Refuses the set's step while the schedule's last lr is one no optimizer takes.
     *
     * @throws IllegalStateException saying which lr and why
     */
    @Override
    public final void beforeStep() {
        if (runOut != null) {
            throw new IllegalStateException(runOut);
        }
    }

    private String runOutMessage(int group, double lr) {
        return type() + " at epoch " + lastEpoch() + " gave group " + group + " the lr " + Py.repr(lr)
                + ", which no optimizer takes (PyTorch would set it): the schedule has run past its end, "
                + "so the set may not step with it";
    }

    /**
     * The class and its settings under the names of its state, written as Python would:
     * {@code StepLR(step_size=30, gamma=0.1)}; a SequentialLR or ChainedScheduler lists its
     * schedulers.
     *
     * @return a description of the scheduler
     */
    @Override
    public String toString() {
        return type() + "(" + rule.describe() + ")";
    }

    // ---- for the rules ----

    String type() {
        return getClass().getSimpleName();
    }

    /** PyTorch's {@code _initial_step()}. */
    void initialStep() {
        stepCount = 0;
        initial = true;
        try {
            rule.step(this);
        } finally {
            initial = false;
        }
    }

    /** PyTorch's {@code _update_lr()} with no epoch: the next epoch by the chainable form. */
    void updateLr() {
        lastEpoch = Math.addExact(lastEpoch, 1);
        apply(rule.getLr(this));
    }

    /** PyTorch's {@code _update_lr(epoch)}: the closed form at that epoch where there is one. */
    void updateLrAt(int epoch) {
        lastEpoch = epoch;
        double[] values = rule.closedForm(this);
        apply(values != null ? values : rule.getLr(this));
    }

    void apply(double[] values) {
        LRScheduler root = this;
        while (root.parent != null) {
            root = root.parent;
        }
        boolean stepping = root.stepping;
        String refused = null;
        for (int g = 0; g < groups; g++) {
            if (stepping && (!(values[g] >= 0) || Double.isInfinite(values[g]))) {
                refused = refused != null ? refused : runOutMessage(g, values[g]);
                continue;
            }
            setLr(g, values[g]);
        }
        lastLr = lrs();
        if (refused != null) {
            // Kept as PyTorch's get_last_lr() reports it; the group keeps its last valid lr.
            for (int g = 0; g < groups; g++) {
                if (stepping && (!(values[g] >= 0) || Double.isInfinite(values[g]))) {
                    lastLr[g] = values[g];
                }
            }
            root.runOut = refused;
        }
    }

    double lr(int group) {
        return set.config(group).lr();
    }

    double[] lrs() {
        double[] lrs = new double[groups];
        for (int g = 0; g < groups; g++) {
            lrs[g] = lr(g);
        }
        return lrs;
    }

    void setLr(int group, double lr) {
        set.setConfig(group, checked(group, "lr", set.config(group), lr));
    }

    /**
     * The hyperparameter of a group that momentum cycling sets: {@code betas} (its first
     * element) where the group has betas, else {@code momentum}, as PyTorch tests
     * {@code "betas" in optimizer.defaults} first.
     */
    static String momentumKey(String type, ParameterSet set, int group) {
        Map<String, Object> h = set.config(group).hyperparameters();
        if (h.containsKey("betas")) {
            return "betas";
        }
        if (h.containsKey("momentum")) {
            return "momentum";
        }
        throw new IllegalArgumentException(type + ": cycle_momentum=True needs momentum or betas, but group "
                + group + " is " + set.config(group).algorithm() + ", which has neither (pass cycle_momentum=False)");
    }

    /** Sets the group's momentum, or betas[0], and remembers it as the last momentum. */
    void setMomentum(int group, String key, double value) {
        set.setConfig(group, checked(group, key, set.config(group), value));
        lastMomentum[group] = value;
    }

    /**
     * The group's configuration with {@code key} ({@code lr}, {@code momentum}, or
     * {@code betas} for betas[0]) set to {@code value}: checked by the configuration, and
     * refused where it would switch the kernel variant (momentum between zero and non-zero).
     */
    static OptimizerConfig checked(int group, String key, OptimizerConfig config, double value) {
        OptimizerConfig next;
        try {
            next = key.equals("betas") ? config.with("betas", List.of(value, config.pair("betas", 1)))
                    : config.with(key, value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("group " + group + ": " + e.getMessage(), e);
        }
        if (!next.algorithm().equals(config.algorithm()) || !next.stateNames().equals(config.stateNames())) {
            throw new IllegalArgumentException("group " + group + ": " + key + " " + Py.repr(value)
                    + " would turn the group's " + config.algorithm() + " into " + next.algorithm()
                    + " with state " + next.stateNames() + ", and clopt fixes the kernel variant when a group"
                    + " is made (momentum zero or not): keep " + key + " on the same side of zero"
                    + (key.equals("lr") ? "" : ", or pass cycle_momentum=False"));
        }
        return next;
    }

    List<OptimizerConfig> configs() {
        List<OptimizerConfig> configs = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            configs.add(set.config(g));
        }
        return configs;
    }

    void restore(List<OptimizerConfig> configs) {
        for (int g = 0; g < configs.size(); g++) {
            if (!set.config(g).equals(configs.get(g))) {
                set.setConfig(g, configs.get(g));
            }
        }
    }

    private String prefixed(RuntimeException e) {
        String m = message(e);
        return m.startsWith(type() + ":") ? m : type() + ": " + m;
    }

    static String message(RuntimeException e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return e instanceof ArithmeticException ? m + " (as in PyTorch, which raises here)" : m;
    }
}

package org.clopt.schedule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What makes a scheduler of its kind: its arguments, its {@code get_lr()} and, where PyTorch
 * has them, its closed form and its own {@code step()} or constructor steps. An
 * {@link LRScheduler} holds the state every PyTorch scheduler has ({@code last_epoch},
 * {@code base_lrs}, {@code _step_count}, {@code _last_lr}) and runs its rule; the rule is made
 * (and its arguments checked) before the scheduler's constructor starts, which lets that
 * constructor run the initial step and attach the scheduler to the set last, as PyTorch's
 * constructors do with the subclass's fields already set.
 */
abstract class Rule {
    /** Writes the arguments under PyTorch's names (and any state of the rule's own). */
    abstract void saveArgs(Map<String, Object> state);

    /**
     * A rule with the arguments (and state) of a snapshot, checked as the constructor checks
     * them, for a load: PyTorch's {@code load_state_dict} takes every attribute from the state.
     * Functions, which a state cannot hold, come from this rule.
     */
    abstract Rule loadArgs(State.Reader in, LRScheduler s);

    /** PyTorch's {@code get_lr()} at {@code s.lastEpoch}: the chainable form where it has one. */
    abstract double[] getLr(LRScheduler s);

    /** PyTorch's {@code _get_closed_form_lr()}, or null for a scheduler that has none. */
    double[] closedForm(LRScheduler s) {
        return null;
    }

    /**
     * The constructor's work ({@code LRScheduler.__init__}): every group's initial lr is its
     * base lr; then the initial step.
     */
    void init(LRScheduler s) {
        s.baseLrs = InitialLr.setDefault(s.set, s.groups);
        s.lastEpoch = -1;
        s.initialStep();
    }

    /** PyTorch's {@code step()}. */
    void step(LRScheduler s) {
        s.stepCount++;
        s.updateLr();
    }

    /** SequentialLR's {@code recursive_undo} on this scheduler. */
    void undo(LRScheduler s) {
        s.lastEpoch--;
    }

    /** The schedulers this one drives (SequentialLR, ChainedScheduler). */
    List<LRScheduler> children() {
        return List.of();
    }

    int lastEpoch(LRScheduler s) {
        return s.lastEpoch;
    }

    /** Whether the scheduler sets momentum or betas[0] (its state then has _last_momentum). */
    boolean cyclesMomentum() {
        return false;
    }

    /** The settings as {@code key=value, ...}, for toString(). */
    String describe() {
        Map<String, Object> args = new LinkedHashMap<>();
        saveArgs(args);
        List<String> parts = new ArrayList<>();
        args.forEach((k, v) -> parts.add(k + "=" + Py.repr(v)));
        return String.join(", ", parts);
    }

    /** The state dict: the arguments and PyTorch's common entries. */
    Map<String, Object> save(LRScheduler s) {
        Map<String, Object> state = State.of(s.type());
        saveArgs(state);
        state.put("base_lrs", State.numbers(s.baseLrs));
        state.put("last_epoch", (long) s.lastEpoch);
        state.put("_step_count", (long) s.stepCount);
        state.put("_last_lr", State.numbers(s.lastLr));
        if (s.lastMomentum != null) {
            state.put("_last_momentum", State.numbers(s.lastMomentum));
        }
        return state;
    }

    /** Checks a state dict completely; the returned action loads it and cannot fail. */
    Runnable prepareLoad(LRScheduler s, Map<String, Object> state) {
        State.Reader in = new State.Reader(state, s.type());
        Rule next = loadArgs(in, s);
        double[] baseLrs = in.numbers("base_lrs", s.groups);
        int lastEpoch = in.integer("last_epoch");
        int stepCount = in.integer("_step_count");
        double[] lastLr = in.numbers("_last_lr", s.groups);
        double[] lastMomentum = next.cyclesMomentum() ? in.numbers("_last_momentum", s.groups) : null;
        in.done();
        return () -> {
            s.rule = next;
            s.baseLrs = baseLrs;
            s.lastEpoch = lastEpoch;
            s.stepCount = stepCount;
            s.lastLr = lastLr;
            s.lastMomentum = lastMomentum;
        };
    }
}

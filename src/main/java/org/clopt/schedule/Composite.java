package org.clopt.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.clopt.ParameterSet;

/** What SequentialLR and ChainedScheduler share: schedulers of the same set, driven and saved by one. */
abstract class Composite extends Rule {
    final List<LRScheduler> children;

    Composite(String type, ParameterSet set, List<? extends LRScheduler> schedulers) {
        Check.notNull(type, "schedulers", schedulers);
        Check.notNull(type, "set", set);
        if (schedulers.isEmpty()) {
            throw new IllegalArgumentException(type + ": expects at least one scheduler, got none");
        }
        for (int i = 0; i < schedulers.size(); i++) {
            LRScheduler s = schedulers.get(i);
            Check.notNull(type, "schedulers[" + i + "]", s);
            if (s.set != set) {
                throw new IllegalArgumentException(type + ": scheduler " + i + " (" + s.type()
                        + ") belongs to another parameter set; all must belong to this one");
            }
            if (s.groups != set.groupCount()) {
                throw new IllegalArgumentException(type + ": scheduler " + i + " (" + s.type() + ") governs "
                        + s.groups + " groups, the set has " + set.groupCount() + " now");
            }
            if (s.parent != null) {
                throw new IllegalArgumentException(type + ": scheduler " + i + " (" + s.type()
                        + ") is driven by a " + s.parent.type() + " already");
            }
        }
        this.children = List.copyOf(schedulers);
    }

    @Override
    List<LRScheduler> children() {
        return children;
    }

    /** recursive_undo: into the children, not this one. */
    @Override
    void undo(LRScheduler s) {
        children.forEach(c -> c.rule.undo(c));
    }

    /** Never called: a composite's {@code step} steps its children, which compute their lrs. */
    @Override
    double[] getLr(LRScheduler s) {
        throw new AssertionError(s.type() + " steps its schedulers; it computes no lr of its own");
    }

    @Override
    void saveArgs(Map<String, Object> state) {
    }

    @Override
    String describe() {
        return children.toString();
    }

    @Override
    Rule loadArgs(State.Reader in, LRScheduler s) {
        return this;
    }

    List<Map<String, Object>> childStates() {
        List<Map<String, Object>> states = new ArrayList<>();
        children.forEach(c -> states.add(c.stateDict()));
        return states;
    }

    /** Checks every child's state; the returned action loads them all. */
    List<Runnable> prepareChildren(State.Reader in) {
        List<Map<String, Object>> states = in.states("_schedulers", children.size());
        List<Runnable> loads = new ArrayList<>();
        for (int i = 0; i < children.size(); i++) {
            LRScheduler c = children.get(i);
            try {
                loads.add(c.rule.prepareLoad(c, states.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("scheduler " + i + ": " + e.getMessage(), e);
            }
        }
        return loads;
    }
}

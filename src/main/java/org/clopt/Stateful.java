package org.clopt;

import java.util.Map;

/**
 * Host state that lives beside a {@link ParameterSet} and is saved with it, such as a
 * learning-rate scheduler: {@link ParameterSet#attach attached} to the set, its
 * {@link #stateDict()} is part of every {@link ParameterSet#stateDict() set's state dict} and
 * checkpoint, in the order of attachment, and {@link ParameterSet#loadStateDict} restores it.
 *
 * <p>A snapshot is JSON data: a map whose values are {@link Number}s (finite), {@link String}s,
 * {@link Boolean}s, {@link java.util.List}s and maps of these. After a round trip through a
 * checkpoint a number may come back as another {@code Number} type with the same value (a
 * {@code double} that holds an integer as a {@code Long}); read numbers through
 * {@link Number#doubleValue()} or {@link Number#longValue()}. It must name its own kind under the
 * key {@code "type"}, so that a snapshot is never loaded into another kind of object.
 */
public interface Stateful {
    /**
     * A snapshot of the state, as JSON data with a {@code "type"} entry.
     *
     * @return a new map the caller may keep
     */
    Map<String, Object> stateDict();

    /**
     * Restores a snapshot taken by {@link #stateDict()} of an object of the same kind. Checks
     * everything before anything changes.
     *
     * @param state the snapshot
     * @throws IllegalArgumentException saying what does not fit; the object is then unchanged
     */
    void loadStateDict(Map<String, Object> state);

    /**
     * Called by the set at the start of each {@link ParameterSet#step()}, before anything is
     * enqueued: a scheduler whose schedule has run out refuses the step here.
     *
     * @throws IllegalStateException saying why the set may not step
     */
    default void beforeStep() {
    }

    /**
     * Whether the object takes its saved state as soon as it is attached to a set built from a
     * snapshot (see {@link ParameterSet#attach}), rather than at the set's first step: for state
     * needed before that step, such as a loss scaler's scale.
     *
     * @return true to load when attached; false (the default) to load at the first step
     */
    default boolean loadsWhenAttached() {
        return false;
    }
}

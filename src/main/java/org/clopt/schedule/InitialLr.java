package org.clopt.schedule;

import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;
import org.clopt.ParameterSet;

/**
 * PyTorch's {@code param_group["initial_lr"]}: the learning rate a group had when the first
 * scheduler of its set was made ({@code group.setdefault("initial_lr", group["lr"])}), which
 * every later scheduler of the set takes as its base lr, which OneCycleLR overwrites and to which
 * SequentialLR resets the groups. A clopt configuration holds only the optimizer's own
 * hyperparameters, so the value lives here, per set, for as long as the set is reachable.
 */
final class InitialLr {
    private static final Map<ParameterSet, double[]> BY_SET = new WeakHashMap<>();

    private InitialLr() {
    }

    /** {@code setdefault} for the first {@code groups} groups; their initial lrs. */
    static synchronized double[] setDefault(ParameterSet set, int groups) {
        double[] known = BY_SET.getOrDefault(set, new double[0]);
        if (known.length < groups) {
            double[] more = Arrays.copyOf(known, groups);
            for (int g = known.length; g < groups; g++) {
                more[g] = set.config(g).lr();
            }
            BY_SET.put(set, more);
            known = more;
        }
        return Arrays.copyOf(known, groups);
    }

    /** Overwrites the initial lrs of the first {@code values.length} groups (OneCycleLR). */
    static synchronized void put(ParameterSet set, double[] values) {
        setDefault(set, values.length);
        System.arraycopy(values, 0, BY_SET.get(set), 0, values.length);
    }

    /** The values now, or null if the set has none yet; for undoing a failed construction. */
    static synchronized double[] snapshot(ParameterSet set) {
        double[] known = BY_SET.get(set);
        return known == null ? null : known.clone();
    }

    static synchronized void restore(ParameterSet set, double[] snapshot) {
        if (snapshot == null) {
            BY_SET.remove(set);
        } else {
            BY_SET.put(set, snapshot.clone());
        }
    }
}

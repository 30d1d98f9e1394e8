package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.INTS;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.MultiStepLR}: decays each group's lr by {@code gamma} at each
 * milestone epoch.
 *
 * <pre>
 * chainable (step):   lr_t = lr_{t-1} * gamma ** count(t)    count(t): how often t is a milestone
 * closed form:        lr_t = base_lr * gamma ** bisect_right(sorted(milestones), t)
 * </pre>
 *
 * <p>Arguments: {@code milestones} (epoch indices; PyTorch's doc asks for them increasing and
 * counts a repeated one that many times), {@code gamma} = 0.1 (finite).
 */
public final class MultiStepLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("MultiStepLR",
            (set, a) -> new MultiStepLR(set, a.integers("milestones"), a.number("gamma")),
            Param.required("milestones", INTS), Param.optional("gamma", FLOAT, 0.1), Param.lastEpoch());

    /**
     * Decays by the default {@code gamma} = 0.1 at each milestone.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param milestones {@code milestones}: the epochs at which to decay
     * @throws IllegalArgumentException naming an invalid argument
     */
    public MultiStepLR(ParameterSet set, List<Integer> milestones) {
        this(set, milestones, SIGNATURE.args().number("gamma"));
    }

    /**
     * Decays by {@code gamma} at each milestone.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param milestones {@code milestones}: the epochs at which to decay
     * @param gamma {@code gamma}: the factor, finite
     * @throws IllegalArgumentException naming an invalid argument
     */
    public MultiStepLR(ParameterSet set, List<Integer> milestones, double gamma) {
        this(set, ints("MultiStepLR", milestones), gamma);
    }

    private MultiStepLR(ParameterSet set, int[] milestones, double gamma) {
        super(set, new Policy(milestones, gamma));
    }

    /** The milestones of a MultiStepLR or SequentialLR, none null. */
    static int[] ints(String type, List<Integer> values) {
        Check.notNull(type, "milestones", values);
        int[] ints = new int[values.size()];
        for (int i = 0; i < ints.length; i++) {
            ints[i] = Check.notNull(type, "milestones[" + i + "]", values.get(i));
        }
        return ints;
    }

    private static final class Policy extends Rule {
        final int[] milestones;
        final int[] sorted;
        final double gamma;

        Policy(int[] milestones, double gamma) {
            this.milestones = milestones.clone();
            this.sorted = milestones.clone();
            Arrays.sort(sorted);
            this.gamma = Check.finite("MultiStepLR", "gamma", gamma);
        }

        private int count(int epoch) {
            return (int) Arrays.stream(milestones).filter(m -> m == epoch).count();
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            int count = count(s.lastEpoch);
            if (count == 0) {
                return lrs;
            }
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = lrs[g] * Py.pow(gamma, count);
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = s.baseLrs[g] * Py.pow(gamma, Py.bisectRight(sorted, s.lastEpoch));
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("milestones", State.integers(milestones));
            state.put("gamma", State.number(gamma));
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.integers("milestones"), in.number("gamma"));
        }
    }
}

package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.StepLR}: decays each group's lr by {@code gamma} every
 * {@code step_size} epochs.
 *
 * <pre>
 * chainable (step):   lr_t = lr_{t-1} * gamma   if t &gt; 0 and t % step_size == 0
 *                     lr_t = lr_{t-1}           otherwise (and at construction, t = 0)
 * closed form:        lr_t = base_lr * gamma ** (t // step_size)
 * </pre>
 *
 * <p>Arguments: {@code step_size} (an integer &gt;= 1; PyTorch takes 0, then divides by it at the
 * first step), {@code gamma} = 0.1 (finite).
 */
public final class StepLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("StepLR",
            (set, a) -> new StepLR(set, a.integer("step_size"), a.number("gamma")),
            Param.required("step_size", INT), Param.optional("gamma", FLOAT, 0.1), Param.lastEpoch());

    /**
     * Decays by the default {@code gamma} = 0.1.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param stepSize {@code step_size}: the period of the decay, &gt;= 1
     * @throws IllegalArgumentException naming an invalid argument
     */
    public StepLR(ParameterSet set, int stepSize) {
        this(set, stepSize, SIGNATURE.args().number("gamma"));
    }

    /**
     * Decays by {@code gamma} every {@code stepSize} epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param stepSize {@code step_size}: the period of the decay, &gt;= 1
     * @param gamma {@code gamma}: the factor, finite
     * @throws IllegalArgumentException naming an invalid argument
     */
    public StepLR(ParameterSet set, int stepSize, double gamma) {
        super(set, new Policy(stepSize, gamma));
    }

    private static final class Policy extends Rule {
        final int stepSize;
        final double gamma;

        Policy(int stepSize, double gamma) {
            this.stepSize = Check.atLeast("StepLR", "step_size", stepSize, 1);
            this.gamma = Check.finite("StepLR", "gamma", gamma);
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            if (s.lastEpoch == 0 || s.lastEpoch % stepSize != 0) {
                return lrs;
            }
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = lrs[g] * gamma;
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = s.baseLrs[g] * Py.pow(gamma, Math.floorDiv(s.lastEpoch, stepSize));
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("step_size", (long) stepSize);
            state.put("gamma", State.number(gamma));
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.integer("step_size"), in.number("gamma"));
        }
    }
}

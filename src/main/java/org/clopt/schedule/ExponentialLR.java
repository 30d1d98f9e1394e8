package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.ExponentialLR}: decays each group's lr by {@code gamma} every
 * epoch.
 *
 * <pre>
 * chainable (step):   lr_t = lr_{t-1} * gamma       (the constructor's initial step keeps lr)
 * closed form:        lr_t = base_lr * gamma ** t
 * </pre>
 *
 * <p>Argument: {@code gamma} (finite).
 */
public final class ExponentialLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("ExponentialLR",
            (set, a) -> new ExponentialLR(set, a.number("gamma")),
            Param.required("gamma", FLOAT), Param.lastEpoch());

    /**
     * Decays by {@code gamma} every epoch.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param gamma {@code gamma}: the factor, finite
     * @throws IllegalArgumentException naming an invalid argument
     */
    public ExponentialLR(ParameterSet set, double gamma) {
        super(set, new Policy(gamma));
    }

    private static final class Policy extends Rule {
        final double gamma;

        Policy(double gamma) {
            this.gamma = Check.finite("ExponentialLR", "gamma", gamma);
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            if (!s.initial) {
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = lrs[g] * gamma;
                }
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = s.baseLrs[g] * Py.pow(gamma, s.lastEpoch);
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("gamma", State.number(gamma));
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.number("gamma"));
        }
    }
}

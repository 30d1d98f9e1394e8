package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOATS;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Floats;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.CosineAnnealingLR}: anneals each group's lr from its base lr
 * to {@code eta_min} along a half cosine over {@code T_max} epochs, then back up, periodically
 * (the cosine annealing of SGDR, without restarts).
 *
 * <pre>
 * chainable (step), as PyTorch computes it:
 *   lr_0 = lr                                                                (construction)
 *   lr_t = lr_{t-1} + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2       if (t - 1 - T_max) % (2 T_max) == 0
 *   lr_t = (1 + cos(pi * t / T_max)) / (1 + cos(pi * (t - 1) / T_max)) * (lr_{t-1} - eta_min) + eta_min
 *                                                                            otherwise
 * closed form:
 *   lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2
 * </pre>
 *
 * <p>Chained with another schedule that lowers the lr below {@code eta_min}, the recursive form
 * can overshoot below zero; PyTorch then sets a negative lr, clopt's step fails (see
 * {@link LRScheduler}).
 *
 * <p>Arguments: {@code T_max}, an integer &gt;= 1 (PyTorch takes 0, then divides by it at the
 * first step); {@code eta_min} = 0.0, finite. clopt also takes {@code eta_min} as one value per
 * group, which runs each group as PyTorch runs a group with that {@code eta_min}.
 */
public final class CosineAnnealingLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("CosineAnnealingLR",
            (set, a) -> new CosineAnnealingLR(set, a.integer("T_max"), a.floats("eta_min")),
            Param.required("T_max", INT), Param.optional("eta_min", FLOATS, Floats.scalar(0.0)), Param.lastEpoch());

    /**
     * Anneals to 0 over {@code tMax} epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param tMax {@code T_max}: the half period in epochs, &gt;= 1
     * @throws IllegalArgumentException naming an invalid argument
     */
    public CosineAnnealingLR(ParameterSet set, int tMax) {
        this(set, tMax, SIGNATURE.args().floats("eta_min"));
    }

    /**
     * Anneals to {@code etaMin} over {@code tMax} epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param tMax {@code T_max}: the half period in epochs, &gt;= 1
     * @param etaMin {@code eta_min}: the lowest lr, finite
     * @throws IllegalArgumentException naming an invalid argument
     */
    public CosineAnnealingLR(ParameterSet set, int tMax, double etaMin) {
        this(set, tMax, Floats.scalar(etaMin));
    }

    /**
     * Anneals group g to {@code etaMins[g]} over {@code tMax} epochs (a clopt extension).
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param tMax {@code T_max}: the half period in epochs, &gt;= 1
     * @param etaMins {@code eta_min} of each group, finite
     * @throws IllegalArgumentException naming an invalid argument, or if there is not one
     *     {@code eta_min} per group
     */
    public CosineAnnealingLR(ParameterSet set, int tMax, double[] etaMins) {
        this(set, tMax, Floats.list(Check.notNull("CosineAnnealingLR", "eta_min", etaMins)));
    }

    private CosineAnnealingLR(ParameterSet set, int tMax, Floats etaMin) {
        super(set, new Policy(tMax, etaMin, set.groupCount()));
    }

    private static final class Policy extends Rule {
        final int tMax;
        final Floats given;
        final double[] etaMin;

        Policy(int tMax, Floats etaMin, int groups) {
            this.tMax = Check.atLeast("CosineAnnealingLR", "T_max", tMax, 1);
            this.given = etaMin;
            this.etaMin = etaMin.perGroup("CosineAnnealingLR", "eta_min", groups);
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            int e = s.lastEpoch;
            if (s.initial) {
                return lrs;
            }
            if (s.stepCount == 1 && e > 0) {
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = etaMin[g] + (s.baseLrs[g] - etaMin[g]) * (1 + Math.cos(e * Math.PI / tMax)) / 2;
                }
            } else if (Math.floorMod((long) e - 1 - tMax, 2L * tMax) == 0) {
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = lrs[g] + (s.baseLrs[g] - etaMin[g]) * (1 - Math.cos(Math.PI / tMax)) / 2;
                }
            } else {
                double ratio = Py.div(1 + Math.cos(Math.PI * e / tMax), 1 + Math.cos(Math.PI * (e - 1) / tMax));
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = ratio * (lrs[g] - etaMin[g]) + etaMin[g];
                }
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = etaMin[g] + (s.baseLrs[g] - etaMin[g]) * (1 + Math.cos(Math.PI * s.lastEpoch / tMax)) / 2;
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("T_max", (long) tMax);
            state.put("eta_min", given.isList() ? State.numbers(etaMin) : State.number(etaMin[0]));
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.integer("T_max"), in.floats("eta_min", s.groups), s.groups);
        }
    }
}

package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOATS;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Floats;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.CosineAnnealingWarmRestarts}: SGDR, cosine annealing from
 * each group's base lr to {@code eta_min} over {@code T_i} epochs, then a restart at the base lr
 * with {@code T_i} multiplied by {@code T_mult}.
 *
 * <pre>
 * at construction:  T_cur = 0, T_i = T_0
 * step:             T_cur = T_cur + 1;  if T_cur &gt;= T_i:  T_cur = T_cur % T_i;  T_i = T_i * T_mult
 * lr:               lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2
 * </pre>
 *
 * <p>This schedule is not chainable: each lr is computed from the base lr. Arguments:
 * {@code T_0}, an integer &gt;= 1; {@code T_mult} = 1, an integer &gt;= 1; {@code eta_min} = 0.0,
 * finite (clopt also takes one per group, as {@link CosineAnnealingLR} does). PyTorch's
 * {@code step(epoch)} with a fractional epoch is not supported.
 */
public final class CosineAnnealingWarmRestarts extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("CosineAnnealingWarmRestarts",
            (set, a) -> new CosineAnnealingWarmRestarts(set, a.integer("T_0"), a.integer("T_mult"), a.floats("eta_min")),
            Param.required("T_0", INT), Param.optional("T_mult", INT, 1),
            Param.optional("eta_min", FLOATS, Floats.scalar(0.0)), Param.lastEpoch());

    /**
     * Restarts every {@code t0} epochs, annealing to 0.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param t0 {@code T_0}: the epochs until the first restart, &gt;= 1
     * @throws IllegalArgumentException naming an invalid argument
     */
    public CosineAnnealingWarmRestarts(ParameterSet set, int t0) {
        this(set, t0, SIGNATURE.args().integer("T_mult"), SIGNATURE.args().floats("eta_min"));
    }

    /**
     * Restarts after {@code t0}, then {@code t0 * tMult}, ... epochs, annealing to {@code etaMin}.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param t0 {@code T_0}: the epochs until the first restart, &gt;= 1
     * @param tMult {@code T_mult}: the factor of the period at each restart, &gt;= 1
     * @param etaMin {@code eta_min}: the lowest lr, finite
     * @throws IllegalArgumentException naming an invalid argument
     */
    public CosineAnnealingWarmRestarts(ParameterSet set, int t0, int tMult, double etaMin) {
        this(set, t0, tMult, Floats.scalar(etaMin));
    }

    /**
     * As {@link #CosineAnnealingWarmRestarts(ParameterSet, int, int, double)} with one
     * {@code eta_min} per group (a clopt extension).
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param t0 {@code T_0}: the epochs until the first restart, &gt;= 1
     * @param tMult {@code T_mult}: the factor of the period at each restart, &gt;= 1
     * @param etaMins {@code eta_min} of each group, finite
     * @throws IllegalArgumentException naming an invalid argument, or if there is not one
     *     {@code eta_min} per group
     */
    public CosineAnnealingWarmRestarts(ParameterSet set, int t0, int tMult, double[] etaMins) {
        this(set, t0, tMult, Floats.list(Check.notNull("CosineAnnealingWarmRestarts", "eta_min", etaMins)));
    }

    private CosineAnnealingWarmRestarts(ParameterSet set, int t0, int tMult, Floats etaMin) {
        super(set, new Policy(t0, tMult, etaMin, set.groupCount(), t0, -1));
    }

    private static final class Policy extends Rule {
        final int t0;
        final int tMult;
        final Floats given;
        final double[] etaMin;
        long tI;
        long tCur;

        Policy(int t0, int tMult, Floats etaMin, int groups, long tI, long tCur) {
            this.t0 = Check.atLeast("CosineAnnealingWarmRestarts", "T_0", t0, 1);
            this.tMult = Check.atLeast("CosineAnnealingWarmRestarts", "T_mult", tMult, 1);
            this.given = etaMin;
            this.etaMin = etaMin.perGroup("CosineAnnealingWarmRestarts", "eta_min", groups);
            if (tI < 1 || tCur < -1 || tCur >= tI) {
                throw new IllegalArgumentException("CosineAnnealingWarmRestarts: invalid T_i " + tI + " and T_cur "
                        + tCur + " (must be T_i >= 1 and -1 <= T_cur < T_i)");
            }
            this.tI = tI;
            this.tCur = tCur;
        }

        /** PyTorch's step(): its own, which counts no step. */
        @Override
        void step(LRScheduler s) {
            int epoch;
            if (s.lastEpoch < 0) {
                epoch = 0;
                tI = t0;
                tCur = 0;
            } else {
                epoch = Math.addExact(s.lastEpoch, 1);
                tCur = tCur + 1;
                if (tCur >= tI) {
                    tCur = tCur % tI;
                    tI = Math.multiplyExact(tI, (long) tMult);
                }
            }
            s.lastEpoch = epoch;
            s.apply(getLr(s));
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = etaMin[g] + (s.baseLrs[g] - etaMin[g]) * (1 + Math.cos(Math.PI * tCur / tI)) / 2;
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("T_0", (long) t0);
            state.put("T_mult", (long) tMult);
            state.put("eta_min", given.isList() ? State.numbers(etaMin) : State.number(etaMin[0]));
            state.put("T_i", tI);
            state.put("T_cur", tCur);
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.integer("T_0"), in.integer("T_mult"), in.floats("eta_min", s.groups), s.groups,
                    in.longInteger("T_i"), in.longInteger("T_cur"));
        }
    }
}

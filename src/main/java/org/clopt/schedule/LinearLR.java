package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.LinearLR}: multiplies each group's lr by a factor that goes
 * linearly from {@code start_factor} to {@code end_factor} over {@code total_iters} epochs.
 *
 * <pre>
 * chainable (step):   lr_0 = lr * start_factor                                   (construction)
 *                     lr_t = lr_{t-1} * (1.0 + (end_factor - start_factor)
 *                            / (total_iters * start_factor + (t - 1) * (end_factor - start_factor)))
 *                                                                    for 0 &lt; t &lt;= total_iters
 *                     lr_t = lr_{t-1}                                for t &gt; total_iters
 * closed form:        lr_t = base_lr * (start_factor
 *                            + (end_factor - start_factor) * min(total_iters, t) / total_iters)
 * </pre>
 *
 * <p>Arguments: {@code start_factor} = 1/3, in (0, 1] (upstream PyTorch refuses 0, which 1.13
 * took); {@code end_factor} = 1.0, in [0, 1]; {@code total_iters} = 5.
 */
public final class LinearLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("LinearLR",
            (set, a) -> new LinearLR(set, a.number("start_factor"), a.number("end_factor"), a.integer("total_iters")),
            Param.optional("start_factor", FLOAT, 1.0 / 3), Param.optional("end_factor", FLOAT, 1.0),
            Param.optional("total_iters", INT, 5), Param.lastEpoch());

    /**
     * With the defaults: from 1/3 to 1 over 5 epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     */
    public LinearLR(ParameterSet set) {
        this(set, SIGNATURE.args().number("start_factor"), SIGNATURE.args().number("end_factor"),
                SIGNATURE.args().integer("total_iters"));
    }

    /**
     * From {@code startFactor} to {@code endFactor} over {@code totalIters} epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param startFactor {@code start_factor}, in (0, 1]
     * @param endFactor {@code end_factor}, in [0, 1]
     * @param totalIters {@code total_iters}
     * @throws IllegalArgumentException naming an invalid argument
     */
    public LinearLR(ParameterSet set, double startFactor, double endFactor, int totalIters) {
        super(set, new Policy(startFactor, endFactor, totalIters));
    }

    private static final class Policy extends Rule {
        final double startFactor;
        final double endFactor;
        final int totalIters;

        Policy(double startFactor, double endFactor, int totalIters) {
            this.startFactor = Check.between("LinearLR", "start_factor", startFactor, 0, true, 1);
            this.endFactor = Check.between("LinearLR", "end_factor", endFactor, 0, false, 1);
            this.totalIters = totalIters;
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            int e = s.lastEpoch;
            if (e == 0) {
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = lrs[g] * startFactor;
                }
                return lrs;
            }
            if (s.initial || e > totalIters) {
                return lrs;
            }
            double factor = 1.0 + Py.div(endFactor - startFactor,
                    totalIters * startFactor + (e - 1) * (endFactor - startFactor));
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = lrs[g] * factor;
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = s.baseLrs[g] * (startFactor
                        + Py.div((endFactor - startFactor) * Math.min(totalIters, s.lastEpoch), totalIters));
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("start_factor", State.number(startFactor));
            state.put("end_factor", State.number(endFactor));
            state.put("total_iters", (long) totalIters);
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.number("start_factor"), in.number("end_factor"), in.integer("total_iters"));
        }
    }
}

package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.ConstantLR}: multiplies each group's lr by {@code factor}
 * until epoch {@code total_iters}, then restores it.
 *
 * <pre>
 * chainable (step):   lr_0 = lr * factor                     (at construction)
 *                     lr_t = lr_{t-1} * (1.0 / factor)       if t == total_iters
 *                     lr_t = lr_{t-1}                        otherwise
 * closed form:        lr_t = base_lr * (factor + (1 - factor if t &gt;= total_iters else 0))
 * </pre>
 *
 * <p>Arguments: {@code factor} = 1/3, in [0, 1] (with 0, PyTorch's step at {@code total_iters}
 * divides by zero, and so does this one); {@code total_iters} = 5.
 */
public final class ConstantLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("ConstantLR",
            (set, a) -> new ConstantLR(set, a.number("factor"), a.integer("total_iters")),
            Param.optional("factor", FLOAT, 1.0 / 3), Param.optional("total_iters", INT, 5), Param.lastEpoch());

    /**
     * With the defaults: {@code factor} = 1/3 for {@code total_iters} = 5 epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     */
    public ConstantLR(ParameterSet set) {
        this(set, SIGNATURE.args().number("factor"), SIGNATURE.args().integer("total_iters"));
    }

    /**
     * Multiplies by {@code factor} for {@code totalIters} epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param factor {@code factor}, in [0, 1]
     * @param totalIters {@code total_iters}: the epoch at which the lr is restored
     * @throws IllegalArgumentException naming an invalid argument
     */
    public ConstantLR(ParameterSet set, double factor, int totalIters) {
        super(set, new Policy(factor, totalIters));
    }

    private static final class Policy extends Rule {
        final double factor;
        final int totalIters;

        Policy(double factor, int totalIters) {
            this.factor = Check.between("ConstantLR", "factor", factor, 0, false, 1);
            this.totalIters = totalIters;
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            if (s.lastEpoch == 0) {
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = lrs[g] * factor;
                }
            } else if (s.lastEpoch == totalIters) {
                for (int g = 0; g < lrs.length; g++) {
                    lrs[g] = lrs[g] * Py.div(1.0, factor);
                }
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = s.baseLrs[g] * (factor + (s.lastEpoch >= totalIters ? 1 - factor : 0.0));
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("factor", State.number(factor));
            state.put("total_iters", (long) totalIters);
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.number("factor"), in.integer("total_iters"));
        }
    }
}

package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FLOAT;
import static org.clopt.schedule.Signature.Kind.INT;

import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.PolynomialLR}: decays each group's lr to 0 over
 * {@code total_iters} epochs along a polynomial of degree {@code power}.
 *
 * <pre>
 * chainable (step):   lr_t = lr_{t-1} * ((1.0 - t / total_iters) / (1.0 - (t - 1) / total_iters)) ** power
 *                                                                    for 0 &lt; t &lt;= total_iters
 *                     lr_t = lr_{t-1}                                otherwise
 * closed form:        lr_t = base_lr * (1.0 - min(total_iters, t) / total_iters) ** power
 * </pre>
 *
 * <p>Arguments: {@code total_iters} = 5, {@code power} = 1.0 (finite).
 */
public final class PolynomialLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.of("PolynomialLR",
            (set, a) -> new PolynomialLR(set, a.integer("total_iters"), a.number("power")),
            Param.optional("total_iters", INT, 5), Param.optional("power", FLOAT, 1.0), Param.lastEpoch());

    /**
     * With the defaults: linear decay over 5 epochs.
     *
     * @param set the parameter set whose groups' lrs it sets
     */
    public PolynomialLR(ParameterSet set) {
        this(set, SIGNATURE.args().integer("total_iters"), SIGNATURE.args().number("power"));
    }

    /**
     * Decays over {@code totalIters} epochs with {@code power}.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param totalIters {@code total_iters}: the epochs until the lr is 0
     * @param power {@code power}: the polynomial's degree, finite
     * @throws IllegalArgumentException naming an invalid argument
     */
    public PolynomialLR(ParameterSet set, int totalIters, double power) {
        super(set, new Policy(totalIters, power));
    }

    private static final class Policy extends Rule {
        final int totalIters;
        final double power;

        Policy(int totalIters, double power) {
            this.totalIters = totalIters;
            this.power = Check.finite("PolynomialLR", "power", power);
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = s.lrs();
            int e = s.lastEpoch;
            if (s.initial || e > totalIters) {
                return lrs;
            }
            double decay = Py.pow(Py.div(1.0 - Py.div(e, totalIters), 1.0 - Py.div(e - 1, totalIters)), power);
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = lrs[g] * decay;
            }
            return lrs;
        }

        @Override
        double[] closedForm(LRScheduler s) {
            double[] lrs = new double[s.groups];
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = s.baseLrs[g] * Py.pow(1.0 - Py.div(Math.min(totalIters, s.lastEpoch), totalIters), power);
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            state.put("total_iters", (long) totalIters);
            state.put("power", State.number(power));
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return new Policy(in.integer("total_iters"), in.number("power"));
        }
    }
}

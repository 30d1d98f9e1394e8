package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FUNCTION;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.IntToDoubleFunction;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.LambdaLR}: sets each group's lr to its base lr times a
 * function of the epoch.
 *
 * <pre>
 * lr_t = base_lr * lr_lambda(t)          (lr_lambda of the group; also at construction, t = 0)
 * </pre>
 *
 * <p>This schedule is not chainable. The functions are Java functions of the epoch, one for
 * every group or one per group; like PyTorch, which saves no plain function, the state dict
 * holds none: make the scheduler with the same functions to resume. It cannot be made from a
 * text spec.
 */
public final class LambdaLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.javaOnly("LambdaLR",
            "LambdaLR needs a Java function (lr_lambda), which text cannot give: make it with new LambdaLR(set, ...)",
            Param.required("lr_lambda", FUNCTION), Param.lastEpoch());

    /**
     * One function for every group.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param lrLambda {@code lr_lambda}: the factor of the base lr at each epoch
     * @throws IllegalArgumentException if the function is null or a value it gives is refused
     */
    public LambdaLR(ParameterSet set, IntToDoubleFunction lrLambda) {
        this(set, Collections.nCopies(set.groupCount(), Check.notNull("LambdaLR", "lr_lambda", lrLambda)));
    }

    /**
     * One function per group.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param lrLambdas {@code lr_lambda} of each group, in group order
     * @throws IllegalArgumentException if there is not one function per group, one is null or a
     *     value one gives is refused
     */
    public LambdaLR(ParameterSet set, List<? extends IntToDoubleFunction> lrLambdas) {
        super(set, new Policy("LambdaLR", set, lrLambdas, false));
    }

    /** LambdaLR's and MultiplicativeLR's rule; {@code multiplicative} tells which. */
    static final class Policy extends Rule {
        final String type;
        final List<IntToDoubleFunction> lambdas;
        final boolean multiplicative;

        Policy(String type, ParameterSet set, List<? extends IntToDoubleFunction> lambdas, boolean multiplicative) {
            this.type = type;
            Check.notNull(type, "lr_lambda", lambdas);
            if (lambdas.size() != set.groupCount()) {
                throw new IllegalArgumentException(type + ": expected " + set.groupCount() + " lr_lambdas (one per"
                        + " parameter group), got " + lambdas.size());
            }
            for (int g = 0; g < lambdas.size(); g++) {
                Check.notNull(type, "lr_lambda[" + g + "]", lambdas.get(g));
            }
            this.lambdas = List.copyOf(lambdas);
            this.multiplicative = multiplicative;
        }

        @Override
        double[] getLr(LRScheduler s) {
            double[] lrs = multiplicative ? s.lrs() : s.baseLrs.clone();
            if (multiplicative && s.initial) {
                return lrs;
            }
            for (int g = 0; g < lrs.length; g++) {
                lrs[g] = lrs[g] * lambdas.get(g).applyAsDouble(s.lastEpoch);
            }
            return lrs;
        }

        @Override
        void saveArgs(Map<String, Object> state) {
            // The functions: PyTorch saves None for a plain function, JSON none at all.
        }

        @Override
        Rule loadArgs(State.Reader in, LRScheduler s) {
            return this;
        }
    }
}

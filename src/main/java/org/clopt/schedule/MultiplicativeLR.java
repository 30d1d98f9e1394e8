package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FUNCTION;

import java.util.Collections;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.MultiplicativeLR}: multiplies each group's lr by a function of
 * the epoch at every step.
 *
 * <pre>
 * chainable (step):   lr_t = lr_{t-1} * lr_lambda(t)       (the constructor's initial step keeps lr)
 * </pre>
 *
 * <p>There is no closed form: at a {@link SequentialLR} milestone (epoch 0) it multiplies by
 * {@code lr_lambda(0)}, as upstream PyTorch does (1.13 kept the lr). The functions are Java
 * functions of the epoch, one for every group or one per group; like PyTorch, which saves no
 * plain function, the state dict holds none: make the scheduler with the same functions to
 * resume. It cannot be made from a text spec.
 */
public final class MultiplicativeLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.javaOnly("MultiplicativeLR",
            "MultiplicativeLR needs a Java function (lr_lambda), which text cannot give: make it with "
                    + "new MultiplicativeLR(set, ...)",
            Param.required("lr_lambda", FUNCTION), Param.lastEpoch());

    /**
     * One function for every group.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param lrLambda {@code lr_lambda}: the factor of the lr at each step
     * @throws IllegalArgumentException if the function is null or a value it gives is refused
     */
    public MultiplicativeLR(ParameterSet set, IntToDoubleFunction lrLambda) {
        this(set, Collections.nCopies(set.groupCount(), Check.notNull("MultiplicativeLR", "lr_lambda", lrLambda)));
    }

    /**
     * One function per group.
     *
     * @param set the parameter set whose groups' lrs it sets
     * @param lrLambdas {@code lr_lambda} of each group, in group order
     * @throws IllegalArgumentException if there is not one function per group, one is null or a
     *     value one gives is refused
     */
    public MultiplicativeLR(ParameterSet set, List<? extends IntToDoubleFunction> lrLambdas) {
        super(set, new LambdaLR.Policy("MultiplicativeLR", set, lrLambdas, true));
    }
}

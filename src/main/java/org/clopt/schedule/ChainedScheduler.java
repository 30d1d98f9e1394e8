package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FUNCTION;

import java.util.List;
import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.ChainedScheduler}: steps all its schedulers, in order, at each
 * step, so that chainable schedules compose (each multiplies the lr the previous one set).
 *
 * <pre>
 * construction:  nothing is stepped (each scheduler took its initial step when made)
 * step:          for scheduler in schedulers: scheduler.step()
 * </pre>
 *
 * <p>The schedulers must be made on the same set, before this one; it
 * {@link ParameterSet#detach detaches} them, drives them (stepping one directly is then an
 * error) and saves their states inside its own, under {@code _schedulers}. A
 * {@link ReduceLROnPlateau} cannot be one. PyTorch's ChainedScheduler has no {@code last_epoch}:
 * {@link #lastEpoch()} is the last scheduler's. As text, a ChainedScheduler is several specs
 * without milestones ({@link Schedulers#of}).
 */
public final class ChainedScheduler extends LRScheduler {
    static final Signature SIGNATURE = Signature.javaOnly("ChainedScheduler",
            "ChainedScheduler takes schedulers: give them as several specs without milestones",
            Param.required("schedulers", FUNCTION));

    /**
     * Chains {@code schedulers}.
     *
     * @param set the parameter set all the schedulers were made on
     * @param schedulers the schedulers, made on {@code set} and driven by no other
     * @throws IllegalArgumentException naming what does not fit
     */
    public ChainedScheduler(ParameterSet set, List<? extends LRScheduler> schedulers) {
        super(set, new Policy(set, schedulers));
    }

    private static final class Policy extends Composite {
        Policy(ParameterSet set, List<? extends LRScheduler> schedulers) {
            super("ChainedScheduler", set, schedulers);
        }

        @Override
        void init(LRScheduler s) {
            s.lastLr = s.lrs();
        }

        @Override
        void step(LRScheduler s) {
            for (LRScheduler child : children) {
                child.rule.step(child);
            }
            s.lastLr = s.lrs();
        }

        @Override
        int lastEpoch(LRScheduler s) {
            LRScheduler last = children.get(children.size() - 1);
            return last.rule.lastEpoch(last);
        }

        @Override
        Map<String, Object> save(LRScheduler s) {
            Map<String, Object> state = State.of(s.type());
            state.put("_last_lr", State.numbers(s.lastLr));
            state.put("_schedulers", childStates());
            return state;
        }

        @Override
        Runnable prepareLoad(LRScheduler s, Map<String, Object> state) {
            State.Reader in = new State.Reader(state, s.type());
            double[] lastLr = in.numbers("_last_lr", s.groups);
            List<Runnable> loads = prepareChildren(in);
            in.done();
            return () -> {
                s.lastLr = lastLr;
                loads.forEach(Runnable::run);
            };
        }
    }
}

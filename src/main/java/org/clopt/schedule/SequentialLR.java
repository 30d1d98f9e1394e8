package org.clopt.schedule;

import static org.clopt.schedule.Signature.Kind.FUNCTION;
import static org.clopt.schedule.Signature.Kind.INTS;

import java.util.List;
import java.util.Map;
import org.clopt.ParameterSet;
import org.clopt.schedule.Signature.Param;

/**
 * {@code torch.optim.lr_scheduler.SequentialLR}: runs its schedulers one after another, switching
 * at each milestone epoch.
 *
 * <pre>
 * construction:  each group's lr = its initial_lr; every scheduler's last_epoch -= 1 (recursively
 *                into a ChainedScheduler's); schedulers[0] takes its initial step; last_epoch = 0
 * step:          last_epoch += 1;  i = bisect_right(milestones, last_epoch)
 *                if i &gt; 0 and milestones[i - 1] == last_epoch:  schedulers[i] at epoch 0, by its
 *                    closed form where it has one (else its get_lr()), without counting a step
 *                else:  schedulers[i].step()
 * </pre>
 *
 * <p>This is upstream PyTorch's SequentialLR (1.13 undid one level and stepped the next
 * scheduler with {@code step(0)}). The schedulers must be made on the same set, before this one;
 * it {@link ParameterSet#detach detaches} them, drives them (stepping one directly is then an
 * error) and saves their states inside its own, under {@code _schedulers}. A
 * {@link ReduceLROnPlateau} cannot be one (it needs a metric). Only the first scheduler may be a
 * SequentialLR or ChainedScheduler: PyTorch raises NotImplementedError at the milestone of a
 * later one, and clopt refuses it at once. There must be one milestone fewer than schedulers.
 * As text, a SequentialLR is several specs with milestones ({@link Schedulers#of}).
 */
public final class SequentialLR extends LRScheduler {
    static final Signature SIGNATURE = Signature.javaOnly("SequentialLR",
            "SequentialLR takes schedulers: give them as several specs with milestones",
            Param.required("schedulers", FUNCTION), Param.required("milestones", INTS), Param.lastEpoch());

    /**
     * Runs {@code schedulers[0]} until {@code milestones[0]}, then {@code schedulers[1]}, and so on.
     *
     * @param set the parameter set all the schedulers were made on
     * @param schedulers the schedulers, made on {@code set} and driven by no other
     * @param milestones the epochs at which the next scheduler takes over, one fewer than schedulers
     * @throws IllegalArgumentException naming what does not fit
     */
    public SequentialLR(ParameterSet set, List<? extends LRScheduler> schedulers, List<Integer> milestones) {
        super(set, new Policy(set, schedulers, ints(milestones)));
    }

    private static int[] ints(List<Integer> milestones) {
        return MultiStepLR.ints("SequentialLR", milestones);
    }

    private static final class Policy extends Composite {
        int[] milestones;

        Policy(ParameterSet set, List<? extends LRScheduler> schedulers, int[] milestones) {
            super("SequentialLR", set, schedulers);
            if (milestones.length != children.size() - 1) {
                throw new IllegalArgumentException("SequentialLR: expects one milestone fewer than schedulers, got "
                        + children.size() + " schedulers and " + milestones.length + " milestones");
            }
            for (int i = 1; i < children.size(); i++) {
                if (children.get(i).rule instanceof Composite) {
                    throw new IllegalArgumentException("SequentialLR: scheduler " + i + " is a "
                            + children.get(i).type() + ", which PyTorch cannot start at a milestone "
                            + "(NotImplementedError); only the first scheduler may be one");
                }
            }
            this.milestones = milestones.clone();
        }

        @Override
        void init(LRScheduler s) {
            s.lastEpoch = 0;
            double[] initial = InitialLr.setDefault(s.set, s.groups);
            for (int g = 0; g < s.groups; g++) {
                s.setLr(g, initial[g]);
            }
            undo(s);
            LRScheduler first = children.get(0);
            first.initialStep();
            s.lastLr = first.lastLr.clone();
        }

        @Override
        void step(LRScheduler s) {
            s.lastEpoch = Math.addExact(s.lastEpoch, 1);
            int i = Py.bisectRight(milestones, s.lastEpoch);
            LRScheduler child = children.get(i);
            if (i > 0 && milestones[i - 1] == s.lastEpoch) {
                child.updateLrAt(0);
            } else {
                child.rule.step(child);
            }
            s.lastLr = child.lastLr.clone();
        }

        @Override
        String describe() {
            return super.describe() + ", milestones=" + Py.repr(milestones);
        }

        @Override
        Map<String, Object> save(LRScheduler s) {
            Map<String, Object> state = State.of(s.type());
            state.put("_milestones", State.integers(milestones));
            state.put("last_epoch", (long) s.lastEpoch);
            state.put("_last_lr", State.numbers(s.lastLr));
            state.put("_schedulers", childStates());
            return state;
        }

        @Override
        Runnable prepareLoad(LRScheduler s, Map<String, Object> state) {
            State.Reader in = new State.Reader(state, s.type());
            int[] milestones = in.integers("_milestones");
            if (milestones.length != children.size() - 1) {
                throw in.bad("_milestones", "a list of " + (children.size() - 1) + " integers");
            }
            int lastEpoch = in.integer("last_epoch");
            double[] lastLr = in.numbers("_last_lr", s.groups);
            List<Runnable> loads = prepareChildren(in);
            in.done();
            return () -> {
                this.milestones = milestones;
                s.lastEpoch = lastEpoch;
                s.lastLr = lastLr;
                loads.forEach(Runnable::run);
            };
        }
    }
}

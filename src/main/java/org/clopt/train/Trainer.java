package org.clopt.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.clopt.Device;
import org.clopt.Dtype;
import org.clopt.GradScaler;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;

/**
 * The training loop of {@code train}: one workload with one optimizer, forward pass, backward
 * pass and optimizer step all on the device, the loss read back only at logging steps. In fp16
 * the loss is scaled by a {@link GradScaler} with PyTorch's defaults (fp16's range is too narrow
 * for small gradients); bf16, with fp32's range, steps without one, as is usual.
 */
public final class Trainer {
    /** The workload names, in the order {@code train} runs them. */
    public static final List<String> WORKLOADS = List.of("digits", "rosenbrock");

    private Trainer() {
    }

    /** Called after every step; {@code loss} is NaN except at logging steps. */
    public interface Listener {
        void stepped(String workload, String optimizer, int step, double loss);
    }

    /**
     * One run's figures.
     *
     * @param points the loss at each logging step
     * @param optimizerShare the optimizer step's share of the step time, sampled at logging steps
     * @param dtype the type of the parameters the passes read and of the gradients
     * @param skippedSteps the steps the GradScaler skipped for Inf or NaN gradients (0 without one)
     * @param lossScale the GradScaler's scale at the end, or NaN without one
     * @param heldOut the held-out loss after the optimizer step of each logging step, for a
     *     workload with held-out samples (none otherwise); the last one is that of the final
     *     parameters, whose accuracy is {@code accuracy}
     * @param heldOutAccuracy the held-out accuracy at the same steps (a point's {@code loss} is
     *     the accuracy)
     */
    public record Run(String workload, String optimizer, double firstLoss, double finalLoss,
                      double accuracy, double msPerStep, double optimizerShare,
                      List<LossReport.Point> points, List<LossReport.Point> rates,
                      Dtype dtype, int skippedSteps, double lossScale,
                      List<LossReport.Point> heldOut, List<LossReport.Point> heldOutAccuracy) {
    }

    /**
     * What wraps each step, in PyTorch's order (clip, step, schedule).
     *
     * @param schedule makes the run's scheduler on its set and returns its {@code step}; null
     *     for none. The learning rate is then recorded at each logging step.
     * @param maxNorm clip_grad_norm_'s max_norm, or null for no clipping
     * @param normType clip_grad_norm_'s norm_type
     */
    public record Mechanics(Function<ParameterSet, Runnable> schedule, Double maxNorm, double normType) {
        /** Plain steps. */
        public static final Mechanics NONE = new Mechanics(null, null, 2);
    }

    /**
     * Opens workload {@code name} (one of {@link #WORKLOADS}) on the device, its parameters and
     * gradients of type {@code dtype}: fp32, or bf16 or fp16 with fp32 master weights.
     */
    public static Workload open(String name, Device device, Dtype dtype, long seed) {
        switch (name) {
            case "digits":
                return new DigitsWorkload(device, dtype, seed);
            case "rosenbrock":
                return new RosenbrockWorkload(device, dtype);
            default:
                throw new IllegalArgumentException("unknown workload '" + name + "' (known: "
                        + String.join(", ", WORKLOADS) + ")");
        }
    }

    /**
     * The hyperparameters optimizer {@code optimizer} gets on workload {@code workload} (one of
     * {@link #WORKLOADS}): its learning rate there, PyTorch's defaults otherwise.
     */
    public static Map<String, String> settings(String workload, String optimizer) {
        return Workload.settings(workload.equals("digits") ? DigitsWorkload.LEARNING_RATES
                : RosenbrockWorkload.LEARNING_RATES, optimizer);
    }

    /**
     * About what a step of workload {@code name} costs, relative to a digits step: for a progress
     * estimate before the workload's own steps are timed (measured on POCL on a 2-core CPU, where
     * a Rosenbrock step, its million parameters at 0.4 to 1.6 ms, takes about half a digits step
     * in wall time, each run's setup included; the optimizer decides the rest: lamb's step takes
     * three times sgd's).
     *
     * @param name a workload name
     * @return the relative cost of one step
     */
    public static double costHint(String name) {
        return name.equals("rosenbrock") ? 0.5 : 1;
    }

    /** The number of steps workload {@code name} runs by default. */
    public static int defaultSteps(String name) {
        return name.equals("digits") ? DigitsWorkload.DEFAULT_STEPS : RosenbrockWorkload.DEFAULT_STEPS;
    }

    /**
     * Trains {@code work} with {@code optimizer} (a registry name, with the workload's learning
     * rate) for {@code steps} steps from the initial parameters of {@code seed}. At logging steps
     * a workload with held-out samples is evaluated on them after the optimizer step; that time is
     * left out of {@code msPerStep}.
     */
    public static Run train(Device device, Workload work, String optimizer, int steps, long seed,
                            Mechanics mechanics, Listener listener) {
        return train(device, work, optimizer, Map.of(), steps, seed, mechanics, listener);
    }

    /**
     * As {@link #train(Device, Workload, String, int, long, Mechanics, Listener)}, with
     * {@code settings} (hyperparameters as text, such as {@code state_dtype=bf16}) on top of the
     * workload's learning rate.
     */
    public static Run train(Device device, Workload work, String optimizer, Map<String, String> settings, int steps,
                            long seed, Mechanics mechanics, Listener listener) {
        Map<String, String> all = new java.util.LinkedHashMap<>(work.settings(optimizer));
        all.putAll(settings);
        OptimizerConfig config = OptimizerConfig.of(optimizer, all);
        ParameterSet.Builder builder = ParameterSet.builder().group(config, work.precision());
        work.addTensors(builder);
        List<LossReport.Point> points = new ArrayList<>();
        List<LossReport.Point> rates = new ArrayList<>();
        List<LossReport.Point> heldOut = new ArrayList<>();
        List<LossReport.Point> heldOutAccuracy = new ArrayList<>();
        long evaluationNs = 0;
        double gradientMs = 0;
        double optimizerMs = 0;
        int skipped = 0;
        try (ParameterSet set = builder.build(device)) {
            GradScaler scaler = work.dtype == Dtype.FP16 ? GradScaler.builder().build(set) : null;
            work.initialize(set, seed);
            Runnable schedule = mechanics.schedule() == null ? () -> { } : mechanics.schedule().apply(set);
            device.finish();
            long start = System.nanoTime();
            for (int step = 1; step <= steps; step++) {
                boolean log = step == 1 || step % work.logEvery() == 0 || step == steps;
                if (!log) {
                    work.gradients(set, step, scale(scaler));
                    skipped += step(set, scaler, mechanics) ? 0 : 1;
                    schedule.run();
                    listener.stepped(work.name(), optimizer, step, Double.NaN);
                    continue;
                }
                if (mechanics.schedule() != null) {
                    rates.add(new LossReport.Point(work.name(), optimizer, step, set.config(0).lr()));
                }
                // At a logging step the phases are timed apart (the loss read waits anyway):
                // forward and backward, then the loss (not counted), then the optimizer step.
                device.finish();
                long t0 = System.nanoTime();
                work.gradients(set, step, scale(scaler));
                device.finish();
                long t1 = System.nanoTime();
                double loss = work.loss();
                long t2 = System.nanoTime();
                skipped += step(set, scaler, mechanics) ? 0 : 1;
                device.finish();
                long t3 = System.nanoTime();
                Workload.HeldOut h = work.heldOut(set);
                if (h != null) {
                    heldOut.add(new LossReport.Point(work.name(), optimizer, step, h.loss()));
                    heldOutAccuracy.add(new LossReport.Point(work.name(), optimizer, step, h.accuracy()));
                    evaluationNs += System.nanoTime() - t3;
                }
                schedule.run();
                gradientMs += (t1 - t0) / 1e6;
                optimizerMs += (t3 - t2) / 1e6;
                points.add(new LossReport.Point(work.name(), optimizer, step, loss));
                listener.stepped(work.name(), optimizer, step, loss);
            }
            device.finish();
            long elapsed = System.nanoTime() - start - evaluationNs;
            double accuracy = heldOutAccuracy.isEmpty() ? work.accuracy(set)
                    : heldOutAccuracy.get(heldOutAccuracy.size() - 1).loss();
            return new Run(work.name(), optimizer, points.get(0).loss(),
                    points.get(points.size() - 1).loss(), accuracy, elapsed / 1e6 / steps,
                    optimizerMs / (gradientMs + optimizerMs), List.copyOf(points), List.copyOf(rates),
                    work.dtype, skipped, scaler == null ? Double.NaN : scaler.getScale(),
                    List.copyOf(heldOut), List.copyOf(heldOutAccuracy));
        }
    }

    private static float scale(GradScaler scaler) {
        return scaler == null ? 1f : scaler.getScale();
    }

    /**
     * Clips and steps, through the scaler if there is one (PyTorch's recipe: unscale before
     * clipping, so that max_norm applies to the true gradients); false if the step was skipped.
     */
    private static boolean step(ParameterSet set, GradScaler scaler, Mechanics mechanics) {
        if (scaler != null && mechanics.maxNorm() != null) {
            scaler.unscale();
        }
        if (mechanics.maxNorm() != null) {
            set.clipGradNorm(mechanics.maxNorm(), mechanics.normType(), false);
        }
        if (scaler == null) {
            set.step();
            return true;
        }
        boolean stepped = scaler.step();
        scaler.update();
        return stepped;
    }
}

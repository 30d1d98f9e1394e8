package org.clopt.train;

import java.util.Map;
import java.util.SplittableRandom;
import org.clopt.Device;
import org.clopt.DeviceBuffer;
import org.clopt.Dtype;
import org.clopt.Kernel;
import org.clopt.ParameterSet;
import org.clopt.Reduction;

/**
 * The extended Rosenbrock function over 1,000,448 parameters (500,224 independent banana
 * valleys: 10^6 rounded up to whole work-groups of pairs), started near the classic point
 * (-1.2, 1), for 1,000 steps. The gradient is cheap, so the optimizer step is most of the time
 * and shows the kernels' speed. Every optimizer reaches the valley floor within a few tens of
 * steps; what ranks them is how fast they then move along it, which takes hundreds of steps
 * to show (at 200 steps twelve of the fifteen sat between 3.3 and 4.9), hence many steps of a
 * smaller problem rather than few of a larger one. The loss is the mean over the pairs, of the
 * parameters as the gradient kernel reads them (the 16-bit working copy with a 16-bit type).
 */
public final class RosenbrockWorkload extends Workload {
    /** Steps a run takes unless told otherwise. */
    static final int DEFAULT_STEPS = 1000;
    /** The learning rate of each algorithm on this workload (the README's table). */
    static final Map<String, String> LEARNING_RATES = table(
            "sgd", "0.0005", "momentum", "0.0001", "nesterov", "0.0001", "adagrad", "0.1", "rmsprop", "0.005",
            "adadelta", "1.0", "adam", "0.01", "adamw", "0.01", "nadam", "0.01", "adamax", "0.01",
            "radam", "0.001", "asgd", "0.0005", "lion", "0.01", "lamb", "0.01",
            "adafactor", "0.01");

    static final int WGS = 256;
    static final int GROUPS = (500_000 + WGS - 1) / WGS;
    static final int PAIRS = GROUPS * WGS;
    static final int SIZE = 2 * PAIRS;

    private final DeviceBuffer terms;
    private final Reduction reduction;
    private final Kernel grad;
    private final Kernel loss;
    private ParameterSet lastSet;

    RosenbrockWorkload(Device device, Dtype dtype) {
        super(device, dtype);
        try {
            terms = buffer(4L * PAIRS, "rosenbrock terms of the loss");
            reduction = own(Reduction.open(device));
            grad = kernel("train/rosenbrock", "rosenbrock_grad");
            loss = kernel("train/rosenbrock", "rosenbrock_loss");
        } catch (RuntimeException e) {
            closeAfter(e);
            throw e;
        }
    }

    @Override
    String name() {
        return "rosenbrock";
    }

    @Override
    int logEvery() {
        return 5;
    }

    @Override
    Map<String, String> learningRates() {
        return LEARNING_RATES;
    }

    @Override
    void addTensors(ParameterSet.Builder builder) {
        builder.tensor("x", SIZE);
    }

    @Override
    void initialize(ParameterSet set, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[SIZE];
        for (int i = 0; i < SIZE; i += 2) {
            x[i] = (float) (-1.2 + 0.2 * (random.nextDouble() - 0.5));
            x[i + 1] = (float) (1.0 + 0.2 * (random.nextDouble() - 0.5));
        }
        set.writeParameters("x", x);
    }

    @Override
    void gradients(ParameterSet set, int step, float lossScale) {
        replacingGradients(set);
        ParameterSet.DeviceSlice x = set.parameterSlice("x");
        ParameterSet.DeviceSlice g = set.gradientSlice("x");
        // x is the group's only tensor, so it starts at the buffer's start.
        args(grad, x.buffer(), g.buffer(), lossScale);
        grad.launch(new long[] {PAIRS}, new long[] {WGS});
        lastSet = set;
    }

    @Override
    double loss() {
        if (lastSet == null) {
            throw new IllegalStateException("rosenbrock: loss() before the first gradients()");
        }
        args(loss, lastSet.parameterSlice("x").buffer(), terms);
        loss.launch(new long[] {PAIRS}, new long[] {WGS});
        return reduction.sum(terms, 0, PAIRS) / (double) PAIRS;
    }

    @Override
    public String description() {
        return String.format(java.util.Locale.ROOT, "%,d parameters, the full objective at every step", SIZE);
    }

    @Override
    public boolean miniBatch() {
        return false;
    }
}

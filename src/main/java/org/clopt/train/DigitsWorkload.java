package org.clopt.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import org.clopt.Device;
import org.clopt.DeviceBuffer;
import org.clopt.Dtype;
import org.clopt.Kernel;
import org.clopt.ParameterSet;

/**
 * The 8x8 handwritten digits (1,797 samples, shipped in the jar) classified by a 64-128-10
 * ReLU network with softmax cross-entropy: 80% for training in mini-batches of 128, in one
 * fixed shuffled order, and 20% held out for the accuracy. The passes read the parameters and
 * write the gradients in the workload's type; inputs and activations are fp32.
 */
public final class DigitsWorkload extends Workload {
    /** Steps a run takes unless told otherwise. */
    static final int DEFAULT_STEPS = 600;
    /** The learning rate of each algorithm on this workload (the README's table). */
    static final Map<String, String> LEARNING_RATES = table(
            "sgd", "0.2", "momentum", "0.05", "nesterov", "0.05", "adagrad", "0.05", "rmsprop", "0.001",
            "adadelta", "1.0", "adam", "0.002", "adamw", "0.002", "nadam", "0.002", "adamax", "0.002",
            "radam", "0.01", "asgd", "0.2", "lion", "0.001", "lamb", "0.01",
            "adafactor", "0.01");

    static final int IN = 64;
    static final int HIDDEN = 128;
    static final int CLASSES = 10;
    static final int BATCH = 128;

    private final int trainRows;
    private final int testRows;
    private final int[] testLabels;
    private final DeviceBuffer xTrain;
    private final DeviceBuffer yTrain;
    private final DeviceBuffer xTest;
    private final DeviceBuffer yTest;
    private final DeviceBuffer h;
    private final DeviceBuffer z;
    private final DeviceBuffer dz;
    private final DeviceBuffer dh;
    private final DeviceBuffer loss;
    private final Kernel hidden;
    private final Kernel logits;
    private final Kernel xent;
    private final Kernel gradOut;
    private final Kernel gradHidden;
    private final Kernel gradIn;
    private int lastBatch;

    DigitsWorkload(Device device, Dtype dtype, long dataSeed) {
        super(device, dtype);
        List<float[]> rows = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        read(rows, labels);
        int n = rows.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(dataSeed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        testRows = n / 5;
        trainRows = n - testRows;
        float[] xa = new float[trainRows * IN];
        int[] ya = new int[trainRows];
        float[] xb = new float[testRows * IN];
        testLabels = new int[testRows];
        for (int r = 0; r < n; r++) {
            float[] row = rows.get(order[r]);
            if (r < trainRows) {
                System.arraycopy(row, 0, xa, r * IN, IN);
                ya[r] = labels.get(order[r]);
            } else {
                System.arraycopy(row, 0, xb, (r - trainRows) * IN, IN);
                testLabels[r - trainRows] = labels.get(order[r]);
            }
        }
        try {
            int most = Math.max(BATCH, testRows);
            xTrain = upload(xa, "digits training inputs");
            yTrain = upload(ya, "digits training labels");
            xTest = upload(xb, "digits test inputs");
            yTest = upload(testLabels, "digits test labels");
            h = buffer(4L * most * HIDDEN, "hidden activations");
            z = buffer(4L * most * CLASSES, "logits");
            dz = buffer(4L * most * CLASSES, "logit gradients");
            dh = buffer(4L * most * HIDDEN, "hidden gradients");
            loss = buffer(4L * most, "losses");
            hidden = kernel("train/mlp", "mlp_hidden");
            logits = kernel("train/mlp", "mlp_logits");
            xent = kernel("train/mlp", "mlp_softmax_xent");
            gradOut = kernel("train/mlp", "mlp_grad_out");
            gradHidden = kernel("train/mlp", "mlp_grad_hidden");
            gradIn = kernel("train/mlp", "mlp_grad_in");
        } catch (RuntimeException e) {
            closeAfter(e);
            throw e;
        }
    }

    private static void read(List<float[]> rows, List<Integer> labels) {
        String name = "/org/clopt/datasets/digits.csv.gz";
        InputStream data = DigitsWorkload.class.getResourceAsStream(name);
        if (data == null) {
            throw new IllegalStateException("the bundled digits data is missing from the classpath: " + name);
        }
        try (BufferedReader in = new BufferedReader(new InputStreamReader(new GZIPInputStream(data),
                StandardCharsets.US_ASCII))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String[] cells = line.split(",");
                float[] row = new float[IN];
                for (int k = 0; k < IN; k++) {
                    row[k] = Float.parseFloat(cells[k]) / 16f;
                }
                rows.add(row);
                labels.add((int) Float.parseFloat(cells[IN]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the bundled digits data", e);
        }
    }

    @Override
    String name() {
        return "digits";
    }

    @Override
    int logEvery() {
        return 10;
    }

    @Override
    Map<String, String> learningRates() {
        return LEARNING_RATES;
    }

    @Override
    void addTensors(ParameterSet.Builder builder) {
        builder.tensor("fc1.weight", IN, HIDDEN).tensor("fc1.bias", HIDDEN)
                .tensor("fc2.weight", HIDDEN, CLASSES).tensor("fc2.bias", CLASSES);
    }

    @Override
    void initialize(ParameterSet set, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        // PyTorch's nn.Linear default: uniform in +-1/sqrt(fan_in).
        fill(set, "fc1.weight", 1 / Math.sqrt(IN), random);
        fill(set, "fc1.bias", 1 / Math.sqrt(IN), random);
        fill(set, "fc2.weight", 1 / Math.sqrt(HIDDEN), random);
        fill(set, "fc2.bias", 1 / Math.sqrt(HIDDEN), random);
    }

    private static void fill(ParameterSet set, String name, double bound, SplittableRandom random) {
        float[] v = new float[set.size(name)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        set.writeParameters(name, v);
    }

    @Override
    void gradients(ParameterSet set, int step, float lossScale) {
        int batches = trainRows / BATCH;
        int row0 = ((step - 1) % batches) * BATCH;
        forward(set, xTrain, yTrain, row0, BATCH, lossScale);
        replacingGradients(set);
        ParameterSet.DeviceSlice p = set.parameterSlice("fc1.weight");
        ParameterSet.DeviceSlice g = set.gradientSlice("fc1.weight");
        int w1 = offset(p);
        int b1 = offset(set.parameterSlice("fc1.bias"));
        int w2 = offset(set.parameterSlice("fc2.weight"));
        int b2 = offset(set.parameterSlice("fc2.bias"));
        args(gradOut, h, dz, BATCH, g.buffer(), w2, b2);
        gradOut.launch(new long[] {HIDDEN + 1, CLASSES}, null);
        args(gradHidden, h, dz, p.buffer(), w2, dh);
        gradHidden.launch(new long[] {BATCH, HIDDEN}, null);
        args(gradIn, xTrain, row0, dh, BATCH, g.buffer(), w1, b1);
        gradIn.launch(new long[] {IN + 1, HIDDEN}, null);
        lastBatch = BATCH;
    }

    /** The forward pass and the loss's gradient dz, of the loss times {@code lossScale}. */
    private void forward(ParameterSet set, DeviceBuffer x, DeviceBuffer y, int row0, int batch, float lossScale) {
        ParameterSet.DeviceSlice p = set.parameterSlice("fc1.weight");
        int w1 = offset(p);
        int b1 = offset(set.parameterSlice("fc1.bias"));
        int w2 = offset(set.parameterSlice("fc2.weight"));
        int b2 = offset(set.parameterSlice("fc2.bias"));
        args(hidden, x, row0, p.buffer(), w1, b1, h);
        hidden.launch(new long[] {batch, HIDDEN}, null);
        args(logits, h, p.buffer(), w2, b2, z);
        logits.launch(new long[] {batch, CLASSES}, null);
        args(xent, z, y, row0, (float) ((double) lossScale / batch), loss, dz);
        xent.launch(new long[] {batch}, null);
    }

    @Override
    double loss() {
        float[] values = download(loss, lastBatch);
        double sum = 0;
        for (float v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    @Override
    HeldOut heldOut(ParameterSet set) {
        forward(set, xTest, yTest, 0, testRows, 1f);
        float[] scores = download(z, testRows * CLASSES);
        float[] losses = download(loss, testRows);
        int correct = 0;
        double sum = 0;
        for (int r = 0; r < testRows; r++) {
            int best = 0;
            for (int c = 1; c < CLASSES; c++) {
                if (scores[r * CLASSES + c] > scores[r * CLASSES + best]) {
                    best = c;
                }
            }
            correct += best == testLabels[r] ? 1 : 0;
            sum += losses[r];
        }
        return new HeldOut(sum / testRows, (double) correct / testRows);
    }

    @Override
    public String description() {
        return String.format(java.util.Locale.ROOT, "mini-batches of %d of %,d training samples, %d held out",
                BATCH, trainRows, testRows);
    }

    @Override
    public boolean miniBatch() {
        return true;
    }

}

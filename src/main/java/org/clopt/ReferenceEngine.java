package org.clopt;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * The CPU reference path: Java arrays and {@link OptimizerConfig#referenceStep}. A 16-bit array
 * holds floats that are 16-bit values, rounded where the kernels round ({@link Dtype}).
 */
class ReferenceEngine extends Engine {
    /**
     * Parameters, gradients, then each state array, the working copy with master weights, then
     * the averaged parameters if made.
     */
    private float[][] arrays;

    /** With int8 state, each state array's codes, fp32 values and block maxima. */
    private byte[][] codes;
    private float[][] fp32;
    private float[][] absmax;

    ReferenceEngine(OptimizerConfig layout, Precision precision, int size, int[] stateSizes) {
        this(layout, precision, size, stateSizes, new int[] {size});
    }

    ReferenceEngine(OptimizerConfig layout, Precision precision, int size, int[] stateSizes, int[] tensorSizes) {
        super(layout, precision, size, stateSizes, tensorSizes);
        int states = stateNames.size();
        int count = 2 + states + (precision.masterWeights() ? 1 : 0);
        arrays = new float[count][];
        long total = 0;
        try {
            for (int a = 0; a < count; a++) {
                total += length(a);
                arrays[a] = new float[length(a)];
            }
        } catch (OutOfMemoryError e) {
            throw HostMemoryException.of("the CPU reference of " + layout.algorithm() + " on " + size
                    + " elements (" + count + " arrays)", 4L * total, e);
        }
        if (int8 != null) {
            codes = new byte[states][int8.codeCount];
            fp32 = new float[states][int8.floatCount];
            absmax = new float[states][int8.absmaxCount];
        }
        for (int k = 0; k < states; k++) {
            fill(2 + k, 0, length(2 + k), layout.initialState(k));
        }
    }

    @Override
    void run(OptimizerConfig config, float[] scalars, int from, int to, StepInput input) {
        // int8 state: the step's floats are the dequantized state, then stored quantized again.
        for (int a = 2; int8 != null && a < 2 + stateNames.size(); a++) {
            readInt8(a, from, FloatBuffer.wrap(arrays[a], from, to - from));
        }
        config.referenceStep(arrays[PARAMETERS], gradients(input, from, to),
                Arrays.copyOfRange(arrays, 2, 2 + stateNames.size()), scalars, from, to);
        round(from, to, input.roundingKey());
        roundState(from, to);
        for (int a = 2; int8 != null && a < 2 + stateNames.size(); a++) {
            writeInt8(a, from, FloatBuffer.wrap(arrays[a], from, to - from));
        }
    }

    @Override
    void readCodes(int k, int from, byte[] dst) {
        System.arraycopy(codes[k], from, dst, 0, dst.length);
    }

    @Override
    void writeCodes(int k, int from, byte[] src) {
        System.arraycopy(src, 0, codes[k], from, src.length);
    }

    @Override
    void readInt8Floats(int k, boolean ofAbsmax, int from, float[] dst) {
        System.arraycopy(ofAbsmax ? absmax[k] : fp32[k], from, dst, 0, dst.length);
    }

    @Override
    void writeInt8Floats(int k, boolean ofAbsmax, int from, float[] src) {
        System.arraycopy(src, 0, ofAbsmax ? absmax[k] : fp32[k], from, src.length);
    }

    /**
     * Rounds the state of [from, to) as a kernel stores it with bf16 state: the step computed
     * with the floats, whose rounding is what stays.
     */
    private void roundState(int from, int to) {
        if (stateDtype == Dtype.FP32) {
            return;
        }
        for (int k = 2; k < 2 + stateNames.size(); k++) {
            float[] a = arrays[k];
            for (int i = from; i < to; i++) {
                a[i] = stateDtype.round(a[i]);
            }
        }
    }

    /** The gradients of [from, to) as the kernels read them: (grad * unscale) * clip. */
    private float[] gradients(StepInput input, int from, int to) {
        float[] gradients = arrays[GRADIENTS];
        float clip = input.clip().value();
        float unscale = input.unscale();
        if (clip != 1f || unscale != 1f) {
            gradients = gradients.clone();
            for (int i = from; i < to; i++) {
                gradients[i] = gradients[i] * unscale * clip;
            }
        }
        return gradients;
    }

    @Override
    void runAdafactor(Adafactor config, float[] scalars, List<TensorLayout> run, StepInput input) {
        TensorLayout last = run.get(run.size() - 1);
        int from = run.get(0).offset();
        int to = last.offset() + last.size();
        config.referenceRun(arrays[PARAMETERS], gradients(input, from, to),
                Arrays.copyOfRange(arrays, 2, 2 + stateNames.size()), scalars, run);
        round(from, to, 0);
    }

    /**
     * Rounds the updated parameters of [from, to) as a kernel stores them: into the working copy
     * with master weights, else in place, stochastically with the option.
     */
    private void round(int from, int to, int key) {
        if (!precision.is16Bit()) {
            return;
        }
        float[] p = arrays[PARAMETERS];
        float[] out = arrays[workingArray()];
        Dtype dtype = precision.dtype();
        for (int i = from; i < to; i++) {
            out[i] = precision.stochasticRounding()
                    ? dtype.fromBits(dtype.toBitsStochastic(p[i], Dtype.random(key, i))) : dtype.round(p[i]);
        }
    }

    @Override
    void runPerTensor(PerTensorStep config, float[] scalars, int[] bounds) {
        float[][] state = Arrays.copyOfRange(arrays, 2, 2 + stateNames.size());
        float[] p = arrays[PARAMETERS];
        int from = bounds[0];
        int to = bounds[bounds.length - 1];
        float[][] quantities = config.reducedQuantities(p, state, scalars, from, to);
        int[][] tables = chunks(bounds);
        int[] pairs = tables[0];
        int[] ends = tables[1];
        int chunkCount = pairs.length / 2;
        // reduce.cl's order: each chunk's norm, then each tensor's chunks folded in order.
        float[][] partials = new float[quantities.length][chunkCount];
        for (int q = 0; q < quantities.length; q++) {
            for (int c = 0; c < chunkCount; c++) {
                partials[q][c] = SetKernels.Reference.partial(quantities[q], pairs[2 * c], pairs[2 * c + 1],
                        SetKernels.NORM_L2, 1f);
            }
        }
        float[] factors = new float[ends.length];
        int c = 0;
        for (int t = 0; t < ends.length; t++) {
            float[] norms = new float[quantities.length];
            for (int q = 0; q < quantities.length; q++) {
                norms[q] = SetKernels.Reference.normOf(partials[q], c, ends[t], SetKernels.NORM_L2);
            }
            factors[t] = config.tensorFactor(norms);
            c = ends[t];
        }
        for (int t = 0; t < ends.length; t++) {
            config.referenceApply(p, state, scalars, bounds[t], bounds[t + 1], factors[t]);
        }
        round(from, to, 0);
    }

    @Override
    void allocateAveraged() {
        if (arrays.length == averagedArray()) {
            float[][] more = Arrays.copyOf(arrays, arrays.length + 1);
            try {
                more[arrays.length] = new float[size];
            } catch (OutOfMemoryError e) {
                throw HostMemoryException.of("the averaged parameters of " + size + " elements", 4L * size, e);
            }
            arrays = more;
        }
    }

    /** Array {@code array} itself, for {@link SetKernels.Reference}. */
    float[] array(int array) {
        return arrays[array];
    }

    @Override
    void write(int array, int from, FloatBuffer src) {
        if (isInt8(array)) {
            writeInt8(array, from, src);
            return;
        }
        int count = src.remaining();
        src.get(arrays[array], from, count);
        Dtype dtype = dtype(array);
        if (dtype != Dtype.FP32) {
            float[] a = arrays[array];
            for (int i = from; i < from + count; i++) {
                a[i] = dtype.round(a[i]);
            }
        }
    }

    @Override
    void read(int array, int from, FloatBuffer dst) {
        if (isInt8(array)) {
            readInt8(array, from, dst);
            return;
        }
        dst.put(arrays[array], from, dst.remaining());
    }

    @Override
    String gradientViewUnavailable() {
        return precision.is16Bit() ? "its gradients are " + precision.dtype().cliName()
                + ", which a FloatBuffer cannot hold" : null;
    }

    @Override
    FloatBuffer gradientView(int from, int count) {
        String why = gradientViewUnavailable();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        return FloatBuffer.wrap(arrays[GRADIENTS], from, count).slice();
    }

    @Override
    void fill(int array, int from, int count, float value) {
        if (isInt8(array)) {
            fillInt8(array, from, count, value);
            return;
        }
        Arrays.fill(arrays[array], from, from + count, dtype(array).round(value));
    }

    @Override
    public void close() {
        // Plain Java arrays: nothing native to release.
    }
}

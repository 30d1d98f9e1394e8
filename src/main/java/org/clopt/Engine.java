package org.clopt;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The arrays of one parameter group and the launches of its step: parameters, gradients and
 * each state array of {@link #size} elements, on a device ({@link ClEngine}) or in Java arrays
 * ({@link ReferenceEngine}). With a 16-bit {@link Precision} the gradients are 16-bit, and the
 * parameters too unless the group keeps fp32 master weights, whose 16-bit working copy is then
 * one more array after the state; the CPU reference holds 16-bit values in floats, rounded as
 * the kernels round them. An engine holds no step counts and no hyperparameters: the
 * {@link ParameterSet} that owns it passes the group's configuration and scalars to each
 * {@link #run}. The configuration it was made with fixes only the layout and the kernel
 * variant, which every later configuration shares ({@link OptimizerConfig#sameVariant}).
 */
abstract class Engine implements AutoCloseable {
    /**
     * Array indices of the transfers: parameters (the fp32 master weights when the group keeps
     * them), gradients, then state k at 2 + k, then the working copy ({@link #workingArray()})
     * with master weights, then the averaged parameters if made.
     */
    static final int PARAMETERS = 0;
    static final int GRADIENTS = 1;

    final int size;
    final String algorithm;
    final List<String> stateNames;
    final Precision precision;
    /** The state arrays' element type ({@code state_dtype}): fp32 or bf16. */
    final Dtype stateDtype;
    /**
     * Elements of each state array: {@link #size} unless the algorithm keeps state of other
     * shapes ({@link OptimizerConfig#stateShape}), whose tensors' parts the set lays end to end.
     */
    private final int[] stateSizes;
    /**
     * Where int8 state lives ({@code state_dtype=int8}), or null: every state array then has
     * this layout of codes, fp32 values (tensors below {@code min_8bit_size}) and block maxima.
     */
    final Int8State.Layout int8;
    /** With int8 state, each state array's code map: unsigned for the never-negative ones. */
    private final float[][] maps;

    Engine(OptimizerConfig layout, Precision precision, int size, int[] stateSizes) {
        this(layout, precision, size, stateSizes, new int[] {size});
    }

    /** An engine for tensors of these sizes, laid end to end (their sum is {@code size}). */
    Engine(OptimizerConfig layout, Precision precision, int size, int[] stateSizes, int[] tensorSizes) {
        this.size = size;
        this.algorithm = layout.algorithm();
        this.stateNames = layout.stateNames();
        this.precision = precision;
        this.stateDtype = layout.stateDtype();
        if (stateSizes.length != stateNames.size()) {
            throw new IllegalArgumentException(stateSizes.length + " state sizes for " + stateNames);
        }
        this.stateSizes = stateSizes.clone();
        this.int8 = layout.quantizesState() ? new Int8State.Layout(tensorSizes, layout.min8bitSize()) : null;
        this.maps = new float[stateNames.size()][];
        for (int k = 0; k < maps.length; k++) {
            maps[k] = Int8State.map(OptimizerConfig.nonNegativeState(stateNames.get(k)));
        }
        if (int8 != null && (int8.total() != size || Arrays.stream(stateSizes).anyMatch(n -> n != size))) {
            throw new IllegalArgumentException("int8 state needs element-wise state: sizes " + Arrays.toString(stateSizes)
                    + " for " + size + " elements in tensors of " + int8.total());
        }
    }

    /** Whether array {@code array} is a state array kept as int8 ({@link #int8}). */
    final boolean isInt8(int array) {
        return int8 != null && array >= 2 && array < 2 + stateNames.size();
    }

    /** State k's code map, with int8 state. */
    final float[] map(int k) {
        return maps[k];
    }

    // ---- int8 state: the raw parts each engine stores, and the float view the base class makes of them ----

    /** Codes [from, from + dst.length) of state k. */
    abstract void readCodes(int k, int from, byte[] dst);

    abstract void writeCodes(int k, int from, byte[] src);

    /** Of state k, block maxima (absmax) or, if not, fp32 values, [from, from + dst.length). */
    abstract void readInt8Floats(int k, boolean absmax, int from, float[] dst);

    abstract void writeInt8Floats(int k, boolean absmax, int from, float[] src);

    /** Elements a transfer of int8 state converts at a time: a multiple of the block. */
    private static final int INT8_CHUNK = 1 << 20;

    /** Elements [from, from + dst.remaining()) of int8 state array {@code array}, dequantized. */
    final void readInt8(int array, int from, FloatBuffer dst) {
        int k = array - 2;
        FloatBuffer out = dst.duplicate();
        int end = from + dst.remaining();
        for (int pos = from; pos < end; ) {
            int t = int8.tensorAt(pos);
            int within = pos - int8.offsets[t];
            int n = Math.min(Math.min(end, int8.offsets[t] + int8.sizes[t]), pos + INT8_CHUNK) - pos;
            if (int8.quantized[t]) {
                byte[] codes = new byte[n];
                readCodes(k, int8.stateStarts[t] + within, codes);
                int b0 = within / Int8State.BLOCK;
                float[] absmax = new float[(within + n - 1) / Int8State.BLOCK - b0 + 1];
                readInt8Floats(k, true, int8.absmaxStarts[t] + b0, absmax);
                for (int e = 0; e < n; e++) {
                    out.put(Int8State.dequantize(maps[k], codes[e], absmax[(within + e) / Int8State.BLOCK - b0]));
                }
            } else {
                float[] values = new float[n];
                readInt8Floats(k, false, int8.stateStarts[t] + within, values);
                out.put(values);
            }
            pos += n;
        }
    }

    /**
     * Writes {@code src}'s floats into elements [from, ...) of int8 state array {@code array}:
     * each block they touch is quantized again, with the values it holds elsewhere.
     */
    final void writeInt8(int array, int from, FloatBuffer src) {
        int k = array - 2;
        FloatBuffer in = src.duplicate();
        int end = from + src.remaining();
        for (int pos = from; pos < end; ) {
            int t = int8.tensorAt(pos);
            int within = pos - int8.offsets[t];
            int tensorSize = int8.sizes[t];
            int n = Math.min(Math.min(end, int8.offsets[t] + tensorSize), pos + INT8_CHUNK) - pos;
            if (int8.quantized[t]) {
                int b0 = within / Int8State.BLOCK;
                int b1 = (within + n + Int8State.BLOCK - 1) / Int8State.BLOCK;
                int lo = b0 * Int8State.BLOCK;
                int hi = Math.min(b1 * Int8State.BLOCK, tensorSize);
                float[] values = new float[hi - lo];
                if (lo < within || hi > within + n) {
                    readInt8(array, int8.offsets[t] + lo, FloatBuffer.wrap(values));
                }
                in.get(values, within - lo, n);
                byte[] codes = new byte[values.length];
                float[] absmax = new float[b1 - b0];
                Int8State.quantizeBlocks(maps[k], values, codes, absmax);
                writeCodes(k, int8.stateStarts[t] + lo, codes);
                writeInt8Floats(k, true, int8.absmaxStarts[t] + b0, absmax);
            } else {
                float[] values = new float[n];
                in.get(values);
                writeInt8Floats(k, false, int8.stateStarts[t] + within, values);
            }
            pos += n;
        }
    }

    /** Whether the tensor of elements [offset, offset + size) keeps its state quantized. */
    final boolean quantizedTensor(int offset, int size) {
        return int8 != null && size > 0 && int8.quantized[int8.tensorAt(offset)];
    }

    /** State k of the quantized tensor at {@code offset}, as stored. */
    final StateDict.Quantized readQuantized(int k, int offset) {
        int t = int8.tensorAt(offset);
        byte[] codes = new byte[int8.sizes[t]];
        float[] absmax = new float[int8.firstBlocks[t + 1] - int8.firstBlocks[t]];
        readCodes(k, int8.stateStarts[t], codes);
        readInt8Floats(k, true, int8.absmaxStarts[t], absmax);
        return new StateDict.Quantized(codes, absmax);
    }

    /** Stores state k of the quantized tensor at {@code offset} as given, unchanged. */
    final void writeQuantized(int k, int offset, StateDict.Quantized q) {
        int t = int8.tensorAt(offset);
        byte[] codes = q.codes();
        float[] absmax = q.absmax();
        if (codes.length != int8.sizes[t] || absmax.length != int8.firstBlocks[t + 1] - int8.firstBlocks[t]) {
            throw new IllegalArgumentException(stateNames.get(k) + ": " + codes.length + " codes and "
                    + absmax.length + " block maxima for a tensor of " + int8.sizes[t] + " elements");
        }
        writeCodes(k, int8.stateStarts[t], codes);
        writeInt8Floats(k, true, int8.absmaxStarts[t], absmax);
    }

    /** Sets elements [from, from + count) of int8 state array {@code array} to {@code value}. */
    final void fillInt8(int array, int from, int count, float value) {
        for (int done = 0; done < count; done += INT8_CHUNK) {
            float[] values = new float[Math.min(INT8_CHUNK, count - done)];
            Arrays.fill(values, value);
            writeInt8(array, from + done, FloatBuffer.wrap(values));
        }
    }

    /** Elements of array {@code array}. */
    final int length(int array) {
        return array >= 2 && array < 2 + stateSizes.length ? stateSizes[array - 2] : size;
    }

    /**
     * How a step reads the gradients and rounds the parameters: times {@code clip} (the clip
     * coefficient, if any) after times {@code unscale} (the loss scaler's 1/scale, or 1), and
     * with {@code roundingKey} the step's key of stochastic rounding.
     */
    record StepInput(SetKernels.GradScale clip, float unscale, int roundingKey) {
    }

    /** Applies one step with these scalars to elements [from, to). */
    abstract void run(OptimizerConfig config, float[] scalars, int from, int to, StepInput input);

    /**
     * A tensor's place in its group's arrays: elements [offset, offset + size) of the
     * parameters and gradients, its shape, and where its part of each state array starts (-1
     * where it keeps none of it, see {@link OptimizerConfig#stateShape}).
     */
    record TensorLayout(int offset, int size, int[] shape, int[] stateOffsets) {
    }

    /**
     * One step of a run of consecutive tensors: {@link #run} over the whole run, and for an
     * algorithm with per-tensor norms ({@link OptimizerConfig#perTensorStep()}) its norms and
     * the update with each tensor's factor; Adafactor's passes for Adafactor.
     */
    final void step(OptimizerConfig config, float[] scalars, List<TensorLayout> run, StepInput input) {
        if (config instanceof Adafactor adafactor) {
            runAdafactor(adafactor, scalars, run, input);
            return;
        }
        int[] bounds = new int[run.size() + 1];
        for (int k = 0; k < run.size(); k++) {
            bounds[k] = run.get(k).offset();
        }
        TensorLayout last = run.get(run.size() - 1);
        bounds[run.size()] = last.offset() + last.size();
        int from = bounds[0];
        int to = bounds[bounds.length - 1];
        run(config, scalars, from, to, input);
        PerTensorStep perTensor = config.perTensorStep();
        if (perTensor != null && from < to) {
            runPerTensor(perTensor, scalars, bounds);
        }
    }

    /**
     * Adafactor's step of a run of tensors, with their row and column statistics: see
     * {@link Adafactor} and {@code kernels/adafactor.cl}.
     */
    abstract void runAdafactor(Adafactor config, float[] scalars, List<TensorLayout> run, StepInput input);

    /**
     * The passes after {@link #run} of a {@link PerTensorStep} algorithm: each
     * tensor's norms in reduce.cl's order, its factor, and the update.
     */
    abstract void runPerTensor(PerTensorStep config, float[] scalars, int[] bounds);

    /** reduce.cl's chunk table (first element, count) and tensor ends for these bounds. */
    static int[][] chunks(int[] bounds) {
        List<SetKernels.Segment> tensors = new ArrayList<>();
        for (int k = 0; k + 1 < bounds.length; k++) {
            tensors.add(new SetKernels.Segment(null, bounds[k], bounds[k + 1] - bounds[k]));
        }
        return SetKernels.chunks(tensors);
    }

    /**
     * The transfer index of the averaged parameters (after the state arrays and the working
     * copy), once {@link #allocateAveraged()} has made them.
     */
    final int averagedArray() {
        return workingArray() == PARAMETERS ? 2 + stateNames.size() : 3 + stateNames.size();
    }

    /** The transfer index of what a forward pass reads: the working copy, or the parameters. */
    final int workingArray() {
        return precision.masterWeights() ? 2 + stateNames.size() : PARAMETERS;
    }

    /** The element type of array {@code array}: the state's is {@code state_dtype}, averages are fp32. */
    final Dtype dtype(int array) {
        return array == GRADIENTS || array == workingArray() ? precision.dtype()
                : array >= 2 && array < 2 + stateNames.size() ? stateDtype : Dtype.FP32;
    }

    /** Makes the averaged parameters, zeros, if they are not there yet. */
    abstract void allocateAveraged();

    /**
     * Copies {@code src.remaining()} floats into array {@code array} from element {@code from},
     * rounded to nearest even into a 16-bit array.
     */
    abstract void write(int array, int from, FloatBuffer src);

    /** Copies {@code dst.remaining()} elements of array {@code array} from element {@code from}, widened. */
    abstract void read(int array, int from, FloatBuffer dst);

    /**
     * Why {@link #gradientView} cannot hand out the gradients (a sentence's end, after "the
     * group's gradients cannot be written in place: "), or null when it can.
     */
    abstract String gradientViewUnavailable();

    /**
     * The gradients [from, from + count) as a buffer the host writes and reads in place, until
     * the next device use of the gradients.
     *
     * @throws IllegalStateException when {@link #gradientViewUnavailable()} says why not
     */
    abstract FloatBuffer gradientView(int from, int count);

    /** Sets elements [from, from + count) of array {@code array} to {@code value}. */
    abstract void fill(int array, int from, int count, float value);

    /** The transfer index of state array {@code name}. */
    final int stateArray(String name) {
        int index = stateNames.indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("unknown state '" + name + "' for " + algorithm
                    + " (has: " + String.join(", ", stateNames) + ")");
        }
        return 2 + index;
    }

    /** The name of transfer index {@code array}, for messages. */
    final String arrayName(int array) {
        return array == PARAMETERS ? (precision.masterWeights() ? "master parameters" : "parameters")
                : array == GRADIENTS ? "gradients" : array == workingArray() ? "parameters (working copy)"
                : array == averagedArray() ? "averaged parameters" : stateNames.get(array - 2);
    }

    /** Releases what the engine holds. Called once, by its owner. */
    @Override
    public abstract void close();
}

package org.clopt;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.clopt.Hyperparameter.Range;

/**
 * Adafactor (Shazeer and Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
 * Cost"), as {@code torch.optim.Adafactor} (PyTorch 2.5 and later): the second moment of a
 * tensor of two or more dimensions is kept as row and column statistics of its last two
 * dimensions, and the step is relative to the tensor's RMS and clipped by the update's RMS.
 *
 * <pre>
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   w = t^beta2_decay                                    (1 - beta2_t)
 *   rho = min(lr, 1 / sqrt(t))
 *   alpha = max(eps2, ||p|| / sqrt(numel)) * rho         (p before the decay)
 *   p = p * (1 - lr * weight_decay)
 *   if dim(g) &gt;= 2:                                       (over the last two dims, R x C)
 *     row_var = lerp(row_var, ||g[..., r, :]||^2 / C, w)     shape [..., R, 1]
 *     col_var = lerp(col_var, ||g[..., :, c]||^2 / R, w)     shape [..., 1, C]
 *     var = (row_var * col_var) / max(mean_r(row_var), eps1)
 *   else:
 *     variance = lerp(variance, g * g, w)
 *     var = variance
 *   u = g / sqrt(max(var, eps1 * eps1))
 *   p = p + u * (-alpha / max(1, ||u|| / (sqrt(numel) * d)))
 * </pre>
 *
 * <p>{@code lerp(a, b, w)} is torch's: {@code a + w * (b - a)} for |w| &lt; 0.5, else
 * {@code b - (b - a) * (1 - w)}. {@code eps} is PyTorch's pair (eps1, eps2); eps1 may be None
 * ({@code eps=None,0.001} in text, null in Java), which PyTorch resolves to the machine epsilon
 * of the parameter's type: 2^-23 here, as the step's parameters are always fp32. Weight decay is
 * decoupled and scaled by lr, and its default is 0.0 (PyTorch's source; its docstring says
 * 1e-2). The comparisons {@code max(eps2, ...)} and {@code max(1, ...)} are Python's: a NaN
 * norm gives eps2 and 1, as in PyTorch.
 *
 * <p>Norms and means are fixed-order reductions on both paths (see {@code kernels/adafactor.cl}):
 * a row's norm is reduce.cl's over 4096-element pieces, a column's a compensated (Kahan) sum
 * down the column, the norms of p and u reduce.cl's per tensor. The scalars that PyTorch takes
 * in double from {@code .item()} are computed in float32 on the device (alpha, the clipping
 * denominator and their quotient), a few ulp from PyTorch's. A tensor with no elements is left
 * as it is (PyTorch divides by zero there). State: {@code row_var} and {@code col_var} for a
 * tensor of 2 or more dimensions, {@code variance} (the tensor's shape) otherwise; each tensor
 * keeps only its own ({@link ParameterSet#stateNames(String)}). Parameters are fp32, or 16-bit
 * with fp32 master weights (the step runs on the master weights, as PyTorch's on fp32
 * parameters, and rounds them into the working copy); 16-bit parameters without master weights
 * are refused ({@link Precision#supports}). Defaults: PyTorch's (lr 1e-2,
 * beta2_decay -0.8, eps (None, 1e-3), d 1.0, weight_decay 0.0).
 */
public final class Adafactor extends OptimizerConfig {
    static final Algorithm ALGORITHM = new Algorithm("adafactor", 16, Adafactor::new,
            Hyperparameter.number("lr", 1e-2, Range.AT_LEAST_ZERO),
            Hyperparameter.number("beta2_decay", -0.8, Range.AT_MOST_ZERO),
            Hyperparameter.pairWithOptionalFirst("eps", null, 1e-3, Range.AT_LEAST_ZERO, Range.AT_LEAST_ZERO),
            Hyperparameter.number("d", 1.0, Range.AT_LEAST_ONE),
            Hyperparameter.weightDecay(),
            Hyperparameter.maximize());

    /** What eps1 = None resolves to: float32's machine epsilon, torch.finfo(torch.float32).eps. */
    static final double FP32_EPS = 0x1p-23;

    /** The state keys, in kernel argument order. */
    private static final List<String> STATE = List.of("row_var", "col_var", "variance");

    private Adafactor(Algorithm row, Map<String, Object> values) {
        super(row, values);
    }

    /**
     * A builder starting from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder(ALGORITHM);
    }

    @Override
    public Builder toBuilder() {
        return new Builder(this);
    }

    @Override
    public List<String> stateNames() {
        return STATE;
    }

    /**
     * {@code row_var} (the shape with its last dimension 1) and {@code col_var} (its
     * second-to-last 1) for a tensor of 2 or more dimensions; {@code variance} (the shape itself)
     * for a vector or a scalar.
     */
    @Override
    public int[] stateShape(String key, int[] shape) {
        super.stateShape(key, shape);
        boolean factored = shape.length >= 2;
        int[] s = shape.clone();
        switch (key) {
            case "row_var":
                if (!factored) {
                    return null;
                }
                s[s.length - 1] = 1;
                return s;
            case "col_var":
                if (!factored) {
                    return null;
                }
                s[s.length - 2] = 1;
                return s;
            default:
                return factored ? null : s;
        }
    }

    /**
     * Bytes per element over the step's passes, for a tensor of 2 or more dimensions: 4 + 4
     * (the row and column statistics read the gradients) + 8 (the norms of p and u) + 12 (the
     * update). A vector's step moves 32: 16 (norms, variance updated) + 16 (update).
     *
     * @return 28
     */
    @Override
    public int bytesPerElement() {
        return 28;
    }

    /** R + C floats per R x C matrix (a vector keeps 4 bytes per element): 0 per element of a matrix. */
    @Override
    public int stateBytesPerElement() {
        return 0;
    }

    /** eps1 as given, or None resolved to float32's machine epsilon. */
    double eps1() {
        Double eps1 = (Double) ((List<?>) hyperparameters().get("eps")).get(0);
        return eps1 == null ? FP32_EPS : eps1;
    }

    /** Scalars: w, 1 - w, eps1, eps1^2, eps2, rho, 1 - lr * weight_decay, d, 1 / sqrt(eps1^2). */
    @Override
    float[] scalars(long t, float[] before, float[] after) {
        double lr = lr();
        float w = (float) Math.pow(t, number("beta2_decay"));
        double eps1 = eps1();
        float eps1Squared = (float) (eps1 * eps1);
        return new float[] {w, 1f - w, (float) eps1, eps1Squared, (float) pair("eps", 1),
            (float) Math.min(lr, 1 / Math.sqrt(t)), (float) (1 - lr * number("weight_decay")), (float) number("d"),
            1f / (float) Math.sqrt(eps1Squared)};
    }

    /** One vector tensor over [from, to): {@link #referenceRun} of it alone. */
    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        referenceRun(p, grad, state, s, List.of(new Engine.TensorLayout(from, to - from, new int[] {to - from},
                new int[] {-1, -1, from})));
    }

    /**
     * The CPU reference of a step of a run of tensors, in the kernels' passes and orders (see
     * {@code kernels/adafactor.cl}): row and column statistics, each factored tensor's mean of
     * its rows, the norms of p and u per tensor, and the update. A factored element's u is
     * {@code g * rsqrt(eps1^2)} where {@code var = (row_var / mean) * col_var < eps1^2}, else
     * {@code (g * rsqrt(row_var / mean)) * rsqrt(col_var)}: PyTorch's value to within a few
     * ulp, without a division or square root per element. {@code grad} holds the
     * gradients as the kernels read them (times the loss scaler's unscale and the clip
     * coefficient).
     */
    void referenceRun(float[] p, float[] grad, float[][] state, float[] s, List<Engine.TensorLayout> run) {
        boolean maximize = flag("maximize");
        float w = s[0];
        float oneMinusW = s[1];
        float eps1 = s[2];
        float eps1Squared = s[3];
        float[] rowVar = state[0];
        float[] colVar = state[1];
        float[] variance = state[2];
        int from = run.get(0).offset();
        Engine.TensorLayout last = run.get(run.size() - 1);
        int to = last.offset() + last.size();
        float[] u = new float[to - from];
        for (Engine.TensorLayout t : run) {
            if (t.size() == 0) {
                continue;
            }
            if (t.shape().length < 2) {
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    int vi = t.stateOffsets()[2] + i - t.offset();
                    float g = maximize ? -grad[i] : grad[i];
                    float v = lerp(variance[vi], g * g, w, oneMinusW);
                    variance[vi] = v;
                    u[i - from] = update(v, eps1Squared, g);
                }
                continue;
            }
            int rows = t.shape()[t.shape().length - 2];
            int cols = t.shape()[t.shape().length - 1];
            int batches = t.size() / (rows * cols);
            int rowBase = t.stateOffsets()[0];
            int colBase = t.stateOffsets()[1];
            for (int k = 0; k < batches * rows; k++) {
                float n = rowNorm(grad, t.offset() + k * cols, cols);
                rowVar[rowBase + k] = lerp(rowVar[rowBase + k], (n * n) / cols, w, oneMinusW);
            }
            float[] column = new float[rows];
            float[] colRs = new float[batches * cols];
            for (int b = 0; b < batches; b++) {
                for (int c = 0; c < cols; c++) {
                    for (int r = 0; r < rows; r++) {
                        column[r] = Math.abs(grad[t.offset() + (b * rows + r) * cols + c]);
                    }
                    float n = SetKernels.Reference.normOf(column, 0, rows, SetKernels.NORM_L2);
                    int ci = colBase + b * cols + c;
                    colVar[ci] = lerp(colVar[ci], (n * n) / rows, w, oneMinusW);
                    colRs[b * cols + c] = 1f / (float) Math.sqrt(colVar[ci]);
                }
            }
            for (int b = 0; b < batches; b++) {
                float mean = rowMean(rowVar, rowBase + b * rows, rows, eps1);
                for (int r = 0; r < rows; r++) {
                    float factor = rowVar[rowBase + b * rows + r] / mean;
                    float rowRs = 1f / (float) Math.sqrt(factor);
                    for (int c = 0; c < cols; c++) {
                        int i = t.offset() + (b * rows + r) * cols + c;
                        float g = maximize ? -grad[i] : grad[i];
                        float var = factor * colVar[colBase + b * cols + c];
                        u[i - from] = var < eps1Squared ? g * s[8] : (g * rowRs) * colRs[b * cols + c];
                    }
                }
            }
        }
        float[] coefficients = coefficients(p, u, from, run, s);
        for (int k = 0; k < run.size(); k++) {
            Engine.TensorLayout t = run.get(k);
            for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                p[i] = p[i] * s[6] + coefficients[k] * u[i - from];
            }
        }
    }

    /** Each tensor's -alpha / denominator from reduce.cl's norms of p and of u (u from {@code from}). */
    private static float[] coefficients(float[] p, float[] u, int from, List<Engine.TensorLayout> run, float[] s) {
        List<SetKernels.Segment> segments = new ArrayList<>();
        for (Engine.TensorLayout t : run) {
            segments.add(new SetKernels.Segment(null, t.offset(), t.size()));
        }
        int[][] tables = SetKernels.chunks(segments);
        int chunkCount = tables[0].length / 2;
        float[] pNorms = new float[chunkCount];
        float[] uNorms = new float[chunkCount];
        for (int c = 0; c < chunkCount; c++) {
            int start = tables[0][2 * c];
            int n = tables[0][2 * c + 1];
            pNorms[c] = SetKernels.Reference.partial(p, start, n, SetKernels.NORM_L2, 1f);
            uNorms[c] = SetKernels.Reference.partial(u, start - from, n, SetKernels.NORM_L2, 1f);
        }
        float[] coefficients = new float[run.size()];
        int c = 0;
        for (int k = 0; k < run.size(); k++) {
            int end = tables[1][k];
            float pNorm = SetKernels.Reference.normOf(pNorms, c, end, SetKernels.NORM_L2);
            float uNorm = SetKernels.Reference.normOf(uNorms, c, end, SetKernels.NORM_L2);
            coefficients[k] = coefficient(pNorm, uNorm, rootOfSize(run.get(k).size()), s);
            c = end;
        }
        return coefficients;
    }

    /**
     * The tables of adafactor.cl for a run of tensors: per factored tensor with elements its
     * row of {@link #FIELDS} (first row among the run's, unused, first matrix, element offset,
     * R, C, row_var and col_var offsets, first strip of 16 columns); reduce.cl's chunk table of
     * the run with each chunk's cursor (8 per chunk: C or 0 for a vector, R, row_var index, row,
     * column, col_var index of the matrix's column 0, unused, variance index); and each
     * tensor's sqrt(numel).
     */
    record Tables(int[] factored, int factoredCount, int rows, int strips, int matrices, int[] chunks,
                  int[] tensorEnds, int[] cursors, float[] rootSizes) {
        /** uints per factored tensor, adafactor.cl's AF_FIELDS. */
        static final int FIELDS = 9;
        /** Columns per work-item of the column statistics, adafactor.cl's AF_STRIP. */
        static final int STRIP = 64;

        static Tables of(List<Engine.TensorLayout> run) {
            List<int[]> factored = new ArrayList<>();
            int rows = 0;
            int strips = 0;
            int matrices = 0;
            int[] firstMatrix = new int[run.size()];
            List<SetKernels.Segment> segments = new ArrayList<>();
            for (int k = 0; k < run.size(); k++) {
                Engine.TensorLayout t = run.get(k);
                segments.add(new SetKernels.Segment(null, t.offset(), t.size()));
                firstMatrix[k] = matrices;
                if (t.shape().length >= 2 && t.size() > 0) {
                    int r = t.shape()[t.shape().length - 2];
                    int c = t.shape()[t.shape().length - 1];
                    int b = t.size() / (r * c);
                    factored.add(new int[] {rows, 0, matrices, t.offset(), r, c, t.stateOffsets()[0],
                        t.stateOffsets()[1], strips});
                    rows += b * r;
                    strips += b * ((c + STRIP - 1) / STRIP);
                    matrices += b;
                }
            }
            int[][] chunkTables = SetKernels.chunks(segments);
            int chunkCount = chunkTables[0].length / 2;
            int[] cursors = new int[8 * chunkCount];
            float[] rootSizes = new float[run.size()];
            int chunk = 0;
            for (int k = 0; k < run.size(); k++) {
                Engine.TensorLayout t = run.get(k);
                rootSizes[k] = rootOfSize(t.size());
                for (; chunk < chunkTables[1][k]; chunk++) {
                    int local = chunkTables[0][2 * chunk] - t.offset();
                    int[] cursor = new int[8];
                    if (t.shape().length >= 2 && t.size() > 0) {
                        int r = t.shape()[t.shape().length - 2];
                        int c = t.shape()[t.shape().length - 1];
                        int row = local / c;
                        int matrix = row / r;
                        cursor = new int[] {c, r, t.stateOffsets()[0] + row, row % r, local % c,
                            t.stateOffsets()[1] + matrix * c, 0, 0};
                    } else if (t.size() > 0) {
                        cursor[7] = t.stateOffsets()[2] + local;
                    }
                    System.arraycopy(cursor, 0, cursors, 8 * chunk, 8);
                }
            }
            int[] flat = new int[FIELDS * Math.max(1, factored.size())];
            for (int k = 0; k < factored.size(); k++) {
                System.arraycopy(factored.get(k), 0, flat, FIELDS * k, FIELDS);
            }
            return new Tables(flat, factored.size(), rows, strips, matrices, chunkTables[0], chunkTables[1],
                    cursors, rootSizes);
        }
    }

    /** sqrt(numel) as the kernels get it: in double, rounded to float. */
    static float rootOfSize(int size) {
        return (float) Math.sqrt(size);
    }

    /** -alpha / max(1, ||u|| / (sqrt(numel) * d)), as adafactor_finish computes it. */
    private static float coefficient(float pNorm, float uNorm, float rootSize, float[] s) {
        float alpha = pythonMax(s[4], pNorm / rootSize) * s[5];
        float denominator = pythonMax(1f, uNorm / (rootSize * s[7]));
        return -alpha / denominator;
    }

    /** Python's max(a, b): b only when b &gt; a, so a NaN b gives a. */
    private static float pythonMax(float a, float b) {
        return b > a ? b : a;
    }

    /** torch.lerp(a, b, w) in float32, with 1 - w given. */
    private static float lerp(float a, float b, float w, float oneMinusW) {
        return Math.abs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * oneMinusW;
    }

    /** u = rsqrt(max(var, eps1^2)) * g; NaN stays NaN (torch's clamp_min). */
    private static float update(float var, float eps1Squared, float g) {
        float v = var < eps1Squared ? eps1Squared : var;
        return (1f / (float) Math.sqrt(v)) * g;
    }

    /** A row's norm: reduce.cl's norms of its 4096-element pieces, folded as norm_finish folds them. */
    private static float rowNorm(float[] grad, int start, int count) {
        int pieces = Math.max(1, (count + SetKernels.CHUNK - 1) / SetKernels.CHUNK);
        float[] norms = new float[pieces];
        for (int q = 0; q < pieces; q++) {
            int n = Math.min(SetKernels.CHUNK, count - q * SetKernels.CHUNK);
            norms[q] = SetKernels.Reference.partial(grad, start + q * SetKernels.CHUNK, n, SetKernels.NORM_L2, 1f);
        }
        return SetKernels.Reference.normOf(norms, 0, pieces, SetKernels.NORM_L2);
    }

    /** max(mean of values[from, from + count), eps1), the sum compensated; NaN stays NaN. */
    private static float rowMean(float[] values, int from, int count, float eps1) {
        float mean = SetKernels.Reference.normOf(values, from, from + count, SetKernels.SUM) / count;
        return mean < eps1 ? eps1 : mean;
    }

    /** Builds an {@link Adafactor}, starting from the defaults. */
    public static final class Builder extends OptimizerConfig.Builder<Builder, Adafactor> {
        private Builder(Algorithm row) {
            super(row);
        }

        private Builder(Adafactor from) {
            super(from);
        }

        /**
         * Sets {@code beta2_decay}: the second moment's weight of step t is t^beta2_decay.
         *
         * @param value the new value, &lt;= 0
         * @return this builder
         */
        public Builder beta2Decay(double value) {
            return set("beta2_decay", value);
        }

        /**
         * Sets {@code eps}: eps1 keeps the denominators from 0 (null: float32's machine
         * epsilon), eps2 is the smallest RMS the step is relative to.
         *
         * @param eps1 the first, &gt;= 0, or null
         * @param eps2 the second, &gt;= 0
         * @return this builder
         */
        public Builder eps(Double eps1, double eps2) {
            return set("eps", java.util.Arrays.asList(eps1, eps2));
        }

        /**
         * Sets {@code d}, the clipping threshold of the update's RMS.
         *
         * @param value the new value, &gt;= 1
         * @return this builder
         */
        public Builder d(double value) {
            return set("d", value);
        }
    }
}

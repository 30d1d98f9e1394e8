package org.clopt;

import static org.jocl.CL.*;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jocl.Pointer;
import org.jocl.cl_mem;

/**
 * What a {@link ParameterSet} does around its steps, on its groups' arrays: the norm of many
 * tensors' gradients and the clip coefficient ({@code kernels/reduce.cl}), gradients scaled,
 * clamped and accumulated in place ({@code kernels/gradients.cl}), and the averaged parameters
 * ({@code kernels/average.cl}). One per set: OpenCL kernels on a device ({@link Cl}), or the
 * same operations in the same order in Java ({@link Reference}), which the kernels are checked
 * against bit for bit.
 *
 * <p>The clip coefficient stays where it is computed: a step reads it through
 * {@link #scale(boolean)}, so clipping needs no read-back; {@link #result()} reads it (and the
 * total norm) only when asked.
 */
abstract class SetKernels implements AutoCloseable {
    /** Elements per chunk of the reduction; a property of the order, not of any device. */
    static final int CHUNK = 4096;
    private static final int LANES = 64;
    /** Work-items (chunks) per work-group of the reduction's first pass. */
    private static final int PARTIALS_GROUP = 64;
    /** Norm codes shared with reduce.cl. */
    static final int NORM_INF = 0;
    static final int NORM_L1 = 1;
    static final int NORM_L2 = 2;
    static final int SUM = 3;
    /** Averaging modes shared with average.cl. */
    static final int AVERAGE_COPY = 0;
    static final int AVERAGE_EMA = 1;
    static final int AVERAGE_SWA = 2;

    /** Elements [from, from + size) of one group's arrays: one tensor. */
    record Segment(Engine engine, int from, int size) {
    }

    /**
     * What a step multiplies gradients by: a device buffer holding it (null for none: the
     * kernel without the multiplication runs), or its value on the CPU reference.
     */
    record GradScale(cl_mem buffer, float value) {
    }

    static SetKernels of(Device device) {
        return device == null ? new Reference() : new Cl(device);
    }

    /**
     * Computes the norm of the segments' gradients times {@code unscale} together (each segment
     * a tensor) and the clip coefficient for {@code maxNorm}, which {@link #scale(boolean)
     * scale(true)} then gives.
     */
    abstract void norm(List<Segment> tensors, int norm, float maxNorm, float unscale);

    /** The last {@link #norm}'s clip coefficient and total norm; reads them back from a device. */
    abstract float[] result();

    /**
     * Checks the segments' gradients times {@code unscale} for Inf and NaN (their largest
     * magnitude, kept apart from the clip coefficient); {@link #nonFinite()} reads the answer.
     */
    abstract void checkFinite(List<Segment> tensors, float unscale);

    /** Whether the last {@link #checkFinite} found Inf or NaN: one read of 4 bytes from a device. */
    abstract boolean nonFinite();

    /** The scale of a step: the clip coefficient, or 1. */
    abstract GradScale scale(boolean clipped);

    /** grad = (grad * unscale) * the clip coefficient (1 unless clipped), in place. */
    abstract void scaleGradients(Segment s, float unscale, boolean clipped);

    /** grad = clamp(grad, -value, value), in place. */
    abstract void clampGradients(Segment s, float value);

    /** grad += src's remaining floats (exactly the segment's size). */
    abstract void addGradients(Segment s, FloatBuffer src);

    /**
     * grad += elements [srcOffset, srcOffset + size) of a device buffer of the set's context,
     * floats or of the gradients' own type.
     */
    abstract void addGradients(Segment s, cl_mem src, long srcOffset, Dtype srcType);

    /** Updates the segment's averaged parameters (which must be allocated) from its parameters. */
    abstract void average(Segment s, int mode, float weight);

    @Override
    public abstract void close();

    /** The chunks of the reduction: (first element, count) pairs, and each tensor's end. */
    static int[][] chunks(List<Segment> tensors) {
        List<int[]> pairs = new ArrayList<>();
        int[] ends = new int[tensors.size()];
        for (int t = 0; t < tensors.size(); t++) {
            Segment s = tensors.get(t);
            // Every tensor has a chunk, an empty one if it is empty, so norm_finish can put
            // tensor t's norm at index t without overwriting a partial it still needs.
            int from = 0;
            do {
                int n = Math.min(CHUNK, s.size - from);
                pairs.add(new int[] {s.from + from, n});
                from += n;
            } while (from < s.size);
            ends[t] = pairs.size();
        }
        int[] flat = new int[2 * pairs.size()];
        for (int c = 0; c < pairs.size(); c++) {
            flat[2 * c] = pairs.get(c)[0];
            flat[2 * c + 1] = pairs.get(c)[1];
        }
        return new int[][] {flat, ends};
    }

    /** The OpenCL path. */
    static final class Cl extends SetKernels {
        private final Device device;
        /** Kernels and buffers that live as long as the set. */
        private final Closer resources = new Closer();
        /** [clip coefficient, total norm]; starts as [1, 0]. */
        private final DeviceBuffer result;
        private final DeviceBuffer one;
        /** [_, the largest magnitude] of the last check for Inf and NaN. */
        private final DeviceBuffer found;
        /**
         * Kernels by build options (a gradient type, or a precision), then by name; looked up on
         * every launch, so without building a key.
         */
        private final Map<String, Map<String, Kernel>> kernels = new HashMap<>();
        /** The reduction's tables for the last list of tensors, reused while it stays the same. */
        private ChunkTables tables;
        private DeviceBuffer staging;

        Cl(Device device) {
            this.device = device;
            try {
                result = resources.add(DeviceBuffer.of(device, new float[] {1f, 0f}, "the clip coefficient"));
                one = resources.add(DeviceBuffer.of(device, new float[] {1f}, "the unit gradient scale"));
                found = resources.add(DeviceBuffer.of(device, new float[] {0f, 0f}, "the check for Inf and NaN"));
            } catch (RuntimeException e) {
                resources.close();
                throw e;
            }
        }

        private Kernel kernel(String file, String name, String options) {
            Map<String, Kernel> byName = kernels.computeIfAbsent(options, o -> new HashMap<>());
            Kernel k = byName.get(name);
            if (k == null) {
                k = resources.add(Kernel.fromClasspath(device, file, name, options));
                byName.put(name, k);
            }
            return k;
        }

        /** A kernel over the segment's gradients, built for their type. */
        private Kernel gradientKernel(Segment s, String file, String name) {
            return kernel(file, name, s.engine.precision.gradientOptions());
        }

        @Override
        void norm(List<Segment> tensors, int norm, float maxNorm, float unscale) {
            reduce(tensors, tensors, gradientSources(tensors), norm, maxNorm, unscale, result);
        }

        private static Source[] gradientSources(List<Segment> tensors) {
            Source[] sources = new Source[tensors.size()];
            for (int t = 0; t < sources.length; t++) {
                Engine e = tensors.get(t).engine;
                sources[t] = new Source(((ClEngine) e).buffer(Engine.GRADIENTS), e.precision.gradientOptions());
            }
            return sources;
        }

        @Override
        void checkFinite(List<Segment> tensors, float unscale) {
            reduce(tensors, tensors, gradientSources(tensors), NORM_INF, 0f, unscale, found);
        }

        @Override
        boolean nonFinite() {
            float[] largest = new float[1];
            found.read(1, largest);
            return !Float.isFinite(largest[0]);
        }

        /** The sum of floats [from, from + size) of {@code buffer}, read back. */
        float sum(cl_mem buffer, int from, int size) {
            List<Segment> one = List.of(new Segment(null, from, size));
            reduce(List.of(buffer, from, size), one, new Source[] {new Source(buffer, "")}, SUM, 0f, 1f, result);
            return result()[1];
        }

        /** reduce.cl's first-pass kernels by norm code. */
        private static final String[] PARTIALS = {"norm_partials_inf", "norm_partials_l1", "norm_partials_l2",
            "norm_partials_sum"};

        /** A buffer a reduction reads, and the build options of its element type. */
        private record Source(cl_mem buffer, String options) {
        }

        /**
         * Enqueues the reduction of the tensors, tensor t read from {@code sources[t]}, into
         * {@code into}; the tables are made again only when {@code key} changes.
         */
        private void reduce(List<?> key, List<Segment> tensors, Source[] sources, int norm, float maxNorm,
                            float unscale, DeviceBuffer into) {
            tables = ChunkTables.of(tables, device, List.copyOf(key), () -> chunks(tensors), 1, "the reduction's");
            String name = PARTIALS[norm];
            // One launch per run of chunks in the same buffer: usually one per group.
            int c = 0;
            int t = 0;
            while (t < tensors.size()) {
                Source source = sources[t];
                int first = c;
                while (t < tensors.size() && sources[t].buffer() == source.buffer()) {
                    c += Math.max(1, (tensors.get(t).size + CHUNK - 1) / CHUNK);
                    t++;
                }
                // An empty group has no buffer; its empty chunks read nothing of this one. Small
                // work-groups: a chunk is a loop of its own, and the element-wise CPU rule
                // (groups of 4096) would put a tensor of 2^24 elements on one core.
                kernel("reduce", name, source.options()).arg(0, source.buffer() != null ? source.buffer() : one.handle())
                        .arg(1, tables.chunks).arg(2, tables.partials).arg(3, unscale).launch(first, c, PARTIALS_GROUP);
            }
            kernel("reduce", "norm_finish", "").arg(0, tables.partials).arg(1, tables.tensorEnds)
                    .arg(2, tensors.size()).arg(3, norm).arg(4, maxNorm).arg(5, into).launch(0, 1);
        }

        @Override
        float[] result() {
            float[] values = new float[2];
            result.read(values);
            return values;
        }

        @Override
        GradScale scale(boolean clipped) {
            return new GradScale(clipped ? result.handle() : null, Float.NaN);
        }

        @Override
        void scaleGradients(Segment s, float unscale, boolean clipped) {
            if (s.size == 0) {
                return;
            }
            gradientKernel(s, "gradients", "grad_scale").arg(0, gradients(s)).arg(1, clipped ? result : one)
                    .arg(2, unscale).launch(s.from, s.from + s.size);
        }

        @Override
        void clampGradients(Segment s, float value) {
            if (s.size == 0) {
                return;
            }
            gradientKernel(s, "gradients", "grad_clamp").arg(0, gradients(s)).arg(1, value)
                    .launch(s.from, s.from + s.size);
        }

        @Override
        void addGradients(Segment s, FloatBuffer src) {
            if (s.size == 0) {
                return;
            }
            if (staging == null || staging.bytes() < 4L * s.size) {
                staging = replace(staging, null);
                staging = DeviceBuffer.allocate(device, 4L * s.size, "the accumulation buffer");
            }
            Pointer host = ClEngine.host(src);
            cl_mem target = staging.handle();
            // Blocking: the caller may reuse its array as soon as this returns.
            org.clopt.Cl.run("writing a gradient to accumulate", () -> clEnqueueWriteBuffer(device.queue(),
                    target, CL_TRUE, 0, 4L * s.size, host, 0, null, null));
            addGradients(s, target, 0, Dtype.FP32);
        }

        @Override
        void addGradients(Segment s, cl_mem src, long srcOffset, Dtype srcType) {
            if (s.size == 0) {
                return;
            }
            String name = srcType == Dtype.FP32 ? "grad_add" : "grad_add_same";
            gradientKernel(s, "gradients", name).arg(0, gradients(s)).arg(1, src).arg(2, srcOffset - s.from)
                    .launch(s.from, s.from + s.size);
        }

        @Override
        void average(Segment s, int mode, float weight) {
            if (s.size == 0) {
                return;
            }
            ClEngine e = (ClEngine) s.engine;
            kernel("average", "average_update", e.precision.buildOptions()).arg(0, e.buffer(e.averagedArray()))
                    .arg(1, e.buffer(Engine.PARAMETERS)).arg(2, mode).arg(3, weight).launch(s.from, s.from + s.size);
        }

        private static cl_mem gradients(Segment s) {
            return ((ClEngine) s.engine).buffer(Engine.GRADIENTS);
        }

        /** Closes {@code old}, if any, and returns {@code fresh}. */
        private static DeviceBuffer replace(DeviceBuffer old, DeviceBuffer fresh) {
            if (old != null) {
                old.close();
            }
            return fresh;
        }

        @Override
        public void close() {
            Closer all = new Closer();
            for (AutoCloseable b : new AutoCloseable[] {tables, staging}) {
                if (b != null) {
                    all.add(b);
                }
            }
            all.add(resources);
            all.close();
        }
    }

    /** The CPU reference: reduce.cl's order of operations, in Java's float arithmetic. */
    static final class Reference extends SetKernels {
        private float coefficient = 1f;
        private float total;
        private boolean nonFinite;

        @Override
        void norm(List<Segment> tensors, int norm, float maxNorm, float unscale) {
            total = reduce(tensors, norm, unscale);
            float coef = maxNorm * (1f / (total + 1e-6f));
            coefficient = coef < 1f || Float.isNaN(coef) ? coef : 1f;
        }

        @Override
        void checkFinite(List<Segment> tensors, float unscale) {
            nonFinite = !Float.isFinite(reduce(tensors, NORM_INF, unscale));
        }

        @Override
        boolean nonFinite() {
            return nonFinite;
        }

        private static float reduce(List<Segment> tensors, int norm, float unscale) {
            int[][] tables = chunks(tensors);
            int[] pairs = tables[0];
            int[] ends = tables[1];
            float[] partial = new float[Math.max(pairs.length / 2, tensors.size())];
            int c = 0;
            for (int t = 0; t < tensors.size(); t++) {
                float[] x = ((ReferenceEngine) tensors.get(t).engine).array(Engine.GRADIENTS);
                for (; c < ends[t]; c++) {
                    partial[c] = partial(x, pairs[2 * c], pairs[2 * c + 1], norm, unscale);
                }
            }
            c = 0;
            for (int t = 0; t < tensors.size(); t++) {
                float n = normOf(partial, c, ends[t], norm);
                c = ends[t];
                partial[t] = n;
            }
            return normOf(partial, 0, tensors.size(), norm);
        }

        /** The sum of x[from, from + size) in the order of {@link Cl#sum}. */
        float sum(float[] x, int from, int size) {
            float[] partial = new float[Math.max(1, (size + CHUNK - 1) / CHUNK)];
            int[] pairs = chunks(List.of(new Segment(null, from, size)))[0];
            for (int c = 0; c < partial.length; c++) {
                partial[c] = partial(x, pairs[2 * c], pairs[2 * c + 1], SUM, 1f);
            }
            total = normOf(partial, 0, partial.length, SUM);
            return total;
        }

        /** norm_partials for one chunk, its elements times {@code unscale}. */
        static float partial(float[] x, int start, int n, int norm, float unscale) {
            float r = chunk(x, start, n, norm, 1f, unscale);
            if (norm != NORM_L2) {
                return r;
            }
            if (!Float.isNaN(r) && (Float.isInfinite(r) || r < 0x1p-100f)) {
                float m = chunk(x, start, n, NORM_INF, 1f, unscale);
                if (m > 0f && !Float.isInfinite(m)) {
                    float u = unscale(m);
                    return (float) Math.sqrt(chunk(x, start, n, NORM_L2, u, unscale)) / u;
                }
                return m;
            }
            return (float) Math.sqrt(r);
        }

        private static float chunk(float[] x, int start, int n, int norm, float scale, float unscale) {
            float[] acc = new float[LANES];
            int full = n / LANES;
            for (int k = 0; k < full; k++) {
                for (int j = 0; j < LANES; j++) {
                    acc[j] = fold(acc[j], x[start + k * LANES + j] * unscale * scale, norm);
                }
            }
            for (int j = 0; full * LANES < n && j < LANES; j++) {
                int i = full * LANES + j;
                acc[j] = fold(acc[j], i < n ? x[start + i] * unscale * scale : 0f, norm);
            }
            for (int width = LANES / 2; width >= 1; width /= 2) {
                for (int j = 0; j < width; j++) {
                    acc[j] = norm == NORM_INF ? nanMax(acc[j], acc[j + width]) : acc[j] + acc[j + width];
                }
            }
            return acc[0];
        }

        private static float fold(float acc, float x, int norm) {
            return switch (norm) {
                case NORM_L2 -> Math.fma(x, x, acc);
                case NORM_L1 -> acc + Math.abs(x);
                case SUM -> acc + x;
                default -> nanMax(acc, Math.abs(x));
            };
        }

        /** torch.maximum: NaN when either is NaN. */
        private static float nanMax(float a, float b) {
            return a > b || Float.isNaN(a) ? a : b;
        }

        private static float unscale(float m) {
            return Math.scalb(1f, -Math.max(Math.getExponent(m), -126));
        }

        private static float sum(float[] values, int from, int to, boolean square, float scale) {
            float s = 0f;
            float comp = 0f;
            for (int c = from; c < to; c++) {
                float v = values[c] * scale;
                float y = (square ? v * v : v) - comp;
                float u = s + y;
                comp = Float.isFinite(u) ? (u - s) - y : 0f;
                s = u;
            }
            return s;
        }

        static float normOf(float[] values, int from, int to, int norm) {
            if (norm == NORM_L2) {
                float direct = sum(values, from, to, true, 1f);
                if (Float.isNaN(direct) || (Float.isFinite(direct) && direct >= 0x1p-100f)) {
                    return (float) Math.sqrt(direct);
                }
            }
            if (norm == NORM_INF || norm == NORM_L2) {
                float m = 0f;
                for (int c = from; c < to; c++) {
                    m = nanMax(m, values[c]);
                }
                if (norm == NORM_INF || !(m > 0f) || Float.isInfinite(m)) {
                    return m;
                }
                float u = unscale(m);
                return (float) Math.sqrt(sum(values, from, to, true, u)) / u;
            }
            return sum(values, from, to, false, 1f);
        }

        @Override
        float[] result() {
            return new float[] {coefficient, total};
        }

        @Override
        GradScale scale(boolean clipped) {
            return new GradScale(null, clipped ? coefficient : 1f);
        }

        @Override
        void scaleGradients(Segment s, float unscale, boolean clipped) {
            float[] g = gradients(s);
            Dtype type = s.engine.precision.dtype();
            float c = clipped ? coefficient : 1f;
            for (int i = s.from; i < s.from + s.size; i++) {
                g[i] = type.round(g[i] * unscale * c);
            }
        }

        @Override
        void clampGradients(Segment s, float value) {
            float[] g = gradients(s);
            Dtype type = s.engine.precision.dtype();
            for (int i = s.from; i < s.from + s.size; i++) {
                float x = g[i];
                g[i] = type.round(x < -value ? -value : (x > value ? value : x));
            }
        }

        @Override
        void addGradients(Segment s, FloatBuffer src) {
            float[] g = gradients(s);
            Dtype type = s.engine.precision.dtype();
            FloatBuffer in = src.duplicate();
            for (int i = s.from; i < s.from + s.size; i++) {
                g[i] = type.round(g[i] + in.get());
            }
        }

        @Override
        void addGradients(Segment s, cl_mem src, long srcOffset, Dtype srcType) {
            throw new IllegalStateException("the CPU reference set has no device buffers");
        }

        @Override
        void average(Segment s, int mode, float weight) {
            ReferenceEngine e = (ReferenceEngine) s.engine;
            float[] avg = e.array(e.averagedArray());
            float[] p = e.array(Engine.PARAMETERS);
            for (int i = s.from; i < s.from + s.size; i++) {
                float x = p[i];
                float a = avg[i];
                avg[i] = switch (mode) {
                    case AVERAGE_COPY -> x;
                    case AVERAGE_EMA -> weight < 0.5f ? Math.fma(weight, x - a, a) : Math.fma(weight - 1f, x - a, x);
                    default -> a + (x - a) / weight;
                };
            }
        }

        private static float[] gradients(Segment s) {
            return ((ReferenceEngine) s.engine).array(Engine.GRADIENTS);
        }

        @Override
        public void close() {
            // Plain Java: nothing native.
        }
    }
}

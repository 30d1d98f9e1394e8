package org.clopt;

import java.util.Arrays;

/**
 * 8-bit block-wise state ({@code state_dtype=int8}), after Dettmers et al. 2022, "8-bit
 * Optimizers via Block-wise Quantization", and bitsandbytes' blockwise optimizers.
 *
 * <p>A tensor of at least {@code min_8bit_size} elements keeps each state array as one 8-bit
 * code per element and one fp32 {@code absmax} per block of {@link #BLOCK} elements (blocks
 * start at the tensor's first element; the last may be shorter). Element x of a block with
 * absmax a and code c is {@code map[c] * a}, where {@code map} is the 256-value dynamic (tree)
 * code map: {@link #SIGNED} for arrays that can be negative (first moments, momentum buffers),
 * {@link #UNSIGNED} for those that cannot (second moments and other sums of squares). Smaller
 * tensors keep fp32 state, as in bitsandbytes.
 *
 * <p>A step reads each element as {@code map[c] * a}, updates it in fp32 (the parameter update
 * uses these fp32 values), then stores the block again: a = max |x| over the block, and each
 * x becomes the code nearest to {@code x * (1 / a)}, the lower one on a tie. A block of zeros
 * has a = 0 and every code at 0. A block holding NaN or an infinity stores a = NaN, so that the
 * whole block reads back as NaN: the failure stays visible instead of turning into finite
 * values. The kernels ({@code kernels/common.cl}) and this class do the same float operations
 * in the same order, so both paths give the same codes bit for bit on a device with correctly
 * rounded division.
 */
final class Int8State {
    /** Elements per block: the work-group size of an int8 step (-DCLOPT_BLOCK). */
    static final int BLOCK = 256;
    /** bitsandbytes' default {@code min_8bit_size}: smaller tensors keep fp32 state. */
    static final int MIN_8BIT_SIZE = 4096;
    /** The signed dynamic code map, ascending: 127 negative values, 0, 127 positive values, 1. */
    static final float[] SIGNED = dynamicMap(true);
    /** The unsigned dynamic code map, ascending: 0, 254 values in (0, 1), then 1. */
    static final float[] UNSIGNED = dynamicMap(false);
    /** The code of 0 in the signed map (the unsigned map's is 0): what a block of zeros stores. */
    static final int SIGNED_ZERO = Arrays.binarySearch(SIGNED, 0f);

    /**
     * Buckets of the search for a code (see {@link #code}): |t| below 2^-24, then 2^-24 to 1 in
     * steps of 2^16 float bits (7 mantissa bits), then 1 and above.
     */
    static final int BUCKETS = ((0x3F800000 - 0x33800000) >>> 16) + 1;
    /** Each map's search table: for bucket b and sign s, at 2b + s, the largest code at or below the bucket. */
    static final byte[] SIGNED_BUCKETS = buckets(SIGNED);
    static final byte[] UNSIGNED_BUCKETS = buckets(UNSIGNED);

    private Int8State() {
    }

    /** The bucket of t (|t| = 0 to 1 and above), as the kernel computes it. */
    private static int bucket(float t) {
        int u = Float.floatToRawIntBits(t) & 0x7FFFFFFF;
        return (Math.min(Math.max(u, 0x33800000), 0x3F800000) - 0x33800000) >>> 16;
    }

    /**
     * The search table of a map: for each bucket, the largest code at or below its lowest value
     * (for a positive t: the bucket's first float; negative: minus the next bucket's first), and
     * a check that no bucket holds more than one code besides, which the one step of
     * {@link #code} assumes.
     */
    private static byte[] buckets(float[] map) {
        byte[] table = new byte[2 * BUCKETS];
        for (int b = 0; b < BUCKETS; b++) {
            float low = b == 0 ? 0f : Float.intBitsToFloat(0x33800000 + (b << 16));
            float high = b == BUCKETS - 1 ? Float.POSITIVE_INFINITY : Float.intBitsToFloat(0x33800000 + ((b + 1) << 16));
            table[2 * b] = (byte) search(map, low);
            table[2 * b + 1] = (byte) search(map, -high);
            int inside = 0;
            int below = 0;
            for (float m : map) {
                inside += m > low && m < high ? 1 : 0;
                below += m > -high && m <= -low ? 1 : 0;
            }
            if (inside > 1 || below > 1) {
                throw new AssertionError("bucket " + b + " holds " + Math.max(inside, below) + " codes");
            }
        }
        return table;
    }

    /** The largest c with map[c] <= t, or 0 when there is none: eight halvings. */
    static int search(float[] map, float t) {
        int lo = 0;
        for (int step = 128; step > 0; step >>= 1) {
            if (map[lo + step] <= t) {
                lo += step;
            }
        }
        return lo;
    }

    /**
     * bitsandbytes' {@code create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)} in
     * float32, as PyTorch computes it: for exponent e = 0..6, the midpoints of
     * {@code linspace(0.1, 1, n)} (n = 2^e + 1 signed, 2^(e+1) + 1 unsigned) times 10^(e-6),
     * with their negatives when signed, then 0 and 1, sorted.
     */
    static float[] dynamicMap(boolean signed) {
        float[] data = new float[256];
        int n = 0;
        for (int e = 0; e < 7; e++) {
            int items = signed ? (1 << e) + 1 : (1 << (e + 1)) + 1;
            float[] boundaries = linspace(0.1f, 1f, items);
            float scale = (float) Math.pow(10, e - 6);
            for (int k = 0; k + 1 < items; k++) {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                data[n++] = scale * mean;
                if (signed) {
                    data[n++] = -(scale * mean);
                }
            }
        }
        data[n++] = 0f;
        data[n++] = 1f;
        if (n != 256) {
            throw new AssertionError(n + " codes");
        }
        Arrays.sort(data);
        return data;
    }

    /**
     * torch.linspace in float32 as PyTorch's CPU kernel computes it, so that the maps equal the
     * ones bitsandbytes makes: elements before the halfway point count up from start, the rest
     * down from end, as fma(step, index, start) or fma(-step, steps - 1 - index, end); runs of
     * 16 elements are two 8-lane vectors, each lane its vector's first value plus lane * step.
     */
    private static float[] linspace(float start, float end, int steps) {
        float step = (end - start) / (steps - 1);
        float[] v = new float[steps];
        int halfway = steps / 2;
        int i = 0;
        while (i + 16 <= steps) {
            // Two vectors at a time; each is its first value, then lane k adds k * step.
            for (int vector = 0; vector < 2; vector++, i += 8) {
                float base = i < halfway ? Math.fma(step, i, start) : Math.fma(-step, steps - i - 1, end);
                v[i] = base;
                for (int k = 1; k < 8; k++) {
                    v[i + k] = base + k * step;
                }
            }
        }
        // The rest one element at a time.
        for (; i < steps; i++) {
            v[i] = i < halfway ? Math.fma(step, i, start) : Math.fma(-step, steps - i - 1, end);
        }
        return v;
    }

    /** The map of a state array: unsigned for the arrays that cannot be negative. */
    static float[] map(boolean unsigned) {
        return unsigned ? UNSIGNED : SIGNED;
    }

    /**
     * The code nearest to {@code t} (a value already divided by the block's absmax): the
     * largest c with map[c] <= t, or c + 1 when that is strictly nearer (the lower one on a
     * tie). As the kernel: c from t's bucket in the search table, then one step up if the next
     * code is still at or below t.
     */
    static int code(float[] map, float t) {
        byte[] table = map == SIGNED ? SIGNED_BUCKETS : UNSIGNED_BUCKETS;
        int lo = table[(bucket(t) << 1) | (Float.floatToRawIntBits(t) >>> 31)] & 0xFF;
        int next = Math.min(lo + 1, 255);
        lo = map[next] <= t ? next : lo;
        int hi = Math.min(lo + 1, 255);
        return map[hi] - t < t - map[lo] ? hi : lo;
    }

    /**
     * The absmax a block stores for these fp32 values: max |x|, or NaN when any is NaN or
     * infinite.
     */
    static float absmax(float[] x, int from, int count) {
        float m = 0f;
        for (int i = from; i < from + count; i++) {
            float a = Math.abs(x[i]);
            // Non-finite values count as infinity, which is then stored as NaN.
            m = Math.max(m, Float.isFinite(a) ? a : Float.POSITIVE_INFINITY);
        }
        return Float.isFinite(m) ? m : Float.NaN;
    }

    /** The reciprocal a block's values are multiplied by before the search: 0 for a = 0 or NaN. */
    static float inverse(float absmax) {
        return absmax > 0f ? 1f / absmax : 0f;
    }

    /**
     * The code of x in a block whose absmax is a, given {@code inverse(a)}: the value x * (1/a)
     * (0 when that is NaN) searched in the map.
     */
    static int quantize(float[] map, float x, float inverse) {
        float t = x * inverse;
        return code(map, Float.isNaN(t) ? 0f : t);
    }

    /**
     * Quantizes {@code values}, whole blocks from a block's start (the last may be shorter):
     * block b's codes into {@code codes}, its absmax into {@code absmax[b]}.
     */
    static void quantizeBlocks(float[] map, float[] values, byte[] codes, float[] absmax) {
        for (int b = 0; b < absmax.length; b++) {
            int from = b * BLOCK;
            int count = Math.min(BLOCK, values.length - from);
            float a = absmax(values, from, count);
            float inverse = inverse(a);
            for (int i = from; i < from + count; i++) {
                codes[i] = (byte) quantize(map, values[i], inverse);
            }
            absmax[b] = a;
        }
    }

    /** The value of code c in a block of absmax a. */
    static float dequantize(float[] map, byte c, float absmax) {
        return map[c & 0xFF] * absmax;
    }

    /**
     * Where a group's int8 state lives: for each tensor, whether it is quantized, where its
     * codes or fp32 values start, and its blocks. Every state array of the group has this
     * layout. The block table, one row of {@link #FIELDS} ints per block of every tensor, is
     * what a kernel's work-group reads: first element, element count, absmax index (-1 for a
     * block of an fp32 tensor) and the first state index (in the codes, or in the fp32 values).
     */
    static final class Layout {
        static final int FIELDS = 4;
        final int[] offsets;
        final int[] sizes;
        final boolean[] quantized;
        /** Each tensor's first state index: in the codes if quantized, else in the fp32 values. */
        final int[] stateStarts;
        /** Each quantized tensor's first absmax index (the count of quantized blocks before it). */
        final int[] absmaxStarts;
        /** Each tensor's first block; one more entry at the end, the block count. */
        final int[] firstBlocks;
        final int[] table;
        final int codeCount;
        final int floatCount;
        final int absmaxCount;

        Layout(int[] tensorSizes, int min8bitSize) {
            int n = tensorSizes.length;
            offsets = new int[n];
            sizes = tensorSizes.clone();
            quantized = new boolean[n];
            stateStarts = new int[n];
            absmaxStarts = new int[n];
            firstBlocks = new int[n + 1];
            long offset = 0;
            long codes = 0;
            long floats = 0;
            long absmax = 0;
            long blocks = 0;
            for (int t = 0; t < n; t++) {
                offsets[t] = (int) offset;
                quantized[t] = sizes[t] >= min8bitSize;
                stateStarts[t] = (int) (quantized[t] ? codes : floats);
                firstBlocks[t] = (int) blocks;
                absmaxStarts[t] = (int) absmax;
                long b = (sizes[t] + (long) BLOCK - 1) / BLOCK;
                blocks += b;
                if (quantized[t]) {
                    codes += sizes[t];
                    absmax += b;
                } else {
                    floats += sizes[t];
                }
                offset += sizes[t];
            }
            if (blocks * FIELDS > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("int8 state: " + blocks + " blocks do not fit one table");
            }
            firstBlocks[n] = (int) blocks;
            codeCount = (int) codes;
            floatCount = (int) floats;
            absmaxCount = (int) absmax;
            table = new int[(int) blocks * FIELDS];
            int a = 0;
            for (int t = 0; t < n; t++) {
                for (int b = firstBlocks[t]; b < firstBlocks[t + 1]; b++) {
                    int within = (b - firstBlocks[t]) * BLOCK;
                    table[FIELDS * b] = offsets[t] + within;
                    table[FIELDS * b + 1] = Math.min(BLOCK, sizes[t] - within);
                    table[FIELDS * b + 2] = quantized[t] ? a++ : -1;
                    table[FIELDS * b + 3] = stateStarts[t] + within;
                }
            }
        }

        /** The tensor that holds element {@code element} (< {@link #total()}): the last starting at or before it. */
        int tensorAt(int element) {
            int lo = 0;
            int hi = offsets.length - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (offsets[mid] <= element) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return lo;
        }

        /** The blocks [first, last) of elements [from, to), which start and end at tensor bounds. */
        int[] blocks(int from, int to) {
            return new int[] {blockFrom(from), blockFrom(to)};
        }

        private int blockFrom(int element) {
            if (element == total()) {
                return blockCount();
            }
            int t = tensorAt(element);
            if (offsets[t] != element) {
                throw new IllegalArgumentException("element " + element + " is not a tensor's first");
            }
            // Tensors that share this offset are empty but the last, and all start at its first block.
            return firstBlocks[t];
        }

        /** Elements of all tensors. */
        int total() {
            int n = offsets.length;
            return n == 0 ? 0 : offsets[n - 1] + sizes[n - 1];
        }

        /** The rows of the block table, for messages and tests. */
        int blockCount() {
            return firstBlocks[offsets.length];
        }
    }
}

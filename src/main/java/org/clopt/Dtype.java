package org.clopt;

import java.util.Objects;

/**
 * The storage types of parameters and gradients. Arithmetic is always fp32; a 16-bit value is
 * widened as it is loaded and rounded as it is stored.
 * <ul>
 *   <li>{@link #FP32}: IEEE binary32, stored as is.</li>
 *   <li>{@link #BF16}: bfloat16, the top half of an fp32 (8 exponent bits, 7 mantissa bits):
 *       fp32's range with 8 significant bits.</li>
 *   <li>{@link #FP16}: IEEE binary16 (5 exponent bits, 10 mantissa bits): largest finite 65504,
 *       subnormals down to 2<sup>-24</sup>.</li>
 * </ul>
 *
 * <p>The conversions here are those of the kernels ({@code clopt_bf16_load},
 * {@code clopt_bf16_nearest}, {@code clopt_bf16_stochastic}, {@code clopt_fp16_load} and
 * {@code clopt_fp16_nearest} in {@code kernels/common.cl}) bit for bit, so that the CPU reference
 * path stores the same bits as a device. They agree with PyTorch on every number: round to
 * nearest even, overflow to infinity, fp16 subnormals. NaNs stay NaN with bits of their own: bf16
 * stores every NaN as {@code 0x7FC0}, as {@code c10::BFloat16} does (PyTorch's vectorized tensor
 * conversion gives {@code 0xFFFF}); fp16 stores the sign and sets every other bit, as POCL's
 * {@code vstore_half_rte} does (PyTorch stores {@code 0x7E00} with the sign), a choice IEEE 754
 * leaves to each implementation: the kernels convert with integer operations of their own, so
 * it is the same on every device.
 */
public enum Dtype {
    /** IEEE binary32: 4 bytes, nothing rounds. */
    FP32("fp32", "F32", 4),
    /** bfloat16: the top 16 bits of an fp32. */
    BF16("bf16", "BF16", 2),
    /** IEEE binary16. */
    FP16("fp16", "F16", 2);

    /** Every bf16 NaN is stored as this quiet NaN, as PyTorch's {@code c10::BFloat16} does. */
    static final short BF16_NAN = 0x7FC0;

    private final String cliName;
    private final String safetensorsName;
    private final int bytes;

    Dtype(String cliName, String safetensorsName, int bytes) {
        this.cliName = cliName;
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    /**
     * The name on the command line and in configuration: {@code fp32}, {@code bf16} or
     * {@code fp16}.
     *
     * @return the name
     */
    public String cliName() {
        return cliName;
    }

    /**
     * The dtype string of a safetensors header: {@code F32}, {@code BF16} or {@code F16}.
     *
     * @return the safetensors name
     */
    public String safetensorsName() {
        return safetensorsName;
    }

    /**
     * The size of one element in bytes.
     *
     * @return 4 or 2
     */
    public int bytes() {
        return bytes;
    }

    /**
     * The type named {@code name} as the command line spells it (exactly, lower case).
     *
     * @param name {@code fp32}, {@code bf16} or {@code fp16}
     * @return the type
     * @throws IllegalArgumentException naming the value and the allowed ones otherwise
     */
    public static Dtype parse(String name) {
        Objects.requireNonNull(name, "dtype");
        for (Dtype d : values()) {
            if (d.cliName.equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("invalid dtype: '" + name + "' (must be fp32, bf16 or fp16)");
    }

    /**
     * The type of a safetensors dtype string (exactly, as the format spells it).
     *
     * @param name {@code F32}, {@code BF16} or {@code F16}
     * @return the type
     * @throws IllegalArgumentException naming the value and the allowed ones otherwise
     */
    public static Dtype ofSafetensors(String name) {
        Objects.requireNonNull(name, "safetensors dtype");
        for (Dtype d : values()) {
            if (d.safetensorsName.equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("invalid safetensors dtype: '" + name
                + "' (must be F32, BF16 or F16)");
    }

    /**
     * {@code x} rounded to the nearest value of this type (ties to even) and widened back: what
     * a kernel reads after storing {@code x}.
     *
     * @param x the value
     * @return the rounded value; {@code x} itself for {@link #FP32}
     */
    public float round(float x) {
        return this == FP32 ? x : fromBits(toBits(x));
    }

    /**
     * The 16 bits that store {@code x}, rounded to nearest even: {@code clopt_bf16_nearest} for
     * {@link #BF16} (every NaN becomes {@code 0x7FC0}), {@code clopt_fp16_nearest} for
     * {@link #FP16} (overflow to infinity, subnormals rounded, a NaN keeps its sign and becomes
     * {@code 0x7FFF} or {@code 0xFFFF}).
     *
     * @param x the value
     * @return the stored bits
     * @throws IllegalStateException for {@link #FP32}, which has no 16-bit form
     */
    public short toBits(float x) {
        switch (this) {
            case BF16:
                return bf16Nearest(x);
            case FP16:
                return fp16Nearest(x);
            default:
                throw noSixteenBitForm();
        }
    }

    /**
     * The value that the 16 bits {@code bits} store, widened to fp32 exactly
     * ({@code clopt_bf16_load}, {@code vload_half}).
     *
     * @param bits the stored bits
     * @return the value
     * @throws IllegalStateException for {@link #FP32}, which has no 16-bit form
     */
    public float fromBits(short bits) {
        switch (this) {
            case BF16:
                return Float.intBitsToFloat((bits & 0xFFFF) << 16);
            case FP16:
                return fp16Widen(bits);
            default:
                throw noSixteenBitForm();
        }
    }

    /**
     * The bf16 bits of {@code x} rounded stochastically ({@code clopt_bf16_stochastic}): the low
     * 16 bits of {@code random} are added below the kept half before it is truncated, so that
     * between two bf16 neighbours {@code lo < |x| < hi} the magnitude rounds up to {@code hi}
     * with probability {@code (|x| - lo) / (hi - lo)}: rounding without bias. Representable
     * values and infinities never move; every NaN becomes {@code 0x7FC0}.
     *
     * @param x the value
     * @param random the random bits, as the kernels' {@code clopt_random} gives them; only the
     *     low 16 are used
     * @return the stored bits
     * @throws IllegalStateException for any type but {@link #BF16}
     */
    public short toBitsStochastic(float x, int random) {
        if (this != BF16) {
            throw new IllegalStateException("stochastic rounding is for bf16 only, not " + cliName);
        }
        if (Float.isNaN(x)) {
            return BF16_NAN;
        }
        return (short) ((Float.floatToRawIntBits(x) + (random & 0xFFFF)) >>> 16);
    }

    private IllegalStateException noSixteenBitForm() {
        return new IllegalStateException("fp32 has no 16-bit form");
    }

    /**
     * {@code clopt_random(key, index)}: the 32 random bits of element {@code index} for the step
     * whose key is {@code key}. Java's int arithmetic wraps like OpenCL's uint.
     */
    static int random(int key, int index) {
        return mix32(index * 0x9E3779B9 + key);
    }

    /** {@code clopt_mix32}, the lowbias32 hash: every input bit affects every output bit. */
    static int mix32(int x) {
        x ^= x >>> 16;
        x *= 0x7FEB352D;
        x ^= x >>> 15;
        x *= 0x846CA68B;
        x ^= x >>> 16;
        return x;
    }

    /**
     * The key of stochastic rounding that the host passes to the kernels of step {@code step}
     * (the {@code rounding_key} argument): the low 32 bits of splitmix64's finalizer applied to
     * {@code seed + step * 0x9E3779B97F4A7C15}. One seed thus gives every step its own
     * well-mixed key, and a run with the same seed is reproducible on any device and on the CPU
     * reference; the element index is mixed in by {@link #random(int, int)}.
     */
    static int roundingKey(long seed, long step) {
        long z = seed + step * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (int) (z ^ (z >>> 31));
    }

    /** {@code clopt_bf16_nearest}: ties to even on the raw bits; past the largest finite, inf. */
    private static short bf16Nearest(float x) {
        if (Float.isNaN(x)) {
            // Truncating a NaN whose payload sits in the low half would give an infinity.
            return BF16_NAN;
        }
        int u = Float.floatToRawIntBits(x);
        return (short) ((u + 0x7FFF + ((u >>> 16) & 1)) >>> 16);
    }

    /**
     * IEEE binary16 with round to nearest even, as {@code clopt_fp16_nearest}. Java 17 has no
     * {@code Float.floatToFloat16}: this rounds once, on the integer bits.
     */
    private static short fp16Nearest(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs > 0x7F800000) {
            // NaN: IEEE 754 leaves the payload to the implementation. common.cl (as POCL's
            // vstore_half_rte) keeps the sign and sets every other bit, whatever the payload (so one only in the
            // low 13 bits cannot truncate to an infinity); DtypeTest pins it.
            return (short) (sign | 0x7FFF);
        }
        if (abs >= 0x477FF000) {
            // 65520, halfway between 65504 and 2^16, and above round to infinity; inf stays inf.
            return (short) (sign | 0x7C00);
        }
        int exponent = abs >>> 23;
        if (exponent >= 113) {
            // Normal in binary16 (2^-14 and above): re-bias the exponent by 127 - 15 = 112 and
            // round the 13 dropped bits; a carry out of the mantissa correctly bumps the exponent.
            int m = abs - (112 << 23);
            return (short) (sign | ((m + 0xFFF + ((m >>> 13) & 1)) >>> 13));
        }
        if (exponent < 102) {
            // Below 2^-25, half the smallest subnormal: rounds to a zero of the same sign.
            return (short) sign;
        }
        // Subnormal in binary16: the value in units of 2^-24 is mantissa * 2^(exponent - 126),
        // a right shift of 14 to 24 bits, rounded to nearest even. A carry to 0x400 is the
        // smallest normal, correctly encoded.
        int mantissa = (abs & 0x7FFFFF) | 0x800000;
        int shift = 126 - exponent;
        int q = mantissa >>> shift;
        int rest = mantissa & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (q & 1) != 0)) {
            q++;
        }
        return (short) (sign | q);
    }

    /**
     * binary16 to fp32, exact ({@code clopt_fp16_load}); a NaN keeps its sign and payload and is
     * made quiet, as IEEE 754 asks of a conversion.
     */
    private static float fp16Widen(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            // Infinity, or a NaN with the quiet bit (fp32's 0x00400000) set.
            int quiet = mantissa != 0 ? 0x00400000 : 0;
            return Float.intBitsToFloat(sign | 0x7F800000 | quiet | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24, exact in fp32.
            float magnitude = mantissa * 0x1p-24f;
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}

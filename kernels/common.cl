/*
 * common.cl: helpers shared by every clopt kernel. The host compiles each algorithm's file
 * after this one, as a single program.
 *
 * Conventions for every <name>_step kernel:
 *   - arguments: CLOPT_STEP_ARGS (p, grad, grad_scale, working, unscale, rounding_key, see
 *     below), the state arrays in PyTorch's order, then the per-step scalars (all float, flags
 *     as 0.0f/1.0f); the body reads p and the gradient through CLOPT_P(i) and CLOPT_G(i) and
 *     writes p through CLOPT_SET_P(i, x), which widen and round 16-bit storage;
 *   - with -DCLOPT_GRAD_SCALE, grad_scale[0] multiplies every gradient as it is read: the
 *     coefficient of gradient clipping that reduce.cl left on the device (clip_grad_norm_'s
 *     grad *= clip_coef fused into the step, so clipping costs no second pass over the gradients
 *     and no read-back). Without it the argument is not read: a step without clipping loads
 *     nothing more than before;
 *   - one work-item per element and no bounds check: the host launches the largest multiple of
 *     the work-group size, then the remaining elements as a second launch at a global offset.
 *     A guard such as if (i >= n) return; stops POCL from vectorizing across work-items and cost
 *     a factor of 2 to 4 there;
 *   - per-step scalars (bias corrections, step sizes, 1-beta ...) are computed once per step on
 *     the host in double and rounded to float, exactly as PyTorch hands Python floats to fp32
 *     tensor ops;
 *   - each expression follows PyTorch's evaluation order (mul_ then add_/addcmul_/addcdiv_),
 *     and contraction into fma is off, so a device with correctly rounded divide and sqrt
 *     reproduces the CPU reference bit for bit.
 *
 * Structural options are build options:
 *   -DMAXIMIZE  negate the gradient (maximize=True)
 */
#pragma OPENCL FP_CONTRACT OFF

/* A gradient as read: times the clip coefficient in the variant built for clipped steps. */
#ifdef CLOPT_GRAD_SCALE
#define CLOPT_SCALED(g) ((g) * grad_scale[0])
#else
#define CLOPT_SCALED(g) (g)
#endif

/*
 * 16-bit storage (Dtype.java holds the same conversions for the CPU reference, bit for bit).
 * Arithmetic is always fp32: a 16-bit value is widened as it is loaded and rounded as it is
 * stored.
 *   bf16: the top half of an fp32. Widening is exact; rounding is to nearest even on the bits,
 *         and every NaN becomes the quiet NaN 0x7FC0, as PyTorch's conversion (a truncated NaN
 *         whose payload sits in the low half would otherwise become an infinity).
 *   fp16: IEEE binary16, converted with integer operations rather than vload_half and
 *         vstore_half_rte: those are core OpenCL, but POCL implements them one element at a
 *         time, which made an fp16 Adam step 3.8x slower than bf16's; the integer form
 *         vectorizes, needs no denormal support, and gives the same bits on every device. Both
 *         directions round to nearest even (IEEE), overflow to infinity from 65520 up, and keep
 *         a NaN a NaN: widening sets its quiet bit, narrowing stores sign | 0x7FFF.
 * Stochastic rounding (bf16 only) adds 16 random bits below the kept half before truncating,
 * so x rounds up with probability equal to its distance from the value below. The bits are a
 * counter-based hash of (rounding_key, element index): the host derives the key from the
 * seed and the step, so a run is reproducible on any device and on the CPU reference.
 */
inline float clopt_bf16_load(const ushort b) {
    return as_float((uint) b << 16);
}

inline ushort clopt_bf16_nearest(const float x) {
    const uint u = as_uint(x);
    return isnan(x) ? (ushort) 0x7FC0 : (ushort) ((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

inline ushort clopt_bf16_stochastic(const float x, const uint random) {
    return isnan(x) ? (ushort) 0x7FC0 : (ushort) ((as_uint(x) + (random & 0xFFFFu)) >> 16);
}

/*
 * fp16 <-> fp32, written once for a scalar and once for 16 lanes (T: float or float16, U: uint
 * or uint16, H: ushort or ushort16). Widening: normal values move the exponent by 112 (the
 * difference of the biases), subnormals are the integer mantissa times 2^-24 (exact), Inf and
 * NaN keep their payload with the quiet bit set. Narrowing: |x| >= 2^-14 rounds its mantissa
 * to 10 bits on the integer bits (a carry runs into the exponent, up to infinity); below, the
 * fp32 addition |x| + 0.5 rounds |x| to a multiple of 2^-24 (0.5's ulp), which is the
 * subnormal's mantissa.
 */
#define CLOPT_FP16_CONVERSIONS(suffix, T, U, H)                                                   \
    inline T clopt_fp16_load##suffix(const H h) {                                            \
        const U x = convert_##U(h);                                                          \
        const U m = (x & 0x7FFFu) << 13;                                                     \
        const U e = x & 0x7C00u;                                                             \
        const T normal = as_##T(m + 0x38000000u);                                            \
        const T subnormal = convert_##T(x & 0x3FFu) * 0x1p-24f;                              \
        const U special = 0x7F800000u | m | ((m & 0x7FFFFFu) != 0 ? (U) (0x400000u) : (U) (0u)); \
        const U magnitude = e == 0x7C00u ? special : as_##U(e == 0u ? subnormal : normal);   \
        return as_##T(magnitude | ((x & 0x8000u) << 16));                                    \
    }                                                                                        \
    inline H clopt_fp16_nearest##suffix(const T f) {                                         \
        const U u = as_##U(f);                                                               \
        const U a = u & 0x7FFFFFFFu;                                                         \
        const U t = a - 0x38000000u;                                                         \
        const U normal = (t + 0xFFFu + ((t >> 13) & 1u)) >> 13;                              \
        const U subnormal = as_##U(as_##T(a) + 0.5f) - 0x3F000000u;                          \
        const U r = a > 0x7F800000u ? (U) (0x7FFFu)                                          \
                  : a >= 0x477FF000u ? (U) (0x7C00u)                                         \
                  : a >= 0x38800000u ? normal : subnormal;                                   \
        return convert_##H(r | ((u >> 16) & 0x8000u));                                       \
    }
CLOPT_FP16_CONVERSIONS(, float, uint, ushort)
CLOPT_FP16_CONVERSIONS(16, float16, uint16, ushort16)

/* clopt_bf16_nearest on 16 lanes. */
inline ushort16 clopt_bf16_nearest16(const float16 x) {
    const uint16 u = as_uint16(x);
    const uint16 r = (u + (uint16) (0x7FFFu) + ((u >> 16) & (uint16) (1u))) >> 16;
    return convert_ushort16(select(r, (uint16) (0x7FC0u), isnan(x)));
}

/* A 32-bit mixing function (lowbias32): every input bit affects every output bit. */
inline uint clopt_mix32(uint x) {
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

inline uint clopt_random(const uint key, const uint index) {
    return clopt_mix32(index * 0x9E3779B9u + key);
}

/*
 * The storage types of a step, by build option:
 *   -DCLOPT_BF16 or -DCLOPT_FP16  gradients in that type; the parameters too, unless
 *   -DCLOPT_MASTER                 the parameters p are fp32 master weights, and each update
 *                                  also writes the rounded working copy into `working`;
 *   -DCLOPT_STOCHASTIC             bf16 parameters rounded stochastically (without master).
 * Without a 16-bit option everything is fp32 and `working` is not touched. A forward or backward
 * pass of a workload (kernels/train/mlp.cl) is built with the 16-bit option alone: it reads the
 * working copy (clopt_work_t, clopt_load_work) and writes gradients (clopt_store_grad).
 */
#if defined(CLOPT_BF16) || defined(CLOPT_FP16)
#define CLOPT_16BIT
/* Both 16-bit types are stored as their bits. */
typedef ushort clopt_half_t;
#ifdef CLOPT_BF16
#define clopt_load_half(a, i) clopt_bf16_load((a)[i])
#else
#define clopt_load_half(a, i) clopt_fp16_load((a)[i])
#endif

/* A 16-bit store: gradients always to nearest; parameters stochastically with the option. */
inline void clopt_store_nearest(global clopt_half_t* a, const uint i, const float x) {
#ifdef CLOPT_BF16
    a[i] = clopt_bf16_nearest(x);
#else
    a[i] = clopt_fp16_nearest(x);
#endif
}

inline void clopt_store_rounded(global clopt_half_t* a, const uint i, const float x, const uint key) {
#ifdef CLOPT_STOCHASTIC
    a[i] = clopt_bf16_stochastic(x, clopt_random(key, i));
#else
    clopt_store_nearest(a, i, x);
#endif
}

/* Sixteen consecutive values a[16k .. 16k + 15] stored to nearest. */
inline void clopt_vstore16_nearest(const float16 x, const uint k, global clopt_half_t* a) {
#ifdef CLOPT_BF16
    vstore16(clopt_bf16_nearest16(x), k, a);
#else
    vstore16(clopt_fp16_nearest16(x), k, a);
#endif
}

typedef clopt_half_t clopt_grad_t;
typedef clopt_half_t clopt_work_t;
#define clopt_load_grad(a, i) clopt_load_half(a, i)
#define clopt_load_work(a, i) clopt_load_half(a, i)
#define clopt_store_grad(a, i, x) clopt_store_nearest(a, i, x)

#ifdef CLOPT_MASTER
typedef float clopt_param_t;
#define clopt_load_param(a, i) ((a)[i])
inline void clopt_store_param(global float* p, global clopt_half_t* working, const uint i, const float x,
                              const uint key) {
    p[i] = x;
    clopt_store_rounded(working, i, x, key);
}
#else
typedef clopt_half_t clopt_param_t;
#define clopt_load_param(a, i) clopt_load_half(a, i)
#define clopt_store_param(p, working, i, x, key) clopt_store_rounded(p, i, x, key)
#endif

#else
typedef float clopt_grad_t;
typedef float clopt_work_t;
typedef float clopt_param_t;
#define clopt_load_grad(a, i) ((a)[i])
#define clopt_load_work(a, i) ((a)[i])
#define clopt_store_grad(a, i, x) ((a)[i] = (x))
#define clopt_load_param(a, i) ((a)[i])
#define clopt_store_param(p, working, i, x, key) ((p)[i] = (x))
#endif

/*
 * The state arrays' storage, by build option:
 *   fp32 (default);
 *   -DCLOPT_STATE_BF16  bf16, widened exactly as it is read and rounded to nearest even as it
 *                       is stored;
 *   -DCLOPT_STATE_INT8  8-bit block-wise, below (Int8State.java does the same on the CPU
 *                       reference).
 * A step computes with the floats it read and updated; only what it stores is rounded. A step
 * kernel declares each state array with CLOPT_STATE_ARG(name), and its body is
 *     CLOPT_BLOCK_BEGIN;
 *     CLOPT_STATE_IN(name); ...              each state array, in argument order
 *     CLOPT_FOR_ELEMENTS(i) { ... }          the update of element i: CLOPT_S(name, i) reads a
 *                                            state value, CLOPT_SET_S(name, i, x) writes one
 *     CLOPT_STATE_OUT(name); ...             each state array stored
 * which for fp32 and bf16 is one work-item per element (the other lines are empty).
 */
#ifdef CLOPT_STATE_INT8
/*
 * int8 state. The block table clopt_blocks (Int8State.Layout) has a row per block: first
 * element, element count (<= CLOPT_BLOCK), absmax index (-1: a block of a tensor too small to
 * quantize, whose state is fp32) and first state index. A state array `a` is four arguments: its
 * codes, its fp32 values, its absmax per block, and the offset of its code map in clopt_maps
 * (0: signed, 256: unsigned; clopt_buckets holds each map's search table at 0 and 2 *
 * CLOPT_BUCKETS). An element reads as map[code] * absmax; its new value waits in a_new until
 * the block's absmax is known: max |x|, NaN when any x is NaN or infinite. Then each code is the
 * nearest to x / absmax (clopt_quantize).
 *
 * Two ways to run a block, by build option:
 *   -DCLOPT_INT8_SERIAL  one work-item per block, looping over its elements (CPUs: the loops
 *                        vectorize along the block, and no barrier splits the kernel);
 *   otherwise            one work-group of CLOPT_BLOCK work-items per block, the maximum a
 *                        reduction in local memory (GPUs).
 * The host launches one work-item (serial) or work-group per table row, from the run's first
 * row: a global offset of that row, times CLOPT_BLOCK for work-groups.
 */
#define CLOPT_STATE_ARG(a)                                                                       \
    global uchar* restrict a, global float* restrict a##_fp32, global float* restrict a##_absmax, \
        const uint a##_map
#ifdef CLOPT_INT8_SERIAL
/* The block's values, dequantized into a_new by CLOPT_STATE_IN, updated there in place. */
#define CLOPT_S(a, i) (a##_new[clopt_e])
#else
#define CLOPT_S(a, i)                                                                            \
    (clopt_absmax_at >= 0 ? a##_code_map[a[clopt_first_j + clopt_e]] * a##_scale                 \
                          : a##_fp32[clopt_first_j + clopt_e])
#endif

/* The bits of |x| as an unsigned maximum orders them, any NaN above every finite value. */
inline uint clopt_abs_bits(const float x) {
    return as_uint(x) & 0x7FFFFFFFu;
}

/* A block's absmax from the largest clopt_abs_bits: NaN for an infinity or NaN. */
inline float clopt_absmax_of(const uint bits) {
    return bits >= 0x7F800000u ? NAN : as_float(bits);
}

/* 1 / absmax, or 0 for an absmax of 0 or NaN. */
inline float clopt_inverse(const float absmax) {
    return absmax > 0.0f ? 1.0f / absmax : 0.0f;
}

/*
 * The code of x in a block, given 1 / absmax: for t = x / absmax (0 when that is NaN), the
 * largest c with map[c] <= t, or c + 1 when that is strictly nearer (the lower one on a tie).
 * The search table gives, for t's bucket (its sign and the top 16 bits of |t| between 2^-24 and
 * 1; 7 mantissa bits), the largest code at or below the bucket's lowest value; no bucket holds
 * more than one code besides (Int8State checks it), so one step finds c.
 */
inline uchar clopt_quantize(global const float* map, global const uchar* buckets, const float x,
                            const float inverse) {
    const float t0 = x * inverse;
    const float t = isnan(t0) ? 0.0f : t0;
    const uint u = as_uint(t);
    const uint b = (clamp(u & 0x7FFFFFFFu, 0x33800000u, 0x3F800000u) - 0x33800000u) >> 16;
    const uint c = buckets[(b << 1) | (u >> 31)];
    // The three codes from c: one step up if the next is still at or below t, then the nearer
    // of that code and the one after it.
    const uint c1 = min(c + 1u, 255u);
    const uint c2 = min(c + 2u, 255u);
    const float m0 = map[c];
    const float m1 = map[c1];
    const float m2 = map[c2];
    const bool up = m1 <= t;
    const uint lo = up ? c1 : c;
    const uint hi = up ? c2 : c1;
    const float below = up ? m1 : m0;
    const float above = up ? m2 : m1;
    return (uchar) (above - t < t - below ? hi : lo);
}

#define CLOPT_STATE_IN(a)                                                                        \
    const float a##_scale = clopt_absmax_at >= 0 ? a##_absmax[clopt_absmax_at] : 0.0f;           \
    global const float* const a##_code_map = clopt_maps + a##_map;                               \
    global const uchar* const a##_buckets = clopt_buckets + 2 * CLOPT_BUCKETS * (a##_map / 256); \
    CLOPT_NEW_DECL(a)

#ifdef CLOPT_INT8_SERIAL
#define CLOPT_BLOCK_BEGIN                                                                        \
    const uint clopt_rows_from = clopt_row_first + get_global_id(0) * CLOPT_ROWS_PER_ITEM;          \
    const uint clopt_rows_to = min(clopt_rows_from + CLOPT_ROWS_PER_ITEM, clopt_row_end);          \
    for (uint clopt_r = clopt_rows_from; clopt_r < clopt_rows_to; clopt_r++) {                     \
    const uint clopt_row = clopt_r * 4;                                                          \
    const uint clopt_first_i = (uint) clopt_blocks[clopt_row];                                  \
    const uint clopt_count = (uint) clopt_blocks[clopt_row + 1];                                \
    const int clopt_absmax_at = clopt_blocks[clopt_row + 2];                                     \
    const uint clopt_first_j = (uint) clopt_blocks[clopt_row + 3]
#define CLOPT_BLOCK_END }
#define CLOPT_NEW_DECL(a)                                                                        \
    float a##_new[CLOPT_BLOCK];                                                                  \
    if (clopt_absmax_at >= 0) {                                                                  \
        for (uint e = 0; e < clopt_count; e++) {                                                 \
            a##_new[e] = a##_code_map[a[clopt_first_j + e]] * a##_scale;                         \
        }                                                                                        \
    } else {                                                                                     \
        for (uint e = 0; e < clopt_count; e++) {                                                 \
            a##_new[e] = a##_fp32[clopt_first_j + e];                                            \
        }                                                                                        \
    }
#define CLOPT_SET_S(a, i, x) (a##_new[clopt_e] = (x))
#define CLOPT_FOR_ELEMENTS(i) for (uint clopt_e = 0, i = clopt_first_i; clopt_e < clopt_count; clopt_e++, i++)
#define CLOPT_STATE_OUT(a)                                                                       \
    if (clopt_absmax_at >= 0) {                                                                  \
        uint a##_bits = 0;                                                                       \
        for (uint e = 0; e < clopt_count; e++) {                                                 \
            a##_bits = max(a##_bits, clopt_abs_bits(a##_new[e]));                                 \
        }                                                                                        \
        const float a##_max = clopt_absmax_of(a##_bits);                                          \
        const float a##_inverse = clopt_inverse(a##_max);                                        \
        for (uint e = 0; e < clopt_count; e++) {                                                 \
            a[clopt_first_j + e] = clopt_quantize(a##_code_map, a##_buckets, a##_new[e], a##_inverse); \
        }                                                                                        \
        a##_absmax[clopt_absmax_at] = a##_max;                                                   \
    } else {                                                                                     \
        for (uint e = 0; e < clopt_count; e++) {                                                 \
            a##_fp32[clopt_first_j + e] = a##_new[e];                                            \
        }                                                                                        \
    }
#else
#define CLOPT_BLOCK_BEGIN                                                                        \
    local uint clopt_scratch[CLOPT_BLOCK];                                                       \
    const uint clopt_row = (clopt_row_first + get_global_id(0) / CLOPT_BLOCK) * 4;                                 \
    const uint clopt_e = get_local_id(0);                                                        \
    const uint clopt_first_i = (uint) clopt_blocks[clopt_row];                                  \
    const bool clopt_active = clopt_e < (uint) clopt_blocks[clopt_row + 1];                     \
    const int clopt_absmax_at = clopt_blocks[clopt_row + 2];                                     \
    const uint clopt_first_j = (uint) clopt_blocks[clopt_row + 3]
#define CLOPT_NEW_DECL(a) float a##_new = 0.0f
#define CLOPT_SET_S(a, i, x) (a##_new = (x))
#define CLOPT_FOR_ELEMENTS(i)                                                                    \
    const uint i = clopt_first_i + clopt_e;                                                      \
    if (clopt_active)
#define CLOPT_STATE_OUT(a)                                                                       \
    const float a##_max = clopt_absmax_of(clopt_block_max(clopt_scratch, clopt_abs_bits(a##_new))); \
    if (clopt_absmax_at >= 0) {                                                                  \
        if (clopt_active) {                                                                      \
            a[clopt_first_j + clopt_e] = clopt_quantize(a##_code_map, a##_buckets, a##_new,      \
                                                        clopt_inverse(a##_max));                 \
        }                                                                                        \
        if (clopt_e == 0) {                                                                      \
            a##_absmax[clopt_absmax_at] = a##_max;                                               \
        }                                                                                        \
    } else if (clopt_active) {                                                                   \
        a##_fp32[clopt_first_j + clopt_e] = a##_new;                                             \
    }

#define CLOPT_BLOCK_END (void) 0

/* The largest of the work-group's values (inactive work-items pass 0): a tree in local memory. */
inline uint clopt_block_max(local uint* s, const uint x) {
    const uint l = get_local_id(0);
    s[l] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = CLOPT_BLOCK / 2; h > 0; h >>= 1) {
        if (l < h) {
            s[l] = max(s[l], s[l + h]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const uint r = s[0];
    // s is the next state array's too.
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
#endif
#else
#ifdef CLOPT_STATE_BF16
typedef ushort clopt_state_t;
#define CLOPT_S(a, i) clopt_bf16_load((a)[i])
#define CLOPT_SET_S(a, i, x) ((a)[i] = clopt_bf16_nearest(x))
#else
typedef float clopt_state_t;
#define CLOPT_S(a, i) ((a)[i])
#define CLOPT_SET_S(a, i, x) ((a)[i] = (x))
#endif
#define CLOPT_STATE_ARG(a) global clopt_state_t* restrict a
#define CLOPT_BLOCK_BEGIN (void) 0
#define CLOPT_BLOCK_END (void) 0
#define CLOPT_FOR_ELEMENTS(i)                                                                    \
    const uint i = get_global_id(0);                                                             \
    if (1)
#define CLOPT_STATE_IN(a) (void) 0
#define CLOPT_STATE_OUT(a) (void) 0
#endif

/*
 * The arguments every <name>_step kernel starts with, and how its body reads and writes them:
 *   p, grad, grad_scale   as above;
 *   working               the 16-bit working copy with -DCLOPT_MASTER, else not touched;
 *   unscale               the loss scaler's 1/scale (1 without a scaler: x * 1 is x exactly),
 *                         multiplied into each gradient before the clip coefficient, in fp32;
 *   rounding_key          the step's key of stochastic rounding (unused without it);
 *   clopt_blocks, clopt_maps, clopt_buckets  with int8 state only: the block table, the
 *                         code maps and their search tables.
 */
#ifdef CLOPT_STATE_INT8
/* int8 state adds the block table and the code maps (see above). */
#define CLOPT_INT8_ARGS                                                                         \
    , global const int* restrict clopt_blocks, global const float* restrict clopt_maps,        \
        global const uchar* restrict clopt_buckets, const uint clopt_row_first, const uint clopt_row_end
#else
#define CLOPT_INT8_ARGS
#endif
#define CLOPT_STEP_ARGS                                                                        \
    global clopt_param_t* restrict p, global const clopt_grad_t* restrict grad,               \
        global const float* restrict grad_scale, global clopt_work_t* restrict working,       \
        const float unscale, const uint rounding_key CLOPT_INT8_ARGS
#define CLOPT_P(i) clopt_load_param(p, i)
#define CLOPT_G(i) CLOPT_SCALED(clopt_load_grad(grad, i) * unscale)
#define CLOPT_SET_P(i, x) clopt_store_param(p, working, i, x, rounding_key)

/* The prologue every algorithm shares: maximize, then L2 weight decay (g + wd*p).
 * PyTorch skips the decay when weight_decay == 0, which matters when p is Inf. The host builds
 * -DCLOPT_NO_WEIGHT_DECAY for steps whose weight_decay is 0: the same results without the
 * check, which POCL keeps inside its vectorized loop. */
inline float clopt_grad(const float grad, const float p, const float weight_decay) {
#ifdef MAXIMIZE
    float g = -grad;
#else
    float g = grad;
#endif
#ifndef CLOPT_NO_WEIGHT_DECAY
    if (weight_decay != 0.0f) {
        g = g + weight_decay * p;
    }
#endif
    return g;
}

/* SGD's momentum buffer. On the first step the buffer is a copy of g: no dampening. */
inline float clopt_momentum_buffer(const float b, const float g, const float momentum,
                                   const float one_minus_dampening, const float first_step) {
    return first_step != 0.0f ? g : b * momentum + one_minus_dampening * g;
}

/* Adam's first and second moments, shared by adam, adamw and nadam:
 *   m = b1*m + (1-b1)*g;   v = b2*v + (1-b2)*g*g */
inline float clopt_first_moment(const float m, const float g, const float beta1,
                                const float one_minus_beta1) {
    return m * beta1 + one_minus_beta1 * g;
}

inline float clopt_second_moment(const float v, const float g, const float beta2,
                                 const float one_minus_beta2) {
    return v * beta2 + one_minus_beta2 * g * g;
}

/* Adam's denominator: sqrt(v) / sqrt(1 - b2^t) + eps. */
inline float clopt_adam_denom(const float v, const float bias_correction2_sqrt, const float eps) {
    return sqrt(v) / bias_correction2_sqrt + eps;
}

/* torch.maximum: NaN when either side is NaN (fmax would drop it). */
inline float clopt_nan_max(const float a, const float b) {
    return (a > b || isnan(a)) ? a : b;
}

/* torch.sign, which rprop and lion step by: 1, -1 or +0; +0 for NaN and for -0 (OpenCL's
 * sign() keeps both). */
inline float clopt_torch_sign(const float x) {
    return (float) (x > 0.0f) - (float) (x < 0.0f);
}

/* The update adam and adamw share once the gradient and p are prepared: both moments, amsgrad's
 * running maximum (-DAMSGRAD; max_exp_avg_sq is not touched without it), and the new p. A macro,
 * since it reads and writes the kernel's state arrays by name (CLOPT_S, CLOPT_SET_S). */
#ifdef AMSGRAD
#define CLOPT_AMSGRAD_MAX(v)                                       \
    v = clopt_nan_max(CLOPT_S(max_exp_avg_sq, i), v);              \
    CLOPT_SET_S(max_exp_avg_sq, i, v)
#else
#define CLOPT_AMSGRAD_MAX(v) (void) 0
#endif
#define CLOPT_ADAM_UPDATE(i, p, g, beta1, one_minus_beta1, beta2, one_minus_beta2,                   \
                          bias_correction2_sqrt, eps, neg_step_size)                                 \
    do {                                                                                             \
        const float clopt_m = clopt_first_moment(CLOPT_S(exp_avg, i), g, beta1, one_minus_beta1);    \
        float clopt_v = clopt_second_moment(CLOPT_S(exp_avg_sq, i), g, beta2, one_minus_beta2);      \
        CLOPT_SET_S(exp_avg, i, clopt_m);                                                            \
        CLOPT_SET_S(exp_avg_sq, i, clopt_v);                                                         \
        CLOPT_AMSGRAD_MAX(clopt_v);                                                                  \
        CLOPT_SET_P(i, p + neg_step_size * clopt_m / clopt_adam_denom(clopt_v, bias_correction2_sqrt, eps)); \
    } while (0)


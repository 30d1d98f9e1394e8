/*
 * reduce.cl: the norm of many tensors' gradients together, as torch.nn.utils.clip_grad_norm_
 * computes it (the norm of the vector of per-tensor norms), and the clip coefficient
 *
 *   clip_coef = min(max_norm * (1 / (total_norm + 1e-6)), 1)        (NaN stays NaN)
 *
 * left on the device for the step kernels to read (their grad_scale argument).
 *
 * The order of every operation is fixed by the data alone, never by the work-group size or
 * the device, so the same gradients give the same bits on every run, and the CPU reference
 * (SetKernels.Reference) repeats it exactly:
 *   - each tensor is cut into chunks of CLOPT_CHUNK (4096) elements (the last one shorter);
 *   - norm_partials_<norm>, one work-item per chunk: element k of the chunk goes to lane k % 64,
 *     each lane folds its elements in order, then the lanes are combined pairwise (i with
 *     i + 32, then i + 16, 8, 4, 2, 1);
 *   - norm_finish, one work-item: each tensor's chunk results are folded in order (sums with
 *     compensated, Kahan, summation: a tensor of 2^24 elements has 4096 of them), giving the
 *     tensor's norm; then the tensors' norms are folded in order into the total.
 *
 * Norm codes: 2 the Euclidean norm; 1 the sum of |x|; 0 infinity, the max of |x|, where NaN wins
 * (as torch's max); 3 the plain sum of x (a loss read-out).
 *
 * The Euclidean norm must neither overflow nor underflow where PyTorch's (which accumulates in
 * double on CPUs) does not: one element of 1e30 has the norm 1e30, not inf. A chunk's sum of
 * squares is taken directly (fused multiply-adds) and, only when that is not finite or below
 * 2^-100, again on the elements scaled by a power of two (exact) set by their largest magnitude.
 * Each chunk leaves its norm (not its square), and the finishing folds their squares the same
 * way (directly, and scaled only when that is not finite or below 2^-100).
 * Chunk table: uint2 (first element, element count) per chunk, in tensor order; tensor_ends[t]
 * is one past tensor t's last chunk.
 * With 16-bit gradients (-DCLOPT_BF16, -DCLOPT_FP16) norm_partials_* widen them as they read;
 * every element is multiplied by `unscale` (the loss scaler's 1/scale, or 1) first.
 * Traffic: one read of the gradients (4 or 2 bytes per element) and 4 bytes per 4096 elements.
 */
#define CLOPT_CHUNK 4096
#define CLOPT_NORM_INF 0
#define CLOPT_NORM_L1 1
#define CLOPT_NORM_L2 2
#define CLOPT_SUM 3

inline float16 clopt_norm_fold(const float16 acc, const float16 x, const int norm) {
    switch (norm) {
        case CLOPT_NORM_L2: return fma(x, x, acc);
        case CLOPT_NORM_L1: return acc + fabs(x);
        case CLOPT_SUM: return acc + x;
        default: {
            const float16 a = fabs(x);
            return select(acc, a, isgreater(a, acc) | isnan(a));
        }
    }
}

/* Two float16 of lanes combined lane-wise: + for sums, the NaN-propagating max for infinity. */
inline float16 clopt_lanes16(const float16 a, const float16 b, const int norm) {
    return norm == CLOPT_NORM_INF ? select(a, b, isgreater(b, a) | isnan(b)) : a + b;
}

/* 16 lanes combined pairwise: i with i + 8, then i + 4, i + 2, i + 1. */
inline float clopt_lanes(const float16 acc, const int norm) {
    if (norm == CLOPT_NORM_INF) {
        const float8 a8 = select(acc.lo, acc.hi, isgreater(acc.hi, acc.lo) | isnan(acc.hi));
        const float4 a4 = select(a8.lo, a8.hi, isgreater(a8.hi, a8.lo) | isnan(a8.hi));
        const float2 a2 = select(a4.lo, a4.hi, isgreater(a4.hi, a4.lo) | isnan(a4.hi));
        return clopt_nan_max(a2.x, a2.y);
    }
    const float8 a8 = acc.lo + acc.hi;
    const float4 a4 = a8.lo + a8.hi;
    const float2 a2 = a4.lo + a4.hi;
    return a2.x + a2.y;
}

/* A row of 64 elements (v0 has 0-15 ...) folded into the four accumulators, each element times
 * scale first when scaled. */
#define CLOPT_FOLD_ROW(a0, a1, a2, a3, v0, v1, v2, v3, norm, scaled, scale) \
    {                                                                       \
        if (scaled) {                                                       \
            v0 *= (scale);                                                  \
            v1 *= (scale);                                                  \
            v2 *= (scale);                                                  \
            v3 *= (scale);                                                  \
        }                                                                   \
        a0 = clopt_norm_fold(a0, v0, norm);                                 \
        a1 = clopt_norm_fold(a1, v1, norm);                                 \
        a2 = clopt_norm_fold(a2, v2, norm);                                 \
        a3 = clopt_norm_fold(a3, v3, norm);                                 \
    }

/* The last, zero-padded row of 64 (tail) folded into the four accumulators of 16 lanes. */
#define CLOPT_FOLD_TAIL(a0, a1, a2, a3, tail, norm)             \
    {                                                           \
        a0 = clopt_norm_fold(a0, vload16(0, tail), norm);       \
        a1 = clopt_norm_fold(a1, vload16(1, tail), norm);       \
        a2 = clopt_norm_fold(a2, vload16(2, tail), norm);       \
        a3 = clopt_norm_fold(a3, vload16(3, tail), norm);       \
    }

/* 64 lanes (a0 has lanes 0-15 ...) combined pairwise: i with i + 32, then i + 16, 8, 4, 2, 1. */
inline float clopt_lanes64(const float16 a0, const float16 a1, const float16 a2, const float16 a3, const int norm) {
    return clopt_lanes(clopt_lanes16(clopt_lanes16(a0, a2, norm), clopt_lanes16(a1, a3, norm), norm), norm);
}

/*
 * The fold of a chunk of n elements (n <= CLOPT_CHUNK), each multiplied by scale first, over
 * 64 lanes held as four float16 (a0 has lanes 0-15, a1 16-31 ...): four independent chains
 * keep the fused multiply-adds' latency off the memory's path. The lanes are then combined
 * pairwise: lane i with i + 32 (a0 + a2, a1 + a3), then i + 16, 8, 4, 2, 1.
 * CLOPT_CHUNK_OF defines it for an element type: clopt_chunk over floats, and with 16-bit
 * gradients clopt_chunk_grad, whose elements are widened and multiplied by the loss scaler's
 * unscale factor as they are read (the gradients the step reads).
 */
#define CLOPT_CHUNK_OF(name, type, load16, load1)                                                \
    inline float name(global const type* start, const uint n, const int norm, const int scaled, \
                      const float scale, const float unscale) {                                  \
        const uint full = n / 64;                                                                \
        /* Zero is neutral for every norm (|0| and 0*0 add nothing, and lanes are >= 0 for     \
         * max), so a zero-padded row changes nothing, except a sum's -0 into +0. */            \
        float16 a0 = (float16) (0.0f);                                                           \
        float16 a1 = a0;                                                                         \
        float16 a2 = a0;                                                                         \
        float16 a3 = a0;                                                                         \
        for (uint k = 0; k < full; k++) {                                                        \
            float16 v0 = load16(4 * k, start) * unscale;                                         \
            float16 v1 = load16(4 * k + 1, start) * unscale;                                     \
            float16 v2 = load16(4 * k + 2, start) * unscale;                                     \
            float16 v3 = load16(4 * k + 3, start) * unscale;                                     \
            CLOPT_FOLD_ROW(a0, a1, a2, a3, v0, v1, v2, v3, norm, scaled, scale);                 \
        }                                                                                        \
        if (full * 64 < n) {                                                                     \
            /* The last, partial row of 64, zero-padded (a zero changes no lane, see above). */ \
            float tail[64];                                                                      \
            for (uint k = 0; k < 64; k++) {                                                      \
                const float x = full * 64 + k < n ? load1(start, full * 64 + k) * unscale : 0.0f; \
                tail[k] = scaled ? x * scale : x;                                                \
            }                                                                                    \
            CLOPT_FOLD_TAIL(a0, a1, a2, a3, tail, norm);                                         \
        }                                                                                        \
        return clopt_lanes64(a0, a1, a2, a3, norm);                                              \
    }

#define clopt_float_load1(a, i) ((a)[i])
CLOPT_CHUNK_OF(clopt_chunk, float, vload16, clopt_float_load1)
#ifdef CLOPT_BF16
#define clopt_grad_load16(k, a) as_float16(convert_uint16(vload16((k), (a))) << 16)
#elif defined(CLOPT_FP16)
#define clopt_grad_load16(k, a) clopt_fp16_load16(vload16((k), (a)))
#else
#define clopt_grad_load16(k, a) vload16((k), (a))
#endif
CLOPT_CHUNK_OF(clopt_chunk_grad, clopt_grad_t, clopt_grad_load16, clopt_load_grad)

/* 2^-e for the exponent e of m, kept within float's normal range: x * it is exact. */
inline float clopt_unscale(const float m) {
    return ldexp(1.0f, -max(ilogb(m), -126));
}

/*
 * The Euclidean norm of a chunk, from FOLD(norm, scaled, scale) (a macro: the chunk's fold for a
 * norm code, its elements multiplied by scale when scaled): taken directly, and only when that
 * is not finite or below 2^-100 again on the elements scaled by a power of two (exact) set by
 * their largest magnitude, so that it neither overflows nor underflows. Sets result. Every
 * chunk norm of clopt's passes (clipping's, lamb's, adafactor's) is this one.
 */
#define CLOPT_L2_RESCUED(result, FOLD)                                      \
    {                                                                        \
        const float direct_ = FOLD(CLOPT_NORM_L2, 0, 1.0f);                  \
        if (!isnan(direct_) && (isinf(direct_) || direct_ < 0x1p-100f)) {    \
            const float max_ = FOLD(CLOPT_NORM_INF, 0, 1.0f);                \
            if (max_ > 0.0f && !isinf(max_)) {                               \
                const float unscale_ = clopt_unscale(max_);                  \
                (result) = sqrt(FOLD(CLOPT_NORM_L2, 1, unscale_)) / unscale_; \
            } else {                                                         \
                (result) = max_;                                             \
            }                                                                \
        } else {                                                             \
            (result) = sqrt(direct_);                                        \
        }                                                                    \
    }

/* One chunk's result; norm is a constant in each kernel below, so the loops are specialised. */
inline void clopt_partial(global const clopt_grad_t* restrict x, global const uint2* restrict chunks,
                          global float* restrict partials, const int norm, const float unscale) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    global const clopt_grad_t* start = x + chunk.x;
    float r;
    if (norm == CLOPT_NORM_L2) {
#define CLOPT_PARTIAL_FOLD(n, scaled, scale) clopt_chunk_grad(start, chunk.y, n, scaled, scale, unscale)
        CLOPT_L2_RESCUED(r, CLOPT_PARTIAL_FOLD);
#undef CLOPT_PARTIAL_FOLD
    } else {
        r = clopt_chunk_grad(start, chunk.y, norm, 0, 1.0f, unscale);
    }
    partials[c] = r;
}

/* The partials of gradients (of clopt_grad_t, times unscale), or of plain floats for sums. */
#define CLOPT_PARTIALS(name, norm) \
    kernel void name(global const clopt_grad_t* restrict x, global const uint2* restrict chunks, \
                     global float* restrict partials, const float unscale) { \
        clopt_partial(x, chunks, partials, norm, unscale); \
    }
CLOPT_PARTIALS(norm_partials_inf, CLOPT_NORM_INF)
CLOPT_PARTIALS(norm_partials_l1, CLOPT_NORM_L1)
CLOPT_PARTIALS(norm_partials_l2, CLOPT_NORM_L2)
CLOPT_PARTIALS(norm_partials_sum, CLOPT_SUM)

/* Kahan summation of values[from, to), each squared after scaling when square is set. */
inline float clopt_sum(global const float* restrict values, const uint from, const uint to,
                       const int square, const float scale) {
    float s = 0.0f;
    float comp = 0.0f;
    for (uint c = from; c < to; c++) {
        const float v = values[c] * scale;
        const float y = (square ? v * v : v) - comp;
        const float u = s + y;
        /* Inf and NaN would turn the compensation into NaN: the sum is decided anyway. */
        comp = isfinite(u) ? (u - s) - y : 0.0f;
        s = u;
    }
    return s;
}

/* The norm of values[from, to), which are norms themselves (or plain values for sums). */
inline float clopt_norm_of(global const float* restrict values, const uint from, const uint to,
                           const int norm) {
    if (norm == CLOPT_NORM_INF) {
        float m = 0.0f;
        for (uint c = from; c < to; c++) {
            m = clopt_nan_max(m, values[c]);
        }
        return m;
    }
    if (norm != CLOPT_NORM_L2) {
        return clopt_sum(values, from, to, 0, 1.0f);
    }
    /* Directly first; scaled by the largest only when that overflows or may have underflowed. */
    const float direct = clopt_sum(values, from, to, 1, 1.0f);
    if (isnan(direct) || (isfinite(direct) && direct >= 0x1p-100f)) {
        return sqrt(direct);
    }
    float m = 0.0f;
    for (uint c = from; c < to; c++) {
        m = clopt_nan_max(m, values[c]);
    }
    if (!(m > 0.0f) || isinf(m)) {
        return m;
    }
    const float u = clopt_unscale(m);
    return sqrt(clopt_sum(values, from, to, 1, u)) / u;
}

kernel void norm_finish(global float* restrict partials, global const uint* restrict tensor_ends,
                        const uint tensors, const int norm, const float max_norm,
                        global float* restrict result) {
    /* Each tensor's norm goes where its first partial was: partials[t] for t <= first chunk. */
    uint c = 0;
    for (uint t = 0; t < tensors; t++) {
        const float n = clopt_norm_of(partials, c, tensor_ends[t], norm);
        c = tensor_ends[t];
        partials[t] = n;
    }
    const float total = clopt_norm_of(partials, 0, tensors, norm);
    const float coef = max_norm * (1.0f / (total + 1e-6f));
    result[0] = (coef < 1.0f || isnan(coef)) ? coef : 1.0f;
    result[1] = total;
}

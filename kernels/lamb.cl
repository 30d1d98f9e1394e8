/*
 * lamb: LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"), as optax.lamb:
 * Adam's update, plus weight decay, scaled per tensor by the trust ratio ||p|| / ||r||.
 *
 *   g = -grad if maximize else grad
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   r = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)     (eps outside the sqrt)
 *   if weight_decay != 0:  r = r + weight_decay * p
 *   ratio = ||p|| / ||r|| per tensor, 1 when either norm is 0
 *   p = p + (r * ratio) * (-lr)
 *
 * Compiled after common.cl and reduce.cl: the per-tensor norms are reduce.cl's, in its order
 * (chunks of CLOPT_CHUNK elements, 64 lanes, compensated sums across chunks), of p and of r.
 * With master weights (-DCLOPT_MASTER) p is the fp32 master and lamb_apply also writes the
 * rounded working copy; without them p is the 16-bit parameters, widened for the norms and the
 * update and rounded to nearest when stored (stochastic rounding is not offered: the update is
 * a pass of its own, without the step's rounding key).
 * A step of a run of tensors is four launches (ClEngine's per-tensor path):
 *   lamb_step      one work-item per element: m and v;
 *   lamb_partials  one work-item per chunk: the chunk's norms of p and of r (r recomputed);
 *   lamb_finish    one work-item: each tensor's ratio, written for each of its chunks;
 *   lamb_apply     one work-item per chunk: p += (r * ratio) * (-lr) (r recomputed).
 * Scalars, in this order for every kernel: b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps,
 * weight_decay, -lr.
 * State, in this order: exp_avg m, exp_avg_sq v.
 * Traffic: 20 (grad, m, v read; m, v written) + 12 (p, m, v read) + 16 (p, m, v read; p written)
 * = 48 bytes per element.
 */

/*
 * p as the norms and the update read it: fp32 (also the master weights of a 16-bit group), or
 * without master weights the 16-bit parameters, widened (rounded to nearest when stored back).
 */
#if defined(CLOPT_16BIT) && !defined(CLOPT_MASTER)
#define LAMB_P16(k, a) clopt_grad_load16(k, a)
#define LAMB_P1(a, j) clopt_load_half(a, j)
#define LAMB_NORM_P_CHUNK(p, n, norm, scaled, scale) clopt_chunk_grad(p, n, norm, scaled, scale, 1.0f)
#else
#define LAMB_P16(k, a) vload16(k, a)
#define LAMB_P1(a, j) ((a)[j])
#define LAMB_NORM_P_CHUNK(p, n, norm, scaled, scale) clopt_chunk(p, n, norm, scaled, scale, 1.0f)
#endif

/* The update direction r of elements, as floats or float16: both round each operation alike. */
#define LAMB_R(type)                                                                          \
    inline type lamb_r_##type(const type m, const type v, const type p, const float bc1,     \
                              const float bc2, const float eps, const float weight_decay) {  \
        type r = (m / bc1) / (sqrt(v / bc2) + eps);                                           \
        if (weight_decay != 0.0f) {                                                           \
            r = r + weight_decay * p;                                                         \
        }                                                                                     \
        return r;                                                                             \
    }
LAMB_R(float)
LAMB_R(float16)

kernel void lamb_step(CLOPT_STEP_ARGS,
                      global float* restrict exp_avg, global float* restrict exp_avg_sq,
                      const float beta1, const float one_minus_beta1,
                      const float beta2, const float one_minus_beta2,
                      const float bias_correction1, const float bias_correction2, const float eps,
                      const float weight_decay, const float neg_lr) {
    const uint i = get_global_id(0);
    const float g = clopt_grad(CLOPT_G(i), 0.0f, 0.0f);
    exp_avg[i] = clopt_first_moment(exp_avg[i], g, beta1, one_minus_beta1);
    exp_avg_sq[i] = clopt_second_moment(exp_avg_sq[i], g, beta2, one_minus_beta2);
}

/*
 * clopt_chunk of reduce.cl over r instead of an array: the same rows of 64, the same lanes and
 * the same pairwise combination, so the result is reduce.cl's for an array holding r.
 */
inline float lamb_chunk_r(global const float* m, global const float* v, global const clopt_param_t* p,
                          const uint n, const int norm, const int scaled, const float scale,
                          const float bc1, const float bc2, const float eps, const float wd) {
    const uint full = n / 64;
    float16 a0 = (float16) (0.0f);
    float16 a1 = a0;
    float16 a2 = a0;
    float16 a3 = a0;
    for (uint k = 0; k < full; k++) {
        float16 v0 = lamb_r_float16(vload16(4 * k, m), vload16(4 * k, v), LAMB_P16(4 * k, p), bc1, bc2, eps, wd);
        float16 v1 = lamb_r_float16(vload16(4 * k + 1, m), vload16(4 * k + 1, v), LAMB_P16(4 * k + 1, p), bc1, bc2, eps, wd);
        float16 v2 = lamb_r_float16(vload16(4 * k + 2, m), vload16(4 * k + 2, v), LAMB_P16(4 * k + 2, p), bc1, bc2, eps, wd);
        float16 v3 = lamb_r_float16(vload16(4 * k + 3, m), vload16(4 * k + 3, v), LAMB_P16(4 * k + 3, p), bc1, bc2, eps, wd);
        CLOPT_FOLD_ROW(a0, a1, a2, a3, v0, v1, v2, v3, norm, scaled, scale);
    }
    if (full * 64 < n) {
        float tail[64];
        for (uint k = 0; k < 64; k++) {
            const uint j = full * 64 + k;
            const float r = j < n ? lamb_r_float(m[j], v[j], LAMB_P1(p, j), bc1, bc2, eps, wd) : 0.0f;
            tail[k] = j < n && scaled ? r * scale : r;
        }
        CLOPT_FOLD_TAIL(a0, a1, a2, a3, tail, norm);
    }
    return clopt_lanes64(a0, a1, a2, a3, norm);
}

/* The Euclidean norm of a chunk of r (reduce.cl's CLOPT_L2_RESCUED). */
inline float lamb_norm_r(global const float* m, global const float* v, global const clopt_param_t* p,
                         const uint n, const float bc1, const float bc2, const float eps,
                         const float wd) {
    float r;
#define LAMB_FOLD_R(norm, scaled, scale) lamb_chunk_r(m, v, p, n, norm, scaled, scale, bc1, bc2, eps, wd)
    CLOPT_L2_RESCUED(r, LAMB_FOLD_R);
#undef LAMB_FOLD_R
    return r;
}

/* The same for a chunk of p. */
inline float lamb_norm_p(global const clopt_param_t* p, const uint n) {
    float r;
#define LAMB_FOLD_P(norm, scaled, scale) LAMB_NORM_P_CHUNK(p, n, norm, scaled, scale)
    CLOPT_L2_RESCUED(r, LAMB_FOLD_P);
#undef LAMB_FOLD_P
    return r;
}

/* partials[c]: chunk c's norm of p; partials[chunk_count + c]: its norm of r. */
kernel void lamb_partials(global const uint2* restrict chunks, global float* restrict partials,
                          const uint chunk_count, global const clopt_param_t* restrict p,
                          global const float* restrict exp_avg, global const float* restrict exp_avg_sq,
                          const float beta1, const float one_minus_beta1,
                          const float beta2, const float one_minus_beta2,
                          const float bias_correction1, const float bias_correction2, const float eps,
                          const float weight_decay, const float neg_lr) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    partials[c] = lamb_norm_p(p + chunk.x, chunk.y);
    partials[chunk_count + c] = lamb_norm_r(exp_avg + chunk.x, exp_avg_sq + chunk.x, p + chunk.x,
                                            chunk.y, bias_correction1, bias_correction2, eps,
                                            weight_decay);
}

/* Each tensor's ratio, from its chunks' norms folded as norm_finish folds them, at each chunk. */
kernel void lamb_finish(global const float* restrict partials, global const uint* restrict tensor_ends,
                        const uint tensors, const uint chunk_count, global float* restrict ratios) {
    uint c = 0;
    for (uint t = 0; t < tensors; t++) {
        const uint end = tensor_ends[t];
        const float p_norm = clopt_norm_of(partials, c, end, CLOPT_NORM_L2);
        const float r_norm = clopt_norm_of(partials + chunk_count, c, end, CLOPT_NORM_L2);
        const float ratio = (p_norm == 0.0f || r_norm == 0.0f) ? 1.0f : p_norm / r_norm;
        for (; c < end; c++) {
            ratios[c] = ratio;
        }
    }
}

kernel void lamb_apply(global const uint2* restrict chunks, global const float* restrict ratios,
                       const uint chunk_count, global clopt_param_t* restrict p,
                       global const float* restrict exp_avg, global const float* restrict exp_avg_sq,
                       const float beta1, const float one_minus_beta1,
                       const float beta2, const float one_minus_beta2,
                       const float bias_correction1, const float bias_correction2, const float eps,
                       const float weight_decay, const float neg_lr,
                       global clopt_work_t* restrict working) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    const float ratio = ratios[c];
    global clopt_param_t* q = p + chunk.x;
    global const float* m = exp_avg + chunk.x;
    global const float* v = exp_avg_sq + chunk.x;
    const uint full = chunk.y / 16;
    for (uint k = 0; k < full; k++) {
        const float16 pk = LAMB_P16(k, q);
        const float16 r = lamb_r_float16(vload16(k, m), vload16(k, v), pk, bias_correction1,
                                         bias_correction2, eps, weight_decay);
        const float16 updated = pk + (r * ratio) * neg_lr;
#if defined(CLOPT_16BIT) && !defined(CLOPT_MASTER)
        clopt_vstore16_nearest(updated, k, q);
#else
        vstore16(updated, k, q);
#endif
#ifdef CLOPT_MASTER
        clopt_vstore16_nearest(updated, k, working + chunk.x);
#endif
    }
    for (uint j = full * 16; j < chunk.y; j++) {
        const float qj = LAMB_P1(q, j);
        const float r = lamb_r_float(m[j], v[j], qj, bias_correction1, bias_correction2, eps,
                                     weight_decay);
        const float updated = qj + (r * ratio) * neg_lr;
#if defined(CLOPT_16BIT) && !defined(CLOPT_MASTER)
        clopt_store_nearest(q, j, updated);
#else
        q[j] = updated;
#endif
#ifdef CLOPT_MASTER
        clopt_store_nearest(working + chunk.x, j, updated);
#endif
    }
}

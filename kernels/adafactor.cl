/*
 * adafactor: Adafactor (Shazeer and Stern 2018), as torch.optim.Adafactor (PyTorch 2.5+): the
 * second moment of a tensor of 2 or more dimensions kept as row and column statistics of its
 * last two dimensions (R x C), a step relative to the tensor's RMS, clipped by the update's RMS.
 *
 *   g = -grad if maximize else grad
 *   w = t^beta2_decay;  rho = min(lr, 1 / sqrt(t))
 *   alpha = max(eps2, ||p|| / sqrt(numel)) * rho         (p before the decay; Python's max)
 *   p = p * (1 - lr * weight_decay)
 *   dim >= 2:  row_var = lerp(row_var, ||g[.., r, :]||^2 / C, w)
 *              col_var = lerp(col_var, ||g[.., :, c]||^2 / R, w)
 *              var = (row_var * col_var) / max(mean_r(row_var), eps1)
 *   else:      variance = lerp(variance, g * g, w);  var = variance
 *   u = (1 / sqrt(max(var, eps1^2))) * g
 *   p = p + (-alpha / max(1, ||u|| / (sqrt(numel) * d))) * u
 *
 * lerp(a, b, w) is torch's: a + w * (b - a) for |w| < 0.5, else b - (b - a) * (1 - w). A NaN
 * stays NaN through the clamps (torch's clamp_min); Python's max(x, NaN) is x.
 *
 * Compiled after common.cl and reduce.cl, fp32 only. A step of a run of tensors is six launches
 * (ClEngine.runAdafactor), whatever the number of tensors; the first three only when the run
 * has a factored tensor:
 *   adafactor_rows      one work-item per row: the row's norm (reduce.cl's norms of its pieces
 *                       of CLOPT_CHUNK elements, folded as norm_finish folds), row_var;
 *   adafactor_cols      one work-item per column: its norm (a compensated sum down the column,
 *                       scaled as reduce.cl's when it over- or underflows), col_var;
 *   adafactor_batches   one work-item per R x C matrix: max(mean of its row_var, eps1);
 *   adafactor_partials  one work-item per chunk of reduce.cl's chunk table: the chunk's norms
 *                       of p and of u (u computed, not stored);
 *   adafactor_finish    one work-item: each tensor's coefficient -alpha / denominator;
 *   adafactor_apply     one work-item per chunk: u again, p updated, and a vector's variance.
 * Gradients are read as the step kernels read them: (grad * unscale) * grad_scale[0].
 * Tables (ClEngine): per factored tensor 8 uints (first row, first column and first matrix
 * among the run's, element offset, R, C, row_var offset, col_var offset); per chunk a uint8
 * cursor (C or 0 for a vector, R, row_var index, row, column, col_var index of the matrix's
 * first column, matrix index, variance index) of the chunk's first element.
 * Scalars: w, 1 - w, eps1, eps1^2, eps2, rho, 1 - lr * weight_decay, d.
 * State, in this order: row_var, col_var, variance.
 * Traffic, factored: 4 (rows) + 4 (columns) + 8 (p, g: norms) + 12 (p, g read, p written)
 * = 28 bytes per element; a vector's: 12 (p, g, variance) + 20 (and p, variance written) = 32.
 */

/* Fields of a factored tensor's row in the table. */
#define AF_FIRST_ROW 0
#define AF_FIRST_COL 1
#define AF_FIRST_MATRIX 2
#define AF_OFFSET 3
#define AF_ROWS 4
#define AF_COLS 5
#define AF_ROW_VAR 6
#define AF_COL_VAR 7

#ifdef MAXIMIZE
#define AF_SIGN(x) (-(x))
#else
#define AF_SIGN(x) (x)
#endif

/* The factored tensor whose rows (columns, matrices: field) include work-item id. */
inline global const uint* adafactor_tensor(global const uint* table, const uint tensors, const uint field,
                                           const uint id) {
    uint lo = 0;
    uint hi = tensors;
    while (hi - lo > 1) {
        const uint mid = lo + (hi - lo) / 2;
        if (table[8 * mid + field] <= id) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return table + 8 * lo;
}

inline float adafactor_lerp(const float a, const float b, const float w, const float one_minus_w) {
    return fabs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * one_minus_w;
}

inline float16 adafactor_lerp16(const float16 a, const float16 b, const float w, const float one_minus_w) {
    return fabs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * one_minus_w;
}

/* reduce.cl's partial norm of one piece of a row: clopt_partial's, elements times clip. */
inline float adafactor_piece_norm(global const float* g, const uint n, const float unscale, const float clip) {
    const float r = clopt_chunk_grad(g, n, CLOPT_NORM_L2, 1, clip, unscale);
    if (!isnan(r) && (isinf(r) || r < 0x1p-100f)) {
        const float m = clopt_chunk_grad(g, n, CLOPT_NORM_INF, 1, clip, unscale);
        if (m > 0.0f && !isinf(m)) {
            const float u = clopt_unscale(m);
            return sqrt(clopt_chunk_grad(g, n, CLOPT_NORM_L2, 1, clip * u, unscale)) / u;
        }
        return m;
    }
    return sqrt(r);
}

/* Kahan summation of the squares of a row's piece norms, each times scale (clopt_sum's). */
inline float adafactor_piece_sum(global const float* g, const uint count, const float unscale,
                                 const float clip, const float scale) {
    float s = 0.0f;
    float comp = 0.0f;
    for (uint q = 0; q * CLOPT_CHUNK < count; q++) {
        const float v = adafactor_piece_norm(g + q * CLOPT_CHUNK, min((uint) CLOPT_CHUNK, count - q * CLOPT_CHUNK),
                                             unscale, clip) * scale;
        const float y = v * v - comp;
        const float u = s + y;
        comp = isfinite(u) ? (u - s) - y : 0.0f;
        s = u;
    }
    return s;
}

/* A row's norm: clopt_norm_of over its pieces' norms, which are recomputed, not stored. */
inline float adafactor_row_norm(global const float* g, const uint count, const float unscale, const float clip) {
    const float direct = adafactor_piece_sum(g, count, unscale, clip, 1.0f);
    if (isnan(direct) || (isfinite(direct) && direct >= 0x1p-100f)) {
        return sqrt(direct);
    }
    float m = 0.0f;
    for (uint q = 0; q * CLOPT_CHUNK < count; q++) {
        m = clopt_nan_max(m, adafactor_piece_norm(g + q * CLOPT_CHUNK,
                                                  min((uint) CLOPT_CHUNK, count - q * CLOPT_CHUNK), unscale, clip));
    }
    if (!(m > 0.0f) || isinf(m)) {
        return m;
    }
    const float u = clopt_unscale(m);
    return sqrt(adafactor_piece_sum(g, count, unscale, clip, u)) / u;
}

/* Kahan summation of (|x| * scale)^2 down a column of `rows` elements `cols` apart. */
inline float adafactor_column_sum(global const float* g, const uint rows, const uint cols, const float unscale,
                                  const float clip, const float scale) {
    float s = 0.0f;
    float comp = 0.0f;
    for (uint r = 0; r < rows; r++) {
        const float v = fabs((g[r * cols] * unscale) * clip) * scale;
        const float y = v * v - comp;
        const float u = s + y;
        comp = isfinite(u) ? (u - s) - y : 0.0f;
        s = u;
    }
    return s;
}

/* A column's norm, as clopt_norm_of computes it over the column's magnitudes. */
inline float adafactor_column_norm(global const float* g, const uint rows, const uint cols, const float unscale,
                                   const float clip) {
    const float direct = adafactor_column_sum(g, rows, cols, unscale, clip, 1.0f);
    if (isnan(direct) || (isfinite(direct) && direct >= 0x1p-100f)) {
        return sqrt(direct);
    }
    float m = 0.0f;
    for (uint r = 0; r < rows; r++) {
        m = clopt_nan_max(m, fabs((g[r * cols] * unscale) * clip));
    }
    if (!(m > 0.0f) || isinf(m)) {
        return m;
    }
    const float u = clopt_unscale(m);
    return sqrt(adafactor_column_sum(g, rows, cols, unscale, clip, u)) / u;
}

kernel void adafactor_rows(global const uint* restrict table, const uint tensors,
                           global const float* restrict grad, global const float* restrict grad_scale,
                           const float unscale, global float* restrict row_var,
                           const float w, const float one_minus_w) {
    const uint id = get_global_id(0);
    global const uint* t = adafactor_tensor(table, tensors, AF_FIRST_ROW, id);
    const uint k = id - t[AF_FIRST_ROW];
    const uint cols = t[AF_COLS];
    const float n = adafactor_row_norm(grad + t[AF_OFFSET] + k * cols, cols, unscale, grad_scale[0]);
    const uint i = t[AF_ROW_VAR] + k;
    row_var[i] = adafactor_lerp(row_var[i], (n * n) / (float) cols, w, one_minus_w);
}

kernel void adafactor_cols(global const uint* restrict table, const uint tensors,
                           global const float* restrict grad, global const float* restrict grad_scale,
                           const float unscale, global float* restrict col_var,
                           const float w, const float one_minus_w) {
    const uint id = get_global_id(0);
    global const uint* t = adafactor_tensor(table, tensors, AF_FIRST_COL, id);
    const uint k = id - t[AF_FIRST_COL];
    const uint rows = t[AF_ROWS];
    const uint cols = t[AF_COLS];
    const uint b = k / cols;
    const uint c = k - b * cols;
    const float n = adafactor_column_norm(grad + t[AF_OFFSET] + b * rows * cols + c, rows, cols, unscale,
                                          grad_scale[0]);
    const uint i = t[AF_COL_VAR] + k;
    col_var[i] = adafactor_lerp(col_var[i], (n * n) / (float) rows, w, one_minus_w);
}

kernel void adafactor_batches(global const uint* restrict table, const uint tensors,
                              global const float* restrict row_var, global float* restrict row_mean,
                              const float eps1) {
    const uint id = get_global_id(0);
    global const uint* t = adafactor_tensor(table, tensors, AF_FIRST_MATRIX, id);
    const uint rows = t[AF_ROWS];
    const uint from = t[AF_ROW_VAR] + (id - t[AF_FIRST_MATRIX]) * rows;
    const float mean = clopt_sum(row_var, from, from + rows, 0, 1.0f) / (float) rows;
    row_mean[id] = mean < eps1 ? eps1 : mean;
}

/* Where an element stands in its tensor's state: the chunk's table row, advanced per element. */
typedef struct {
    uint cols;   /* C, or 0 for a vector */
    uint rows;   /* R */
    uint gr;     /* row_var index */
    uint r;      /* row in its matrix */
    uint c;      /* column */
    uint cb;     /* col_var index of the matrix's column 0 */
    uint bi;     /* matrix index, into row_mean */
    uint vi;     /* variance index */
} adafactor_cursor;

inline adafactor_cursor adafactor_start(const uint8 m) {
    adafactor_cursor k = {m.s0, m.s1, m.s2, m.s3, m.s4, m.s5, m.s6, m.s7};
    return k;
}

inline void adafactor_next_row(adafactor_cursor* k) {
    k->c = 0;
    k->gr++;
    if (++k->r == k->rows) {
        k->r = 0;
        k->cb += k->cols;
        k->bi++;
    }
}

/* u of the next element (g as read, sign applied); with store, a vector's variance is written. */
inline float adafactor_u1(adafactor_cursor* k, const float g, global const float* restrict row_var,
                          global const float* restrict col_var, global float* restrict variance,
                          global const float* restrict row_mean, const float w, const float one_minus_w,
                          const float eps1_squared, const int store) {
    float var;
    if (k->cols == 0) {
        var = adafactor_lerp(variance[k->vi], g * g, w, one_minus_w);
        if (store) {
            variance[k->vi] = var;
        }
        k->vi++;
    } else {
        var = (row_var[k->gr] * col_var[k->cb + k->c]) / row_mean[k->bi];
        if (++k->c == k->cols) {
            adafactor_next_row(k);
        }
    }
    return (1.0f / sqrt(var < eps1_squared ? eps1_squared : var)) * g;
}

/* u of the next 16 elements: whole vectors within a row, else element by element. */
inline float16 adafactor_u16(adafactor_cursor* k, const float16 g, global const float* restrict row_var,
                             global const float* restrict col_var, global float* restrict variance,
                             global const float* restrict row_mean, const float w, const float one_minus_w,
                             const float eps1_squared, const int store) {
    float16 var;
    if (k->cols == 0) {
        var = adafactor_lerp16(vload16(0, variance + k->vi), g * g, w, one_minus_w);
        if (store) {
            vstore16(var, 0, variance + k->vi);
        }
        k->vi += 16;
    } else if (k->c + 16 <= k->cols) {
        var = (row_var[k->gr] * vload16(0, col_var + k->cb + k->c)) / row_mean[k->bi];
        k->c += 16;
        if (k->c == k->cols) {
            adafactor_next_row(k);
        }
    } else {
        float u[16];
        for (uint j = 0; j < 16; j++) {
            u[j] = adafactor_u1(k, 1.0f, row_var, col_var, variance, row_mean, w, one_minus_w, eps1_squared, 0);
        }
        /* adafactor_u1 of g = 1 is 1 / sqrt(max(var, eps1^2)) itself. */
        return vload16(0, u) * g;
    }
    return (1.0f / sqrt(select(var, (float16) (eps1_squared), isless(var, (float16) (eps1_squared))))) * g;
}

#define AF_G16(k, a) AF_SIGN((vload16((k), (a)) * unscale) * clip)
#define AF_G1(a, j) AF_SIGN(((a)[j] * unscale) * clip)

/* reduce.cl's fold of a chunk (CLOPT_CHUNK_OF) over u instead of an array: the same order. */
inline float adafactor_chunk_u(const uint8 start, global const float* g, const uint n, const int norm,
                               const int scaled, const float scale, const float unscale, const float clip,
                               global const float* restrict row_var, global const float* restrict col_var,
                               global float* restrict variance, global const float* restrict row_mean,
                               const float w, const float one_minus_w, const float eps1_squared) {
    adafactor_cursor k = adafactor_start(start);
    const uint full = n / 64;
    float16 a[4] = {(float16) (0.0f), (float16) (0.0f), (float16) (0.0f), (float16) (0.0f)};
    for (uint row = 0; row < full; row++) {
        for (uint l = 0; l < 4; l++) {
            float16 v = adafactor_u16(&k, AF_G16(4 * row + l, g), row_var, col_var, variance, row_mean, w,
                                      one_minus_w, eps1_squared, 0);
            if (scaled) {
                v *= scale;
            }
            a[l] = clopt_norm_fold(a[l], v, norm);
        }
    }
    if (full * 64 < n) {
        float tail[64];
        for (uint j = 0; j < 64; j++) {
            const uint i = full * 64 + j;
            const float x = i < n ? adafactor_u1(&k, AF_G1(g, i), row_var, col_var, variance, row_mean, w,
                                                 one_minus_w, eps1_squared, 0) : 0.0f;
            tail[j] = scaled ? x * scale : x;
        }
        for (uint l = 0; l < 4; l++) {
            a[l] = clopt_norm_fold(a[l], vload16(l, tail), norm);
        }
    }
    return clopt_lanes(clopt_lanes16(clopt_lanes16(a[0], a[2], norm), clopt_lanes16(a[1], a[3], norm), norm), norm);
}

/* clopt_partial's Euclidean norm of a chunk of u. */
inline float adafactor_norm_u(const uint8 start, global const float* g, const uint n, const float unscale,
                              const float clip, global const float* restrict row_var,
                              global const float* restrict col_var, global float* restrict variance,
                              global const float* restrict row_mean, const float w, const float one_minus_w,
                              const float eps1_squared) {
    const float r = adafactor_chunk_u(start, g, n, CLOPT_NORM_L2, 0, 1.0f, unscale, clip, row_var, col_var,
                                      variance, row_mean, w, one_minus_w, eps1_squared);
    if (!isnan(r) && (isinf(r) || r < 0x1p-100f)) {
        const float m = adafactor_chunk_u(start, g, n, CLOPT_NORM_INF, 0, 1.0f, unscale, clip, row_var, col_var,
                                          variance, row_mean, w, one_minus_w, eps1_squared);
        if (m > 0.0f && !isinf(m)) {
            const float u = clopt_unscale(m);
            return sqrt(adafactor_chunk_u(start, g, n, CLOPT_NORM_L2, 1, u, unscale, clip, row_var, col_var,
                                          variance, row_mean, w, one_minus_w, eps1_squared)) / u;
        }
        return m;
    }
    return sqrt(r);
}

/* clopt_partial's Euclidean norm of a chunk of p. */
inline float adafactor_norm_p(global const float* p, const uint n) {
    const float r = clopt_chunk(p, n, CLOPT_NORM_L2, 0, 1.0f, 1.0f);
    if (!isnan(r) && (isinf(r) || r < 0x1p-100f)) {
        const float m = clopt_chunk(p, n, CLOPT_NORM_INF, 0, 1.0f, 1.0f);
        if (m > 0.0f && !isinf(m)) {
            const float u = clopt_unscale(m);
            return sqrt(clopt_chunk(p, n, CLOPT_NORM_L2, 1, u, 1.0f)) / u;
        }
        return m;
    }
    return sqrt(r);
}

/* partials[c]: chunk c's norm of p; partials[chunk_count + c]: its norm of u. */
kernel void adafactor_partials(global const uint2* restrict chunks, global const uint8* restrict cursors,
                               global float* restrict partials, const uint chunk_count,
                               global const float* restrict p, global const float* restrict grad,
                               global const float* restrict grad_scale, const float unscale,
                               global const float* restrict row_var, global const float* restrict col_var,
                               global float* restrict variance, global const float* restrict row_mean,
                               const float w, const float one_minus_w, const float eps1_squared) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    partials[c] = adafactor_norm_p(p + chunk.x, chunk.y);
    partials[chunk_count + c] = adafactor_norm_u(cursors[c], grad + chunk.x, chunk.y, unscale, grad_scale[0],
                                                 row_var, col_var, variance, row_mean, w, one_minus_w,
                                                 eps1_squared);
}

/* Python's max(a, b): b only when b > a. */
inline float adafactor_max(const float a, const float b) {
    return b > a ? b : a;
}

/* Each tensor's -alpha / denominator from its chunks' norms, written for each of its chunks. */
kernel void adafactor_finish(global const float* restrict partials, global const uint* restrict tensor_ends,
                             const uint tensors, const uint chunk_count, global const float* restrict root_size,
                             global float* restrict coefficients, const float eps2, const float rho,
                             const float d) {
    uint c = 0;
    for (uint t = 0; t < tensors; t++) {
        const uint end = tensor_ends[t];
        const float p_norm = clopt_norm_of(partials, c, end, CLOPT_NORM_L2);
        const float u_norm = clopt_norm_of(partials + chunk_count, c, end, CLOPT_NORM_L2);
        const float alpha = adafactor_max(eps2, p_norm / root_size[t]) * rho;
        const float coefficient = -alpha / adafactor_max(1.0f, u_norm / (root_size[t] * d));
        for (; c < end; c++) {
            coefficients[c] = coefficient;
        }
    }
}

kernel void adafactor_apply(global const uint2* restrict chunks, global const uint8* restrict cursors,
                            global const float* restrict coefficients, global float* restrict p,
                            global const float* restrict grad, global const float* restrict grad_scale,
                            const float unscale, global const float* restrict row_var,
                            global const float* restrict col_var, global float* restrict variance,
                            global const float* restrict row_mean, const float w, const float one_minus_w,
                            const float eps1_squared, const float decay) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    const float coefficient = coefficients[c];
    const float clip = grad_scale[0];
    adafactor_cursor k = adafactor_start(cursors[c]);
    global float* q = p + chunk.x;
    global const float* g = grad + chunk.x;
    const uint full = chunk.y / 16;
    for (uint b = 0; b < full; b++) {
        const float16 u = adafactor_u16(&k, AF_G16(b, g), row_var, col_var, variance, row_mean, w, one_minus_w,
                                        eps1_squared, 1);
        vstore16(vload16(b, q) * decay + coefficient * u, b, q);
    }
    for (uint j = full * 16; j < chunk.y; j++) {
        const float u = adafactor_u1(&k, AF_G1(g, j), row_var, col_var, variance, row_mean, w, one_minus_w,
                                     eps1_squared, 1);
        q[j] = q[j] * decay + coefficient * u;
    }
}

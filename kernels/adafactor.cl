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
 * Compiled after common.cl and reduce.cl. p is fp32: in a 16-bit group (-DCLOPT_BF16 or
 * -DCLOPT_FP16 with -DCLOPT_MASTER) the master weights, whose rounding to nearest the update
 * also stores in the working copy; the gradients are then 16-bit, widened as they are read. A step of a run of tensors is six launches
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

/* Fields of a factored tensor's row in the table, AF_FIELDS uints. */
#define AF_FIELDS 9
#define AF_FIRST_ROW 0
#define AF_FIRST_COL 1
#define AF_FIRST_MATRIX 2
#define AF_OFFSET 3
#define AF_ROWS 4
#define AF_COLS 5
#define AF_ROW_VAR 6
#define AF_COL_VAR 7
#define AF_FIRST_STRIP 8

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
        if (table[AF_FIELDS * mid + field] <= id) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return table + AF_FIELDS * lo;
}

inline float adafactor_lerp(const float a, const float b, const float w, const float one_minus_w) {
    return fabs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * one_minus_w;
}

inline float16 adafactor_lerp16(const float16 a, const float16 b, const float w, const float one_minus_w) {
    return fabs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * one_minus_w;
}

/* The norm of one piece of a row (reduce.cl's CLOPT_L2_RESCUED), its elements times clip. */
inline float adafactor_piece_norm(global const clopt_grad_t* g, const uint n, const float unscale, const float clip) {
    float r;
    /* Every element times clip, and times the rescue's power of two after it. */
#define AF_FOLD_PIECE(norm, scaled, scale) clopt_chunk_grad(g, n, norm, 1, clip * (scale), unscale)
    CLOPT_L2_RESCUED(r, AF_FOLD_PIECE);
#undef AF_FOLD_PIECE
    return r;
}

/* Kahan summation of the squares of a row's piece norms, each times scale (clopt_sum's). */
inline float adafactor_piece_sum(global const clopt_grad_t* g, const uint count, const float unscale,
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
inline float adafactor_row_norm(global const clopt_grad_t* g, const uint count, const float unscale, const float clip) {
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
inline float adafactor_column_sum(global const clopt_grad_t* g, const uint rows, const uint cols, const float unscale,
                                  const float clip, const float scale) {
    float s = 0.0f;
    float comp = 0.0f;
    for (uint r = 0; r < rows; r++) {
        const float v = fabs((clopt_load_grad(g, r * cols) * unscale) * clip) * scale;
        const float y = v * v - comp;
        const float u = s + y;
        comp = isfinite(u) ? (u - s) - y : 0.0f;
        s = u;
    }
    return s;
}

/* A column's norm, as clopt_norm_of computes it over the column's magnitudes. */
inline float adafactor_column_norm(global const clopt_grad_t* g, const uint rows, const uint cols, const float unscale,
                                   const float clip) {
    const float direct = adafactor_column_sum(g, rows, cols, unscale, clip, 1.0f);
    if (isnan(direct) || (isfinite(direct) && direct >= 0x1p-100f)) {
        return sqrt(direct);
    }
    float m = 0.0f;
    for (uint r = 0; r < rows; r++) {
        m = clopt_nan_max(m, fabs((clopt_load_grad(g, r * cols) * unscale) * clip));
    }
    if (!(m > 0.0f) || isinf(m)) {
        return m;
    }
    const float u = clopt_unscale(m);
    return sqrt(adafactor_column_sum(g, rows, cols, unscale, clip, u)) / u;
}

kernel void adafactor_rows(global const uint* restrict table, const uint tensors,
                           global const clopt_grad_t* restrict grad, global const float* restrict grad_scale,
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

/* col_var of one column from its norm, and col_rs = 1 / sqrt(col_var). */
inline void adafactor_column_update(const float n, const uint rows, global float* restrict col_var,
                                    global float* restrict col_rs, const uint i, const float w,
                                    const float one_minus_w) {
    const float v = adafactor_lerp(col_var[i], (n * n) / (float) rows, w, one_minus_w);
    col_var[i] = v;
    col_rs[i] = 1.0f / sqrt(v);
}

/* Each of 16 columns' direct sum, which adafactor_column_norm's first pass gives, made its norm. */
inline void adafactor_columns16(const float16 sum, global const clopt_grad_t* g, const uint rows, const uint cols,
                                const float unscale, const float clip, global float* restrict col_var,
                                global float* restrict col_rs, const uint first, const float w,
                                const float one_minus_w) {
    float direct[16];
    vstore16(sum, 0, direct);
    for (uint c = 0; c < 16; c++) {
        const float d = direct[c];
        const float n = isnan(d) || (isfinite(d) && d >= 0x1p-100f) ? sqrt(d)
                      : adafactor_column_norm(g + c, rows, cols, unscale, clip);
        adafactor_column_update(n, rows, col_var, col_rs, first + c, w, one_minus_w);
    }
}

/* One lane's step of a compensated sum of squares (clopt_sum's), 16 lanes at once. */
#define AF_KAHAN16(sum, comp, x)                                         \
    {                                                                     \
        const float16 v_ = fabs(((x) * unscale) * clip);                  \
        const float16 y_ = v_ * v_ - (comp);                              \
        const float16 u_ = (sum) + y_;                                    \
        (comp) = select((float16) (0.0f), (u_ - (sum)) - y_, isfinite(u_)); \
        (sum) = u_;                                                       \
    }

/*
 * One work-item per strip of AF_STRIP adjacent columns of a matrix (fewer at its right edge):
 * the compensated sums of 16 columns run down the strip side by side, four such chains at once
 * for a whole strip; each lane sums as adafactor_column_norm, which takes over a lane that
 * needs rescaling, and the columns right of the last whole 16.
 */
#define AF_STRIP 64
kernel void adafactor_cols(global const uint* restrict table, const uint tensors,
                           global const clopt_grad_t* restrict grad, global const float* restrict grad_scale,
                           const float unscale, global float* restrict col_var, global float* restrict col_rs,
                           const float w, const float one_minus_w) {
    const uint id = get_global_id(0);
    global const uint* t = adafactor_tensor(table, tensors, AF_FIRST_STRIP, id);
    const uint rows = t[AF_ROWS];
    const uint cols = t[AF_COLS];
    const uint strips = (cols + AF_STRIP - 1) / AF_STRIP;
    const uint k = id - t[AF_FIRST_STRIP];
    const uint b = k / strips;
    const uint c0 = AF_STRIP * (k - b * strips);
    global const clopt_grad_t* g = grad + t[AF_OFFSET] + b * rows * cols + c0;
    const uint first = t[AF_COL_VAR] + b * cols + c0;
    const float clip = grad_scale[0];
    const uint width = min((uint) AF_STRIP, cols - c0);
    if (width == AF_STRIP) {
        float16 s0 = (float16) (0.0f);
        float16 s1 = s0, s2 = s0, s3 = s0, e0 = s0, e1 = s0, e2 = s0, e3 = s0;
        for (uint r = 0; r < rows; r++) {
            global const clopt_grad_t* row = g + r * cols;
            AF_KAHAN16(s0, e0, clopt_grad_load16(0, row));
            AF_KAHAN16(s1, e1, clopt_grad_load16(1, row));
            AF_KAHAN16(s2, e2, clopt_grad_load16(2, row));
            AF_KAHAN16(s3, e3, clopt_grad_load16(3, row));
        }
        adafactor_columns16(s0, g, rows, cols, unscale, clip, col_var, col_rs, first, w, one_minus_w);
        adafactor_columns16(s1, g + 16, rows, cols, unscale, clip, col_var, col_rs, first + 16, w, one_minus_w);
        adafactor_columns16(s2, g + 32, rows, cols, unscale, clip, col_var, col_rs, first + 32, w, one_minus_w);
        adafactor_columns16(s3, g + 48, rows, cols, unscale, clip, col_var, col_rs, first + 48, w, one_minus_w);
        return;
    }
    uint c = 0;
    for (; c + 16 <= width; c += 16) {
        float16 s = (float16) (0.0f);
        float16 e = s;
        for (uint r = 0; r < rows; r++) {
            AF_KAHAN16(s, e, clopt_grad_load16(0, g + r * cols + c));
        }
        adafactor_columns16(s, g + c, rows, cols, unscale, clip, col_var, col_rs, first + c, w, one_minus_w);
    }
    for (; c < width; c++) {
        adafactor_column_update(adafactor_column_norm(g + c, rows, cols, unscale, clip), rows, col_var, col_rs,
                                first + c, w, one_minus_w);
    }
}

/* One work-item per matrix: m = max(mean of its row_var, eps1), then each row's row_var / m and its 1 / sqrt. */
kernel void adafactor_batches(global const uint* restrict table, const uint tensors,
                              global const float* restrict row_var, global float* restrict row_factor,
                              global float* restrict row_rs, const float eps1) {
    const uint id = get_global_id(0);
    global const uint* t = adafactor_tensor(table, tensors, AF_FIRST_MATRIX, id);
    const uint rows = t[AF_ROWS];
    const uint from = t[AF_ROW_VAR] + (id - t[AF_FIRST_MATRIX]) * rows;
    float mean = clopt_sum(row_var, from, from + rows, 0, 1.0f) / (float) rows;
    mean = mean < eps1 ? eps1 : mean;
    for (uint i = from; i < from + rows; i++) {
        const float f = row_var[i] / mean;
        row_factor[i] = f;
        row_rs[i] = 1.0f / sqrt(f);
    }
}

/* Where an element stands in its tensor's state: the chunk's table row, advanced per element. */
typedef struct {
    uint cols;   /* C, or 0 for a vector */
    uint rows;   /* R */
    uint gr;     /* row_var index */
    uint r;      /* row in its matrix */
    uint c;      /* column */
    uint cb;     /* col_var index of the matrix's column 0 */
    uint vi;     /* variance index */
} adafactor_cursor;

inline adafactor_cursor adafactor_start(const uint8 m) {
    adafactor_cursor k = {m.s0, m.s1, m.s2, m.s3, m.s4, m.s5, m.s7};
    return k;
}

inline void adafactor_next_row(adafactor_cursor* k) {
    k->c = 0;
    k->gr++;
    if (++k->r == k->rows) {
        k->r = 0;
        k->cb += k->cols;
    }
}

/* The statistics the update of a factored element reads, by row and by column. */
#define AF_STATS global const float* restrict row_factor, global const float* restrict row_rs, \
    global const float* restrict col_var, global const float* restrict col_rs
#define AF_STATS_ARGS row_factor, row_rs, col_var, col_rs

/*
 * u of the next element (g as read, sign applied); with store, a vector's variance is written.
 * A factored element's var = row_factor * col_var, and u = g * (1 / sqrt(eps1^2)) below eps1^2,
 * else (g * row_rs) * col_rs: no division or square root per element.
 */
inline float adafactor_u1(adafactor_cursor* k, const float g, AF_STATS, global float* restrict variance,
                          const float w, const float one_minus_w, const float eps1_squared, const float eps1_rs,
                          const int store) {
    if (k->cols == 0) {
        const float var = adafactor_lerp(variance[k->vi], g * g, w, one_minus_w);
        if (store) {
            variance[k->vi] = var;
        }
        k->vi++;
        return (1.0f / sqrt(var < eps1_squared ? eps1_squared : var)) * g;
    }
    const uint ci = k->cb + k->c;
    const float var = row_factor[k->gr] * col_var[ci];
    const float u = var < eps1_squared ? g * eps1_rs : (g * row_rs[k->gr]) * col_rs[ci];
    if (++k->c == k->cols) {
        adafactor_next_row(k);
    }
    return u;
}

/* u of the next 16 elements: whole vectors within a row, else element by element. */
inline float16 adafactor_u16(adafactor_cursor* k, const float16 g, AF_STATS, global float* restrict variance,
                             const float w, const float one_minus_w, const float eps1_squared, const float eps1_rs,
                             const int store) {
    if (k->cols == 0) {
        const float16 var = adafactor_lerp16(vload16(0, variance + k->vi), g * g, w, one_minus_w);
        if (store) {
            vstore16(var, 0, variance + k->vi);
        }
        k->vi += 16;
        return (1.0f / sqrt(select(var, (float16) (eps1_squared), isless(var, (float16) (eps1_squared))))) * g;
    }
    if (k->c + 16 <= k->cols) {
        const uint ci = k->cb + k->c;
        const float16 var = row_factor[k->gr] * vload16(0, col_var + ci);
        const float16 u = select((g * row_rs[k->gr]) * vload16(0, col_rs + ci), g * eps1_rs,
                                 isless(var, (float16) (eps1_squared)));
        k->c += 16;
        if (k->c == k->cols) {
            adafactor_next_row(k);
        }
        return u;
    }
    float u[16];
    float gs[16];
    vstore16(g, 0, gs);
    for (uint j = 0; j < 16; j++) {
        u[j] = adafactor_u1(k, gs[j], AF_STATS_ARGS, variance, w, one_minus_w, eps1_squared, eps1_rs, 0);
    }
    return vload16(0, u);
}

#define AF_G16(k, a) AF_SIGN((clopt_grad_load16((k), (a)) * unscale) * clip)
#define AF_G1(a, j) AF_SIGN((clopt_load_grad((a), (j)) * unscale) * clip)

/* The arguments every u computation takes after the cursor and g. */
#define AF_U_ARGS AF_STATS_ARGS, variance, w, one_minus_w, eps1_squared, eps1_rs

/* reduce.cl's fold of a chunk (CLOPT_CHUNK_OF) over u instead of an array: the same order. */
inline float adafactor_chunk_u(const uint8 start, global const clopt_grad_t* g, const uint n, const int norm,
                               const int scaled, const float scale, const float unscale, const float clip,
                               AF_STATS, global float* restrict variance, const float w, const float one_minus_w,
                               const float eps1_squared, const float eps1_rs) {
    adafactor_cursor k = adafactor_start(start);
    const uint full = n / 64;
    float16 a0 = (float16) (0.0f);
    float16 a1 = a0;
    float16 a2 = a0;
    float16 a3 = a0;
    if (k.cols != 0 && k.c + n <= k.cols) {
        /* The chunk lies in one row (every chunk of a matrix whose rows are whole chunks): its row's
         * statistics are two numbers, its columns' contiguous. The same values as the cursor's. */
        const float rf = row_factor[k.gr];
        const float rr = row_rs[k.gr];
        global const float* cv = col_var + k.cb + k.c;
        global const float* cr = col_rs + k.cb + k.c;
        for (uint row = 0; row < full; row++) {
            float16 v[4];
            for (uint l = 0; l < 4; l++) {
                const uint b = 4 * row + l;
                const float16 gb = AF_G16(b, g);
                v[l] = select((gb * rr) * vload16(b, cr), gb * eps1_rs,
                              isless(rf * vload16(b, cv), (float16) (eps1_squared)));
                if (scaled) {
                    v[l] *= scale;
                }
            }
            a0 = clopt_norm_fold(a0, v[0], norm);
            a1 = clopt_norm_fold(a1, v[1], norm);
            a2 = clopt_norm_fold(a2, v[2], norm);
            a3 = clopt_norm_fold(a3, v[3], norm);
        }
        k.c += full * 64;
    } else {
        for (uint row = 0; row < full; row++) {
            float16 v0 = adafactor_u16(&k, AF_G16(4 * row, g), AF_U_ARGS, 0);
            float16 v1 = adafactor_u16(&k, AF_G16(4 * row + 1, g), AF_U_ARGS, 0);
            float16 v2 = adafactor_u16(&k, AF_G16(4 * row + 2, g), AF_U_ARGS, 0);
            float16 v3 = adafactor_u16(&k, AF_G16(4 * row + 3, g), AF_U_ARGS, 0);
            CLOPT_FOLD_ROW(a0, a1, a2, a3, v0, v1, v2, v3, norm, scaled, scale);
        }
    }
    if (full * 64 < n) {
        float tail[64];
        for (uint j = 0; j < 64; j++) {
            const uint i = full * 64 + j;
            const float x = i < n ? adafactor_u1(&k, AF_G1(g, i), AF_U_ARGS, 0) : 0.0f;
            tail[j] = scaled ? x * scale : x;
        }
        CLOPT_FOLD_TAIL(a0, a1, a2, a3, tail, norm);
    }
    return clopt_lanes64(a0, a1, a2, a3, norm);
}

/* The Euclidean norm of a chunk of u (reduce.cl's CLOPT_L2_RESCUED). */
inline float adafactor_norm_u(const uint8 start, global const clopt_grad_t* g, const uint n, const float unscale,
                              const float clip, AF_STATS, global float* restrict variance, const float w,
                              const float one_minus_w, const float eps1_squared, const float eps1_rs) {
    float r;
#define AF_FOLD_U(norm, scaled, scale) adafactor_chunk_u(start, g, n, norm, scaled, scale, unscale, clip, AF_U_ARGS)
    CLOPT_L2_RESCUED(r, AF_FOLD_U);
#undef AF_FOLD_U
    return r;
}

/* The same for a chunk of p. */
inline float adafactor_norm_p(global const float* p, const uint n) {
    float r;
#define AF_FOLD_P(norm, scaled, scale) clopt_chunk(p, n, norm, scaled, scale, 1.0f)
    CLOPT_L2_RESCUED(r, AF_FOLD_P);
#undef AF_FOLD_P
    return r;
}

/* partials[c]: chunk c's norm of p; partials[chunk_count + c]: its norm of u. */
kernel void adafactor_partials(global const uint2* restrict chunks, global const uint8* restrict cursors,
                               global float* restrict partials, const uint chunk_count,
                               global const float* restrict p, global const clopt_grad_t* restrict grad,
                               global const float* restrict grad_scale, const float unscale, AF_STATS,
                               global float* restrict variance, const float w, const float one_minus_w,
                               const float eps1_squared, const float eps1_rs) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    partials[c] = adafactor_norm_p(p + chunk.x, chunk.y);
    partials[chunk_count + c] = adafactor_norm_u(cursors[c], grad + chunk.x, chunk.y, unscale, grad_scale[0],
                                                 AF_U_ARGS);
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

/* Stores 16 updated parameters: fp32, and with master weights their 16-bit working copy too. */
inline void adafactor_store16(const float16 x, const uint b, global float* q, global clopt_work_t* working) {
    vstore16(x, b, q);
#ifdef CLOPT_MASTER
    clopt_vstore16_nearest(x, b, working);
#endif
}

inline void adafactor_store1(const float x, const uint j, global float* q, global clopt_work_t* working) {
    q[j] = x;
#ifdef CLOPT_MASTER
    clopt_store_nearest(working, j, x);
#endif
}

/* The same arguments as adafactor_partials (chunk_count unused), then the decay and the working copy. */
kernel void adafactor_apply(global const uint2* restrict chunks, global const uint8* restrict cursors,
                            global const float* restrict coefficients, const uint chunk_count,
                            global float* restrict p,
                            global const clopt_grad_t* restrict grad, global const float* restrict grad_scale,
                            const float unscale, AF_STATS, global float* restrict variance, const float w,
                            const float one_minus_w, const float eps1_squared, const float eps1_rs,
                            const float decay, global clopt_work_t* restrict working) {
    const uint c = get_global_id(0);
    const uint2 chunk = chunks[c];
    const float coefficient = coefficients[c];
    const float clip = grad_scale[0];
    adafactor_cursor k = adafactor_start(cursors[c]);
    global float* q = p + chunk.x;
    global clopt_work_t* wq = working + chunk.x;
    global const clopt_grad_t* g = grad + chunk.x;
    const uint full = chunk.y / 16;
    if (k.cols != 0 && k.c + chunk.y <= k.cols) {
        /* In one row: as in adafactor_chunk_u. */
        const float rf = row_factor[k.gr];
        const float rr = row_rs[k.gr];
        global const float* cv = col_var + k.cb + k.c;
        global const float* cr = col_rs + k.cb + k.c;
        for (uint b = 0; b < full; b++) {
            const float16 gb = AF_G16(b, g);
            const float16 u = select((gb * rr) * vload16(b, cr), gb * eps1_rs,
                                     isless(rf * vload16(b, cv), (float16) (eps1_squared)));
            adafactor_store16(vload16(b, q) * decay + coefficient * u, b, q, wq);
        }
        k.c += full * 16;
    } else {
        for (uint b = 0; b < full; b++) {
            const float16 u = adafactor_u16(&k, AF_G16(b, g), AF_U_ARGS, 1);
            adafactor_store16(vload16(b, q) * decay + coefficient * u, b, q, wq);
        }
    }
    for (uint j = full * 16; j < chunk.y; j++) {
        const float u = adafactor_u1(&k, AF_G1(g, j), AF_U_ARGS, 1);
        adafactor_store1(q[j] * decay + coefficient * u, j, q, wq);
    }
}

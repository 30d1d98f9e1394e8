/*
 * mlp: forward and backward passes of the digits classifier that `train` runs,
 *   h = relu(x W1 + b1),  z = h W2 + b2,  loss = mean cross-entropy(softmax(z), y).
 * Matrices are row-major; W1 is in x hidden, W2 hidden x classes. Parameters and gradients are
 * tensors of one parameter set, so each kernel takes the group's flat buffer and the offsets
 * (in elements) of the tensors it uses, and writes gradients straight into the optimizer's buffer.
 * Batches are rows [row0, row0 + batch) of the data. Sizes are tiny, so each work-item loops over
 * its dot product.
 *
 * Built with -DCLOPT_BF16 or -DCLOPT_FP16 (common.cl) the parameters are the group's 16-bit
 * working copy and the gradients 16-bit too: each weight is widened as it is loaded, arithmetic
 * is fp32, and each gradient is rounded to nearest even as it is stored. Inputs, activations and
 * their gradients stay fp32. The loss's gradient per sample, dloss, is the loss scale / batch
 * (1/batch without a GradScaler); with a power-of-two scale, as GradScaler's default factors
 * keep it, the fp32 gradients are exactly the unscaled ones times the scale until their 16-bit
 * store.
 */

#ifndef IN
#define IN 64
#endif
#ifndef HIDDEN
#define HIDDEN 128
#endif
#ifndef CLASSES
#define CLASSES 10
#endif

/* h[b][j] = relu(sum_k x[row0 + b][k] * W1[k][j] + b1[j]); global (batch, HIDDEN). */
kernel void mlp_hidden(global const float* restrict x, const uint row0,
                       global const clopt_work_t* restrict p, const uint w1, const uint b1,
                       global float* restrict h) {
    const uint b = get_global_id(0);
    const uint j = get_global_id(1);
    const global float* xr = x + (size_t) (row0 + b) * IN;
    float s = clopt_load_work(p, b1 + j);
    for (uint k = 0; k < IN; k++) {
        s += xr[k] * clopt_load_work(p, w1 + k * HIDDEN + j);
    }
    h[b * HIDDEN + j] = fmax(s, 0.0f);
}

/* z[b][c] = sum_j h[b][j] * W2[j][c] + b2[c]; global (batch, CLASSES). */
kernel void mlp_logits(global const float* restrict h, global const clopt_work_t* restrict p,
                       const uint w2, const uint b2, global float* restrict z) {
    const uint b = get_global_id(0);
    const uint c = get_global_id(1);
    float s = clopt_load_work(p, b2 + c);
    for (uint j = 0; j < HIDDEN; j++) {
        s += h[b * HIDDEN + j] * clopt_load_work(p, w2 + j * CLASSES + c);
    }
    z[b * CLASSES + c] = s;
}

/* Per sample: loss[b] = -log softmax(z)[y], dz = (softmax(z) - onehot(y)) * dloss; global (batch). */
kernel void mlp_softmax_xent(global const float* restrict z, global const int* restrict y,
                             const uint row0, const float dloss, global float* restrict loss,
                             global float* restrict dz) {
    const uint b = get_global_id(0);
    const global float* zr = z + b * CLASSES;
    float m = zr[0];
    for (uint c = 1; c < CLASSES; c++) {
        m = fmax(m, zr[c]);
    }
    float sum = 0.0f;
    for (uint c = 0; c < CLASSES; c++) {
        sum += exp(zr[c] - m);
    }
    const int label = y[row0 + b];
    loss[b] = log(sum) - (zr[label] - m);
    for (uint c = 0; c < CLASSES; c++) {
        const float prob = exp(zr[c] - m) / sum;
        dz[b * CLASSES + c] = (prob - (c == (uint) label ? 1.0f : 0.0f)) * dloss;
    }
}

/* gW2[j][c] = sum_b h[b][j] dz[b][c] for j < HIDDEN; row HIDDEN is gb2[c] = sum_b dz[b][c].
 * global (HIDDEN + 1, CLASSES). */
kernel void mlp_grad_out(global const float* restrict h, global const float* restrict dz,
                         const uint batch, global clopt_grad_t* restrict g, const uint w2, const uint b2) {
    const uint j = get_global_id(0);
    const uint c = get_global_id(1);
    float s = 0.0f;
    for (uint b = 0; b < batch; b++) {
        s += (j < HIDDEN ? h[b * HIDDEN + j] : 1.0f) * dz[b * CLASSES + c];
    }
    clopt_store_grad(g, (j < HIDDEN ? w2 + j * CLASSES : b2) + c, s);
}

/* dh[b][j] = (h[b][j] > 0) * sum_c dz[b][c] W2[j][c]; global (batch, HIDDEN). */
kernel void mlp_grad_hidden(global const float* restrict h, global const float* restrict dz,
                            global const clopt_work_t* restrict p, const uint w2,
                            global float* restrict dh) {
    const uint b = get_global_id(0);
    const uint j = get_global_id(1);
    float s = 0.0f;
    for (uint c = 0; c < CLASSES; c++) {
        s += dz[b * CLASSES + c] * clopt_load_work(p, w2 + j * CLASSES + c);
    }
    dh[b * HIDDEN + j] = h[b * HIDDEN + j] > 0.0f ? s : 0.0f;
}

/* gW1[k][j] = sum_b x[row0 + b][k] dh[b][j] for k < IN; row IN is gb1[j] = sum_b dh[b][j].
 * global (IN + 1, HIDDEN). */
kernel void mlp_grad_in(global const float* restrict x, const uint row0,
                        global const float* restrict dh, const uint batch,
                        global clopt_grad_t* restrict g, const uint w1, const uint b1) {
    const uint k = get_global_id(0);
    const uint j = get_global_id(1);
    float s = 0.0f;
    for (uint b = 0; b < batch; b++) {
        s += (k < IN ? x[(size_t) (row0 + b) * IN + k] : 1.0f) * dh[b * HIDDEN + j];
    }
    clopt_store_grad(g, (k < IN ? w1 + k * HIDDEN : b1) + j, s);
}

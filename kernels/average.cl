/*
 * average.cl: an averaged copy of the parameters, as torch.optim.swa_utils.AveragedModel keeps
 * (current PyTorch), updated after a step:
 *
 *   mode 0, the first update:  avg = p                                   (a copy)
 *   mode 1, EMA (get_ema_multi_avg_fn(decay), a lerp with weight w = 1 - decay):
 *     w < 0.5:  avg = fma(w, p - avg, avg)
 *     else:     avg = fma(w - 1, p - avg, p)                              (torch's lerp_vec)
 *   mode 2, SWA (the equal-weight average of every update so far, n before this one):
 *     avg = avg + (p - avg) / (n + 1)                                     (get_swa_avg_fn)
 *
 * weight is w for EMA and n + 1 for SWA (exact as a float up to 2^24 updates).
 * The average is fp32 whatever the precision: p is the fp32 master with master weights, else
 * the 16-bit parameters widened (AveragedModel of a bf16 model would average in bf16).
 * Traffic: read avg, p; write avg: 12 bytes per element (8 for the copy) with fp32 p.
 */
kernel void average_update(global float* restrict avg, global const clopt_param_t* restrict p,
                           const int mode, const float weight) {
    const uint i = get_global_id(0);
    const float x = clopt_load_param(p, i);
    if (mode == 0) {
        avg[i] = x;
    } else if (mode == 1) {
        const float a = avg[i];
        avg[i] = weight < 0.5f ? fma(weight, x - a, a) : fma(weight - 1.0f, x - a, x);
    } else {
        const float a = avg[i];
        avg[i] = a + (x - a) / weight;
    }
}

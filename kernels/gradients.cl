/*
 * gradients.cl: what a training loop does to gradients in place, between backward passes and
 * the step, as PyTorch does to .grad:
 *
 *   grad_add:    grad += src                        (accumulation over micro-batches)
 *   grad_scale:  grad = (grad * unscale) * scale[0] (an unscale and clip coefficient made permanent)
 *   grad_clamp:  grad = clamp(grad, -value, value)  (clip_grad_value_; NaN stays NaN)
 *
 * One work-item per element, launched over the tensor's range of the group's flat buffer;
 * grad_add reads src at the same index plus src_shift (src's own layout).
 * With 16-bit gradients (-DCLOPT_BF16, -DCLOPT_FP16) each result is computed in fp32 and
 * rounded to nearest even, as PyTorch's in-place ops on a bf16 or fp16 .grad; grad_add reads
 * src as floats (a host gradient), grad_add_same in the gradients' own type (a backward pass of
 * the same precision).
 * Traffic (fp32): 12 bytes per element for grad_add, 8 for the others.
 */
kernel void grad_add(global clopt_grad_t* restrict grad, global const float* restrict src,
                     const long src_shift) {
    const uint i = get_global_id(0);
    clopt_store_grad(grad, i, clopt_load_grad(grad, i) + src[i + src_shift]);
}

kernel void grad_add_same(global clopt_grad_t* restrict grad, global const clopt_grad_t* restrict src,
                          const long src_shift) {
    const uint i = get_global_id(0);
    clopt_store_grad(grad, i, clopt_load_grad(grad, i) + clopt_load_grad(src, i + src_shift));
}

/* grad = (grad * unscale) * scale[0]: a pending unscale and clip coefficient made permanent. */
kernel void grad_scale(global clopt_grad_t* restrict grad, global const float* restrict scale,
                       const float unscale) {
    const uint i = get_global_id(0);
    clopt_store_grad(grad, i, clopt_load_grad(grad, i) * unscale * scale[0]);
}

kernel void grad_clamp(global clopt_grad_t* restrict grad, const float value) {
    const uint i = get_global_id(0);
    const float g = clopt_load_grad(grad, i);
    clopt_store_grad(grad, i, g < -value ? -value : (g > value ? value : g));
}

/*
 * gradients.cl: what a training loop does to gradients in place, between backward passes and
 * the step, as PyTorch does to .grad:
 *
 *   grad_add:    grad += src                        (accumulation over micro-batches)
 *   grad_scale:  grad *= scale[0]                   (a clip coefficient made permanent)
 *   grad_clamp:  grad = clamp(grad, -value, value)  (clip_grad_value_; NaN stays NaN)
 *
 * One work-item per element, launched over the tensor's range of the group's flat buffer;
 * grad_add reads src at the same index plus src_shift (src's own layout).
 * Traffic: 12 bytes per element for grad_add, 8 for the others.
 */
kernel void grad_add(global float* restrict grad, global const float* restrict src, const long src_shift) {
    const uint i = get_global_id(0);
    grad[i] = grad[i] + src[i + src_shift];
}

kernel void grad_scale(global float* restrict grad, global const float* restrict scale) {
    const uint i = get_global_id(0);
    grad[i] = grad[i] * scale[0];
}

kernel void grad_clamp(global float* restrict grad, const float value) {
    const uint i = get_global_id(0);
    const float g = grad[i];
    grad[i] = g < -value ? -value : (g > value ? value : g);
}

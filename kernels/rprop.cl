/*
 * rprop: torch.optim.Rprop, resilient backpropagation: a step size per element that grows
 * while the gradient keeps its sign and shrinks when it flips; only the gradient's sign moves p.
 *
 *   g = -grad if maximize else grad
 *   f = sign(g * prev)                              (torch.sign: 0 for NaN and for -0)
 *   f = etaplus  where f > 0
 *   f = etaminus where f < 0
 *   f = 1        where f == 0
 *   step_size = clamp(step_size * f, step_size_min, step_size_max)
 *   g = 0 where f == etaminus
 *   p = p + (-1 * sign(g)) * step_size
 *   prev = g
 *
 * As in PyTorch, a NaN product leaves the step size as it is and a NaN gradient leaves p as it
 * is (torch.sign(NaN) is 0), and the three assignments to f run one after the other, so an
 * etaminus that rounds to 0 in float32 ends as 1. step_size starts at lr, prev at 0; a later
 * change of lr does not touch it.
 * State, in this order: prev, step_size.
 * Traffic: read p, grad, prev, step_size; write p, prev, step_size: 28 bytes per element.
 * With -DCLOPT_STATE_BF16 (the state in bf16, common.cl): 20 bytes per element.
 */

/* torch.clamp: NaN stays NaN (fmin and fmax would drop it). */
inline float clopt_clamp(const float x, const float lo, const float hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

kernel void rprop_step(CLOPT_STEP_ARGS,
                       CLOPT_STATE_ARG(prev), CLOPT_STATE_ARG(step_size),
                       const float etaminus, const float etaplus,
                       const float step_size_min, const float step_size_max) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(prev);
    CLOPT_STATE_IN(step_size);
    CLOPT_FOR_ELEMENTS(i) {
        float g = clopt_grad(CLOPT_G(i), 0.0f, 0.0f);
        float f = clopt_torch_sign(g * CLOPT_S(prev, i));
        f = f > 0.0f ? etaplus : f;
        f = f < 0.0f ? etaminus : f;
        f = f == 0.0f ? 1.0f : f;
        const float s = clopt_clamp(CLOPT_S(step_size, i) * f, step_size_min, step_size_max);
        g = f == etaminus ? 0.0f : g;
        CLOPT_SET_S(step_size, i, s);
        CLOPT_SET_S(prev, i, g);
        CLOPT_SET_P(i, CLOPT_P(i) + (-1.0f * clopt_torch_sign(g)) * s);
    }
    CLOPT_STATE_OUT(prev);
    CLOPT_STATE_OUT(step_size);
    CLOPT_BLOCK_END;
}

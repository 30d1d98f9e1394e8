/*
 * adagrad: torch.optim.Adagrad.
 *
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   clr = lr / (1 + (t - 1) * lr_decay)                 (host, per step)
 *   s = s + g * g                                       (s starts at initial_accumulator_value)
 *   p = p - clr * g / (sqrt(s) + eps)
 *
 * State: sum s. Traffic: read p, grad, s; write p, s: 20 bytes per element (16 with
 * -DCLOPT_STATE_BF16: the state in bf16, common.cl).
 */
kernel void adagrad_step(CLOPT_STEP_ARGS,
                         CLOPT_STATE_ARG(sum),
                         const float weight_decay, const float neg_clr, const float eps) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(sum);
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float s = CLOPT_S(sum, i) + g * g;
        CLOPT_SET_S(sum, i, s);
        CLOPT_SET_P(i, pi + neg_clr * g / (sqrt(s) + eps));
    }
    CLOPT_STATE_OUT(sum);
    CLOPT_BLOCK_END;
}

/*
 * radam: torch.optim.RAdam, Adam with the variance of the adaptive step rectified; plain
 * momentum SGD for the first steps, while that variance is intractable.
 *
 * Host, per step t, in double:
 *   rho_inf = 2 / (1 - b2) - 1
 *   rho_t   = rho_inf - 2 * t * b2^t / (1 - b2^t)
 *   rectified = rho_t > 5                          (the same for every element: one uniform branch)
 *   rect    = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
 * Device:
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   if rectified:  p = p - m / (1 - b1^t) * lr * (1 / (sqrt(v) + eps) * sqrt(1 - b2^t)) * rect
 *   else:          p = p - m / (1 - b1^t) * lr
 *
 * PyTorch's order, left to right; its sqrt(1 - b2^t) / (sqrt(v) + eps) is a Python float over a
 * tensor, which torch evaluates as reciprocal(sqrt(v) + eps) * sqrt(1 - b2^t).
 * State, in this order: exp_avg m, exp_avg_sq v.
 * Traffic: read p, grad, m, v; write p, m, v: 28 bytes per element. decay_factor is 1 unless
 * decoupled; rectified is 1.0f or 0.0f.
 * With -DCLOPT_STATE_BF16 (the state in bf16, common.cl): 20 bytes per element.
 */
kernel void radam_step(CLOPT_STEP_ARGS,
                       CLOPT_STATE_ARG(exp_avg), CLOPT_STATE_ARG(exp_avg_sq),
                       const float weight_decay, const float decay_factor,
                       const float beta1, const float one_minus_beta1,
                       const float beta2, const float one_minus_beta2,
                       const float bias_correction1, const float lr,
                       const float bias_correction2_sqrt, const float eps,
                       const float rect, const float rectified) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(exp_avg);
    CLOPT_STATE_IN(exp_avg_sq);
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i) * decay_factor;
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float m = clopt_first_moment(CLOPT_S(exp_avg, i), g, beta1, one_minus_beta1);
        const float v = clopt_second_moment(CLOPT_S(exp_avg_sq, i), g, beta2, one_minus_beta2);
        CLOPT_SET_S(exp_avg, i, m);
        CLOPT_SET_S(exp_avg_sq, i, v);
        const float step = m / bias_correction1 * lr;
        if (rectified != 0.0f) {
            const float adaptive_lr = 1.0f / (sqrt(v) + eps) * bias_correction2_sqrt;
            CLOPT_SET_P(i, pi - step * adaptive_lr * rect);
        } else {
            CLOPT_SET_P(i, pi - step);
        }
    }
    CLOPT_STATE_OUT(exp_avg);
    CLOPT_STATE_OUT(exp_avg_sq);
    CLOPT_BLOCK_END;
}

/*
 * adamax: torch.optim.Adamax, Adam with the infinity norm in place of the second moment.
 *
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   u = max(b2 * u, |g| + eps)                    (eps inside the max; NaN wins, as torch.maximum)
 *   p = p - lr / (1 - b1^t) * m / u
 *
 * State, in this order: exp_avg m, exp_inf u.
 * Traffic: read p, grad, m, u; write p, m, u: 28 bytes per element.
 * With -DCLOPT_STATE_BF16 (the state in bf16, common.cl): 20 bytes per element.
 */
kernel void adamax_step(CLOPT_STEP_ARGS,
                        CLOPT_STATE_ARG(exp_avg), CLOPT_STATE_ARG(exp_inf),
                        const float weight_decay, const float beta1, const float one_minus_beta1,
                        const float beta2, const float eps, const float neg_clr) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(exp_avg);
    CLOPT_STATE_IN(exp_inf);
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float m = clopt_first_moment(CLOPT_S(exp_avg, i), g, beta1, one_minus_beta1);
        const float u = clopt_nan_max(CLOPT_S(exp_inf, i) * beta2, fabs(g) + eps);
        CLOPT_SET_S(exp_avg, i, m);
        CLOPT_SET_S(exp_inf, i, u);
        CLOPT_SET_P(i, pi + neg_clr * m / u);
    }
    CLOPT_STATE_OUT(exp_avg);
    CLOPT_STATE_OUT(exp_inf);
    CLOPT_BLOCK_END;
}

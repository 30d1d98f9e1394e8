/*
 * adadelta: torch.optim.Adadelta.
 *
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   v = rho * v + (1 - rho) * g * g
 *   delta = sqrt(u + eps) / sqrt(v + eps) * g
 *   u = rho * u + (1 - rho) * delta * delta
 *   p = p - lr * delta
 *
 * State: square_avg v, acc_delta u. Traffic: read p, grad, v, u; write p, v, u: 28 bytes per element.
 * With -DCLOPT_STATE_BF16 (the state in bf16, common.cl): 20 bytes per element.
 */
kernel void adadelta_step(CLOPT_STEP_ARGS,
                          CLOPT_STATE_ARG(square_avg), CLOPT_STATE_ARG(acc_delta),
                          const float weight_decay, const float rho, const float one_minus_rho,
                          const float eps, const float neg_lr) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(square_avg);
    CLOPT_STATE_IN(acc_delta);
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float v = CLOPT_S(square_avg, i) * rho + one_minus_rho * g * g;
        CLOPT_SET_S(square_avg, i, v);
        const float u = CLOPT_S(acc_delta, i);
        const float delta = sqrt(u + eps) / sqrt(v + eps) * g;
        CLOPT_SET_S(acc_delta, i, u * rho + one_minus_rho * delta * delta);
        CLOPT_SET_P(i, pi + neg_lr * delta);
    }
    CLOPT_STATE_OUT(square_avg);
    CLOPT_STATE_OUT(acc_delta);
    CLOPT_BLOCK_END;
}

/*
 * rmsprop: torch.optim.RMSprop.
 *
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   v = alpha * v + (1 - alpha) * g * g
 *   if centered:  a = alpha * a + (1 - alpha) * g;   d = sqrt(v - a * a) + eps
 *   else:         d = sqrt(v) + eps
 *   if momentum > 0:  b = momentum * b + g / d;   p = p - lr * b
 *   else:             p = p - lr * g / d
 *
 * Build options: -DCENTERED keeps grad_avg a, -DMOMENTUM keeps momentum_buffer b.
 * State, in this order: square_avg v, momentum_buffer b (MOMENTUM), grad_avg a (CENTERED).
 * Traffic: 20 bytes per element, plus 8 for each of MOMENTUM and CENTERED (each state array 4
 * bytes instead of 8 with -DCLOPT_STATE_BF16: the state in bf16, common.cl).
 */
kernel void rmsprop_step(CLOPT_STEP_ARGS,
                         CLOPT_STATE_ARG(square_avg),
#ifdef MOMENTUM
                         CLOPT_STATE_ARG(momentum_buffer),
#endif
#ifdef CENTERED
                         CLOPT_STATE_ARG(grad_avg),
#endif
                         const float weight_decay, const float alpha, const float one_minus_alpha,
                         const float eps, const float momentum, const float neg_lr) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(square_avg);
#ifdef MOMENTUM
    CLOPT_STATE_IN(momentum_buffer);
#endif
#ifdef CENTERED
    CLOPT_STATE_IN(grad_avg);
#endif
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float v = CLOPT_S(square_avg, i) * alpha + one_minus_alpha * g * g;
        CLOPT_SET_S(square_avg, i, v);
#ifdef CENTERED
        const float a = CLOPT_S(grad_avg, i) * alpha + one_minus_alpha * g;
        CLOPT_SET_S(grad_avg, i, a);
        const float d = sqrt(v - a * a) + eps;
#else
        const float d = sqrt(v) + eps;
#endif
#ifdef MOMENTUM
        const float b = CLOPT_S(momentum_buffer, i) * momentum + g / d;
        CLOPT_SET_S(momentum_buffer, i, b);
        CLOPT_SET_P(i, pi + neg_lr * b);
#else
        CLOPT_SET_P(i, pi + neg_lr * g / d);
#endif
    }
    CLOPT_STATE_OUT(square_avg);
#ifdef MOMENTUM
    CLOPT_STATE_OUT(momentum_buffer);
#endif
#ifdef CENTERED
    CLOPT_STATE_OUT(grad_avg);
#endif
    CLOPT_BLOCK_END;
}

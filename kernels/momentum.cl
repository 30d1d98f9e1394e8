/*
 * momentum: torch.optim.SGD with momentum > 0 and nesterov = False.
 *
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   b = g                                        on the first step (no dampening)
 *   b = momentum * b + (1 - dampening) * g       afterwards
 *   p = p - lr * b
 *
 * State: momentum_buffer b. Traffic: read p, grad, b; write p, b: 20 bytes per element (16 with
 * -DCLOPT_STATE_BF16: the state in bf16; 14 with -DCLOPT_STATE_INT8: see common.cl).
 */
kernel void momentum_step(CLOPT_STEP_ARGS,
                          CLOPT_STATE_ARG(momentum_buffer),
                          const float weight_decay, const float momentum,
                          const float one_minus_dampening, const float lr,
                          const float first_step) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(momentum_buffer);
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float b = clopt_momentum_buffer(CLOPT_S(momentum_buffer, i), g, momentum, one_minus_dampening,
                                              first_step);
        CLOPT_SET_S(momentum_buffer, i, b);
        CLOPT_SET_P(i, pi + (-lr) * b);
    }
    CLOPT_STATE_OUT(momentum_buffer);
    CLOPT_BLOCK_END;
}

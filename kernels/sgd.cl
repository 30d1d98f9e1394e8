/*
 * sgd: stochastic gradient descent, torch.optim.SGD with momentum = 0.
 *
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   p = p - lr * g
 *
 * State: none. Traffic: read p, grad; write p: 12 bytes per element.
 */
kernel void sgd_step(CLOPT_STEP_ARGS,
                     const float weight_decay, const float lr) {
    const uint i = get_global_id(0);
    const float pi = CLOPT_P(i);
    const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
    CLOPT_SET_P(i, pi + (-lr) * g);
}

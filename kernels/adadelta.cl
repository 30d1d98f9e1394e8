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
 */
kernel void adadelta_step(CLOPT_STEP_ARGS,
                          global float* restrict square_avg, global float* restrict acc_delta,
                          const float weight_decay, const float rho, const float one_minus_rho,
                          const float eps, const float neg_lr) {
    const uint i = get_global_id(0);
    const float pi = CLOPT_P(i);
    const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
    const float v = square_avg[i] * rho + one_minus_rho * g * g;
    square_avg[i] = v;
    const float u = acc_delta[i];
    const float delta = sqrt(u + eps) / sqrt(v + eps) * g;
    acc_delta[i] = u * rho + one_minus_rho * delta * delta;
    CLOPT_SET_P(i, pi + neg_lr * delta);
}

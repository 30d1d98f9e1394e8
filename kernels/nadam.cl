/*
 * nadam: torch.optim.NAdam (Adam with Nesterov momentum and a momentum schedule).
 *
 * Host, per step t, in double (mu_product is kept in float, as PyTorch keeps it):
 *   mu_t       = b1 * (1 - 0.5 * 0.96^(t * momentum_decay))
 *   mu_next    = b1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
 *   mu_product = mu_product * mu_t                       (starts at 1)
 * Device:
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps
 *   p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
 *   p = p - lr * mu_next / (1 - mu_product * mu_next) * m / denom
 *
 * State: exp_avg m, exp_avg_sq v (and the host scalar mu_product).
 * Traffic: 28 bytes per element. decay_factor is 1 unless decoupled.
 * With -DCLOPT_STATE_BF16 (the state in bf16, common.cl): 20 bytes per element.
 */
kernel void nadam_step(CLOPT_STEP_ARGS,
                       CLOPT_STATE_ARG(exp_avg), CLOPT_STATE_ARG(exp_avg_sq),
                       const float weight_decay, const float decay_factor,
                       const float beta1, const float one_minus_beta1,
                       const float beta2, const float one_minus_beta2,
                       const float bias_correction2_sqrt, const float eps,
                       const float neg_grad_step, const float neg_moment_step) {
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
        const float denom = clopt_adam_denom(v, bias_correction2_sqrt, eps);
        const float q = pi + neg_grad_step * g / denom;
        CLOPT_SET_P(i, q + neg_moment_step * m / denom);
    }
    CLOPT_STATE_OUT(exp_avg);
    CLOPT_STATE_OUT(exp_avg_sq);
    CLOPT_BLOCK_END;
}

/*
 * lion: Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of Optimization
 * Algorithms", Algorithm 2), as lion-pytorch and optax.lion: the step is the sign of an
 * interpolation of momentum and gradient, the same size lr for every element.
 *
 *   g = -grad if maximize else grad
 *   p = p * (1 - lr * weight_decay)               (decoupled decay, as AdamW)
 *   c = b1 * m + (1 - b1) * g
 *   p = p - lr * sign(c)                          (torch.sign: 0 for 0 and for NaN)
 *   m = b2 * m + (1 - b2) * g
 *
 * sign is torch.sign, as lion-pytorch's sign_(): +0 for NaN, so a NaN gradient leaves p as it
 * is (m turns NaN, as in lion-pytorch). No eps: the sign needs no denominator.
 * State: exp_avg m.
 * Traffic: read p, grad, m; write p, m: 20 bytes per element (16 with -DCLOPT_STATE_BF16: the
 * state in bf16, common.cl).
 */
kernel void lion_step(CLOPT_STEP_ARGS, CLOPT_STATE_ARG(exp_avg),
                      const float decay_factor, const float beta1, const float one_minus_beta1,
                      const float beta2, const float one_minus_beta2, const float lr) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(exp_avg);
    CLOPT_FOR_ELEMENTS(i) {
        const float g = clopt_grad(CLOPT_G(i), 0.0f, 0.0f);
        const float m = CLOPT_S(exp_avg, i);
        const float c = clopt_first_moment(m, g, beta1, one_minus_beta1);
        CLOPT_SET_P(i, CLOPT_P(i) * decay_factor - lr * clopt_torch_sign(c));
        CLOPT_SET_S(exp_avg, i, clopt_first_moment(m, g, beta2, one_minus_beta2));
    }
    CLOPT_STATE_OUT(exp_avg);
    CLOPT_BLOCK_END;
}

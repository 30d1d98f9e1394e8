/*
 * adam: torch.optim.Adam (L2 weight decay folded into the gradient, or decoupled as AdamW's
 * with decoupled_weight_decay, current PyTorch's option).
 *
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   if amsgrad:  vmax = max(vmax, v), and vmax replaces v below
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps               (eps outside the bias correction)
 *   p = p - lr / (1 - b1^t) * m / denom
 *
 * Build options: -DAMSGRAD keeps max_exp_avg_sq; -DDECOUPLED takes the first scalar as the
 * factor 1 - lr * weight_decay on p instead of the L2 weight decay.
 * State, in this order: exp_avg m, exp_avg_sq v, max_exp_avg_sq vmax (AMSGRAD).
 * Traffic: read p, grad, m, v; write p, m, v: 28 bytes per element (36 with AMSGRAD; 20 and 24
 * with -DCLOPT_STATE_BF16: the state in bf16; 16 and 18 with -DCLOPT_STATE_INT8, plus a block
 * maximum per 256 elements and array: see common.cl).
 */
kernel void adam_step(CLOPT_STEP_ARGS,
                      CLOPT_STATE_ARG(exp_avg), CLOPT_STATE_ARG(exp_avg_sq),
#ifdef AMSGRAD
                      CLOPT_STATE_ARG(max_exp_avg_sq),
#endif
                      const float weight_decay, const float beta1, const float one_minus_beta1,
                      const float beta2, const float one_minus_beta2,
                      const float bias_correction2_sqrt, const float eps,
                      const float neg_step_size) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(exp_avg);
    CLOPT_STATE_IN(exp_avg_sq);
#ifdef AMSGRAD
    CLOPT_STATE_IN(max_exp_avg_sq);
#endif
    CLOPT_FOR_ELEMENTS(i) {
#ifdef DECOUPLED
        const float pi = CLOPT_P(i) * weight_decay;
        const float g = clopt_grad(CLOPT_G(i), pi, 0.0f);
#else
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
#endif
        CLOPT_ADAM_UPDATE(i, pi, g, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt,
                          eps, neg_step_size);
    }
    CLOPT_STATE_OUT(exp_avg);
    CLOPT_STATE_OUT(exp_avg_sq);
#ifdef AMSGRAD
    CLOPT_STATE_OUT(max_exp_avg_sq);
#endif
    CLOPT_BLOCK_END;
}

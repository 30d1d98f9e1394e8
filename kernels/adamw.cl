/*
 * adamw: torch.optim.AdamW, Adam with decoupled weight decay.
 *
 *   g = -grad if maximize else grad                     (no L2 term)
 *   p = p * (1 - lr * weight_decay)                     (before the Adam update)
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   if amsgrad:  vmax = max(vmax, v), and vmax replaces v below
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps
 *   p = p - lr / (1 - b1^t) * m / denom
 *
 * Build options: -DAMSGRAD keeps max_exp_avg_sq.
 * State, in this order: exp_avg m, exp_avg_sq v, max_exp_avg_sq vmax (AMSGRAD).
 * Traffic: 28 bytes per element (36 with AMSGRAD; 20 and 24 with -DCLOPT_STATE_BF16: the state
 * in bf16; 16 and 18 with -DCLOPT_STATE_INT8: see common.cl).
 */
kernel void adamw_step(CLOPT_STEP_ARGS,
                       CLOPT_STATE_ARG(exp_avg), CLOPT_STATE_ARG(exp_avg_sq),
#ifdef AMSGRAD
                       CLOPT_STATE_ARG(max_exp_avg_sq),
#endif
                       const float decay_factor, const float beta1, const float one_minus_beta1,
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
        const float pi = CLOPT_P(i) * decay_factor;
        const float g = clopt_grad(CLOPT_G(i), pi, 0.0f);
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

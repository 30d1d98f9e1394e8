/*
 * asgd: torch.optim.ASGD, averaged stochastic gradient descent: SGD with a step size eta that
 * decays with the step count, and a running average ax of the parameters that starts at t0.
 *
 * Scalar state per tensor, float32 as PyTorch keeps it: eta (starts at lr) and mu (starts at 1).
 * Device, step t, with the eta and mu the previous step left:
 *   g = -grad if maximize else grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   p = p * (1 - lambd * eta)
 *   p = p - eta * g
 *   ax = ax + (p - ax) * mu   if mu != 1
 *   ax = p                    otherwise
 * Host, after the step, in double from the step's lr, each rounded to float32:
 *   eta = lr / (1 + lambd * lr * t)^alpha
 *   mu  = 1 / max(1, t - t0)
 *
 * 1 - lambd * eta is a host scalar (decay_factor), as PyTorch computes it in Python from the
 * float32 eta; mu != 1 is the same for every element (one uniform branch), and the copy reads
 * no ax, as PyTorch's ax.copy_(p). With the default t0 = 1e6, ax is a copy of p for a million
 * steps. State: ax.
 * Traffic: read p, grad, ax; write p, ax: 20 bytes per element.
 * With -DCLOPT_STATE_BF16 (the state in bf16, common.cl): 16 bytes per element.
 */
kernel void asgd_step(CLOPT_STEP_ARGS, CLOPT_STATE_ARG(ax),
                      const float weight_decay, const float decay_factor, const float eta,
                      const float mu) {
    CLOPT_BLOCK_BEGIN;
    CLOPT_STATE_IN(ax);
    CLOPT_FOR_ELEMENTS(i) {
        const float pi = CLOPT_P(i);
        const float g = clopt_grad(CLOPT_G(i), pi, weight_decay);
        const float q = pi * decay_factor - eta * g;
        CLOPT_SET_P(i, q);
        if (mu != 1.0f) {
            const float a = CLOPT_S(ax, i);
            CLOPT_SET_S(ax, i, a + (q - a) * mu);
        } else {
            CLOPT_SET_S(ax, i, q);
        }
    }
    CLOPT_STATE_OUT(ax);
    CLOPT_BLOCK_END;
}

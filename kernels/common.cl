/*
 * common.cl: helpers shared by every clopt kernel. The host compiles each algorithm's file
 * after this one, as a single program.
 *
 * Conventions for every <name>_step kernel:
 *   - arguments: p, grad, grad_scale, the state arrays in PyTorch's order, then the per-step
 *     scalars (all float, flags as 0.0f/1.0f);
 *   - with -DCLOPT_GRAD_SCALE, grad_scale[0] multiplies every gradient as it is read: the
 *     coefficient of gradient clipping that reduce.cl left on the device (clip_grad_norm_'s
 *     grad *= clip_coef fused into the step, so clipping costs no second pass over the gradients
 *     and no read-back). Without it the argument is not read: a step without clipping loads
 *     nothing more than before;
 *   - one work-item per element and no bounds check: the host launches the largest multiple of
 *     the work-group size, then the remaining elements as a second launch at a global offset.
 *     A guard such as if (i >= n) return; stops POCL from vectorizing across work-items and cost
 *     a factor of 2 to 4 there;
 *   - per-step scalars (bias corrections, step sizes, 1-beta ...) are computed once per step on
 *     the host in double and rounded to float, exactly as PyTorch hands Python floats to fp32
 *     tensor ops;
 *   - each expression follows PyTorch's evaluation order (mul_ then add_/addcmul_/addcdiv_),
 *     and contraction into fma is off, so a device with correctly rounded divide and sqrt
 *     reproduces the CPU reference bit for bit.
 *
 * Structural options are build options:
 *   -DMAXIMIZE  negate the gradient (maximize=True)
 */
#pragma OPENCL FP_CONTRACT OFF

/* A gradient as read: times the clip coefficient in the variant built for clipped steps. */
#ifdef CLOPT_GRAD_SCALE
#define CLOPT_SCALED(g) ((g) * grad_scale[0])
#else
#define CLOPT_SCALED(g) (g)
#endif

/* The prologue every algorithm shares: maximize, then L2 weight decay (g + wd*p).
 * PyTorch skips the decay when weight_decay == 0, which matters when p is Inf. */
inline float clopt_grad(const float grad, const float p, const float weight_decay) {
#ifdef MAXIMIZE
    float g = -grad;
#else
    float g = grad;
#endif
    if (weight_decay != 0.0f) {
        g = g + weight_decay * p;
    }
    return g;
}

/* SGD's momentum buffer. On the first step the buffer is a copy of g: no dampening. */
inline float clopt_momentum_buffer(const float b, const float g, const float momentum,
                                   const float one_minus_dampening, const float first_step) {
    return first_step != 0.0f ? g : b * momentum + one_minus_dampening * g;
}

/* Adam's first and second moments, shared by adam, adamw and nadam:
 *   m = b1*m + (1-b1)*g;   v = b2*v + (1-b2)*g*g */
inline float clopt_first_moment(const float m, const float g, const float beta1,
                                const float one_minus_beta1) {
    return m * beta1 + one_minus_beta1 * g;
}

inline float clopt_second_moment(const float v, const float g, const float beta2,
                                 const float one_minus_beta2) {
    return v * beta2 + one_minus_beta2 * g * g;
}

/* Adam's denominator: sqrt(v) / sqrt(1 - b2^t) + eps. */
inline float clopt_adam_denom(const float v, const float bias_correction2_sqrt, const float eps) {
    return sqrt(v) / bias_correction2_sqrt + eps;
}

/* torch.maximum: NaN when either side is NaN (fmax would drop it). */
inline float clopt_nan_max(const float a, const float b) {
    return (a > b || isnan(a)) ? a : b;
}

/* torch.sign, which rprop and lion step by: 1, -1 or +0; +0 for NaN and for -0 (OpenCL's
 * sign() keeps both). */
inline float clopt_torch_sign(const float x) {
    return (float) (x > 0.0f) - (float) (x < 0.0f);
}

/* The update adam and adamw share once the gradient and p are prepared: both moments, amsgrad's
 * running maximum (-DAMSGRAD; max_exp_avg_sq is not touched without it), and the new p. */
inline float clopt_adam_update(const uint i, const float p, const float g,
                               global float* restrict exp_avg, global float* restrict exp_avg_sq,
                               global float* restrict max_exp_avg_sq,
                               const float beta1, const float one_minus_beta1,
                               const float beta2, const float one_minus_beta2,
                               const float bias_correction2_sqrt, const float eps,
                               const float neg_step_size) {
    const float m = clopt_first_moment(exp_avg[i], g, beta1, one_minus_beta1);
    float v = clopt_second_moment(exp_avg_sq[i], g, beta2, one_minus_beta2);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
#ifdef AMSGRAD
    v = clopt_nan_max(max_exp_avg_sq[i], v);
    max_exp_avg_sq[i] = v;
#endif
    return p + neg_step_size * m / clopt_adam_denom(v, bias_correction2_sqrt, eps);
}

/* The max_exp_avg_sq argument of clopt_adam_update: the kernel's buffer with -DAMSGRAD. */
#ifdef AMSGRAD
#define CLOPT_MAX_EXP_AVG_SQ max_exp_avg_sq
#else
#define CLOPT_MAX_EXP_AVG_SQ 0
#endif


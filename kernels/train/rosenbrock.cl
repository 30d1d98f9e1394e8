/*
 * rosenbrock: the extended Rosenbrock function over n = 2m parameters, the large-vector workload
 * of `train`:
 *   f(x) = sum_i 100 (x[2i+1] - x[2i]^2)^2 + (1 - x[2i])^2
 *   df/dx[2i]   = -400 x[2i] (x[2i+1] - x[2i]^2) - 2 (1 - x[2i])
 *   df/dx[2i+1] =  200 (x[2i+1] - x[2i]^2)
 * rosenbrock_grad: one work-item per pair, no bounds check (the host sizes the problem to whole
 * work-groups, as the optimizer kernels need for speed on POCL).
 * rosenbrock_loss: run only when the loss is reported; one work-item per pair writes its term of
 * f, which clopt's Reduction then sums (one read at the memory's speed, one float read back).
 * Built with -DCLOPT_BF16 or -DCLOPT_FP16 (common.cl), x is the group's 16-bit working copy and
 * g is stored 16-bit, rounded to nearest; arithmetic is fp32. rosenbrock_grad writes the
 * gradient of f times scale (a GradScaler's loss scale, 1 without one).
 */

kernel void rosenbrock_grad(global const clopt_work_t* restrict x, global clopt_grad_t* restrict g,
                            const float scale) {
    const uint i = get_global_id(0);
    const float a = clopt_load_work(x, 2 * i);
    const float r = clopt_load_work(x, 2 * i + 1) - a * a;
    clopt_store_grad(g, 2 * i, (-400.0f * a * r - 2.0f * (1.0f - a)) * scale);
    clopt_store_grad(g, 2 * i + 1, (200.0f * r) * scale);
}

kernel void rosenbrock_loss(global const clopt_work_t* restrict x, global float* restrict f) {
    const uint i = get_global_id(0);
    const float a = clopt_load_work(x, 2 * i);
    const float r = clopt_load_work(x, 2 * i + 1) - a * a;
    f[i] = 100.0f * r * r + (1.0f - a) * (1.0f - a);
}

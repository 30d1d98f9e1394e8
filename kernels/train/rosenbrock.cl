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
 */

kernel void rosenbrock_grad(global const float* restrict x, global float* restrict g) {
    const uint i = get_global_id(0);
    const float a = x[2 * i];
    const float r = x[2 * i + 1] - a * a;
    g[2 * i] = -400.0f * a * r - 2.0f * (1.0f - a);
    g[2 * i + 1] = 200.0f * r;
}

kernel void rosenbrock_loss(global const float* restrict x, global float* restrict f) {
    const uint i = get_global_id(0);
    const float a = x[2 * i];
    const float r = x[2 * i + 1] - a * a;
    f[i] = 100.0f * r * r + (1.0f - a) * (1.0f - a);
}

/*
 * rosenbrock: the extended Rosenbrock function over n = 2m parameters, the large-vector workload
 * of `train`:
 *   f(x) = sum_i 100 (x[2i+1] - x[2i]^2)^2 + (1 - x[2i])^2
 *   df/dx[2i]   = -400 x[2i] (x[2i+1] - x[2i]^2) - 2 (1 - x[2i])
 *   df/dx[2i+1] =  200 (x[2i+1] - x[2i]^2)
 * rosenbrock_grad: one work-item per pair, no bounds check (the host sizes the problem to whole
 * work-groups, as the optimizer kernels need for speed on POCL).
 * rosenbrock_loss: run only when the loss is reported; each work-group of WGS items (a power of
 * two, the launch's local size) adds its pairs' f into partial[group].
 */
#ifndef WGS
#define WGS 256
#endif

kernel void rosenbrock_grad(global const float* restrict x, global float* restrict g) {
    const uint i = get_global_id(0);
    const float a = x[2 * i];
    const float r = x[2 * i + 1] - a * a;
    g[2 * i] = -400.0f * a * r - 2.0f * (1.0f - a);
    g[2 * i + 1] = 200.0f * r;
}

kernel void rosenbrock_loss(global const float* restrict x, global float* restrict partial) {
    local float sums[WGS];
    const uint i = get_global_id(0);
    const uint l = get_local_id(0);
    const float a = x[2 * i];
    const float r = x[2 * i + 1] - a * a;
    sums[l] = 100.0f * r * r + (1.0f - a) * (1.0f - a);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = WGS / 2; stride > 0; stride /= 2) {
        if (l < stride) {
            sums[l] += sums[l + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        partial[get_group_id(0)] = sums[0];
    }
}

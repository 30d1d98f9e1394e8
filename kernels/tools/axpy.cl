/*
 * axpy: y = y + a * x in place, the memory roofline clopt's kernels are measured against.
 * Like an optimizer step it reads two arrays and writes one of them back (12 bytes per element),
 * with no write-allocate traffic, so it shows what the device's memory sustains for this shape
 * of access.
 */
kernel void axpy_step(global float* restrict y, global const float* restrict x, const float a) {
    const uint i = get_global_id(0);
    y[i] = y[i] + a * x[i];
}

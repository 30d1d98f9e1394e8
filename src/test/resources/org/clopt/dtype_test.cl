/*
 * dtype_test.cl: common.cl's 16-bit conversions, one element per work-item, for DtypeTest to
 * compare with Dtype.java bit for bit. Compiled after common.cl. Floats travel as their uint
 * bits so that no NaN payload can be touched on the way in or out.
 */

kernel void bf16_widen(global const ushort* in, global uint* out) {
    const size_t i = get_global_id(0);
    out[i] = as_uint(clopt_bf16_load(in[i]));
}

kernel void fp16_widen(global const ushort* in, global uint* out) {
    const size_t i = get_global_id(0);
    out[i] = as_uint(clopt_fp16_load(in[i]));
}

/* The 16-lane forms, on whole rows of 16 (the test's sizes are multiples of 16). */
kernel void fp16_widen16(global const ushort* in, global uint* out) {
    const size_t k = get_global_id(0);
    vstore16(as_uint16(clopt_fp16_load16(vload16(k, in))), k, out);
}

kernel void fp16_nearest16(global const uint* in, global ushort* out) {
    const size_t k = get_global_id(0);
    vstore16(clopt_fp16_nearest16(as_float16(vload16(k, in))), k, out);
}

kernel void bf16_nearest16(global const uint* in, global ushort* out) {
    const size_t k = get_global_id(0);
    vstore16(clopt_bf16_nearest16(as_float16(vload16(k, in))), k, out);
}

kernel void bf16_nearest(global const uint* in, global ushort* out) {
    const size_t i = get_global_id(0);
    out[i] = clopt_bf16_nearest(as_float(in[i]));
}

kernel void fp16_nearest(global const uint* in, global ushort* out) {
    const size_t i = get_global_id(0);
    out[i] = clopt_fp16_nearest(as_float(in[i]));
}

/* Element i rounded with the random bits of element index_offset + i under key. */
kernel void bf16_stochastic(global const uint* in, global ushort* out, const uint key,
                            const uint index_offset) {
    const size_t i = get_global_id(0);
    out[i] = clopt_bf16_stochastic(as_float(in[i]), clopt_random(key, (uint) i + index_offset));
}

kernel void random_bits(global const uint* keys, global const uint* indices, global uint* out) {
    const size_t i = get_global_id(0);
    out[i] = clopt_random(keys[i], indices[i]);
}

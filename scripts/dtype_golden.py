#!/usr/bin/python3
"""Generate PyTorch's float32 -> bfloat16 / float16 conversions for the clopt Java tests.

Writes one file, <out>/dtype/conversions.npy: float32 (N, 6), one row per input, every entry
an integer 0..65535 (exact in float32, so the file holds bits while staying the float32 .npy
that org.clopt.io.Npy reads):

  0  input bits, high 16     the float32 input x is (col0 << 16) | col1, so that no NaN payload
  1  input bits, low 16      depends on how a reader loads floats
  2  bf16 bits of torch.tensor(x, dtype=torch.float32).to(torch.bfloat16)
  3  fp16 bits of torch.tensor(x, dtype=torch.float32).to(torch.float16)
  4  bf16 bits of torch.tensor(float(x), dtype=torch.bfloat16)   (c10::BFloat16(float))
  5  fp16 bits of torch.tensor(float(x), dtype=torch.float16)    (c10::Half(float))

The inputs are the boundary cases of both roundings (ties to even both ways, a tie +-1 ulp,
largest finite values, the overflow thresholds, fp16's smallest normal and subnormals, values
that become subnormal or zero, signed zeros, infinities, NaNs of every kind), then random
float32 bit patterns and random values across fp16's range.

Columns 4 and 5 are PyTorch's scalar conversions. They agree with 2 and 3 everywhere but on
NaN: torch 1.13's vectorized (AVX2) tensor conversion turns every NaN into bf16 0xFFFF, while
c10::BFloat16 gives 0x7FC0, the quiet NaN clopt stores; both fp16 paths give 0x7E00 with the
input's sign, dropping the payload. x is float32, so float(x) is x exactly and the scalar path
rounds the same value once.

Run with Debian's interpreter, which has the python3-torch package (PyTorch 1.13):

    /usr/bin/python3 scripts/dtype_golden.py [--out DIR]

The default <out> is src/test/resources/org/clopt/golden under the repository root. The
output is deterministic; the Java test (DtypeTest) only reads it.
"""
import argparse
import os

import numpy as np
import torch

RANDOM_BITS = 2048
RANDOM_FP16_RANGE = 2048


def boundary_bits():
    """The float32 bit patterns every conversion must get right, positive and negative."""
    b = []
    # Zeros, infinities, ordinary values.
    b += [0x00000000, 0x7F800000, 0x3F800000, 0x40490FDB, 0x3DCCCCCD, 0x3EAAAAAB, 0x42C80000]
    # float32 subnormals, smallest normal, largest finite.
    b += [0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x00800000, 0x7F7FFFFF]
    # bf16: a tie whose kept half is even stays, an odd one rounds up; a tie +-1 ulp.
    for kept in (0x3F80, 0x3F81, 0x4049, 0x0001, 0x0080, 0x7F7E):
        tie = (kept << 16) | 0x8000
        b += [tie - 1, tie, tie + 1]
    # bf16: largest finite 0x7F7F, the overflow threshold (a tie that rounds to inf), just below.
    b += [0x7F7F0000, 0x7F7F7FFF, 0x7F7F8000, 0x7F7F8001]
    # bf16: a carry out of the mantissa into the exponent.
    b += [0x3FFF8000, 0x3FFFFFFF]
    # fp16: largest finite 65504, 65520 (the tie that rounds to inf) and around it, 65536, 1e10.
    b += [0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, 0x501502F9]
    # fp16: ties in the normal range, even and odd kept, +-1 ulp; a carry into the exponent.
    for f in (0x3F801000, 0x3F803000, 0x44FFF000, 0x38801000, 0x38803000):
        b += [f - 1, f, f + 1]
    # fp16: smallest normal 2^-14, largest subnormal, the tie between them.
    b += [0x38800000, 0x387FC000, 0x387FE000, 0x387FDFFF, 0x387FE001, 0x387FFFFF]
    # fp16 subnormals: 2^-24 (smallest), 2^-25 (a tie to 0), just above and below it,
    # 1.5 and 2.5 * 2^-24 (ties to 2), 3 * 2^-24, 2^-26, values that become 0.
    b += [0x33800000, 0x33000000, 0x33000001, 0x32FFFFFF, 0x33C00000, 0x34200000,
          0x34400000, 0x32800000, 0x2F800000, 0x0C000000]
    # Subnormal ties at other positions: k.5 * 2^-24 for some k, +-1 ulp.
    for k in (2, 3, 100, 511, 512, 1022):
        mid = np.float32((k + 0.5) * 2.0 ** -24).view(np.uint32).item()
        b += [mid - 1, mid, mid + 1]
    # NaNs: quiet, signalling with a high payload, payload only in the low 13 bits (fp16 would
    # drop it), only in the low 16 bits (bf16 truncation would make it inf), all ones.
    b += [0x7FC00000, 0x7FA00000, 0x7F802000, 0x7F800001, 0x7F801FFF, 0x7F80FFFF, 0x7FFFFFFF,
          0x7FC00001, 0x7FD55555]
    # Every pattern with its negative twin.
    return b + [x | 0x80000000 for x in b]


def random_bits(rng):
    """Random float32 bit patterns, and random values spread over fp16's range in log scale."""
    bits = rng.integers(0, 1 << 32, size=RANDOM_BITS, dtype=np.uint64).astype(np.uint32)
    magnitude = np.exp2(rng.uniform(-26.0, 16.5, size=RANDOM_FP16_RANGE)).astype(np.float32)
    sign = np.where(rng.integers(0, 2, size=RANDOM_FP16_RANGE) == 1, -1.0, 1.0).astype(np.float32)
    return list(bits) + list((magnitude * sign).view(np.uint32))


def bits16(t):
    return int(t.view(torch.int16).item()) & 0xFFFF


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/org/clopt/golden",
                        help="output directory, relative to the repository root")
    out = os.path.join(root, parser.parse_args().out, "dtype")
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240616)
    inputs = np.array(boundary_bits() + random_bits(rng), dtype=np.uint32)
    x = torch.from_numpy(inputs.view(np.float32).copy())
    bf16 = x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    fp16 = x.to(torch.float16).view(torch.int16).numpy().view(np.uint16)
    rows = []
    for i, u in enumerate(inputs):
        value = float(x[i].item())
        rows.append([int(u) >> 16, int(u) & 0xFFFF, int(bf16[i]), int(fp16[i]),
                     bits16(torch.tensor(value, dtype=torch.bfloat16)),
                     bits16(torch.tensor(value, dtype=torch.float16))])
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "conversions.npy"), np.array(rows, dtype=np.float32))
    print("%d conversions written to %s" % (len(rows), os.path.relpath(out, root)))


if __name__ == "__main__":
    main()

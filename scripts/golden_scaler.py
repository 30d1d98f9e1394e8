#!/usr/bin/env python3
"""Writes src/test/resources/org/clopt/golden/scaler.json: torch.cuda.amp.GradScaler's decisions
for a sequence of iterations in which some gradients hold Inf or NaN.

torch 1.13 runs GradScaler's kernels on CUDA only, so its rules are transcribed here from
grad_scaler.py and the CUDA kernels (_amp_foreach_non_finite_check_and_unscale_,
_amp_update_scale_), in the same precisions: the scale is a float32 tensor, inv_scale is
scale.double().reciprocal().float(), a gradient is non-finite when float32(g * inv_scale) is,
and the update multiplies the float32 scale by the (double) factor and rounds to float32,
growing only to a finite value.
Run with the Debian python3 that has torch: /usr/bin/python3 scripts/golden_scaler.py
"""
import json
import math
import os

import numpy as np
import torch

INIT_SCALE = 1024.0
GROWTH_FACTOR = 2.0
BACKOFF_FACTOR = 0.5
GROWTH_INTERVAL = 3
STEPS = 14
# iteration -> (tensor index, element, value) injected into that iteration's gradients
INJECT = {
    2: (1, 5, math.inf),
    5: (2, 0, math.nan),
    6: (0, 2, -math.inf),
    10: (1, 1000, math.nan),
    11: (2, 4000, math.inf),
}
SIZES = [3, 1023, 4097]


def main():
    scale = torch.full((1,), INIT_SCALE, dtype=torch.float32)
    tracker = 0
    rows = []
    for it in range(STEPS):
        inv = scale.double().reciprocal().float()
        found = False
        if it in INJECT:
            value = INJECT[it][2]
            unscaled = torch.tensor([value], dtype=torch.float32) * inv
            found = not bool(torch.isfinite(unscaled).all())
        rows.append({"iteration": it, "scale": float(scale.item()), "inv_scale": float(inv.item()),
                     "skipped": found})
        s = np.float32(scale.item())
        if found:
            s = np.float32(float(s) * BACKOFF_FACTOR)
            tracker = 0
        else:
            if tracker + 1 == GROWTH_INTERVAL:
                grown = np.float32(float(s) * GROWTH_FACTOR)
                if np.isfinite(grown):
                    s = grown
                tracker = 0
            else:
                tracker += 1
        scale = torch.full((1,), float(s), dtype=torch.float32)
    out = {
        "init_scale": INIT_SCALE, "growth_factor": GROWTH_FACTOR, "backoff_factor": BACKOFF_FACTOR,
        "growth_interval": GROWTH_INTERVAL, "sizes": SIZES,
        "inject": [{"iteration": k, "tensor": v[0], "element": v[1], "value": str(v[2])}
                   for k, v in sorted(INJECT.items())],
        "iterations": rows, "final_scale": float(scale.item()), "final_growth_tracker": tracker,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "src", "test", "resources", "org", "clopt",
                        "golden", "scaler.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

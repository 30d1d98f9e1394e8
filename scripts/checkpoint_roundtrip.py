#!/usr/bin/python3
"""Round trip of a clopt checkpoint through Python: clopt runs T steps with `replay
--save-state`, this script reads the safetensors file with NumPy alone (no clopt code, no
safetensors package) and compares every state tensor, the step count and the parameters with
torch.optim run on the same inputs.

    /usr/bin/python3 scripts/checkpoint_roundtrip.py      (needs python3-torch and target/clopt.jar)

It also shows the mapping a Python user needs: tensor i of the set is optimizer param i, and
`state.<i>.<key>` is `optimizer.state[param][key]` under PyTorch's own keys.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

CASES = [
    ("adam", {"lr": "0.01", "amsgrad": "true"}, torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    ("adamw", {"lr": "0.01"}, torch.optim.AdamW, {"lr": 0.01}),
    ("rmsprop", {"centered": "true", "momentum": "0.5"}, torch.optim.RMSprop,
     {"centered": True, "momentum": 0.5}),
    ("adagrad", {"lr_decay": "0.01"}, torch.optim.Adagrad, {"lr_decay": 0.01}),
    ("adadelta", {}, torch.optim.Adadelta, {}),
    ("momentum", {"lr": "0.01"}, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    ("nadam", {}, torch.optim.NAdam, {"foreach": True}),
    # Scalar state eta and mu besides ax; t0 = 2 averages from step 4.
    ("asgd", {"lr": "0.05", "t0": "2"}, torch.optim.ASGD, {"lr": 0.05, "t0": 2, "foreach": False}),
]


def read_safetensors(path):
    """Returns ({name: array}, metadata) using only the format's definition."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        raw = data[begin:end]
        if e["dtype"] == "BF16":
            # bf16 is the top half of a float32: NumPy has no type of its own for it.
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=dtypes[e["dtype"]])
        tensors[name] = array.reshape(e["shape"])
    return tensors, metadata


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    jar = os.path.join(root, "target", "clopt.jar")
    rng = np.random.default_rng(0)
    n, steps = 1000, 5
    p0 = rng.normal(size=n).astype("<f4")
    grads = (0.5 * rng.normal(size=(steps, n))).astype("<f4")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "p0.npy"), p0)
        np.save(os.path.join(tmp, "grads.npy"), grads)
        for name, settings, cls, kwargs in CASES:
            state_file = os.path.join(tmp, name + ".safetensors")
            out = os.path.join(tmp, name + ".npy")
            cmd = ["java", "-jar", jar, "replay", "--optimizer", name, "--quiet",
                   "--params", os.path.join(tmp, "p0.npy"), "--grads", os.path.join(tmp, "grads.npy"),
                   "--out", out, "--save-state", state_file]
            for k, v in settings.items():
                cmd += ["--set", f"{k}={v}"]
            subprocess.run(cmd, check=True)
            tensors, metadata = read_safetensors(state_file)
            groups = json.loads(metadata["param_groups"])

            p = torch.tensor(p0, requires_grad=True)
            opt = cls([p], **kwargs)
            for t in range(steps):
                p.grad = torch.tensor(grads[t])
                opt.step()
            state = opt.state[p]
            line = [f"{name:9s} ({groups[0]['algorithm']}):"]
            # torch.optim.SGD keeps no step; clopt always does.
            assert int(tensors["state.0.step"]) == int(state.get("step", steps)), name
            for key, value in sorted(state.items()):
                if key == "step":
                    continue
                ours = tensors[f"state.0.{key}"].astype(np.float64)
                ref = value.detach().numpy().astype(np.float64)
                err = float(np.max(np.abs(ours - ref) / (np.abs(ref) + 1e-6)))
                worst = max(worst, err)
                line.append(f"{key} {err:.1e}")
            err = float(np.max(np.abs(np.load(out) - p.detach().numpy()) / (np.abs(p.detach().numpy()) + 1e-6)))
            worst = max(worst, err)
            line.append(f"param {err:.1e}")
            print("  ".join(line))
    print(f"largest relative difference from torch.optim: {worst:.1e}")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()

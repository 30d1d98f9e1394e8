#!/usr/bin/python3
"""Generate golden mixed-precision results from PyTorch for the clopt replay tests.

Each case replays T gradient rows on a vector of N parameters stored in bf16 or fp16, as
`replay --param-dtype` does, with torch.optim in float64 and in float32:

  master weights   (--master-weights true, the default) the fp32 optimizer run from round(P0)
                   on round(g): the expected master weights; the working copy is their rounding.
  no master        (--master-weights false) an fp32 parameter and fp32 state; after each
                   opt.step(), p.data.copy_(p.data.to(dtype).float()): clopt's "widen, update in
                   fp32, round back" with fp32 state.
  --grad-scaler    the rows hold scaled gradients. torch.cuda.amp.GradScaler is emulated with
                   its CUDA kernels' rules: inv_scale = float(1.0 / double(scale)); a step is
                   skipped when any float(g) * inv_scale (an fp32 product) is not finite; on a
                   skip scale = float(double(scale) * backoff_factor) and the tracker restarts,
                   else the tracker counts and at growth_interval scale = float(double(scale) *
                   growth_factor), kept only if finite. The optimizer reads g * inv_scale in fp32
                   (clopt does not round it back to 16 bits as PyTorch's separate unscale_ pass
                   does). With clipping, clip_grad_norm_ runs on the unscaled gradients.

round(x) is torch's own conversion, x.to(torch.bfloat16).float() (or float16): round to nearest
even. Gradient accumulation (--accumulate K) adds rows in the 16-bit gradient: each sum is
computed in fp32 and rounded, as p.grad += g on a bf16 or fp16 gradient.

Writes:

  <out>/cases.tsv              case, optimizer, settings (key=value;...), replay arguments,
                               steps the scaler skips and its final scale ("-" without a scaler)
  <out>/<case>/params0.npy     float32 (N,)      initial parameters (replay rounds them)
  <out>/<case>/grads.npy       float32 (T*K, N)  gradient rows (scaled ones with a scaler)
  <out>/<case>/master_f64.npy  float64 (N,)      master weights after the last step (master cases)
  <out>/<case>/master_f32.npy  float32 (2, N)    the float32 run's, after the last two steps
  <out>/<case>/params_f64.npy  float64 (N,)      parameters after the last step (no-master cases)
  <out>/<case>/params_f32.npy  float32 (2, N)    the float32 run's, after the last two steps

The float64 run rounds as the float32 one does (the parameters in no-master cases, through
float32); only the last steps are kept, so that the files stay small (the earlier of the two
gives the scale of the error, as in GoldenTest). The default <out> is
src/test/resources/org/clopt/golden_precision under the repository root.

Run with Debian's interpreter, which has the python3-torch package (PyTorch 1.13):

    /usr/bin/python3 scripts/golden_precision.py [--out DIR]

The output is deterministic. The Java tests only read the generated files.
"""
import argparse
import os
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden import format_value, make_optimizer  # noqa: E402  one emulation of the optimizers

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

# (case, optimizer, settings, N, T, replay options). Options are replay's: --param-dtype,
# --master-weights, --grad-scaler (a dict here), --accumulate, --clip-grad-norm; "inject" puts
# values into one gradient element: {step: value}, not a replay option.
CASES = []
for dtype in ("bf16", "fp16"):
    for i, (name, settings) in enumerate([
            ("adam", {"lr": 0.01}),
            ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
            ("momentum", {"lr": 0.05}),
            ("nadam", {"lr": 0.01}),
            ("rmsprop", {"lr": 0.01}),
            ("adagrad", {"lr": 0.1})]):
        n = (1, 3, 1023, 4097)[(i + (dtype == "fp16")) % 4]
        CASES.append(("%s_%s_master" % (name, dtype), name, settings, n, 8, {"--param-dtype": dtype}))
    for i, (name, settings) in enumerate([
            ("adam", {"lr": 0.02}),
            ("momentum", {"lr": 0.05}),
            ("adamw", {"lr": 0.02, "weight_decay": 0.1})]):
        n = (4097, 1023, 3, 1)[(i + 2 * (dtype == "fp16")) % 4]
        CASES.append(("%s_%s_no_master" % (name, dtype), name, settings, n, 8,
                      {"--param-dtype": dtype, "--master-weights": "false"}))
CASES += [
    # A scale that doubles every 3 clean steps until the scaled gradients overflow fp16 (65504)
    # on their own; an injected +inf, -inf and NaN skip steps too.
    ("adam_fp16_master_scaler", "adam", {"lr": 0.01}, 1023, 30,
     {"--param-dtype": "fp16", "--grad-scaler": {"init_scale": 8192.0, "growth_interval": 3},
      "inject": {4: np.inf, 11: -np.inf, 19: np.nan}, "overflows": True}),
    # Unscaled before clipping, with accumulation in the 16-bit gradient; bf16 does not overflow.
    ("momentum_bf16_master_scaler_clip", "momentum", {"lr": 0.05}, 1023, 16,
     {"--param-dtype": "bf16", "--accumulate": 2, "--clip-grad-norm": 4.0,
      "--grad-scaler": {"init_scale": 1024.0, "growth_factor": 4.0, "backoff_factor": 0.25,
                        "growth_interval": 3},
      "inject": {5: np.nan, 6: np.inf}}),
    ("adamw_fp16_no_master_scaler", "adamw", {"lr": 0.02, "weight_decay": 0.1}, 3, 30,
     {"--param-dtype": "fp16", "--master-weights": "false",
      "--grad-scaler": {"init_scale": 4096.0, "growth_interval": 2}, "inject": {3: -np.inf, 17: np.nan}}),
    ("adam_bf16_no_master_scaler", "adam", {"lr": 0.02}, 1, 12,
     {"--param-dtype": "bf16", "--master-weights": "false",
      "--grad-scaler": {"init_scale": 1024.0, "growth_interval": 3}, "inject": {2: np.inf}}),
    # The large size: many work-groups and reduction chunks.
    ("adamw_bf16_master_scaler_large", "adamw", {"lr": 0.01, "weight_decay": 0.1}, 70001, 3,
     {"--param-dtype": "bf16", "--grad-scaler": {"init_scale": 1024.0, "growth_interval": 1},
      "inject": {1: np.nan}}),
]


def round16(x, dtype):
    """x (a float32 tensor) rounded to the 16-bit type and widened back, exactly."""
    return x.to(DTYPES[dtype]).float()


class Scaler:
    """GradScaler's update with its CUDA kernels' float32 and double rules."""

    def __init__(self, init_scale=65536.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
        self.scale = np.float32(init_scale)
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self.tracker = 0

    def inv_scale(self):
        return np.float32(1.0 / float(self.scale))

    def update(self, found_inf):
        if found_inf:
            self.scale = np.float32(float(self.scale) * self.backoff_factor)
            self.tracker = 0
        else:
            self.tracker += 1
            if self.tracker == self.growth_interval:
                grown = np.float32(float(self.scale) * self.growth_factor)
                if np.isfinite(grown):
                    self.scale = grown
                self.tracker = 0


def make_inputs(case, n, rows, k, options):
    """P0 and the gradient rows; with a scaler, each step's rows are multiplied by the scale the
    emulated scaler has at that step, so the scaler's own run decides them (see run)."""
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    params0 = rng.standard_normal(n).astype(np.float32)
    size = rng.uniform(0.2, 2.0, size=(rows * k, 1))
    grads = rng.standard_normal((rows * k, n)) * 0.5 * size
    scaler = options.get("--grad-scaler")
    if scaler is not None:
        emulated = Scaler(**scaler)
        dtype = options["--param-dtype"]
        for t in range(rows):
            block = grads[t * k:(t + 1) * k] * float(emulated.scale)
            if t in options.get("inject", {}):
                block[0, rng.integers(n)] = options["inject"][t]
            grads[t * k:(t + 1) * k] = block
            emulated.update(not found_finite(accumulate(block.astype(np.float32), dtype), emulated))
    return params0, grads.astype(np.float32)


def accumulate(block, dtype):
    """The step's gradient as the 16-bit gradient holds it: the first row rounded, each next one
    added in fp32 and the sum rounded."""
    acc = round16(torch.from_numpy(block[0].copy()), dtype)
    for row in block[1:]:
        acc = round16(acc + round16(torch.from_numpy(row.copy()), dtype), dtype)
    return acc


def found_finite(acc, scaler):
    return bool(torch.isfinite(acc * torch.tensor(scaler.inv_scale())).all())


def run(name, settings, options, params0, grads, tdtype):
    """Returns the last two values of what the case checks (master weights, or the parameters
    without them), the steps skipped and the final scale."""
    dtype = options["--param-dtype"]
    master = options.get("--master-weights", "true") == "true"
    k = options.get("--accumulate", 1)
    scaler = Scaler(**options["--grad-scaler"]) if "--grad-scaler" in options else None
    max_norm = options.get("--clip-grad-norm")
    start = round16(torch.from_numpy(params0), dtype)
    param = torch.tensor(start.numpy(), dtype=tdtype, requires_grad=True)
    opt, maximize, decay = make_optimizer(name, param, settings)
    assert not maximize and not decay
    trajectory, skipped = [], 0
    for t in range(len(grads) // k):
        acc = accumulate(grads[t * k:(t + 1) * k], dtype)
        if scaler is not None:
            # clopt keeps the unscaled gradient in fp32: an fp32 product, not rounded again.
            acc = acc * torch.tensor(scaler.inv_scale())
        clean = bool(torch.isfinite(acc).all())
        param.grad = acc.to(tdtype)
        if max_norm is not None and clean:
            torch.nn.utils.clip_grad_norm_(param, max_norm)
        if clean or scaler is None:
            with torch.no_grad():
                opt.step()
                if not master:
                    param.copy_(param.float().to(DTYPES[dtype]).float().to(tdtype))
        else:
            skipped += 1
        if scaler is not None:
            scaler.update(not clean)
        trajectory.append(param.detach().clone())
    scale = None if scaler is None else float(scaler.scale)
    return torch.stack(trajectory[-2:]).numpy(), skipped, scale


def replay_arguments(options):
    args = []
    for key, value in options.items():
        if key in ("inject", "overflows"):
            continue
        if key == "--grad-scaler":
            value = ",".join("%s=%s" % (k, format_value(v)) for k, v in value.items())
        args += [key, str(value)]
    for a in args:
        if any(ch.isspace() for ch in a):
            raise ValueError("replay argument with white space: %r" % a)
    return " ".join(args)


def write_case(out, case, name, settings, n, steps, options):
    k = options.get("--accumulate", 1)
    params0, grads = make_inputs(case, n, steps, k, options)
    folder = os.path.join(out, case)
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "params0.npy"), params0)
    np.save(os.path.join(folder, "grads.npy"), grads)
    stem = "master" if options.get("--master-weights", "true") == "true" else "params"
    results = {}
    for suffix, tdtype in (("f64", torch.float64), ("f32", torch.float32)):
        results[suffix] = run(name, settings, options, params0, grads, tdtype)
    last2, skipped, scale = results["f32"]
    np.save(os.path.join(folder, "%s_f64.npy" % stem), results["f64"][0][-1].astype("<f8"))
    np.save(os.path.join(folder, "%s_f32.npy" % stem), last2.astype("<f4"))
    # The skips come from the gradients alone: both runs agree, and the case does what it is for.
    assert results["f64"][1:] == (skipped, scale), case
    assert np.isfinite(results["f64"][0]).all(), case
    if "inject" in options:
        assert skipped >= len(options["inject"]) + options.get("overflows", 0), (case, skipped)
    return skipped, scale


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/org/clopt/golden_precision",
                        help="output directory, relative to the repository root")
    out = os.path.join(root, parser.parse_args().out)
    torch.set_num_threads(1)
    lines = ["# case\toptimizer\tsettings (key=value;...)\treplay arguments (space-separated)"
             "\tsteps skipped\tfinal scale"]
    for case, name, settings, n, steps, options in CASES:
        skipped, scale = write_case(out, case, name, settings, n, steps, options)
        text = ";".join("%s=%s" % (key, format_value(v)) for key, v in settings.items())
        lines.append("%s\t%s\t%s\t%s\t%s\t%s" % (case, name, text, replay_arguments(options),
                                                 "-" if scale is None else skipped,
                                                 "-" if scale is None else repr(scale)))
        print("%-34s N=%-6d %2d steps%s" % (case, n, steps, "" if scale is None
                                            else ", %d skipped, final scale %r" % (skipped, scale)))
    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(lines) - 1, out))


if __name__ == "__main__":
    main()

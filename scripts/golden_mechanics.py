#!/usr/bin/python3
"""Generate golden training-mechanics trajectories from PyTorch for the clopt replay tests.

Each case runs a torch.optim optimizer on a vector of N parameters with what a training loop
adds around the step, in PyTorch's order within a step:

  1. gradient accumulation   K rows per step: the first written, the next added (p.grad += g)
  2. clipping                torch.nn.utils.clip_grad_norm_ (norm 2, 1 or inf) or clip_grad_value_
  3. optimizer.step()
  4. EMA of the parameters   AveragedModel with get_ema_multi_avg_fn(decay)
  5. scheduler.step()        torch.optim.lr_scheduler, alone, SequentialLR or ChainedScheduler

once in float64 and once in float32, and writes:

  <out>/cases.tsv                case, optimizer, settings (key=value;...), replay arguments
  <out>/<case>/params0.npy       float32 (N,)     initial parameters
  <out>/<case>/grads.npy         float32 (T*K, N) gradient rows, K per step
  <out>/<case>/params_f64.npy    float64 (T, N)   parameters after each step
  <out>/<case>/params_f32.npy    float32 (T, N)   same, run in float32
  <out>/<case>/ema_f64.npy       float64 (T, N)   averaged parameters after each step (EMA cases)
  <out>/<case>/ema_f32.npy       float32 (T, N)

The replay arguments are separated by single spaces (no argument holds a space); EMA cases
give --ema DECAY, and the test adds --ema-out. The default <out> is
src/test/resources/org/clopt/golden_mechanics under the repository root.

Run with Debian's interpreter, which has the python3-torch package (PyTorch 1.13):

    /usr/bin/python3 scripts/golden_mechanics.py [--out DIR]

The output is deterministic. The Java tests only read the generated files.

The optimizers are golden.py's make_optimizer. clopt follows current upstream PyTorch where
1.13 differs, emulated here:
  - CyclicLR with cycle_momentum cycles betas[0] of an optimizer with betas (1.13 raises);
    Adam's bias correction then uses the current beta1, as it reads betas each step.
    (1.13's OneCycleLR already cycles betas[0].)
  - AveragedModel's get_ema_multi_avg_fn does not exist in 1.13: the first update copies the
    parameters, each later one is torch.lerp in place with weight 1 - decay.
1.13's clip_grad_norm_ is upstream's for one tensor, including a non-finite norm without
error_if_nonfinite: the coefficient (0 for an infinite norm) is applied, so an infinite gradient
becomes NaN and the finite ones 0. For the schedules used here (alone, LinearLR then
CosineAnnealingLR, ExponentialLR with MultiStepLR) 1.13's classes give upstream's values: the
differences (_is_initial against last_epoch == 0, step(0) against _update_lr(0) at a
milestone) do not arise or give the same numbers.
"""
import argparse
import functools
import math
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.optim.lr_scheduler as L

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden import format_value, make_optimizer  # noqa: E402  one emulation of the optimizers

warnings.filterwarnings("ignore")  # "lr_scheduler.step() before optimizer.step()" and the like

N = 67
STEPS = 40

# (case, optimizer, settings, K, replay options). Options are replay's: --accumulate K is added
# from K; --scheduler may repeat; --inf puts +inf into one gradient (row, column), not a replay
# option. STEPS steps unless "steps" says otherwise.
CASES = [
    ("adam_clip_norm2", "adam", {"lr": 0.01}, 1, {"--clip-grad-norm": 4.0}),
    ("momentum_clip_norm_inf", "momentum", {"lr": 0.05}, 1,
     {"--clip-grad-norm": 1.2, "--norm-type": "inf"}),
    ("adamw_clip_norm1", "adamw", {"lr": 0.01, "weight_decay": 0.1}, 1,
     {"--clip-grad-norm": 25.0, "--norm-type": "1"}),
    ("sgd_clip_value", "sgd", {"lr": 0.1}, 1, {"--clip-grad-value": 0.4}),
    ("adam_accumulate3", "adam", {"lr": 0.01}, 3, {"steps": 16}),
    ("adam_accumulate2_clip_norm", "adam", {"lr": 0.01, "amsgrad": True}, 2,
     {"steps": 24, "--clip-grad-norm": 6.0}),
    ("adam_ema", "adam", {"lr": 0.01}, 1, {"--ema": 0.9}),
    # decay 0.3: lerp weight 0.7 >= 0.5, torch.lerp's other branch
    ("sgd_ema", "sgd", {"lr": 0.1}, 1, {"--ema": 0.3}),
    ("momentum_steplr", "momentum", {"lr": 0.1}, 1, {"--scheduler": ["StepLR(step_size=10,gamma=0.5)"]}),
    # T_max < STEPS: the lr rises again past T_max (the recursive formula's other branch)
    ("adam_cosine", "adam", {"lr": 0.01}, 1,
     {"--scheduler": ["CosineAnnealingLR(T_max=30,eta_min=1e-4)"]}),
    # cycle_momentum (default): betas[0] runs 0.95 -> 0.85 -> 0.95
    ("adam_onecycle", "adam", {}, 1, {"--scheduler": ["OneCycleLR(max_lr=0.01,total_steps=40)"]}),
    ("momentum_onecycle", "momentum", {"lr": 0.1}, 1,
     {"--scheduler": ["OneCycleLR(max_lr=0.1,total_steps=40,anneal_strategy='linear')"]}),
    ("adamw_cyclic_triangular2", "adamw", {"weight_decay": 0.05}, 1,
     {"--scheduler": ["CyclicLR(base_lr=0.001,max_lr=0.01,step_size_up=5,mode='triangular2',"
                      "cycle_momentum=False)"]}),
    ("momentum_cyclic", "momentum", {"lr": 0.1}, 1,
     {"--scheduler": ["CyclicLR(base_lr=0.01,max_lr=0.1,step_size_up=8,step_size_down=4)"]}),
    # Upstream only: betas[0] cycles between base_momentum and max_momentum.
    ("adam_cyclic_betas", "adam", {}, 1,
     {"--scheduler": ["CyclicLR(base_lr=0.001,max_lr=0.01,step_size_up=6,base_momentum=0.8,"
                      "max_momentum=0.95)"]}),
    ("momentum_linear_then_cosine", "momentum", {"lr": 0.1}, 1,
     {"--scheduler": ["LinearLR(start_factor=0.1,total_iters=8)",
                      "CosineAnnealingLR(T_max=32,eta_min=0.001)"],
      "--scheduler-milestones": "8"}),
    ("nesterov_exponential_multistep", "nesterov", {"lr": 0.1}, 1,
     {"--scheduler": ["ExponentialLR(gamma=0.95)", "MultiStepLR(milestones=[10,25],gamma=0.3)"]}),
    ("adam_accumulate_clip_schedule_ema", "adam", {"lr": 0.02, "weight_decay": 0.01}, 2,
     {"steps": 30, "--clip-grad-norm": 6.0,
      "--scheduler": ["LinearLR(start_factor=0.2,total_iters=5)", "CosineAnnealingLR(T_max=25)"],
      "--scheduler-milestones": "5", "--ema": 0.8}),
    # max_norm 0 zeroes every gradient; L2 weight decay (added in the step, after clipping)
    # still moves the parameters.
    ("adam_clip_norm_zero", "adam", {"lr": 0.01, "weight_decay": 0.1}, 1, {"--clip-grad-norm": 0.0}),
    # An infinite gradient: the norm is inf, the coefficient 0; that element's gradient becomes
    # NaN (inf * 0), the others 0, for that step. NaN then stays in its parameter and average.
    ("adam_clip_inf_gradient", "adam", {"lr": 0.01}, 1,
     {"--clip-grad-norm": 3.0, "--ema": 0.9, "--inf": (12, 5)}),
    ("momentum_clip_value_inf_gradient", "momentum", {"lr": 0.05}, 1,
     {"--clip-grad-value": 0.3, "--inf": (7, 60)}),
]


class CyclicLR(L.CyclicLR):
    """Upstream CyclicLR on 1.13: 1.13's class cycles the lr (run with cycle_momentum=False);
    the momentum, momentum or betas[0], is cycled here as upstream's get_lr does. Its values
    at construction are upstream's: max_momentum (1.13 sets base_momentum, then its initial
    step sets max_momentum)."""

    def __init__(self, optimizer, *args, cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, **kwargs):
        self.emulate_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum`")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = [base_momentum] * len(optimizer.param_groups)
            self.max_momentums = [max_momentum] * len(optimizer.param_groups)
        super().__init__(optimizer, *args, cycle_momentum=False, **kwargs)

    def get_lr(self):
        lrs = super().get_lr()
        if self.emulate_momentum:
            cycle = math.floor(1 + self.last_epoch / self.total_size)
            x = 1. + self.last_epoch / self.total_size - cycle
            scale_factor = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
            scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
            for base, top, group in zip(self.base_momentums, self.max_momentums, self.optimizer.param_groups):
                momentum = top - (top - base) * scale_factor * scale
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


SCHEDULERS = {
    "StepLR": L.StepLR, "MultiStepLR": L.MultiStepLR, "LinearLR": L.LinearLR,
    "ExponentialLR": L.ExponentialLR, "CosineAnnealingLR": L.CosineAnnealingLR,
    "OneCycleLR": L.OneCycleLR, "CyclicLR": CyclicLR,
}


def make_scheduler(opt, specs, milestones):
    """Each spec is Python: a class name stands for the class with the optimizer bound."""
    if not specs:
        return None
    names = {k: functools.partial(v, opt) for k, v in SCHEDULERS.items()}
    children = [eval(spec, {"__builtins__": {}}, names) for spec in specs]
    if len(children) == 1:
        return children[0]
    if milestones:
        return L.SequentialLR(opt, children, milestones)
    return L.ChainedScheduler(children)


def ema_update(ema, param, decay):
    """Upstream get_ema_multi_avg_fn(decay) after the first update: torch._foreach_lerp_(ema,
    param, 1 - decay), here torch.lerp in place on the one tensor."""
    ema.lerp_(param, 1 - decay)


def run(name, settings, k, options, params0, grads, dtype):
    """Returns the parameter trajectory, the EMA trajectory (or None), and how many steps the
    norm clipping scaled the gradients (coefficient below 1)."""
    param = torch.tensor(params0, dtype=dtype, requires_grad=True)
    opt, maximize, decay = make_optimizer(name, param, settings)
    specs = options.get("--scheduler", [])
    milestones = [int(m) for m in options["--scheduler-milestones"].split(",")] \
        if "--scheduler-milestones" in options else None
    if decay and specs:
        raise ValueError("golden.py's decoupled decay emulation takes a constant lr")
    scheduler = make_scheduler(opt, specs, milestones)
    max_norm = options.get("--clip-grad-norm")
    norm_type = float(options.get("--norm-type", "2"))
    clip_value = options.get("--clip-grad-value")
    ema_decay = options.get("--ema")
    ema = None
    trajectory, averaged, clipped = [], [], 0
    for t in range(len(grads) // k):
        for j in range(k):
            g = torch.tensor(grads[t * k + j], dtype=dtype)
            if j == 0:
                param.grad = g
            else:
                param.grad += g
        if max_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(param, max_norm, norm_type)
            clipped += int(max_norm / (norm.item() + 1e-6) < 1)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(param, clip_value)
        if maximize:
            param.grad.neg_()
        with torch.no_grad():
            if decay:
                param.mul_(1 - decay)
            opt.step()
            if ema_decay is not None:
                if ema is None:
                    ema = param.detach().clone()
                else:
                    ema_update(ema, param.detach(), ema_decay)
                averaged.append(ema.clone())
        trajectory.append(param.detach().clone())
        if scheduler is not None:
            scheduler.step()
    ema_trajectory = torch.stack(averaged).numpy() if averaged else None
    return torch.stack(trajectory).numpy(), ema_trajectory, clipped


def replay_arguments(k, options):
    args = []
    if k > 1:
        args += ["--accumulate", str(k)]
    for key, value in options.items():
        if key in ("steps", "--inf"):
            continue
        for v in value if isinstance(value, list) else [value]:
            args += [key, str(v)]
    for a in args:
        if any(ch.isspace() for ch in a):
            raise ValueError("replay argument with white space: %r" % a)
    return " ".join(args)


def write_case(out, case, name, settings, k, options):
    steps = options.get("steps", STEPS)
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    params0 = rng.standard_normal(N).astype(np.float32)
    # Rows of different sizes, so that norm clipping scales some steps and not others.
    scale = rng.uniform(0.2, 2.0, size=(steps * k, 1))
    grads = (rng.standard_normal((steps * k, N)) * 0.5 * scale).astype(np.float32)
    if "--inf" in options:
        row, column = options["--inf"]
        grads[row, column] = np.inf
    folder = os.path.join(out, case)
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "params0.npy"), params0)
    np.save(os.path.join(folder, "grads.npy"), grads)
    results = {}
    for suffix, dtype, np_dtype in (("f64", torch.float64, "<f8"), ("f32", torch.float32, "<f4")):
        trajectory, ema, clipped = run(name, settings, k, options, params0, grads, dtype)
        results[suffix] = (trajectory, ema, clipped)
        np.save(os.path.join(folder, "params_%s.npy" % suffix), trajectory.astype(np_dtype))
        if ema is not None:
            np.save(os.path.join(folder, "ema_%s.npy" % suffix), ema.astype(np_dtype))
    # Both runs agree where NaN stands, and clipping does what the case is for.
    for i in (0, 1):
        if results["f64"][i] is not None:
            assert np.array_equal(np.isnan(results["f64"][i]), np.isnan(results["f32"][i])), case
    nans = int(np.isnan(results["f64"][0][-1]).sum())
    assert nans == (1 if "--inf" in options and "--clip-grad-norm" in options else 0), (case, nans)
    clipped = results["f64"][2]
    max_norm = options.get("--clip-grad-norm")
    if max_norm == 0:
        assert clipped == steps, (case, clipped)
    elif max_norm is not None:
        assert 0.2 * steps <= clipped <= 0.8 * steps, (case, "clips %d of %d steps" % (clipped, steps))
    return steps, clipped


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/org/clopt/golden_mechanics",
                        help="output directory, relative to the repository root")
    out = os.path.join(root, parser.parse_args().out)
    torch.set_num_threads(1)
    lines = ["# case\toptimizer\tsettings (key=value;...)\treplay arguments (space-separated)"]
    for case, name, settings, k, options in CASES:
        steps, clipped = write_case(out, case, name, settings, k, options)
        text = ";".join("%s=%s" % (key, format_value(v)) for key, v in settings.items())
        lines.append("%s\t%s\t%s\t%s" % (case, name, text, replay_arguments(k, options)))
        print("%-36s %2d steps x %d rows%s" % (case, steps, k, "" if "--clip-grad-norm" not in options
                                               else ", norm clipping scales %d steps" % clipped))
    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(lines) - 1, out))


if __name__ == "__main__":
    main()

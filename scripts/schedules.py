#!/usr/bin/python3
"""Golden learning-rate schedules from torch.optim.lr_scheduler for the clopt Java tests.

For every case below this script builds torch optimizers (SGD with momentum, Adam, and SGD with
two parameter groups of different lrs and momenta), makes the scheduler, and records each
group's lr (and momentum or betas[0] where the scheduler cycles it) at construction and after
each of STEPS steps. It writes one text file, by default
src/test/resources/org/clopt/schedule/schedules.txt under the repository root:

    case <name>
    set <sgd|adam|two>
    spec <spec>                      one scheduler as text, for org.clopt.schedule.Schedulers
    spec <spec> | <spec> ...         several: SequentialLR with 'milestones', else ChainedScheduler
    milestones <int> ...
    java <key>                       built through the Java API (functions, ReduceLROnPlateau)
    metrics <float> ...              ReduceLROnPlateau's metric at each step
    lr<g> <values>                   group g's lr: at construction, then after each step
    momentum<g> <values>             group g's momentum or betas[0], where cycled
    end

Values are Python's repr of the float; "x*n" stands for n equal values in a row.

Run with Debian's interpreter, which has the python3-torch package (PyTorch 1.13):

    /usr/bin/python3 scripts/schedules.py [--out FILE]

The output is deterministic. The Java tests only read the generated file.

clopt follows the schedulers of current upstream PyTorch (the main branch's
torch/optim/lr_scheduler.py). Where torch 1.13 differs, the classes are patched or subclassed
below to behave as upstream does; each patch says what differs. Two clopt extensions, eta_min
given per group to CosineAnnealingLR and CosineAnnealingWarmRestarts, are recorded by running
each group alone with its own eta_min (the groups do not interact in these schedulers).
clopt refuses a negative lr, which PyTorch sets in two corners (a linear OneCycleLR stepped to
total_steps, a chainable cosine with eta_min > 0 chained below eta_min): the cases keep clear.
"""
import argparse
import functools
import math
import os
import warnings
from bisect import bisect_right

import torch
import torch.optim.lr_scheduler as L

warnings.filterwarnings("ignore")  # "lr_scheduler.step() before optimizer.step()" and the like

STEPS = 1000


# ---- upstream semantics on torch 1.13 ------------------------------------------------------

# Upstream runs the constructor's initial step in "initial mode" (_is_initial) and several
# get_lr() test that flag where 1.13 tests last_epoch == 0. They differ when a scheduler is at
# epoch 0 outside its initial step: at a SequentialLR milestone, or for the children of a
# ChainedScheduler that is a SequentialLR's first scheduler.
L._LRScheduler._is_initial = False


def _initial_step(self):
    self.optimizer._step_count = 0  # 1.13's bookkeeping for its warning
    self._step_count = 0
    self._is_initial = True
    try:
        self.step()
    finally:
        self._is_initial = False


L._LRScheduler._initial_step = _initial_step


def _update_lr(self, epoch):
    """Upstream LRScheduler._update_lr(epoch): the closed form where there is one, else get_lr(),
    without counting a step. Upstream SequentialLR calls it at a milestone where 1.13 calls
    step(0), which also counts the step and, for CosineAnnealingWarmRestarts, runs its own step."""
    self._get_lr_called_within_step = True
    try:
        self.last_epoch = epoch
        if hasattr(self, "_get_closed_form_lr"):
            values = self._get_closed_form_lr()
        else:
            values = self.get_lr()
    finally:
        self._get_lr_called_within_step = False
    for group, lr in zip(self.optimizer.param_groups, values):
        group["lr"] = lr
    self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


L._LRScheduler._update_lr = _update_lr


def _multiplicative_get_lr(self):
    # 1.13: `if self.last_epoch > 0`; upstream: `if not self._is_initial`.
    if not self._is_initial:
        return [group["lr"] * lmbda(self.last_epoch)
                for lmbda, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
    return [group["lr"] for group in self.optimizer.param_groups]


def _exponential_get_lr(self):
    # 1.13: `if self.last_epoch == 0`; upstream: `if self._is_initial`.
    if self._is_initial:
        return [group["lr"] for group in self.optimizer.param_groups]
    return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


def _linear_get_lr(self):
    # Upstream adds `self._is_initial or` to the second test.
    if self.last_epoch == 0:
        return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
    if self._is_initial or self.last_epoch > self.total_iters:
        return [group["lr"] for group in self.optimizer.param_groups]
    return [group["lr"] * (1.0 + (self.end_factor - self.start_factor)
                           / (self.total_iters * self.start_factor
                              + (self.last_epoch - 1) * (self.end_factor - self.start_factor)))
            for group in self.optimizer.param_groups]


def _polynomial_get_lr(self):
    # 1.13: `if self.last_epoch == 0 or ...`; upstream: `if self._is_initial or ...`.
    if self._is_initial or self.last_epoch > self.total_iters:
        return [group["lr"] for group in self.optimizer.param_groups]
    decay_factor = ((1.0 - self.last_epoch / self.total_iters)
                    / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
    return [group["lr"] * decay_factor for group in self.optimizer.param_groups]


def _cosine_get_lr(self):
    # 1.13: `if self.last_epoch == 0`; upstream: `if self._is_initial`.
    if self._is_initial:
        return [group["lr"] for group in self.optimizer.param_groups]
    elif self._step_count == 1 and self.last_epoch > 0:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos((self.last_epoch) * math.pi / self.T_max)) / 2
                for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
    elif (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
        return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
    return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
            / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
            * (group["lr"] - self.eta_min) + self.eta_min
            for group in self.optimizer.param_groups]


L.MultiplicativeLR.get_lr = _multiplicative_get_lr
L.ExponentialLR.get_lr = _exponential_get_lr
L.LinearLR.get_lr = _linear_get_lr
L.PolynomialLR.get_lr = _polynomial_get_lr
L.CosineAnnealingLR.get_lr = _cosine_get_lr


class SequentialLR(L.SequentialLR):
    """Upstream SequentialLR. 1.13 undoes the children's initial steps one level deep
    (`scheduler.last_epoch -= 1`, which fails on a ChainedScheduler child); upstream undoes them
    recursively (recursive_undo). At a milestone 1.13 calls step(0), upstream _update_lr(0)."""

    def __init__(self, optimizer, schedulers, milestones):
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = 0
        self.optimizer = optimizer
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        self._schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def recursive_undo(self, sched=None):
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


def _format_param(name, optimizer, param):
    """Upstream's helper: one value per group."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(name)
        return list(param)
    return [param] * len(optimizer.param_groups)


class CyclicLR(L.CyclicLR):
    """Upstream CyclicLR. With cycle_momentum it cycles betas[0] of an optimizer that has betas
    (Adam and the like) instead of momentum, where 1.13 raises; it sets momentum to max_momentum
    before the initial step (1.13: base_momentum, which 1.13's initial step then replaces by
    max_momentum: the same values after construction). The constructor is upstream's, run on
    1.13's base class; get_lr() is upstream's, which writes betas[0] where the group has betas."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9):
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        for lr, group in zip(base_lrs, optimizer.param_groups):
            group["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in self.optimizer.defaults
            self.base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            for m_momentum, b_momentum, group in zip(self.max_momentums, self.base_momentums,
                                                     optimizer.param_groups):
                if self.use_beta1:
                    group["betas"] = (m_momentum, *group["betas"][1:])
                else:
                    group["momentum"] = m_momentum
                group["max_momentum"] = m_momentum
                group["base_momentum"] = b_momentum
        L._LRScheduler.__init__(self, optimizer, -1)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        lrs = []
        for base_lr, max_lr in zip(self.base_lrs, self.max_lrs):
            base_height = (max_lr - base_lr) * scale_factor
            if self.scale_mode == "cycle":
                lr = base_lr + base_height * self.scale_fn(cycle)
            else:
                lr = base_lr + base_height * self.scale_fn(self.last_epoch)
            lrs.append(lr)
        if self.cycle_momentum:
            momentums = []
            for base_momentum, max_momentum in zip(self.base_momentums, self.max_momentums):
                base_height = (max_momentum - base_momentum) * scale_factor
                if self.scale_mode == "cycle":
                    momentum = max_momentum - base_height * self.scale_fn(cycle)
                else:
                    momentum = max_momentum - base_height * self.scale_fn(self.last_epoch)
                momentums.append(momentum)
            for param_group, momentum in zip(self.optimizer.param_groups, momentums):
                if self.use_beta1:
                    param_group["betas"] = (momentum, *param_group["betas"][1:])
                else:
                    param_group["momentum"] = momentum
        return lrs


CLASSES = {
    "LambdaLR": L.LambdaLR, "MultiplicativeLR": L.MultiplicativeLR, "StepLR": L.StepLR,
    "MultiStepLR": L.MultiStepLR, "ConstantLR": L.ConstantLR, "LinearLR": L.LinearLR,
    "ExponentialLR": L.ExponentialLR, "PolynomialLR": L.PolynomialLR,
    "CosineAnnealingLR": L.CosineAnnealingLR,
    "CosineAnnealingWarmRestarts": L.CosineAnnealingWarmRestarts,
    "CyclicLR": CyclicLR, "OneCycleLR": L.OneCycleLR, "ReduceLROnPlateau": L.ReduceLROnPlateau,
}


# ---- the parameter sets ---------------------------------------------------------------------

def make_optimizer(kind):
    p = [torch.zeros(1, requires_grad=True) for _ in range(2)]
    if kind == "sgd":
        return torch.optim.SGD([p[0]], lr=0.1, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam([p[0]], lr=1e-3, betas=(0.9, 0.999))
    if kind == "two":
        return torch.optim.SGD([{"params": [p[0]], "lr": 0.1, "momentum": 0.9},
                                {"params": [p[1]], "lr": 0.01, "momentum": 0.8}], lr=0.1)
    raise ValueError(kind)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def parse(spec, opt):
    """A spec is Python: each class name stands for the class with the optimizer bound."""
    names = {k: functools.partial(v, opt) for k, v in CLASSES.items()}
    return eval(spec, {"__builtins__": {}}, names)


# ---- the cases ------------------------------------------------------------------------------

def pow095(e):
    return 0.95 ** e


def metrics(n):
    """A loss that falls in plateaus with a little deterministic wobble, a NaN at 500 and an
    exact repeat of the best at 600 (neither an improvement)."""
    values = []
    for t in range(n):
        v = 1.0 / (1 + t // 60) + 0.002 * ((t * 7919) % 13 - 6) / 6
        values.append(v)
    values[500] = float("nan")
    values[600] = min(values[:600])
    return values


def metrics_max(n):
    """An accuracy that rises in plateaus, falls back at times."""
    return [0.5 + 0.4 * (1 - 1.0 / (1 + t // 45)) - 0.01 * ((t * 104729) % 7 == 0) for t in range(n)]


# (name, set kind, specs, milestones) built from text; specs joined by " | ".
TEXT_CASES = [
    ("step", "sgd", ["StepLR(step_size=30)"], None),
    ("step_gamma1", "two", ["StepLR(7, gamma=1.0)"], None),
    ("step_adam", "adam", ["StepLR(step_size=100, gamma=0.5, last_epoch=-1)"], None),
    ("multistep", "sgd", ["MultiStepLR(milestones=[2, 5, 9, 500], gamma=0.5)"], None),
    ("multistep_repeat", "two", ["MultiStepLR([10, 10, 300], 0.3)"], None),
    ("constant", "sgd", ["ConstantLR()"], None),
    ("constant_40", "two", ["ConstantLR(factor=0.5, total_iters=40)"], None),
    ("constant_0", "adam", ["ConstantLR(factor=0.25, total_iters=0)"], None),
    ("linear", "sgd", ["LinearLR()"], None),
    ("linear_40", "two", ["LinearLR(start_factor=0.05, total_iters=40)"], None),
    ("linear_decay", "adam", ["LinearLR(start_factor=1.0, end_factor=0.1, total_iters=500)"], None),
    ("linear_to_zero", "sgd", ["LinearLR(start_factor=.25, end_factor=0, total_iters=1000)"], None),
    ("exponential", "sgd", ["ExponentialLR(gamma=0.99)"], None),
    ("exponential_gamma1", "two", ["ExponentialLR(1)"], None),
    ("polynomial", "sgd", ["PolynomialLR()"], None),
    ("polynomial_square", "two", ["PolynomialLR(total_iters=800, power=2.0)"], None),
    ("polynomial_sqrt", "adam", ["PolynomialLR(total_iters=300, power=0.5)"], None),
    ("cosine", "sgd", ["CosineAnnealingLR(T_max=90)"], None),
    ("cosine_eta_min", "two", ["CosineAnnealingLR(T_max=250, eta_min=1e-5)"], None),
    ("cosine_tmax1", "adam", ["CosineAnnealingLR(T_max=1, eta_min=1e-4)"], None),
    ("warm_restarts", "sgd", ["CosineAnnealingWarmRestarts(T_0=50)"], None),
    ("warm_restarts_mult", "two", ["CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=1e-4)"], None),
    ("warm_restarts_mult3", "adam", ["CosineAnnealingWarmRestarts(3, 3, 1e-6)"], None),
    ("cyclic", "sgd", ["CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=100)"], None),
    ("cyclic_triangular2_lists", "two",
     ["CyclicLR(base_lr=[0.001, 0.0001], max_lr=[0.1, 0.01], step_size_up=50, step_size_down=150, "
      "mode='triangular2', base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.85])"], None),
    ("cyclic_exp_range_betas", "adam",
     ["CyclicLR(base_lr=1e-4, max_lr=1e-2, step_size_up=64, mode=\"exp_range\", gamma=0.995)"], None),
    ("cyclic_no_momentum", "adam",
     ["CyclicLR(base_lr=1e-4, max_lr=1e-2, step_size_up=30, step_size_down=None, cycle_momentum=False)"], None),
    ("cyclic_exp_range_sgd", "sgd",
     ["CyclicLR(base_lr=0.01, max_lr=0.2, step_size_up=75, step_size_down=25, mode='exp_range', "
      "gamma=0.999, scale_mode='cycle', base_momentum=0.85, max_momentum=0.95)"], None),
    ("onecycle", "sgd", ["OneCycleLR(max_lr=0.01, total_steps=1000)"], None),
    ("onecycle_linear_three", "sgd",
     ["OneCycleLR(max_lr=0.01, total_steps=1001, anneal_strategy='linear', three_phase=True)"], None),
    ("onecycle_lists", "two",
     ["OneCycleLR(max_lr=[0.01, 0.002], epochs=10, steps_per_epoch=100, pct_start=0.25, "
      "div_factor=10, final_div_factor=100, base_momentum=(0.8, 0.75), max_momentum=0.9)"], None),
    ("onecycle_betas_three", "adam", ["OneCycleLR(max_lr=0.003, total_steps=1000, three_phase=True)"], None),
    ("onecycle_no_momentum", "adam",
     ["OneCycleLR(0.003, 1200, cycle_momentum=False, anneal_strategy='linear')"], None),
    ("sequential_doc", "sgd", ["ConstantLR(factor=0.1, total_iters=20)", "ExponentialLR(gamma=0.9)"], [20]),
    ("sequential_warmup_cosine", "two",
     ["LinearLR(start_factor=0.01, total_iters=100)", "CosineAnnealingLR(T_max=900)"], [100]),
    ("sequential_three", "sgd",
     ["StepLR(step_size=10)", "CosineAnnealingWarmRestarts(T_0=20)", "PolynomialLR(total_iters=200, power=2)"],
     [100, 400]),
    ("sequential_onecycle", "sgd",
     ["LinearLR(start_factor=0.1, total_iters=10)", "OneCycleLR(max_lr=0.05, total_steps=1000)"], [10]),
    ("sequential_cyclic_adam", "adam",
     ["ExponentialLR(gamma=0.98)", "CyclicLR(base_lr=1e-4, max_lr=1e-3, step_size_up=40)"], [300]),
    ("chained_doc", "sgd", ["ConstantLR(factor=0.1, total_iters=20)", "ExponentialLR(gamma=0.9)"], None),
    ("chained_cosine_multistep", "two",
     ["CosineAnnealingLR(T_max=100)", "MultiStepLR(milestones=[300, 600], gamma=0.5)"], None),
    ("chained_cyclic_exponential", "adam",
     ["CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=20, cycle_momentum=False)",
      "ExponentialLR(gamma=0.999)"], None),
]


def java_cases():
    """(name, set kind, Java key, builder(opt) -> scheduler, metrics or None)."""
    m, mx = metrics(STEPS), metrics_max(STEPS)
    P = L.ReduceLROnPlateau
    return [
        ("lambda_pow", "sgd", "LambdaLR pow095", lambda o: L.LambdaLR(o, pow095), None),
        ("lambda_lists", "two", "LambdaLR doc",
         lambda o: L.LambdaLR(o, [lambda e: e // 30, pow095]), None),
        ("lambda_inverse", "adam", "LambdaLR inverse",
         lambda o: L.LambdaLR(o, lambda e: 1.0 / (1.0 + e)), None),
        ("multiplicative", "sgd", "MultiplicativeLR 0.95",
         lambda o: L.MultiplicativeLR(o, lambda e: 0.95), None),
        ("multiplicative_lists", "two", "MultiplicativeLR lists",
         lambda o: L.MultiplicativeLR(o, [lambda e: 0.99, lambda e: 1.0 if e % 10 else 0.5]), None),
        ("cyclic_scale_fn_cycle", "sgd", "CyclicLR scale_fn cycle",
         lambda o: CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=40,
                            scale_fn=lambda x: 1.0 / x), None),
        ("cyclic_scale_fn_iterations", "adam", "CyclicLR scale_fn iterations",
         lambda o: CyclicLR(o, base_lr=1e-4, max_lr=1e-3, step_size_up=25, step_size_down=75,
                            scale_fn=lambda x: 1.0 / (1.0 + x / 500.0), scale_mode="iterations"), None),
        # Upstream evaluates MultiplicativeLR's function at the milestone (1.13 does not).
        ("sequential_multiplicative", "adam", "SequentialLR multiplicative",
         lambda o: SequentialLR(o, [L.LinearLR(o, start_factor=0.2, total_iters=50),
                                    L.MultiplicativeLR(o, lambda e: 0.99)], [50]), None),
        # A ChainedScheduler first in a SequentialLR: upstream undoes its children recursively and
        # its initial step steps them outside initial mode.
        ("sequential_chained_first", "sgd", "SequentialLR chained first",
         lambda o: SequentialLR(o, [L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=10),
                                                        L.ExponentialLR(o, gamma=0.99)]),
                                    L.CosineAnnealingLR(o, T_max=100)], [200]), None),
        ("plateau", "sgd", "ReduceLROnPlateau default", lambda o: P(o), m),
        ("plateau_max_abs", "two", "ReduceLROnPlateau max abs",
         lambda o: P(o, mode="max", factor=0.5, patience=3, threshold=0.01, threshold_mode="abs",
                     cooldown=5, min_lr=[0.001, 0.0005]), mx),
        ("plateau_eps", "adam", "ReduceLROnPlateau eps",
         lambda o: P(o, factor=0.5, patience=0, threshold=0.0, threshold_mode="abs",
                     min_lr=1e-4, eps=1e-5), m),
        ("plateau_rel_cooldown", "sgd", "ReduceLROnPlateau rel cooldown",
         lambda o: P(o, factor=0.7, patience=2, threshold=0.05, cooldown=2, min_lr=1e-3), m),
        ("plateau_max_rel", "adam", "ReduceLROnPlateau max rel",
         lambda o: P(o, mode="max", patience=5, threshold=0.02), mx),
    ]


# clopt extensions, recorded by running each group alone: (name, set kind, spec, per-group specs)
SPLIT_CASES = [
    ("cosine_eta_min_lists", "two", "CosineAnnealingLR(T_max=120, eta_min=[1e-3, 1e-4])",
     ["CosineAnnealingLR(T_max=120, eta_min=1e-3)", "CosineAnnealingLR(T_max=120, eta_min=1e-4)"]),
    ("warm_restarts_eta_min_lists", "two", "CosineAnnealingWarmRestarts(T_0=30, T_mult=2, eta_min=[0.01, 0.0])",
     ["CosineAnnealingWarmRestarts(T_0=30, T_mult=2, eta_min=0.01)",
      "CosineAnnealingWarmRestarts(T_0=30, T_mult=2, eta_min=0.0)"]),
]


# ---- recording ------------------------------------------------------------------------------

def cycles_momentum(scheduler):
    if getattr(scheduler, "cycle_momentum", False):
        return True
    return any(cycles_momentum(s) for s in getattr(scheduler, "_schedulers", []))


def record(opt, scheduler, metric_values):
    groups = opt.param_groups
    lrs = [[g["lr"]] for g in groups]
    moms = [[momentum_of(g)] for g in groups]
    for t in range(STEPS):
        opt.step()
        if metric_values is None:
            scheduler.step()
        else:
            scheduler.step(metric_values[t])
        for g, group in enumerate(groups):
            lrs[g].append(group["lr"])
            moms[g].append(momentum_of(group))
    return lrs, (moms if cycles_momentum(scheduler) else None)


def encode(values):
    out = []
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and repr(values[j]) == repr(values[i]):
            j += 1
        out.append(repr(values[i]) + ("*%d" % (j - i) if j - i > 1 else ""))
        i = j
    return " ".join(out)


def block(name, kind, head, lrs, moms, metric_values=None):
    lines = ["case " + name, "set " + kind] + head
    if metric_values is not None:
        lines.append("metrics " + " ".join(repr(v) for v in metric_values))
    for g, values in enumerate(lrs):
        lines.append("lr%d %s" % (g, encode(values)))
    for g, values in enumerate(moms or []):
        lines.append("momentum%d %s" % (g, encode(values)))
    lines.append("end")
    return "\n".join(lines)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "src", "test", "resources", "org", "clopt", "schedule",
                           "schedules.txt")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=default)
    args = ap.parse_args()
    torch.manual_seed(0)
    blocks = []
    for name, kind, specs, milestones in TEXT_CASES:
        opt = make_optimizer(kind)
        children = [parse(s, opt) for s in specs]
        if len(children) == 1:
            scheduler = children[0]
        elif milestones:
            scheduler = SequentialLR(opt, children, milestones)
        else:
            scheduler = L.ChainedScheduler(children)
        lrs, moms = record(opt, scheduler, None)
        head = ["spec " + " | ".join(specs)]
        if milestones:
            head.append("milestones " + " ".join(str(m) for m in milestones))
        blocks.append(block(name, kind, head, lrs, moms))
    for name, kind, key, build, metric_values in java_cases():
        opt = make_optimizer(kind)
        lrs, moms = record(opt, build(opt), metric_values)
        blocks.append(block(name, kind, ["java " + key], lrs, moms, metric_values))
    for name, kind, spec, per_group in SPLIT_CASES:
        lrs, moms = [], []
        for g, group_spec in enumerate(per_group):
            opt = make_optimizer(kind)
            opt.param_groups[:] = [opt.param_groups[g]]
            group_lrs, _ = record(opt, parse(group_spec, opt), None)
            lrs.append(group_lrs[0])
        blocks.append(block(name, kind, ["spec " + spec], lrs, None))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("# Generated by scripts/schedules.py from torch %s with upstream semantics; "
                "do not edit.\n" % torch.__version__)
        f.write("\n".join(blocks) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Generate golden optimizer trajectories from PyTorch for the clopt Java tests.

For every case below this script runs a torch.optim optimizer for T steps on a
vector of N parameters, once in float64 and once in float32, and writes:

  <out>/cases.tsv                      case_name, optimizer, settings (key=value;...)
  <out>/<case>/params0.npy             float32 (N,)   initial parameters
  <out>/<case>/grads.npy               float32 (T, N) gradient given at each step
  <out>/<case>/params_f64.npy          float64 (T, N) parameters after each step
  <out>/<case>/params_f32.npy          float32 (T, N) same, run in float32
  <out>/<case>/state_<key>_f64.npy     float64 (N,)   per-element state after the last step
  <out>/<case>/state_<key>_f32.npy     float32 (N,)   (exp_avg, sum, momentum_buffer, ...)
  <out>/lion_hand/...                  a small Lion case in float64, checked by hand (LionTest)
  <out>/lamb_hand/...                  a small LAMB case of three tensors, float64 (LambTest)
  <out>/adafactor_hand/...             a small Adafactor case of three shapes, float64 (AdafactorTest)

A case may give its parameters a shape (the fourth column of cases.tsv, row-major, D1,D2,...);
the files stay flat, and a state array is flattened from its own shape (Adafactor's row_var,
col_var).

Every case also has a "<case>_sparse" variant whose gradients are about 80% zeros.
The default <out> is src/test/resources/org/clopt/golden under the repository root.

Run with Debian's interpreter, which has the python3-torch package (PyTorch 1.13):

    /usr/bin/python3 scripts/golden.py [--out DIR]

The output is deterministic. The Java tests only read the generated files; they
need neither Python nor torch.

Notes on torch 1.13: optimizers run with foreach=False, except NAdam, whose
single-tensor path multiplies one mu too many into mu_product_next; its foreach
path is correct. NAdam and RAdam 1.13 have no maximize or decoupled_weight_decay,
so both are emulated as newer PyTorch defines them. ASGD's single-tensor path is
upstream's (eta and mu updated after the step, from the step's lr). Scalar state
(step, mu_product, eta, mu) is left as torch creates it (float32) in both runs and
is not written.

Lion is not in torch: lion() below is Algorithm 2 of Chen et al. 2023 in NumPy,
written from the definition as lion-pytorch computes it (torch.sign: 0 for 0 and
NaN), run in float64 and, operation by operation, in float32.

LAMB is not in torch either: lamb() below is You et al.'s LAMB as optax.lamb computes it
(Adam's bias-corrected update with eps outside the sqrt, plus weight_decay * p, times the
per-tensor trust ratio ||p|| / ||r||, 1 when either norm is 0), in NumPy, in float64 and,
operation by operation, in float32 (norms as float32 sums of squares). A golden case is one
tensor; lamb_hand has three, for the per-tensor ratio.

Adafactor is in torch only from 2.5: adafactor() below is torch.optim.Adafactor's single-tensor
step (upstream's torch/optim/_adafactor.py) in NumPy, in float64 and, operation by operation, in
float32: the row and column statistics of the last two dimensions for a tensor of 2 or more
dimensions, torch's lerp, the Python-double alpha and clipping denominator from the norms'
.item(). eps1 = None is float32's machine epsilon in both runs, as for float32 parameters.
"""
import argparse
import os
import zlib

import numpy as np
import torch

N, T = 67, 7
STATE_KEYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg",
              "acc_delta", "grad_avg", "momentum_buffer", "exp_inf", "prev", "step_size", "ax")

# (case name, optimizer, settings exactly as given to the optimizer)
CASES = [
    ("sgd", "sgd", {"lr": 0.1}),
    ("sgd_wd_max", "sgd", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("momentum", "momentum", {"lr": 0.1}),
    ("momentum_dampening_wd", "momentum",
     {"lr": 0.1, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    ("nesterov", "nesterov", {"lr": 0.1}),
    ("nesterov_wd_max", "nesterov",
     {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "maximize": True}),
    ("adagrad", "adagrad", {}),
    ("adagrad_all", "adagrad",
     {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5,
      "eps": 1e-06, "maximize": True}),
    ("rmsprop", "rmsprop", {}),
    ("rmsprop_centered", "rmsprop", {"centered": True}),
    ("rmsprop_momentum", "rmsprop", {"momentum": 0.9}),
    ("rmsprop_all", "rmsprop",
     {"lr": 0.001, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.1,
      "maximize": True}),
    ("adadelta", "adadelta", {}),
    ("adadelta_all", "adadelta",
     {"lr": 0.5, "rho": 0.5, "eps": 1e-05, "weight_decay": 0.1, "maximize": True}),
    ("adam", "adam", {}),
    ("adam_amsgrad", "adam", {"amsgrad": True}),
    ("adam_all", "adam",
     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-06, "weight_decay": 0.1, "maximize": True}),
    ("adam_decoupled_amsgrad", "adam",
     {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True}),
    ("adamw", "adamw", {}),
    ("adamw_amsgrad_max", "adamw",
     {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("nadam", "nadam", {}),
    ("nadam_wd", "nadam", {"weight_decay": 0.1}),
    ("nadam_decoupled_max", "nadam",
     {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
      "momentum_decay": 0.01, "maximize": True}),
    ("adamax", "adamax", {}),
    ("adamax_all", "adamax",
     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-06, "weight_decay": 0.1, "maximize": True}),
    ("rprop", "rprop", {}),
    ("rprop_all", "rprop",
     {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (0.01, 0.2), "maximize": True}),
    # RAdam rectifies from step 6 (rho_t > 5) whatever beta2: each case runs both branches.
    ("radam", "radam", {}),
    ("radam_wd", "radam", {"weight_decay": 0.1}),
    ("radam_decoupled_max", "radam",
     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-06, "weight_decay": 0.1,
      "decoupled_weight_decay": True, "maximize": True}),
    # With the default t0 = 1e6, ax is a copy of p; t0 = 2.5 averages from step 5 (mu = 1/1.5).
    ("asgd", "asgd", {}),
    ("asgd_all", "asgd",
     {"lr": 0.05, "lambd": 0.1, "alpha": 0.5, "t0": 2.5, "weight_decay": 0.1, "maximize": True}),
    ("lion", "lion", {}),
    ("lion_all", "lion",
     {"lr": 0.01, "betas": (0.8, 0.95), "weight_decay": 0.1, "maximize": True}),
    ("lamb", "lamb", {}),
    ("lamb_all", "lamb",
     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-08, "weight_decay": 0.01, "maximize": True}),
    # state_dtype=bf16: the state rounded to bf16 (nearest even) after every step, the step itself
    # computed as usual (clopt stores its state in bf16; torch has no such option, so it is
    # emulated on torch's own state tensors).
    ("momentum_bf16_state", "momentum", {"lr": 0.1, "state_dtype": "bf16"}),
    ("nesterov_bf16_state", "nesterov",
     {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "maximize": True, "state_dtype": "bf16"}),
    ("adagrad_bf16_state", "adagrad", {"lr": 0.1, "initial_accumulator_value": 0.3, "state_dtype": "bf16"}),
    ("rmsprop_bf16_state", "rmsprop", {"centered": True, "momentum": 0.9, "state_dtype": "bf16"}),
    ("adam_bf16_state", "adam", {"amsgrad": True, "state_dtype": "bf16"}),
    ("adamw_bf16_state", "adamw", {"lr": 0.01, "weight_decay": 0.1, "state_dtype": "bf16"}),
    ("lion_bf16_state", "lion", {"lr": 0.01, "weight_decay": 0.1, "state_dtype": "bf16"}),
    ("adadelta_bf16_state", "adadelta", {"lr": 0.5, "weight_decay": 0.1, "state_dtype": "bf16"}),
    ("nadam_bf16_state", "nadam",
     {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "state_dtype": "bf16"}),
    ("adamax_bf16_state", "adamax", {"state_dtype": "bf16"}),
    ("radam_bf16_state", "radam", {"state_dtype": "bf16"}),
    ("asgd_bf16_state", "asgd", {"lr": 0.05, "lambd": 0.1, "alpha": 0.5, "t0": 2.5, "state_dtype": "bf16"}),
    ("rprop_bf16_state", "rprop",
     {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (0.01, 0.2), "state_dtype": "bf16"}),
    # state_dtype=int8: after every step each state array stored block-wise in 8 bits (int8()
    # below, the definition Int8State.java implements), torch's step computed on what was stored;
    # min_8bit_size 64 quantizes these 67-element vectors, one block each; a 3 x 200 matrix has three.
    ("momentum_int8_state", "momentum", {"lr": 0.1, "state_dtype": "int8", "min_8bit_size": 64}),
    ("nesterov_int8_state", "nesterov",
     {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "maximize": True, "state_dtype": "int8",
      "min_8bit_size": 64}),
    ("adagrad_int8_state", "adagrad",
     {"lr": 0.1, "initial_accumulator_value": 0.3, "state_dtype": "int8", "min_8bit_size": 64}),
    ("rmsprop_int8_state", "rmsprop", {"momentum": 0.9, "state_dtype": "int8", "min_8bit_size": 64}),
    ("adam_int8_state", "adam", {"amsgrad": True, "state_dtype": "int8", "min_8bit_size": 64}),
    ("adam_int8_state_blocks", "adam", {"lr": 0.01, "state_dtype": "int8", "min_8bit_size": 64}, (3, 200)),
    ("adamw_int8_state", "adamw", {"lr": 0.01, "weight_decay": 0.1, "state_dtype": "int8", "min_8bit_size": 64}),
    ("lion_int8_state", "lion", {"lr": 0.01, "weight_decay": 0.1, "state_dtype": "int8", "min_8bit_size": 64}),
    ("adadelta_int8_state", "adadelta",
     {"lr": 0.5, "weight_decay": 0.1, "state_dtype": "int8", "min_8bit_size": 64}),
    ("nadam_int8_state", "nadam",
     {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "state_dtype": "int8",
      "min_8bit_size": 64}),
    ("adamax_int8_state", "adamax", {"state_dtype": "int8", "min_8bit_size": 64}),
    ("radam_int8_state", "radam", {"state_dtype": "int8", "min_8bit_size": 64}),
    ("adafactor", "adafactor", {}, (6, 11)),
    ("adafactor_vector", "adafactor", {}, (67,)),
    ("adafactor_3d", "adafactor", {}, (3, 4, 5)),
    ("adafactor_all", "adafactor",
     {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 0.01), "d": 1.0, "weight_decay": 0.1,
      "maximize": True}, (8, 8)),
    ("adafactor_all_vector", "adafactor",
     {"lr": 0.05, "beta2_decay": -0.5, "eps": (None, 0.01), "d": 1.5, "weight_decay": 0.1,
      "maximize": True}, (67,)),
]

LION_DEFAULTS = {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0, "maximize": False}


def torch_sign(x):
    """torch.sign: 1, -1 or 0, and 0 for NaN (np.sign gives NaN)."""
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


def lion(params0, grads, dtype, settings, rounding=None):
    """Lion (Chen et al. 2023, Algorithm 2) in NumPy, every operation rounded to dtype in
    lion-pytorch's order; the Python-float hyperparameters are rounded to dtype as torch
    rounds a scalar operand. Returns (trajectory, {"exp_avg": m})."""
    kw = dict(LION_DEFAULTS, **settings)
    f = np.dtype(dtype).type
    lr, (b1, b2), wd = kw["lr"], kw["betas"], kw["weight_decay"]
    p = params0.astype(dtype)
    m = np.zeros_like(p)
    trajectory = []
    for g in grads:
        g = g.astype(dtype)
        if kw["maximize"]:
            g = -g
        p = p * f(1 - lr * wd)
        c = m * f(b1) + f(1 - b1) * g
        p = p - f(lr) * torch_sign(c)
        m = m * f(b2) + f(1 - b2) * g
        if rounding:
            m = rounding(m, "exp_avg")
        trajectory.append(p.copy())
    return np.stack(trajectory), {"exp_avg": m}


LAMB_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-6, "weight_decay": 0.0,
                 "maximize": False}


def lamb(params0, grads, dtype, settings, bounds=None):
    """LAMB as optax.lamb in NumPy, every operation rounded to dtype in optax's order; the
    Python-float hyperparameters are rounded to dtype as a scalar operand is. Tensor k is
    elements [bounds[k], bounds[k + 1]) (default: one tensor). Returns (trajectory,
    {"exp_avg": m, "exp_avg_sq": v})."""
    kw = dict(LAMB_DEFAULTS, **settings)
    f = np.dtype(dtype).type
    lr, (b1, b2), eps, wd = kw["lr"], kw["betas"], kw["eps"], kw["weight_decay"]
    p = params0.astype(dtype)
    bounds = bounds or [0, p.size]
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    trajectory = []
    for t, g in enumerate(grads, start=1):
        g = g.astype(dtype)
        if kw["maximize"]:
            g = -g
        m = m * f(b1) + f(1 - b1) * g
        v = v * f(b2) + f(1 - b2) * g * g
        r = (m / f(1 - b1 ** t)) / (np.sqrt(v / f(1 - b2 ** t)) + f(eps))
        if wd != 0:
            r = r + f(wd) * p
        new = p.copy()
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            p_norm = np.sqrt(np.sum(p[lo:hi] * p[lo:hi], dtype=dtype))
            r_norm = np.sqrt(np.sum(r[lo:hi] * r[lo:hi], dtype=dtype))
            ratio = f(1) if p_norm == 0 or r_norm == 0 else p_norm / r_norm
            new[lo:hi] = p[lo:hi] + (r[lo:hi] * ratio) * f(-lr)
        p = new
        trajectory.append(p.copy())
    return np.stack(trajectory), {"exp_avg": m, "exp_avg_sq": v}


ADAFACTOR_DEFAULTS = {"lr": 1e-2, "beta2_decay": -0.8, "eps": (None, 1e-3), "d": 1.0,
                      "weight_decay": 0.0, "maximize": False}


def torch_lerp(a, b, w, f):
    """torch.lerp(a, b, w) on CPU: a + w * (b - a) for |w| < 0.5, else b - (b - a) * (1 - w)."""
    w = f(w)
    return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (f(1) - w)


def adafactor(params0, grads, dtype, settings, shapes):
    """torch.optim.Adafactor's single-tensor step in NumPy, every operation rounded to dtype in
    upstream's order; the group's tensors have the shapes given, laid end to end. Returns
    (trajectory, state) with each state array the tensors' parts flattened end to end."""
    kw = dict(ADAFACTOR_DEFAULTS, **settings)
    f = np.dtype(dtype).type
    lr, decay, (eps1, eps2), d, wd = (kw["lr"], kw["beta2_decay"], kw["eps"], kw["d"],
                                      kw["weight_decay"])
    if eps1 is None:
        eps1 = float(np.finfo(np.float32).eps)
    sizes = [int(np.prod(s)) for s in shapes]
    bounds = np.cumsum([0] + sizes)
    p = [params0[lo:hi].astype(dtype).reshape(s) for lo, hi, s in zip(bounds[:-1], bounds[1:], shapes)]
    state = []
    for s in shapes:
        if len(s) >= 2:
            state.append({"row_var": np.zeros(s[:-1] + (1,), dtype),
                          "col_var": np.zeros(s[:-2] + (1,) + s[-1:], dtype)})
        else:
            state.append({"variance": np.zeros(s, dtype)})
    trajectory = []
    for t, g_all in enumerate(grads, start=1):
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            x, st = p[k], state[k]
            g = g_all[lo:hi].astype(dtype).reshape(shapes[k])
            if kw["maximize"]:
                g = -g
            w = t ** decay
            rho = min(lr, 1 / t ** 0.5)
            alpha = max(eps2, float(np.sqrt(np.sum(x * x, dtype=dtype))) / x.size ** 0.5) * rho
            if wd != 0:
                x = x * f(1 - lr * wd)
            if g.ndim >= 2:
                row_mean = np.sqrt(np.sum(g * g, axis=-1, keepdims=True, dtype=dtype)) ** 2 / f(g.shape[-1])
                st["row_var"] = torch_lerp(st["row_var"], row_mean, w, f)
                col_mean = np.sqrt(np.sum(g * g, axis=-2, keepdims=True, dtype=dtype)) ** 2 / f(g.shape[-2])
                st["col_var"] = torch_lerp(st["col_var"], col_mean, w, f)
                var = st["row_var"] * st["col_var"]
                var = var / np.maximum(np.mean(st["row_var"], axis=-2, keepdims=True, dtype=dtype), f(eps1))
            else:
                st["variance"] = torch_lerp(st["variance"], g * g, w, f)
                var = st["variance"].copy()
            u = (f(1) / np.sqrt(np.maximum(var, f(eps1 * eps1)))) * g
            denom = max(1.0, float(np.sqrt(np.sum(u * u, dtype=dtype))) / (u.size ** 0.5 * d))
            p[k] = x + f(-alpha / denom) * u
        trajectory.append(np.concatenate([x.reshape(-1) for x in p]))
    keys = sorted({key for st in state for key in st})
    out = {key: np.concatenate([st[key].reshape(-1) for st in state if key in st]) for key in keys}
    return np.stack(trajectory), out


def format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(repr(v) for v in value)
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    return repr(value)


def make_optimizer(name, param, settings):
    """Returns (optimizer, maximize, decoupled lr*weight_decay) for one parameter tensor."""
    kw = dict(settings)
    o = torch.optim
    if name in ("sgd", "momentum", "nesterov"):
        if name != "sgd":
            kw.setdefault("momentum", 0.9)
        if name == "nesterov":
            kw["nesterov"] = True
        return o.SGD([param], foreach=False, **kw), False, 0.0
    if name in ("nadam", "radam"):
        # Emulated: maximize negates the gradient; decoupled decay shrinks p before the step.
        maximize = kw.pop("maximize", False)
        decay = 0.0
        if kw.pop("decoupled_weight_decay", False):
            decay = kw.get("lr", {"nadam": 2e-3, "radam": 1e-3}[name]) * kw.pop("weight_decay", 0.0)
        if name == "radam":
            return o.RAdam([param], foreach=False, **kw), maximize, decay
        return o.NAdam([param], foreach=True, **kw), maximize, decay
    if name == "adam" and kw.pop("decoupled_weight_decay", False):
        # Current PyTorch's Adam(decoupled_weight_decay=True) is AdamW's update.
        return o.AdamW([param], foreach=False, **kw), False, 0.0
    cls = {"adagrad": o.Adagrad, "rmsprop": o.RMSprop, "adadelta": o.Adadelta,
           "adam": o.Adam, "adamw": o.AdamW, "adamax": o.Adamax, "rprop": o.Rprop,
           "asgd": o.ASGD}[name]
    return cls([param], foreach=False, **kw), False, 0.0


def bf16(x):
    """x rounded to bfloat16 (nearest even, as torch converts) and back, in x's own type."""
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x).float().to(torch.bfloat16).to(torch.from_numpy(x).dtype).numpy()
    return x.float().to(torch.bfloat16).to(x.dtype)


NON_NEGATIVE_STATE = ("exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg", "acc_delta", "exp_inf")


def int8(x, key):
    """x as int8 state stores it (Int8State.java): per block of 256, absmax = max |x| (NaN if
    any is not finite), each value the nearest code of x * (1 / absmax) in the dynamic map (the
    lower on a tie, 0 for a NaN quotient), read back as code * absmax; in x's own type."""
    is_tensor = isinstance(x, torch.Tensor)
    v = x.detach().numpy() if is_tensor else x
    f = v.dtype.type
    m = create_dynamic_map(key not in NON_NEGATIVE_STATE).numpy().astype(v.dtype)
    out = np.empty_like(v)
    flat, res = v.reshape(-1), out.reshape(-1)
    for b in range(0, flat.size, 256):
        block = flat[b:b + 256]
        a = np.abs(block)
        a = np.where(np.isfinite(a), a, np.inf).max() if block.size else f(0)
        a = f(np.nan) if not np.isfinite(a) else f(a)
        inverse = f(1) / a if a > 0 else f(0)
        with np.errstate(invalid="ignore"):
            t = block * inverse
        t = np.where(np.isnan(t), f(0), t)
        lo = np.clip(np.searchsorted(m, t, side="right") - 1, 0, 255)
        hi = np.minimum(lo + 1, 255)
        code = np.where(m[hi] - t < t - m[lo], hi, lo)
        res[b:b + 256] = m[code] * a
    return torch.from_numpy(out) if is_tensor else out


def state_rounding(settings, n):
    """The function that stores a state array (value, key) under the case's state_dtype, or
    None for fp32; pops state_dtype and min_8bit_size, which torch does not take."""
    kind = settings.pop("state_dtype", "fp32")
    min8 = settings.pop("min_8bit_size", 4096)
    if kind == "bf16":
        return lambda value, key: bf16(value)
    if kind == "int8" and n >= min8 and n > 0:
        return int8
    return None


def run(name, settings, params0, grads, dtype, shape=None):
    settings = dict(settings)
    rounding = state_rounding(settings, len(params0))
    if name == "adafactor":
        return adafactor(params0, grads, {torch.float64: np.float64, torch.float32: np.float32}[dtype],
                         settings, [shape])
    if name == "lion":
        return lion(params0, grads, {torch.float64: np.float64, torch.float32: np.float32}[dtype],
                    settings, rounding)
    if name == "lamb":
        return lamb(params0, grads, {torch.float64: np.float64, torch.float32: np.float32}[dtype],
                    settings)
    param = torch.tensor(params0, dtype=dtype, requires_grad=True)
    opt, maximize, decay = make_optimizer(name, param, settings)
    if rounding:
        # The state starts rounded too, as it is stored: Adagrad's sum, made at construction,
        # and Rprop's step sizes, which torch makes at the first step (made here as torch 1.13
        # makes them).
        with torch.no_grad():
            if name == "rprop":
                opt.state[param].update(step=0, prev=torch.zeros_like(param),
                                        step_size=torch.full_like(param, opt.param_groups[0]["lr"]))
            for key, value in opt.state[param].items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape:
                    value.copy_(rounding(value, key))
    trajectory = []
    for g in grads:
        # A fresh tensor each step: NAdam's foreach path adds weight decay into p.grad in place.
        grad = torch.tensor(g, dtype=dtype)
        param.grad = -grad if maximize else grad
        with torch.no_grad():
            if decay:
                param.mul_(1 - decay)
            opt.step()
            if rounding:
                for key, value in opt.state[param].items():
                    if isinstance(value, torch.Tensor) and value.shape == param.shape:
                        value.copy_(rounding(value, key))
        trajectory.append(param.detach().clone())
    state = opt.state[param]
    tensors = {k: state[k].detach().clone() for k in STATE_KEYS
               if isinstance(state.get(k), torch.Tensor) and state[k].shape == param.shape}
    return torch.stack(trajectory).numpy(), {k: v.numpy() for k, v in tensors.items()}


def write_case(out, case, name, settings, sparse, shape=None):
    n = int(np.prod(shape)) if shape else N
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    params0 = rng.standard_normal(n).astype(np.float32)
    grads = (rng.standard_normal((T, n)) * 0.5).astype(np.float32)
    if sparse:
        grads[rng.random((T, n)) < 0.8] = 0.0
    folder = os.path.join(out, case)
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "params0.npy"), params0)
    np.save(os.path.join(folder, "grads.npy"), grads)
    for suffix, dtype, np_dtype in (("f64", torch.float64, "<f8"), ("f32", torch.float32, "<f4")):
        trajectory, state = run(name, settings, params0, grads, dtype, shape)
        np.save(os.path.join(folder, "params_%s.npy" % suffix), trajectory.astype(np_dtype))
        for key, value in sorted(state.items()):
            np.save(os.path.join(folder, "state_%s_%s.npy" % (key, suffix)), value.astype(np_dtype))


# A small Lion case whose every value is exact in binary, so that a test can check lion()
# against values worked out by hand (LionTest): 3 elements, 3 steps, a zero and a NaN gradient.
LION_HAND = {"lr": 0.5, "betas": (0.5, 0.75), "weight_decay": 0.5}
LION_HAND_PARAMS0 = [1.0, -2.0, 0.5]
LION_HAND_GRADS = [[1.0, -1.0, 0.0], [-2.0, -1.0, 4.0], [0.3125, float("nan"), -3.0]]


def write_hand(out, name, params0, grads, run):
    """A hand-checked case: its inputs as float32, and run(params0, grads)'s float64 trajectory
    and state arrays."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    params0 = np.array(params0, dtype=np.float32)
    grads = np.array(grads, dtype=np.float32)
    trajectory, state = run(params0, grads)
    np.save(os.path.join(folder, "params0.npy"), params0)
    np.save(os.path.join(folder, "grads.npy"), grads)
    np.save(os.path.join(folder, "params_f64.npy"), trajectory)
    for key, value in sorted(state.items()):
        np.save(os.path.join(folder, "state_%s_f64.npy" % key), value)


def write_lion_hand(out):
    write_hand(out, "lion_hand", LION_HAND_PARAMS0, LION_HAND_GRADS,
               lambda p, g: lion(p, g, np.float64, LION_HAND))


# A small LAMB case of three tensors whose every value is exact in binary (LambTest): betas
# (0.5, 0.75) and eps 0 make the first step's r = sign(g); the ratios are 2.5, 1 (p is zero)
# and 0.5, so one ratio for the three tensors would give other values.
LAMB_HAND = {"lr": 0.125, "betas": (0.5, 0.75), "eps": 0.0}
LAMB_HAND_BOUNDS = [0, 4, 7, 11]
LAMB_HAND_PARAMS0 = [3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5]
LAMB_HAND_GRADS = [[1.0, -1.0, 1.0, -1.0, 2.0, -0.5, 4.0, -3.0, 5.0, -7.0, 9.0]]


def write_lamb_hand(out):
    write_hand(out, "lamb_hand", LAMB_HAND_PARAMS0, LAMB_HAND_GRADS,
               lambda p, g: lamb(p, g, np.float64, LAMB_HAND, LAMB_HAND_BOUNDS))


# A small Adafactor case of a matrix, a vector and a 3-D tensor in one group, whose every value
# is exact in binary (AdafactorTest works them out): one step, so each statistic is its mean.
ADAFACTOR_HAND = {"lr": 0.25, "eps": (None, 0.125), "weight_decay": 0.5}
ADAFACTOR_HAND_SHAPES = [(2, 4), (2,), (2, 1, 2)]
ADAFACTOR_HAND_PARAMS0 = [2.0] * 8 + [0.0, 0.0] + [4.0] * 4
ADAFACTOR_HAND_GRADS = [[3.0] * 4 + [4.0] * 4 + [3.0, -4.0] + [3.0, 4.0, 6.0, 8.0]]


def write_adafactor_hand(out):
    write_hand(out, "adafactor_hand", ADAFACTOR_HAND_PARAMS0, ADAFACTOR_HAND_GRADS,
               lambda p, g: adafactor(p, g, np.float64, ADAFACTOR_HAND, ADAFACTOR_HAND_SHAPES))


def create_dynamic_map(signed):
    """bitsandbytes' create_dynamic_map(signed, max_exponent_bits=7, total_bits=8), in torch's
    float32: the int8 state's code maps, which Int8StateTest compares bit for bit."""
    data = []
    for i in range(7):
        items = 2 ** i + 1 if signed else 2 ** (i + 1) + 1
        boundaries = torch.linspace(0.1, 1, items)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += (10 ** (-6 + i) * means).tolist()
        if signed:
            data += (-10 ** (-6 + i) * means).tolist()
    data += [0, 1.0]
    assert len(data) == 256
    return torch.tensor(sorted(data), dtype=torch.float32)


def write_int8_maps(out):
    """int8_maps.txt: the signed map, then the unsigned one, as the hex bits of each float32."""
    with open(os.path.join(out, "int8_maps.txt"), "w", encoding="utf-8", newline="\n") as f:
        for signed in (True, False):
            bits = create_dynamic_map(signed).numpy().view(np.uint32)
            f.write(" ".join("%08x" % b for b in bits) + "\n")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/test/resources/org/clopt/golden",
                        help="output directory, relative to the repository root")
    out = os.path.join(root, parser.parse_args().out)
    torch.set_num_threads(1)
    lines = ["# case\toptimizer\tsettings (key=value;...)\tshape (D1,D2,...; empty: a vector of %d)" % N]
    for case, name, settings, *shape in CASES:
        shape = shape[0] if shape else None
        text = ";".join("%s=%s" % (k, format_value(v)) for k, v in settings.items())
        for variant, sparse in ((case, False), (case + "_sparse", True)):
            write_case(out, variant, name, settings, sparse, shape)
            lines.append("%s\t%s\t%s\t%s" % (variant, name, text, ",".join(map(str, shape or ()))))
    write_lion_hand(out)
    write_lamb_hand(out)
    write_adafactor_hand(out)
    write_int8_maps(out)
    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(lines) - 1, out))


if __name__ == "__main__":
    main()

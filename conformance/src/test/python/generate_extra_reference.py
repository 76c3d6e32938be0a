#!/usr/bin/python3
"""Generate extra golden reference data for gradstream's optimizer kernels and LR schedules.

Run with Debian's python3 (python3-torch 1.13.1+dfsg, numpy 1.24):

    /usr/bin/python3 conformance/src/test/python/generate_extra_reference.py \
        [--reference /work/shared/reference] [--out <dir>] [--verify-only]

The procedure is the one documented in the public reference set's README.md (section "Inputs", Part 1 and
Part 1b); this script is an independent implementation of that description.  Before writing anything it
proves that it reproduces the public golden files (see verify_* below, every check is an assert):

  * inputs: initial_params and grads of every public n=37 file, bit for bit;
  * torch runs: params_after_step / final_state of the public n=37 torch files (float32 and float64), exactly;
  * paper optimizers (LAMB, Lion): the public n=37 files, exactly (float32 and float64);
  * LR schedules: lrs / closed_form_lrs of the four public schedule files, exactly.

Output (default): ../resources/reference-extra/{optimizers,lr_schedulers}/ relative to this file, plus a
README.md and MANIFEST.json there.
"""
import argparse
import hashlib
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import warnings

import numpy as np
import torch

STEPS = 25
SEEDS = {37: 1337, 1024: 2024}
C_SCALE = [1.0, 1.0, 0.001, 1000.0, 1e-07, 10000.0, 0.1, 10.0, 0.0, 3e-05, 1.0]
DTYPES = ("float32", "float64")
NP_DTYPE = {"float32": np.float32, "float64": np.float64}
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}
SCHED_STEPS = 50

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "reference-extra"))
DEFAULT_REF = "/work/shared/reference"


# ----------------------------------------------------------------------------------------------------------
# JSON output (same layout as the public files: indent 1, flat number lists on one line, floats via repr)
# ----------------------------------------------------------------------------------------------------------

def _is_flat(lst):
    return all(not isinstance(x, (list, dict)) for x in lst)


def _scalar(x):
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError("non-finite float in optimizer/schedule data: %r" % x)
    return json.dumps(x)


def to_json(obj, indent=0):
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [pad + " " + json.dumps(k) + ": " + to_json(v, indent + 1) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if _is_flat(obj):
            return "[" + ",".join(_scalar(x) for x in obj) + "]"
        items = [pad + " " + to_json(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return _scalar(obj)


def write_json(path, obj):
    text = to_json(obj) + "\n"
    # round-trip sanity: the text must parse back to the same object
    assert json.loads(text) == json.loads(json.dumps(obj))
    with open(path, "w") as f:
        f.write(text)


def flist(a):
    """numpy array -> list of python floats (exact: float32 -> double is exact)."""
    return [float(x) for x in np.asarray(a).ravel()]


# ----------------------------------------------------------------------------------------------------------
# Inputs (README "Inputs")
# ----------------------------------------------------------------------------------------------------------

def grad_scale(t):
    if t == 3:
        return 10.0
    if t in (10, 11):
        return 0.01
    if t == 17:
        return 0.0
    if t >= 20:
        return 0.1
    return 1.0


def make_inputs(n):
    rng = np.random.default_rng(SEEDS[n])
    i = np.arange(n)
    p0 = 0.5 * rng.standard_normal(n)
    p0[i % 17 == 5] = 0.0
    p0[i % 19 == 7] *= 100
    z = rng.standard_normal((STEPS, n))
    c = np.array([C_SCALE[k % 11] for k in range(n)])
    s = np.array([grad_scale(t) for t in range(STEPS)])
    g = z * c[None, :] * s[:, None]
    t = np.arange(STEPS)[:, None]
    g[(3 * t + 7 * i[None, :]) % 13 == 0] = 0.0
    p0 = p0.astype(np.float32) + np.float32(0.0)   # "+ 0.0" turns -0.0 into +0.0 (public files hold no -0.0)
    g = g.astype(np.float32) + np.float32(0.0)
    return p0, g


# ----------------------------------------------------------------------------------------------------------
# Environment
# ----------------------------------------------------------------------------------------------------------

def environment():
    cap = None
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            cap = line.split(":", 1)[1].strip()
    try:
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                             capture_output=True, text=True).stdout.strip() or None
    except OSError:
        deb = None
    try:
        import scipy  # noqa: F401
        scipy_v = scipy.__version__
    except ImportError:
        scipy_v = "not installed (not used)"
    return {
        "torch.__version__": torch.__version__,
        "debian_package_python3-torch": deb,
        "device": "cpu",
        "aten_cpu_capability": cap,
        "torch_num_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "scipy": scipy_v,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


# ----------------------------------------------------------------------------------------------------------
# Torch optimizer configurations
# ----------------------------------------------------------------------------------------------------------

MAXIMIZE_NOTE = " maximize=True: g=-g first (before the weight-decay term)."

FORMULAS = {
    "SGD": "torch.optim.SGD (1.13, single-tensor path): d=g; if wd: d=d+wd*p; if momentum: buf = d (first step) "
           "else buf = buf*momentum + (1-dampening)*d; d = d + momentum*buf if nesterov else buf; p = p + (-lr)*d",
    "Adam": "torch.optim.Adam (1.13, single-tensor, non-capturable): t+=1; if wd: g=g+wd*p; m=m*b1+(1-b1)*g; "
            "v=v*b2+((1-b2)*g)*g; bc1=1-b1**t; bc2=1-b2**t (python doubles); if amsgrad: vmax=max(vmax,v), "
            "denom=sqrt(vmax)/sqrt(bc2)+eps else denom=sqrt(v)/sqrt(bc2)+eps; p = p + ((-lr/bc1)*m)/denom",
    "AdamW": "torch.optim.AdamW (1.13): t+=1; p=p*(1-lr*wd); then exactly Adam without L2 term (m, v, amsgrad max, "
             "denom=sqrt(v or vmax)/sqrt(bc2)+eps, p=p+((-lr/bc1)*m)/denom)",
    "RMSprop": "torch.optim.RMSprop (1.13): if wd: g=g+wd*p; sq=sq*alpha+((1-alpha)*g)*g; if centered: "
               "ga=ga*alpha+(1-alpha)*g, avg=sqrt(sq-ga*ga) else avg=sqrt(sq); avg=avg+eps; if momentum>0: "
               "buf=buf*momentum+g/avg, p=p+(-lr)*buf else p=p+((-lr)*g)/avg",
    "Adagrad": "torch.optim.Adagrad (1.13): state sum initialised to initial_accumulator_value; t+=1; if wd: "
               "g=g+wd*p; clr=lr/(1+(t-1)*lr_decay); sum=sum+g*g; std=sqrt(sum)+eps; p=p+((-clr)*g)/std",
    "Adamax": "torch.optim.Adamax (1.13): t+=1; if wd: g=g+wd*p; m=m*b1+(1-b1)*g; exp_inf=max(exp_inf*b2, |g|+eps)  "
              "(NOTE eps is added to |g| inside the max); clr=lr/(1-b1**t); p=p+((-clr)*m)/exp_inf",
    "RAdam": "torch.optim.RAdam (1.13): t+=1; bc1=1-b1**t; bc2=1-b2**t; if wd: g=g+wd*p; m=m*b1+(1-b1)*g; "
             "v=v*b2+((1-b2)*g)*g; mhat=m/bc1; rho_inf=2/(1-b2)-1; rho_t=rho_inf-2*t*b2**t/bc2; if rho_t>5: "
             "rect=sqrt((rho_t-4)*(rho_t-2)*rho_inf/((rho_inf-4)*(rho_inf-2)*rho_t)); adaptive_lr = "
             "(1/(sqrt(v)+eps))*sqrt(bc2) (torch evaluates python_scalar/tensor as reciprocal(tensor)*scalar); "
             "p=p-(((mhat*lr)*adaptive_lr)*rect) else p=p-(mhat*lr). With default betas rho_t<=5 for t<=5 "
             "(un-rectified SGD-with-momentum steps) and >5 from t=6.",
    "NAdam": "torch.optim.NAdam (1.13, single-tensor): state step and mu_product are float32 scalar tensors "
             "(mu_product starts at 1.0) even for float64 params; t+=1 (t = step.item()); bc2=1-b2**t (python "
             "double); if wd: g=g+wd*p; mu=b1*(1-0.5*0.96**(t*momentum_decay)); "
             "mu_next=b1*(1-0.5*0.96**((t+1)*momentum_decay)) (python doubles); "
             "mu_product=fl32(mu_product*fl32(mu)); mu_product_next=fl32(fl32(mu_product*fl32(mu))*fl32(mu_next)) "
             "(NOTE torch 1.13 multiplies the already-updated mu_product by mu a second time: "
             "mu_product_next = mu_product * mu * mu_next, float32 tensor arithmetic, the python scalars rounded to "
             "float32 first); m=m*b1+(1-b1)*g; v=v*b2+((1-b2)*g)*g; denom=sqrt(v/bc2)+eps; "
             "p=p+((-lr*(1-mu)/(1-mu_product))*g)/denom; p=p+((-lr*mu_next/(1-mu_product_next))*m)/denom "
             "(the two coefficients are python doubles computed from mu_product.item() and mu_product_next.item(), "
             "then used in the working dtype)",
}


def cfg(name, cls, **given):
    return {"name": name, "cls": cls, "given": given}


# name -> (optimizer class name, explicitly given hyperparameters); everything else = torch 1.13 default
TORCH_CONFIGS = [
    # public configurations (n=37 files exist in the public set; n=1024 versions are generated here)
    cfg("sgd_plain", "SGD", lr=0.01),
    cfg("sgd_momentum", "SGD", lr=0.01, momentum=0.9),
    cfg("sgd_momentum_dampening", "SGD", lr=0.01, momentum=0.9, dampening=0.1),
    cfg("sgd_momentum_weight_decay", "SGD", lr=0.01, momentum=0.9, weight_decay=0.01),
    cfg("adam_default", "Adam"),
    cfg("adam_lr1e-2_betas0.8-0.99_eps1e-6_wd0.1", "Adam", lr=0.01, betas=(0.8, 0.99), eps=1e-06, weight_decay=0.1),
    cfg("adamw_wd0.01", "AdamW", weight_decay=0.01),
    cfg("adamw_amsgrad_lr1e-2_wd0.1", "AdamW", lr=0.01, weight_decay=0.1, amsgrad=True),
    cfg("rmsprop_default", "RMSprop"),
    cfg("adagrad_default", "Adagrad"),
    cfg("adamax_default", "Adamax"),
    cfg("radam_default", "RAdam"),
    # README-table configurations that are not shipped publicly
    cfg("sgd_nesterov", "SGD", lr=0.01, momentum=0.9, nesterov=True),
    cfg("adam_amsgrad", "Adam", amsgrad=True),
    cfg("rmsprop_centered_momentum0.9_wd0.01", "RMSprop", centered=True, momentum=0.9, weight_decay=0.01),
    cfg("adagrad_lrdecay0.01_initacc0.1_wd0.01", "Adagrad", lr_decay=0.01, initial_accumulator_value=0.1,
        weight_decay=0.01),
    cfg("nadam_default", "NAdam"),
    # our own extra configurations
    cfg("sgd_maximize", "SGD", lr=0.01, momentum=0.9, maximize=True),
    cfg("adam_maximize_wd0.01", "Adam", maximize=True, weight_decay=0.01),
]
TORCH_CONFIG_BY_NAME = {c["name"]: c for c in TORCH_CONFIGS}

PUBLIC_TORCH = ["sgd_plain", "sgd_momentum", "sgd_momentum_dampening", "sgd_momentum_weight_decay", "adam_default",
                "adam_lr1e-2_betas0.8-0.99_eps1e-6_wd0.1", "adamw_wd0.01", "adamw_amsgrad_lr1e-2_wd0.1",
                "rmsprop_default", "adagrad_default", "adamax_default", "radam_default"]
# what gets generated: (name, n)
NEW_TORCH = ["sgd_nesterov", "adam_amsgrad", "rmsprop_centered_momentum0.9_wd0.01",
             "adagrad_lrdecay0.01_initacc0.1_wd0.01", "nadam_default", "sgd_maximize", "adam_maximize_wd0.01"]
PUBLIC_TORCH_1024 = ["sgd_plain", "sgd_momentum", "adam_default", "adamw_wd0.01", "adamax_default", "radam_default",
                     "rmsprop_default", "adagrad_default"]
# public configurations whose n=1024 versions are only written with --all-public-1024 (size)
PUBLIC_TORCH_1024_OPTIONAL = ["sgd_momentum_dampening", "sgd_momentum_weight_decay",
                              "adam_lr1e-2_betas0.8-0.99_eps1e-6_wd0.1", "adamw_amsgrad_lr1e-2_wd0.1"]


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def run_torch(config, p0, g, dtype):
    torch.set_num_threads(1)
    tdt = TORCH_DTYPE[dtype]
    cls = getattr(torch.optim, config["cls"])
    kwargs = dict(config["given"])
    kwargs["foreach"] = False
    if config["cls"] == "SGD":
        kwargs.setdefault("lr", 0.01)
    param = torch.nn.Parameter(torch.tensor(p0, dtype=tdt))
    opt = cls([param], **kwargs)
    traj = []
    for t in range(STEPS):
        param.grad = torch.tensor(g[t], dtype=tdt)
        opt.step()
        traj.append(param.detach().clone().numpy())
    hp = {k: _plain(v) for k, v in opt.param_groups[0].items() if k != "params"}
    state, state_dtypes = {}, {}
    for k, v in opt.state[param].items():
        if v is None:
            state[k], state_dtypes[k] = None, "NoneType"
        elif isinstance(v, torch.Tensor):
            if v.dim() == 0:
                state[k], state_dtypes[k] = float(v.item()), torch_dtype_name(v) + "[scalar]"
            else:
                state[k] = flist(v.detach().numpy())
                state_dtypes[k] = "%s[%s]" % (torch_dtype_name(v), ",".join(str(s) for s in v.shape))
        elif isinstance(v, bool):
            raise TypeError(k)
        elif isinstance(v, int):
            state[k], state_dtypes[k] = v, "int"
        elif isinstance(v, float):
            state[k], state_dtypes[k] = v, "float"
        else:
            raise TypeError("unexpected state entry %s: %r" % (k, type(v)))
    return np.array(traj), hp, state, state_dtypes


# ---- independent numpy re-implementations of the formulas (cross check only, never written as reference) ----

def numpy_optimizer(cls, hp, p0, g, dtype, pure_float64_mu_product=False):
    dt = NP_DTYPE[dtype]

    def S(x):  # a python-double scalar as torch uses it in a kernel of the working dtype
        return dt(x)

    p = p0.astype(dt)
    n = p.shape[0]
    z = np.zeros(n, dtype=dt)
    maximize = hp.get("maximize", False)
    wd = hp.get("weight_decay", 0)
    traj = []
    m, v, vmax, buf, ga = z.copy(), z.copy(), z.copy(), None, z.copy()
    if cls == "Adagrad":
        acc = np.full(n, hp["initial_accumulator_value"], dtype=dt)
    if cls == "RMSprop":
        buf = z.copy()
    mu_product = np.float32(1.0) if not pure_float64_mu_product else 1.0
    for t0 in range(STEPS):
        t = t0 + 1
        gr = g[t0].astype(dt)
        if maximize:
            gr = -gr
        if cls == "SGD":
            d = gr
            if wd != 0:
                d = d + S(wd) * p
            mom = hp["momentum"]
            if mom != 0:
                if buf is None:
                    buf = d.copy()
                else:
                    buf = buf * S(mom) + S(1 - hp["dampening"]) * d
                d = d + S(mom) * buf if hp["nesterov"] else buf
            p = p + S(-hp["lr"]) * d
        elif cls in ("Adam", "AdamW"):
            b1, b2 = hp["betas"]
            lr = hp["lr"]
            if cls == "AdamW":
                p = p * S(1 - lr * wd)
            elif wd != 0:
                gr = gr + S(wd) * p
            m = m * S(b1) + S(1 - b1) * gr
            v = v * S(b2) + (S(1 - b2) * gr) * gr
            bc1 = 1 - b1 ** t
            bc2 = 1 - b2 ** t
            if hp["amsgrad"]:
                vmax = np.maximum(vmax, v)
                denom = np.sqrt(vmax) / S(math.sqrt(bc2)) + S(hp["eps"])
            else:
                denom = np.sqrt(v) / S(math.sqrt(bc2)) + S(hp["eps"])
            p = p + (S(-(lr / bc1)) * m) / denom
        elif cls == "RMSprop":
            alpha = hp["alpha"]
            if wd != 0:
                gr = gr + S(wd) * p
            v = v * S(alpha) + (S(1 - alpha) * gr) * gr
            if hp["centered"]:
                ga = ga * S(alpha) + S(1 - alpha) * gr
                avg = np.sqrt(v - ga * ga)
            else:
                avg = np.sqrt(v)
            avg = avg + S(hp["eps"])
            if hp["momentum"] > 0:
                buf = buf * S(hp["momentum"]) + gr / avg
                p = p + S(-hp["lr"]) * buf
            else:
                p = p + (S(-hp["lr"]) * gr) / avg
        elif cls == "Adagrad":
            if wd != 0:
                gr = gr + S(wd) * p
            clr = hp["lr"] / (1 + (t - 1) * hp["lr_decay"])
            acc = acc + gr * gr
            std = np.sqrt(acc) + S(hp["eps"])
            p = p + (S(-clr) * gr) / std
        elif cls == "Adamax":
            b1, b2 = hp["betas"]
            if wd != 0:
                gr = gr + S(wd) * p
            m = m * S(b1) + S(1 - b1) * gr
            v = np.maximum(v * S(b2), np.abs(gr) + S(hp["eps"]))
            clr = hp["lr"] / (1 - b1 ** t)
            p = p + (S(-clr) * m) / v
        elif cls == "RAdam":
            b1, b2 = hp["betas"]
            lr = hp["lr"]
            bc1 = 1 - b1 ** t
            bc2 = 1 - b2 ** t
            if wd != 0:
                gr = gr + S(wd) * p
            m = m * S(b1) + S(1 - b1) * gr
            v = v * S(b2) + (S(1 - b2) * gr) * gr
            mhat = m / S(bc1)
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = (dt(1) / (np.sqrt(v) + S(hp["eps"]))) * S(math.sqrt(bc2))
                p = p - (((mhat * S(lr)) * adaptive) * S(rect))
            else:
                p = p - mhat * S(lr)
        elif cls == "NAdam":
            b1, b2 = hp["betas"]
            lr, md = hp["lr"], hp["momentum_decay"]
            bc2 = 1 - b2 ** t
            if wd != 0:
                gr = gr + S(wd) * p
            mu = b1 * (1.0 - 0.5 * (0.96 ** (t * md)))
            mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * md)))
            if pure_float64_mu_product:
                mu_product = mu_product * mu
                mu_product_next = mu_product * mu * mu_next
            else:
                mu_product = np.float32(mu_product * np.float32(mu))
                mu_product_next = np.float32(np.float32(mu_product * np.float32(mu)) * np.float32(mu_next))
            m = m * S(b1) + S(1 - b1) * gr
            v = v * S(b2) + (S(1 - b2) * gr) * gr
            denom = np.sqrt(v / S(bc2)) + S(hp["eps"])
            p = p + (S(-lr * (1.0 - mu) / (1.0 - float(mu_product))) * gr) / denom
            p = p + (S(-lr * mu_next / (1.0 - float(mu_product_next))) * m) / denom
        else:
            raise ValueError(cls)
        traj.append(p.copy())
    extra = {"mu_product": float(mu_product)} if cls == "NAdam" else {}
    return np.array(traj), extra


def compare(a, b, p0):
    """a vs expected b (steps x n); H_i from b's history including the initial value."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = np.abs(a - b)
    H = np.maximum(np.abs(np.asarray(p0, dtype=np.float64)), np.abs(b).max(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        over_h = np.where(d == 0, 0.0, d / np.where(H > 0, H, np.inf))
    return {
        "max_abs_diff_params": float(d.max()),
        "max_rel_diff_params_floor_1e-3": float((d / np.maximum(np.abs(b), 1e-3)).max()),
        "max_diff_over_element_history_max": float(over_h.max()),
    }


def torch_file(config, n, dtype, p0, g, traj64=None):
    traj, hp, state, state_dtypes = run_torch(config, p0, g, dtype)
    formula = FORMULAS[config["cls"]]
    if hp.get("maximize"):
        formula += MAXIMIZE_NOTE
    d = {
        "name": config["name"],
        "source": "torch 1.13.1",
        "optimizer": "torch.optim." + config["cls"],
        "hyperparameters": hp,
        "dtype": dtype,
        "n": n,
        "steps": STEPS,
        "formula": formula,
        "inputs": {
            "generator": "numpy.random.default_rng(%d) (PCG64); see README 'Inputs'" % SEEDS[n],
            "initial_params_all_zero": False,
            "exactly_representable_in_float32": True,
        },
        "initial_params": flist(p0),
        "grads": [flist(r) for r in g],
        "params_after_step": [flist(r) for r in traj],
        "final_state": state,
        "final_state_dtypes": state_dtypes,
    }
    # cross check: independent numpy re-implementation of the formula, same dtype
    np_traj, np_extra = numpy_optimizer(config["cls"], hp, p0, g, dtype)
    cc = {"what": "independent numpy re-implementation of the formula in 'formula' (same dtype, no FMA) vs the "
                  "torch trajectory"}
    cc.update(compare(np_traj, traj, p0))
    cc["fraction_of_values_bitwise_equal"] = float(np.mean(traj == np_traj))
    if config["cls"] == "NAdam":
        cc["numpy_mu_product_equals_torch"] = bool(np_extra["mu_product"] == state["mu_product"])
        if dtype == "float64":
            alt, _ = numpy_optimizer("NAdam", hp, p0, g, dtype, pure_float64_mu_product=True)
            r = compare(alt, traj, p0)
            for k, val in r.items():
                cc["pure_float64_mu_product_" + k] = val
            d["non_normative_alt_params_after_step_pure_float64_mu_product"] = [flist(r_) for r_ in alt]
    d["cross_check"] = cc
    if dtype == "float32" and traj64 is not None:
        d["float32_vs_float64"] = f32_vs_f64(traj, traj64, p0)
    d["environment"] = ENV
    return d, traj


def f32_vs_f64(traj32, traj64, p0):
    r = compare(traj32, traj64, p0)
    a = np.asarray(traj32[-1], dtype=np.float64)
    b = np.asarray(traj64[-1], dtype=np.float64)
    r["final_max_rel_diff_floor_1e-3"] = float((np.abs(a - b) / np.maximum(np.abs(b), 1e-3)).max())
    return r


# ----------------------------------------------------------------------------------------------------------
# Paper optimizers (numpy, README + public files' formula/source_detail)
# ----------------------------------------------------------------------------------------------------------

LION_TEXT = ("Lion, Chen et al. 2023 'Symbolic Discovery of Optimization Algorithms' (arXiv:2302.06675) Algorithm 2, "
             "numpy: c=b1*m+(1-b1)*g; u=sign(c)+wd*p (sign(0)=0); p=p-lr*u; m=b2*m+(1-b2)*g. m starts at 0.")
LAMB_TEXT = ("LAMB, You et al. 2019 'Large Batch Optimization for Deep Learning' (arXiv:1904.00962) Algorithm 2 with "
             "bias correction, one layer = the whole vector, phi=identity, numpy: t+=1; m=b1*m+(1-b1)*g; "
             "v=b2*v+((1-b2)*g)*g; mhat=m/(1-b1**t); vhat=v/(1-b2**t); r=mhat/(sqrt(vhat)+eps); u=r+wd*p; "
             "w_norm=||p||_2; u_norm=||u||_2; trust_ratio = w_norm/u_norm if (w_norm>0 and u_norm>0) else 1.0; "
             "p=p-(lr*trust_ratio)*u. Norms: sqrt of a float64 sum of squares, rounded once to the working dtype.")


def norm_f64(x, dt):
    x64 = x.astype(np.float64)
    return dt(math.sqrt(float(np.sum(x64 * x64))))


def lion(hp, p0, g, dtype, reorder=False):
    dt = NP_DTYPE[dtype]
    lr, (b1, b2), wd = hp["lr"], hp["betas"], hp["weight_decay"]
    p = p0.astype(dt)
    m = np.zeros_like(p)
    traj = []
    for t in range(STEPS):
        gr = g[t].astype(dt)
        c = dt(b1) * m + dt(1 - b1) * gr
        if reorder:  # lucidrains/lion-pytorch order
            p = p * dt(1 - lr * wd)
            p = p - dt(lr) * np.sign(c)
        else:
            u = np.sign(c) + dt(wd) * p
            p = p - dt(lr) * u
        m = dt(b2) * m + dt(1 - b2) * gr
        traj.append(p.copy())
    return np.array(traj), {"exp_avg": m}, None


def lamb(hp, p0, g, dtype, reorder=False):
    dt = NP_DTYPE[dtype]
    lr, (b1, b2), eps, wd = hp["lr"], hp["betas"], hp["eps"], hp["weight_decay"]
    p = p0.astype(dt)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    step = dt(0)
    traj, trs = [], []
    for t0 in range(STEPS):
        step = step + dt(1)
        t = t0 + 1
        gr = g[t0].astype(dt)
        m = dt(b1) * m + dt(1 - b1) * gr
        v = dt(b2) * v + (dt(1 - b2) * gr) * gr
        mhat = m / dt(1 - b1 ** t)
        vhat = v / dt(1 - b2 ** t)
        r = mhat / (np.sqrt(vhat) + dt(eps))
        u = r + dt(wd) * p
        if reorder:  # cross-check variant: norms in the working dtype, lr*(tr*u)
            w_norm, u_norm = dt(np.linalg.norm(p)), dt(np.linalg.norm(u))
        else:
            w_norm, u_norm = norm_f64(p, dt), norm_f64(u, dt)
        tr = w_norm / u_norm if (w_norm > 0 and u_norm > 0) else dt(1.0)
        if reorder:
            p = p - dt(lr) * (tr * u)
        else:
            p = p - (dt(lr) * tr) * u
        trs.append(float(tr))
        traj.append(p.copy())
    return np.array(traj), {"exp_avg": m, "exp_avg_sq": v, "step": step}, trs


LAMB_CC = ("same algorithm with np.linalg.norm in the working dtype and p=p-lr*(trust_ratio*u), same dtype "
           "(this generator's variant: norms = working-dtype np.linalg.norm, trust_ratio a working-dtype division; "
           "the public files' cross-check variant differs in rounding details, so these numbers are only "
           "indicative)")


PAPER_CONFIGS = {
    "lion_lr1e-3_betas0.9-0.99_wd0.1": {"optimizer": "Lion", "fn": lion, "text": LION_TEXT, "zero_init": False,
                                        "hp": {"lr": 0.001, "betas": [0.9, 0.99], "weight_decay": 0.1},
                                        "cc": "same algorithm evaluated in the lucidrains/lion-pytorch order "
                                              "(p=p*(1-lr*wd); p=p-lr*sign(c)), same dtype"},
    "lamb_lr1e-3_wd0.01": {"optimizer": "LAMB", "fn": lamb, "text": LAMB_TEXT, "zero_init": False,
                           "hp": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-06, "weight_decay": 0.01},
                           "cc": LAMB_CC},
    "lamb_zero_init_lr1e-3_wd0.01": {"optimizer": "LAMB", "fn": lamb, "text": LAMB_TEXT, "zero_init": True,
                                     "hp": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-06, "weight_decay": 0.01},
                                     "cc": LAMB_CC},
}


def paper_file(name, n, dtype, p0_std, g, traj64=None):
    c = PAPER_CONFIGS[name]
    p0 = np.zeros_like(p0_std) if c["zero_init"] else p0_std
    traj, state, trs = c["fn"](c["hp"], p0, g, dtype)
    alt, _, _ = c["fn"](c["hp"], p0, g, dtype, reorder=True)
    detail = "paper reference, not torch. " + c["text"]
    if c["zero_init"]:
        detail += (" Initial params are all zero (the generated inputs' grads are used unchanged): on step 1 "
                   "w_norm=0, so trust_ratio=1.")
    d = {
        "name": name,
        "source": "paper",
        "optimizer": c["optimizer"],
        "source_detail": detail,
        "hyperparameters": c["hp"],
        "dtype": dtype,
        "n": n,
        "steps": STEPS,
        "formula": c["text"],
        "inputs": {
            "generator": "numpy.random.default_rng(%d) (PCG64); see README 'Inputs'" % SEEDS[n],
            "initial_params_all_zero": bool(c["zero_init"]),
            "exactly_representable_in_float32": True,
        },
        "initial_params": flist(p0),
        "grads": [flist(r) for r in g],
        "params_after_step": [flist(r) for r in traj],
        "final_state": {k: (flist(v) if np.ndim(v) else float(v)) for k, v in state.items()},
        "final_state_dtypes": {k: dtype for k in state},
    }
    if trs is not None:
        d["trust_ratio_per_step"] = trs
    cc = {"what": c["cc"]}
    cc.update(compare(alt, traj, p0))
    cc["fraction_of_values_bitwise_equal"] = float(np.mean(traj == alt))
    d["cross_check"] = cc
    if dtype == "float32" and traj64 is not None:
        d["float32_vs_float64"] = f32_vs_f64(traj, traj64, p0)
    d["environment"] = ENV
    return d, traj


# ----------------------------------------------------------------------------------------------------------
# LR schedulers
# ----------------------------------------------------------------------------------------------------------

INDEX_DEFINITION = ("lrs[k] = optimizer.param_groups[0]['lr'] (== scheduler.get_last_lr()[0]) after k calls of "
                    "scheduler.step() (each preceded by optimizer.step()); lrs[0] is the lr used by the first "
                    "optimizer step.")
ONECYCLE_INDEX_NOTE = (" momentum[k] = optimizer.param_groups[0]['momentum'] (SGD) or ['betas'][0] (Adam) at the "
                       "same point.")

LR_FORMULAS = {
    "StepLR": "lr_k = base_lr * gamma ** floor(k / step_size)  (torch evaluates it recursively: multiply by gamma "
              "when k % step_size == 0, k>0)",
    "MultiStepLR": "lr_k = base_lr * gamma ** bisect_right(milestones, k)  (torch evaluates it recursively: multiply "
                   "by gamma**(number of occurrences of k in milestones) when k is a milestone)",
    "PolynomialLR": "closed form lr_k = base_lr * (1 - min(total_iters, k) / total_iters) ** power; torch 1.13 "
                    "get_lr() is recursive: lr_k = lr_{k-1} * ((1 - k/total_iters) / (1 - (k-1)/total_iters)) ** power "
                    "for 0 < k <= total_iters, else lr_{k-1}",
    "ConstantLR": "lr_k = base_lr * factor for k < total_iters, base_lr for k >= total_iters (torch: recursive, "
                  "lr_0 = base_lr*factor, lr_{total_iters} = lr_{total_iters-1} * (1/factor), else unchanged)",
    "ExponentialLR": "lr_k = base_lr * gamma ** k  (torch: recursive lr_{k} = lr_{k-1} * gamma)",
    "LinearLR": "factor_k = start_factor + (end_factor - start_factor) * min(k, total_iters) / total_iters; "
                "lr_k = base_lr * factor_k (torch: recursive multiplicative form)",
    "CosineAnnealingLR": "closed form lr_k = eta_min + (base_lr - eta_min) * (1 + cos(pi * k / T_max)) / 2; torch "
                         "1.13 get_lr() uses the recursive (chainable) form, which continues periodically past T_max "
                         "(lr rises again, period 2*T_max). 'lrs' are torch's recursive values, 'closed_form_lrs' "
                         "the closed form.",
    "CosineAnnealingWarmRestarts": "lr_k = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2 where, "
                                   "per scheduler.step(): T_cur += 1; if T_cur >= T_i: T_cur -= T_i, T_i *= T_mult "
                                   "(T_cur=0, T_i=T_0 at k=0). Restarts (lr=base_lr) at k = T_0, T_0+T_0*T_mult, ... "
                                   "torch computes it in closed form per cycle (no _get_closed_form_lr).",
    "OneCycleLR": "torch 1.13 OneCycleLR (non-recursive): initial_lr = max_lr/div_factor (overwrites the optimizer's "
                  "lr; base_lr below is this initial_lr), min_lr = initial_lr/final_div_factor; phases by step index "
                  "k: two-phase: [0, pct_start*total_steps-1] initial_lr->max_lr, then -> min_lr at total_steps-1; "
                  "three_phase: initial_lr->max_lr until pct_start*total_steps-1, max_lr->initial_lr until "
                  "2*pct_start*total_steps-2, initial_lr->min_lr until total_steps-1. Within a phase "
                  "pct=(k-start)/(end-start); cos: end+(start-end)/2*(1+cos(pi*pct)); linear: (end-start)*pct+start. "
                  "With cycle_momentum the momentum (SGD 'momentum' or Adam betas[0]) follows the same phases "
                  "inverted: max_momentum->base_momentum->max_momentum (three_phase: ...->max_momentum->max_momentum).",
    "SequentialLR": "torch 1.13 SequentialLR: construction resets lr to initial_lr, decrements every child's last_epoch "
                    "and re-runs the first child's initial step; scheduler.step(): idx = bisect_right(milestones, k); "
                    "at k == milestones[idx-1] the child is stepped with step(0) (deprecated epoch argument -> its "
                    "_get_closed_form_lr at epoch 0, i.e. base_lr restart), otherwise child.step() (recursive).",
}


def _resolved_args(cls, given):
    out = {}
    for pname, par in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "optimizer", "last_epoch", "verbose", "schedulers"):
            continue
        if pname in given:
            out[pname] = given[pname]
        elif par.default is not inspect.Parameter.empty:
            out[pname] = par.default
    return {k: _plain(v) for k, v in out.items()}


def sched(name, scheduler, given, opt_cls="SGD", opt_hp=None, children=None):
    return {"name": name, "scheduler": scheduler, "given": given, "opt_cls": opt_cls,
            "opt_hp": opt_hp if opt_hp is not None else {"lr": 0.1}, "children": children}


SCHED_CONFIGS = [
    # public
    sched("steplr_step10_gamma0.5", "StepLR", {"step_size": 10, "gamma": 0.5}),
    sched("exponentiallr_gamma0.95", "ExponentialLR", {"gamma": 0.95}),
    sched("cosineannealinglr_tmax50_etamin0", "CosineAnnealingLR", {"T_max": 50, "eta_min": 0.0}),
    sched("linearlr_warmup_start0.1_iters10", "LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 10}),
    # new
    sched("multisteplr_milestones10-25-40_gamma0.5", "MultiStepLR", {"milestones": [10, 25, 40], "gamma": 0.5}),
    sched("constantlr_factor0.5_iters5", "ConstantLR", {"factor": 0.5, "total_iters": 5}),
    sched("cosineannealingwarmrestarts_t0_10_tmult2_etamin0.001", "CosineAnnealingWarmRestarts",
          {"T_0": 10, "T_mult": 2, "eta_min": 0.001}),
    sched("cosineannealingwarmrestarts_t0_7", "CosineAnnealingWarmRestarts", {"T_0": 7}),
    sched("cosineannealinglr_tmax20_etamin0.01", "CosineAnnealingLR", {"T_max": 20, "eta_min": 0.01}),
    sched("onecyclelr_maxlr0.1_total50", "OneCycleLR", {"max_lr": 0.1, "total_steps": 50},
          opt_hp={"lr": 0.1, "momentum": 0.9}),
    sched("onecyclelr_adam_linear_threephase", "OneCycleLR",
          {"max_lr": 0.01, "total_steps": 50, "anneal_strategy": "linear", "three_phase": True},
          opt_cls="Adam", opt_hp={"lr": 0.001}),
    sched("sequentiallr_linear_warmup5_cosine", "SequentialLR", {"milestones": [5]},
          children=[("LinearLR", {"start_factor": 0.1, "total_iters": 5}), ("CosineAnnealingLR", {"T_max": 45})]),
    sched("sequentiallr_constant_exponential", "SequentialLR", {"milestones": [2]},
          children=[("ConstantLR", {"factor": 0.1, "total_iters": 2}), ("ExponentialLR", {"gamma": 0.9})]),
    sched("polynomiallr_iters20_power2", "PolynomialLR", {"total_iters": 20, "power": 2.0}),
]
PUBLIC_SCHED = ["steplr_step10_gamma0.5", "exponentiallr_gamma0.95", "cosineannealinglr_tmax50_etamin0",
                "linearlr_warmup_start0.1_iters10"]


def run_schedule(c):
    LRS = torch.optim.lr_scheduler
    torch.set_num_threads(1)
    dummy = torch.nn.Parameter(torch.zeros(1))
    opt = getattr(torch.optim, c["opt_cls"])([dummy], **c["opt_hp"])
    if c["scheduler"] == "SequentialLR":
        kids = [getattr(LRS, cn)(opt, **cg) for cn, cg in c["children"]]
        s = LRS.SequentialLR(opt, schedulers=kids, **c["given"])
        hp = {"schedulers": [{"scheduler": cn, "hyperparameters": _resolved_args(getattr(LRS, cn), cg)}
                             for cn, cg in c["children"]],
              "milestones": list(c["given"]["milestones"])}
        base_lr = opt.param_groups[0]["initial_lr"]
    else:
        cls = getattr(LRS, c["scheduler"])
        s = cls(opt, **c["given"])
        hp = _resolved_args(cls, c["given"])
        base_lr = s.base_lrs[0]
    closed = hasattr(s, "_get_closed_form_lr")
    use_beta = "betas" in opt.param_groups[0]

    def mom():
        pg = opt.param_groups[0]
        return pg["betas"][0] if use_beta else pg["momentum"]

    lrs, cls_lrs, moms = [], [], []
    for k in range(SCHED_STEPS):
        if k > 0:
            dummy.grad = torch.zeros(1)
            opt.step()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SequentialLR's step(0) emits the epoch deprecation warning
                s.step()
        lrs.append(float(opt.param_groups[0]["lr"]))
        assert lrs[-1] == s.get_last_lr()[0]
        if closed:
            cls_lrs.append(float(s._get_closed_form_lr()[0]))
        moms.append(float(mom()))
    d = {
        "name": c["name"],
        "source": "torch 1.13.1",
        "scheduler": "torch.optim.lr_scheduler." + c["scheduler"],
        "hyperparameters": hp,
        "optimizer": "torch.optim." + c["opt_cls"],
        "optimizer_hyperparameters": c["opt_hp"],
        "base_lr": float(base_lr),
        "steps": SCHED_STEPS,
        "index_definition": INDEX_DEFINITION + (ONECYCLE_INDEX_NOTE if c["scheduler"] == "OneCycleLR" else ""),
        "formula": LR_FORMULAS[c["scheduler"]],
        "lrs": lrs,
    }
    if c["scheduler"] == "OneCycleLR":
        d["momentum"] = moms
    if closed:
        d["closed_form_lrs"] = cls_lrs
        d["max_abs_diff_recursive_vs_closed_form"] = float(max(abs(a - b) for a, b in zip(lrs, cls_lrs)))
    d["environment"] = ENV
    return d


# ----------------------------------------------------------------------------------------------------------
# Verification against the public files
# ----------------------------------------------------------------------------------------------------------

def bits(a, dtype):
    return np.asarray(a, dtype=NP_DTYPE[dtype]).view(np.uint32 if dtype == "float32" else np.uint64)


def same_bits(a, b, dtype):
    return np.array_equal(bits(a, dtype), bits(b, dtype))


def load(path):
    with open(path) as f:
        return json.load(f)


def byte_identical(d, path, take_from_public=()):
    """Serialise d like the generator does, with 'environment' (machine-specific) and the fields named in
    take_from_public copied from the public file, and compare with the public file byte for byte."""
    with open(path) as f:
        text = f.read()
    pub = json.loads(text)
    d = dict(d)
    for k in ("environment",) + tuple(take_from_public):
        if k in pub:
            d[k] = pub[k]
        else:
            d.pop(k, None)
    return to_json(d) + "\n" == text


def verify_inputs(ref, log):
    p0, g = make_inputs(37)
    pub = load(os.path.join(ref, "optimizers", "adam_default__n37__float32.json"))
    assert same_bits(p0, pub["initial_params"], "float32"), "initial_params differ from the public file"
    assert same_bits(g, pub["grads"], "float32"), "grads differ from the public file"
    # every public n=37 file (torch and paper) carries the same inputs (paper zero-init aside)
    checked = 0
    for fn in sorted(os.listdir(os.path.join(ref, "optimizers"))):
        d = load(os.path.join(ref, "optimizers", fn))
        assert d["n"] == 37
        assert same_bits(g, d["grads"], "float32"), fn
        if not d["inputs"]["initial_params_all_zero"]:
            assert same_bits(p0, d["initial_params"], "float32"), fn
        checked += 1
    log.append("inputs n=37: initial_params and grads bit-identical to all %d public optimizer files" % checked)


def _state_equal(mine, pub):
    if set(mine) != set(pub):
        return False
    for k in pub:
        a, b = mine[k], pub[k]
        if isinstance(b, list):
            if not np.array_equal(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)):
                return False
        elif a != b:
            return False
    return True


def verify_torch(ref, log):
    p0, g = make_inputs(37)
    for name in PUBLIC_TORCH:
        trajs = {}
        for dtype in ("float64", "float32"):
            path = os.path.join(ref, "optimizers", "%s__n37__%s.json" % (name, dtype))
            pub = load(path)
            d, traj = torch_file(TORCH_CONFIG_BY_NAME[name], 37, dtype, p0, g, trajs.get("float64"))
            trajs[dtype] = traj
            exp = np.array(pub["params_after_step"], dtype=np.float64)
            got = np.array(d["params_after_step"], dtype=np.float64)
            maxdiff = float(np.abs(exp - got).max())
            assert maxdiff == 0.0 and same_bits(got, exp, dtype), "%s %s: max diff %r" % (name, dtype, maxdiff)
            assert d["hyperparameters"] == pub["hyperparameters"], (name, d["hyperparameters"], pub["hyperparameters"])
            assert d["final_state_dtypes"] == pub["final_state_dtypes"], (name, dtype)
            assert _state_equal(d["final_state"], pub["final_state"]), (name, dtype)
            assert list(d["final_state"]) == list(pub["final_state"]), (name, dtype)
            assert d["optimizer"] == pub["optimizer"] and d["formula"] == pub["formula"], name
            # our float32-vs-float64 measure must equal the published one (same definition)
            if dtype == "float32":
                for k, v in pub["float32_vs_float64"].items():
                    assert math.isclose(d["float32_vs_float64"][k], v, rel_tol=1e-9, abs_tol=0), (name, k)
            for k, v in pub["cross_check"].items():
                if k != "what":
                    assert math.isclose(d["cross_check"][k], v, rel_tol=1e-9, abs_tol=0), (name, dtype, k)
            check_against_table(readme_table(ref), d, [], strict_ab=True)
            assert byte_identical(d, path), (name, dtype, "not byte-identical")
            cc_note = "cross_check(ours/public) max_diff_over_H %.3g/%.3g bitwise %.4f/%.4f" % (
                d["cross_check"]["max_diff_over_element_history_max"],
                pub["cross_check"]["max_diff_over_element_history_max"],
                d["cross_check"]["fraction_of_values_bitwise_equal"],
                pub["cross_check"]["fraction_of_values_bitwise_equal"])
            log.append("EXACT  %s__n37__%s.json (whole file byte-identical apart from 'environment': "
                       "params_after_step bit-identical, final_state, dtypes, "
                       "hyperparameters, cross_check equal%s); %s" % (name, dtype,
                                                         ", float32_vs_float64 equal" if dtype == "float32" else "",
                                                         cc_note))


def verify_paper(ref, log):
    p0, g = make_inputs(37)
    for name in ("lion_lr1e-3_betas0.9-0.99_wd0.1", "lamb_lr1e-3_wd0.01"):
        trajs = {}
        for dtype in ("float64", "float32"):
            path = os.path.join(ref, "optimizers", "%s__n37__%s.json" % (name, dtype))
            pub = load(path)
            d, traj = paper_file(name, 37, dtype, p0, g, trajs.get("float64"))
            assert byte_identical(d, path, () if name.startswith("lion") else ("cross_check",)), (name, dtype)
            trajs[dtype] = traj
            exp = np.array(pub["params_after_step"], dtype=np.float64)
            got = np.array(d["params_after_step"], dtype=np.float64)
            maxdiff = float(np.abs(exp - got).max())
            assert maxdiff == 0.0 and same_bits(got, exp, dtype), "%s %s: max diff %r" % (name, dtype, maxdiff)
            assert _state_equal(d["final_state"], pub["final_state"]), (name, dtype)
            assert d["final_state_dtypes"] == pub["final_state_dtypes"], (name, dtype)
            assert d["hyperparameters"] == pub["hyperparameters"]
            assert d["formula"] == pub["formula"] and d["source_detail"] == pub["source_detail"]
            if "trust_ratio_per_step" in pub:
                assert d["trust_ratio_per_step"] == pub["trust_ratio_per_step"], (name, dtype)
            if name.startswith("lion"):
                assert d["cross_check"]["what"] == pub["cross_check"]["what"]
            cc_note = "; cross_check(ours/public, non-normative) max_diff_over_H %.3g/%.3g" % (
                d["cross_check"]["max_diff_over_element_history_max"],
                pub["cross_check"]["max_diff_over_element_history_max"])
            if dtype == "float32":
                for k, v in pub["float32_vs_float64"].items():
                    assert math.isclose(d["float32_vs_float64"][k], v, rel_tol=1e-9, abs_tol=0), (name, k)
            log.append("EXACT  %s__n37__%s.json (whole file byte-identical%s: params_after_step bit-identical; "
                       "final_state%s%s equal)%s" % (
                name, dtype, " apart from our extra 'environment' field" + (
                    "" if name.startswith("lion") else " and the non-normative cross_check"),
                ", trust_ratio_per_step" if "trust_ratio_per_step" in pub else "",
                ", float32_vs_float64" if dtype == "float32" else "", cc_note))


def verify_schedules(ref, log):
    by = {c["name"]: c for c in SCHED_CONFIGS}
    for name in PUBLIC_SCHED:
        path = os.path.join(ref, "lr_schedulers", name + ".json")
        pub = load(path)
        d = run_schedule(by[name])
        assert byte_identical(d, path), name
        for k in ("scheduler", "hyperparameters", "optimizer", "optimizer_hyperparameters", "base_lr", "steps",
                  "index_definition", "formula", "lrs", "closed_form_lrs", "max_abs_diff_recursive_vs_closed_form"):
            assert d[k] == pub[k], (name, k, d[k], pub[k])
        log.append("EXACT  lr_schedulers/%s.json (whole file byte-identical apart from 'environment': lrs, "
                   "closed_form_lrs, max_abs_diff, hyperparameters, formula)" % name)


def readme_table(ref):
    """(name, n, dtype) -> (A, B, C, D) strings from the public README's cross-check table."""
    rows = {}
    with open(os.path.join(ref, "README.md")) as f:
        for line in f:
            parts = [x.strip() for x in line.strip().strip("|").split("|")]
            if len(parts) == 7 and parts[2] in DTYPES and parts[1].isdigit():
                rows[(parts[0], int(parts[1]), parts[2])] = tuple(parts[3:])
    return rows


def _g3(x):
    return "0" if x == 0 else "%.3g" % x


def check_against_table(table, d, log, strict_ab):
    """Compare a generated file's measures with the README's table row (printed there with 3 significant digits).
    (C), (D) (float32 vs float64 torch/paper trajectories) must match: they only depend on the runs themselves.
    (A), (B) also depend on the cross-check implementation; they must match for torch files (strict_ab)."""
    key = (d["name"], d["n"], d["dtype"])
    if key not in table:
        return None
    A, B, C, D = table[key]
    cc = d["cross_check"]
    mine_ab = (_g3(cc["max_rel_diff_params_floor_1e-3"]), _g3(cc["max_diff_over_element_history_max"]))
    ok_ab = mine_ab == (A, B)
    if d["dtype"] == "float32":
        f = d["float32_vs_float64"]
        mine_cd = (_g3(f["max_rel_diff_params_floor_1e-3"]), _g3(f["max_diff_over_element_history_max"]))
        assert mine_cd == (C, D), ("README table (C),(D) mismatch", key, mine_cd, (C, D))
    if strict_ab:
        assert ok_ab, ("README table (A),(B) mismatch", key, mine_ab, (A, B))
    log.append("README-table row %s n=%d %s: %s%s" % (
        key[0], key[1], key[2], "(C),(D) equal; " if d["dtype"] == "float32" else "",
        "(A),(B) equal" if ok_ab else "(A),(B) differ: ours %s vs table %s (non-normative cross-check variant)"
        % (mine_ab, (A, B))))
    return ok_ab


# ----------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", default=DEFAULT_REF)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--verify-only", action="store_true")
    ap.add_argument("--all-public-1024", action="store_true",
                    help="also write n=1024 files of the 4 remaining public torch configurations")
    args = ap.parse_args()

    torch.set_num_threads(1)
    global ENV
    ENV = environment()
    if ENV["aten_cpu_capability"] != "AVX2":
        print("WARNING: ATen CPU capability is %r, the public files were made with AVX2" % ENV["aten_cpu_capability"])

    log = []
    verify_inputs(args.reference, log)
    verify_torch(args.reference, log)
    verify_paper(args.reference, log)
    verify_schedules(args.reference, log)
    print("\n".join(log))
    print("all %d reproduction checks passed" % len(log))
    if args.verify_only:
        return

    opt_dir = os.path.join(args.out, "optimizers")
    sch_dir = os.path.join(args.out, "lr_schedulers")
    os.makedirs(opt_dir, exist_ok=True)
    os.makedirs(sch_dir, exist_ok=True)
    written = []
    inputs = {n: make_inputs(n) for n in (37, 1024)}
    # n=1024 inputs: the same construction must also hold for every file we write (sanity only)
    p1024, g1024 = inputs[1024]
    assert p1024.shape == (1024,) and g1024.shape == (STEPS, 1024)

    # maximize=True must equal minimising with negated gradients (bit for bit)
    for name, twin in (("sgd_maximize", cfg("t", "SGD", lr=0.01, momentum=0.9)),
                       ("adam_maximize_wd0.01", cfg("t", "Adam", weight_decay=0.01))):
        for n in (37, 1024):
            p0, g = inputs[n]
            for dtype in DTYPES:
                a = run_torch(TORCH_CONFIG_BY_NAME[name], p0, g, dtype)[0]
                b = run_torch(twin, p0, -g, dtype)[0]
                assert same_bits(a, b, dtype), (name, n, dtype)
        log.append("%s: torch trajectory (n=37, 1024; float32, float64) is bit-identical to %s(%s) run on -grads"
                   % (name, twin["cls"], ", ".join("%s=%s" % kv for kv in twin["given"].items())))

    table = readme_table(args.reference)
    gen_log = []
    jobs = [(name, n) for name in NEW_TORCH for n in (37, 1024)]
    jobs += [(name, 1024) for name in PUBLIC_TORCH_1024]
    if args.all_public_1024:
        jobs += [(name, 1024) for name in PUBLIC_TORCH_1024_OPTIONAL]
    for name, n in jobs:
        p0, g = inputs[n]
        traj64 = None
        for dtype in ("float64", "float32"):
            d, traj = torch_file(TORCH_CONFIG_BY_NAME[name], n, dtype, p0, g, traj64)
            traj64 = traj if dtype == "float64" else traj64
            check_against_table(table, d, gen_log, strict_ab=True)
            fn = "%s__n%d__%s.json" % (name, n, dtype)
            write_json(os.path.join(opt_dir, fn), d)
            written.append(("optimizers/" + fn, d))

    paper_jobs = [("lamb_zero_init_lr1e-3_wd0.01", 37), ("lamb_zero_init_lr1e-3_wd0.01", 1024),
                  ("lamb_lr1e-3_wd0.01", 1024), ("lion_lr1e-3_betas0.9-0.99_wd0.1", 1024)]
    for name, n in paper_jobs:
        p0, g = inputs[n]
        traj64 = None
        for dtype in ("float64", "float32"):
            d, traj = paper_file(name, n, dtype, p0, g, traj64)
            traj64 = traj if dtype == "float64" else traj64
            check_against_table(table, d, gen_log, strict_ab=False)
            if name.startswith("lamb_zero_init"):
                assert d["trust_ratio_per_step"][0] == 1.0
            fn = "%s__n%d__%s.json" % (name, n, dtype)
            write_json(os.path.join(opt_dir, fn), d)
            written.append(("optimizers/" + fn, d))

    for c in SCHED_CONFIGS:
        if c["name"] in PUBLIC_SCHED:
            continue
        d = run_schedule(c)
        fn = c["name"] + ".json"
        write_json(os.path.join(sch_dir, fn), d)
        written.append(("lr_schedulers/" + fn, d))

    print("\n".join(gen_log))
    log.extend(gen_log)
    write_readme(args.out, written, log)
    print("wrote %d data files to %s" % (len(written), args.out))


def write_readme(out, written, log):
    files = sorted(p for p, _ in written)
    manifest = {"set": "reference-extra", "generator": "conformance/src/test/python/generate_extra_reference.py",
                "files": []}
    for p in files:
        full = os.path.join(out, p)
        manifest["files"].append({"file": p, "bytes": os.path.getsize(full), "sha256": sha256(full)})
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    info = {p: d for p, d in written}
    rows = []
    for p in files:
        d = info[p]
        if p.startswith("optimizers/"):
            cc = d.get("cross_check", {})
            f3 = d.get("float32_vs_float64", {})
            rows.append("| %s | %s | %s | %s | %.3g | %s |" % (
                p, d["optimizer"], d["source"], os.path.getsize(os.path.join(out, p)),
                cc.get("max_diff_over_element_history_max", float("nan")),
                "%.3g" % f3["max_diff_over_element_history_max"] if f3 else "-"))
        else:
            rows.append("| %s | %s | %s | %s | - | - |" % (p, d["scheduler"].split(".")[-1], d["source"],
                                                           os.path.getsize(os.path.join(out, p))))
    env = ENV
    text = """# Extra reference vectors (golden data) -- generated locally

Provenance: every file here was generated by `conformance/src/test/python/generate_extra_reference.py`
(our own implementation of the procedure described in the public reference set's README.md
(`shared/reference/README.md`, the set whose files sit in `../reference/`); inputs, file format, field meanings and tolerances are exactly as documented there) using Debian's
`python3-torch` %(deb)s (`torch.__version__` = `%(tv)s`, CPU, ATen capability %(cap)s, 1 thread), numpy %(npv)s,
Python %(py)s on %(mach)s. Re-run with:

    /usr/bin/python3 conformance/src/test/python/generate_extra_reference.py

* torch files (`"source": "torch 1.13.1"`): torch.optim single-tensor path (`foreach=False`), 25 steps, float32 and
  float64, the README's inputs (seed 1337 for n=37, 2024 for n=1024). `hyperparameters` is torch's resolved
  `param_groups[0]` without `params`; `final_state`/`final_state_dtypes` are torch's state after the last step.
  `cross_check` = torch vs an independent numpy implementation of `formula` (few-ulp agreement expected, see the
  public README). NAdam float64 files also carry `non_normative_alt_params_after_step_pure_float64_mu_product` and
  `cross_check.pure_float64_mu_product_*` (a double-everywhere mu_product implementation vs torch).
* paper files (`"source": "paper"`, LAMB/Lion): numpy implementations of the formulas in the public files'
  `formula`/`source_detail`; in float32 every hyperparameter-derived scalar is computed in double and rounded once,
  norms are sqrt of a float64 sum of squares rounded once. `lamb_zero_init_*` starts from all-zero params
  (trust ratio = 1 on step 1; `trust_ratio_per_step[0] == 1.0`).
* LR schedules: 50 values, `lrs[k]` after k `scheduler.step()` calls each preceded by `optimizer.step()` on a
  dummy parameter with zero grad; `closed_form_lrs` only where torch has `_get_closed_form_lr`; OneCycleLR files
  also have `momentum` (SGD momentum or Adam betas[0]), and `base_lr` = the scheduler's base_lrs[0]
  (for OneCycleLR that is max_lr/div_factor, which replaces the optimizer's lr).
* Negative zeros: the generated inputs are normalised to +0.0 (as in the public files); outputs are written as
  produced.

What the script asserted before writing (it aborts otherwise):

%(log)s

Files (bytes); `MANIFEST.json` has sha256 sums. Column "cc/H" = cross_check max_diff_over_element_history_max,
"f32 vs f64 /H" = float32_vs_float64 max_diff_over_element_history_max.

| file | optimizer / scheduler | source | bytes | cc/H | f32 vs f64 /H |
|---|---|---|---|---|---|
%(rows)s
""" % {"deb": env["debian_package_python3-torch"], "tv": env["torch.__version__"], "cap": env["aten_cpu_capability"],
       "npv": env["numpy"], "py": env["python"], "mach": env["machine"],
       "log": "\n".join("* " + l for l in log), "rows": "\n".join(rows)}
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


ENV = None

if __name__ == "__main__":
    main()

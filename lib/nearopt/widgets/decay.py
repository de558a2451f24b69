"""Decay explorer: gradient descent on the real network near the optimum vs the quadratic model, and the
late-time rate set by the smallest nonzero eigenvalue, measured where it applies.

The quadratic model's loss is a sum of modes, L_n = ½ Σ_k λ_k c_k² (1 − ηλ_k)^{2n}; the late-time rate
−2 log max_k |1 − ηλ_k| (:func:`nearopt.late_time_rate`) describes the run only once the slowest mode carries
most of the loss.  The explorer measures the real network's rate over exactly that window (the slowest mode
≥ :data:`LATE_SHARE` of the model's loss) and says when the run is too short to reach it.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import nearopt

from .controls import (TooLargeError, batch_size, check_count, check_dense, check_seed, dropdown, fslider, islider,
                       itext, logslider, loss_controls, mode_label, teacher_and_inputs)
from .explorer import Explorer
from .figures import fmt

__all__ = ["DecayExplorer", "decay_explorer", "decay_data", "descent_run", "late_window", "descent_controls",
           "draw_decay", "POPULATION_FLOOR", "LATE_SHARE"]

#: the population loss is computed to about this absolute accuracy (rounding); plots stop a decade below
POPULATION_FLOOR = 1e-13
#: a batch loss cannot fall below about ½ ε² mean(y²) (the residuals are rounded relative to the outputs y)
EPS = float(np.finfo(np.float64).eps)
#: the late-time regime: the slowest mode carries at least this fraction of the quadratic model's loss
LATE_SHARE = 0.9
#: fewest steps of a window over which a rate is fitted
MIN_WINDOW = 50
#: the fit window ends where the real loss comes within this factor of its rounding floor
FLOOR_MARGIN = 100
#: largest steps × per-step work (population: (Nh Ni)²; batch: N P) for an interactive update (≈ 30 s)
MAX_WORK = 1e9
MAX_STEPS = 5000


def late_window(eigenvalues, coefficients, lr, share=LATE_SHARE, max_steps=10**9):
    """First step n at which the slowest nonzero mode(s) of the quadratic model carry at least ``share`` of
    its loss ½ Σ λ_k c_k² |1 − ηλ_k|^{2n}, and that mode's share at every step is monotone, so a bisection
    finds it.  Returns ``(n, shares)`` with ``shares(n)`` a function; n is None beyond ``max_steps``."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    c2 = np.asarray(coefficients, dtype=np.float64) ** 2
    nz = np.abs(lam) > nearopt.numerical_rank(lam).tol
    w, f = (lam * c2)[nz], np.abs(1.0 - lr * lam[nz])
    fmax = float(f.max())
    slow = f >= fmax * (1 - 1e-12)
    ws = float(w[slow].sum())
    # log of each fast mode's weight relative to the slow ones, and of its decay factor relative to theirs
    with np.errstate(divide="ignore"):
        lw = np.log(w[~slow]) - math.log(ws) if ws > 0 else np.full((~slow).sum(), np.inf)
        lf = np.log(f[~slow]) - math.log(fmax) if fmax > 0 else np.full((~slow).sum(), -np.inf)

    def shares(n):
        n = np.asarray(n, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            rest = np.exp(lw + 2.0 * np.multiply.outer(n, lf)).sum(axis=-1) if lw.size else np.zeros(n.shape)
        return 1.0 / (1.0 + rest)

    if ws <= 0:
        return None, shares
    if shares(0) >= share:
        return 0, shares
    lo, hi = 0, 1
    while shares(hi) < share:
        lo, hi = hi, hi * 2
        if hi > max_steps:
            return None, shares
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if shares(mid) < share else (lo, mid)
    return hi, shares


def descent_run(values: dict, progress=None) -> dict:
    """Teacher, Hessian at the optimum, step η = ``lr_fraction`` × 2/λ_max, the real run
    (:func:`nearopt.descend`) and the quadratic model for the same δθ0 (the eigen-decomposition of
    :func:`nearopt.hessian` and :func:`nearopt.quadratic_loss`, as :func:`nearopt.predict_descent`)."""
    act = nearopt.get_activation(values["activation"])
    seed = check_seed(values["seed"])
    n = batch_size(values)
    P = nearopt.n_params(values["n_in"], values["n_hidden"])
    check_dense(P, "the Hessian")
    steps = check_count(values["steps"], "number of steps", 1, MAX_STEPS)
    per_step = (values["n_hidden"] * values["n_in"]) ** 2 if n is None else n * P
    if steps * per_step > MAX_WORK:
        raise TooLargeError(f"{steps} steps with P = {P} ({mode_label(values)}) would take too long interactively; "
                            "reduce the steps, N, Ni or Nh.")
    frac = float(values["lr_fraction"])
    if not frac > 0:
        raise ValueError(f"The step must be a positive fraction of the stability limit; got {frac}.")
    sigma0 = float(values["sigma0"])
    W1, W2, X = teacher_and_inputs(values, seed)
    H = np.asarray(nearopt.to_numpy(nearopt.hessian(W1, W2, act, X)))
    lam, V = np.linalg.eigh(H)
    limit = nearopt.stability_limit(lam)
    if not math.isfinite(limit):
        raise ValueError("The Hessian is zero: nothing to learn.")
    lr = frac * limit
    if progress:
        progress(1, 2)
    c = V.T @ np.asarray(nearopt.to_numpy(nearopt.perturb(W1, W2, sigma0, seed=seed)[2]))
    pred = nearopt.quadratic_loss(lam, c, steps=np.arange(steps + 1), lr=lr)
    with warnings.catch_warnings():
        if frac >= 1:  # explained by the note below
            warnings.filterwarnings("ignore", message=".*stability limit", category=RuntimeWarning)
        losses = nearopt.descend(W1, W2, act, X, sigma0=sigma0, lr=lr, steps=steps, seed=seed, eigenvalues=lam)
    if progress:
        progress(2, 2)
    info = nearopt.numerical_rank(lam)
    if X is None:
        floor = POPULATION_FLOOR
    else:
        y = np.asarray(nearopt.to_numpy(nearopt.forward(W1, W2, act, X)))
        floor = max(0.5 * EPS ** 2 * float(np.mean(y ** 2)), 1e-300)
    notes = []
    if frac >= 1:
        notes.append(f"η = {fmt(frac)} × 2/λ_max is beyond the stability limit 2/λ_max = {fmt(limit)}: gradient "
                     "descent on the quadratic model diverges along the top eigenvector (|1 − ηλ_max| > 1); the "
                     "real network diverges too or, if the growth takes it far enough, is thrown to a flatter "
                     "region (catapult). Choose a fraction below 1 for the near-optimum picture.")
    return {"W": (W1, W2, X), "P": P, "losses": np.asarray(losses), "prediction": np.asarray(pred),
            "eigenvalues": lam, "coefficients": c, "lr": lr, "limit": limit,
            "rate": nearopt.late_time_rate(lam, lr=lr), "lambda_min_pos": info.lambda_min_pos,
            "lambda_max": info.lambda_max, "rank": info.rank, "floor": floor,
            "notes": notes}


def decay_data(*, activation="quadratic", n_in=4, n_hidden=6, mode="batch", n_samples=100, sigma0=1e-3,
               lr_fraction=0.9, steps=600, seed=0, progress=None) -> dict:
    """Gradient descent on the real network from θ* + δθ0 vs the quadratic model, and the late-time rate.

    Returns ``losses`` (n = 0 … steps), ``prediction`` (the quadratic model, same δθ0), ``eigenvalues`` and
    ``coefficients`` (of δθ0 on the eigenvectors), ``lr``, ``limit`` (2/λ_max), ``rate``
    (:func:`nearopt.late_time_rate`), ``floor`` (the loss's rounding floor: :data:`POPULATION_FLOOR`, or
    ½ ε² mean(y²) for a batch), ``window`` = (start, stop): the steps where the slowest mode carries at
    least :data:`LATE_SHARE` of the model's loss and the real loss is above ``FLOOR_MARGIN`` × floor, or None;
    ``measured_rate`` (:func:`nearopt.fit_rate` of the real losses over the window, or None),
    ``slowest_share`` (at the last step), ``steps_needed`` (first step of the late regime, None if beyond
    10⁹), ``slowest_mode`` (the slowest mode's loss alone) and ``notes`` (including why no rate is measured).
    """
    values = dict(activation=activation, n_in=n_in, n_hidden=n_hidden, mode=mode, n_samples=n_samples,
                  sigma0=sigma0, lr_fraction=lr_fraction, steps=steps, seed=seed)
    d = descent_run(values, progress)
    d.pop("W")
    lam, c, lr, L = d["eigenvalues"], d["coefficients"], d["lr"], d["losses"]
    start, shares = late_window(lam, c, lr)
    n = np.arange(L.size)
    d["steps_needed"], d["slowest_share"] = start, float(shares(L.size - 1))
    d["slowest_mode"] = d["prediction"] * shares(n)
    d["window"], d["measured_rate"] = None, None
    if lr_fraction >= 1:
        return d
    ok = np.isfinite(L) & (L > FLOOR_MARGIN * d["floor"])
    stop = int(np.flatnonzero(ok)[-1]) + 1 if ok.any() else 0
    if start is None or start > L.size - MIN_WINDOW:
        need = "more than 10⁹" if start is None else f"about {start + MIN_WINDOW}"
        d["notes"].append(
            f"The run is too short to show the late-time rate: at step {L.size - 1} the slowest mode carries "
            f"{math.floor(d['slowest_share'] * 1000) / 10:g}% of the quadratic model's loss (the late regime needs ≥ {LATE_SHARE:.0%}; "
            f"{need} steps). Increase the steps or the step size η.")
    elif stop - start < MIN_WINDOW:
        d["notes"].append(
            f"The loss reaches its rounding floor (about {fmt(d['floor'])}) before the slowest mode dominates (step "
            f"{start}): the late-time rate cannot be measured here. Use "
            + ("a batch loss or " if mode != "batch" else "") + "a larger σ0.")
    else:
        d["window"] = (int(start), stop)
        d["measured_rate"] = nearopt.fit_rate(L, start=start, stop=stop)
    return d


def draw_decay(ax, d, p, floor_label=True):
    """Real loss, quadratic model, the slowest mode alone (the late-time asymptote) and the fit window."""
    L, Lq = d["losses"], d["prediction"]
    n = np.arange(L.size)
    fin = np.isfinite(L) & (L > 0)
    ax.semilogy(n[fin], L[fin], "-", color="C0", lw=2, label="real network")
    okq = np.isfinite(Lq) & (Lq > 0)
    ax.semilogy(n[okq], Lq[okq], "--", color="C1", lw=1.5, label="quadratic model")
    floor = d["floor"]
    slow = d.get("slowest_mode")
    rate = d["rate"]
    if slow is not None and math.isfinite(rate) and rate > 0:
        oks = np.isfinite(slow) & (slow > (floor / 10 if floor else 0.0))
        ax.semilogy(n[oks], slow[oks], ":", color="C3", lw=1.5, label=f"slowest mode, rate {fmt(rate)}/step")
    if d.get("window"):
        a, b = d["window"]
        ax.axvspan(a, b - 1, color="C2", alpha=0.12, lw=0, label="late regime (fit window)")
    vals = np.concatenate([L[fin], Lq[okq]])
    lo = float(vals.min()) if vals.size else 1e-14
    hi = float(vals.max()) if vals.size else 1.0
    if floor:
        lo = max(lo, floor / 10)
        if floor_label and lo < FLOOR_MARGIN * floor:  # only when the run gets near it
            ax.axhspan(floor / 10, floor, color="0.85", zorder=0, label="rounding floor")
    hi = min(hi, 1e6 * max(float(L[0]) if np.isfinite(L[0]) else 1.0, 1e-300))
    ax.set_ylim(lo / 3, hi * 3)
    ax.set_xlabel("gradient step n")
    ax.set_ylabel("loss L")
    ax.legend(fontsize=7, loc="upper right")


def descent_controls(sigma0, sigma_range, lr_fraction, lr_max, steps):
    """The controls of a gradient-descent run (shared by the decay and distance explorers)."""
    return {
        "activation": dropdown("activation", list(nearopt.ACTIVATIONS), "quadratic"),
        "n_in": islider("Ni", 4, 1, 30),
        "n_hidden": islider("Nh", 6, 1, 40),
        **loss_controls("batch", 100, label="loss"),
        "sigma0": logslider("σ0", sigma0, *sigma_range),
        "lr_fraction": fslider("η × λ_max/2", lr_fraction, 0.05, lr_max, 0.05),
        "steps": islider("steps", steps, 10, MAX_STEPS, 10),
        "seed": itext("seed", 0),
    }


class DecayExplorer(Explorer):
    title = "Loss decay near the optimum: real network vs quadratic model"
    main = "lr_fraction"
    compute_data = staticmethod(decay_data)

    def make_controls(self):
        return descent_controls(1e-3, (-6, 0), 0.9, 1.2, 600)

    def static_values(self, p):
        return [0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.05]

    def draw(self, ax, data, p):
        draw_decay(ax, data, p)

    def caption(self, data, p):
        return (f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {mode_label(p)}, σ0 = {fmt(p['sigma0'])}, "
                f"η = {fmt(data['lr'])}")

    def summary(self, data, p):
        s = (f"λ_min⁺ = {fmt(data['lambda_min_pos'])}, λ_max = {fmt(data['lambda_max'])}, 2/λ_max = "
             f"{fmt(data['limit'])}, η = {fmt(data['lr'])}; ")
        rate = data["rate"]
        s += (f"predicted late-time rate {fmt(rate)}/step" if rate >= 0 else
              f"the quadratic model grows by {fmt(-rate)}/step")
        if data["measured_rate"] is not None:
            a, b = data["window"]
            s += f", measured {fmt(data['measured_rate'])}/step (steps {a}–{b - 1}, slowest mode ≥ {LATE_SHARE:.0%})"
        floor = data["floor"]

        def show(x):
            return f"below {fmt(floor)} (rounding floor)" if floor and abs(x) < floor else fmt(x)

        s += f"; final loss {show(data['losses'][-1])} (model {show(data['prediction'][-1])})"
        return s


def decay_explorer(**values) -> DecayExplorer:
    """Loss of gradient descent on the real network from θ* + δθ0 vs the quadratic model, the slowest mode
    alone and the late-time rate measured where that mode dominates (computation: :func:`decay_data`).

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``mode`` (``"population"``/``"batch"``), ``n_samples``,
    ``sigma0``, ``lr_fraction`` (η as a fraction of the stability limit 2/λ_max; ≥ 1 diverges and says so),
    ``steps``, ``seed``.  Static view: frames over ``lr_fraction``.
    """
    return DecayExplorer(**values)

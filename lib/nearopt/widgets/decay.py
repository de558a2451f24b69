"""Decay explorer: gradient descent on the real network near the optimum vs the quadratic model, with the
late-time asymptote set by the smallest nonzero eigenvalue."""
from __future__ import annotations

import math

import numpy as np

import nearopt

from ._base import (MODES, Explorer, TooLargeError, check_batch_size, check_dense, check_seed, dropdown, fmt, fslider, islider,
                    itext, logslider, mode_label, teacher_and_inputs)

__all__ = ["DecayExplorer", "decay_explorer", "POPULATION_FLOOR"]

#: the population loss is computed to about this absolute accuracy (rounding); plots stop a decade below
POPULATION_FLOOR = 1e-13
#: largest steps × per-step work (population: (Nh Ni)²; batch: N P) for an interactive update (≈ 30 s)
_MAX_WORK = 1e9


def descent_run(p, progress=None):
    """Teacher, spectrum at the optimum, step η = fraction × 2/λ_max, the real run and the quadratic model.

    Returns a dict with ``losses`` (:func:`nearopt.descend`), ``prediction`` and ``eigenvalues``
    (:func:`nearopt.predict_descent`), ``lr``, ``limit`` (:func:`nearopt.stability_limit`), ``rate``
    (:func:`nearopt.late_time_rate` at η), and the notes to show.
    """
    act = nearopt.get_activation(p["activation"])
    seed = check_seed(p["seed"])
    n = check_batch_size(p)
    P = nearopt.n_params(p["n_in"], p["n_hidden"])
    check_dense(P, "the Hessian")
    steps = int(p["steps"])
    if steps < 1:
        raise ValueError(f"The number of steps must be ≥ 1; got {steps}.")
    per_step = (p["n_hidden"] * p["n_in"]) ** 2 if n is None else n * P  # pairs of units × Ni², or N × P
    if steps * per_step > _MAX_WORK:
        raise TooLargeError(f"{steps} steps with P = {P} ({mode_label(p)}) would take too long interactively; "
                            "reduce the steps, N, Ni or Nh.")
    frac = float(p["lr_fraction"])
    if not frac > 0:
        raise ValueError(f"The step must be a positive fraction of the stability limit; got {frac}.")
    sigma0 = float(p["sigma0"])
    W1, W2, X = teacher_and_inputs(p, seed)
    ev = nearopt.to_numpy(nearopt.spectrum(W1, W2, act, X))
    limit = nearopt.stability_limit(ev)
    if not math.isfinite(limit):
        raise ValueError("The Hessian is zero: nothing to learn.")
    lr = frac * limit
    if progress:
        progress(1, 3)
    pred, lam = nearopt.predict_descent(W1, W2, act, X, sigma0=sigma0, lr=lr, steps=steps, seed=seed)
    if progress:
        progress(2, 3)
    losses = nearopt.descend(W1, W2, act, X, sigma0=sigma0, lr=lr, steps=steps, seed=seed, eigenvalues=lam)
    if progress:
        progress(3, 3)
    rate = nearopt.late_time_rate(lam, lr=lr)
    info = nearopt.numerical_rank(lam)
    notes = []
    if frac >= 1:
        notes.append(f"η = {fmt(frac)} × 2/λ_max is beyond the stability limit 2/λ_max = {fmt(limit)}: gradient "
                     "descent on the quadratic model diverges along the top eigenvector (|1 − ηλ_max| > 1); the "
                     "real network diverges too or, if the growth takes it far enough, is thrown to a flatter "
                     "region (catapult). Choose a fraction below 1 for the near-optimum picture.")
    return {"W": (W1, W2, X), "P": P, "losses": np.asarray(losses), "prediction": np.asarray(pred),
            "eigenvalues": np.asarray(lam), "lr": lr, "limit": limit, "rate": rate,
            "lambda_min_pos": info.lambda_min_pos, "lambda_max": info.lambda_max, "rank": info.rank,
            "floor": POPULATION_FLOOR if n is None else None, "notes": notes}


def measured_rate(losses, floor):
    """:func:`nearopt.fit_rate` over the second half of the run, above 10× the rounding floor."""
    L = np.asarray(losses)
    half = L.size // 2
    tail = L[half:]
    ok = np.isfinite(tail) & (tail > (10 * floor if floor else 0.0))
    if ok.sum() < 2:
        return None
    idx = np.flatnonzero(ok)
    return nearopt.fit_rate(L, start=half + idx[0], stop=half + idx[-1] + 1)


def draw_decay(ax, d, p, floor_label=True):
    L, Lq = d["losses"], d["prediction"]
    n = np.arange(L.size)
    fin = np.isfinite(L) & (L > 0)
    ax.semilogy(n[fin], L[fin], "-", color="C0", lw=2, label="real network (descend)")
    okq = np.isfinite(Lq) & (Lq > 0)
    ax.semilogy(n[okq], Lq[okq], "--", color="C1", lw=1.5, label="quadratic model (predict_descent)")
    rate = d["rate"]
    floor = d["floor"]
    above = okq & (Lq > (10 * floor if floor else 0.0))
    if math.isfinite(rate) and rate > 0 and above.any():
        end = int(np.flatnonzero(above)[-1])  # anchored on the model's last value above the floor
        k = np.arange(max(end // 3, 1), end + 1)
        ax.semilogy(k, Lq[end] * np.exp(-rate * (k - end)) * 3.0, ":", color="C3", lw=1.5,
                    label=f"asymptote ×3, rate {fmt(rate)} per step")
    vals = np.concatenate([L[fin], Lq[okq]])
    lo = float(vals.min()) if vals.size else 1e-14
    hi = float(vals.max()) if vals.size else 1.0
    if floor:
        lo = max(lo, floor / 10)
        if floor_label:
            ax.axhspan(floor / 10, floor, color="0.85", zorder=0, label="rounding floor (population)")
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
        "mode": dropdown("loss", MODES, "batch"),
        "n_samples": itext("batch N", 100),
        "sigma0": logslider("σ0", sigma0, *sigma_range),
        "lr_fraction": fslider("η × λ_max/2", lr_fraction, 0.05, lr_max, 0.05),
        "steps": islider("steps", steps, 10, 2000, 10),
        "seed": itext("seed", 0),
    }


class DecayExplorer(Explorer):
    title = "Loss decay near the optimum: real network vs quadratic model"
    main = "lr_fraction"

    def _make_controls(self):
        return descent_controls(1e-3, (-6, 0), 0.9, 1.2, 200)

    def ignored(self, p):
        return {"n_samples"} if p["mode"] != "batch" else set()

    def static_values(self, p):
        return [0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.05]

    def compute(self, p, progress=None):
        d = descent_run(p, progress)
        d["measured_rate"] = measured_rate(d["losses"], d["floor"])
        d.pop("W")
        return d

    def draw(self, ax, data, p):
        draw_decay(ax, data, p)
        ax.set_title(f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {mode_label(p)}, "
                     f"η = {fmt(data['lr'])}", fontsize=9)

    def summary(self, data, p):
        s = (f"λ_min⁺ = {fmt(data['lambda_min_pos'])}, λ_max = {fmt(data['lambda_max'])}, 2/λ_max = "
             f"{fmt(data['limit'])}, η = {fmt(data['lr'])}; ")
        rate = data["rate"]
        s += (f"predicted late-time rate {fmt(rate)}/step" if rate >= 0 else
              f"the quadratic model grows by {fmt(-rate)}/step")
        if data["measured_rate"] is not None:
            s += f", measured {fmt(data['measured_rate'])}/step (second half)"
        floor = data["floor"]

        def show(x):
            return f"below {fmt(floor)} (rounding floor)" if floor and abs(x) < floor else fmt(x)

        s += f"; final loss {show(data['losses'][-1])} (model {show(data['prediction'][-1])})"
        return s


def decay_explorer(**values) -> DecayExplorer:
    """Loss of gradient descent on the real network (:func:`nearopt.descend`) from θ* + δθ0 vs the
    quadratic model (:func:`nearopt.predict_descent`, same δθ0) and the late-time asymptote with rate
    :func:`nearopt.late_time_rate` at step η.

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``mode`` (``"population"``/``"batch"``), ``n_samples``,
    ``sigma0``, ``lr_fraction`` (η as a fraction of the stability limit 2/λ_max; ≥ 1 diverges and says so),
    ``steps``, ``seed``.  Static view: frames over ``lr_fraction``.
    """
    return DecayExplorer(**values)

"""Precision explorer (numerics): Hessian eigenvalues in float32 vs float64 and the rank decisions they
lead to."""
from __future__ import annotations

import functools

import numpy as np

import nearopt

from .controls import (batch_size, check_dense, check_seed, dropdown, islider, itext, loss_controls, mode_label,
                       teacher_and_inputs)
from .explorer import Explorer
from .figures import fmt

__all__ = ["PrecisionExplorer", "precision_explorer", "precision_data", "precision_point", "EPS32"]

EPS32 = float(np.finfo(np.float32).eps)


@functools.lru_cache(maxsize=256)
def precision_point(activation: str, n_in: int, n_hidden: int, n_samples: int | None, seed: int):
    """float64 and float32 eigenvalues of the same Hessian (population when ``n_samples`` is None) and the
    three rank decisions: (ev64, ev32, info64, info32, info32 judged with float64's tolerance, effective
    parameters or None)."""
    values = {"n_in": n_in, "n_hidden": n_hidden, "mode": "population" if n_samples is None else "batch",
              "n_samples": n_samples}
    W1, W2, X = teacher_and_inputs(values, seed)
    H = np.asarray(nearopt.to_numpy(nearopt.hessian(W1, W2, activation, X)), dtype=np.float64)
    ev64 = np.linalg.eigvalsh(H)
    ev32 = np.linalg.eigvalsh(H.astype(np.float32)).astype(np.float64)
    i64 = nearopt.numerical_rank(ev64)
    i32 = nearopt.numerical_rank(ev32, eps=EPS32)
    naive = nearopt.numerical_rank(ev32)
    try:
        eff = nearopt.effective_parameters(activation, n_in, n_hidden) if X is None else None
    except ValueError:
        eff = None
    ev64.flags.writeable = ev32.flags.writeable = False  # shared by the cache
    return ev64, ev32, i64, i32, naive, eff


def precision_data(*, activation="quartic", n_in=4, n_hidden=6, mode="population", n_samples=200, seed=0,
                   progress=None) -> dict:
    """Eigenvalues of the Hessian (:func:`nearopt.hessian`) in float64 and cast to float32
    (``numpy.linalg.eigvalsh``), the rank decisions of :func:`nearopt.numerical_rank` (each precision's ε,
    and float32 judged with float64's tolerance) vs :func:`nearopt.effective_parameters` (population only),
    at Nh = ``n_hidden`` and swept over Nh = 1 … ``n_hidden`` (``sweep``)."""
    seed = check_seed(seed)
    n = batch_size({"mode": mode, "n_samples": n_samples, "n_in": n_in, "n_hidden": n_hidden})
    check_dense(nearopt.n_params(n_in, n_hidden), "the Hessian")
    sweep = {"n_hidden": [], "rank64": [], "rank32": [], "rank32_naive": [], "effective": []}
    for h in range(1, n_hidden + 1):
        _, _, i64, i32, naive, eff = precision_point(activation, n_in, h, n, seed)
        for k, v in (("n_hidden", h), ("rank64", i64.rank), ("rank32", i32.rank), ("rank32_naive", naive.rank),
                     ("effective", eff)):
            sweep[k].append(v)
        if progress:
            progress(h, n_hidden)
    ev64, ev32, i64, i32, naive, eff = precision_point(activation, n_in, n_hidden, n, seed)
    return {"eigenvalues64": ev64, "eigenvalues32": ev32, "rank64": i64.rank, "rank32": i32.rank,
            "rank32_naive": naive.rank, "tol64": i64.tol, "tol32": i32.tol, "effective": eff,
            "gap64": i64.gap, "gap32": i32.gap, "P": ev64.size, "sweep": sweep,
            "max_abs_difference": float(np.max(np.abs(ev64 - ev32))), "notes": []}


class PrecisionExplorer(Explorer):
    title = "Single vs double precision: eigenvalues and rank"
    main = "n_hidden"
    ncols = 2
    figsize = (8.4, 3.3)
    compute_data = staticmethod(precision_data)

    def make_controls(self):
        return {
            "activation": dropdown("activation", list(nearopt.ACTIVATIONS), "quartic"),
            "n_in": islider("Ni", 4, 1, 12),
            "n_hidden": islider("Nh", 6, 1, 24),
            **loss_controls("population", 200),
            "seed": itext("seed", 0),
        }

    def static_values(self, p):
        return [2, 3, 4, 5, 6, 8, 10]

    def draw(self, axes, data, p):
        ax, bx = axes
        e64, e32 = np.abs(data["eigenvalues64"][::-1]), np.abs(data["eigenvalues32"][::-1])
        k = np.arange(1, e64.size + 1)
        floor = max(float(min(e64[e64 > 0].min(initial=np.inf), e32[e32 > 0].min(initial=np.inf))), 1e-300) / 3
        ax.semilogy(k, np.maximum(e64, floor), "o", ms=3.5, mfc="none", color="C0", label="float64 |λ|")
        ax.semilogy(k, np.maximum(e32, floor), "x", ms=4, color="C3", label="float32 |λ|")
        ax.axhline(data["tol64"], color="C0", ls="--", lw=1, label="tol float64")
        ax.axhline(data["tol32"], color="C3", ls="--", lw=1, label="tol float32")
        if data["effective"] is not None:
            ax.axvline(data["effective"] + 0.5, color="C2", lw=1, label="effective parameters")
        ax.set_xlabel("index (descending)")
        ax.set_ylabel("|λ|")
        ax.legend(fontsize=6.5, loc="lower left")  # also the key of the right panel (same markers)
        sw = data["sweep"]
        h = np.array(sw["n_hidden"])
        if any(e is not None for e in sw["effective"]):
            bx.plot(h, [np.nan if e is None else e for e in sw["effective"]], "-", color="C2", lw=2.2, alpha=0.6,
                    label="_effective")
        bx.plot(h, sw["rank64"], "o", color="C0", ms=5, mfc="none", label="_float64")
        bx.plot(h, sw["rank32"], "x", color="C3", ms=6, label="_float32")
        bx.plot(h, sw["rank32_naive"], "+", color="C4", ms=6, label="float32 with float64's tolerance")
        bx.axvline(p["n_hidden"], color="0.6", lw=0.8)
        bx.set_xlabel("hidden units Nh")
        bx.set_ylabel("numerical rank")
        bx.legend(fontsize=6.5, loc="upper left")

    def caption(self, data, p):
        return (f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {mode_label(p)}. Left: |λ| in both "
                "precisions; right: the rank decisions for Nh = 1 … Nh")

    def summary(self, data, p):
        s = (f"P = {data['P']}: rank float64 {data['rank64']}, float32 {data['rank32']} (with float64's tolerance "
             f"{data['rank32_naive']})")
        if data["effective"] is not None:
            s += f", effective parameters {data['effective']}"
        sw = data["sweep"]
        wrong = [h for h, r, e in zip(sw["n_hidden"], sw["rank32"], sw["effective"]) if e is not None and r != e]
        if wrong:
            s += f"; float32 misclassifies at Nh = {wrong}"
        s += f"; max |λ64 − λ32| = {fmt(data['max_abs_difference'])}"
        return s


def precision_explorer(**values) -> PrecisionExplorer:
    """float64 vs float32 Hessian eigenvalues and rank decisions, for the current Nh and swept over
    Nh = 1 … Nh (computation: :func:`precision_data`).

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``mode``, ``n_samples``, ``seed``.  Static view: frames
    over Nh.
    """
    return PrecisionExplorer(**values)

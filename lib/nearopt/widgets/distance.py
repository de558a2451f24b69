"""Distance explorer: how far from the optimum does the quadratic picture hold?  Full Hessian (with the
residual term) at the perturbed student θ* + δθ0, its negative eigenvalues, and the decay vs the quadratic
prediction from there."""
from __future__ import annotations

import numpy as np

import nearopt

from ._base import Explorer, fmt, mode_label
from .decay import descent_controls, descent_run, draw_decay

__all__ = ["DistanceExplorer", "distance_explorer"]


def symlog_ticks(linthresh, top, n=3):
    """About n decades each side of zero for a symlog axis (the default labels every decade)."""
    lo, hi = np.floor(np.log10(linthresh)), np.ceil(np.log10(max(top, linthresh)))
    step = max(1, int(np.ceil((hi - lo) / n)))
    dec = 10.0 ** np.arange(hi, lo - 1, -step)
    dec = dec[dec > 5 * linthresh] if np.any(dec > 5 * linthresh) else dec
    return np.concatenate([-dec, [0.0], dec[::-1]])


class DistanceExplorer(Explorer):
    title = "Away from the optimum: full Hessian and the quadratic prediction"
    main = "sigma0"
    ncols = 2
    figsize = (8.4, 3.3)

    def _make_controls(self):
        return descent_controls(1e-2, (-4, 0.5), 0.5, 0.95, 150)

    def ignored(self, p):
        return {"n_samples"} if p["mode"] != "batch" else set()

    def static_values(self, p):
        return [1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]

    def compute(self, p, progress=None):
        d = descent_run(p, progress)
        W1, W2, X = d.pop("W")
        act = p["activation"]
        W1s, W2s, _ = nearopt.perturb(W1, W2, p["sigma0"], seed=p["seed"])  # the student descend starts from
        H = nearopt.full_hessian(W1s, W2s, act, (W1, W2), X=X)
        full = np.asarray(nearopt.to_numpy(np.linalg.eigvalsh(nearopt.to_numpy(H))))
        info = nearopt.numerical_rank(full)
        neg = full[full < -info.tol]
        L, Lq = d["losses"], d["prediction"]
        both = np.isfinite(L) & np.isfinite(Lq) & (Lq > 0)
        if d["floor"]:
            both &= Lq > 100 * d["floor"]
        rel = np.abs(L[both] / Lq[both] - 1.0)
        d.update({
            "full_eigenvalues": full, "n_negative": int(neg.size),
            "min_eigenvalue": float(full.min()), "tol": info.tol,
            "max_relative_error": float(rel.max()) if rel.size else None,
            "initial_relative_error": float(abs(L[0] / Lq[0] - 1.0)) if Lq[0] > 0 else None,
            "sigma0": float(p["sigma0"]),
        })
        return d

    def draw(self, axes, data, p):
        ax, bx = axes
        ev0, full = data["eigenvalues"], data["full_eigenvalues"]
        k = np.arange(1, ev0.size + 1)
        lin = max(data["lambda_max"] * 1e-8, 1e-300)
        ax.plot(k, ev0[::-1], "o", ms=3.5, color="C0", label="H(θ*) (Gauss–Newton)")
        ax.plot(k, full[::-1], "x", ms=4.5, color="C3", label="full H(θ0)")
        ax.set_yscale("symlog", linthresh=lin)
        ax.set_yticks(symlog_ticks(lin, max(float(np.max(np.abs(full))), data["lambda_max"])))
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel("index (descending)")
        ax.set_ylabel("eigenvalue (symlog)")
        ax.set_title(f"{data['n_negative']} negative eigenvalue{'s' if data['n_negative'] != 1 else ''}, "
                     f"min {fmt(data['min_eigenvalue'])}", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        draw_decay(bx, data, p)
        bx.set_title(f"σ0 = {fmt(data['sigma0'])}, {p['activation']}, {mode_label(p)}", fontsize=9)

    def summary(self, data, p):
        s = (f"σ0 = {fmt(data['sigma0'])}: full Hessian at θ0 has {data['n_negative']} negative eigenvalues "
             f"(min {fmt(data['min_eigenvalue'])}); initial loss {fmt(data['losses'][0])} vs quadratic "
             f"{fmt(data['prediction'][0])}")
        if data["max_relative_error"] is not None:
            s += f"; max relative deviation from the quadratic prediction {fmt(data['max_relative_error'])}"
        return s


def distance_explorer(**values) -> DistanceExplorer:
    """Full Hessian :func:`nearopt.full_hessian` at the perturbed student θ* + δθ0 (:func:`nearopt.perturb`,
    δθ0 ~ N(0, σ0² I)), its negative eigenvalues, and the loss of :func:`nearopt.descend` from that point vs
    :func:`nearopt.predict_descent`.

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``mode``, ``n_samples``, ``sigma0``, ``lr_fraction``,
    ``steps``, ``seed``.  Static view: frames over σ0.
    """
    return DistanceExplorer(**values)

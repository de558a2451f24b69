"""Distance explorer: how far from the optimum does the quadratic picture hold?  Full Hessian (with the
residual term) at the perturbed student θ* + δθ0, its negative eigenvalues, and the decay vs the quadratic
prediction from there."""
from __future__ import annotations

import numpy as np

import nearopt

from .controls import mode_label
from .decay import descent_controls, descent_run, draw_decay
from .explorer import Explorer
from .figures import fmt, symlog_ticks

__all__ = ["DistanceExplorer", "distance_explorer", "distance_data"]


def distance_data(*, activation="quadratic", n_in=4, n_hidden=6, mode="batch", n_samples=100, sigma0=1e-2,
                  lr_fraction=0.5, steps=150, seed=0, progress=None) -> dict:
    """The run of :func:`nearopt.widgets.decay_data` (real losses, quadratic model) plus the full Hessian
    (:func:`nearopt.full_hessian`, with the residual term) at the perturbed student θ0 = θ* + δθ0 where descent
    starts (:func:`nearopt.perturb`, same seed).

    Adds ``full_eigenvalues`` (ascending), ``n_negative`` (below −tol of :func:`nearopt.numerical_rank`),
    ``min_eigenvalue``, ``tol``, ``max_relative_error`` (max |L/L_quadratic − 1| above 100× the floor),
    ``initial_relative_error``, ``sigma0``.
    """
    values = dict(activation=activation, n_in=n_in, n_hidden=n_hidden, mode=mode, n_samples=n_samples,
                  sigma0=sigma0, lr_fraction=lr_fraction, steps=steps, seed=seed)
    d = descent_run(values, progress)
    W1, W2, X = d.pop("W")
    W1s, W2s, _ = nearopt.perturb(W1, W2, sigma0, seed=seed)  # the student descend starts from
    H = nearopt.full_hessian(W1s, W2s, activation, (W1, W2), X=X)
    full = np.linalg.eigvalsh(np.asarray(nearopt.to_numpy(H)))
    info = nearopt.numerical_rank(full)
    L, Lq = d["losses"], d["prediction"]
    both = np.isfinite(L) & np.isfinite(Lq) & (Lq > 0)
    if d["floor"]:
        both &= Lq > 100 * d["floor"]
    rel = np.abs(L[both] / Lq[both] - 1.0)
    d.update({
        "full_eigenvalues": full, "n_negative": int(np.sum(full < -info.tol)),
        "min_eigenvalue": float(full.min()), "tol": info.tol,
        "max_relative_error": float(rel.max()) if rel.size else None,
        "initial_relative_error": float(abs(L[0] / Lq[0] - 1.0)) if Lq[0] > 0 else None,
        "sigma0": float(sigma0),
    })
    return d


class DistanceExplorer(Explorer):
    title = "Away from the optimum: full Hessian and the quadratic prediction"
    main = "sigma0"
    ncols = 2
    figsize = (8.4, 3.3)
    compute_data = staticmethod(distance_data)

    def make_controls(self):
        return descent_controls(1e-2, (-4, 0.5), 0.5, 0.95, 150)

    def static_values(self, p):
        return [1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]

    def draw(self, axes, data, p):
        ax, bx = axes
        ev0, full = data["eigenvalues"], data["full_eigenvalues"]
        k = np.arange(1, ev0.size + 1)
        lin = max(data["lambda_max"] * 1e-8, 1e-300)
        ax.plot(k, ev0[::-1], "o", ms=3.5, color="C0", label="H(θ*) (Gauss–Newton)")
        ax.plot(k, full[::-1], "x", ms=4.5, color="C3", label="full H(θ0)")
        ax.set_yscale("symlog", linthresh=lin)
        ax.set_yticks(symlog_ticks(lin, max(float(np.max(np.abs(full))), data["lambda_max"]), n=2))
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel("index (descending)")
        ax.set_ylabel("eigenvalue (symlog)")
        ax.legend(fontsize=7, loc="upper right")
        draw_decay(bx, data, p)

    def caption(self, data, p):
        neg = data["n_negative"]
        return (f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {mode_label(p)}, σ0 = {fmt(data['sigma0'])}. "
                f"Left: eigenvalues at θ0 ({neg} negative, min {fmt(data['min_eigenvalue'])}); right: the loss "
                "from θ0")

    def summary(self, data, p):
        s = (f"σ0 = {fmt(data['sigma0'])}: full Hessian at θ0 has {data['n_negative']} negative eigenvalues "
             f"(min {fmt(data['min_eigenvalue'])}); initial loss {fmt(data['losses'][0])} vs quadratic "
             f"{fmt(data['prediction'][0])}")
        if data["max_relative_error"] is not None:
            s += f"; max relative deviation from the quadratic prediction {fmt(data['max_relative_error'])}"
        return s


def distance_explorer(**values) -> DistanceExplorer:
    """Full Hessian at the perturbed student θ* + δθ0 (δθ0 ~ N(0, σ0² I)), its negative eigenvalues, and the
    loss of gradient descent from that point vs the quadratic prediction (computation:
    :func:`distance_data`).

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``mode``, ``n_samples``, ``sigma0``, ``lr_fraction``,
    ``steps``, ``seed``.  Static view: frames over σ0.
    """
    return DistanceExplorer(**values)

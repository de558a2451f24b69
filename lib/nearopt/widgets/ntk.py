"""NTK explorer (introduction): the batch Hessian H = JᵀJ/N (P × P) and the empirical NTK Θ = JJᵀ/N (N × N)
share their nonzero eigenvalues; their zero counts differ (P − r vs N − r)."""
from __future__ import annotations

import numpy as np

import nearopt

from .controls import check_batch_size, check_dense, check_seed, dropdown, input_seed, islider, itext
from .explorer import Explorer
from .figures import fmt

__all__ = ["NTKExplorer", "ntk_explorer", "ntk_data", "hessian_ntk_comparison"]

_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)


def hessian_ntk_comparison(W1, W2, activation, X) -> dict:
    """Eigenvalues of the batch Hessian H = JᵀJ/N (:func:`nearopt.hessian` with ``X``) and of the empirical
    NTK Θ = JJᵀ/N (:func:`nearopt.ntk`) of one teacher and batch, and how they compare.

    Returns ``hessian_eigenvalues`` and ``ntk_eigenvalues`` (ascending, ``numpy.linalg.eigvalsh``), ``P``,
    ``N``, ``rank_hessian``/``rank_ntk`` and ``tol_hessian``/``tol_ntk`` (:func:`nearopt.numerical_rank`),
    ``zeros_hessian`` = P − rank, ``zeros_ntk`` = N − rank, ``gap_decades`` (the smaller of the two rank
    gaps, in decades) and ``max_relative_difference`` = max |λ_H − λ_Θ| / λ_max over the r = min(ranks)
    largest eigenvalues.
    """
    P = nearopt.n_params(*np.shape(W1)[::-1])
    n = int(np.shape(X)[0])
    eh = np.linalg.eigvalsh(np.asarray(nearopt.to_numpy(nearopt.hessian(W1, W2, activation, X))))
    ek = np.linalg.eigvalsh(np.asarray(nearopt.to_numpy(nearopt.ntk(W1, W2, activation, X))))
    ih, ik = nearopt.numerical_rank(eh), nearopt.numerical_rank(ek)
    r = min(ih.rank, ik.rank)
    top_h, top_k = eh[::-1][:r], ek[::-1][:r]
    diff = float(np.max(np.abs(top_h - top_k)) / max(ih.lambda_max, 1e-300)) if r else 0.0
    return {"P": P, "N": n, "hessian_eigenvalues": eh, "ntk_eigenvalues": ek, "rank_hessian": ih.rank,
            "rank_ntk": ik.rank, "zeros_hessian": P - ih.rank, "zeros_ntk": n - ik.rank,
            "tol_hessian": ih.tol, "tol_ntk": ik.tol, "gap_decades": min(ih.gap_decades, ik.gap_decades),
            "max_relative_difference": diff}


def ntk_data(*, activation="erf", n_in=4, n_hidden=6, n_samples=20, seed=0) -> dict:
    """:func:`hessian_ntk_comparison` for the teacher drawn with ``seed`` and N Gaussian inputs (seed
    ``input_seed(seed)``); adds ``notes``."""
    seed = check_seed(seed)
    n = check_batch_size(n_samples, n_in, n_hidden)
    P = nearopt.n_params(n_in, n_hidden)
    check_dense(P, "the Hessian")
    check_dense(n, "the NTK")
    W1, W2 = nearopt.sample_teacher(n_in, n_hidden, seed=seed)
    X = nearopt.sample_inputs(n, n_in, seed=input_seed(seed))
    return {**hessian_ntk_comparison(W1, W2, activation, X), "notes": []}


class NTKExplorer(Explorer):
    title = "Hessian JᵀJ/N and neural tangent kernel JJᵀ/N"
    main = "n_samples"
    compute_data = staticmethod(ntk_data)

    def make_controls(self):
        return {
            "activation": dropdown("activation", list(nearopt.ACTIVATIONS), "erf"),
            "n_in": islider("Ni", 4, 1, 30),
            "n_hidden": islider("Nh", 6, 1, 40),
            "n_samples": islider("batch N", 20, 1, 400),
            "seed": itext("seed", 0),
        }

    def static_values(self, p):
        P = nearopt.n_params(p["n_in"], p["n_hidden"])
        return sorted({max(1, int(round(f * P))) for f in _FRACTIONS})

    def draw(self, ax, data, p):
        tol = max(data["tol_hessian"], data["tol_ntk"])
        floor = tol / 10 if tol > 0 else 1e-20
        for ev, r, mk, col, name, size, z in (
                (data["hessian_eigenvalues"][::-1], data["rank_hessian"], "o", "C0", "H = JᵀJ/N", data["P"],
                 data["zeros_hessian"]),
                (data["ntk_eigenvalues"][::-1], data["rank_ntk"], "x", "C3", "Θ = JJᵀ/N", data["N"],
                 data["zeros_ntk"])):
            k = np.arange(1, ev.size + 1)
            shown = np.where(np.abs(ev) > tol, np.abs(ev), floor)
            ax.semilogy(k[:r], shown[:r], mk, color=col, ms=4 if mk == "o" else 5, mfc="none" if mk == "o" else None,
                        label=f"{name} ({size} × {size}): {r} nonzero")
            if z:
                ax.semilogy(k[r:], shown[r:], mk, color=col, ms=3, alpha=0.5,
                            label=f"{name}: {z} zero{'s' if z != 1 else ''} (drawn at the floor)")
        ax.axhline(tol, color="0.5", ls=":", lw=1, label="rank tolerance")
        ax.axvline(min(data["P"], data["N"]) + 0.5, color="0.3", ls="--", lw=0.8)
        ax.set_xlabel("index k (descending)")
        ax.set_ylabel("eigenvalue λ (k-th largest)")
        ax.legend(fontsize=7, loc="lower left")

    def caption(self, data, p):
        return f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}: P = {data['P']}, N = {data['N']}"

    def summary(self, data, p):
        return (f"N = {data['N']}, P = {data['P']}: rank(H) = {data['rank_hessian']}, rank(Θ) = {data['rank_ntk']}; "
                f"zeros: H {data['zeros_hessian']} (P − r), Θ {data['zeros_ntk']} (N − r); nonzero eigenvalues "
                f"agree to {fmt(data['max_relative_difference'])} × λ_max")


def ntk_explorer(**values) -> NTKExplorer:
    """Spectra of the batch Hessian and the empirical NTK overlaid, as the batch size N crosses P
    (computation: :func:`ntk_data`, or :func:`hessian_ntk_comparison` for a given teacher and batch).

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``n_samples``, ``seed``.  Static view: frames over N
    (¼ P … 4 P).
    """
    return NTKExplorer(**values)

"""NTK explorer (introduction): the batch Hessian H = JᵀJ/N (P × P) and the empirical NTK Θ = JJᵀ/N (N × N)
share their nonzero eigenvalues; their zero counts differ (P − r vs N − r)."""
from __future__ import annotations

import numpy as np

import nearopt

from ._base import Explorer, check_dense, check_seed, dropdown, fmt, islider, itext, input_seed

__all__ = ["NTKExplorer", "ntk_explorer"]

_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)


class NTKExplorer(Explorer):
    title = "Hessian JᵀJ/N and neural tangent kernel JJᵀ/N"
    main = "n_samples"

    def _make_controls(self):
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

    def compute(self, p, progress=None):
        act = p["activation"]
        ni, nh, n = p["n_in"], p["n_hidden"], p["n_samples"]
        seed = check_seed(p["seed"])
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"The batch size N must be a positive integer; got N = {n}.")
        P = nearopt.n_params(ni, nh)
        check_dense(P, "the Hessian")
        check_dense(n, "the NTK")
        W1, W2 = nearopt.sample_teacher(ni, nh, seed=seed)
        X = nearopt.sample_inputs(n, ni, seed=input_seed(seed))
        eh = np.asarray(nearopt.to_numpy(np.linalg.eigvalsh(nearopt.to_numpy(nearopt.hessian(W1, W2, act, X)))))
        ek = np.asarray(nearopt.to_numpy(np.linalg.eigvalsh(nearopt.to_numpy(nearopt.ntk(W1, W2, act, X)))))
        ih, ik = nearopt.numerical_rank(eh), nearopt.numerical_rank(ek)
        r = min(ih.rank, ik.rank)
        top_h, top_k = eh[::-1][:r], ek[::-1][:r]
        diff = float(np.max(np.abs(top_h - top_k)) / max(ih.lambda_max, 1e-300)) if r else 0.0
        return {"P": P, "N": n, "hessian_eigenvalues": eh, "ntk_eigenvalues": ek, "rank_hessian": ih.rank,
                "rank_ntk": ik.rank, "zeros_hessian": P - ih.rank, "zeros_ntk": n - ik.rank,
                "tol_hessian": ih.tol, "tol_ntk": ik.tol, "max_relative_difference": diff, "notes": []}

    def draw(self, ax, data, p):
        eh, ek = data["hessian_eigenvalues"][::-1], data["ntk_eigenvalues"][::-1]
        tol = max(data["tol_hessian"], data["tol_ntk"])
        floor = tol / 10 if tol > 0 else 1e-20
        for ev, r, mk, col, name, size, z in ((eh, data["rank_hessian"], "o", "C0", "H = JᵀJ/N", data["P"],
                                                data["zeros_hessian"]),
                                               (ek, data["rank_ntk"], "x", "C3", "Θ = JJᵀ/N", data["N"],
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
        ax.set_title(f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}: P = {data['P']}, "
                     f"N = {data['N']}", fontsize=10)
        ax.legend(fontsize=7, loc="lower left")

    def summary(self, data, p):
        return (f"N = {data['N']}, P = {data['P']}: rank(H) = {data['rank_hessian']}, rank(Θ) = {data['rank_ntk']}; "
                f"zeros: H {data['zeros_hessian']} (P − r), Θ {data['zeros_ntk']} (N − r); nonzero eigenvalues "
                f"agree to {fmt(data['max_relative_difference'])} × λ_max")


def ntk_explorer(**values) -> NTKExplorer:
    """Spectra of the batch Hessian (:func:`nearopt.hessian` with X) and the empirical NTK
    (:func:`nearopt.ntk`) overlaid, as the batch size N crosses P.

    Controls: ``activation``, ``n_in``, ``n_hidden``, ``n_samples``, ``seed``.  Static view: frames over N
    (¼ P … 4 P).
    """
    return NTKExplorer(**values)

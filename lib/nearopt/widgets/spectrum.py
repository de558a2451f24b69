"""Spectrum explorer: histogram of the nonzero Hessian eigenvalues at the optimum, with the linear-network
theory (ensemble law or one-realisation shifted Marchenko–Pastur law) overlaid."""
from __future__ import annotations

import numpy as np

import nearopt

from .controls import (TooLargeError, batch_size, check_count, check_dense, check_seed, dropdown, islider,
                       loss_controls, itext, mode_label, teacher_and_inputs)
from .explorer import Explorer
from .figures import fmt, histogram, log_density, theory_grid, use_log
from .shared import linear_law, nonzero_part, spectrum_numpy

__all__ = ["SpectrumExplorer", "spectrum_explorer", "spectrum_data"]

#: cap on (realisations × P³) for the dense routes, about ten seconds of LAPACK
MAX_WORK = 4e10


def spectrum_data(*, activation="linear", n_in=10, n_hidden=20, mode="population", n_samples=200,
                  realisations=20, seed=0, progress=None) -> dict:
    """Hessian spectra at the optimum of ``realisations`` teachers (seeds ``seed``, ``seed + 1``, …) and, for
    the linear network, the theory: the ensemble law χ² ⊛ MP (:class:`nearopt.LinearSpectrumLaw`) or, for one
    realisation, the shifted MP law of that teacher, with the KS distance of the pooled nonzero eigenvalues.

    Returns ``eigenvalues`` (first realisation, :func:`nearopt.spectrum`), ``spectra``, ``nonzero`` (pooled),
    ``rank``/``ranks``, ``lambda_min_pos``, ``lambda_max``, ``shifts`` (‖W2‖² per realisation), ``theory``
    (``x``, ``pdf``, ``label``, ``atom``; None unless linear), ``ks``, ``P``, ``notes``.
    """
    act = nearopt.get_activation(activation)
    seed = check_seed(seed)
    values = {"mode": mode, "n_samples": n_samples, "n_in": n_in, "n_hidden": n_hidden}
    n = batch_size(values)
    R = check_count(realisations, "number of realisations")
    P = nearopt.n_params(n_in, n_hidden)
    linear = activation == "linear"
    if not linear:
        work = min(P, n) if n is not None else P  # NTK route when N < P
        check_dense(work, "the Hessian")
        if R * float(work) ** 3 > MAX_WORK:
            raise TooLargeError(f"{R} realisations of a {work} × {work} eigenproblem would take too long "
                                "interactively; reduce the realisations, Ni or Nh.")
    spectra, infos, shifts, pooled = [], [], [], []
    for r in range(R):
        W1, W2, X = teacher_and_inputs(values, seed + r)
        ev = spectrum_numpy(W1, W2, act, X)
        nz, info = nonzero_part(ev)
        spectra.append(ev)
        infos.append(info)
        pooled.append(nz)
        shifts.append(float(np.sum(nearopt.to_numpy(W2) ** 2)))
        if progress:
            progress(r + 1, R)
    nonzero = np.concatenate(pooled)
    if nonzero.size == 0:
        raise ValueError("Every eigenvalue is numerically zero for this setting.")
    data = {
        "P": P, "eigenvalues": spectra[0], "spectra": np.array(spectra), "nonzero": nonzero,
        "rank": infos[0].rank, "ranks": [i.rank for i in infos],
        "lambda_min_pos": infos[0].lambda_min_pos, "lambda_max": infos[0].lambda_max,
        "lambda_min_pos_all": float(nonzero[nonzero > 0].min()) if np.any(nonzero > 0) else 0.0,
        "shifts": shifts, "theory": None, "ks": None, "notes": [],
    }
    if linear:
        law = linear_law(n_in, n_hidden)
        if R == 1:
            tl = law.realisation(shifts[0])
            label = "shifted MP law, one realisation (‖W2‖² = " + fmt(shifts[0]) + ")"
            atom = (float(tl.atom), float(tl.shift)) if tl.atom > 0 else None
            lo, hi = tl.lower_edge, tl.upper_edge
        else:
            tl = law
            label = "ensemble law (χ² ⊛ MP)"
            atom = None
            sd = float(np.sqrt(law.var()))
            lo, hi = max(law.support()[0], law.mean() - 5 * sd), law.mean() + 5 * sd
        lo = min(lo, float(nonzero.min()))
        hi = max(hi, float(nonzero.max()))
        x = theory_grid(lo * 0.98, hi * 1.02)
        data["theory"] = {"x": x, "pdf": np.asarray(tl.pdf(x)), "label": label, "atom": atom}
        data["ks"] = nearopt.ks_distance(nonzero, tl)
        if n is not None:
            data["theory"]["label"] = "population " + label + " (N → ∞)"
    return data


class SpectrumExplorer(Explorer):
    title = "Hessian spectrum at the optimum"
    main = "n_hidden"
    render_only = ("xscale",)
    compute_data = staticmethod(spectrum_data)

    def make_controls(self):
        return {
            "activation": dropdown("activation", list(nearopt.ACTIVATIONS), "linear"),
            "n_in": islider("Ni", 10, 1, 64),
            "n_hidden": islider("Nh", 20, 1, 128),
            **loss_controls("population", 200),
            "realisations": islider("realisations", 20, 1, 50),
            "seed": itext("seed", 0),
            "xscale": dropdown("x axis", ["auto", "linear", "log"], "auto"),
        }

    def static_values(self, p):
        """Nh = Ni × (½, 1, 1.5, 2, 3, 4, 6): the ratio q = Ni/Nh from 2 (atom) to 1/6."""
        return sorted({max(1, int(round(p["n_in"] * f))) for f in (0.5, 1, 1.5, 2, 3, 4, 6)})

    def draw(self, ax, data, p):
        nz = data["nonzero"]
        log = use_log(p["xscale"], nz)
        h, edges = histogram(nz, log)
        R = len(data["ranks"])
        ax.stairs(h, edges, fill=True, alpha=0.45, color="C0",
                  label=f"nonzero eigenvalues ({nz.size}, {R} realisation{'s' if R > 1 else ''})")
        top = float(h.max()) if h.size else 1.0
        th = data["theory"]
        if th is not None:
            y = log_density(th["x"], th["pdf"]) if log else th["pdf"]
            ax.plot(th["x"], y, color="C3", lw=1.6, label=th["label"])
            top = float(np.max(y)) * 1.25
            if th["atom"]:
                mass, at = th["atom"]
                ax.axvline(at, color="C3", ls="--", lw=1.2, label=f"atom at ‖W2‖², mass {mass:.2f}")
                # do not let the atom's bin squash the continuous part
                inside = (edges[:-1] <= at) & (at <= edges[1:])
                rest = h[~inside]
                top = max(top, 1.1 * float(rest.max()) if rest.size else top)
            else:
                top = max(top, float(h.max()) * 1.05)
        ax.set_ylim(0, top)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel("eigenvalue λ")
        ax.set_ylabel("density of log₁₀ λ" if log else "density (area 1)")
        ax.legend(fontsize=7, loc="upper right")

    def caption(self, data, p):
        return f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {mode_label(p)}"

    def summary(self, data, p):
        ranks = data["ranks"]
        s = (f"P = {data['P']}; rank = {data['rank']}"
             + (f" (realisations: {min(ranks)}–{max(ranks)})" if len(ranks) > 1 else "")
             + f"; λ_min⁺ = {fmt(data['lambda_min_pos'])}; λ_max = {fmt(data['lambda_max'])}")
        if data["ks"] is not None:
            s += f"; KS distance to the {'population ' if p['mode'] == 'batch' else ''}law = {fmt(data['ks'])}"
        return s


def spectrum_explorer(**values) -> SpectrumExplorer:
    """Eigenvalue histogram of the Hessian at the optimum with the linear-network theory overlaid
    (computation: :func:`spectrum_data`).

    Controls (keyword arguments set their initial values): ``activation`` (one of
    :data:`nearopt.ACTIVATIONS`), ``n_in``, ``n_hidden``, ``mode`` (``"population"`` or ``"batch"``),
    ``n_samples`` (batch N), ``realisations``, ``seed``, ``xscale`` (``"auto"``, ``"linear"``, ``"log"``).
    Realisation r uses teacher seed ``seed + r``.  Static view: frames over Nh.
    """
    return SpectrumExplorer(**values)

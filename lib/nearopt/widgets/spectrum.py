"""Spectrum explorer: histogram of the nonzero Hessian eigenvalues at the optimum, with the linear-network
theory (ensemble law or one-realisation shifted Marchenko–Pastur law) overlaid."""
from __future__ import annotations

import functools

import numpy as np

import nearopt

from ._base import (MODES, Explorer, TooLargeError, check_batch_size, check_dense, check_seed, dropdown, fmt,
                    islider, itext, mode_label, teacher_and_inputs)

__all__ = ["SpectrumExplorer", "spectrum_explorer"]

#: cap on (realisations × P³) for the dense routes, about ten seconds of LAPACK
_MAX_WORK = 4e10


@functools.lru_cache(maxsize=32)
def linear_law(n_in: int, n_hidden: int):
    """:class:`nearopt.LinearSpectrumLaw` with the default variances (its quadrature rule is built once)."""
    return nearopt.LinearSpectrumLaw(n_in, n_hidden)


def nonzero_part(ev):
    """The eigenvalues that :func:`nearopt.numerical_rank` counts (|λ| above its tolerance) and the info."""
    info = nearopt.numerical_rank(ev)
    return ev[np.abs(ev) > info.tol], info


def theory_grid(lo, hi, n=160):
    """Evaluation points covering [lo, hi] both linearly and logarithmically (the x axis is switchable)."""
    lo = max(lo, 1e-300)
    return np.unique(np.concatenate([np.linspace(lo, hi, n), np.geomspace(lo, hi, n)]))


def histogram(values, log: bool, bins=None):
    """Density-normalised histogram (area 1, comparable with a pdf).

    ``log=True``: the density of log10 λ on logarithmic bins (the edges are returned in λ); a pdf f(λ) then
    compares as λ ln(10) f(λ) — see :func:`log_density`.
    """
    v = np.asarray(values, dtype=np.float64)
    nb = int(np.clip(np.sqrt(v.size) * 1.5, 8, 60)) if bins is None else bins
    log = log and v.min() > 0
    if log:
        v = np.log10(v)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        pad = 0.05 * abs(lo) + 1e-12
        lo, hi = lo - pad, hi + pad
    h, edges = np.histogram(v, bins=np.linspace(lo, hi, nb + 1), density=True)
    return h, (10.0 ** edges if log else edges)


def log_density(x, pdf):
    """Density of log10 λ from the density of λ: λ ln(10) f(λ)."""
    return np.asarray(x) * np.log(10.0) * np.asarray(pdf)


def use_log(xscale: str, values) -> bool:
    if xscale == "log":
        return True
    if xscale == "linear":
        return False
    v = np.asarray(values)
    return bool(v.size and v.min() > 0 and v.max() / v.min() > 100)


class SpectrumExplorer(Explorer):
    title = "Hessian spectrum at the optimum"
    main = "n_hidden"
    render_only = ("xscale",)

    def _make_controls(self):
        return {
            "activation": dropdown("activation", list(nearopt.ACTIVATIONS), "linear"),
            "n_in": islider("Ni", 10, 1, 64),
            "n_hidden": islider("Nh", 20, 1, 128),
            "mode": dropdown("Hessian", MODES, "population"),
            "n_samples": itext("batch N", 200),
            "realisations": islider("realisations", 20, 1, 50),
            "seed": itext("seed", 0),
            "xscale": dropdown("x axis", ["auto", "linear", "log"], "auto"),
        }

    def ignored(self, p):
        return {"n_samples"} if p["mode"] != "batch" else set()

    def static_values(self, p):
        """Nh = Ni × (½, 1, 1.5, 2, 3, 4, 6): the ratio q = Ni/Nh from 2 (atom) to 1/6."""
        return sorted({max(1, int(round(p["n_in"] * f))) for f in (0.5, 1, 1.5, 2, 3, 4, 6)})

    def compute(self, p, progress=None):
        act = nearopt.get_activation(p["activation"])
        ni, nh, R = p["n_in"], p["n_hidden"], p["realisations"]
        seed = check_seed(p["seed"])
        n = check_batch_size(p)
        if R < 1:
            raise ValueError(f"The number of realisations must be ≥ 1; got {R}.")
        P = nearopt.n_params(ni, nh)
        linear = p["activation"] == "linear"
        if not linear:
            work = min(P, n) if n is not None else P  # NTK route when N < P
            check_dense(work, "the Hessian")
            if R * float(work) ** 3 > _MAX_WORK:
                raise TooLargeError(f"{R} realisations of a {work} × {work} eigenproblem would take too long "
                                    "interactively; reduce the realisations, Ni or Nh.")
        spectra, infos, shifts, pooled = [], [], [], []
        for r in range(R):
            s = seed + r
            W1, W2, X = teacher_and_inputs(p, s)
            ev = np.asarray(nearopt.to_numpy(nearopt.spectrum(W1, W2, act, X)), dtype=np.float64)
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
            law = linear_law(ni, nh)
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
            data["theory"] = {"x": x, "pdf": np.asarray(tl.pdf(x)), "label": label, "atom": atom,
                              "mass": 1.0 - (atom[0] if atom else 0.0)}
            data["ks"] = nearopt.ks_distance(nonzero, tl)
            if n is not None:
                data["theory"]["label"] = "population " + label + " (N → ∞)"
        return data

    def draw(self, ax, data, p):
        nz = data["nonzero"]
        log = use_log(p["xscale"], nz)
        h, edges = histogram(nz, log)
        ax.stairs(h, edges, fill=True, alpha=0.45, color="C0",
                  label=f"nonzero eigenvalues ({nz.size}, {len(data['ranks'])} realisation"
                        f"{'s' if len(data['ranks']) > 1 else ''})")
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
        ax.set_title(f"{p['activation']}, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {mode_label(p)}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")

    def summary(self, data, p):
        s = (f"P = {data['P']}; rank = {data['rank']}"
             + (f" (realisations: {min(data['ranks'])}–{max(data['ranks'])})" if len(data['ranks']) > 1 else "")
             + f"; λ_min⁺ = {fmt(data['lambda_min_pos'])}; λ_max = {fmt(data['lambda_max'])}")
        if data["ks"] is not None:
            s += f"; KS distance to the {'population ' if p['mode'] == 'batch' else ''}law = {fmt(data['ks'])}"
        return s


def spectrum_explorer(**values) -> SpectrumExplorer:
    """Eigenvalue histogram of the Hessian at the optimum with the linear-network theory overlaid.

    Controls (keyword arguments set their initial values): ``activation`` (one of
    :data:`nearopt.ACTIVATIONS`), ``n_in``, ``n_hidden``, ``mode`` (``"population"`` or ``"batch"``),
    ``n_samples`` (batch N), ``realisations``, ``seed``, ``xscale`` (``"auto"``, ``"linear"``, ``"log"``).
    Realisation r uses teacher seed ``seed + r``.  Static view: frames over Nh.
    """
    return SpectrumExplorer(**values)

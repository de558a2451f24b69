"""Input explorer (Chapter 4): batch Hessian spectrum of a linear network for non-Gaussian inputs vs the
Gaussian prediction."""
from __future__ import annotations

import numpy as np

import nearopt

from ._base import Explorer, check_seed, dropdown, fmt, islider, itext, input_seed
from .spectrum import histogram, linear_law, log_density, nonzero_part, theory_grid, use_log

__all__ = ["InputExplorer", "input_explorer", "EmpiricalLaw"]


class EmpiricalLaw:
    """The empirical distribution of a sample, with the ``cdf``/``cdf_left`` that
    :func:`nearopt.ks_distance` reads (a two-sample KS distance)."""

    def __init__(self, samples):
        self.samples = np.sort(np.asarray(samples, dtype=np.float64).ravel())

    def cdf(self, x):
        return np.searchsorted(self.samples, np.asarray(x, dtype=np.float64), side="right") / self.samples.size

    def cdf_left(self, x):
        return np.searchsorted(self.samples, np.asarray(x, dtype=np.float64), side="left") / self.samples.size


class InputExplorer(Explorer):
    title = "Batch spectrum of a linear network for non-Gaussian inputs"
    main = "dist"
    render_only = ("xscale",)

    def _make_controls(self):
        return {
            "dist": dropdown("inputs", list(nearopt.INPUT_DISTRIBUTIONS), "student-t"),
            "n_in": islider("Ni", 10, 1, 64),
            "n_hidden": islider("Nh", 20, 1, 128),
            "n_samples": itext("batch N", 200),
            "realisations": islider("realisations", 10, 1, 50),
            "seed": itext("seed", 0),
            "xscale": dropdown("x axis", ["auto", "linear", "log"], "linear"),
        }

    def static_values(self, p):
        return list(nearopt.INPUT_DISTRIBUTIONS)

    def compute(self, p, progress=None):
        ni, nh, n, R = p["n_in"], p["n_hidden"], p["n_samples"], p["realisations"]
        seed = check_seed(p["seed"])
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"The batch size N must be a positive integer; got N = {n}.")
        if R < 1:
            raise ValueError(f"The number of realisations must be ≥ 1; got {R}.")
        if n * ni * R > 5e7:
            raise ValueError(f"N × Ni × realisations = {n * ni * R} inputs is too many for an interactive update.")
        spectra, batch, gauss, pop, shifts = [], [], [], [], []
        for r in range(R):
            s = seed + r
            W1, W2 = nearopt.sample_teacher(ni, nh, seed=s)
            X = nearopt.sample_inputs(n, ni, dist=p["dist"], seed=input_seed(s))
            Xg = nearopt.sample_inputs(n, ni, dist="gaussian", seed=input_seed(s))
            ev = np.asarray(nearopt.to_numpy(nearopt.spectrum(W1, W2, "linear", X)))
            spectra.append(ev)
            batch.append(nonzero_part(ev)[0])
            gauss.append(nonzero_part(np.asarray(nearopt.to_numpy(nearopt.spectrum(W1, W2, "linear", Xg))))[0])
            pop.append(nonzero_part(np.asarray(nearopt.to_numpy(nearopt.spectrum(W1, W2, "linear"))))[0])
            shifts.append(float(np.sum(nearopt.to_numpy(W2) ** 2)))
            if progress:
                progress(r + 1, R)
        batch, gauss, pop = map(np.concatenate, (batch, gauss, pop))
        law = linear_law(ni, nh)
        tl = law if R > 1 else law.realisation(shifts[0])
        allv = np.concatenate([batch, gauss, pop])
        x = theory_grid(max(allv.min() * 0.98, 1e-12), allv.max() * 1.02)
        notes = []
        if batch.size == 0:
            notes.append(f"Every batch eigenvalue is zero: these {n} {p['dist']} inputs are all zero. "
                         "Increase N or choose another distribution.")
        return {
            "eigenvalues": spectra[0], "spectra": np.array(spectra), "nonzero": batch, "gaussian_nonzero": gauss,
            "population_nonzero": pop,
            "ks_gaussian_batch": nearopt.ks_distance(batch, EmpiricalLaw(gauss)) if batch.size else None,
            "ks_law": nearopt.ks_distance(batch, tl) if batch.size else None,
            "ks_gaussian_law": nearopt.ks_distance(gauss, tl),
            "theory": {"x": x, "pdf": np.asarray(tl.pdf(x)),
                       "label": "population law (ensemble)" if R > 1 else "population law (shifted MP)"},
            "lambda_max": float(batch.max(initial=0.0)), "lambda_min_pos": float(batch.min(initial=0.0)),
            "notes": notes,
        }

    def draw(self, ax, data, p):
        nz, g = data["nonzero"], data["gaussian_nonzero"]
        log = use_log(p["xscale"], np.concatenate([nz, g]))
        h = np.zeros(1)
        if nz.size:
            h, e = histogram(nz, log)
            ax.stairs(h, e, fill=True, alpha=0.45, color="C0",
                      label=f"{p['dist']} inputs, batch N = {p['n_samples']}")
        hg, eg = histogram(g, log)
        ax.stairs(hg, eg, color="k", lw=1.3, label="Gaussian inputs, same N")
        th = data["theory"]
        y = log_density(th["x"], th["pdf"]) if log else th["pdf"]
        ax.plot(th["x"], y, color="C3", lw=1.5, label=th["label"])
        ax.set_ylim(0, 1.2 * max(float(h.max()), float(hg.max()), float(np.max(y))))
        if log:
            ax.set_xscale("log")
        ax.set_xlabel("nonzero eigenvalue λ")
        ax.set_ylabel("density of log₁₀ λ" if log else "density (area 1)")
        ax.set_title(f"linear network, Ni = {p['n_in']}, Nh = {p['n_hidden']}, {p['realisations']} realisation"
                     f"{'s' if p['realisations'] > 1 else ''}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")

    def summary(self, data, p):
        if data["ks_law"] is None:
            return f"{p['dist']}: no nonzero batch eigenvalue"
        return (f"{p['dist']}: KS distance to the Gaussian-input batch spectrum {fmt(data['ks_gaussian_batch'])}, "
                f"to the population law {fmt(data['ks_law'])} (Gaussian inputs: {fmt(data['ks_gaussian_law'])}); "
                f"λ range {fmt(data['lambda_min_pos'])} … {fmt(data['lambda_max'])}")


def input_explorer(**values) -> InputExplorer:
    """Nonzero batch-Hessian eigenvalues of the linear network (:func:`nearopt.spectrum` with X from
    :func:`nearopt.sample_inputs`) for an input distribution in :data:`nearopt.INPUT_DISTRIBUTIONS`, vs the
    same teacher with Gaussian inputs and the population law (:class:`nearopt.LinearSpectrumLaw`); KS
    distances by :func:`nearopt.ks_distance`.

    Controls: ``dist``, ``n_in``, ``n_hidden``, ``n_samples``, ``realisations``, ``seed``, ``xscale``.
    Static view: frames over the distribution.
    """
    return InputExplorer(**values)

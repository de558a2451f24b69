"""Input explorer (Chapter 4): batch Hessian spectrum of a linear network for non-Gaussian inputs vs the
Gaussian prediction."""
from __future__ import annotations

import numpy as np

import nearopt

from .controls import check_batch_size, check_count, check_seed, dropdown, input_seed, islider, itext
from .explorer import Explorer
from .figures import fmt, histogram, log_density, theory_grid, use_log
from .shared import EmpiricalLaw, linear_law, nonzero_part, spectrum_numpy

__all__ = ["InputExplorer", "input_explorer", "input_data", "EmpiricalLaw"]


def input_data(*, dist="student-t", n_in=10, n_hidden=20, n_samples=200, realisations=10, seed=0,
               progress=None) -> dict:
    """Nonzero batch-Hessian eigenvalues of the linear network for inputs from ``dist`` (one of
    :data:`nearopt.INPUT_DISTRIBUTIONS`), pooled over ``realisations`` teachers (seeds ``seed + r``), vs the
    same teachers with Gaussian inputs and the population law (:class:`nearopt.LinearSpectrumLaw`).

    Returns ``eigenvalues`` (first realisation), ``spectra``, ``nonzero``, ``gaussian_nonzero``,
    ``population_nonzero``, the KS distances ``ks_gaussian_batch`` (two-sample), ``ks_law``,
    ``ks_gaussian_law`` (:func:`nearopt.ks_distance`), ``theory`` (``x``, ``pdf``, ``label``), ``notes``.
    """
    seed = check_seed(seed)
    n = check_batch_size(n_samples, n_in, n_hidden, copies=2)
    R = check_count(realisations, "number of realisations")
    if n * n_in * R > 5e7:
        raise ValueError(f"N × Ni × realisations = {n * n_in * R} inputs is too many for an interactive update.")
    spectra, batch, gauss, pop = [], [], [], []
    shifts = []
    for r in range(R):
        s = seed + r
        W1, W2 = nearopt.sample_teacher(n_in, n_hidden, seed=s)
        X = nearopt.sample_inputs(n, n_in, dist=dist, seed=input_seed(s))
        Xg = nearopt.sample_inputs(n, n_in, dist="gaussian", seed=input_seed(s))
        ev = spectrum_numpy(W1, W2, "linear", X)
        spectra.append(ev)
        batch.append(nonzero_part(ev)[0])
        gauss.append(nonzero_part(spectrum_numpy(W1, W2, "linear", Xg))[0])
        pop.append(nonzero_part(spectrum_numpy(W1, W2, "linear"))[0])
        shifts.append(float(np.sum(nearopt.to_numpy(W2) ** 2)))
        if progress:
            progress(r + 1, R)
    batch, gauss, pop = map(np.concatenate, (batch, gauss, pop))
    law = linear_law(n_in, n_hidden)
    tl = law if R > 1 else law.realisation(shifts[0])
    allv = np.concatenate([batch, gauss, pop])
    x = theory_grid(max(allv.min() * 0.98, 1e-12), allv.max() * 1.02)
    notes = []
    if batch.size == 0:
        notes.append(f"Every batch eigenvalue is zero: these {n} {dist} inputs are all zero. "
                     "Increase N or choose another distribution.")
    return {
        "eigenvalues": spectra[0], "spectra": np.array(spectra), "nonzero": batch, "gaussian_nonzero": gauss,
        "population_nonzero": pop,
        "ks_gaussian_batch": nearopt.ks_distance(batch, EmpiricalLaw(gauss)) if batch.size else None,
        "ks_law": nearopt.ks_distance(batch, tl) if batch.size else None,
        "ks_gaussian_law": nearopt.ks_distance(gauss, tl),
        "theory": {"x": x, "pdf": np.asarray(tl.pdf(x)),
                   "label": "population law (ensemble)" if R > 1 else "population law (shifted MP)"},
        "lambda_max": float(batch.max()) if batch.size else 0.0,
        "lambda_min_pos": float(batch.min()) if batch.size else 0.0,
        "notes": notes,
    }


class InputExplorer(Explorer):
    title = "Batch spectrum of a linear network for non-Gaussian inputs"
    main = "dist"
    render_only = ("xscale",)
    compute_data = staticmethod(input_data)

    def make_controls(self):
        return {
            "dist": dropdown("inputs", list(nearopt.INPUT_DISTRIBUTIONS), "student-t"),
            "n_in": islider("Ni", 10, 1, 64),
            "n_hidden": islider("Nh", 20, 1, 128),
            "n_samples": itext("batch N", 200),
            "realisations": islider("realisations", 10, 1, 50),
            "seed": itext("seed", 0),
            "xscale": dropdown("x axis", ["auto", "linear", "log"], "linear"),
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
        ax.legend(fontsize=7, loc="upper right")

    def caption(self, data, p):
        R = p["realisations"]
        return (f"linear network, Ni = {p['n_in']}, Nh = {p['n_hidden']}, batch N = {p['n_samples']}, "
                f"{R} realisation{'s' if R > 1 else ''}")

    def summary(self, data, p):
        if data["ks_law"] is None:
            return f"{p['dist']}: no nonzero batch eigenvalue"
        return (f"{p['dist']}: KS distance to the Gaussian-input batch spectrum {fmt(data['ks_gaussian_batch'])}, "
                f"to the population law {fmt(data['ks_law'])} (Gaussian inputs: {fmt(data['ks_gaussian_law'])}); "
                f"λ range {fmt(data['lambda_min_pos'])} … {fmt(data['lambda_max'])}")


def input_explorer(**values) -> InputExplorer:
    """Nonzero batch-Hessian eigenvalues of the linear network for an input distribution vs Gaussian inputs
    and the population law (computation: :func:`input_data`).

    Controls: ``dist``, ``n_in``, ``n_hidden``, ``n_samples``, ``realisations``, ``seed``, ``xscale``.
    Static view: frames over the distribution.
    """
    return InputExplorer(**values)

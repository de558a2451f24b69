"""Spectra of the Hessian at the optimum by the cheapest exact route, and matrix-free densities.

Routes (``spectrum(..., method=...)``):

* ``"linear"`` — linear activation.  Population: the nonzero eigenvalues are ‖W2‖² + eig(W1ᵀW1)
  (Ni of them), the other P − Ni are 0 (book, Chapter 2, eq. ``ch2-linear-spectrum``).  Batch with
  C = XᵀX/N: the nonzero eigenvalues are those of C^{1/2}(‖W2‖² I + W1ᵀW1)C^{1/2}, computed as
  eig(Rᵀ C R) with A = ‖W2‖² I + W1ᵀW1 = R Rᵀ (Cholesky), an Ni × Ni problem.
* ``"ntk"`` — batch with N < P: the nonzero spectrum of H = JᵀJ/N equals that of the empirical NTK
  Θ = J Jᵀ/N (N × N); P − N zeros are appended.
* ``"dense"`` — ``eigvalsh`` of the P × P Hessian.

For P too large to store, :func:`slq_density` estimates the spectral density by stochastic Lanczos
quadrature (:func:`nearopt.slq`) on :func:`nearopt.hessian_operator`.
"""
from __future__ import annotations

import numpy as np

from ._validation import (check_array, check_choice, check_finite_result, check_int, check_positive, check_size,
                          resolve, rng)
from .backend import F64, check_memory, chunk_length
from .gauss_newton import (GN_ROW_CHUNK, check_dense, features_bytes, gn_bytes_per_row, jacobian_bytes,
                           jacobian_of)
from .hessian import hessian_of
from .operator import HessianOperator, slq

__all__ = ["spectrum", "ntk", "fisher", "slq_density", "SpectralDensity", "wasserstein", "spectrum_of",
           "METHODS", "MAX_LABEL_DRAWS", "LABEL_CHUNK"]

#: most label-noise draws (N × n_label_samples) of the Monte-Carlo Fisher (about 10 s of sampling)
MAX_LABEL_DRAWS = 10**9
#: label-noise draws per sample taken at once by the Monte-Carlo Fisher
LABEL_CHUNK = 4096
#: spectrum routes
METHODS = ("auto", "dense", "ntk", "linear")


def _is_linear(act):
    return act.is_polynomial and act.degrees == (1,)


def _pad_zeros(xp, ev, P):
    k = P - ev.shape[0]
    if k > 0:
        ev = xp.concat([ev, xp.zeros(k, dtype=xp.float64)])
    return xp.sort(ev)


def _quiet():
    return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


def ntk_of(prob):
    """Θ = J Jᵀ / N of a resolved batch problem (internal entry point)."""
    n = prob.N
    check_memory(F64 * 2.0 * n * n + jacobian_bytes(prob.xp, n, prob.n_hidden, prob.n_in), f"The NTK ({n} × {n})",
                 reduce="N (rows of X)")
    with _quiet():
        J = jacobian_of(prob)
        K = (J @ J.T) / n
    return check_finite_result(K, "The NTK", prob.act, prob.W1, prob.W2, prob.X)


def _need_batch(X, what):
    if X is None:
        raise ValueError(f"X must be a 2-D array of shape (N, n_in), got None ({what} needs a batch)")


def ntk(W1, W2, activation, X):
    """Empirical NTK Θ = J Jᵀ / N (N × N); shares its nonzero eigenvalues with H = JᵀJ/N."""
    _need_batch(X, "the NTK")
    return ntk_of(resolve(W1, W2, activation, X))


def fisher(W1, W2, activation, X, n_label_samples=None, seed=0):
    """Fisher information of the Gaussian likelihood p(y|x) = N(y; f_θ(x), 1) at θ.

    Exact (``n_label_samples=None``): F = E_x E_{y|x}[(y − f)² ∇f∇fᵀ] = (1/N) JᵀJ, equal to the Hessian at
    the optimum.  With ``n_label_samples = S``: the Monte-Carlo Fisher (1/NS) Σ_μ Σ_s ε_{μs}² ∇f_μ∇f_μᵀ
    with labels y = f(x) + ε drawn from the model (ε ~ N(0,1)), i.e. from score vectors.
    """
    _need_batch(X, "the Fisher information")
    prob = resolve(W1, W2, activation, X)
    if n_label_samples is None:
        return hessian_of(prob)
    n, P = prob.N, prob.P
    S = check_int(n_label_samples, "n_label_samples", 1, max(1, MAX_LABEL_DRAWS // n))
    gen = rng(seed)
    # labels are drawn in chunks of samples: the (N, S) noise array never exists whole
    fixed = F64 * 2.0 * P * P + jacobian_bytes(prob.xp, n, prob.n_hidden, prob.n_in) + F64 * 2.0 * n * P
    # the labels' noise is drawn in chunks of label samples: the (N, S) array never exists whole
    k_max = chunk_length(S, F64 * 2.0 * n, f"The Monte-Carlo Fisher (P = {P}, N = {n})",
                         reduce="N (rows of X) or n_hidden", fixed_bytes=fixed, max_items=LABEL_CHUNK)
    w = np.zeros(n)
    for start in range(0, S, k_max):
        k = min(k_max, S - start)
        w += np.sum(np.square(gen.standard_normal((n, k))), axis=1)
    xp = prob.xp
    w = xp.asarray(w / S, dtype=xp.float64)
    with _quiet():
        J = jacobian_of(prob)
        F = (J.T @ (w[:, None] * J)) / n
    return check_finite_result(F, "The Fisher information", prob.act, prob.W1, prob.W2, prob.X)


def _psd_sqrt(xp, A):
    """R with R Rᵀ = A for a symmetric positive semi-definite A (eigen-decomposition; no Cholesky failure
    when A is singular, e.g. W2 ≈ 0 with Nh < Ni)."""
    mu, V = xp.linalg.eigh(A)
    return V * xp.sqrt(xp.clip(mu, 0.0, None))[None, :]


def spectrum_of(prob, method="auto"):
    """:func:`spectrum` of a resolved problem (internal entry point)."""
    xp, act, W1, W2, X = prob.xp, prob.act, prob.W1, prob.W2, prob.X
    ni, P, n = prob.n_in, prob.P, prob.N
    if method == "auto":
        if _is_linear(act):
            method = "linear"
        elif n is not None and n < P:
            method = "ntk"
        else:
            method = "dense"
    if method == "linear":
        if not _is_linear(act):
            raise ValueError("method='linear' needs the linear activation (coefficients (0, 1))")
        check_memory(F64 * (4.0 * ni * ni + 2.0 * P + (n or 0) * ni), f"The linear spectrum (P = {P})",
                     reduce="n_hidden or n_in")
        c1 = float(act.coeffs[1])
        with _quiet():
            A = (c1 * c1) * (xp.sum(W2 * W2) * xp.eye(ni, dtype=xp.float64) + W1.T @ W1)
            if X is None:
                ev = xp.linalg.eigvalsh(A)
            else:
                R = _psd_sqrt(xp, A)
                ev = xp.linalg.eigvalsh(R.T @ ((X.T @ X) / n) @ R)
        check_finite_result(ev, "The linear spectrum", act, W1, W2, X)
        return _pad_zeros(xp, ev, P)
    if method == "ntk":
        if n is None:
            raise ValueError("method='ntk' needs a batch X (the population Hessian has no NTK route)")
        return _pad_zeros(xp, xp.linalg.eigvalsh(ntk_of(prob)), P)
    check_dense(P, n or 0)
    return xp.linalg.eigvalsh(hessian_of(prob))


def spectrum(W1, W2, activation, X=None, method="auto"):
    """All P eigenvalues of the Hessian at the optimum, ascending, by the cheapest exact route.

    ``method``: ``"auto"`` (linear closed form for the linear activation, NTK when N < P, dense
    otherwise), or force ``"linear"``, ``"ntk"`` or ``"dense"``.
    """
    check_choice(method, "method", METHODS)
    return spectrum_of(resolve(W1, W2, activation, X), method)


# ----------------------------------------------------------------------------- matrix-free
class SpectralDensity:
    """A discrete spectral measure (nodes, weights summing to 1) with a smoothed ``pdf`` and a ``cdf``."""

    def __init__(self, nodes, weights, dim=None):
        self.nodes = np.reshape(check_array(nodes, "nodes", np), (-1,))
        w = np.reshape(check_array(weights, "weights", np), (-1,))
        if w.shape != self.nodes.shape or self.nodes.size == 0:
            raise ValueError(f"weights must have the shape of nodes {self.nodes.shape} (non-empty), got {w.shape}")
        if np.any(w < 0) or not w.sum() > 0:
            raise ValueError("weights must be ≥ 0 with a positive sum, got "
                             f"min {w.min():.3g} and sum {w.sum():.3g}")
        self.weights = w / w.sum()
        self.dim = None if dim is None else check_size(dim, "dim")

    def _points(self, x):
        x = check_array(x, "x", np)
        check_memory(F64 * 3.0 * x.size * self.nodes.size, f"SpectralDensity at {x.size} points",
                     reduce="the number of points x")
        return x

    def pdf(self, x, width=None):
        """Gaussian-smoothed density Σ w_i N(x; θ_i, width²); default width 1% of the node range."""
        x = self._points(x)
        if width is None:
            width = 0.01 * max(float(np.ptp(self.nodes)), DENSITY_WIDTH_FLOOR)
        else:
            width = check_positive(width, "width")
        z = (x[..., None] - self.nodes) / width
        return np.sum(self.weights * np.exp(-0.5 * z * z), axis=-1) / (width * np.sqrt(2 * np.pi))

    def cdf(self, x):
        x = self._points(x)
        return np.sum(self.weights * (self.nodes <= x[..., None]), axis=-1)

    def __repr__(self):
        return f"SpectralDensity({self.nodes.size} nodes, dim={self.dim})"


#: smallest default smoothing width of :meth:`SpectralDensity.pdf` (a single-node measure)
DENSITY_WIDTH_FLOOR = 1e-300


def slq_density(W1, W2, activation, X, n_probes=8, n_steps=60, seed=0):
    """Spectral density of H = JᵀJ/N at the optimum by SLQ on :func:`nearopt.hessian_operator`, never
    forming H (memory O(N Nh + P·m))."""
    if X is None:
        raise ValueError("slq_density needs a batch X (e.g. nearopt.sample_inputs(N, n_in)); the matrix-free "
                         "route works with batch Hessian-vector products")
    prob = resolve(W1, W2, activation, X)
    n_probes = check_size(n_probes, "n_probes")
    m = min(check_size(n_steps, "n_steps"), prob.P)
    check_memory(features_bytes(prob.N, prob.n_hidden) + F64 * (m + 8.0) * prob.P * n_probes
                 + min(prob.N, GN_ROW_CHUNK) * gn_bytes_per_row(prob.n_hidden, prob.n_in, n_probes),
                 f"slq_density (P = {prob.P}, {n_probes} probes × {m} Lanczos steps, N = {prob.N})",
                 reduce="n_steps, n_probes or N (rows of X)")
    op = HessianOperator(prob)  # features computed once, not at every Lanczos step
    nodes, weights = slq(op, n_probes=n_probes, n_steps=n_steps, seed=seed)
    return SpectralDensity(nodes, weights, dim=op.shape[0])


def wasserstein(density, eigenvalues):
    """Wasserstein-1 distance between a :class:`SpectralDensity` and the uniform measure on eigenvalues."""
    from scipy.stats import wasserstein_distance
    from ._validation import check_eigenvalues
    if not isinstance(density, SpectralDensity):
        raise TypeError(f"density must be a nearopt.SpectralDensity, got {type(density).__name__}")
    ev = check_eigenvalues(eigenvalues)
    return float(wasserstein_distance(density.nodes, ev, u_weights=density.weights))

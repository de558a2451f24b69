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
quadrature from Hessian-vector products (:func:`nearopt.hvp`).
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation
from .backend import check_memory, to_numpy
from .hessian import _dense_check, _features, _gn_product, hessian, jacobian
from .teacher import check_inputs, check_size, check_weights, _rng

__all__ = ["spectrum", "ntk", "fisher", "slq", "slq_density", "SpectralDensity", "wasserstein",
           "eigh"]

_METHODS = ("auto", "dense", "ntk", "linear")


def _is_linear(act):
    return act.is_polynomial and act.degrees == (1,)


def _pad_zeros(xp, ev, P):
    k = P - ev.shape[0]
    if k > 0:
        ev = xp.concat([ev, xp.zeros(k, dtype=xp.float64)])
    return xp.sort(ev)


def ntk(W1, W2, activation, X):
    """Empirical NTK Θ = J Jᵀ / N (N × N); shares its nonzero eigenvalues with H = JᵀJ/N."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    X = check_inputs(X, W1.shape[1], xp)
    n = X.shape[0]
    check_memory(8.0 * (n * n + n * W1.shape[0] * (W1.shape[1] + 1)), f"The NTK ({n} × {n})")
    J = jacobian(W1, W2, act, X)
    return (J @ J.T) / n


def fisher(W1, W2, activation, X, n_label_samples=None, seed=0):
    """Fisher information of the Gaussian likelihood p(y|x) = N(y; f_θ(x), 1) at θ.

    Exact (``n_label_samples=None``): F = E_x E_{y|x}[(y − f)² ∇f∇fᵀ] = (1/N) JᵀJ, equal to the Hessian at
    the optimum.  With ``n_label_samples = S``: the Monte-Carlo Fisher (1/NS) Σ_μ Σ_s ε_{μs}² ∇f_μ∇f_μᵀ
    with labels y = f(x) + ε drawn from the model (ε ~ N(0,1)), i.e. from score vectors.
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    X = check_inputs(X, W1.shape[1], xp)
    J = jacobian(W1, W2, act, X)
    n = X.shape[0]
    if n_label_samples is None:
        return (J.T @ J) / n
    S = check_size(n_label_samples, "n_label_samples")
    eps = xp.asarray(_rng(seed).standard_normal((n, S)), dtype=xp.float64)
    w = xp.mean(eps * eps, axis=1)
    return (J.T @ (w[:, None] * J)) / n


def eigh(H):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix on its own backend."""
    from .backend import namespace
    xp = namespace(H)
    return xp.linalg.eigh(H)


def spectrum(W1, W2, activation, X=None, method="auto"):
    """All P eigenvalues of the Hessian at the optimum, ascending, by the cheapest exact route.

    ``method``: ``"auto"`` (linear closed form for the linear activation, NTK when N < P, dense
    otherwise), or force ``"linear"``, ``"ntk"`` or ``"dense"``.
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    nh, ni = W1.shape
    P = nh * (ni + 1)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    if X is not None:
        X = check_inputs(X, ni, xp)
    n = None if X is None else X.shape[0]
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
        c1 = float(act.coeffs[1])
        A = (c1 * c1) * (xp.sum(W2 * W2) * xp.eye(ni, dtype=xp.float64) + W1.T @ W1)
        if X is None:
            ev = xp.linalg.eigvalsh(A)
        else:
            R = xp.linalg.cholesky(A)
            C = (X.T @ X) / n
            ev = xp.linalg.eigvalsh(R.T @ C @ R)
        return _pad_zeros(xp, ev, P)
    if method == "ntk":
        if n is None:
            raise ValueError("method='ntk' needs a batch X (the population Hessian has no NTK route)")
        return _pad_zeros(xp, xp.linalg.eigvalsh(ntk(W1, W2, act, X)), P)
    _dense_check(P, n or 0)
    return xp.linalg.eigvalsh(hessian(W1, W2, act, X))


# ----------------------------------------------------------------------------- matrix-free
def slq(matvec, dim, n_probes=8, n_steps=60, seed=0):
    """Stochastic Lanczos quadrature: nodes and weights of a discrete measure approximating the
    spectral measure (1/P) Σ_k δ(λ − λ_k) of a symmetric operator (Ubaru, Chen & Saad 2017).

    For each Rademacher probe v (|v|² = P), m Lanczos steps (full re-orthogonalisation) give the
    tridiagonal T_m = Σ θ_i y_i y_iᵀ; the quadrature nodes are θ_i with weights y_i[0]²/n_probes.
    ``matvec`` maps an (dim, b) NumPy block to an (dim, b) block; all probes run as one block.
    """
    dim = check_size(dim, "dim")
    n_probes = check_size(n_probes, "n_probes")
    n_steps = check_size(n_steps, "n_steps")
    m = min(n_steps, dim)
    rng = _rng(seed)
    V = rng.choice(np.array([-1.0, 1.0]), size=(dim, n_probes))
    V /= np.linalg.norm(V, axis=0)
    # Lanczos vectors stored probe-major, (n_probes, m, dim): the re-orthogonalisation is then two
    # BLAS matrix–vector products per probe instead of strided einsums over (m, dim, n_probes)
    Q = np.zeros((n_probes, m, dim))
    alpha = np.zeros((m, n_probes))
    beta = np.zeros((m, n_probes))
    q = V
    q_prev = np.zeros_like(q)
    b_prev = np.zeros(n_probes)
    steps = m
    for i in range(m):  # Lanczos steps (inherently sequential); probes are vectorised
        Q[:, i, :] = q.T
        w = np.asarray(to_numpy(matvec(q)), dtype=np.float64).reshape(dim, n_probes)
        a = np.sum(w * q, axis=0)
        wT = np.ascontiguousarray((w - a * q - b_prev * q_prev).T)      # (n_probes, dim)
        # full re-orthogonalisation against all previous Lanczos vectors; a second pass only where the
        # first one cancelled (norm dropped below 1/√2: Daniel–Gragg–Kaufman–Stewart) — "twice is enough"
        Qi = Q[:, : i + 1, :]
        for _ in range(2):
            before = np.linalg.norm(wT, axis=1)
            coef = np.matmul(Qi, wT[:, :, None])                        # (n_probes, i+1, 1)
            wT -= np.matmul(np.swapaxes(Qi, 1, 2), coef)[:, :, 0]
            if not np.any(np.linalg.norm(wT, axis=1) < 0.7071 * before):
                break
        w = wT.T
        b = np.linalg.norm(w, axis=0)
        alpha[i] = a
        if i + 1 < m:
            beta[i] = b
            if np.all(b < 1e-12 * max(1.0, np.max(np.abs(alpha[: i + 1])))):
                steps = i + 1
                break
            q_prev, q = q, w / np.where(b > 0, b, 1.0)
            b_prev = b
    nodes, weights = [], []
    for p in range(n_probes):
        T = np.diag(alpha[:steps, p]) + np.diag(beta[: steps - 1, p], 1) + np.diag(beta[: steps - 1, p], -1)
        th, Y = np.linalg.eigh(T)
        nodes.append(th)
        weights.append(Y[0] ** 2 / n_probes)
    return np.concatenate(nodes), np.concatenate(weights)


class SpectralDensity:
    """A discrete spectral measure (nodes, weights summing to 1) with a smoothed ``pdf`` and a ``cdf``."""

    def __init__(self, nodes, weights, dim=None):
        self.nodes = np.asarray(nodes, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.weights = self.weights / self.weights.sum()
        self.dim = dim

    def pdf(self, x, width=None):
        """Gaussian-smoothed density Σ w_i N(x; θ_i, width²); default width 1% of the node range."""
        x = np.asarray(x, dtype=np.float64)
        if width is None:
            width = 0.01 * max(np.ptp(self.nodes), 1e-300)
        z = (x[..., None] - self.nodes) / width
        return np.sum(self.weights * np.exp(-0.5 * z * z), axis=-1) / (width * np.sqrt(2 * np.pi))

    def cdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        return np.sum(self.weights * (self.nodes <= x[..., None]), axis=-1)

    def __repr__(self):
        return f"SpectralDensity({self.nodes.size} nodes, dim={self.dim})"


def slq_density(W1, W2, activation, X, n_probes=8, n_steps=60, seed=0):
    """Spectral density of H = JᵀJ/N at the optimum by SLQ, never forming H (memory O(N Nh + P·m))."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    if X is None:
        raise ValueError("slq_density needs a batch X (e.g. nearopt.sample_inputs(N, n_in)); the matrix-free "
                         "route works with batch Hessian-vector products")
    X = check_inputs(X, W1.shape[1], xp)
    P = W1.shape[0] * (W1.shape[1] + 1)
    steps = min(check_size(n_steps, "n_steps"), P)
    check_memory(8.0 * (steps * P * n_probes * 2 + X.shape[0] * W1.shape[0] * (2 + n_probes)),
                 "The Lanczos basis of slq_density", "Reduce n_steps or n_probes.")

    _, G, D = _features(xp, act, W1, W2, X)  # computed once, not at every Lanczos step

    def mv(V):
        return to_numpy(_gn_product(xp, X, G, D, xp.asarray(V, dtype=xp.float64)))

    nodes, weights = slq(mv, P, n_probes=n_probes, n_steps=n_steps, seed=seed)
    return SpectralDensity(nodes, weights, dim=P)


def wasserstein(density, eigenvalues):
    """Wasserstein-1 distance between a :class:`SpectralDensity` and the uniform measure on eigenvalues."""
    from scipy.stats import wasserstein_distance
    ev = np.asarray(to_numpy(eigenvalues), dtype=np.float64)
    return float(wasserstein_distance(density.nodes, ev, u_weights=density.weights))

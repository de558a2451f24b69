"""Exact Hessians of the loss of a two-layer teacher–student network, and its Jacobian.

Loss on a batch X (N × Ni): L = (1/2N) Σ_μ (y(x_μ) − y*(x_μ))²; population: L = ½ E_x[(y − y*)²],
x ~ N(0, I).  At the optimum (student = teacher) the residual vanishes and the Hessian is the
Gauss–Newton matrix (book, Chapter 0, eq. ``ch0-gauss-newton``)

    H = (1/N) Jᵀ J           (batch; row μ of J is ∇θ y(x_μ))
    H = E[∇θ y ∇θ yᵀ]         (population)

with ∂y/∂W2[j] = g(u_j), ∂y/∂W1[j,k] = W2[j] g'(u_j) x_k, u_j = W1[j]·x.  Parameter order θ =
(vec(W1) row-major, W2).  Away from the optimum :func:`full_hessian` adds the residual term
(1/N) Σ_μ (y − y*) ∇²θ y(x_μ).  The kernel (features, J, JᵀJv, the population assembly) lives in
:mod:`nearopt.gauss_newton`; the Gaussian pair moments in :mod:`nearopt.moments`; losses and gradients
in :mod:`nearopt.loss`; the matrix-free operator in :mod:`nearopt.operator`.
"""
from __future__ import annotations

import numpy as np

from ._validation import check_finite_result, check_int, check_teacher, resolve
from .backend import F64, check_memory
from .gauss_newton import (CHUNK_SHARE_OF_P2, MATRIX_FREE_HINT, check_dense, features, jacobian_bytes, jacobian_of,
                           population_gauss_newton)
from .moments import gaussian_moments, hermite_rule

__all__ = ["jacobian", "hessian", "population_factor", "full_hessian", "hessian_of", "population_factor_of",
           "FACTOR_MAX_NODES"]

#: default cap on the K^Ni quadrature nodes of :func:`population_factor`
FACTOR_MAX_NODES = 250_000


def _quiet():
    return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


def jacobian(W1, W2, activation, X):
    """J (N × P), row μ = ∇θ y(x_μ): ∂y/∂W1[j,k] = W2[j] g'(u_j) x_k, ∂y/∂W2[j] = g(u_j)."""
    if X is None:
        raise ValueError("X must be a 2-D array of shape (N, n_in), got None (the Jacobian needs a batch)")
    prob = resolve(W1, W2, activation, X)
    n, nh, ni = prob.N, prob.n_hidden, prob.n_in
    check_memory(jacobian_bytes(prob.xp, n, nh, ni), f"The Jacobian ({n} × {prob.P})", MATRIX_FREE_HINT,
                 reduce="N (rows of X) or n_hidden")
    with _quiet():
        J = jacobian_of(prob)
    return check_finite_result(J, "The Jacobian", prob.act, prob.W1, prob.W2, prob.X)


def population_factor_of(prob, max_nodes=FACTOR_MAX_NODES):
    """:func:`population_factor` of a resolved problem (internal entry point)."""
    xp, act, W1 = prob.xp, prob.act, prob.W1
    if not act.is_polynomial:
        raise ValueError(f"activation must be a polynomial for population_factor, got {act.name!r}")
    nh, ni = W1.shape
    K = act.degree + 1
    n_nodes = K ** ni
    if n_nodes > max_nodes:
        raise ValueError(f"population_factor: {K}^{ni} = {n_nodes} quadrature nodes exceed max_nodes = "
                         f"{max_nodes}; use nearopt.hessian (dense eigenvalues) instead")
    check_memory(jacobian_bytes(xp, n_nodes, nh, ni) + F64 * 3.0 * n_nodes * (ni + prob.P),
                 f"population_factor ({n_nodes} nodes × P = {prob.P})", reduce="n_in or n_hidden")
    t, w = hermite_rule(K)
    nodes = np.stack([g.ravel() for g in np.meshgrid(*([t] * ni), indexing="ij")], axis=1)
    weights = np.ones(n_nodes)
    for g in np.meshgrid(*([w] * ni), indexing="ij"):
        weights = weights * g.ravel()
    Xq = xp.asarray(nodes, dtype=xp.float64)
    sw = xp.asarray(np.sqrt(weights), dtype=xp.float64)
    with _quiet():
        A = sw[:, None] * jacobian_of(prob, Xq)
    return check_finite_result(A, "population_factor", act, prob.W1, prob.W2)


def population_factor(W1, W2, activation, max_nodes=FACTOR_MAX_NODES):
    """A factor A (K^Ni × P) with H_population = AᵀA exactly, for polynomial activations.

    Rows are √w_q ∇θ y(ξ_q) over the tensor Gauss–Hermite rule with K = deg + 1 nodes per input
    dimension: exact because every entry of ∇θy∇θyᵀ is a polynomial of degree ≤ 2·deg ≤ 2K − 1 in each
    coordinate.  Singular values of A are the square roots of the Hessian's eigenvalues, computed with
    error ε·σ_max instead of ε·λ_max — the reliable route to the rank (book, Chapter 5).
    """
    max_nodes = check_int(max_nodes, "max_nodes", 1)
    return population_factor_of(resolve(W1, W2, activation), max_nodes)


def hessian_of(prob):
    """:func:`hessian` of a resolved problem (internal entry point; checks memory and finiteness)."""
    check_dense(prob.P, prob.N or 0, "The dense Hessian" if prob.X is not None else "The population Hessian")
    with _quiet():
        if prob.X is None:
            H = population_gauss_newton(prob)
        else:
            H = jacobian_of(prob)
            H = H.T @ H  # J C-contiguous: NumPy calls BLAS syrk (half the flops of a general product)
            H /= prob.N
    what = "The population Hessian" if prob.X is None else "The batch Hessian"
    return check_finite_result(H, what, prob.act, prob.W1, prob.W2, prob.X)


def hessian(W1, W2, activation, X=None):
    """Hessian of the loss at the optimum θ* = (W1, W2) (student = teacher): the Gauss–Newton matrix.

    Batch: H = JᵀJ/N (book eq. ``gauss-newton``).  Population (``X=None``): H = E[∇θy ∇θyᵀ] assembled from
    :func:`pair_moments`, blocks E[g g] (W2–W2), W2[l] E[g(u_j) g'(u_l) x] (W2–W1),
    W2[j]W2[l] E[g'(u_j) g'(u_l) x xᵀ] (W1–W1).  Shape (P, P), P = Nh (Ni + 1).
    """
    return hessian_of(resolve(W1, W2, activation, X))


def _add_residual_blocks(xp, H, R11, R12):
    """H += the block-diagonal residual term: R11[j] (Ni × Ni) on unit j's W1 block, R12[j] (Ni,) on its
    W1–W2 entries.  One slice assignment per unit (no P × P temporary)."""
    nh, ni = R12.shape
    off = nh * ni
    for j in range(nh):
        rows = slice(j * ni, (j + 1) * ni)
        H[rows, rows] = H[rows, rows] + R11[j, ...]
        H[rows, off + j] = H[rows, off + j] + R12[j, :]
        H[off + j, rows] = H[off + j, rows] + R12[j, :]
    return H


def full_hessian(W1, W2, activation, teacher, X=None):
    """Full Hessian of the loss at a student (W1, W2) for a teacher ``(W1*, W2*)``.

    H = Gauss–Newton + residual term (book, eqs. ``ch0-full-hessian`` and ``ch4-full-hessian``):
    H = (1/N) Σ_μ [∇y∇yᵀ + r_μ ∇²y],  r_μ = y(x_μ) − y*(x_μ), with the only nonzero second derivatives
    ∂²y/∂W1[j,k]∂W1[j,m] = W2[j] g''(u_j) x_k x_m and ∂²y/∂W1[j,k]∂W2[j] = g'(u_j) x_k.
    Population (``X=None``): the same expectations, each a sum over pairs of units (student and
    teacher) computed by :func:`pair_moments`.  Can have negative eigenvalues.
    """
    prob = resolve(W1, W2, activation, X)
    xp, act, W1, W2 = prob.xp, prob.act, prob.W1, prob.W2
    T1, T2 = check_teacher(teacher, prob.n_in, xp)
    nh, ni, n = prob.n_hidden, prob.n_in, prob.N
    what = "The full population Hessian" if n is None else "The full Hessian"
    # the Gauss–Newton part (≤ 3 P² + 2 N P) plus the residual temporaries (N·P for a batch)
    check_dense(prob.P, 2 * (n or 0), what)
    H = hessian_of(prob)
    with _quiet():
        if n is None:
            U = xp.concat([W1, T1], axis=0)
            c = xp.concat([W2, -T2])
            # Σ over student and teacher units, accumulated in chunks (never the (2Nh, Nh, Ni, Ni) array)
            share = F64 * CHUNK_SHARE_OF_P2 * prob.P ** 2  # temporaries within the dense estimate
            R12 = gaussian_moments(xp, act, U, W1, ("gdx",), reduce_rows=c, temp_bytes=share)["gdx"]  # (Nh, Ni)
            R11 = W2[:, None, None] * gaussian_moments(xp, act, U, W1, ("gd2xx",), reduce_rows=c,
                                                       temp_bytes=share)["gd2xx"]
        else:
            X = prob.X
            U, G, _ = features(xp, act, W1, W2, X)
            r = G @ W2 - act.g(xp, X @ T1.T) @ T2
            Q = r[:, None] * act.d2g(xp, U) * W2                                             # (N, Nh)
            R11 = xp.matmul(xp.permute_dims(Q, (1, 0))[:, None, :] * xp.permute_dims(X, (1, 0))[None, :, :],
                            X) / n                                                            # (Nh, Ni, Ni)
            R12 = ((r[:, None] * act.dg(xp, U)).T @ X) / n
        H = _add_residual_blocks(xp, H, R11, R12)
    return check_finite_result(H, what, act, W1, W2, prob.X)

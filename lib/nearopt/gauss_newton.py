"""The Gauss–Newton kernel shared by Hessians, spectra, operators and dynamics.

At the optimum the loss Hessian is the Gauss–Newton matrix H = (1/N) JᵀJ (batch) or E[∇θy ∇θyᵀ]
(population), row μ of J being ∇θ y(x_μ) with ∂y/∂W2[j] = g(u_j), ∂y/∂W1[j,k] = W2[j] g'(u_j) x_k.
Everything here takes a resolved :class:`nearopt._validation.Problem` (or plain arrays) and does no
argument checking; the public functions in :mod:`nearopt.hessian`, :mod:`nearopt.spectra` and
:mod:`nearopt.operator` validate and then call in here.
"""
from __future__ import annotations

import array_api_compat
import numpy as np

from .backend import F64, check_memory, memory_budget
from .moments import gaussian_moments

__all__ = ["features", "jacobian_of", "gn_product", "population_gauss_newton", "dense_hessian_bytes",
           "features_bytes", "jacobian_bytes", "gn_bytes_per_row",
           "check_dense", "MATRIX_FREE_HINT", "GN_ROW_CHUNK", "CHUNK_SHARE_OF_P2"]

MATRIX_FREE_HINT = ("Use the matrix-free route instead: nearopt.hessian_operator / nearopt.hvp "
                    "(Hessian-vector products) and nearopt.slq_density (stochastic Lanczos quadrature) never form H.")

#: at most this many samples at a time in a Gauss–Newton product (bounds the N-sized temporaries)
GN_ROW_CHUNK = 65_536
#: the population assembly's per-chunk temporaries stay below this many P² floats
CHUNK_SHARE_OF_P2 = 1.5


def features_bytes(N: int, nh: int) -> float:
    """Peak of :func:`features`: U, g(U), g'(U), W2 ∘ g'(U) and the activation's own temporaries."""
    return F64 * 6.0 * N * nh


def jacobian_bytes(xp, N: int, nh: int, ni: int) -> float:
    """Peak of :func:`jacobian_of`: J (N × P, written in place on NumPy, a product and a concat elsewhere),
    the features and their transposed copies."""
    copies = 1.0 if array_api_compat.is_numpy_namespace(xp) else 2.0
    return F64 * copies * N * nh * (ni + 1) + features_bytes(N, nh) + F64 * 2.0 * N * (nh + ni)


def dense_hessian_bytes(P: int, N: int = 0) -> float:
    """Peak of a dense Hessian route: the P × P matrix, a product and an eigen/copy workspace (3 P²) plus
    the Jacobian and its transposed copy (2 N P)."""
    return F64 * (3.0 * P * P + 2.0 * N * P)


def check_dense(P: int, N: int = 0, what: str = "The dense Hessian") -> None:
    check_memory(dense_hessian_bytes(P, N), f"{what} (P = {P}, {P} × {P} float64)", MATRIX_FREE_HINT,
                 reduce="n_hidden or n_in (P = n_hidden (n_in + 1))" + (" or N (rows of X)" if N else ""))


def features(xp, act, W1, W2, X):
    """U = X W1ᵀ, G = g(U), D = W2 ∘ g'(U), each (N, Nh)."""
    U = X @ W1.T
    return U, act.g(xp, U), act.dg(xp, U) * W2


def jacobian_of(prob, X=None):
    """J (N × P) of a resolved problem on its batch (or on ``X``); no checks."""
    xp, act, W1, W2 = prob.xp, prob.act, prob.W1, prob.W2
    X = prob.X if X is None else X
    n, (nh, ni) = X.shape[0], W1.shape
    _, G, D = features(xp, act, W1, W2, X)
    if array_api_compat.is_numpy_namespace(xp):
        # Written in place as Jᵀ (P × N, C order), so that the broadcast product runs along the N samples
        # (long inner loops) with no temporary and no concat copy; J is returned as the transposed view
        # (Fortran order; `J.T @ J` is still BLAS syrk).  The product itself is 2.4× faster than the
        # (N, Nh, Ni) broadcast at P = 250, N = 8192; the whole jacobian 1.1–1.4× at P = 250–4000.
        Jt = np.empty((nh * (ni + 1), n))
        np.multiply(np.ascontiguousarray(D.T)[:, None, :], np.ascontiguousarray(X.T)[None, :, :],
                    out=Jt[: nh * ni].reshape(nh, ni, n))  # a view: splits the contiguous leading block
        Jt[nh * ni:] = G.T
        return Jt.T
    J1 = xp.reshape(D[:, :, None] * X[:, None, :], (n, nh * ni))
    return xp.concat([J1, G], axis=1)


def gn_bytes_per_row(nh: int, ni: int, m: int) -> float:
    """Temporaries per sample of :func:`gn_product` with m vectors."""
    return F64 * (3.0 * min(nh, ni) * m + 2.0 * m + 2.0 * nh)


def gn_product(xp, X, G, D, v):
    """Jᵀ(J v)/N for a block v (P, m) from the features G = g(U), D = W2 ∘ g'(U).

    With V1 = v[:Nh·Ni] as (Nh, Ni, m): (J v)_μ = Σ_jk D_μj X_μk V1_jk + G_μ·v2 and (Jᵀs)_jk = Σ_μ D_μj X_μk s_μ.
    Both contractions are single GEMMs over the larger of Nh, Ni, so the only N-sized temporaries have
    N·min(Nh, Ni)·m entries (3× faster than a batched matmul over units at P = 10⁵, Nh = 1000, Ni = 99).
    The samples are taken in chunks (at most :data:`GN_ROW_CHUNK`, and within the memory budget).
    """
    n, ni = X.shape
    nh = G.shape[1]
    m = v.shape[1]
    per_row = gn_bytes_per_row(nh, ni, m)
    rows = int(max(1, min(n, GN_ROW_CHUNK, (memory_budget() - F64 * 4.0 * nh * (ni + 1) * m) // per_row)))
    out1 = out2 = None
    v1, v2 = v[: nh * ni, :], v[nh * ni:, :]
    if ni > nh:
        V1 = xp.reshape(xp.permute_dims(xp.reshape(v1, (nh, ni, m)), (1, 0, 2)), (ni, nh * m))
    else:
        V1 = xp.reshape(v1, (nh, ni * m))
    for start in range(0, n, rows):
        sl = slice(start, min(start + rows, n))
        Xc, Gc, Dc = X[sl, :], G[sl, :], D[sl, :]
        c = Xc.shape[0]
        if ni <= nh:  # contract over units first: temporaries (c, Ni, m)
            Y = xp.reshape(Dc @ V1, (c, ni, m))                                   # Σ_j D_μj V1_j
            Jv = xp.matmul(Xc[:, None, :], Y)[:, 0, :] + Gc @ v2                  # (c, m)
            Z = xp.reshape(Xc[:, :, None] * Jv[:, None, :], (c, ni * m))
            p1 = xp.reshape(Dc.T @ Z, (nh * ni, m))
        else:  # contract over inputs first: temporaries (c, Nh, m)
            XV = xp.reshape(Xc @ V1, (c, nh, m))                                  # x_μ·V1[j]
            Jv = xp.matmul(Dc[:, None, :], XV)[:, 0, :] + Gc @ v2
            S = xp.reshape(Dc[:, :, None] * Jv[:, None, :], (c, nh * m))
            p1 = xp.reshape(xp.permute_dims(xp.reshape(Xc.T @ S, (ni, nh, m)), (1, 0, 2)), (nh * ni, m))
        p2 = Gc.T @ Jv
        out1 = p1 if out1 is None else out1 + p1
        out2 = p2 if out2 is None else out2 + p2
    return xp.concat([out1, out2], axis=0) / n


def population_gauss_newton(prob):
    """E[∇θy ∇θyᵀ] of a resolved problem, assembled in place from :func:`nearopt.moments.gaussian_moments`.

    Blocks: E[g g] (W2–W2), W2[l] E[g(u_j) g'(u_l) x] (W2–W1), W2[j]W2[l] E[g'(u_j) g'(u_l) x xᵀ] (W1–W1).
    The W1–W1 block is computed in chunks of units and written into the result, so the peak is about
    P² plus one chunk (within :func:`dense_hessian_bytes`).
    """
    xp, act, W1, W2 = prob.xp, prob.act, prob.W1, prob.W2
    nh, ni = W1.shape
    P = nh * (ni + 1)
    H = xp.zeros((P, P), dtype=xp.float64)
    small = gaussian_moments(xp, act, W1, W1, ("gg", "gdx"))
    # H[W1(l,k), W2(j)] = W2[l] E[g(u_j) g'(u_l) x_k] = W2[l] gdx[j, l, k]
    H12 = xp.reshape(xp.permute_dims(small["gdx"] * W2[None, :, None], (1, 2, 0)), (nh * ni, nh))
    H[: nh * ni, nh * ni:] = H12
    H[nh * ni:, : nh * ni] = H12.T
    H[nh * ni:, nh * ni:] = small["gg"]
    del small, H12
    # W1–W1 block by chunks of units j (rows j·Ni … of H): (c, Nh, Ni, Ni) moments → (c·Ni, Nh·Ni)
    # a chunk of c units holds about 6 c·Nh·Ni² floats (moments, closed-form/quadrature temporaries, the scaled
    # and permuted copies); keep them within 1.5 P² so that the whole stays inside dense_hessian_bytes (3 P²)
    per_unit = F64 * 6.0 * nh * ni * ni
    room = min(memory_budget() - F64 * P * P, F64 * CHUNK_SHARE_OF_P2 * P * P)
    chunk = int(max(1, min(nh, room // max(per_unit, 1.0))))
    for start in range(0, nh, chunk):
        stop = min(start + chunk, nh)
        m = gaussian_moments(xp, act, W1[start:stop, :], W1, ("ddxx",))["ddxx"]
        ww = W2[start:stop, None] * W2[None, :]
        blk = xp.permute_dims(m * ww[..., None, None], (0, 2, 1, 3))
        H[start * ni: stop * ni, : nh * ni] = xp.reshape(blk, ((stop - start) * ni, nh * ni))
    return H

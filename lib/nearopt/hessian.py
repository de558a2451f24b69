"""Exact Hessians of the loss of a two-layer teacher–student network.

Loss on a batch X (N × Ni): L = (1/2N) Σ_μ (y(x_μ) − y*(x_μ))²; population: L = ½ E_x[(y − y*)²],
x ~ N(0, I).  At the optimum (student = teacher) the residual vanishes and the Hessian is the
Gauss–Newton matrix (book, Chapter 0, eq. ``ch0-gauss-newton``)

    H = (1/N) Jᵀ J           (batch; row μ of J is ∇θ y(x_μ))
    H = E[∇θ y ∇θ yᵀ]         (population)

with ∂y/∂W2[j] = g(u_j), ∂y/∂W1[j,k] = W2[j] g'(u_j) x_k, u_j = W1[j]·x.  Parameter order θ =
(vec(W1) row-major, W2).  Away from the optimum :func:`full_hessian` adds the residual term
(1/N) Σ_μ (y − y*) ∇²θ y(x_μ).

Population blocks only involve pairs of hidden units, through the Gaussian pair (u_a, u_b):
:func:`pair_moments` evaluates E[g g], E[g g' x], E[g' g' x xᵀ] and E[g g'' x xᵀ] by splitting
x = x∥ + x⊥ on span(a, b), so that E[h x] = E[h x∥] and E[h x xᵀ] = E[h x∥ x∥ᵀ] + E[h](I − Π); the
remaining 2-D Gaussian integrals use Gauss–Hermite quadrature (exact for polynomials) or, for erf,
closed forms.  Everything is vectorised over pairs; no Python loop over units or samples.
"""
from __future__ import annotations

import math

import array_api_compat
import numpy as np

from .activations import Erf, get_activation
from .backend import check_memory
from .teacher import check_inputs, check_weights

__all__ = [
    "jacobian", "hessian", "population_factor", "full_hessian", "pair_moments", "hvp", "gradient", "loss",
    "population_loss_and_grad",
]

_MATRIX_FREE_HINT = ("Use the matrix-free route instead: nearopt.hvp (Hessian-vector products) and "
                     "nearopt.slq_density (stochastic Lanczos quadrature) never form H.")


# ----------------------------------------------------------------------------- quadrature
def _hermite_2d(K):
    """Tensor Gauss–Hermite rule for z ~ N(0, I2): columns (w, w z1, w z2, w z1², w z1 z2, w z2²)."""
    t, w = np.polynomial.hermite_e.hermegauss(K)
    w = w / math.sqrt(2.0 * math.pi)
    z1, z2 = np.meshgrid(t, t, indexing="ij")
    ww = np.outer(w, w).ravel()
    z1, z2 = z1.ravel(), z2.ravel()
    F = np.stack([ww, ww * z1, ww * z2, ww * z1 * z1, ww * z1 * z2, ww * z2 * z2], axis=1)
    return z1, z2, F


def _pair_frames(xp, A, B):
    """For every pair (a_i, b_k): the 2×2 factor L (u = L z) and the orthonormal basis columns c1, c2.

    The Gram [[a·a, a·b], [a·b, b·b]] = V diag(μ) Vᵀ in closed form; L = V diag(√μ); the basis
    M = [a b] V diag(μ^{-1/2}) (a column is set to 0 where μ vanishes: a degenerate span).
    """
    p = xp.sum(A * A, axis=1)[:, None]
    s = xp.sum(B * B, axis=1)[None, :]
    r = A @ B.T
    half = 0.5 * (p + s)
    dif = 0.5 * (p - s)
    rad = xp.sqrt(dif * dif + r * r)
    mu1 = half + rad
    mu2 = xp.clip(half - rad, 0.0, None)
    phi = 0.5 * xp.atan2(r, dif)
    cs, sn = xp.cos(phi), xp.sin(phi)
    scale = xp.max(mu1) if mu1.size else 1.0
    ok1 = mu1 > 1e-300 + 0.0 * scale
    ok2 = mu2 > 1e-10 * mu1
    rt1 = xp.sqrt(mu1)
    rt2 = xp.where(ok2, xp.sqrt(mu2), 0.0)
    inv1 = xp.where(ok1, 1.0 / xp.where(ok1, rt1, 1.0), 0.0)
    inv2 = xp.where(ok2, 1.0 / xp.where(ok2, rt2, 1.0), 0.0)
    L = (cs * rt1, -sn * rt2, sn * rt1, cs * rt2)
    a = A[:, None, :]
    b = B[None, :, :]
    c1 = (cs[..., None] * a + sn[..., None] * b) * inv1[..., None]
    c2 = (-sn[..., None] * a + cs[..., None] * b) * inv2[..., None]
    return L, c1, c2


def _outer(u, v):
    return u[..., :, None] * v[..., None, :]


def _quad_moments(xp, act, A, B, want):
    n_in = A.shape[1]
    scale = math.sqrt(max(float(xp.max(xp.sum(A * A, axis=1))), float(xp.max(xp.sum(B * B, axis=1)))))
    K = act.quad_nodes(scale)
    z1, z2, F = _hermite_2d(K)
    dev_kw = {}
    z1 = xp.asarray(z1, dtype=xp.float64)
    z2 = xp.asarray(z2, dtype=xp.float64)
    F = xp.asarray(F, dtype=xp.float64)
    funcs = {"gg": (act.g, act.g), "gdx": (act.g, act.dg), "ddxx": (act.dg, act.dg),
             "gd2xx": (act.g, act.d2g)}
    na, nb = A.shape[0], B.shape[0]
    chunk = max(1, int(4_000_000 // max(1, nb * K * K)))
    out = {k: [] for k in want}
    eye = xp.eye(n_in, dtype=xp.float64, **dev_kw)
    for start in range(0, na, chunk):  # chunks of rows bound the memory; vectorised inside
        Ac = A[start:min(start + chunk, na), :]
        (l00, l01, l10, l11), c1, c2 = _pair_frames(xp, Ac, B)
        ua = l00[..., None] * z1 + l01[..., None] * z2
        ub = l10[..., None] * z1 + l11[..., None] * z2
        cache = {}

        def f(fn, u, tag):
            key = (fn, tag)
            if key not in cache:
                cache[key] = fn(xp, u)
            return cache[key]

        for name in want:
            fa, fb = funcs[name]
            e = (f(fa, ua, "a") * f(fb, ub, "b")) @ F  # (na, nb, 6)
            if name == "gg":
                out[name].append(e[..., 0])
            elif name == "gdx":
                out[name].append(e[..., 1:2] * c1 + e[..., 2:3] * c2)
            else:
                e0 = e[..., 0][..., None, None]
                out[name].append(
                    e0 * eye + (e[..., 3] - e[..., 0])[..., None, None] * _outer(c1, c1)
                    + e[..., 4][..., None, None] * (_outer(c1, c2) + _outer(c2, c1))
                    + (e[..., 5] - e[..., 0])[..., None, None] * _outer(c2, c2))
    return {k: (v[0] if len(v) == 1 else xp.concat(v, axis=0)) for k, v in out.items()}


def _erf_moments(xp, A, B, want):
    """Closed forms for g(z) = erf(z/√2) (book, Chapter 5, eqs. ``ch5-erf-gg``, ``ch5-erf-gdx``, ``ch5-erf-ddxx``):

    E[g(u)g(v)] = (2/π) arcsin(a·b / √((1+|a|²)(1+|b|²)))
    E[g(u)g'(v)x] = (2/π) (1+|b|²)^{-1/2} (1+aᵀΣa)^{-1/2} Σa,  Σ = I − bbᵀ/(1+|b|²)   (Stein's lemma)
    E[g'(u)g'(v)xxᵀ] = (2/π) det(I2+G)^{-1/2} (I − U (I2+G)^{-1} Uᵀ),  U = [a b], G = UᵀU  (Woodbury)
    """
    c = 2.0 / math.pi
    p = xp.sum(A * A, axis=1)[:, None]
    s = xp.sum(B * B, axis=1)[None, :]
    r = A @ B.T
    out = {}
    if "gg" in want:
        out["gg"] = c * xp.asin(r / xp.sqrt((1.0 + p) * (1.0 + s)))
    a = A[:, None, :]
    b = B[None, :, :]
    if "gdx" in want:
        sa = a - b * (r / (1.0 + s))[..., None]
        asa = p - r * r / (1.0 + s)
        out["gdx"] = (c / xp.sqrt((1.0 + s) * (1.0 + asa)))[..., None] * sa
    if "ddxx" in want:
        g11, g12, g22 = 1.0 + p, r, 1.0 + s
        det = g11 * g22 - g12 * g12
        i11, i12, i22 = g22 / det, -g12 / det, g11 / det
        n_in = A.shape[1]
        eye = xp.eye(n_in, dtype=xp.float64)
        inv = eye - (i11[..., None, None] * _outer(a, a) + i12[..., None, None] * (_outer(a, b) + _outer(b, a))
                     + i22[..., None, None] * _outer(b, b))
        out["ddxx"] = (c / xp.sqrt(det))[..., None, None] * inv
    return out


def pair_moments(W_a, W_b, activation, want=("gg", "gdx", "ddxx"), method="auto"):
    """Gaussian expectations over x ~ N(0, I) for every pair of rows a = W_a[i], b = W_b[k]:

    ``gg``    E[g(a·x) g(b·x)]            shape (na, nb)
    ``gdx``   E[g(a·x) g'(b·x) x]         shape (na, nb, Ni)
    ``ddxx``  E[g'(a·x) g'(b·x) x xᵀ]     shape (na, nb, Ni, Ni)
    ``gd2xx`` E[g(a·x) g''(b·x) x xᵀ]     shape (na, nb, Ni, Ni)

    ``method``: ``"quadrature"`` (2-D Gauss–Hermite on span(a, b)), ``"closed"`` (erf only) or ``"auto"``
    (closed forms where they exist).
    """
    act = get_activation(activation)
    xp, W_a, _ = check_weights(W_a, W_a[:, 0])
    _, W_b, _ = check_weights(W_b, W_b[:, 0])
    if W_a.shape[1] != W_b.shape[1]:
        raise ValueError(f"W_a and W_b must have the same number of columns (n_in); got {W_a.shape[1]} "
                         f"and {W_b.shape[1]}")
    valid = ("gg", "gdx", "ddxx", "gd2xx")
    want = tuple(want)
    for w in want:
        if w not in valid:
            raise ValueError(f"want entries must be among {valid}; got {w!r}")
    if method not in ("auto", "quadrature", "closed"):
        raise ValueError(f"method must be 'auto', 'quadrature' or 'closed'; got {method!r}")
    if method == "closed" and not isinstance(act, Erf):
        raise ValueError("method='closed' is available for the 'erf' activation only")
    na, nb, n_in = W_a.shape[0], W_b.shape[0], W_a.shape[1]
    mats = sum(1 for w in want if w in ("ddxx", "gd2xx"))
    check_memory(8.0 * na * nb * (1 + n_in + 3 * mats * n_in * n_in), "pair_moments")
    if isinstance(act, Erf) and method != "quadrature":
        closed = [w for w in want if w != "gd2xx"]
        res = _erf_moments(xp, W_a, W_b, closed)
        rest = [w for w in want if w == "gd2xx"]
        if rest:
            res.update(_quad_moments(xp, act, W_a, W_b, rest))
        return res
    return _quad_moments(xp, act, W_a, W_b, want)


# ----------------------------------------------------------------------------- batch
def _features(xp, act, W1, W2, X):
    U = X @ W1.T
    return U, act.g(xp, U), act.dg(xp, U) * W2


def jacobian(W1, W2, activation, X):
    """J (N × P), row μ = ∇θ y(x_μ): ∂y/∂W1[j,k] = W2[j] g'(u_j) x_k, ∂y/∂W2[j] = g(u_j)."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    X = check_inputs(X, W1.shape[1], xp)
    n, (nh, ni) = X.shape[0], W1.shape
    check_memory(8.0 * n * nh * (ni + 1) * 2, f"The Jacobian ({n} × {nh * (ni + 1)})", _MATRIX_FREE_HINT)
    _, G, D = _features(xp, act, W1, W2, X)
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


def population_factor(W1, W2, activation, max_nodes=250_000):
    """A factor A (K^Ni × P) with H_population = AᵀA exactly, for polynomial activations.

    Rows are √w_q ∇θ y(ξ_q) over the tensor Gauss–Hermite rule with K = deg + 1 nodes per input
    dimension: exact because every entry of ∇θy∇θyᵀ is a polynomial of degree ≤ 2·deg ≤ 2K − 1 in each
    coordinate.  Singular values of A are the square roots of the Hessian's eigenvalues, computed with
    error ε·σ_max instead of ε·λ_max — the reliable route to the rank (book, Chapter 5).
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    if not act.is_polynomial:
        raise ValueError(f"population_factor needs a polynomial activation; got {act.name!r}")
    nh, ni = W1.shape
    K = act.degree + 1
    n_nodes = K ** ni
    if n_nodes > max_nodes:
        raise ValueError(f"population_factor: {K}^{ni} = {n_nodes} quadrature nodes exceed max_nodes = "
                         f"{max_nodes}; use nearopt.hessian (dense eigenvalues) instead")
    check_memory(8.0 * n_nodes * (nh * (ni + 1) + ni) * 2, "population_factor")
    t, w = np.polynomial.hermite_e.hermegauss(K)
    w = w / math.sqrt(2.0 * math.pi)
    grids = np.meshgrid(*([t] * ni), indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weights = np.ones(n_nodes)
    for g in np.meshgrid(*([w] * ni), indexing="ij"):
        weights = weights * g.ravel()
    Xq = xp.asarray(nodes, dtype=xp.float64)
    sw = xp.asarray(np.sqrt(weights), dtype=xp.float64)
    return sw[:, None] * jacobian(W1, W2, act, Xq)


def _population_gn(xp, act, W1, W2):
    nh, ni = W1.shape
    m = pair_moments(W1, W1, act, ("gg", "gdx", "ddxx"))
    ww = W2[:, None] * W2[None, :]
    H11 = xp.reshape(xp.permute_dims(m["ddxx"] * ww[..., None, None], (0, 2, 1, 3)), (nh * ni, nh * ni))
    # H[W1(l,k), W2(j)] = W2[l] E[g(u_j) g'(u_l) x_k] = W2[l] gdx[j, l, k]
    H12 = xp.reshape(xp.permute_dims(m["gdx"] * W2[None, :, None], (1, 2, 0)), (nh * ni, nh))
    top = xp.concat([H11, H12], axis=1)
    bottom = xp.concat([H12.T, m["gg"]], axis=1)
    return xp.concat([top, bottom], axis=0)


def _dense_check(P, n, what="The dense Hessian"):
    check_memory(8.0 * (3.0 * P * P + 2.0 * n * P), f"{what} (P = {P}, {P} × {P} float64)", _MATRIX_FREE_HINT)


def hessian(W1, W2, activation, X=None):
    """Hessian of the loss at the optimum θ* = (W1, W2) (student = teacher): the Gauss–Newton matrix.

    Batch: H = JᵀJ/N (book eq. ``gauss-newton``).  Population (``X=None``): H = E[∇θy ∇θyᵀ] assembled from
    :func:`pair_moments`, blocks E[g g] (W2–W2), W2[l] E[g(u_j) g'(u_l) x] (W2–W1),
    W2[j]W2[l] E[g'(u_j) g'(u_l) x xᵀ] (W1–W1).  Shape (P, P), P = Nh (Ni + 1).
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    nh, ni = W1.shape
    P = nh * (ni + 1)
    if X is None:
        _dense_check(P, 0)
        return _population_gn(xp, act, W1, W2)
    X = check_inputs(X, ni, xp)
    _dense_check(P, X.shape[0])
    J = jacobian(W1, W2, act, X)
    H = J.T @ J  # J C-contiguous: NumPy calls BLAS syrk (half the flops of a general product)
    H /= X.shape[0]
    return H


def _residual_blocks_to_full(xp, R11, R12):
    """Place block-diagonal residual blocks R11 (Nh, Ni, Ni) and R12 (Nh, Ni) into a (P, P) matrix."""
    nh, ni = R12.shape
    eye = xp.eye(nh, dtype=xp.float64)
    A = xp.reshape(R11[:, :, None, :] * eye[:, None, :, None], (nh * ni, nh * ni))
    B = xp.reshape(R12[:, :, None] * eye[:, None, :], (nh * ni, nh))
    top = xp.concat([A, B], axis=1)
    bottom = xp.concat([B.T, xp.zeros((nh, nh), dtype=xp.float64)], axis=1)
    return xp.concat([top, bottom], axis=0)


def full_hessian(W1, W2, activation, teacher, X=None):
    """Full Hessian of the loss at a student (W1, W2) for a teacher ``(W1*, W2*)``.

    H = Gauss–Newton + residual term (book, eqs. ``ch0-full-hessian`` and ``ch4-full-hessian``):
    H = (1/N) Σ_μ [∇y∇yᵀ + r_μ ∇²y],  r_μ = y(x_μ) − y*(x_μ), with the only nonzero second derivatives
    ∂²y/∂W1[j,k]∂W1[j,m] = W2[j] g''(u_j) x_k x_m and ∂²y/∂W1[j,k]∂W2[j] = g'(u_j) x_k.
    Population (``X=None``): the same expectations, each a sum over pairs of units (student and
    teacher) computed by :func:`pair_moments`.  Can have negative eigenvalues.
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    if not isinstance(teacher, (tuple, list)) or len(teacher) != 2:
        raise ValueError("teacher must be a pair (W1_teacher, W2_teacher)")
    _, T1, T2 = check_weights(*teacher)
    if T1.shape[1] != W1.shape[1]:
        raise ValueError(f"teacher W1 must have n_in = {W1.shape[1]} columns; got {T1.shape[1]}")
    nh, ni = W1.shape
    P = nh * (ni + 1)
    if X is None:
        _dense_check(P, 0, "The full population Hessian")
        GN = _population_gn(xp, act, W1, W2)
        U = xp.concat([W1, T1], axis=0)
        c = xp.concat([W2, -T2])
        m = pair_moments(U, W1, act, ("gdx", "gd2xx"))
        R12 = xp.sum(c[:, None, None] * m["gdx"], axis=0)                      # (Nh, Ni)
        R11 = W2[:, None, None] * xp.sum(c[:, None, None, None] * m["gd2xx"], axis=0)
        return GN + _residual_blocks_to_full(xp, R11, R12)
    X = check_inputs(X, ni, xp)
    n = X.shape[0]
    _dense_check(P, n, "The full Hessian")
    J = jacobian(W1, W2, act, X)
    U = X @ W1.T
    r = act.g(xp, U) @ W2 - act.g(xp, X @ T1.T) @ T2
    Q = r[:, None] * act.d2g(xp, U) * W2                       # (N, Nh)
    R11 = (xp.permute_dims(Q, (1, 0))[:, :, None] * X[None, :, :])  # (Nh, N, Ni)
    R11 = xp.matmul(xp.permute_dims(R11, (0, 2, 1)), X) / n       # (Nh, Ni, Ni)
    R12 = ((r[:, None] * act.dg(xp, U)).T @ X) / n
    return (J.T @ J) / n + _residual_blocks_to_full(xp, R11, R12)


# ----------------------------------------------------------------------------- loss, gradient, hvp
def loss(W1, W2, activation, teacher, X=None):
    """L = (1/2N) Σ (y − y*)² on a batch, or ½ E[(y − y*)²] = ½ cᵀ Q c for the population, where
    c = (W2, −W2*) and Q = E[g(u_i) g(u_k)] over all student and teacher units."""
    return (population_loss_and_grad(W1, W2, activation, teacher, with_grad=False)[0] if X is None
            else _batch_loss_and_grad(W1, W2, activation, teacher, X, with_grad=False)[0])


def gradient(W1, W2, activation, teacher, X=None):
    """∇θ L as a flat vector in θ order (batch: Jᵀ r / N; population: pair moments)."""
    if X is None:
        return population_loss_and_grad(W1, W2, activation, teacher)[1]
    return _batch_loss_and_grad(W1, W2, activation, teacher, X)[1]


def _batch_loss_and_grad(W1, W2, activation, teacher, X, with_grad=True):
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    _, T1, T2 = check_weights(*teacher)
    X = check_inputs(X, W1.shape[1], xp)
    n = X.shape[0]
    U, G, D = _features(xp, act, W1, W2, X)
    r = G @ W2 - act.g(xp, X @ T1.T) @ T2
    L = 0.5 * xp.sum(r * r) / n
    if not with_grad:
        return L, None
    g1 = xp.reshape(((D * r[:, None]).T @ X) / n, (-1,))
    g2 = (G.T @ r) / n
    return L, xp.concat([g1, g2])


def population_loss_and_grad(W1, W2, activation, teacher, with_grad=True):
    """Population loss ½ cᵀQc and its gradient: ∂L/∂W2[i] = (Qc)[i],
    ∂L/∂W1[i] = W2[i] Σ_k c_k E[g(u_k) g'(u_i) x]."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    _, T1, T2 = check_weights(*teacher)
    nh = W1.shape[0]
    if act.is_polynomial and act.degrees == (1,):
        # linear: y = c1 (W1ᵀW2)·x, so L = ½ c1² |v|² with v = W1ᵀW2 − W1*ᵀW2*, formed before squaring
        # (no cancellation between large terms; accurate down to the smallest losses)
        c1 = float(act.coeffs[1])
        v = W1.T @ W2 - T1.T @ T2
        L = 0.5 * c1 * c1 * xp.sum(v * v)
        if not with_grad:
            return L, None
        g1 = c1 * c1 * (W2[:, None] * v[None, :])
        return L, xp.concat([xp.reshape(g1, (-1,)), c1 * c1 * (W1 @ v)])
    U = xp.concat([W1, T1], axis=0)
    c = xp.concat([W2, -T2])
    Q = pair_moments(U, U, act, ("gg",))["gg"]
    Qc = Q @ c
    L = 0.5 * xp.sum(c * Qc)
    if not with_grad:
        return L, None
    gdx = pair_moments(U, W1, act, ("gdx",))["gdx"]  # (n_all, Nh, Ni)
    g1 = W2[:, None] * xp.sum(c[:, None, None] * gdx, axis=0)
    return L, xp.concat([xp.reshape(g1, (-1,)), Qc[:nh]])


def hvp(W1, W2, activation, X, v):
    """Matrix-free Gauss–Newton product H v = Jᵀ(J v)/N at the optimum, without forming J or H.

    (J v)_μ = Σ_j W2[j] g'(u_μj) (x_μ·V1[j]) + Σ_j g(u_μj) v2[j], and Jᵀs is (W2 ∘ g'(U) ∘ s)ᵀX, g(U)ᵀs.
    ``v`` may be a vector (P,) or a matrix (P, m) of m vectors.  Cost O(N P m), memory O(N min(Nh, Ni) m).
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    X = check_inputs(X, W1.shape[1], xp)
    nh, ni = W1.shape
    P = nh * (ni + 1)
    v = xp.asarray(v, dtype=xp.float64)
    vec = v.ndim == 1
    if vec:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] != P:
        raise ValueError(f"v must have shape (P,) or (P, m) with P = {P}; got {tuple(v.shape)}")
    _, G, D = _features(xp, act, W1, W2, X)
    out = _gn_product(xp, X, G, D, v)
    return out[:, 0] if vec else out


def _gn_product(xp, X, G, D, v):
    """Jᵀ(J v)/N for a block v (P, m) from the features G = g(U), D = W2 ∘ g'(U) (see :func:`hvp`).

    With V1 = v[:Nh·Ni] as (Nh, Ni, m): (J v)_μ = Σ_jk D_μj X_μk V1_jk + G_μ·v2 and (Jᵀs)_jk = Σ_μ D_μj X_μk s_μ.
    Both contractions are single GEMMs over the larger of Nh, Ni, so the only N-sized temporaries have
    N·min(Nh, Ni)·m entries (3× faster than a batched matmul over units at P = 10⁵, Nh = 1000, Ni = 99).
    """
    n, ni = X.shape
    nh = G.shape[1]
    m = v.shape[1]
    v1 = v[: nh * ni, :]
    if ni <= nh:  # contract over units first: temporaries (N, Ni, m)
        Y = xp.reshape(D @ xp.reshape(v1, (nh, ni * m)), (n, ni, m))        # Σ_j D_μj V1_j
        Jv = xp.matmul(X[:, None, :], Y)[:, 0, :] + G @ v[nh * ni:, :]        # (N, m)
        Z = xp.reshape(X[:, :, None] * Jv[:, None, :], (n, ni * m))
        out1 = xp.reshape(D.T @ Z, (nh * ni, m))
    else:  # contract over inputs first: temporaries (N, Nh, m)
        V1 = xp.reshape(xp.permute_dims(xp.reshape(v1, (nh, ni, m)), (1, 0, 2)), (ni, nh * m))
        XV = xp.reshape(X @ V1, (n, nh, m))                                   # x_μ·V1[j]
        Jv = xp.matmul(D[:, None, :], XV)[:, 0, :] + G @ v[nh * ni:, :]
        S = xp.reshape(D[:, :, None] * Jv[:, None, :], (n, nh * m))
        out1 = xp.reshape(xp.permute_dims(xp.reshape(X.T @ S, (ni, nh, m)), (1, 0, 2)), (nh * ni, m))
    return xp.concat([out1, G.T @ Jv], axis=0) / n

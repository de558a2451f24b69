"""Gaussian pair moments: expectations over x ~ N(0, I) that involve two hidden units a, b.

Population Hessians and losses only involve pairs of units, through the Gaussian pair (a·x, b·x).
:func:`gaussian_moments` evaluates E[g g], E[g g' x], E[g' g' x xᵀ] and E[g g'' x xᵀ] by splitting
x = x∥ + x⊥ on span(a, b), so that E[h x] = E[h x∥] and E[h x xᵀ] = E[h x∥ x∥ᵀ] + E[h](I − Π); the
remaining 2-D Gaussian integrals use Gauss–Hermite quadrature (exact for polynomials) or, for erf,
closed forms.  Everything is vectorised over pairs and worked in chunks of rows of ``A`` whose
temporaries fit :data:`QUAD_CHUNK_ENTRIES` entries and the memory budget.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ._validation import check_choice, check_finite_result, check_weights, describe, resolve
from .activations import Erf
from .backend import F64, check_memory, memory_budget

__all__ = ["pair_moments", "gaussian_moments", "moments_bytes", "hermite_rule", "MOMENT_KINDS", "QUAD_CHUNK_ENTRIES",
           "DEGENERATE_FLOOR", "RANK_ONE_RTOL"]

#: the moments :func:`pair_moments` knows
MOMENT_KINDS = ("gg", "gdx", "ddxx", "gd2xx")
#: quadrature temporaries per chunk of pairs: pairs × nodes² entries (about 32 MB of float64)
QUAD_CHUNK_ENTRIES = 4_000_000
#: a pair whose longer vector has a norm below this is the zero pair (a = b = 0): no direction to normalise
DEGENERATE_FLOOR = 1e-300
#: a pair whose component of the shorter vector orthogonal to the longer one, |w|, is at most RANK_ONE_RTOL
#: times the longer norm spans one direction only (a ∥ b to rounding): its second basis vector is dropped.
#: Rounding level (64 ε): nearly parallel pairs, down to |a − b| ~ 1e-13 |a|, keep their second direction.
RANK_ONE_RTOL = 64 * 2.0 ** -52

_MATRIX_KINDS = ("ddxx", "gd2xx")


@functools.lru_cache(maxsize=32)
def hermite_rule(K):
    """Gauss–Hermite nodes and weights for z ~ N(0, 1) (weights sum to 1), cached and read-only."""
    t, w = np.polynomial.hermite_e.hermegauss(K)
    w = w / math.sqrt(2.0 * math.pi)
    t.flags.writeable = False
    w.flags.writeable = False
    return t, w


@functools.lru_cache(maxsize=32)
def _hermite_2d(K):
    """Tensor Gauss–Hermite rule for z ~ N(0, I2): columns (w, w z1, w z2, w z1², w z1 z2, w z2²)."""
    t, w = hermite_rule(K)
    z1, z2 = np.meshgrid(t, t, indexing="ij")
    ww = np.outer(w, w).ravel()
    z1, z2 = z1.ravel(), z2.ravel()
    F = np.stack([ww, ww * z1, ww * z2, ww * z1 * z1, ww * z1 * z2, ww * z2 * z2], axis=1)
    return z1, z2, F


def _pair_frames(xp, A, B):
    """For every pair (a_i, b_k): the 2×2 factor L (u = L z) and an orthonormal basis c1, c2 of span(a, b).

    Gram–Schmidt on the longer of the two vectors (the anchor): c1 = anchor/|anchor|, w = other − (other·c1) c1
    (projected out twice), c2 = w/|w|.  With t = other·c1 = a·b/|anchor| the pair is
    anchor = |anchor| c1, other = t c1 + |w| c2, so L = [[|a|, 0], [t, |w|]] (rows u_a, u_b; columns z1, z2)
    or, anchored on b, [[t, |w|], [|b|, 0]].  Every entry is a norm, a dot product or a difference of vectors
    of rounding error ε·|anchor|, so a nearly parallel pair (a student unit close to its teacher unit) keeps
    its O(|a − b|) second direction.  (An eigen-frame of the Gram matrix gets μ2 = half − rad by
    cancellation, relative error ε/angle², and must drop the direction at small angles: it did below 1e-5,
    which put population gradients and residual terms off by 2–25 % near the teacher.)  A zero pair gets c1 = c2 = 0; c2 is
    dropped (set to 0) only where |w| ≤ :data:`RANK_ONE_RTOL`·|anchor|, i.e. at rounding level (a kept
    rounding-level w would be harmless as well: its coefficients in the moments are O(|w|)).
    """
    na_ = xp.sqrt(xp.sum(A * A, axis=1))[:, None]
    nb_ = xp.sqrt(xp.sum(B * B, axis=1))[None, :]
    r = A @ B.T
    swap = nb_ > na_                         # anchor on b where b is the longer vector
    big = xp.where(swap, nb_, na_)
    ok1 = big > DEGENERATE_FLOOR
    inv1 = xp.where(ok1, 1.0 / xp.where(ok1, big, 1.0), 0.0)
    t = r * inv1                             # other·c1
    a = A[:, None, :]
    b = B[None, :, :]
    sw = swap[..., None]
    c1 = xp.where(sw, b, a) * inv1[..., None]
    w = xp.where(sw, a, b) - t[..., None] * c1
    w = w - xp.sum(w * c1, axis=-1)[..., None] * c1   # second projection: w ⟂ c1 to rounding
    nw = xp.sqrt(xp.sum(w * w, axis=-1))
    ok2 = ok1 & (nw > RANK_ONE_RTOL * big)
    nw = xp.where(ok2, nw, 0.0)
    c2 = w * xp.where(ok2, 1.0 / xp.where(ok2, nw, 1.0), 0.0)[..., None]
    big = xp.where(ok1, big, 0.0)
    zero = xp.zeros_like(t)
    L = (xp.where(swap, t, big), xp.where(swap, nw, zero), xp.where(swap, big, t), xp.where(swap, zero, nw))
    return L, c1, c2


def _outer(u, v):
    return u[..., :, None] * v[..., None, :]


def _quad_chunk(xp, act, A, B, want, rule):
    z1, z2, F = rule
    eye = xp.eye(A.shape[1], dtype=xp.float64)
    (l00, l01, l10, l11), c1, c2 = _pair_frames(xp, A, B)
    ua = l00[..., None] * z1 + l01[..., None] * z2
    ub = l10[..., None] * z1 + l11[..., None] * z2
    funcs = {"gg": (act.g, act.g), "gdx": (act.g, act.dg), "ddxx": (act.dg, act.dg), "gd2xx": (act.g, act.d2g)}
    cache = {}

    def f(fn, u, tag):
        if (fn, tag) not in cache:
            cache[(fn, tag)] = fn(xp, u)
        return cache[(fn, tag)]

    out = {}
    for name in want:
        fa, fb = funcs[name]
        e = (f(fa, ua, "a") * f(fb, ub, "b")) @ F  # (na, nb, 6)
        if name == "gg":
            out[name] = e[..., 0]
        elif name == "gdx":
            out[name] = e[..., 1:2] * c1 + e[..., 2:3] * c2
        else:
            e0 = e[..., 0][..., None, None]
            out[name] = (e0 * eye + (e[..., 3] - e[..., 0])[..., None, None] * _outer(c1, c1)
                         + e[..., 4][..., None, None] * (_outer(c1, c2) + _outer(c2, c1))
                         + (e[..., 5] - e[..., 0])[..., None, None] * _outer(c2, c2))
    return out


def _erf_chunk(xp, A, B, want):
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
        eye = xp.eye(A.shape[1], dtype=xp.float64)
        inv = eye - (i11[..., None, None] * _outer(a, a) + i12[..., None, None] * (_outer(a, b) + _outer(b, a))
                     + i22[..., None, None] * _outer(b, b))
        out["ddxx"] = (c / xp.sqrt(det))[..., None, None] * inv
    return out


def _entries_per_pair(n_in, want):
    """Output entries per pair (a, b) of the requested moments."""
    return sum({"gg": 1, "gdx": n_in}.get(w, n_in * n_in) for w in want)


def _temp_entries_per_pair(n_in, want, K):
    """Temporaries per pair of one chunk: quadrature arguments and function values with the activation's own
    temporaries (about 12 K², measured), the Gram–Schmidt frames (7 Ni; 6.5 Ni measured), and about
    6 matrices Ni × Ni while a ``ddxx``/``gd2xx`` moment is assembled."""
    mats = any(w in _MATRIX_KINDS for w in want)
    return (12 * K * K if K > 1 else 0) + 7 * n_in + (6 * n_in * n_in if mats else 0) + 12


def moments_bytes(na, nb, n_in, want, K) -> float:
    """Peak bytes of :func:`gaussian_moments` with the smallest chunk (one row of A): outputs + temporaries."""
    return F64 * (na * nb * _entries_per_pair(n_in, want) + nb * _temp_entries_per_pair(n_in, want, K))


def _nodes(xp, act, A, B):
    if act.is_polynomial:
        return act.quad_nodes()
    with np.errstate(over="ignore"):  # an infinite scale asks for the maximum number of nodes
        scale = math.sqrt(max(float(xp.max(xp.sum(A * A, axis=1))), float(xp.max(xp.sum(B * B, axis=1)))))
    return act.quad_nodes(scale)


def gaussian_moments(xp, act, A, B, want, reduce_rows=None, closed_forms=True, temp_bytes=None):
    """Moments of every pair (A[i], B[k]) without argument checks (internal entry point; see :func:`pair_moments`).

    ``reduce_rows``: a vector c over the rows of A; then Σ_i c_i m[i] is returned instead of m (shape without
    the first axis), accumulated chunk by chunk so that the full (na, nb, …) array is never formed.
    ``closed_forms=False`` uses quadrature even where closed forms exist (erf).  ``temp_bytes`` caps the
    temporaries of one chunk (a caller's own share of its memory estimate).
    Memory: outputs plus one chunk of temporaries, chunked within :data:`QUAD_CHUNK_ENTRIES` and the budget.
    """
    na, nb, n_in = A.shape[0], B.shape[0], A.shape[1]
    closed = closed_forms and isinstance(act, Erf) and "gd2xx" not in want
    K = 1 if closed else _nodes(xp, act, A, B)
    rows_out = 1 if reduce_rows is not None else na
    out_bytes = F64 * rows_out * nb * _entries_per_pair(n_in, want)
    per_pair = F64 * (_temp_entries_per_pair(n_in, want, K)
                      + (_entries_per_pair(n_in, want) if reduce_rows is not None else 0))
    check_memory(out_bytes + per_pair, f"Gaussian pair moments ({na} × {nb} pairs, n_in = {n_in})",
                 reduce="n_hidden (the number of units) or n_in")
    room = memory_budget() - out_bytes if temp_bytes is None else min(memory_budget() - out_bytes, temp_bytes)
    room = min(room, F64 * QUAD_CHUNK_ENTRIES * 6)
    # a block of rows × cols pairs at a time: whole rows of B when they fit, else columns of B as well
    cols = int(max(1, min(nb, room // per_pair)))
    rows = int(max(1, min(na, room // (per_pair * cols))))
    rule = None
    if not closed:
        z1, z2, F = _hermite_2d(K)
        rule = tuple(xp.asarray(v, dtype=xp.float64) for v in (z1, z2, F))

    def block(Ab, Bb):
        return _erf_chunk(xp, Ab, Bb, want) if closed else _quad_chunk(xp, act, Ab, Bb, want, rule)

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if rows >= na and cols >= nb and reduce_rows is None:  # one block: no copy into a preallocated result
            return block(A, B)
        shapes = {"gg": (nb,), "gdx": (nb, n_in), "ddxx": (nb, n_in, n_in), "gd2xx": (nb, n_in, n_in)}
        res = {w: xp.zeros(((na,) if reduce_rows is None else ()) + shapes[w], dtype=xp.float64) for w in want}
        for r0 in range(0, na, rows):
            r1 = min(r0 + rows, na)
            for c0 in range(0, nb, cols):
                c1 = min(c0 + cols, nb)
                part = block(A[r0:r1, :], B[c0:c1, :])
                for w in want:
                    if reduce_rows is None:
                        res[w][r0:r1, c0:c1, ...] = part[w]
                    else:
                        cw = xp.reshape(reduce_rows[r0:r1], (-1,) + (1,) * (part[w].ndim - 1))
                        res[w][c0:c1, ...] = res[w][c0:c1, ...] + xp.sum(cw * part[w], axis=0)
    return res


def pair_moments(W_a, W_b, activation, want=("gg", "gdx", "ddxx"), method="auto"):
    """Gaussian expectations over x ~ N(0, I) for every pair of rows a = W_a[i], b = W_b[k]:

    ``gg``    E[g(a·x) g(b·x)]            shape (na, nb)
    ``gdx``   E[g(a·x) g'(b·x) x]         shape (na, nb, Ni)
    ``ddxx``  E[g'(a·x) g'(b·x) x xᵀ]     shape (na, nb, Ni, Ni)
    ``gd2xx`` E[g(a·x) g''(b·x) x xᵀ]     shape (na, nb, Ni, Ni)

    ``method``: ``"quadrature"`` (2-D Gauss–Hermite on span(a, b)), ``"closed"`` (erf only) or ``"auto"``
    (closed forms where they exist).
    """
    prob = resolve(W_a, _first_column(W_a, "W_a"), activation)
    _, W_b, _ = check_weights(W_b, _first_column(W_b, "W_b"))
    xp, act, W_a = prob.xp, prob.act, prob.W1
    if W_a.shape[1] != W_b.shape[1]:
        raise ValueError(f"W_b must have the same number of columns (n_in) as W_a = {W_a.shape[1]}, "
                         f"got shape {tuple(W_b.shape)}")
    if isinstance(want, str) or not hasattr(want, "__iter__"):
        raise ValueError(f"want must be a tuple of entries among {MOMENT_KINDS}, got {want!r}")
    want = tuple(want)
    for w in want:
        check_choice(w, "want entries", MOMENT_KINDS)
    check_choice(method, "method", ("auto", "quadrature", "closed"))
    if method == "closed" and not isinstance(act, Erf):
        raise ValueError("method='closed' is available for the 'erf' activation only")
    closed = tuple(w for w in want if w != "gd2xx") if isinstance(act, Erf) and method != "quadrature" else ()
    rest = tuple(w for w in want if w not in closed)
    na, nb = W_a.shape[0], W_b.shape[0]
    total = moments_bytes(na, nb, W_a.shape[1], want, _nodes(xp, act, W_a, W_b) if rest else 1)
    check_memory(total, f"pair_moments ({na} × {nb} pairs, n_in = {W_a.shape[1]})",
                 reduce="the rows of W_a or W_b, n_in, or the moments in want")
    res = {}
    if closed:
        res.update(gaussian_moments(xp, act, W_a, W_b, closed))
    if rest:
        res.update(gaussian_moments(xp, act, W_a, W_b, rest, closed_forms=False))
    for w in want:
        check_finite_result(res[w], f"pair_moments {w!r}", act, xp.concat([W_a, W_b], axis=0))
    return {w: res[w] for w in want}


def _first_column(W, name):
    if W is None or isinstance(W, (str, bytes)) or (not hasattr(W, "shape") and not isinstance(W, (list, tuple))):
        raise TypeError(f"{name} must be a 2-D array of shape (n_units, n_in), got {describe(W)}")
    if isinstance(W, (list, tuple)):
        W = np.asarray(W)
    if len(W.shape) != 2 or W.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array of shape (n_units, n_in), got {describe(W)}")
    return W[:, 0]

"""Numerical rank of Hessian spectra and the theoretical effective number of parameters.

Numerical rank (book, Chapter 5, eq. ``ch5-tol``): eigenvalues with |λ| > tol count, where by default
tol = |λ|_max · P · ε (ε = 2.2·10⁻¹⁶, float64 machine epsilon; the same scale-aware rule as
``numpy.linalg.matrix_rank``).  The *spectral gap* — the ratio of the smallest kept to the largest
discarded |λ| — says how safe the decision is: many decades for an exact zero, about one for a
borderline case.

Effective parameters (book, Chapter 3, eqs. ``ch3-rank-tangent``, ``ch3-quadratic``, ``ch3-ah``).  For g(z) = Σ_{p∈S} c_p z^p the network is a polynomial
of degree max S and, because the Gaussian Gram of polynomials is positive definite, the population
Hessian's rank is the dimension of the tangent space spanned, over hidden units j, by g(w_j·x)
and g'(w_j·x) x_k.  For a single degree p this is the dimension of the secant variety of the Veronese
variety, given by the Alexander–Hirschowitz theorem:

* p = 1: Ni;
* p = 2: Nh Ni − Nh(Nh−1)/2 for Nh ≤ Ni, saturating at Ni(Ni+1)/2;
* p ≥ 3: min(Nh Ni, C(Ni+p−1, p)), except one less at (Ni, p, Nh) = (5, 3, 7), (3, 4, 5), (4, 4, 9)
  and (5, 4, 14).

For several degrees the count is computed exactly by :func:`tangent_rank` (the tangent matrix at random
integer weights, rank over the field of integers modulo the prime 2³¹ − 1).  erf networks are full rank P.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from math import comb

import numpy as np

from ._validation import (check_bool, check_choice, check_eigenvalues, check_finite_result, check_int,
                          check_nonneg, check_real, check_size, resolve, rng)
from .activations import Erf, get_activation
from .backend import F64, check_memory, to_numpy
from .gauss_newton import jacobian_bytes, jacobian_of
from .hessian import FACTOR_MAX_NODES, population_factor_of
from .spectra import spectrum_of

__all__ = ["numerical_rank", "RankInfo", "hessian_rank", "effective_parameters", "tangent_rank",
           "default_tolerance", "symmetric_dim", "AH_EXCEPTIONS", "EPS", "FACTOR_ROUTE_MAX_ENTRIES",
           "TANGENT_MAX_ENTRIES", "MAX_DEGREE", "MAX_TRIALS"]

EPS = float(np.finfo(np.float64).eps)
#: ``hessian_rank(method="auto")`` uses the factor route while the factor has at most this many entries
FACTOR_ROUTE_MAX_ENTRIES = 5e7
#: largest tangent matrix (rows × monomials) :func:`tangent_rank` builds
TANGENT_MAX_ENTRIES = 20_000_000
#: most random points :func:`tangent_rank` tries
MAX_TRIALS = 100
#: largest polynomial degree :func:`tangent_rank` and :func:`symmetric_dim` accept
MAX_DEGREE = 299

#: Alexander–Hirschowitz defective cases (n_in, degree, n_hidden): the rank is one below the bound.
AH_EXCEPTIONS = frozenset({(5, 3, 7), (3, 4, 5), (4, 4, 9), (5, 4, 14)})


@dataclass(frozen=True)
class RankInfo:
    """Result of :func:`numerical_rank`."""

    rank: int
    tol: float
    #: smallest kept |λ| / largest discarded |λ| (inf when nothing is discarded, 0 when nothing is kept)
    gap: float
    lambda_min_pos: float
    lambda_max: float
    size: int

    @property
    def gap_decades(self) -> float:
        return float(np.log10(self.gap)) if 0 < self.gap < np.inf else (np.inf if self.gap else -np.inf)


def _check_eps(eps):
    return check_real(eps, "eps", low=0.0, high=1.0, low_open=True, high_open=True,
                      allowed="a number in (0, 1) (the relative precision of the spectrum)")


def default_tolerance(eigenvalues, eps=EPS) -> float:
    """tol = |λ|_max · P · ε."""
    ev = np.abs(check_eigenvalues(eigenvalues))
    return float(ev.max(initial=0.0) * ev.size * _check_eps(eps))


def numerical_rank(eigenvalues, tol=None, eps=EPS) -> RankInfo:
    """Rank of a symmetric matrix from its eigenvalues: #{|λ| > tol}, tol = |λ|_max · P · ε by default.

    ``eps`` sets the precision the spectrum was computed in (use float32's 1.19·10⁻⁷ for single precision).
    """
    ev = check_eigenvalues(eigenvalues)
    a = np.abs(ev)
    tol = default_tolerance(ev, eps) if tol is None else check_nonneg(tol, "tol")
    kept = a[a > tol]
    dropped = a[a <= tol]
    rank = int(kept.size)
    if rank == 0:
        gap = 0.0
    elif dropped.size == 0 or dropped.max() == 0:
        gap = np.inf
    else:
        with np.errstate(over="ignore"):  # a gap beyond float64's range is an infinite gap
            gap = float(kept.min() / dropped.max())
    lam_min = float(ev[a > tol].min()) if rank else 0.0
    return RankInfo(rank, float(tol), gap, lam_min, float(a.max()), int(ev.size))


def _svd_rank(xp, A, tol):
    s = to_numpy(xp.linalg.svdvals(A) if hasattr(xp.linalg, "svdvals") else xp.linalg.svd(A, compute_uv=False))
    tol_s = float(s.max(initial=0.0) * max(A.shape) * EPS) if tol is None else math.sqrt(tol)
    r = numerical_rank(s, tol=tol_s)
    with np.errstate(over="ignore", under="ignore"):  # σ² may leave float64's range: inf / 0 are the answers
        sq = [float(np.float64(v) ** 2) for v in (tol_s, r.gap, r.lambda_min_pos, r.lambda_max)]
    return RankInfo(r.rank, sq[0], sq[1], sq[2], sq[3], int(A.shape[1]))


def hessian_rank(W1, W2, activation, X=None, tol=None, method="auto", info=False):
    """Numerical rank of the Hessian at the optimum.

    ``method="factor"``: singular values σ of a factor A with H = AᵀA (batch: A = J/√N; population with a
    polynomial activation: :func:`nearopt.population_factor`), rank = #{σ > σ_max · max(rows, P) · ε}.
    This squares the attainable gap compared with eigenvalues (errors ε·σ_max, not ε·λ_max) and is the
    default whenever a factor fits in memory.  ``method="eigen"``: :func:`numerical_rank` of the
    eigenvalues.  ``info=True`` returns the :class:`RankInfo` (for ``"factor"`` its λ fields are σ²).
    The rank never exceeds its possible maximum min(P, N) (batch) or min(P, K^Ni) (population factor).
    """
    check_choice(method, "method", ("auto", "factor", "eigen"))
    tol = check_nonneg(tol, "tol", allow_none=True)
    info = check_bool(info, "info")
    prob = resolve(W1, W2, activation, X)
    act, P, n = prob.act, prob.P, prob.N
    if method == "auto":
        if n is not None:
            method = "factor" if n * P <= FACTOR_ROUTE_MAX_ENTRIES else "eigen"
        elif act.is_polynomial and (act.degree + 1) ** prob.n_in * P <= FACTOR_ROUTE_MAX_ENTRIES:
            method = "factor"
        else:
            method = "eigen"
    if method == "eigen":
        res = numerical_rank(spectrum_of(prob), tol=tol)
        cap = P if n is None else min(P, n)
    elif n is None:
        A = population_factor_of(prob, FACTOR_MAX_NODES)
        res, cap = _svd_rank(prob.xp, A, tol), min(P, int(A.shape[0]))
    else:
        check_memory(jacobian_bytes(prob.xp, n, prob.n_hidden, prob.n_in) + F64 * 2.0 * n * P,
                     f"The factor J/√N of hessian_rank ({n} × {P})", reduce="N (rows of X)",
                     alternative="method='eigen' needs less memory when N > P.")
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            A = jacobian_of(prob) / math.sqrt(n)
        check_finite_result(A, "The Jacobian of hessian_rank", act, prob.W1, prob.W2, prob.X)
        res, cap = _svd_rank(prob.xp, A, tol), min(P, n)
    if res.rank > cap:  # rounding noise above the tolerance cannot create rank beyond the matrix's maximum
        res = RankInfo(cap, res.tol, res.gap, res.lambda_min_pos, res.lambda_max, res.size)
    return res if info else res.rank


def symmetric_dim(n_in, degree) -> int:
    """C(Ni + p − 1, p): dimension of symmetric p-tensors (homogeneous polynomials of degree p)."""
    degree = check_int(degree, "degree", 0, MAX_DEGREE)
    return comb(check_size(n_in, "n_in") + degree - 1, degree)


def _monomials(n_in, degree):
    """Exponent tuples α with |α| = degree, generated directly (C(Ni+p−1, p) of them, no filtering)."""
    out = []
    for combo in itertools.combinations_with_replacement(range(n_in), degree):
        a = [0] * n_in
        for k in combo:
            a[k] += 1
        out.append(tuple(a))
    return out


_PRIME = 2_147_483_647  # 2^31 − 1: products of two residues fit in int64


def _rank_mod_p(M, p=_PRIME):
    M = M.copy() % p
    rows, cols = M.shape
    r = 0
    for c in range(cols):  # Gaussian elimination, one pivot column at a time (rows vectorised)
        if r == rows:
            break
        nz = np.flatnonzero(M[r:, c])
        if nz.size == 0:
            continue
        piv = r + nz[0]
        if piv != r:
            M[[r, piv]] = M[[piv, r]]
        inv = pow(int(M[r, c]), p - 2, p)
        M[r] = (M[r] * inv) % p
        f = M[:, c].copy()
        f[r] = 0
        M = (M - (f[:, None] * M[r][None, :]) % p) % p
        r += 1
    return r


def tangent_rank(degrees, n_in, n_hidden, seed=0, trials=2) -> int:
    """Exact generic rank of the tangent map θ ↦ y_θ for g = Σ_{p∈degrees} c_p z^p (any c_p ≠ 0).

    Rows: for each unit j, the coefficients of g(w_j·x) and of g'(w_j·x) x_k in the monomial basis; in
    degree p these are (p!/α!) c_p w^α and (p!/α!) c_p α_k w^{α−e_k}.  Column factors (p!/α!) c_p and row
    factors W2[j] do not change the rank, so the matrix has entries w^α and α_k w^{α−e_k}.  Its rank is
    computed exactly modulo the prime Q = 2³¹ − 1 at weights drawn uniformly from [1, Q − 1] (max over
    ``trials``). A modular rank can only under-count the generic rank; by Schwartz–Zippel a draw falls
    short with probability at most r · p_max / (Q − 1) per trial (r the rank, p_max the largest degree:
    a nonvanishing r × r minor is a polynomial of degree at most r · p_max in the weights).
    """
    n_in = check_size(n_in, "n_in")
    n_hidden = check_size(n_hidden, "n_hidden")
    trials = check_int(trials, "trials", 1, MAX_TRIALS)
    gen = rng(seed)
    allowed = f"a non-empty collection of integers in [0, {MAX_DEGREE}]"
    if isinstance(degrees, (str, bytes)) or not hasattr(degrees, "__iter__"):
        raise ValueError(f"degrees must be {allowed}, got {degrees!r}")
    degrees = list(degrees)
    if not degrees or len(degrees) > MAX_DEGREE + 1:
        raise ValueError(f"degrees must be {allowed}, got {degrees!r}")
    degrees = sorted({check_int(d, "degrees entries", 0, MAX_DEGREE) for d in degrees})
    n_rows = n_hidden * (n_in + 1)
    n_monos = sum(symmetric_dim(n_in, d) for d in degrees)   # counted before anything is enumerated
    if n_rows * n_monos > TANGENT_MAX_ENTRIES:
        raise ValueError(f"tangent_rank: the {n_rows} × {n_monos} tangent matrix is too large "
                         f"(limit {TANGENT_MAX_ENTRIES:.0e} entries); reduce n_in, n_hidden or the degree")
    check_memory(F64 * 6.0 * n_rows * n_monos, f"tangent_rank ({n_rows} × {n_monos})",
                 reduce="n_in, n_hidden or the degree")
    monos = [a for d in degrees for a in _monomials(n_in, d)]
    E = np.array(monos, dtype=np.int64).reshape(len(monos), n_in)   # (M, Ni) exponents
    best = 0
    for _ in range(trials):
        W = gen.integers(1, _PRIME, size=(n_hidden, n_in), dtype=np.int64)
        # powers W[j, k]^e mod p for e up to max degree, (Nh, Ni, maxdeg+1)
        dmax = max(degrees)
        pw = np.ones((n_hidden, n_in, dmax + 1), dtype=np.int64)
        for e in range(1, dmax + 1):
            pw[:, :, e] = (pw[:, :, e - 1] * W) % _PRIME

        def mono_vals(Eexp):  # Π_k W[j,k]^{E[m,k]} for all j, m  → (Nh, M)
            out = np.ones((n_hidden, Eexp.shape[0]), dtype=np.int64)
            for k in range(n_in):
                out = (out * pw[:, k, :][:, np.clip(Eexp[:, k], 0, None)]) % _PRIME
            return out

        rows = [mono_vals(E)]                                    # W2 directions: w^α
        for k in range(n_in):                                    # W1[:, k] directions: α_k w^{α−e_k}
            Ek = E.copy()
            Ek[:, k] -= 1
            vals = mono_vals(Ek) * (E[:, k] % _PRIME)[None, :] % _PRIME
            vals[:, E[:, k] == 0] = 0
            rows.append(vals)
        M = np.concatenate(rows, axis=0)
        best = max(best, _rank_mod_p(M))
    return best


def effective_parameters(activation, n_in, n_hidden) -> int:
    """Theoretical rank of the population Hessian at a generic optimum (see module docstring)."""
    n_in = check_size(n_in, "n_in")
    n_hidden = check_size(n_hidden, "n_hidden")
    act = get_activation(activation)
    P = n_hidden * (n_in + 1)
    if isinstance(act, Erf):
        return P
    if not act.is_polynomial:
        raise ValueError(
            f"effective_parameters is known for polynomial activations and 'erf'; got {act.name!r}. "
            "Use nearopt.hessian_rank for a measured rank.")
    degs = act.degrees
    if len(degs) == 1:
        p = degs[0]
        if p == 0:
            return 1
        if p == 1:
            return n_in
        if p == 2:
            return n_hidden * n_in - n_hidden * (n_hidden - 1) // 2 if n_hidden <= n_in \
                else n_in * (n_in + 1) // 2
        r = min(n_hidden * n_in, symmetric_dim(n_in, p))
        return r - 1 if (n_in, p, n_hidden) in AH_EXCEPTIONS else r
    return tangent_rank(degs, n_in, n_hidden)

"""Curvature as an operator: Hessian-vector products without forming H, and stochastic Lanczos quadrature.

:func:`hessian_operator` returns a :class:`scipy.sparse.linalg.LinearOperator` for the Hessian at the optimum
(the Gauss–Newton matrix) whose features g(U), W2 ∘ g'(U) are computed once; each product costs O(N P m)
and memory O(N min(Nh, Ni) m), in chunks of samples.  ``op @ v``, :func:`scipy.sparse.linalg.eigsh` and
:func:`slq` work on it directly; :func:`hvp` is ``op @ v`` on the weights' own array backend.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from ._validation import check_array, check_finite_result, check_size, check_vector, resolve, rng
from .backend import F64, check_memory, to_numpy
from .gauss_newton import GN_ROW_CHUNK, features, features_bytes, gn_bytes_per_row, gn_product
from .hessian import hessian_of

__all__ = ["HessianOperator", "hessian_operator", "hvp", "slq", "LANCZOS_BREAKDOWN", "REORTH_DROP"]

#: Lanczos stops when every probe's β falls below this times max(1, max |α|) (an invariant subspace)
LANCZOS_BREAKDOWN = 1e-12
#: a second re-orthogonalisation pass runs where the first one left less than this fraction of the norm
REORTH_DROP = 0.7071


class HessianOperator(spla.LinearOperator):
    """The Hessian at the optimum as a symmetric P × P :class:`~scipy.sparse.linalg.LinearOperator`.

    Batch: H v = Jᵀ(J v)/N from features computed once.  Population: the dense E[∇θy∇θyᵀ] (formed once
    within the memory budget; the population has no cheaper product).  NumPy in, NumPy out;
    :meth:`apply` keeps the weights' array backend.
    """

    def __init__(self, prob):
        self.problem = prob
        super().__init__(dtype=np.float64, shape=(prob.P, prob.P))
        xp = prob.xp
        if prob.X is None:
            self._dense = hessian_of(prob)
            self._G = self._D = None
        else:
            nh = prob.n_hidden
            check_memory(features_bytes(prob.N, nh), f"The features of the Hessian operator (N = {prob.N}, "
                         f"Nh = {nh})", reduce="N (rows of X)")
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                _, G, D = features(xp, prob.act, prob.W1, prob.W2, prob.X)
            check_finite_result(G, "g(W1 x)", prob.act, prob.W1, prob.W2, prob.X)
            check_finite_result(D, "W2 g'(W1 x)", prob.act, prob.W1, prob.W2, prob.X)
            self._dense, self._G, self._D = None, G, D

    @property
    def is_symmetric(self) -> bool:
        return True

    def apply_bytes(self, m: int) -> float:
        """Peak of a product with m vectors: the block, its result and the chunked temporaries."""
        prob = self.problem
        return F64 * 3.0 * prob.P * m + min(prob.N or 0, GN_ROW_CHUNK) * gn_bytes_per_row(prob.n_hidden, prob.n_in, m)

    def apply(self, v):
        """H v for v of shape (P,) or (P, m), on the weights' backend (validated)."""
        block, vec = check_vector(v, "v", self.shape[0], self.problem.xp)
        out = self._apply_block(block)
        return out[:, 0] if vec else out

    def _apply_block(self, block):
        prob = self.problem
        m = block.shape[1]
        check_memory(self.apply_bytes(m), f"A Hessian-vector product with {m} vectors", reduce="m (the columns of v)")
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            out = self._dense @ block if self._dense is not None else gn_product(prob.xp, prob.X, self._G, self._D,
                                                                                 block)
        return check_finite_result(out, "The Hessian-vector product", prob.act, prob.W1, prob.W2, prob.X)

    def _matmat(self, V):
        xp = self.problem.xp
        V = check_array(V, "V", np, ndim=2)
        return np.asarray(to_numpy(self._apply_block(xp.asarray(V, dtype=xp.float64))))

    def _matvec(self, v):
        return self._matmat(np.reshape(v, (-1, 1)))[:, 0]

    def _rmatvec(self, v):
        return self._matvec(v)

    def _adjoint(self):
        return self

    def todense(self):
        """The dense P × P matrix (NumPy), for checks at small P."""
        from .gauss_newton import check_dense
        check_dense(self.shape[0])
        return self._matmat(np.eye(self.shape[0]))


def hessian_operator(W1, W2, activation, X=None):
    """The Hessian at the optimum θ* = (W1, W2) as a :class:`scipy.sparse.linalg.LinearOperator` (P × P).

    ``op @ v`` (v of shape (P,) or (P, m)), ``scipy.sparse.linalg.eigsh(op, k)`` and ``nearopt.slq(op)``
    use it without forming H when X is a batch; ``X=None`` (population) wraps the dense population Hessian.
    """
    return HessianOperator(resolve(W1, W2, activation, X))


def hvp(W1, W2, activation, X, v):
    """Matrix-free Gauss–Newton product H v = Jᵀ(J v)/N at the optimum, without forming J or H.

    (J v)_μ = Σ_j W2[j] g'(u_μj) (x_μ·V1[j]) + Σ_j g(u_μj) v2[j], and Jᵀs is (W2 ∘ g'(U) ∘ s)ᵀX, g(U)ᵀs.
    ``v`` may be a vector (P,) or a matrix (P, m) of m vectors.  Cost O(N P m), memory O(N min(Nh, Ni) m).
    The same as ``hessian_operator(W1, W2, activation, X) @ v``, on the weights' array backend.
    """
    if X is None:
        raise ValueError("X must be a 2-D array of shape (N, n_in), got None (hvp is the batch product; "
                         "nearopt.hessian_operator(W1, W2, activation) wraps the population Hessian)")
    prob = resolve(W1, W2, activation, X)
    block, vec = check_vector(v, "v", prob.P, prob.xp)
    m = block.shape[1]
    check_memory(features_bytes(prob.N, prob.n_hidden) + F64 * 3.0 * prob.P * m
                 + min(prob.N, GN_ROW_CHUNK) * gn_bytes_per_row(prob.n_hidden, prob.n_in, m),
                 f"hvp (N = {prob.N}, P = {prob.P}, {m} vectors)", reduce="N (rows of X) or m (the columns of v)")
    out = HessianOperator(prob)._apply_block(block)
    return out[:, 0] if vec else out


def _as_block_matvec(operator, dim):
    """(matvec on (dim, b) NumPy blocks, dim) for a LinearOperator, a square matrix or a callable."""
    if isinstance(operator, spla.LinearOperator) or hasattr(operator, "shape") and hasattr(operator, "__matmul__"):
        shape = tuple(operator.shape)
        if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
            raise ValueError(f"operator must be square (P × P), got shape {shape}")
        if not isinstance(operator, spla.LinearOperator):
            A = check_array(to_numpy(operator), "operator", np)
            if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(A).max()))):
                raise ValueError("operator must be symmetric (Lanczos needs H = Hᵀ), got a non-symmetric matrix")
            operator = spla.aslinearoperator(A)
        if dim is not None and check_size(dim, "dim") != shape[0]:
            raise ValueError(f"dim must equal the operator's size {shape[0]}, got {dim!r}")
        return (lambda V: operator.matmat(V)), shape[0]
    if callable(operator):
        if dim is None:
            raise ValueError("dim must be given (an integer ≥ 1) when operator is a function, got None")
        return operator, check_size(dim, "dim")
    raise TypeError(f"operator must be a symmetric LinearOperator, a square matrix or a function of (dim, b) "
                    f"blocks, got {type(operator).__name__}")


def slq(operator, dim=None, n_probes=8, n_steps=60, seed=0):
    """Stochastic Lanczos quadrature: nodes and weights of a discrete measure approximating the
    spectral measure (1/P) Σ_k δ(λ − λ_k) of a symmetric operator (Ubaru, Chen & Saad 2017).

    ``operator``: any symmetric operator — a :class:`~scipy.sparse.linalg.LinearOperator` (such as
    :func:`hessian_operator`), a symmetric matrix, or a function mapping an (dim, b) block to an (dim, b)
    block (then ``dim`` is required).  For each Rademacher probe v (|v|² = P), m Lanczos steps (full
    re-orthogonalisation) give the tridiagonal T_m = Σ θ_i y_i y_iᵀ, diagonalised by
    :func:`scipy.linalg.eigh_tridiagonal`; the nodes are θ_i with weights y_i[0]²/n_probes.
    All probes run as one block.
    """
    matvec, dim = _as_block_matvec(operator, dim)
    n_probes = check_size(n_probes, "n_probes")
    n_steps = check_size(n_steps, "n_steps")
    m = min(n_steps, dim)
    gen = rng(seed)
    check_memory(F64 * (m + 6.0) * dim * n_probes, f"The Lanczos basis ({n_probes} probes × {m} steps × {dim})",
                 reduce="n_steps or n_probes")
    V = gen.choice(np.array([-1.0, 1.0]), size=(dim, n_probes))
    V /= np.linalg.norm(V, axis=0)
    # Lanczos vectors stored probe-major, (n_probes, m, dim): the re-orthogonalisation is then two
    # BLAS matrix–vector products per probe instead of strided einsums over (m, dim, n_probes)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        alpha, beta, steps = _lanczos(matvec, dim, n_probes, m, V)
    if not (np.all(np.isfinite(alpha[:steps])) and np.all(np.isfinite(beta[: steps - 1]))):
        raise ValueError("operator must have entries within float64's range for Lanczos (its products overflowed); "
                         "scale the operator down and the nodes back up")
    nodes, weights = [], []
    for p in range(n_probes):
        th, Y = scipy.linalg.eigh_tridiagonal(alpha[:steps, p], beta[: steps - 1, p])
        nodes.append(th)
        weights.append(Y[0] ** 2 / n_probes)
    return np.concatenate(nodes), np.concatenate(weights)


def _lanczos(matvec, dim, n_probes, m, V):
    """Block Lanczos recurrences with full re-orthogonalisation: α (m, probes), β (m, probes), steps taken."""
    Q = np.zeros((n_probes, m, dim))
    alpha = np.zeros((m, n_probes))
    beta = np.zeros((m, n_probes))
    q, q_prev, b_prev = V, np.zeros_like(V), np.zeros(n_probes)
    steps = m
    for i in range(m):  # Lanczos steps (inherently sequential); probes are vectorised
        Q[:, i, :] = q.T
        w = np.asarray(to_numpy(matvec(q)), dtype=np.float64)
        if w.shape != (dim, n_probes) or not np.all(np.isfinite(w)):
            raise ValueError(f"operator must map a ({dim}, {n_probes}) block to a finite ({dim}, {n_probes}) block, "
                             f"got shape {w.shape}" + ("" if w.shape != (dim, n_probes) else " with non-finite values"))
        a = np.sum(w * q, axis=0)
        wT = np.ascontiguousarray((w - a * q - b_prev * q_prev).T)      # (n_probes, dim)
        # full re-orthogonalisation against all previous Lanczos vectors; a second pass only where the
        # first one cancelled (Daniel–Gragg–Kaufman–Stewart) — "twice is enough"
        Qi = Q[:, : i + 1, :]
        for _ in range(2):
            before = np.linalg.norm(wT, axis=1)
            coef = np.matmul(Qi, wT[:, :, None])                        # (n_probes, i+1, 1)
            wT -= np.matmul(np.swapaxes(Qi, 1, 2), coef)[:, :, 0]
            if not np.any(np.linalg.norm(wT, axis=1) < REORTH_DROP * before):
                break
        w = wT.T
        b = np.linalg.norm(w, axis=0)
        alpha[i] = a
        if i + 1 < m:
            beta[i] = b
            if np.all(b < LANCZOS_BREAKDOWN * max(1.0, np.max(np.abs(alpha[: i + 1])))):
                steps = i + 1
                break
            q_prev, q = q, w / np.where(b > 0, b, 1.0)
            b_prev = b
    return alpha, beta, steps

"""The curvature operator against independent dense references (complex-step Jacobians, numpy eigensolvers)."""
import numpy as np
import pytest
import scipy.sparse.linalg as spla

import nearopt
from reference import G, jacobian_cs


def reference_hessian(W1, W2, act, X):
    """JᵀJ/N from a complex-step Jacobian (no nearopt code involved)."""
    ni, nh = W1.shape[1], W1.shape[0]
    J = jacobian_cs(np.asarray(nearopt.flatten(W1, W2)), ni, nh, G[act], X)
    return J.T @ J / X.shape[0]


@pytest.fixture(scope="module")
def problem():
    W1, W2 = nearopt.sample_teacher(5, 7, seed=21)   # P = 42; Ni < Nh
    X = nearopt.sample_inputs(90, 5, seed=22)
    return W1, W2, X


@pytest.mark.parametrize("act", ["quadratic", "erf"])
@pytest.mark.parametrize("shape", ["wide", "tall"])
def test_operator_product_matches_dense_reference(act, shape):
    ni, nh = (3, 8) if shape == "wide" else (8, 3)   # both contraction orders of the kernel
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=1)
    X = nearopt.sample_inputs(70, ni, seed=2)
    H = reference_hessian(W1, W2, act, X)
    op = nearopt.hessian_operator(W1, W2, act, X)
    assert isinstance(op, spla.LinearOperator) and op.shape == H.shape and op.dtype == np.float64
    V = np.random.default_rng(3).standard_normal((H.shape[0], 4))
    scale = np.abs(H).max() * np.abs(V).max()
    assert np.allclose(op @ V, H @ V, rtol=0, atol=1e-12 * scale * H.shape[0])
    assert np.allclose(op @ V[:, 1], H @ V[:, 1], rtol=0, atol=1e-12 * scale * H.shape[0])
    assert np.allclose(op.T @ V[:, 2], H @ V[:, 2], rtol=0, atol=1e-12 * scale * H.shape[0])
    assert np.allclose(nearopt.hvp(W1, W2, act, X, V), H @ V, rtol=0, atol=1e-12 * scale * H.shape[0])


def test_eigsh_on_the_operator_matches_dense_eigenvalues(problem):
    W1, W2, X = problem
    H = reference_hessian(W1, W2, "erf", X)
    exact = np.linalg.eigvalsh(H)
    op = nearopt.hessian_operator(W1, W2, "erf", X)
    top = np.sort(spla.eigsh(op, k=5, which="LA", return_eigenvectors=False, tol=1e-12))
    assert np.allclose(top, exact[-5:], rtol=1e-9, atol=1e-12 * exact[-1])


def test_population_operator_wraps_the_population_hessian():
    W1, W2 = nearopt.sample_teacher(3, 4, seed=5)
    op = nearopt.hessian_operator(W1, W2, "cubic")
    v = np.linspace(-1.0, 1.0, 16)
    # the population Hessian equals the batch one on the exact quadrature nodes; use Monte Carlo as the
    # independent reference at a loose tolerance: N = 2·10⁵ samples, entries within 2 % of the scale
    X = nearopt.sample_inputs(200_000, 3, seed=6)
    H_mc = reference_hessian(W1, W2, "cubic", X)
    assert np.allclose(op @ v, H_mc @ v, rtol=0, atol=0.02 * np.abs(H_mc @ v).max())


def test_slq_is_exact_on_a_diagonal_operator():
    """With Rademacher probes, vᵀ f(D) v / |v|² = mean f(d) exactly, and m ≥ dim Lanczos steps integrate
    every polynomial exactly: all moments of the SLQ measure equal those of the eigenvalues."""
    d = np.linspace(0.5, 3.0, 12) ** 2
    D = spla.LinearOperator((12, 12), matvec=lambda v: d * np.ravel(v), matmat=lambda V: d[:, None] * V,
                            dtype=np.float64)
    nodes, weights = nearopt.slq(D, n_probes=3, n_steps=12, seed=4)
    assert weights.sum() == pytest.approx(1.0, rel=1e-12)
    for k in range(1, 6):
        assert np.sum(weights * nodes ** k) == pytest.approx(np.mean(d ** k), rel=1e-9)
    # a dense symmetric matrix and a function of blocks are accepted too
    n2, w2 = nearopt.slq(np.diag(d), n_probes=3, n_steps=12, seed=4)
    n3, w3 = nearopt.slq(lambda V: d[:, None] * V, 12, n_probes=3, n_steps=12, seed=4)
    assert np.allclose(np.sort(n2), np.sort(nodes)) and np.allclose(np.sort(n3), np.sort(nodes))


def test_slq_rejects_what_it_cannot_use():
    with pytest.raises(ValueError, match="operator must be symmetric"):
        nearopt.slq(np.triu(np.ones((4, 4))))
    with pytest.raises(ValueError, match="operator must be square"):
        nearopt.slq(np.ones((3, 4)))
    with pytest.raises(ValueError, match="dim must be given"):
        nearopt.slq(lambda V: V)
    with pytest.raises(TypeError, match="operator must be a symmetric LinearOperator"):
        nearopt.slq("H")
    with pytest.raises(ValueError, match=r"operator must map a \(5, 2\) block"):
        nearopt.slq(lambda V: V[:3], 5, n_probes=2)


def test_operator_rejects_bad_vectors(problem):
    W1, W2, X = problem
    op = nearopt.hessian_operator(W1, W2, "erf", X)
    with pytest.raises(ValueError, match=r"v must be of shape \(42,\)"):
        op.apply(np.ones(41))
    with pytest.raises(ValueError, match="v must be real"):
        nearopt.hvp(W1, W2, "erf", X, np.ones(42) * 1j)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        nearopt.hvp(W1, W2, "erf", None, np.ones(42))

"""Hessians at and away from the optimum against independent references."""
import numpy as np
import pytest

import nearopt
from reference import G, hessian_fd, jacobian_cs

ACTS = ["linear", "quadratic", "cubic", "quartic", "erf"]


def tanh_activation():
    t = np.tanh
    return nearopt.Custom(t, lambda z: 1 - t(z) ** 2, lambda z: -2 * t(z) * (1 - t(z) ** 2), name="tanh")


@pytest.mark.parametrize("act", ACTS)
def test_batch_hessian_matches_finite_differences(act):
    ni, nh = 3, 4
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=1)
    X = nearopt.sample_inputs(64, ni, seed=2)
    theta = np.asarray(nearopt.flatten(W1, W2))
    H_fd = hessian_fd(theta, theta, ni, nh, G[act], X)
    H = nearopt.hessian(W1, W2, act, X)
    # FD error O(h²·|∂⁴L|) with h = 1e-5 plus rounding ε|L'|/h: well below 1e-6 relative
    assert np.allclose(H, H_fd, rtol=0, atol=1e-6 * np.abs(H_fd).max())


@pytest.mark.parametrize("act", ACTS + ["tanh"])
def test_jacobian_matches_complex_step(act):
    ni, nh = 4, 3
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=3)
    X = nearopt.sample_inputs(50, ni, seed=4)
    a = tanh_activation() if act == "tanh" else act
    J = nearopt.jacobian(W1, W2, a, X)
    J_ref = jacobian_cs(np.asarray(nearopt.flatten(W1, W2)), ni, nh, G[act], X)
    assert np.allclose(J, J_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("X_given", [False, True])
def test_hessian_symmetric_psd(act, X_given):
    W1, W2 = nearopt.sample_teacher(4, 5, seed=5)
    X = nearopt.sample_inputs(40, 4, seed=6) if X_given else None
    H = nearopt.hessian(W1, W2, act, X)
    assert H.shape == (25, 25)
    assert np.array_equal(H, H.T) or np.allclose(H, H.T, rtol=0, atol=1e-15 * np.abs(H).max())
    ev = np.linalg.eigvalsh(H)
    assert ev.min() > -1e-12 * ev.max()


@pytest.mark.parametrize("act", ["linear", "quadratic", "cubic", "erf", "tanh"])
def test_population_hessian_matches_monte_carlo(act):
    """Population Hessian vs the batch Hessian at N = 4·10⁵: each entry within 5 Monte-Carlo standard errors."""
    ni, nh = 3, 3
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=7)
    a = tanh_activation() if act == "tanh" else act
    H = nearopt.hessian(W1, W2, a)
    X = nearopt.sample_inputs(400_000, ni, seed=8)
    J = jacobian_cs(np.asarray(nearopt.flatten(W1, W2)), ni, nh, G[act], X)
    prods = J[:, :, None] * J[:, None, :]
    mean = prods.mean(axis=0)
    se = prods.std(axis=0) / np.sqrt(X.shape[0])
    assert np.all(np.abs(H - mean) <= 5 * se + 1e-12)


def test_erf_closed_forms_match_quadrature():
    # default scale (|w| ≈ 1): 1e-11; large weights (|w| up to ≈ 3.6) need more nodes, chosen automatically
    for var, tol in ((None, 1e-11), (1.0, 1e-8)):
        W1, _ = nearopt.sample_teacher(5, 6, seed=9, w1_var=var)
        closed = nearopt.pair_moments(W1, W1, "erf", method="closed")
        quad = nearopt.pair_moments(W1, W1, "erf", method="quadrature")
        for k in ("gg", "gdx", "ddxx"):
            assert np.allclose(closed[k], quad[k], rtol=0, atol=tol), (var, k)


def test_pair_moments_parallel_and_antiparallel_units():
    """Degenerate spans (a ∥ b, a = −b, a = b) against one-dimensional quadrature done by scipy."""
    from scipy import integrate
    from scipy.special import erf
    a = np.array([[0.6, -0.3, 0.2]])
    for b in (a, -a, 2 * a):
        m = nearopt.pair_moments(a, b, "erf", method="quadrature")
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        s = float((a @ b.T)[0, 0]) / (na * nb)  # ±1
        # u = na t, v = s nb t with t ~ N(0,1)
        gauss = lambda t: np.exp(-t * t / 2) / np.sqrt(2 * np.pi)
        g = lambda z: erf(z / np.sqrt(2))
        ref_gg = integrate.quad(lambda t: g(na * t) * g(s * nb * t) * gauss(t), -12, 12)[0]
        assert abs(m["gg"][0, 0] - ref_gg) < 1e-12
        gp = lambda z: np.sqrt(2 / np.pi) * np.exp(-z * z / 2)
        # E[g'(u) g'(v) x xᵀ] = E[g'g' t²] âᵀâ + E[g'g'] (I − âᵀâ), â = a/|a|
        e2 = integrate.quad(lambda t: gp(na * t) * gp(s * nb * t) * t * t * gauss(t), -12, 12)[0]
        e0 = integrate.quad(lambda t: gp(na * t) * gp(s * nb * t) * gauss(t), -12, 12)[0]
        ah = a[0] / na
        ref = e2 * np.outer(ah, ah) + e0 * (np.eye(3) - np.outer(ah, ah))
        assert np.allclose(m["ddxx"][0, 0], ref, atol=1e-12)


@pytest.mark.parametrize("act", ["quadratic", "erf", "tanh"])
def test_full_hessian_batch_matches_finite_differences(act):
    ni, nh = 3, 3
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=10)
    X = nearopt.sample_inputs(64, ni, seed=11)
    W1s, W2s, _ = nearopt.perturb(W1, W2, 0.3, seed=12)
    a = tanh_activation() if act == "tanh" else act
    H = nearopt.full_hessian(W1s, W2s, a, (W1, W2), X)
    H_fd = hessian_fd(np.asarray(nearopt.flatten(W1s, W2s)), np.asarray(nearopt.flatten(W1, W2)), ni, nh,
                      G[act], X)
    assert np.allclose(H, H_fd, rtol=0, atol=1e-6 * np.abs(H_fd).max())
    # away from the optimum the residual term matters: the Gauss–Newton part alone is different
    GN = nearopt.hessian(W1s, W2s, a, X)
    assert np.abs(GN - H_fd).max() > 1e-3 * np.abs(H_fd).max()


@pytest.mark.parametrize("act", ["cubic", "erf"])
def test_full_population_hessian_matches_monte_carlo(act):
    """Population full Hessian (pair moments incl. E[g g'' x xᵀ]) vs finite differences of a Monte-Carlo loss."""
    ni, nh = 2, 2
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=13)
    W1s, W2s, _ = nearopt.perturb(W1, W2, 0.3, seed=14)
    H = nearopt.full_hessian(W1s, W2s, act, (W1, W2))
    X = nearopt.sample_inputs(200_000, ni, seed=15)
    Hb = nearopt.full_hessian(W1s, W2s, act, (W1, W2), X)
    # independent check of the batch formula is test_full_hessian_batch_matches_finite_differences;
    # here the Monte-Carlo average converges to the population value (tolerance ≈ 5 standard errors)
    assert np.abs(H - Hb).max() < 0.02 * np.abs(H).max()
    assert np.linalg.eigvalsh(H).min() < np.linalg.eigvalsh(nearopt.hessian(W1s, W2s, act)).min()


def test_population_gradient_matches_finite_differences_of_population_loss():
    ni, nh = 3, 2
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=16)
    W1s, W2s, _ = nearopt.perturb(W1, W2, 0.1, seed=17)
    th = np.asarray(nearopt.flatten(W1s, W2s))
    for act in ("erf", "cubic", "linear"):
        g = nearopt.gradient(W1s, W2s, act, (W1, W2))
        fd = np.empty_like(th)
        for i in range(th.size):
            e = np.zeros_like(th)
            e[i] = 1e-6
            a1, b1 = nearopt.unflatten(th + e, ni, nh)
            a0, b0 = nearopt.unflatten(th - e, ni, nh)
            fd[i] = (nearopt.loss(a1, b1, act, (W1, W2)) - nearopt.loss(a0, b0, act, (W1, W2))) / 2e-6
        assert np.allclose(g, fd, rtol=1e-5, atol=1e-9), act


def test_population_loss_matches_monte_carlo():
    ni, nh = 3, 2
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=18)
    W1s, W2s, _ = nearopt.perturb(W1, W2, 0.2, seed=19)
    X = nearopt.sample_inputs(400_000, ni, seed=20)
    for act in ("erf", "quadratic", "linear"):
        r = nearopt.forward(W1s, W2s, act, X) - nearopt.forward(W1, W2, act, X)
        mc, se = 0.5 * np.mean(r * r), 0.5 * np.std(r * r) / np.sqrt(X.shape[0])
        assert abs(nearopt.loss(W1s, W2s, act, (W1, W2)) - mc) < 5 * se, act


def test_large_weights_warn_instead_of_nan():
    """Beyond the quadrature's node cap the result stays finite and a warning says accuracy may suffer."""
    W1, W2 = nearopt.sample_teacher(3, 2, seed=0, w1_var=36.0)  # |w| ≈ 4
    Ws, Vs, _ = nearopt.perturb(W1, W2, 0.1, seed=1)
    with pytest.warns(RuntimeWarning, match="Gauss–Hermite nodes"):
        H = nearopt.full_hessian(Ws, Vs, "erf", (W1, W2))
    assert np.all(np.isfinite(H))


@pytest.mark.parametrize("act,ni", [("quadratic", 3), ("cubic", 2), ((0.3, -1.0, 0.0, 0.5), 3)])
def test_population_factor_reproduces_the_population_hessian(act, ni):
    """AᵀA from the tensor Gauss–Hermite factor against the pair-moment assembly (2-D quadrature on each
    pair's span: a different rule) and against the complex-step Jacobian on the same nodes."""
    nh = 3
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=11)
    A = np.asarray(nearopt.population_factor(W1, W2, act))
    K = len(np.trim_zeros(np.asarray(act if isinstance(act, tuple) else
                                     {"quadratic": (0, 0, 1), "cubic": (0, 0, 0, 1)}[act], float), "b"))
    assert A.shape == (K ** ni, nh * (ni + 1))
    H = np.asarray(nearopt.hessian(W1, W2, act))
    assert np.allclose(A.T @ A, H, rtol=0, atol=1e-12 * np.abs(H).max())
    # rows are √w_q ∇θy(ξ_q): rebuild them with numpy's hermegauss and the complex-step reference
    t, w = np.polynomial.hermite_e.hermegauss(K)
    nodes = np.stack([g.ravel() for g in np.meshgrid(*([t] * ni), indexing="ij")], axis=1)
    weights = np.prod(np.stack([g.ravel() for g in np.meshgrid(*([w / np.sqrt(2 * np.pi)] * ni), indexing="ij")]),
                      axis=0)
    g = G[act] if isinstance(act, str) else (lambda z, c=act: sum(ck * z ** k for k, ck in enumerate(c)))
    J = jacobian_cs(np.asarray(nearopt.flatten(W1, W2)), ni, nh, g, nodes)
    assert np.allclose(A, np.sqrt(weights)[:, None] * J, rtol=1e-12, atol=1e-13)


def test_population_factor_refuses_what_it_cannot_do():
    W1, W2 = nearopt.sample_teacher(3, 2, seed=0)
    with pytest.raises(ValueError, match="activation must be a polynomial"):
        nearopt.population_factor(W1, W2, "erf")
    with pytest.raises(ValueError, match="exceed max_nodes = 10"):
        nearopt.population_factor(W1, W2, "cubic", max_nodes=10)
    with pytest.raises(ValueError, match="max_nodes must be an integer"):
        nearopt.population_factor(W1, W2, "cubic", max_nodes=0)

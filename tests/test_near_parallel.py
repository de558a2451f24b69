"""Population gradients and full Hessians when every student unit is within σ0 of its teacher unit.

The pair moments work on span(a, b) of a student unit a and a teacher unit b; for σ0 → 0 the pair is nearly
parallel and its O(σ0) second direction must not be lost (it used to be dropped below an angle of 1e-5,
which left the quadratic gradient 1.7 % and the residual term of the full Hessian 2.7 % (quadratic), 25 %
(linear) and 4 % (erf) wrong at every σ0 ≤ 1e-5; now the errors are rounding, about 1e-16/σ0).

References, independent of nearopt's moments (plain NumPy, written here):
- quadratic g(z) = z²: y(x) = xᵀDx with D = W1ᵀ diag(W2) W1, so L = ½[(tr E)² + 2 tr(E²)], E = D − D*;
- linear g(z) = z: L = ½ |W1ᵀW2 − W1*ᵀW2*|²;
- cubic g(z) = z³: the population loss is a polynomial of degree 6 in x, so a tensor Gauss–Hermite rule with
  4 nodes per input dimension (4⁴ = 256 points, exact to degree 7) gives it exactly;
- erf g(z) = erf(z/√2): L = ½ cᵀQc, Q_ik = (2/π) arcsin(a_i·a_k / √((1+|a_i|²)(1+|a_k|²))), c = (W2, −W2*).
Gradients by complex step of the loss (exact to rounding); each analytic gradient written here is checked
against that, and Hessians are complex steps of the analytic gradient.  The Gauss–Newton part is the Hessian
of the same closed form with the teacher set to the student, so the residual term R = H − GN of the
reference is independent of nearopt; nearopt's R = full_hessian − hessian (both at the same point).
"""
import numpy as np
import pytest

import nearopt

H_CS = 1e-30


def _split(theta, ni, nh):
    return theta[: ni * nh].reshape(nh, ni), theta[ni * nh:]


# ------------------------------------------------------------------ closed forms (plain NumPy, complex-safe)
def _quad_loss(theta, theta_t, ni, nh):
    W1, W2 = _split(theta, ni, nh)
    T1, T2 = _split(theta_t, ni, nh)
    E = W1.T @ (W2[:, None] * W1) - T1.T @ (T2[:, None] * T1)
    return 0.5 * (np.trace(E) ** 2 + 2.0 * np.trace(E @ E))


def _quad_grad(theta, theta_t, ni, nh):
    W1, W2 = _split(theta, ni, nh)
    T1, T2 = _split(theta_t, ni, nh)
    E = W1.T @ (W2[:, None] * W1) - T1.T @ (T2[:, None] * T1)
    G = np.trace(E) * np.eye(ni) + 2.0 * E          # dL/dD (symmetric)
    g1 = 2.0 * W2[:, None] * (W1 @ G)
    g2 = np.einsum("jk,kl,jl->j", W1, G, W1)
    return np.concatenate([g1.ravel(), g2])


def _lin_loss(theta, theta_t, ni, nh):
    W1, W2 = _split(theta, ni, nh)
    T1, T2 = _split(theta_t, ni, nh)
    e = W1.T @ W2 - T1.T @ T2
    return 0.5 * np.sum(e * e)


def _lin_grad(theta, theta_t, ni, nh):
    W1, W2 = _split(theta, ni, nh)
    T1, T2 = _split(theta_t, ni, nh)
    e = W1.T @ W2 - T1.T @ T2
    return np.concatenate([(W2[:, None] * e[None, :]).ravel(), W1 @ e])


def _cubic_rule(ni):
    t, w = np.polynomial.hermite_e.hermegauss(4)
    X = np.stack([g.ravel() for g in np.meshgrid(*([t] * ni), indexing="ij")], axis=1)
    wq = np.prod(np.stack([g.ravel() for g in np.meshgrid(*([w] * ni), indexing="ij")], axis=1), axis=1)
    return X, wq / np.sqrt(2.0 * np.pi) ** ni


def _cubic_loss(theta, theta_t, ni, nh):
    (W1, W2), (T1, T2) = _split(theta, ni, nh), _split(theta_t, ni, nh)
    X, wq = _cubic_rule(ni)
    r = (X @ W1.T) ** 3 @ W2 - (X @ T1.T) ** 3 @ T2
    return 0.5 * np.sum(wq * r * r)


def _cubic_grad(theta, theta_t, ni, nh):
    (W1, W2), (T1, T2) = _split(theta, ni, nh), _split(theta_t, ni, nh)
    X, wq = _cubic_rule(ni)
    U = X @ W1.T
    r = wq * (U ** 3 @ W2 - (X @ T1.T) ** 3 @ T2)
    g1 = W2[:, None] * ((3.0 * U ** 2 * r[:, None]).T @ X)
    return np.concatenate([g1.ravel(), (U ** 3).T @ r])


def _erf_parts(theta, theta_t, ni, nh):
    W1, W2 = _split(theta, ni, nh)
    T1, T2 = _split(theta_t, ni, nh)
    U = np.concatenate([W1, T1])
    c = np.concatenate([W2, -T2])
    p = np.sum(U * U, axis=1)
    den = np.sqrt((1.0 + p)[:, None] * (1.0 + p)[None, :])
    t = (U @ U.T) / den
    return W1, W2, U, c, p, den, t


def _erf_loss(theta, theta_t, ni, nh):
    _, _, _, c, _, _, t = _erf_parts(theta, theta_t, ni, nh)
    return 0.5 * c @ ((2.0 / np.pi) * np.arcsin(t)) @ c


def _erf_grad(theta, theta_t, ni, nh):
    W1, W2, U, c, p, den, t = _erf_parts(theta, theta_t, ni, nh)
    Q = (2.0 / np.pi) * np.arcsin(t)
    # ∂Q(a, b)/∂a = (2/π) (1 − t²)^{-1/2} [b / √((1+|a|²)(1+|b|²)) − t a / (1+|a|²)]
    f = (2.0 / np.pi) / np.sqrt(1.0 - t[:nh] ** 2)                      # (nh, n_all)
    dQ = f[..., None] * (U[None, :, :] / den[:nh, :, None]
                         - (t[:nh] / (1.0 + p[:nh, None]))[..., None] * W1[:, None, :])
    g1 = W2[:, None] * np.einsum("k,jki->ji", c, dQ)
    return np.concatenate([g1.ravel(), (Q @ c)[:nh]])


def _grad_cs(loss, theta, theta_t, ni, nh):
    out = np.empty(theta.size)
    for i in range(theta.size):
        t = theta.astype(complex)
        t[i] += 1j * H_CS
        out[i] = loss(t, theta_t, ni, nh).imag / H_CS
    return out


def _hess_cs(grad, theta, theta_t, ni, nh):
    P = theta.size
    H = np.empty((P, P))
    for i in range(P):
        t = theta.astype(complex)
        t[i] += 1j * H_CS
        H[:, i] = grad(t, theta_t, ni, nh).imag / H_CS
    return H


CASES = {"quadratic": (_quad_loss, _quad_grad, 4, 6),
         "cubic": (_cubic_loss, _cubic_grad, 4, 6),
         "linear": (_lin_loss, _lin_grad, 3, 2),
         "erf": (_erf_loss, _erf_grad, 4, 6)}
SIGMAS = (1e-3, 1e-5, 1e-6, 1e-7)


def _point(name, sigma):
    _, _, ni, nh = CASES[name]
    T1, T2 = nearopt.sample_teacher(ni, nh, seed=3)
    theta_t = np.concatenate([T1.ravel(), T2])
    d = np.random.default_rng(11).standard_normal(theta_t.size)
    theta = theta_t + sigma * d
    W1, W2 = _split(theta, ni, nh)
    return theta, theta_t, W1, W2, (T1, T2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_gradients_agree(name):
    """The analytic closed-form gradients used for the Hessians agree with complex steps of the losses."""
    loss, grad, ni, nh = CASES[name]
    theta, theta_t, *_ = _point(name, 1e-2)
    g_cs = _grad_cs(loss, theta, theta_t, ni, nh)
    assert np.linalg.norm(grad(theta, theta_t, ni, nh) - g_cs) <= 1e-12 * np.linalg.norm(g_cs)


@pytest.mark.parametrize("sigma", SIGMAS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_population_gradient_near_teacher(name, sigma):
    loss, _, ni, nh = CASES[name]
    theta, theta_t, W1, W2, teacher = _point(name, sigma)
    g_ref = _grad_cs(loss, theta, theta_t, ni, nh)
    g = nearopt.gradient(W1, W2, name, teacher)
    err = np.linalg.norm(g - g_ref) / np.linalg.norm(g_ref)
    assert err < 1e-6, f"{name}, σ0 = {sigma:g}: relative gradient error {err:.2e}"


@pytest.mark.parametrize("sigma", SIGMAS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_population_residual_term_near_teacher(name, sigma):
    """R = full_hessian − hessian against the closed form's H − GN: relative error < 1e-4 of |R| at every σ0."""
    _, grad, ni, nh = CASES[name]
    theta, theta_t, W1, W2, teacher = _point(name, sigma)
    H_ref = _hess_cs(grad, theta, theta_t, ni, nh)
    GN_ref = _hess_cs(grad, theta, theta, ni, nh)
    R_ref = H_ref - GN_ref
    R = nearopt.full_hessian(W1, W2, name, teacher) - nearopt.hessian(W1, W2, name)
    assert np.linalg.norm(nearopt.hessian(W1, W2, name) - GN_ref) <= 1e-9 * np.linalg.norm(GN_ref)
    err = np.linalg.norm(R - R_ref) / np.linalg.norm(R_ref)
    assert err < 1e-4, f"{name}, σ0 = {sigma:g}: relative error of the residual term {err:.2e}"


def test_linear_residual_norm():
    """Linear 3/2 network: |R| / σ0 is the same at σ0 = 1e-6 as at 1e-3 (R is exactly linear in the residual)."""
    _, grad, ni, nh = CASES["linear"]
    ratios = []
    for sigma in (1e-3, 1e-6):
        theta, theta_t, W1, W2, teacher = _point("linear", sigma)
        R = nearopt.full_hessian(W1, W2, "linear", teacher) - nearopt.hessian(W1, W2, "linear")
        R_ref = _hess_cs(grad, theta, theta_t, ni, nh) - _hess_cs(grad, theta, theta, ni, nh)
        assert abs(np.linalg.norm(R) - np.linalg.norm(R_ref)) <= 1e-6 * np.linalg.norm(R_ref)
        ratios.append(np.linalg.norm(R) / sigma)
    assert ratios[1] == pytest.approx(ratios[0], rel=1e-2)


@pytest.mark.parametrize("shift", [0.0, 1e-300, 1e-12, 1e-8, 1e-5])
def test_pair_moments_parallel_limit(shift):
    """b = a (1 + shift), a + shift·e, −a + shift·e (nearly (anti)parallel, down to equal), shift·e (a short b)
    and a zero pair: the quadratic pair moments against Isserlis' theorem, E[u²vx] = |a|²b + 2(a·b)a and so on
    (u = a·x, v = b·x), to rounding."""
    a = np.array([[0.3, -0.5, 0.2, 0.7]])
    e = np.array([[0.1, 0.4, -0.3, 0.2]])
    kinds = ("gg", "gdx", "ddxx", "gd2xx")
    for a, b in ((a, a * (1.0 + shift)), (a, a + shift * e), (a, shift * e - a), (shift * e, a), (a, shift * e),
                 (shift * e, shift * a)):
        m = nearopt.pair_moments(a, b, "quadratic", want=kinds)
        av, bv = a[0], b[0]
        p, s, r = av @ av, bv @ bv, av @ bv
        eye = np.eye(4)
        exact = {"gg": p * s + 2 * r * r,                                              # E[u² v²]
                 "gdx": 2.0 * (p * bv + 2.0 * r * av),                                 # E[u² 2v x]
                 "ddxx": 4.0 * (r * eye + np.outer(av, bv) + np.outer(bv, av)),        # E[2u 2v x xᵀ]
                 "gd2xx": 2.0 * (p * eye + 2.0 * np.outer(av, av))}                     # E[u² 2 x xᵀ]
        for k in kinds:
            assert np.allclose(m[k][0, 0], exact[k], rtol=0, atol=1e-14), (k, shift)

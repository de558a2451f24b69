"""Learning near the optimum: the real network and the quadratic model (book, Chapter 1).

Near θ* the loss is L ≈ ½ δθᵀ H δθ.  Under gradient flow δθ(t) = e^{−Ht} δθ0, hence

    L(t) = ½ Σ_k λ_k c_k² e^{−2 λ_k t},   c_k = v_k · δθ0          (eq. ``ch1-quadratic-decay``)

and for gradient descent with step η, e^{−2λt} becomes (1 − ηλ)^{2n} (stable for η < 2/λ_max, eqs. ``ch1-gd``, ``ch1-stability``).  With
δθ0 ~ N(0, σ0² I), E L(t) = (σ0²/2) Σ λ_k e^{−2λ_k t}.  Zero modes neither decay nor cost loss; at late
times log L falls with slope −2 λ_min⁺ (the smallest nonzero eigenvalue).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .activations import get_activation
from .backend import asarray, to_numpy
from .hessian import _batch_loss_and_grad, hessian, population_loss_and_grad
from .rank import numerical_rank
from .teacher import _rng, check_inputs, check_nonneg, check_positive, check_size, check_weights, flatten, \
    unflatten

__all__ = ["perturb", "descend", "flow", "quadratic_loss", "expected_loss", "late_time_rate",
           "predict_descent", "fit_rate", "stability_limit"]


def perturb(W1, W2, sigma0, seed=0):
    """Student θ* + δθ0 with δθ0 ~ N(0, σ0² I_P); returns (W1s, W2s, δθ0)."""
    xp, W1, W2 = check_weights(W1, W2)
    sigma0 = check_nonneg(sigma0, "sigma0")
    nh, ni = W1.shape
    P = nh * (ni + 1)
    d = asarray(_rng(seed).standard_normal(P) * sigma0, xp)
    theta = flatten(W1, W2) + d
    W1s, W2s = unflatten(theta, ni, nh)
    return W1s, W2s, d


def _loss_grad(act, W1s, W2s, teacher, X):
    if X is None:
        return population_loss_and_grad(W1s, W2s, act, teacher)
    return _batch_loss_and_grad(W1s, W2s, act, teacher, X)


def stability_limit(eigenvalues) -> float:
    """2 / λ_max: gradient descent on the quadratic model diverges for η above it."""
    lam = float(np.max(to_numpy(eigenvalues)))
    return math.inf if lam <= 0 else 2.0 / lam


def descend(W1, W2, activation, X=None, sigma0=1e-3, lr=0.1, steps=1000, seed=0, eigenvalues=None,
            return_params=False):
    """Gradient descent θ_{n+1} = θ_n − η ∇L(θ_n) on the *real* network from θ* + δθ0, δθ0 ~ N(0, σ0² I).

    The teacher is (W1, W2).  Batch loss on X, or the exact population loss (``X=None``).  Returns the
    losses L(θ_0), …, L(θ_steps) as a NumPy array of length steps + 1.  Warns when η exceeds the
    stability limit 2/λ_max of the Hessian at the optimum (``eigenvalues`` may be passed to skip
    recomputing them).
    """
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    if X is not None:
        X = check_inputs(X, W1.shape[1], xp)
    lr = check_positive(lr, "lr")
    steps = check_size(steps, "steps", minimum=0)
    check_nonneg(sigma0, "sigma0")
    if eigenvalues is None and W1.shape[0] * (W1.shape[1] + 1) <= 3000:
        eigenvalues = xp.linalg.eigvalsh(hessian(W1, W2, act, X))
    if eigenvalues is not None:
        limit = stability_limit(eigenvalues)
        if lr >= limit:
            warnings.warn(f"lr = {lr:g} is beyond the stability limit 2/λ_max = {limit:.4g}: gradient descent "
                          "diverges along the top eigenvector; use lr < {:.4g}".format(limit),
                          RuntimeWarning, stacklevel=2)
    nh, ni = W1.shape
    W1s, W2s, _ = perturb(W1, W2, sigma0, seed)
    teacher = (W1, W2)
    losses = np.empty(steps + 1)
    theta = flatten(W1s, W2s)
    for n in range(steps + 1):  # time steps are sequential by nature
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported as inf
            L, g = _loss_grad(act, W1s, W2s, teacher, X)
        losses[n] = float(L)
        if not math.isfinite(losses[n]):
            losses[n:] = np.inf
            break
        if n < steps:
            theta = theta - lr * g
            W1s, W2s = unflatten(theta, ni, nh)
    if return_params:
        return losses, (W1s, W2s)
    return losses


def flow(W1, W2, activation, times, X=None, sigma0=1e-3, seed=0, rtol=1e-10, atol=1e-14):
    """Gradient flow dθ/dt = −∇L(θ) of the real network from θ* + δθ0, integrated with scipy's DOP853.

    Returns the losses at ``times`` (ascending, starting at ≥ 0) as a NumPy array.
    """
    from scipy.integrate import solve_ivp
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    if X is not None:
        X = check_inputs(X, W1.shape[1], xp)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) < 0) or times[0] < 0:
        raise ValueError("times must be a non-empty ascending 1-D array of non-negative numbers")
    nh, ni = W1.shape
    W1s, W2s, _ = perturb(W1, W2, sigma0, seed)
    teacher = (W1, W2)

    def rhs(t, th):
        a, b = unflatten(asarray(th, xp), ni, nh)
        return -np.asarray(to_numpy(_loss_grad(act, a, b, teacher, X)[1]), dtype=np.float64)

    sol = solve_ivp(rhs, (0.0, float(times[-1])), np.asarray(to_numpy(flatten(W1s, W2s))), method="DOP853",
                    t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"gradient flow integration failed: {sol.message}")
    out = np.empty(times.size)
    for i in range(times.size):
        a, b = unflatten(asarray(sol.y[:, i], xp), ni, nh)
        out[i] = float(_loss_grad(act, a, b, teacher, X)[0])
    return out


def quadratic_loss(eigenvalues, coefficients, t=None, steps=None, lr=None):
    """Quadratic-model loss L = ½ Σ λ_k c_k² e^{−2λ_k t} (flow, times ``t``) or
    ½ Σ λ_k c_k² (1 − ηλ_k)^{2n} (gradient descent, ``steps`` = n values, step ``lr`` = η)."""
    lam = np.asarray(to_numpy(eigenvalues), dtype=np.float64)
    # numerically zero modes (|λ| ≤ λ_max·P·ε, e.g. −1e-16) are exact zero modes: they cost no loss
    lam = np.where(np.abs(lam) <= numerical_rank(lam).tol, 0.0, lam)
    c2 = np.asarray(to_numpy(coefficients), dtype=np.float64) ** 2
    if (t is None) == (steps is None):
        raise ValueError("give exactly one of t (gradient flow times) or steps (gradient descent steps)")
    if t is not None:
        t = np.asarray(t, dtype=np.float64)
        return 0.5 * np.sum(lam * c2 * np.exp(-2.0 * np.multiply.outer(t, lam)), axis=-1)
    lr = check_positive(lr, "lr")
    n = np.asarray(steps, dtype=np.float64)
    f = np.abs(1.0 - lr * lam)
    with np.errstate(over="ignore"):
        return 0.5 * np.sum(lam * c2 * np.power(f, 2.0 * n[..., None]), axis=-1)


def expected_loss(eigenvalues, sigma0, t):
    """E L(t) = (σ0²/2) Σ_k λ_k e^{−2λ_k t} for δθ0 ~ N(0, σ0² I)."""
    sigma0 = check_nonneg(sigma0, "sigma0")
    lam = np.asarray(to_numpy(eigenvalues), dtype=np.float64)
    return quadratic_loss(lam, np.full(lam.shape, sigma0), t=t)


def late_time_rate(eigenvalues, lr=None, tol=None) -> float:
    """Asymptotic decay rate r of the loss, L ∝ e^{−r t} (flow) or per step (descent).

    Flow: r = 2 λ_min⁺.  Descent with step η: r = min over nonzero λ of −2 log|1 − ηλ| (usually
    2|log(1 − ηλ_min⁺)| ≈ 2ηλ_min⁺).  Zero modes are excluded using :func:`numerical_rank`'s tolerance.
    """
    lam = np.asarray(to_numpy(eigenvalues), dtype=np.float64)
    info = numerical_rank(lam, tol=tol)
    nz = lam[np.abs(lam) > info.tol]
    if nz.size == 0:
        raise ValueError("eigenvalues has no nonzero entry: the loss does not decay")
    if lr is None:
        return 2.0 * float(nz.min())
    lr = check_positive(lr, "lr")
    f = np.abs(1.0 - lr * nz)
    f = f[f > 0]  # a mode with ηλ = 1 vanishes after one step
    if f.size == 0:
        return math.inf
    return float(-2.0 * np.log(f.max()))


def predict_descent(W1, W2, activation, X=None, sigma0=1e-3, lr=0.1, steps=1000, seed=0):
    """Quadratic-model prediction for exactly the δθ0 that :func:`descend` uses with the same seed:
    L_n = ½ Σ λ_k (v_k·δθ0)² (1 − ηλ_k)^{2n}, n = 0 … steps.  Returns (losses, eigenvalues)."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    H = hessian(W1, W2, act, X)
    lam, V = xp.linalg.eigh(H)
    _, _, d = perturb(W1, W2, sigma0, seed)
    c = V.T @ d
    n = np.arange(check_size(steps, "steps", minimum=0) + 1)
    return quadratic_loss(lam, c, steps=n, lr=lr), to_numpy(lam)


def fit_rate(losses, start=None, stop=None, dt=1.0) -> float:
    """Measured decay rate: minus the least-squares slope of log L over [start, stop) (steps × dt)."""
    L = np.asarray(losses, dtype=np.float64)
    s = slice(start, stop)
    y = np.log(L[s])
    x = np.arange(L.size, dtype=np.float64)[s] * dt
    ok = np.isfinite(y)
    if ok.sum() < 2:
        raise ValueError("fit_rate needs at least two positive finite losses in the window")
    slope = np.polyfit(x[ok], y[ok], 1)[0]
    return float(-slope)

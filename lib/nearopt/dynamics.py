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

from ._validation import (all_finite, check_array, check_bool, check_eigenvalues, check_finite_result, check_int,
                          check_nonneg, check_positive, check_real, check_weights, host, resolve, rng)
from .backend import F64, asarray, check_memory, memory_budget, to_numpy
from .gauss_newton import check_dense
from .hessian import hessian_of
from .loss import loss_and_grad, loss_and_grad_bytes
from .rank import numerical_rank
from .teacher import split_theta

__all__ = ["perturb", "descend", "flow", "quadratic_loss", "expected_loss", "late_time_rate",
           "predict_descent", "fit_rate", "stability_limit", "STABILITY_CHECK_MAX_P", "MAX_STEPS",
           "MAX_FLOW_STIFFNESS", "MAX_FLOW_EVALUATIONS"]

#: descend computes the Hessian's spectrum for its stability warning only up to this P (dense eigvalsh)
STABILITY_CHECK_MAX_P = 3000
#: most gradient-descent steps one call of :func:`descend` or :func:`predict_descent` runs
MAX_STEPS = 10_000_000
#: :func:`flow` refuses t_final · λ_max above this (DOP853 needs about 2 t·λ_max gradient evaluations)
MAX_FLOW_STIFFNESS = 1e5
#: :func:`flow` stops with an error after this many gradient evaluations
MAX_FLOW_EVALUATIONS = 400_000


def _perturbation(xp, W1, W2, sigma0, seed):
    """(W1s, W2s, δθ0): the student θ* + δθ0, δθ0 ~ N(0, σ0² I) drawn from ``seed`` (no checks)."""
    nh, ni = W1.shape
    d = asarray(rng(seed).standard_normal(nh * (ni + 1)) * sigma0, xp)
    theta = xp.concat([xp.reshape(W1, (-1,)), W2]) + d
    W1s, W2s = split_theta(theta, ni, nh)
    return W1s, W2s, d


def perturb(W1, W2, sigma0, seed=0):
    """Student θ* + δθ0 with δθ0 ~ N(0, σ0² I_P); returns (W1s, W2s, δθ0).

    ``seed`` seeds ``numpy.random.default_rng``, as :func:`nearopt.sample_teacher` does: with the
    teacher's own seed, δW1 is proportional to W1* (a special, radial direction). Use another seed.
    """
    xp, W1, W2 = check_weights(W1, W2)
    sigma0 = check_nonneg(sigma0, "sigma0")
    rng(seed)  # validates the seed before anything is drawn
    W1s, W2s, d = _perturbation(xp, W1, W2, sigma0, seed)
    if not all_finite(W1s, xp) or not all_finite(W2s, xp):
        raise ValueError(f"sigma0 must keep the perturbed weights finite (σ0 ≲ 1e300), got {sigma0!r}")
    return W1s, W2s, d


def stability_limit(eigenvalues) -> float:
    """2 / λ_max: gradient descent on the quadratic model diverges for η above it."""
    lam = float(np.max(check_eigenvalues(eigenvalues)))
    return math.inf if lam <= 0 or lam < 2.0 / np.finfo(np.float64).max else 2.0 / lam


def _check_steps(steps):
    steps = check_int(steps, "steps", 0, MAX_STEPS)
    check_memory(F64 * 4.0 * (steps + 1), f"The loss history ({steps + 1} values)", reduce="steps")
    return steps


def descend(W1, W2, activation, X=None, sigma0=1e-3, lr=0.1, steps=1000, seed=0, eigenvalues=None,
            return_params=False):
    """Gradient descent θ_{n+1} = θ_n − η ∇L(θ_n) on the *real* network from θ* + δθ0, δθ0 ~ N(0, σ0² I).

    The teacher is (W1, W2).  Batch loss on X, or the exact population loss (``X=None``).  Returns the
    losses L(θ_0), …, L(θ_steps) as a NumPy array of length steps + 1 (``inf`` from the first non-finite
    loss on: a diverging run).  Warns when η exceeds the stability limit 2/λ_max of the Hessian at the
    optimum (``eigenvalues`` may be passed to skip recomputing them).  At most :data:`MAX_STEPS` steps.
    """
    prob = resolve(W1, W2, activation, X)
    xp, act = prob.xp, prob.act
    lr = check_positive(lr, "lr")
    steps = _check_steps(steps)
    sigma0 = check_nonneg(sigma0, "sigma0")
    return_params = check_bool(return_params, "return_params")
    rng(seed)
    check_memory(loss_and_grad_bytes(prob, prob.n_hidden) + F64 * 4.0 * prob.P, "One descent step",
                 reduce="N (rows of X)" if X is not None else "n_hidden")
    if eigenvalues is None and prob.P <= STABILITY_CHECK_MAX_P:
        check_dense(prob.P, prob.N or 0, "The Hessian for descend's stability check")
        eigenvalues = xp.linalg.eigvalsh(hessian_of(prob))
    if eigenvalues is not None:
        limit = stability_limit(eigenvalues)
        if lr >= limit:
            warnings.warn(f"lr = {lr:g} is beyond the stability limit 2/λ_max = {limit:.4g}: gradient descent "
                          f"diverges along the top eigenvector; use lr < {limit:.4g}", RuntimeWarning, stacklevel=2)
    nh, ni = prob.n_hidden, prob.n_in
    W1s, W2s, _ = _perturbation(xp, prob.W1, prob.W2, sigma0, seed)
    T1, T2 = prob.W1, prob.W2
    losses = np.empty(steps + 1)
    theta = xp.concat([xp.reshape(W1s, (-1,)), W2s])
    for n in range(steps + 1):  # time steps are sequential by nature
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            L, g = loss_and_grad(prob, W1s, W2s, T1, T2, with_grad=n < steps)
            losses[n] = float(L)
            if not math.isfinite(losses[n]) or (g is not None and not bool(xp.all(xp.isfinite(g)))):
                losses[n if not math.isfinite(losses[n]) else n + 1:] = np.inf  # a diverging run
                break
            if n < steps:
                theta = theta - lr * g
                W1s, W2s = split_theta(theta, ni, nh)
    if return_params:
        return losses, (W1s, W2s)
    return losses


def _top_eigenvalue(prob, W1s, W2s):
    """λ_max of the Gauss–Newton matrix at the starting point (W1s, W2s): dense up to STABILITY_CHECK_MAX_P,
    else a few Lanczos steps on the batch operator (None for a large population problem)."""
    start = prob.with_weights(W1s, W2s)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if prob.P <= STABILITY_CHECK_MAX_P:
            check_dense(prob.P, prob.N or 0, "The Hessian for flow's stiffness check")
            return float(np.max(to_numpy(prob.xp.linalg.eigvalsh(hessian_of(start)))))
        if prob.X is None:
            return None
        from .operator import HessianOperator, slq
        nodes, _ = slq(HessianOperator(start), n_probes=1, n_steps=30, seed=0)
    return float(nodes.max()) * 1.1  # Lanczos approaches λ_max from below


def flow(W1, W2, activation, times, X=None, sigma0=1e-3, seed=0, rtol=1e-10, atol=1e-14):
    """Gradient flow dθ/dt = −∇L(θ) of the real network from θ* + δθ0, integrated with scipy's DOP853.

    Returns the losses at ``times`` (ascending, starting at ≥ 0) as a NumPy array.  An explicit integrator
    needs about t·λ_max steps, so t_final · λ_max (λ_max of the Hessian at the optimum) may be at most
    :data:`MAX_FLOW_STIFFNESS`; longer horizons are refused up front.
    """
    from scipy.integrate import solve_ivp
    prob = resolve(W1, W2, activation, X)
    xp = prob.xp
    times = np.reshape(check_array(times, "times", np), (-1,)) if np.ndim(times) <= 1 else None
    if times is None or times.size == 0 or np.any(np.diff(times) < 0) or times[0] < 0:
        raise ValueError("times must be a non-empty ascending 1-D array of finite non-negative numbers")
    check_memory(F64 * 4.0 * times.size * prob.P, f"flow's solution at {times.size} times (P = {prob.P})",
                 reduce="the number of times")
    sigma0 = check_nonneg(sigma0, "sigma0")
    rtol = check_real(rtol, "rtol", low=1e-15, high=1.0, high_open=True, allowed="a number in [1e-15, 1)")
    atol = check_real(atol, "atol", low=0.0, low_open=True, allowed="a finite number > 0")
    rng(seed)
    nh, ni = prob.n_hidden, prob.n_in
    W1s, W2s, _ = _perturbation(xp, prob.W1, prob.W2, sigma0, seed)
    lam = _top_eigenvalue(prob, W1s, W2s)
    if lam is not None and times[-1] * lam > MAX_FLOW_STIFFNESS:
        raise ValueError(f"times must end before t = {MAX_FLOW_STIFFNESS:.0e} / λ_max = "
                         f"{MAX_FLOW_STIFFNESS / lam:.4g} (t_final · λ_max ≤ {MAX_FLOW_STIFFNESS:.0e}, λ_max of the "
                         f"Hessian at the start: an explicit integrator needs about 2 t·λ_max gradient evaluations), "
                         f"got t_final = {times[-1]:.4g}")
    T1, T2 = prob.W1, prob.W2
    calls = [0]

    def rhs(t, th):
        calls[0] += 1
        if calls[0] > MAX_FLOW_EVALUATIONS:
            raise ValueError(f"flow needed more than {MAX_FLOW_EVALUATIONS} gradient evaluations; reduce the "
                             "final time or loosen rtol/atol")
        a, b = split_theta(asarray(th, xp), ni, nh)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            return -np.asarray(to_numpy(loss_and_grad(prob, a, b, T1, T2)[1]), dtype=np.float64)

    theta0 = np.asarray(to_numpy(xp.concat([xp.reshape(W1s, (-1,)), W2s])))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        g0 = rhs(0.0, theta0)
    calls[0] = 0
    check_finite_result(g0, "flow's initial gradient", prob.act, prob.W1, prob.W2, prob.X)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        sol = solve_ivp(rhs, (0.0, float(times[-1])), theta0, method="DOP853", t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise ValueError(f"flow could not integrate to t = {times[-1]:.4g} at these weights ({sol.message}); "
                         "reduce the final time, sigma0 or the weights' magnitude")
    out = np.empty(times.size)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i in range(times.size):
            a, b = split_theta(asarray(sol.y[:, i], xp), ni, nh)
            out[i] = float(loss_and_grad(prob, a, b, T1, T2, with_grad=False)[0])
    return check_finite_result(out, "flow's loss", prob.act, prob.W1, prob.W2, prob.X)


def _chunked_sum(n_rows, n_cols, what, reduce, fn):
    """Evaluate fn(rows slice) → (k,) results in row chunks whose (k, n_cols) temporaries fit the budget."""
    per_row = F64 * 4.0 * max(n_cols, 1)
    fixed = F64 * 4.0 * n_rows  # the result, the converted input and the validation's temporaries
    check_memory(fixed + per_row, what, reduce=reduce)
    rows = int(max(1, min(n_rows, (memory_budget() - fixed) // per_row, 1 << 16)))
    out = np.empty(n_rows)
    for start in range(0, n_rows, rows):
        out[start:start + rows] = fn(slice(start, start + rows))
    return out


def quadratic_loss(eigenvalues, coefficients, t=None, steps=None, lr=None):
    """Quadratic-model loss L = ½ Σ λ_k c_k² e^{−2λ_k t} (flow, times ``t``) or
    ½ Σ λ_k c_k² (1 − ηλ_k)^{2n} (gradient descent, ``steps`` = n values, step ``lr`` = η).

    A growing mode (negative λ under flow, |1 − ηλ| > 1 under descent) whose loss exceeds float64 gives ``inf``,
    the same convention as a diverging :func:`descend`.
    """
    lam = check_eigenvalues(eigenvalues)
    c = check_array(host(coefficients, "coefficients"), "coefficients", np)
    if c.shape != lam.shape:
        raise ValueError(f"coefficients must have the shape of eigenvalues {lam.shape}, got shape {c.shape}")
    if (t is None) == (steps is None):
        raise ValueError("give exactly one of t (gradient flow times) or steps (gradient descent steps)")
    name, values = ("t", t) if t is not None else ("steps", steps)
    n_rows = int(np.size(values)) if not isinstance(values, (str, bytes)) else 1
    what = f"quadratic_loss at {n_rows} {'times' if t is not None else 'step counts'}"
    check_memory(F64 * 4.0 * (n_rows + 1) + F64 * 4.0 * lam.size, what, reduce=f"the number of {name} values")
    lr = None if t is not None else check_positive(lr, "lr")
    x = check_array(values, name, np)
    # numerically zero modes (|λ| ≤ λ_max·P·ε, e.g. −1e-16) are exact zero modes: they cost no loss
    lam = np.where(np.abs(lam) <= numerical_rank(lam).tol, 0.0, lam)
    with np.errstate(over="ignore", under="ignore"):
        weight = lam * c ** 2
    if not np.all(np.isfinite(weight)):
        raise ValueError("coefficients must keep λ_k c_k² within float64 (|c_k| ≲ 1e150 / √λ_k), got an overflow")
    shape, flat = x.shape, np.reshape(x, (-1,))
    f = None if t is not None else np.abs(1.0 - lr * lam)

    def rows(s):
        v = flat[s]
        if f is None:
            return 0.5 * np.sum(np.where(weight == 0.0, 0.0, weight * np.exp(-2.0 * np.multiply.outer(v, lam))),
                                axis=-1)
        if float(v.min()) < 0 or not np.array_equal(v, np.floor(v)):
            raise ValueError("steps must be non-negative integers (a number or an array of them)")
        terms = weight * np.power(f, 2.0 * v[:, None])
        return 0.5 * np.sum(np.where(weight == 0.0, 0.0, terms), axis=-1)  # a silent mode costs nothing

    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = _chunked_sum(flat.size, lam.size, what, f"the number of {name} values", rows)
    return out.reshape(shape) if shape else float(out[0])


def expected_loss(eigenvalues, sigma0, t):
    """E L(t) = (σ0²/2) Σ_k λ_k e^{−2λ_k t} for δθ0 ~ N(0, σ0² I)."""
    sigma0 = check_nonneg(sigma0, "sigma0")
    lam = check_eigenvalues(eigenvalues)
    return quadratic_loss(lam, np.full(lam.shape, sigma0), t=t)


def late_time_rate(eigenvalues, lr=None, tol=None) -> float:
    """Asymptotic decay rate r of the loss, L ∝ e^{−r t} (flow) or per step (descent).

    Flow: r = 2 λ_min⁺.  Descent with step η: r = min over nonzero λ of −2 log|1 − ηλ| (usually
    2|log(1 − ηλ_min⁺)| ≈ 2ηλ_min⁺).  Zero modes are excluded using :func:`numerical_rank`'s tolerance.
    """
    lam = check_eigenvalues(eigenvalues)
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
    prob = resolve(W1, W2, activation, X)
    xp = prob.xp
    steps = _check_steps(steps)
    sigma0 = check_nonneg(sigma0, "sigma0")
    lr = check_positive(lr, "lr")
    rng(seed)
    check_dense(prob.P, prob.N or 0, "The Hessian and eigenvectors of predict_descent")
    lam, V = xp.linalg.eigh(hessian_of(prob))
    _, _, d = _perturbation(xp, prob.W1, prob.W2, sigma0, seed)
    c = V.T @ d
    return quadratic_loss(lam, c, steps=np.arange(steps + 1, dtype=np.float64), lr=lr), to_numpy(lam)


def fit_rate(losses, start=None, stop=None, dt=1.0) -> float:
    """Measured decay rate: minus the least-squares slope of log L over [start, stop) (steps × dt)."""
    L = np.reshape(check_array(losses, "losses", np, finite=False), (-1,))
    start = None if start is None else check_int(start, "start", minimum=None)
    stop = None if stop is None else check_int(stop, "stop", minimum=None)
    dt = check_positive(dt, "dt")
    s = slice(start, stop)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(L[s])
    x = np.arange(L.size, dtype=np.float64)[s] * dt
    ok = np.isfinite(y)
    if ok.sum() < 2:
        raise ValueError("losses must hold at least two positive finite values in the window [start, stop)")
    x, y = x[ok], y[ok]
    xm = x - x.mean()
    slope = float(np.sum(xm * (y - y.mean())) / np.sum(xm * xm))  # least squares, no LAPACK call
    if not math.isfinite(slope):
        raise ValueError(f"dt must make the time axis representable, got {dt!r}")
    return -slope

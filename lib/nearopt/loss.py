"""Loss and gradient of the student against a teacher, on a batch or for the Gaussian population.

Batch: L = (1/2N) Σ_μ (y(x_μ) − y*(x_μ))², ∇L = Jᵀ r / N.  Population: L = ½ E[(y − y*)²] = ½ cᵀ Q c with
c = (W2, −W2*) and Q = E[g(u_i) g(u_k)] over all student and teacher units (Gaussian pair moments).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_bool, check_finite_result, check_teacher, resolve
from .backend import F64, check_memory
from .gauss_newton import features
from .moments import gaussian_moments, moments_bytes

__all__ = ["loss", "gradient", "population_loss_and_grad", "loss_and_grad", "loss_and_grad_bytes"]


def loss_and_grad_bytes(prob, n_teacher: int) -> float:
    """Peak bytes of one :func:`loss_and_grad` evaluation (features of student and teacher, moments)."""
    nh, ni = prob.n_hidden, prob.n_in
    if prob.X is None:
        n_all = nh + n_teacher
        return moments_bytes(n_all, n_all, ni, ("gg",), 1) + moments_bytes(n_all, nh, ni, ("gdx",), 1) \
            + F64 * 4.0 * prob.P
    return F64 * prob.N * (5.0 * nh + 2.0 * n_teacher + 2.0) + F64 * 2.0 * prob.P


def loss_and_grad(prob, W1, W2, T1, T2, with_grad=True):
    """(L, ∇L) at the student (W1, W2) for the teacher (T1, T2) on ``prob``'s batch or population.

    No checks (internal entry point, also for the inner loops of :mod:`nearopt.dynamics`); non-finite values
    are returned as they come.
    """
    xp, act, X = prob.xp, prob.act, prob.X
    nh = W1.shape[0]
    if X is not None:
        n = X.shape[0]
        _, G, D = features(xp, act, W1, W2, X)
        r = G @ W2 - act.g(xp, X @ T1.T) @ T2
        L = 0.5 * xp.sum(r * r) / n
        if not with_grad:
            return L, None
        g1 = xp.reshape(((D * r[:, None]).T @ X) / n, (-1,))
        return L, xp.concat([g1, (G.T @ r) / n])
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
    Qc = gaussian_moments(xp, act, U, U, ("gg",))["gg"] @ c
    # ½ cᵀQc is a difference of terms of size |c|²|Q|: a negative result is rounding below the true L ≥ 0
    L = xp.clip(0.5 * xp.sum(c * Qc), 0.0, None)
    if not with_grad:
        return L, None
    g1 = W2[:, None] * gaussian_moments(xp, act, U, W1, ("gdx",), reduce_rows=c)["gdx"]
    return L, xp.concat([xp.reshape(g1, (-1,)), Qc[:nh]])


def _checked(W1, W2, activation, teacher, X, with_grad):
    prob = resolve(W1, W2, activation, X)
    T1, T2 = check_teacher(teacher, prob.n_in, prob.xp)
    check_memory(loss_and_grad_bytes(prob, T1.shape[0]), "The loss and gradient",
                 reduce="N (rows of X)" if X is not None else "n_hidden (student or teacher units)")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        L, g = loss_and_grad(prob, prob.W1, prob.W2, T1, T2, with_grad)
    check_finite_result(L, "The loss", prob.act, prob.W1, prob.W2, prob.X)
    if g is not None:
        check_finite_result(g, "The gradient", prob.act, prob.W1, prob.W2, prob.X)
    return L, g


def loss(W1, W2, activation, teacher, X=None):
    """L = (1/2N) Σ (y − y*)² on a batch, or ½ E[(y − y*)²] = ½ cᵀ Q c for the population, where
    c = (W2, −W2*) and Q = E[g(u_i) g(u_k)] over all student and teacher units."""
    return _checked(W1, W2, activation, teacher, X, False)[0]


def gradient(W1, W2, activation, teacher, X=None):
    """∇θ L as a flat vector in θ order (batch: Jᵀ r / N; population: pair moments)."""
    return _checked(W1, W2, activation, teacher, X, True)[1]


def population_loss_and_grad(W1, W2, activation, teacher, with_grad=True):
    """Population loss ½ cᵀQc and its gradient: ∂L/∂W2[i] = (Qc)[i],
    ∂L/∂W1[i] = W2[i] Σ_k c_k E[g(u_k) g'(u_i) x]."""
    return _checked(W1, W2, activation, teacher, None, check_bool(with_grad, "with_grad"))

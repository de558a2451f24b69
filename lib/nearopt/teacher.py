"""Teacher networks, inputs, and the model y(x) = W2 · g(W1 x).

Parameter vector θ = (vec(W1) row-major, W2): entry ``j*Ni + k`` is W1[j, k] and entry
``Nh*Ni + j`` is W2[j]; P = Nh (Ni + 1).
"""
from __future__ import annotations

import math

import numpy as np

from ._validation import (check_array, check_choice, check_finite_result, check_nonneg, check_real, check_size,
                          check_weights, resolve, rng)
from .backend import F64, asarray, check_memory, default_namespace, namespace

__all__ = ["sample_teacher", "sample_inputs", "forward", "n_params", "flatten", "unflatten", "split_theta",
           "INPUT_DISTRIBUTIONS"]

INPUT_DISTRIBUTIONS = ("gaussian", "uniform", "rademacher", "student-t", "sparse")

#: temporaries of sample_inputs per entry: the float64 draw, a mask/second draw and the result
_SAMPLE_COPIES = 3


def sample_teacher(n_in, n_hidden, seed=0, w1_var=None, w2_var=None, xp=None):
    """Teacher weights W1 (Nh × Ni) ~ N(0, σ1²), W2 (Nh,) ~ N(0, σ2²); defaults σ1² = 1/Ni, σ2² = 1/Nh.

    Reproducible from ``seed`` (NumPy's PCG64, so identical on every backend). Every sampler of the
    library (:func:`sample_inputs`, :func:`nearopt.perturb`, the ``seed`` of :func:`nearopt.descend`)
    draws from ``numpy.random.default_rng(seed)``: the same integer seed gives the same standard-normal
    stream, so a perturbation or a batch drawn with the teacher's own seed is aligned with the teacher
    (δW1 ∝ W1*, the first Nh inputs ∝ the rows of W1*). Use different seeds for teacher and draws.
    """
    n_in = check_size(n_in, "n_in")
    n_hidden = check_size(n_hidden, "n_hidden")
    w1_var = 1.0 / n_in if w1_var is None else check_nonneg(w1_var, "w1_var")
    w2_var = 1.0 / n_hidden if w2_var is None else check_nonneg(w2_var, "w2_var")
    gen = rng(seed)
    check_memory(F64 * 2.0 * n_hidden * (n_in + 1), f"sample_teacher ({n_hidden} × {n_in} weights)",
                 reduce="n_in or n_hidden")
    W1 = gen.standard_normal((n_hidden, n_in)) * math.sqrt(w1_var)
    W2 = gen.standard_normal(n_hidden) * math.sqrt(w2_var)
    xp = default_namespace() if xp is None else xp
    return asarray(W1, xp), asarray(W2, xp)


def sample_inputs(n_samples, n_in, dist="gaussian", seed=0, df=3.0, density=0.1, xp=None):
    """N inputs of dimension Ni, iid entries of zero mean and unit variance.

    ``dist``: ``"gaussian"`` N(0,1); ``"uniform"`` U(−√3, √3); ``"rademacher"`` ±1;
    ``"student-t"`` t_df/√(df/(df−2)) (heavy tails, df > 2); ``"sparse"`` Bernoulli(density)·N(0, 1/density).
    The same integer ``seed`` as :func:`sample_teacher` gives the same normal stream (see there).
    """
    n_samples = check_size(n_samples, "n_samples")
    n_in = check_size(n_in, "n_in")
    check_choice(dist, "dist", INPUT_DISTRIBUTIONS)
    if dist == "student-t":
        df = check_real(df, "df", low=2.0, low_open=True, allowed="> 2 (a unit-variance Student-t)")
    if dist == "sparse":
        density = check_real(density, "density", low=0.0, high=1.0, low_open=True,
                             allowed="in (0, 1]")
    gen = rng(seed)
    check_memory(F64 * _SAMPLE_COPIES * n_samples * n_in, f"sample_inputs ({n_samples} × {n_in})",
                 reduce="n_samples or n_in")
    shape = (n_samples, n_in)
    if dist == "gaussian":
        X = gen.standard_normal(shape)
    elif dist == "uniform":
        X = gen.uniform(-math.sqrt(3.0), math.sqrt(3.0), shape)
    elif dist == "rademacher":
        X = gen.choice(np.array([-1.0, 1.0]), size=shape)
    elif dist == "student-t":
        X = gen.standard_t(df, shape)
        X /= math.sqrt(df / (df - 2.0))
    else:
        X = gen.standard_normal(shape)
        X *= gen.random(shape) < density
        X /= math.sqrt(density)
    xp = default_namespace() if xp is None else xp
    return asarray(X, xp)


def n_params(n_in, n_hidden) -> int:
    """P = Nh (Ni + 1)."""
    return check_size(n_hidden, "n_hidden") * (check_size(n_in, "n_in") + 1)


def flatten(W1, W2):
    """θ = (vec(W1) row-major, W2)."""
    xp, W1, W2 = check_weights(W1, W2)
    return xp.concat([xp.reshape(W1, (-1,)), W2])


def unflatten(theta, n_in, n_hidden):
    """Inverse of :func:`flatten`: θ of length P = Nh (Ni + 1) → (W1 (Nh × Ni), W2 (Nh,))."""
    n_in = check_size(n_in, "n_in")
    n_hidden = check_size(n_hidden, "n_hidden")
    theta = check_array(theta, "theta", ndim=1, finite=False)
    P = n_hidden * (n_in + 1)
    if theta.shape[0] != P:
        raise ValueError(f"theta must have length P = n_hidden (n_in + 1) = {P}, got length {theta.shape[0]}")
    return split_theta(theta, n_in, n_hidden)


def split_theta(theta, n_in: int, n_hidden: int):
    """:func:`unflatten` without checks (internal: θ already validated)."""
    xp = namespace(theta)
    W1 = xp.reshape(theta[: n_hidden * n_in], (n_hidden, n_in))
    return W1, theta[n_hidden * n_in:]


def forward(W1, W2, activation, X):
    """y(x_μ) = Σ_j W2[j] g(W1[j]·x_μ) for every row of X."""
    if X is None:
        raise ValueError("X must be a 2-D array of shape (N, n_in), got None")
    prob = resolve(W1, W2, activation, X)
    N = prob.N
    check_memory(F64 * 2.0 * N * prob.n_hidden, f"forward (N = {N}, Nh = {prob.n_hidden})", reduce="N (rows of X)")
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        y = prob.act.g(prob.xp, prob.X @ prob.W1.T) @ prob.W2
    return check_finite_result(y, "forward", prob.act, prob.W1, prob.W2, prob.X)



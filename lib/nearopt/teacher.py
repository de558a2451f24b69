"""Teacher networks, inputs, and the model y(x) = W2 · g(W1 x).

Parameter vector θ = (vec(W1) row-major, W2): entry ``j*Ni + k`` is W1[j, k] and entry
``Nh*Ni + j`` is W2[j]; P = Nh (Ni + 1).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .activations import get_activation
from .backend import asarray, default_namespace, namespace

__all__ = [
    "sample_teacher", "sample_inputs", "forward", "n_params", "flatten", "unflatten",
    "INPUT_DISTRIBUTIONS", "check_size",
]

INPUT_DISTRIBUTIONS = ("gaussian", "uniform", "rademacher", "student-t", "sparse")


def check_size(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum``, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer() \
                and value >= minimum:
            return int(value)
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")
    return int(value)


def check_nonneg(value, name: str, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0; got {value!r}")
    return float(value)


def check_positive(value, name: str):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer, a numpy Generator or None; got {seed!r}")
    return np.random.default_rng(seed)


def sample_teacher(n_in, n_hidden, seed=0, w1_var=None, w2_var=None, xp=None):
    """Teacher weights W1 (Nh × Ni) ~ N(0, σ1²), W2 (Nh,) ~ N(0, σ2²); defaults σ1² = 1/Ni, σ2² = 1/Nh.

    Reproducible from ``seed`` (NumPy's PCG64, so identical on every backend).
    """
    n_in = check_size(n_in, "n_in")
    n_hidden = check_size(n_hidden, "n_hidden")
    w1_var = 1.0 / n_in if w1_var is None else check_nonneg(w1_var, "w1_var")
    w2_var = 1.0 / n_hidden if w2_var is None else check_nonneg(w2_var, "w2_var")
    rng = _rng(seed)
    W1 = rng.standard_normal((n_hidden, n_in)) * math.sqrt(w1_var)
    W2 = rng.standard_normal(n_hidden) * math.sqrt(w2_var)
    xp = default_namespace() if xp is None else xp
    return asarray(W1, xp), asarray(W2, xp)


def sample_inputs(n_samples, n_in, dist="gaussian", seed=0, df=3.0, density=0.1, xp=None):
    """N inputs of dimension Ni, iid entries of zero mean and unit variance.

    ``dist``: ``"gaussian"`` N(0,1); ``"uniform"`` U(−√3, √3); ``"rademacher"`` ±1;
    ``"student-t"`` t_df/√(df/(df−2)) (heavy tails, df > 2); ``"sparse"`` Bernoulli(density)·N(0, 1/density).
    """
    n_samples = check_size(n_samples, "n_samples")
    n_in = check_size(n_in, "n_in")
    rng = _rng(seed)
    shape = (n_samples, n_in)
    if dist == "gaussian":
        X = rng.standard_normal(shape)
    elif dist == "uniform":
        X = rng.uniform(-math.sqrt(3.0), math.sqrt(3.0), shape)
    elif dist == "rademacher":
        X = rng.choice(np.array([-1.0, 1.0]), size=shape)
    elif dist == "student-t":
        df = float(df)
        if not df > 2:
            raise ValueError(f"df must be > 2 for a unit-variance Student-t; got {df!r}")
        X = rng.standard_t(df, shape) / math.sqrt(df / (df - 2.0))
    elif dist == "sparse":
        density = float(density)
        if not 0 < density <= 1:
            raise ValueError(f"density must be in (0, 1]; got {density!r}")
        X = (rng.random(shape) < density) * rng.standard_normal(shape) / math.sqrt(density)
    else:
        raise ValueError(f"dist must be one of {', '.join(INPUT_DISTRIBUTIONS)}; got {dist!r}")
    xp = default_namespace() if xp is None else xp
    return asarray(X, xp)


def _finite(xp, A, name):
    if not bool(xp.all(xp.isfinite(A))):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")


def check_weights(W1, W2):
    """Validate shapes and values; returns (xp, W1, W2) as float64 arrays."""
    if W1 is None or W2 is None:
        raise ValueError("W1 and W2 must be arrays, got None")
    xp = namespace(W1, W2) if not isinstance(W1, (list, tuple)) else namespace(W2)
    W1 = asarray(W1, xp)
    W2 = asarray(W2, xp)
    if W1.ndim != 2 or W1.shape[0] < 1 or W1.shape[1] < 1:
        raise ValueError(f"W1 must be a 2-D array of shape (n_hidden, n_in); got shape {tuple(W1.shape)}")
    if W2.ndim != 1 or W2.shape[0] != W1.shape[0]:
        raise ValueError(
            f"W2 must be a 1-D array of length n_hidden = W1.shape[0] = {W1.shape[0]}; got shape {tuple(W2.shape)}")
    _finite(xp, W1, "W1")
    _finite(xp, W2, "W2")
    return xp, W1, W2


def check_inputs(X, n_in, xp):
    """Validate a batch of inputs X (N × Ni)."""
    X = asarray(X, xp)
    if X.ndim != 2 or X.shape[1] != n_in or X.shape[0] < 1:
        raise ValueError(f"X must be a 2-D array of shape (N, n_in) with n_in = {n_in}, N ≥ 1; "
                         f"got shape {tuple(X.shape)}")
    _finite(xp, X, "X")
    return X


def n_params(n_in, n_hidden) -> int:
    """P = Nh (Ni + 1)."""
    return check_size(n_hidden, "n_hidden") * (check_size(n_in, "n_in") + 1)


def flatten(W1, W2):
    """θ = (vec(W1) row-major, W2)."""
    xp = namespace(W1, W2)
    return xp.concat([xp.reshape(W1, (-1,)), W2])


def unflatten(theta, n_in, n_hidden):
    """Inverse of :func:`flatten`."""
    xp = namespace(theta)
    W1 = xp.reshape(theta[: n_hidden * n_in], (n_hidden, n_in))
    return W1, theta[n_hidden * n_in:]


def forward(W1, W2, activation, X):
    """y(x_μ) = Σ_j W2[j] g(W1[j]·x_μ) for every row of X."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    X = check_inputs(X, W1.shape[1], xp)
    return act.g(xp, X @ W1.T) @ W2

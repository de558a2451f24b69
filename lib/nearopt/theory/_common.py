"""Shared pieces of :mod:`nearopt.theory`: parameter checks, the RNG keyword, output shaping and the two
numerical kernels (vectorised bisection, composite Gauss–Legendre) the laws use."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import check_array, check_int, check_positive, check_real, describe, rng
from ..backend import F64, check_memory

# Positive parameters must be normal float64 numbers: a subnormal scale or df makes scipy's quantile
# NaN and every density overflow.
TINY = float(np.finfo(np.float64).tiny)
# Sizes above 2**53 are not exactly representable as float64 (the laws divide them).
MAX_COUNT = 2 ** 53
# Bytes per sample of the samplers and per point of the elementwise methods (a generous multiple of 8:
# the bisection keeps about ten float64 work arrays of the output's size).
WORK_BYTES_PER_POINT = 16 * F64


def positive_finite(name, value, maximum=None):
    """A finite number > 0 that is a normal float64 (at least about 2.2e-308), at most ``maximum``."""
    v = check_positive(value, name)
    if maximum is not None and v > maximum:
        check_real(value, name, low=0.0, low_open=True, high=maximum)
    if v < TINY:
        raise ValueError(f"{name} must be a finite number ≥ {TINY:.3g} (the smallest normal float64), "
                         f"got {describe(value)}")
    return v


def finite(name, value):
    return check_real(value, name)


def positive_int(name, value, maximum=MAX_COUNT):
    """An integer >= 1; above ``maximum`` the message gives the whole range."""
    v = check_int(value, name, 1)
    return v if v <= maximum else check_int(value, name, 1, maximum)


def derived_finite(what, value, names):
    """Refuse parameters whose derived quantity (an edge, a mean, a variance) overflows float64."""
    if not math.isfinite(value):
        raise ValueError(f"{names} are too large: {what} overflows float64 (largest {np.finfo(float).max:.3g})")
    return value


def rng_from(seed=None, random_state=None):
    """The Generator for ``seed`` (the library's keyword: None, an integer >= 0 or a numpy Generator) or
    ``random_state`` (scipy's name, kept as an alias); both at once is a TypeError."""
    if seed is not None and random_state is not None:
        raise TypeError("pass seed or random_state (its scipy-compatible alias), not both")
    if random_state is None:
        return rng(seed)
    try:
        return rng(random_state)
    except ValueError as exc:
        raise ValueError("random_state" + str(exc)[len("seed"):]) from None


def sample_shape(size):
    """``size`` (None, an int >= 0 or a tuple of them) as a shape (None for a scalar draw), within the
    memory budget."""
    if size is None:
        return None
    items = size if isinstance(size, (tuple, list)) else (size,)
    allowed = "None, an integer >= 0 or a tuple of integers >= 0"
    shape = []
    for s in items:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or s < 0:
            raise (TypeError if not isinstance(s, numbers.Number) else ValueError)(
                f"size must be {allowed}, got {describe(size)}")
        shape.append(int(s))
    n = math.prod(shape)
    check_memory(float(min(n, 2 ** 1000)) * WORK_BYTES_PER_POINT, f"rvs(size={size!r})",
                 reduce="size (draw in several calls)")
    return tuple(shape) if isinstance(size, (tuple, list)) else shape[0]


def real_array(name, x, *, finite_only=False, nonempty=False, fixed_bytes=0.0):
    """``x`` as a float64 NumPy array of any shape (NaN and inf allowed unless ``finite_only``); complex or
    non-numeric input is refused; the work arrays of an elementwise method (``fixed_bytes`` plus
    ``WORK_BYTES_PER_POINT`` per point) must fit the memory budget."""
    a = check_array(x, name, np, finite=False)
    check_memory(fixed_bytes + float(a.size) * WORK_BYTES_PER_POINT,
                 f"evaluating a law at {a.size} points of {name}",
                 reduce=f"the size of {name} (evaluate it in chunks)")
    if nonempty and a.size == 0:
        raise ValueError(f"{name} must be a non-empty array of finite numbers, got size 0")
    if finite_only and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a non-empty array of finite numbers, got non-finite values")
    return a


def out(arr):
    """Return a 0-d result as a NumPy float64 scalar, otherwise the array."""
    arr = np.asarray(arr, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


def bisect(fun, lo, hi, target, iters=200, rtol=4e-16):
    """Vectorised bisection for increasing ``fun`` with fun(lo) <= target <= fun(hi);
    stops when every bracket is below ``rtol`` relative to its end (or after ``iters``)."""
    lo = np.array(lo, dtype=np.float64, copy=True)
    hi = np.array(hi, dtype=np.float64, copy=True)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = fun(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo <= rtol * np.maximum(np.abs(lo), np.abs(hi))):
            break
    return 0.5 * (lo + hi)


def gauss_legendre(n, panel=16):
    """Nodes and weights on [-1, 1]: plain Gauss–Legendre for n <= 64, else composite
    Gauss–Legendre with ``panel``-point rules on ceil(n/panel) equal panels.

    A single n-point rule costs O(n^2) (numpy) or an n x n banded eigenproblem
    (scipy), seconds for n ~ 10^4; the composite rule is O(n) and, for the smooth
    integrands here, exact to rounding once the panels resolve the chi-square peak."""
    if n <= 64:
        return np.polynomial.legendre.leggauss(n)
    k = -(-n // panel)
    t0, w0 = np.polynomial.legendre.leggauss(panel)
    edges = np.linspace(-1.0, 1.0, k + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    t = (mid[:, None] + half[:, None] * t0[None, :]).ravel()
    w = (half[:, None] * w0[None, :]).ravel()
    return t, w

"""Activation functions g with their first and second derivatives.

Names: ``"linear"`` (z), ``"quadratic"`` (z²), ``"cubic"`` (z³), ``"quartic"`` (z⁴) and ``"erf"``,
meaning g(z) = erf(z/√2) (the soft-committee convention, g'(z) = √(2/π) e^{-z²/2}).  Any polynomial is
given by its coefficients (:class:`Polynomial`), any other function by callables (:class:`Custom`).

Every method takes the array namespace ``xp`` first so that one code path serves NumPy, CuPy and the
array-API test backend.
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

from .backend import erf as _erf

__all__ = ["Activation", "Polynomial", "Erf", "Custom", "ACTIVATIONS", "get_activation"]


class Activation:
    """Base class: ``g(xp, z)``, ``dg(xp, z)``, ``d2g(xp, z)`` act elementwise on arrays of ``xp``."""

    name = "activation"
    #: polynomial coefficients (index k multiplies z**k) or None for non-polynomial activations
    coeffs = None

    @property
    def is_polynomial(self) -> bool:
        return self.coeffs is not None

    @property
    def degree(self):
        """Polynomial degree, or ``None`` if not a polynomial."""
        return None if self.coeffs is None else len(self.coeffs) - 1

    def quad_nodes(self, scale: float = 1.0) -> int:
        """Gauss–Hermite nodes per dimension for the population expectations.

        Exact for polynomials: the integrands have degree ≤ 2·deg ≤ 2K − 1 with K = deg + 1.  Otherwise
        K = 40·max(1, s)^{3/2} (at most 300), s the largest pre-activation standard deviation |w|: a
        sigmoid-like g(s z) gets steeper as s grows and Gauss–Hermite needs more nodes (measured for
        erf against its closed forms: about 1e-12 at s ≤ 1, 1e-9 at s ≈ 3.6).
        """
        if self.is_polynomial:
            return self.degree + 1
        return _capped_nodes(40, scale)

    def g(self, xp, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def dg(self, xp, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def d2g(self, xp, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


MAX_NODES = 300  # numpy's hermegauss overflows (non-finite weights) from about 380 nodes


def _capped_nodes(base, scale):
    """K = base·max(1, s)^{3/2} Gauss–Hermite nodes, at most :data:`MAX_NODES` (with a warning beyond)."""
    k = base * max(1.0, float(scale)) ** 1.5
    if not k <= MAX_NODES:  # also NaN/inf scales
        warnings.warn(f"pre-activation scale |w| = {float(scale):.3g} needs about {k:.3g} Gauss–Hermite nodes per "
                      f"dimension; using the maximum {MAX_NODES}: population expectations of this non-polynomial "
                      "activation may be inaccurate (smaller weights, or a closed form, avoid this)",
                      RuntimeWarning, stacklevel=4)
    return MAX_NODES if not k <= MAX_NODES else math.ceil(k)


def _horner(xp, coeffs, z):
    out = xp.zeros_like(z) + float(coeffs[-1])
    for c in coeffs[-2::-1]:
        out = out * z + float(c)
    return out


class Polynomial(Activation):
    """g(z) = Σ_k c_k z^k with ``coeffs = (c_0, c_1, …)``."""

    def __init__(self, coeffs, name=None):
        allowed = f"a non-empty 1-D sequence of at most {MAX_NODES} finite real numbers"
        try:
            c = np.asarray(coeffs)
        except (TypeError, ValueError):
            raise ValueError(f"coeffs must be {allowed}, got {coeffs!r}") from None
        if c.dtype.kind not in "biuf" or c.ndim != 1 or not 1 <= c.size <= MAX_NODES \
                or not np.all(np.isfinite(c)):
            shown = repr(coeffs) if c.size <= 8 else f"an array of shape {c.shape}"
            raise ValueError(f"coeffs must be {allowed}, got {shown}")
        c = c.astype(np.float64)
        nz = np.flatnonzero(c)
        if nz.size == 0:
            raise ValueError("coeffs must have at least one nonzero coefficient (g = 0 has no Hessian)")
        self.coeffs = c[: nz[-1] + 1]
        self.name = name or "polynomial" + str(tuple(float(v) for v in self.coeffs))

    @property
    def degrees(self):
        """Degrees with a nonzero coefficient."""
        return tuple(int(k) for k in np.flatnonzero(self.coeffs))

    @property
    def is_homogeneous(self) -> bool:
        return len(self.degrees) == 1

    def _deriv(self, n):
        c = self.coeffs
        for _ in range(n):
            c = c[1:] * np.arange(1, len(c)) if len(c) > 1 else np.zeros(1)
        return c

    def g(self, xp, z):
        return _horner(xp, self.coeffs, z)

    def dg(self, xp, z):
        return _horner(xp, self._deriv(1), z)

    def d2g(self, xp, z):
        return _horner(xp, self._deriv(2), z)

    def exact_coeffs(self):
        """Coefficients as exact fractions (floats are dyadic rationals)."""
        return [Fraction(float(v)) for v in self.coeffs]

    def __eq__(self, other):
        return isinstance(other, Polynomial) and np.array_equal(self.coeffs, other.coeffs)

    def __hash__(self):
        return hash(("poly", tuple(self.coeffs)))


class Erf(Activation):
    """g(z) = erf(z/√2); g'(z) = √(2/π) e^{−z²/2}; g''(z) = −z g'(z)."""

    name = "erf"

    def g(self, xp, z):
        return _erf(z / math.sqrt(2.0), xp)

    def dg(self, xp, z):
        return math.sqrt(2.0 / math.pi) * xp.exp(-0.5 * z * z)

    def d2g(self, xp, z):
        return -z * self.dg(xp, z)

    def __eq__(self, other):
        return isinstance(other, Erf)

    def __hash__(self):
        return hash("erf")


class Custom(Activation):
    """A user activation from callables ``g, dg, d2g`` applied elementwise to arrays.

    The callables receive arrays of the computation's namespace (NumPy arrays on the CPU).
    Population expectations use 2-D Gauss–Hermite quadrature with ``nodes`` points per dimension.
    """

    def __init__(self, g, dg, d2g, name="custom", nodes=40):
        for label, f in (("g", g), ("dg", dg), ("d2g", d2g)):
            if not callable(f):
                raise TypeError(f"{label} must be callable, got {type(f).__name__}")
        if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)) or not 2 <= nodes <= MAX_NODES:
            raise ValueError(f"nodes must be an integer in [2, {MAX_NODES}], got {nodes!r}")
        self._g, self._dg, self._d2g = g, dg, d2g
        self.name = str(name)
        self._nodes = int(nodes)

    def quad_nodes(self, scale: float = 1.0):
        return _capped_nodes(self._nodes, scale)

    def _call(self, xp, f, label, z):
        """``f(z)`` checked: a real array of z's shape (a scalar is broadcast), else a clear error."""
        try:
            out = f(z)
        except Exception as exc:
            raise ValueError(f"the custom activation {self.name!r}: {label}(z) raised "
                             f"{type(exc).__name__}: {exc}") from exc
        if isinstance(out, (int, float, np.integer, np.floating)) and not isinstance(out, bool):
            out = xp.zeros_like(z) + float(out)
        shape = getattr(out, "shape", None)
        kind = np.dtype(out.dtype).kind if hasattr(out, "dtype") and hasattr(out.dtype, "kind") else "f"
        if shape is None or tuple(shape) != tuple(z.shape) or kind not in "biuf":
            what = type(out).__name__ if shape is None else f"shape {tuple(shape)}, dtype {out.dtype}"
            raise ValueError(f"the custom activation {self.name!r}: {label} must return a real array of the "
                             f"input's shape {tuple(z.shape)}, got {what}")
        return out if kind == "f" else xp.asarray(out, dtype=xp.float64)

    def g(self, xp, z):
        return self._call(xp, self._g, "g", z)

    def dg(self, xp, z):
        return self._call(xp, self._dg, "dg", z)

    def d2g(self, xp, z):
        return self._call(xp, self._d2g, "d2g", z)


ACTIVATIONS = ("linear", "quadratic", "cubic", "quartic", "erf")

_NAMED = {
    "linear": lambda: Polynomial([0.0, 1.0], name="linear"),
    "quadratic": lambda: Polynomial([0.0, 0.0, 1.0], name="quadratic"),
    "cubic": lambda: Polynomial([0.0, 0.0, 0.0, 1.0], name="cubic"),
    "quartic": lambda: Polynomial([0.0, 0.0, 0.0, 0.0, 1.0], name="quartic"),
    "erf": Erf,
}


def get_activation(activation) -> Activation:
    """Resolve a name from :data:`ACTIVATIONS`, an :class:`Activation`, or a coefficient sequence."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in _NAMED:
            raise ValueError(
                f"activation must be one of {', '.join(repr(a) for a in ACTIVATIONS)}, a nearopt "
                f"Activation (Polynomial, Custom) or a list of polynomial coefficients, got {activation!r}")
        return _NAMED[key]()
    if isinstance(activation, (list, tuple, np.ndarray)):
        return Polynomial(activation)
    raise TypeError(
        f"activation must be one of {', '.join(repr(a) for a in ACTIVATIONS)}, a nearopt Activation "
        f"or a list of polynomial coefficients, got {type(activation).__name__}")

"""The Marchenko–Pastur law, with scipy's ``loc``/``scale`` convention (Chapter 2, eq. ch2-mp-law)."""
from __future__ import annotations

import math

import numpy as np

from ._common import bisect, derived_finite, finite, out, positive_finite, real_array, rng_from, sample_shape

__all__ = ["MarchenkoPastur", "ShiftedMarchenkoPastur"]

# Below this ratio the closed-form CDF loses about eps/q to cancellation (1e-12 at q = 1e-4); a series in
# sqrt(q) takes over there (the closed form is kept, unchanged, everywhere else).
SERIES_RATIO = 1e-4
SERIES_TERMS = 10


class MarchenkoPastur:
    """Marchenko–Pastur law with ratio ``q``, scale ``s`` and location ``loc`` (Chapter 2, eq. ch2-mp-law).

    ``MarchenkoPastur(q, s, loc)`` is the law of ``loc + s * Y`` with ``Y ~ MP(q, 1)``, as in
    ``scipy.stats``.  With ``loc = 0`` it is the limit law of the eigenvalues of ``W1^T W1`` (``W1``
    Nh x Ni, iid ``N(0, sigma1^2)``) with ``q = Ni/Nh`` and ``s = Nh sigma1^2``; with ``loc = ||W2||^2``
    it is the nonzero Hessian spectrum of one linear network (Chapter 2, eq. ch2-linear-law).
    Continuous part on ``[loc + a, loc + b]``, ``a = s(1-sqrt q)^2``, ``b = s(1+sqrt q)^2``::

        f(x) = sqrt((loc + b - x)(x - loc - a)) / (2 pi s q (x - loc)),

    plus, for ``q > 1``, an atom of mass ``atom = 1 - 1/q`` at ``loc``.  ``pdf`` returns the continuous
    part only (it integrates to ``1 - atom``); ``cdf`` includes the atom.  ``mean() = loc + s``,
    ``var() = s^2 q`` (atom included).

    The CDF is in closed form: with ``x = loc + s(1 + q - 2 sqrt(q) cos(phi))``,
    ``F_c = [(1+q) phi + 2 sqrt(q) sin(phi)
    - 2|1-q| arctan((1+sqrt q) tan(phi/2) / |1-sqrt q|)] / (2 pi q)`` (:meth:`continuous_cdf_angle`).

    Parameters must be finite, ``ratio`` and ``scale`` positive, and the edges and variance must be
    representable in float64 (otherwise ValueError).
    """

    def __init__(self, ratio, scale=1.0, loc=0.0):
        self.ratio = positive_finite("ratio", ratio)
        self.scale = positive_finite("scale", scale)
        self.loc = finite("loc", loc)
        q = self.ratio
        sq = math.sqrt(q)
        self.atom = max(0.0, 1.0 - 1.0 / q)
        self._sq = sq
        self._c = 1.0 + q            # centre of the unit-scale support
        self._r = 2.0 * sq           # half width of the unit-scale support
        names = "ratio, scale and loc"
        try:
            self._alpha = (1.0 - sq) ** 2
            self._beta = (1.0 + sq) ** 2
        except OverflowError:
            derived_finite("the unit-scale right edge (1 + sqrt(ratio))^2", math.inf, names)
        self._k_num = 1.0 + sq
        self._k_den = abs(1.0 - sq)
        self._abs1mq = abs(1.0 - q)
        derived_finite("the right edge loc + scale (1 + sqrt(ratio))^2", self.loc + self.scale * self._beta, names)
        derived_finite("the variance scale^2 ratio", self.scale * self.scale * self.ratio, names)
        derived_finite("2 pi (1 + ratio) in the closed-form CDF", 2.0 * np.pi * (1.0 + q), names)

    # -- geometry ---------------------------------------------------------
    @property
    def lower_edge(self):
        """Left edge ``loc + a`` of the continuous part."""
        return self.loc + self.scale * self._alpha

    @property
    def upper_edge(self):
        """Right edge ``loc + b`` of the continuous part."""
        return self.loc + self.scale * self._beta

    def support(self):
        """Convex hull of the support: ``(loc if atom else loc + a, loc + b)``."""
        lo = self.loc if self.atom > 0.0 else self.lower_edge
        return (float(lo), float(self.upper_edge))

    def atoms(self):
        """Point masses as ``((location, mass), ...)``: ``((loc, 1 - 1/q),)`` for ``q > 1``, else ``()``."""
        return ((self.loc, self.atom),) if self.atom > 0.0 else ()

    def __repr__(self):
        loc = f", loc={self.loc!r}" if self.loc != 0.0 else ""
        return f"{type(self).__name__}(ratio={self.ratio!r}, scale={self.scale!r}{loc})"

    # -- moments ----------------------------------------------------------
    def mean(self):
        """``E[X] = loc + s``."""
        return self.loc + self.scale

    def var(self):
        """``Var[X] = s^2 q``."""
        return self.scale ** 2 * self.ratio

    # -- densities --------------------------------------------------------
    def pdf(self, x):
        """Density of the continuous part (NaN for NaN input; it may exceed float64 near a hard edge)."""
        x = real_array("x", x)
        with np.errstate(over="ignore"):
            u = (x - self.loc) / self.scale
            inside = (u > self._alpha) & (u < self._beta)
            uu = np.where(inside, u, self._c)
            prod = np.maximum((self._beta - uu) * (uu - self._alpha), 0.0)
            val = np.sqrt(prod) / (2.0 * np.pi * self.ratio * uu)
            res = np.where(inside, val / self.scale, 0.0)
        return out(np.where(np.isnan(x), np.nan, res))

    def continuous_cdf_angle(self, phi, half_sin=None, half_cos=None):
        """Continuous-part CDF as a function of the angle ``phi`` in [0, pi] of
        ``x = loc + s(1 + q - 2 sqrt(q) cos(phi))``; ``half_sin``, ``half_cos`` = sin, cos of ``phi/2``
        when the caller already has them (the convolution quadrature of :class:`LinearSpectrumLaw`)."""
        if not (isinstance(phi, np.ndarray) and phi.dtype == np.float64):
            phi = real_array("phi", phi)
        if half_sin is not None and (np.shape(half_sin) != np.shape(phi) or np.shape(half_cos) != np.shape(phi)):
            raise ValueError(f"half_sin and half_cos must have the shape of phi {np.shape(phi)}, "
                             f"got {np.shape(half_sin)} and {np.shape(half_cos)}")
        if self.ratio < SERIES_RATIO:
            return np.clip(self._cdf_angle_series(phi), 0.0, 1.0)
        if half_sin is None:
            half_sin, half_cos = np.sin(0.5 * phi), np.cos(0.5 * phi)
        sh, ch = half_sin, half_cos
        at = np.arctan2(self._k_num * sh, self._k_den * ch)
        g = (self._c * phi + 2.0 * self._r * sh * ch - 2.0 * self._abs1mq * at) / (2.0 * np.pi * self.ratio)
        return np.clip(g, 0.0, 1.0 - self.atom)

    def _cdf_angle_series(self, phi):
        """The same CDF for small ``q``, where the closed form loses ``eps/q`` to cancellation:
        ``F = (2/pi) int_0^phi sin^2 / (1 + q - 2 sqrt(q) cos)``, expanded with the Poisson kernel
        ``1/(1 + q - 2 rho cos) = (1 + 2 sum_k rho^k cos k) / (1 - q)``, ``rho = sqrt(q)`` (``rho^k`` below
        1e-20 after ``SERIES_TERMS`` terms)."""
        rho = self._sq
        acc = 0.5 * phi - 0.25 * np.sin(2.0 * phi)
        for k in range(1, SERIES_TERMS + 1):
            m = k - 2
            back = np.sin(phi) if m == -1 else (phi if m == 0 else np.sin(m * phi) / m)
            acc = acc + rho ** k * (np.sin(k * phi) / k - 0.5 * np.sin((k + 2) * phi) / (k + 2) - 0.5 * back)
        return 2.0 * acc / (np.pi * (1.0 - self.ratio))

    def continuous_cdf(self, x):
        """``P(X <= x)`` without the atom: the closed form, from 0 to ``1 - atom``."""
        x = real_array("x", x)
        with np.errstate(over="ignore"):
            u = (x - self.loc) / self.scale
            cosphi = np.clip((self._c - u) / self._r, -1.0, 1.0)
        g = self.continuous_cdf_angle(np.arccos(cosphi))
        # exactly 1 - atom from the right edge on (the closed form can miss it by rounding for small q)
        return out(np.where(x >= self.upper_edge, 1.0 - self.atom, g))

    def _with_atom(self, x, left):
        x = real_array("x", x)
        res = np.asarray(self.continuous_cdf(x))
        if self.atom > 0.0:
            res = res + self.atom * ((x > self.loc) if left else (x >= self.loc))
        res = np.where(np.isnan(x), np.nan, res)
        return out(np.clip(res, 0.0, 1.0))

    def cdf(self, x):
        """``P(X <= x)``: atom at ``loc`` (if ``q > 1``) plus the closed-form continuous part."""
        return self._with_atom(x, left=False)

    def cdf_left(self, x):
        """Left limit ``P(X < x)`` (differs from ``cdf`` only at the atom)."""
        return self._with_atom(x, left=True)

    def ppf(self, p):
        """Quantile ``inf{x : F(x) >= p}``; exact inversion of the closed form by bisection
        (NaN outside [0, 1], as in scipy)."""
        p = real_array("p", p)
        target = np.clip(p - self.atom, 0.0, 1.0 - self.atom)
        pi = np.full(p.shape, np.pi)
        phi = bisect(self.continuous_cdf_angle, np.zeros(p.shape), pi, target, iters=80, rtol=0.0)
        u = self._alpha + 2.0 * self._r * np.sin(0.5 * phi) ** 2
        x = self.loc + self.scale * u
        if self.atom > 0.0:
            x = np.where(p <= self.atom, self.loc, x)
        else:
            x = np.where(p <= 0.0, self.lower_edge, x)
        x = np.where(p >= 1.0, self.upper_edge, x)
        x = np.where((p < 0.0) | (p > 1.0) | np.isnan(p), np.nan, x)
        return out(x)

    def rvs(self, size=None, seed=None, *, random_state=None):
        """Samples of the mixture (atom with probability ``atom``) by exact inversion.  ``seed``: None, an
        int or a numpy Generator; ``random_state`` is scipy's name for it."""
        rng = rng_from(seed, random_state)
        u = rng.random(sample_shape(size))
        return out(self.ppf(u))


class ShiftedMarchenkoPastur(MarchenkoPastur):
    """``MarchenkoPastur(ratio, scale, loc=shift)`` under its older name, with ``shift`` as an alias of
    ``loc``: the nonzero Hessian spectrum of one realisation with ``shift = ||W2||^2`` (Chapter 2,
    eq. ch2-linear-law); :meth:`LinearSpectrumLaw.realisation` returns one."""

    def __init__(self, ratio, scale, shift):
        super().__init__(ratio, scale, loc=finite("shift", shift))

    @property
    def shift(self):
        """The location ``loc`` (``||W2||^2`` for a realisation)."""
        return self.loc

    def __repr__(self):
        return (f"{type(self).__name__}(ratio={self.ratio!r}, scale={self.scale!r}, "
                f"shift={self.shift!r})")

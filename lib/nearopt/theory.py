"""Limiting spectral laws for the Hessian of a linear two-layer network.

For ``y = W2^T W1 x`` with ``W1`` (Nh x Ni) iid ``N(0, sigma1^2)``, ``W2`` (Nh,)
iid ``N(0, sigma2^2)`` and Gaussian inputs, the population Hessian at the
optimum has ``P - Ni`` zero eigenvalues and ``Ni`` nonzero ones,
``||W2||^2 + eig(W1^T W1)`` (Chapter 2, eq. ch2-linear-spectrum).  As the sizes grow
with ``q = Ni / Nh`` fixed, ``eig(W1^T W1)`` follows the Marchenko-Pastur law
with ratio ``q`` and scale ``s = Nh sigma1^2`` (Chapter 2, eq. ch2-mp-law), while
``||W2||^2 ~ sigma2^2 chi^2_Nh`` (Chapter 2, eq. ch2-w2-norm).  One realisation of
the nonzero spectrum is a shifted MP law; the ensemble law is the convolution
of the two (Chapter 2, eq. ch2-linear-law).

All classes follow a small ``scipy.stats``-like interface: ``pdf``, ``cdf``,
``cdf_left`` (left limit ``P(X < x)``), ``ppf``, ``rvs``, ``mean``, ``var`` and
``support``.  Everything is float64 and uses NumPy/SciPy only.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import special, stats

__all__ = [
    "MarchenkoPastur",
    "ShiftedMarchenkoPastur",
    "ScaledChi2",
    "LinearSpectrumLaw",
    "ks_distance",
]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------

def _as_real_scalar(name, value, allowed):
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None
    return v


def _positive_finite(name, value):
    allowed = "a positive finite number"
    v = _as_real_scalar(name, value, allowed)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def _finite(name, value):
    allowed = "a finite real number"
    v = _as_real_scalar(name, value, allowed)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def _positive_int(name, value):
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
            or int(value) <= 0):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _rng(random_state):
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, (numbers.Integral, np.random.SeedSequence,
                                 np.random.BitGenerator)) and not isinstance(random_state, bool):
        return np.random.default_rng(random_state)
    raise ValueError("random_state must be None, an int seed or a numpy.random.Generator, "
                     f"got {random_state!r}")


def _out(arr):
    """Return a 0-d result as a NumPy float64 scalar, otherwise the array."""
    arr = np.asarray(arr, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


def _bisect(fun, lo, hi, target, iters=200, rtol=4e-16):
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


# ---------------------------------------------------------------------------
# Marchenko-Pastur
# ---------------------------------------------------------------------------

class MarchenkoPastur:
    """Marchenko-Pastur law with ratio ``q`` and scale ``s`` (Chapter 2, eq. ch2-mp-law).

    Limit law of the eigenvalues of ``W1^T W1`` (``W1`` Nh x Ni, iid
    ``N(0, sigma1^2)``) with ``q = Ni/Nh`` and ``s = Nh sigma1^2``.
    Continuous part on ``[a, b]``, ``a = s(1-sqrt q)^2``, ``b = s(1+sqrt q)^2``::

        f(x) = sqrt((b - x)(x - a)) / (2 pi s q x),

    plus, for ``q > 1``, an atom of mass ``atom = 1 - 1/q`` at 0.  ``pdf``
    returns the continuous part only (it integrates to ``1 - atom``); ``cdf``
    includes the atom.  ``mean() = s``, ``var() = s^2 q`` (atom included).

    The CDF is in closed form: with ``x = s(1 + q - 2 sqrt(q) cos(phi))``,
    ``F_c = [(1+q) phi + 2 sqrt(q) sin(phi)
    - 2|1-q| arctan((1+sqrt q) tan(phi/2) / |1-sqrt q|)] / (2 pi q)``.
    """

    def __init__(self, ratio, scale=1.0):
        self.ratio = _positive_finite("ratio", ratio)
        self.scale = _positive_finite("scale", scale)
        self._loc = 0.0
        q = self.ratio
        sq = math.sqrt(q)
        self.atom = max(0.0, 1.0 - 1.0 / q)
        self._sq = sq
        self._c = 1.0 + q            # centre of the unit-scale support
        self._r = 2.0 * sq           # half width of the unit-scale support
        self._alpha = (1.0 - sq) ** 2
        self._beta = (1.0 + sq) ** 2
        self._k_num = 1.0 + sq
        self._k_den = abs(1.0 - sq)
        self._abs1mq = abs(1.0 - q)

    # -- geometry ---------------------------------------------------------
    @property
    def lower_edge(self):
        """Left edge ``a`` of the continuous part (shift included)."""
        return self._loc + self.scale * self._alpha

    @property
    def upper_edge(self):
        """Right edge ``b`` of the continuous part (shift included)."""
        return self._loc + self.scale * self._beta

    def support(self):
        """Convex hull of the support: ``(0 if atom else a, b)`` (plus shift)."""
        lo = self._loc if self.atom > 0.0 else self.lower_edge
        return (float(lo), float(self.upper_edge))

    def __repr__(self):
        return f"{type(self).__name__}(ratio={self.ratio!r}, scale={self.scale!r})"

    # -- moments ----------------------------------------------------------
    def mean(self):
        """``E[X] = s`` (plus shift)."""
        return self._loc + self.scale

    def var(self):
        """``Var[X] = s^2 q``."""
        return self.scale ** 2 * self.ratio

    # -- densities --------------------------------------------------------
    def pdf(self, x):
        """Density of the continuous part, ``sqrt((b-x)(x-a)) / (2 pi s q x)``."""
        x = np.asarray(x, dtype=np.float64)
        u = (x - self._loc) / self.scale
        inside = (u > self._alpha) & (u < self._beta)
        uu = np.where(inside, u, self._c)
        val = np.sqrt((self._beta - uu) * (uu - self._alpha)) / (2.0 * np.pi * self.ratio * uu)
        return _out(np.where(inside, val / self.scale, 0.0))

    def _cont_cdf_phi(self, phi, sh=None, ch=None):
        """Continuous-part CDF as a function of the angle ``phi`` in [0, pi]
        (``sh``, ``ch`` = sin, cos of ``phi/2`` when already known)."""
        if sh is None:
            sh, ch = np.sin(0.5 * phi), np.cos(0.5 * phi)
        at = np.arctan2(self._k_num * sh, self._k_den * ch)
        g = (self._c * phi + 2.0 * self._r * sh * ch - 2.0 * self._abs1mq * at) / (2.0 * np.pi * self.ratio)
        return np.clip(g, 0.0, 1.0 - self.atom)

    def _cont_cdf(self, x):
        u = (np.asarray(x, dtype=np.float64) - self._loc) / self.scale
        cosphi = np.clip((self._c - u) / self._r, -1.0, 1.0)
        return self._cont_cdf_phi(np.arccos(cosphi))

    def cdf(self, x):
        """``P(X <= x)``: atom at 0 (if ``q > 1``) plus the closed-form continuous part."""
        x = np.asarray(x, dtype=np.float64)
        res = self._cont_cdf(x)
        if self.atom > 0.0:
            res = res + self.atom * (x >= self._loc)
        res = np.where(np.isnan(x), np.nan, res)
        return _out(np.clip(res, 0.0, 1.0))

    def cdf_left(self, x):
        """Left limit ``P(X < x)`` (differs from ``cdf`` only at the atom)."""
        x = np.asarray(x, dtype=np.float64)
        res = self._cont_cdf(x)
        if self.atom > 0.0:
            res = res + self.atom * (x > self._loc)
        res = np.where(np.isnan(x), np.nan, res)
        return _out(np.clip(res, 0.0, 1.0))

    def ppf(self, p):
        """Quantile ``inf{x : F(x) >= p}``; exact inversion of the closed form by bisection."""
        p = np.asarray(p, dtype=np.float64)
        target = np.clip(p - self.atom, 0.0, 1.0 - self.atom)
        pi = np.full(p.shape, np.pi)
        phi = _bisect(self._cont_cdf_phi, np.zeros(p.shape), pi, target, iters=80, rtol=0.0)
        u = self._alpha + 2.0 * self._r * np.sin(0.5 * phi) ** 2
        x = self._loc + self.scale * u
        if self.atom > 0.0:
            x = np.where(p <= self.atom, self._loc, x)
        else:
            x = np.where(p <= 0.0, self.lower_edge, x)
        x = np.where(p >= 1.0, self.upper_edge, x)
        x = np.where((p < 0.0) | (p > 1.0) | np.isnan(p), np.nan, x)
        return _out(x)

    def rvs(self, size=None, random_state=None):
        """Samples of the mixture (atom with probability ``atom``) by exact inversion."""
        rng = _rng(random_state)
        u = rng.random(size)
        return _out(self.ppf(u))


class ShiftedMarchenkoPastur(MarchenkoPastur):
    """``MP(ratio, scale) + shift``: the nonzero Hessian spectrum of one realisation
    with ``shift = ||W2||^2`` (Chapter 2, eq. ch2-linear-law).

    Continuous part on ``[shift + a, shift + b]``; atom ``max(0, 1 - 1/q)`` at
    ``shift``; ``mean() = s + shift``, ``var() = s^2 q``.
    """

    def __init__(self, ratio, scale, shift):
        super().__init__(ratio, scale)
        self.shift = _finite("shift", shift)
        self._loc = self.shift

    def __repr__(self):
        return (f"{type(self).__name__}(ratio={self.ratio!r}, scale={self.scale!r}, "
                f"shift={self.shift!r})")


# ---------------------------------------------------------------------------
# scaled chi-square
# ---------------------------------------------------------------------------

class ScaledChi2:
    """Law of ``scale * chi^2_df`` (Chapter 2, eq. ch2-w2-norm), e.g. ``||W2||^2`` with
    ``df = Nh``, ``scale = sigma2^2``.  Wraps ``scipy.stats.chi2(df, scale=scale)``.

    ``mean() = df * scale``, ``var() = 2 df scale^2``, support ``[0, inf)``.
    """

    def __init__(self, df, scale):
        self.df = _positive_finite("df", df)
        self.scale = _positive_finite("scale", scale)
        self._dist = stats.chi2(self.df, scale=self.scale)

    def __repr__(self):
        return f"ScaledChi2(df={self.df!r}, scale={self.scale!r})"

    def support(self):
        return (0.0, math.inf)

    def mean(self):
        return self.df * self.scale

    def var(self):
        return 2.0 * self.df * self.scale ** 2

    def pdf(self, x):
        return _out(self._dist.pdf(np.asarray(x, dtype=np.float64)))

    def cdf(self, x):
        return _out(self._dist.cdf(np.asarray(x, dtype=np.float64)))

    cdf_left = cdf

    def ppf(self, p):
        return _out(self._dist.ppf(np.asarray(p, dtype=np.float64)))

    def rvs(self, size=None, random_state=None):
        rng = _rng(random_state)
        return _out(self.scale * rng.chisquare(self.df, size))


# ---------------------------------------------------------------------------
# ensemble law of a nonzero Hessian eigenvalue
# ---------------------------------------------------------------------------

class LinearSpectrumLaw:
    """Ensemble law of a nonzero Hessian eigenvalue of the linear network
    (Chapter 2, eq. ch2-linear-law)::

        X = C + M,  C ~ ScaledChi2(df=Nh, scale=sigma2^2),
                    M ~ MarchenkoPastur(ratio=Ni/Nh, scale=Nh sigma1^2),

        pdf(x) = atom f_C(x) + int_a^b f_C(x - m) f_MP(m) dm,
        cdf(x) = atom F_C(x) + int_a^b F_C(x - m) f_MP(m) dm.

    Defaults ``w1_var = 1/n_in``, ``w2_var = 1/n_hidden``; ``C`` and ``M`` are
    exposed as the attributes ``chi2`` and ``mp``, ``atom = max(0, 1 - Nh/Ni)``.
    ``mean() = Nh (sigma1^2 + sigma2^2)``, ``var() = 2 Nh sigma2^4 + s^2 q``.

    Quadrature: Gauss-Legendre in ``theta`` with ``m = a + (b-a)/2 (1 - cos
    theta)``, which removes the square-root edges of ``f_MP``; the cdf is
    integrated by parts so that it too only needs ``f_C``.  For large ``df``
    one fixed grid on ``[0, pi]`` serves every ``x``; for small ``df`` the range
    is cut at ``m = x`` (where ``f_C(x - m)`` starts) and ``theta = theta_x (1 -
    t^2)`` makes the ``y^(df/2-1)`` edge of ``f_C`` smooth in ``t``.  The node
    count (at least 200, at most 20000) grows like ``(b-a) / sd(C)`` so the
    chi-square peak is resolved (about 1e-12 accuracy); ``n_nodes`` overrides it.
    """

    _MAX_NODES = 20000
    _CHUNK = 65536      # nodes x points evaluated at once
    _KINK_TOL = 1e-16   # fixed-grid path if F_C(2 * max node spacing) is below this

    def __init__(self, n_in, n_hidden, w1_var=None, w2_var=None, *, n_nodes=None):
        self.n_in = _positive_int("n_in", n_in)
        self.n_hidden = _positive_int("n_hidden", n_hidden)
        self.w1_var = 1.0 / self.n_in if w1_var is None else _positive_finite("w1_var", w1_var)
        self.w2_var = 1.0 / self.n_hidden if w2_var is None else _positive_finite("w2_var", w2_var)
        self.chi2 = ScaledChi2(df=self.n_hidden, scale=self.w2_var)
        self.mp = MarchenkoPastur(ratio=self.n_in / self.n_hidden,
                                  scale=self.n_hidden * self.w1_var)
        self.atom = self.mp.atom
        a, b = self.mp.lower_edge, self.mp.upper_edge
        self._a, self._b = a, b
        h = self._h = 0.5 * (b - a)
        sd = math.sqrt(self.chi2.var())
        # Node spacing in m is at most ~ pi^2 h / (2 n) on the fixed grid (and
        # about as much on the cut grid); keeping it <= ~0.6 sd(C) resolves the
        # chi-square peak to ~1e-13.  The fixed grid over the whole support is
        # used when f_C is negligible within two spacings of its kink at y = 0
        # (large df); otherwise the range is cut at m = x.
        n_auto = int(min(self._MAX_NODES, max(200, math.ceil(9.0 * h / sd))))
        n_nodes = n_auto if n_nodes is None else _positive_int("n_nodes", n_nodes)
        max_spacing = 0.5 * math.pi ** 2 * h / n_nodes
        self._fixed = bool(self.chi2.cdf(2.0 * max_spacing) < self._KINK_TOL)
        self.n_nodes = n_nodes
        t, w = _gauss_legendre(n_nodes)
        if self._fixed:
            theta = 0.5 * np.pi * (t + 1.0)
            wt = 0.5 * np.pi * w
            sh, ch = np.sin(0.5 * theta), np.cos(0.5 * theta)
            m = a + 2.0 * h * sh * sh
            self._m = m
            # f_MP(m) dm = h^2 sin^2(theta) / (2 pi s q m) dtheta
            self._wpdf = wt * 4.0 * h * h * (sh * ch) ** 2 / (
                2.0 * np.pi * self.mp.scale * self.mp.ratio * m)
            # G(m) dm = G(theta) h sin(theta) dtheta
            self._wcdf = wt * self.mp._cont_cdf_phi(theta, sh, ch) * 2.0 * h * sh * ch
        else:
            self._t = 0.5 * (t + 1.0)      # nodes on [0, 1]
            self._w = 0.5 * w

    def __repr__(self):
        return (f"LinearSpectrumLaw(n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"w1_var={self.w1_var!r}, w2_var={self.w2_var!r})")

    def realisation(self, shift):
        """Law of the nonzero spectrum for one draw ``||W2||^2 = shift``."""
        return ShiftedMarchenkoPastur(self.mp.ratio, self.mp.scale, shift)

    def support(self):
        lo = 0.0 if self.atom > 0.0 else self._a
        return (float(lo), math.inf)

    def mean(self):
        """``Nh sigma2^2 + Nh sigma1^2``."""
        return self.chi2.mean() + self.mp.mean()

    def var(self):
        """``2 Nh sigma2^4 + s^2 q``."""
        return self.chi2.var() + self.mp.var()

    # -- convolution quadrature --------------------------------------------
    def _chi2_pdf(self, y):
        """Fast ``scale * chi^2_df`` density (0 for ``y <= 0``)."""
        k2 = 0.5 * self.chi2.df
        sc = self.chi2.scale
        pos = y > 0.0
        z = np.where(pos, y, 1.0) / sc
        logf = (k2 - 1.0) * np.log(z) - 0.5 * z - k2 * math.log(2.0) - special.gammaln(k2) - math.log(sc)
        return np.where(pos, np.exp(logf), 0.0)

    def _convolve(self, x, want_cdf):
        """Continuous-MP part of the convolution for a flat finite array ``x``.

        pdf: ``int_a^min(b,x) f_C(x-m) f_MP(m) dm``;
        cdf: ``int_a^b F_C(x-m) f_MP(m) dm
              = (1-atom) F_C(x-b) + int_a^min(b,x) f_C(x-m) G(m) dm``
        (integration by parts, ``G`` = closed-form continuous MP CDF), so both
        only need the cheap chi-square density.
        """
        out = np.empty_like(x)
        step = max(1, self._CHUNK // self.n_nodes)
        if self._fixed:
            wgt = self._wcdf if want_cdf else self._wpdf
            for i in range(0, x.size, step):
                xc = x[i:i + step]
                out[i:i + step] = self._chi2_pdf(xc[:, None] - self._m[None, :]) @ wgt
        else:
            a, h = self._a, self._h
            q, s = self.mp.ratio, self.mp.scale
            t, w = self._t, self._w
            for i in range(0, x.size, step):
                xc = x[i:i + step]
                cos_x = np.clip((a + h - xc) / h, -1.0, 1.0)
                theta_x = np.arccos(cos_x)[:, None]                 # cut at m = x
                theta = theta_x * (1.0 - t * t)[None, :]             # theta = theta_x (1 - t^2)
                dtheta = 2.0 * theta_x * t[None, :]
                sh = np.sin(0.5 * theta)
                ch = np.cos(0.5 * theta)
                m = a + 2.0 * h * sh * sh
                kern = self._chi2_pdf(xc[:, None] - m)
                if want_cdf:
                    # G(m) dm = G(theta) h sin(theta) dtheta
                    wgt = self.mp._cont_cdf_phi(theta, sh, ch) * (2.0 * h * sh * ch)
                else:
                    # f_MP(m) dm = h^2 sin^2(theta) / (2 pi s q m) dtheta
                    num = 4.0 * h * h * (sh * ch) ** 2
                    wgt = np.divide(num, 2.0 * np.pi * s * q * m, out=np.zeros_like(num),
                                    where=m > 0.0)
                out[i:i + step] = (kern * wgt * dtheta) @ w
        if want_cdf:
            out += (1.0 - self.atom) * self.chi2._dist.cdf(x - self._b)
        return out

    def _eval(self, x, want_cdf):
        x = np.asarray(x, dtype=np.float64)
        flat = x.ravel()
        bad = ~np.isfinite(flat)
        res = self._convolve(np.where(bad, 0.0, flat), want_cdf)
        if self.atom > 0.0:
            atom_part = self.chi2._dist.cdf(flat) if want_cdf else self.chi2._dist.pdf(flat)
            res = res + self.atom * np.where(bad, 0.0, atom_part)
        if want_cdf:
            res = np.where(flat == np.inf, 1.0, res)
        else:
            res = np.where(np.isinf(flat), 0.0, res)
        res = np.where(np.isnan(flat), np.nan, res)
        return res.reshape(x.shape)

    def pdf(self, x):
        """``atom f_C(x) + int f_C(x - m) f_MP(m) dm``."""
        return _out(np.maximum(self._eval(x, False), 0.0))

    def cdf(self, x):
        """``atom F_C(x) + int F_C(x - m) f_MP(m) dm``."""
        return _out(np.clip(self._eval(x, True), 0.0, 1.0))

    cdf_left = cdf

    def ppf(self, p):
        """Quantile by vectorised bisection on ``cdf``."""
        p = np.asarray(p, dtype=np.float64)
        lo0 = self.support()[0]
        flat = p.ravel()
        ok = (flat > 0.0) & (flat < 1.0)
        res = np.full(flat.shape, np.nan)
        res[flat == 0.0] = lo0
        res[flat == 1.0] = math.inf
        if np.any(ok):
            target = flat[ok]
            hi = self.mean() + 10.0 * math.sqrt(self.var())
            for _ in range(64):
                if self.cdf(hi) >= target.max():
                    break
                hi = 2.0 * hi
            lo = np.full(target.shape, lo0)
            his = np.full(target.shape, hi)
            res[ok] = _bisect(lambda z: self.cdf(z), lo, his, target, iters=200, rtol=1e-13)
        return _out(res.reshape(p.shape))

    def rvs(self, size=None, random_state=None):
        """Sum of independent draws of ``C`` and ``M``."""
        rng = _rng(random_state)
        c = self.chi2.rvs(size, rng)
        m = self.mp.rvs(size, rng)
        return _out(np.asarray(c) + np.asarray(m))


# ---------------------------------------------------------------------------
# Kolmogorov-Smirnov distance
# ---------------------------------------------------------------------------

def _gauss_legendre(n, panel=16):
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


def ks_distance(samples, law, atom_rtol=1e-9):
    """Sup distance ``sup_x |F_n(x) - F(x)|`` between the empirical CDF of
    ``samples`` and ``law.cdf``.

    Samples within ``atom_rtol`` (relative to the law's scale) of an atom of the
    law are placed on it: computed eigenvalues that sit exactly at an atom (e.g.
    the ``Ni - Nh`` linear-network eigenvalues at the shift ``|W2|^2``) carry
    rounding errors of order 1e-16 and would otherwise fall on the wrong side of
    the jump.  ``atom_rtol=0`` disables this.

    Both sides of every jump of ``F_n`` are compared (``F_n(v)`` with ``F(v)`` and
    ``F_n(v-)`` with ``F(v-)``), so atoms of the law (e.g. the Marchenko-Pastur
    atom at 0) and tied samples are handled; ``F(v-)`` is taken from
    ``law.cdf_left`` when the law has it (otherwise the law is treated as
    continuous).  Between samples ``F_n`` is flat and ``F`` monotone, so these
    endpoint comparisons give the exact supremum.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("samples must be a non-empty array of finite numbers, got size 0")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be a non-empty array of finite numbers, got non-finite values")
    if not callable(getattr(law, "cdf", None)):
        raise ValueError(f"law must have a cdf method, got {law!r}")
    n = x.size
    loc = getattr(law, "_loc", None)
    if atom_rtol and getattr(law, "atom", 0.0) > 0.0 and loc is not None:
        scale = max(abs(float(loc)), float(getattr(law, "upper_edge", 0.0)) - float(loc), 1e-300)
        x = np.where(np.abs(x - loc) <= atom_rtol * scale, float(loc), x)
    u, counts = np.unique(x, return_counts=True)
    cum = np.cumsum(counts)
    fn_right = cum / n
    fn_left = (cum - counts) / n
    f_right = np.asarray(law.cdf(u), dtype=np.float64)
    left = getattr(law, "cdf_left", None)
    f_left = np.asarray(left(u), dtype=np.float64) if callable(left) else f_right
    return float(max(np.max(np.abs(fn_right - f_right)), np.max(np.abs(fn_left - f_left))))

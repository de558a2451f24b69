"""The ensemble law of a nonzero Hessian eigenvalue of the linear network (Chapter 2, eq. ch2-linear-law):
a scaled chi-square convolved with a Marchenko–Pastur law."""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..backend import F64, check_memory, chunk_length
from ._common import (MAX_COUNT, TINY, WORK_BYTES_PER_POINT, bisect, derived_finite, gauss_legendre, out,
                      positive_finite, positive_int, real_array, rng_from, sample_shape)
from .chi2 import ScaledChi2
from .marchenko_pastur import ShiftedMarchenkoPastur, MarchenkoPastur

__all__ = ["LinearSpectrumLaw"]

MAX_NODES = 10 ** 6         # largest n_nodes a caller may ask for (each evaluation is O(n_nodes) per point)
_FMAX = float(np.finfo(np.float64).max)
NARROW = 1e-6              # sd(C) / half MP width below which X = E[C] + M is used
CHUNK_BYTES = 14 * F64     # float64 work arrays per (point, node) pair of one chunk of the quadrature
NODE_BYTES = 24 * F64        # float64 work arrays per quadrature node (nodes, weights, one chunk row)


class LinearSpectrumLaw:
    """Ensemble law of a nonzero Hessian eigenvalue of the linear network
    (Chapter 2, eq. ch2-linear-law)::

        X = C + M,  C ~ ScaledChi2(df=Nh, scale=sigma2^2),
                    M ~ MarchenkoPastur(ratio=Ni/Nh, scale=Nh sigma1^2),

        pdf(x) = atom f_C(x) + int_a^b f_C(x - m) f_MP(m) dm,
        cdf(x) = atom F_C(x) + int_a^b F_C(x - m) f_MP(m) dm.

    Defaults ``w1_var = 1/n_in``, ``w2_var = 1/n_hidden``; ``C`` and ``M`` are
    exposed as the attributes ``chi2`` and ``mp``, ``atom = max(0, 1 - Nh/Ni)``
    (the mass of the MP atom, smeared by ``C``: the law itself has no point mass).
    ``mean() = Nh (sigma1^2 + sigma2^2)``, ``var() = 2 Nh sigma2^4 + s^2 q``.

    Quadrature: Gauss-Legendre in ``theta`` with ``m = a + (b-a)/2 (1 - cos
    theta)``, which removes the square-root edges of ``f_MP``; the cdf is
    integrated by parts so that it too only needs ``f_C``.  For large ``df``
    one fixed grid on ``[0, pi]`` serves every ``x``; for small ``df`` the range
    is cut at ``m = x`` (where ``f_C(x - m)`` starts) and ``theta = theta_x (1 -
    t^2)`` makes the ``y^(df/2-1)`` edge of ``f_C`` smooth in ``t``.  The node
    count (at least 200, at most 20000) grows like ``(b-a) / sd(C)`` so the
    chi-square peak is resolved (about 1e-12 accuracy); ``n_nodes`` (at most 10**6, within the memory
    budget) overrides it.  A chi-square narrower than ``1e-6`` times the MP half-width is a spike no such
    grid resolves; there ``X = E[C] + M`` is used, with the exact ``atom F_C`` term (cdf difference from the
    quadrature just above the switch: about 5e-8 for ``df = 1``, 1e-10 or less for ``df >= 5``).
    """

    _AUTO_MAX_NODES = 20000   # most nodes the automatic choice uses
    _CHUNK = 65536      # nodes x points evaluated at once
    _KINK_TOL = 1e-16   # fixed-grid path if F_C(2 * max node spacing) is below this

    def __init__(self, n_in, n_hidden, w1_var=None, w2_var=None, *, n_nodes=None):
        self.n_in = positive_int("n_in", n_in)
        self.n_hidden = positive_int("n_hidden", n_hidden)
        self.w1_var = 1.0 / self.n_in if w1_var is None else positive_finite("w1_var", w1_var)
        self.w2_var = 1.0 / self.n_hidden if w2_var is None else positive_finite("w2_var", w2_var)
        q, s = self.n_in / self.n_hidden, self.n_hidden * self.w1_var
        derived_finite("the chi-square variance 2 n_hidden w2_var^2", 2.0 * self.n_hidden * self.w2_var
                       * self.w2_var, "n_hidden and w2_var")
        derived_finite("the Marchenko-Pastur edge n_hidden w1_var (1 + sqrt(n_in/n_hidden))^2",
                       s * (1.0 + math.sqrt(q)) * (1.0 + math.sqrt(q)), "n_in, n_hidden and w1_var")
        derived_finite("the Marchenko-Pastur variance (n_hidden w1_var)^2 n_in/n_hidden", s * s * q,
                       "n_in, n_hidden and w1_var")
        self.chi2 = ScaledChi2(df=self.n_hidden, scale=self.w2_var)
        self.mp = MarchenkoPastur(ratio=self.n_in / self.n_hidden,
                                  scale=self.n_hidden * self.w1_var)
        derived_finite("the mean", self.chi2.mean() + self.mp.mean(), "n_hidden, w1_var and w2_var")
        derived_finite("the variance", self.chi2.var() + self.mp.var(), "n_in, n_hidden, w1_var and w2_var")
        self.atom = self.mp.atom
        a, b = self.mp.lower_edge, self.mp.upper_edge
        self._a, self._b = a, b
        h = self._h = 0.5 * (b - a)
        sd = math.sqrt(self.chi2.var())
        if not h >= TINY:
            raise ValueError(f"w1_var must be a finite number > 0 large enough for the Marchenko-Pastur width "
                             f"to be a normal float64, got {self.w1_var!r} (width {b - a!r})")
        # A chi-square far narrower than the MP width (sd(C) / h below NARROW) is a spike the quadrature
        # cannot resolve with the automatic node count; there X = E[C] + M (see the class docstring).
        self._narrow = sd / h < NARROW
        self._shifted = MarchenkoPastur(self.mp.ratio, self.mp.scale, loc=self.chi2.mean())
        # Node spacing in m is at most ~ pi^2 h / (2 n) on the fixed grid (and
        # about as much on the cut grid); keeping it <= ~0.6 sd(C) resolves the
        # chi-square peak to ~1e-13.  The fixed grid over the whole support is
        # used when f_C is negligible within two spacings of its kink at y = 0
        # (large df); otherwise the range is cut at m = x.
        n_auto = int(min(self._AUTO_MAX_NODES, max(200, math.ceil(min(9.0 * h / max(sd, TINY), MAX_COUNT)))))
        if n_nodes is None:
            n_nodes = n_auto
        else:
            n_nodes = positive_int("n_nodes", n_nodes, maximum=MAX_NODES)
            check_memory(float(n_nodes) * NODE_BYTES, f"LinearSpectrumLaw(n_nodes={n_nodes})", reduce="n_nodes",
                         alternative="n_nodes=None picks enough nodes for about 1e-12 accuracy.")
        self.n_nodes = n_nodes
        if self._narrow:
            return
        max_spacing = 0.5 * math.pi ** 2 * h / n_nodes
        self._fixed = bool(self.chi2.cdf(2.0 * max_spacing) < self._KINK_TOL)
        t, w = gauss_legendre(n_nodes)
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
            self._wcdf = wt * self.mp.continuous_cdf_angle(theta, sh, ch) * 2.0 * h * sh * ch
        else:
            self._t = 0.5 * (t + 1.0)      # nodes on [0, 1]
            self._w = 0.5 * w

    def __repr__(self):
        return (f"LinearSpectrumLaw(n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"w1_var={self.w1_var!r}, w2_var={self.w2_var!r})")

    def realisation(self, shift):
        """Law of the nonzero spectrum for one draw ``||W2||^2 = shift``:
        ``MarchenkoPastur(q, s, loc=shift)`` (a :class:`ShiftedMarchenkoPastur`, whose ``shift`` is ``loc``)."""
        return ShiftedMarchenkoPastur(self.mp.ratio, self.mp.scale, shift)

    def support(self):
        lo = 0.0 if self.atom > 0.0 else self._a
        return (float(lo), math.inf)

    def atoms(self):
        """No point masses (the MP atom is smeared by the chi-square): ``()``."""
        return ()

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
        z = np.where(y > 0.0, y, 1.0) / sc
        pos = (y > 0.0) & (z < math.inf)      # y / scale beyond float64: the density there is 0
        z = np.where(pos, z, 1.0)
        logf = (k2 - 1.0) * np.log(z) - 0.5 * z - k2 * math.log(2.0) - special.gammaln(k2) - math.log(sc)
        # a density beyond float64 (df < 2, y -> 0) is kept at the largest float so that 0-weight nodes stay 0
        return np.where(pos, np.minimum(np.exp(logf), _FMAX), 0.0)

    def _convolve(self, x, want_cdf):
        """Continuous-MP part of the convolution for a flat finite array ``x``.

        pdf: ``int_a^min(b,x) f_C(x-m) f_MP(m) dm``;
        cdf: ``int_a^b F_C(x-m) f_MP(m) dm
              = (1-atom) F_C(x-b) + int_a^min(b,x) f_C(x-m) G(m) dm``
        (integration by parts, ``G`` = closed-form continuous MP CDF), so both
        only need the cheap chi-square density.
        """
        if self._narrow:
            return np.asarray(self._shifted.continuous_cdf(x) if want_cdf else self._shifted.pdf(x))
        res = np.empty_like(x)
        step = chunk_length(x.size, self.n_nodes * CHUNK_BYTES, f"the quadrature of LinearSpectrumLaw (n_nodes="
                            f"{self.n_nodes})", reduce="n_nodes", fixed_bytes=x.size * WORK_BYTES_PER_POINT,
                            max_items=max(1, self._CHUNK // self.n_nodes))
        if self._fixed:
            wgt = self._wcdf if want_cdf else self._wpdf
            for i in range(0, x.size, step):
                xc = x[i:i + step]
                res[i:i + step] = self._chi2_pdf(xc[:, None] - self._m[None, :]) @ wgt
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
                    wgt = self.mp.continuous_cdf_angle(theta, sh, ch) * (2.0 * h * sh * ch)
                else:
                    # f_MP(m) dm = h^2 sin^2(theta) / (2 pi s q m) dtheta
                    num = 4.0 * h * h * (sh * ch) ** 2
                    wgt = np.divide(num, 2.0 * np.pi * s * q * m, out=np.zeros_like(num),
                                    where=m > 0.0)
                res[i:i + step] = (kern * wgt * dtheta) @ w
        if want_cdf:
            res += (1.0 - self.atom) * np.asarray(self.chi2.cdf(x - self._b))
        return res

    def _eval(self, x, want_cdf):
        # the quadrature works in chunks of rows; at least one row (n_nodes pairs) must fit the budget
        x = real_array("x", x, fixed_bytes=0.0 if self._narrow else float(self.n_nodes) * CHUNK_BYTES)
        flat = x.ravel()
        bad = ~np.isfinite(flat)
        with np.errstate(over="ignore", under="ignore"):
            res = self._convolve(np.where(bad, 0.0, flat), want_cdf)
            if self.atom > 0.0:
                atom_part = self.chi2.cdf(flat) if want_cdf else self.chi2.pdf(flat)
                res = res + self.atom * np.where(bad, 0.0, atom_part)
        if want_cdf:
            res = np.where(flat == np.inf, 1.0, res)
        else:
            res = np.where(np.isinf(flat), 0.0, res)
        res = np.where(np.isnan(flat), np.nan, res)
        return res.reshape(x.shape)

    def pdf(self, x):
        """``atom f_C(x) + int f_C(x - m) f_MP(m) dm``."""
        return out(np.maximum(self._eval(x, False), 0.0))

    def cdf(self, x):
        """``atom F_C(x) + int F_C(x - m) f_MP(m) dm``."""
        return out(np.clip(self._eval(x, True), 0.0, 1.0))

    cdf_left = cdf

    def ppf(self, p):
        """Quantile by vectorised bisection on ``cdf`` (NaN outside [0, 1]), to about 1e-13 relative or
        after 200 halvings of ``[support()[0], mean + 10 sd]``."""
        p = real_array("p", p)
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
                if self.cdf(hi) >= target.max() or not math.isfinite(2.0 * hi):
                    break
                hi = 2.0 * hi
            lo = np.full(target.shape, lo0)
            his = np.full(target.shape, hi)
            res[ok] = bisect(lambda z: self.cdf(z), lo, his, target, iters=200, rtol=1e-13)
        return out(res.reshape(p.shape))

    def rvs(self, size=None, seed=None, *, random_state=None):
        """Sum of independent draws of ``C`` and ``M``.  ``seed``: None, an int or a numpy Generator;
        ``random_state`` is scipy's name for it."""
        rng = rng_from(seed, random_state)
        size = sample_shape(size)
        c = self.chi2.rvs(size, rng)
        m = self.mp.rvs(size, rng)
        return out(np.asarray(c) + np.asarray(m))

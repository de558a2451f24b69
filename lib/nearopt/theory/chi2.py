"""The scaled chi-square law of ``||W2||^2`` (Chapter 2, eq. ch2-w2-norm)."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ._common import MAX_COUNT, derived_finite, out, positive_finite, real_array, rng_from, sample_shape

__all__ = ["ScaledChi2"]


class ScaledChi2:
    """Law of ``scale * chi^2_df`` (Chapter 2, eq. ch2-w2-norm), e.g. ``||W2||^2`` with
    ``df = Nh``, ``scale = sigma2^2``.  Wraps ``scipy.stats.chi2(df, scale=scale)``
    (:attr:`scipy_law`).

    ``mean() = df * scale``, ``var() = 2 df scale^2``, support ``[0, inf)``; ``df`` at most 2**53 and both
    moments representable in float64 (otherwise ValueError).
    """

    def __init__(self, df, scale):
        self.df = positive_finite("df", df, maximum=MAX_COUNT)   # scipy's chi2 breaks down beyond ~1e300
        self.scale = positive_finite("scale", scale)
        derived_finite("scale^2", self.scale * self.scale, "df and scale")
        derived_finite("the variance 2 df scale^2", 2.0 * self.df * self.scale ** 2, "df and scale")
        self._dist = stats.chi2(self.df, scale=self.scale)

    @property
    def scipy_law(self):
        """The frozen ``scipy.stats.chi2(df, scale=scale)`` this law evaluates."""
        return self._dist

    def __repr__(self):
        return f"ScaledChi2(df={self.df!r}, scale={self.scale!r})"

    def support(self):
        return (0.0, math.inf)

    def atoms(self):
        """No point masses: ``()``."""
        return ()

    def mean(self):
        return self.df * self.scale

    def var(self):
        return 2.0 * self.df * self.scale ** 2

    def pdf(self, x):
        """Density (0 at +-inf, NaN at NaN)."""
        x = real_array("x", x)
        with np.errstate(over="ignore"):
            far = np.isinf(x / self.scale)          # x / scale beyond float64: the density is 0 there
            res = self._dist.pdf(np.where(far, 0.0, x))
        return out(np.where(far, 0.0, res))

    def cdf(self, x):
        """``P(X <= x)`` (scipy's, kept in [0, 1]: for tiny ``df`` it can exceed 1 by a few ulps)."""
        x = real_array("x", x)
        with np.errstate(over="ignore"):
            return out(np.clip(self._dist.cdf(x), 0.0, 1.0))

    cdf_left = cdf

    def ppf(self, p):
        """Quantile (scipy's; NaN outside [0, 1], ``inf`` at 1)."""
        p = real_array("p", p)
        with np.errstate(over="ignore"):
            return out(self._dist.ppf(p))

    def rvs(self, size=None, seed=None, *, random_state=None):
        """``scale * chisquare(df)`` draws.  ``seed``: None, an int or a numpy Generator; ``random_state``
        is scipy's name for it."""
        rng = rng_from(seed, random_state)
        return out(self.scale * rng.chisquare(self.df, sample_shape(size)))

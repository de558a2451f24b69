"""The scaled chi-square law of ``||W2||^2`` (Chapter 2, eq. ch2-w2-norm)."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ._common import derived_finite, out, positive_finite, real_array, rng_from, sample_shape

__all__ = ["ScaledChi2"]


class ScaledChi2:
    """Law of ``scale * chi^2_df`` (Chapter 2, eq. ch2-w2-norm), e.g. ``||W2||^2`` with
    ``df = Nh``, ``scale = sigma2^2``.  Wraps ``scipy.stats.chi2(df, scale=scale)``
    (:attr:`scipy_law`).

    ``mean() = df * scale``, ``var() = 2 df scale^2``, support ``[0, inf)``; both moments must be
    representable in float64 (otherwise ValueError).
    """

    def __init__(self, df, scale):
        self.df = positive_finite("df", df)
        self.scale = positive_finite("scale", scale)
        derived_finite("the variance 2 df scale^2", 2.0 * self.df * self.scale * self.scale, "df and scale")
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
        inf = np.isinf(x)
        with np.errstate(over="ignore"):
            res = self._dist.pdf(np.where(inf, 0.0, x))
        return out(np.where(inf, 0.0, res))

    def cdf(self, x):
        return out(self._dist.cdf(real_array("x", x)))

    cdf_left = cdf

    def ppf(self, p):
        return out(self._dist.ppf(real_array("p", p)))

    def rvs(self, size=None, seed=None, *, random_state=None):
        """``scale * chisquare(df)`` draws.  ``seed``: None, an int or a numpy Generator; ``random_state``
        is scipy's name for it."""
        rng = rng_from(seed, random_state)
        return out(self.scale * rng.chisquare(self.df, sample_shape(size)))

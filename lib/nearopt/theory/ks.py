"""The Kolmogorov–Smirnov distance between samples and a law, the small protocol it reads, and the
empirical law of a sample (for two-sample distances)."""
from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

from .._validation import check_real
from ._common import out, real_array

__all__ = ["Law", "EmpiricalLaw", "ks_distance"]


@runtime_checkable
class Law(Protocol):
    """What :func:`ks_distance` reads from a law.

    Required: ``cdf(x)``, ``P(X <= x)`` elementwise on a float64 array.  Optional (the laws of
    :mod:`nearopt.theory` have all three; a frozen ``scipy.stats`` law has only ``cdf`` and ``support``):

    * ``cdf_left(x)``: the left limit ``P(X < x)``; without it the law is taken as continuous;
    * ``atoms()``: the point masses as ``((location, mass), ...)`` (any sequence of pairs, e.g. a (k, 2)
      array); samples within a relative tolerance of an atom are placed on it;
    * ``support()``: ``(lo, hi)``; its finite width sets the scale of that tolerance.
    """

    def cdf(self, x): ...


class EmpiricalLaw:
    """The empirical distribution of a sample: ``cdf``/``cdf_left`` are step functions with a jump of
    ``count/n`` at every distinct value, which are its ``atoms()``.  ``ks_distance(a, EmpiricalLaw(b))``
    is the two-sample KS distance."""

    def __init__(self, samples):
        x = real_array("samples", samples, finite_only=True, nonempty=True)
        self.samples = np.sort(x.ravel())

    def __repr__(self):
        return f"EmpiricalLaw(<{self.samples.size} samples>)"

    def cdf(self, x):
        x = real_array("x", x)
        res = np.searchsorted(self.samples, x, side="right") / self.samples.size
        return out(np.where(np.isnan(x), np.nan, res))

    def cdf_left(self, x):
        x = real_array("x", x)
        res = np.searchsorted(self.samples, x, side="left") / self.samples.size
        return out(np.where(np.isnan(x), np.nan, res))

    def atoms(self):
        """The distinct values and their frequencies as a (k, 2) array of (location, mass) rows."""
        u, counts = np.unique(self.samples, return_counts=True)
        return np.column_stack([u, counts / self.samples.size])

    def support(self):
        return (float(self.samples[0]), float(self.samples[-1]))

    def mean(self):
        return float(np.mean(self.samples))

    def var(self):
        return float(np.var(self.samples))


def _atom_locations(law):
    """Sorted locations of the law's atoms (empty when it has none or no ``atoms`` method)."""
    get = getattr(law, "atoms", None)
    if not callable(get):
        return np.empty(0)
    try:
        pairs = np.asarray(get(), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"law.atoms() must return (location, mass) pairs of real numbers, law {law!r}") from None
    if pairs.size == 0:
        return np.empty(0)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.all(np.isfinite(pairs)):
        raise ValueError(f"law.atoms() must return finite (location, mass) pairs, law {law!r}")
    return np.sort(pairs[pairs[:, 1] > 0.0, 0])


def _snap(x, law, atom_rtol):
    """Place samples within ``atom_rtol`` (relative to max(|atom|, finite support width)) on the atom."""
    locs = _atom_locations(law)
    if locs.size == 0:
        return x
    width = 0.0
    sup = getattr(law, "support", None)
    if callable(sup):
        lo, hi = (float(v) for v in sup())
        if math.isfinite(hi - lo):
            width = hi - lo
    idx = np.clip(np.searchsorted(locs, x), 1, max(locs.size - 1, 1))
    left, right = locs[idx - 1], locs[np.minimum(idx, locs.size - 1)]
    near = np.where(np.abs(x - left) <= np.abs(right - x), left, right)
    scale = np.maximum(np.maximum(np.abs(near), width), 1e-300)
    return np.where(np.abs(x - near) <= atom_rtol * scale, near, x)


def _law_cdf(fun, name, u, law):
    try:
        f = np.asarray(fun(u), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"law.{name} must return real numbers for a float64 array ({exc}), law {law!r}") from None
    if f.shape != u.shape or not np.all((f >= 0.0) & (f <= 1.0)):
        raise ValueError(f"law.{name} must return values in [0, 1] of its input's shape, law {law!r}")
    return f


def ks_distance(samples, law, atom_rtol=1e-9):
    """Sup distance ``sup_x |F_n(x) - F(x)|`` between the empirical CDF of
    ``samples`` and ``law.cdf`` (any object with the :class:`Law` protocol, e.g. a
    frozen ``scipy.stats`` law).

    Samples within ``atom_rtol`` (relative to ``max(|atom|, support width)``) of an
    atom of the law (its ``atoms()``) are placed on it: computed eigenvalues that sit
    exactly at an atom (e.g. the ``Ni - Nh`` linear-network eigenvalues at the shift
    ``|W2|^2``) carry rounding errors of order 1e-16 and would otherwise fall on the
    wrong side of the jump.  ``atom_rtol=0`` disables this.

    Both sides of every jump of ``F_n`` are compared (``F_n(v)`` with ``F(v)`` and
    ``F_n(v-)`` with ``F(v-)``), so atoms of the law (e.g. the Marchenko-Pastur
    atom at 0) and tied samples are handled; ``F(v-)`` is taken from
    ``law.cdf_left`` when the law has it (otherwise the law is treated as
    continuous).  Between samples ``F_n`` is flat and ``F`` monotone, so these
    endpoint comparisons give the exact supremum.
    """
    x = np.sort(real_array("samples", samples, finite_only=True, nonempty=True).ravel())   # sorted: fast lookups
    if not callable(getattr(law, "cdf", None)):
        raise ValueError(f"law must have a cdf method, got {law!r}")
    if isinstance(atom_rtol, (bool, np.bool_)):
        raise TypeError(f"atom_rtol must be a finite number >= 0, got {atom_rtol!r}")
    atom_rtol = check_real(atom_rtol, "atom_rtol", low=0.0, high=1.0)
    n = x.size
    if atom_rtol:
        x = _snap(x, law, atom_rtol)
    u, counts = np.unique(x, return_counts=True)
    cum = np.cumsum(counts)
    fn_right = cum / n
    fn_left = (cum - counts) / n
    f_right = _law_cdf(law.cdf, "cdf", u, law)
    left = getattr(law, "cdf_left", None)
    f_left = _law_cdf(left, "cdf_left", u, law) if callable(left) else f_right
    return float(max(np.max(np.abs(fn_right - f_right)), np.max(np.abs(fn_left - f_left))))

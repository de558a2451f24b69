"""Limiting spectral laws for the Hessian of a linear two-layer network.

For ``y = W2^T W1 x`` with ``W1`` (Nh x Ni) iid ``N(0, sigma1^2)``, ``W2`` (Nh,)
iid ``N(0, sigma2^2)`` and Gaussian inputs, the population Hessian at the
optimum has ``P - Ni`` zero eigenvalues and ``Ni`` nonzero ones,
``||W2||^2 + eig(W1^T W1)`` (Chapter 2, eq. ch2-linear-spectrum).  As the sizes grow
with ``q = Ni / Nh`` fixed, ``eig(W1^T W1)`` follows the Marchenko-Pastur law
with ratio ``q`` and scale ``s = Nh sigma1^2`` (Chapter 2, eq. ch2-mp-law), while
``||W2||^2 ~ sigma2^2 chi^2_Nh`` (Chapter 2, eq. ch2-w2-norm).  One realisation of
the nonzero spectrum is the MP law with ``loc = ||W2||^2``; the ensemble law is the convolution
of the two (Chapter 2, eq. ch2-linear-law).

All laws follow a small ``scipy.stats``-like interface: ``pdf``, ``cdf``,
``cdf_left`` (left limit ``P(X < x)``), ``ppf``, ``rvs(size, seed)``, ``mean``, ``var``,
``support`` and ``atoms`` (point masses); :func:`ks_distance` reads the :class:`Law` protocol.
Everything is float64 and uses NumPy/SciPy only.  Every parameter is checked (ValueError or TypeError
naming it); samples and evaluation arrays are checked against the memory budget before allocating
(:class:`nearopt.MemoryBudgetError`).

Layout: ``marchenko_pastur`` (MarchenkoPastur, ShiftedMarchenkoPastur), ``chi2`` (ScaledChi2),
``linear_law`` (LinearSpectrumLaw: the convolution quadrature), ``ks`` (ks_distance, Law, EmpiricalLaw),
``_common`` (checks, RNG keyword, bisection, Gauss–Legendre).
"""
from .chi2 import ScaledChi2
from .ks import EmpiricalLaw, Law, ks_distance
from .linear_law import LinearSpectrumLaw
from .marchenko_pastur import MarchenkoPastur, ShiftedMarchenkoPastur

__all__ = [
    "MarchenkoPastur",
    "ShiftedMarchenkoPastur",
    "ScaledChi2",
    "LinearSpectrumLaw",
    "ks_distance",
    "Law",
    "EmpiricalLaw",
]

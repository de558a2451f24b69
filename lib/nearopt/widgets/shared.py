"""Computations shared by several explorers (the spectrum and the input explorers)."""
from __future__ import annotations

import functools

import numpy as np

import nearopt

__all__ = ["linear_law", "nonzero_part", "EmpiricalLaw", "spectrum_numpy"]


@functools.lru_cache(maxsize=32)
def linear_law(n_in: int, n_hidden: int):
    """:class:`nearopt.LinearSpectrumLaw` with the default variances (its quadrature rule is built once)."""
    return nearopt.LinearSpectrumLaw(n_in, n_hidden)


def nonzero_part(ev):
    """The eigenvalues that :func:`nearopt.numerical_rank` counts (|λ| above its tolerance) and the info."""
    info = nearopt.numerical_rank(ev)
    return ev[np.abs(ev) > info.tol], info


def spectrum_numpy(W1, W2, activation, X=None):
    """:func:`nearopt.spectrum` as a float64 NumPy array."""
    return np.asarray(nearopt.to_numpy(nearopt.spectrum(W1, W2, activation, X)), dtype=np.float64)


#: the empirical distribution of a sample (two-sample KS distances), from the library
EmpiricalLaw = nearopt.EmpiricalLaw

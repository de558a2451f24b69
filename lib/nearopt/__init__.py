"""nearopt — learning near the optimum of two-layer teacher–student networks.

The model is y(x) = W2 · g(W1 x) with W1 (Nh × Ni), W2 (Nh,), no biases; the student equals the
teacher at the optimum θ*, where the loss Hessian is the Gauss–Newton matrix.  Parameters are ordered
θ = (vec(W1) row-major, W2), P = Nh (Ni + 1).

Quick start::

    import nearopt
    W1, W2 = nearopt.sample_teacher(10, 20, seed=0)
    ev = nearopt.spectrum(W1, W2, "linear")          # all P eigenvalues, ascending
    r = nearopt.hessian_rank(W1, W2, "quadratic")    # == nearopt.effective_parameters("quadratic", 10, 20)
    op = nearopt.hessian_operator(W1, W2, "erf", X)  # scipy LinearOperator: op @ v, eigsh(op), slq(op)

A request whose estimated memory exceeds the budget (:func:`memory_budget`) is refused before anything is
allocated with :class:`MemoryBudgetError`, naming the argument to reduce; bad arguments raise ValueError or
TypeError "<param> must be <allowed values>, got <value>".
"""
from .activations import ACTIVATIONS, Activation, Custom, Erf, Polynomial, get_activation
from .backend import (MemoryBudgetError, backend_name, default_namespace, memory_budget,
                      set_memory_budget, to_numpy)
from .dynamics import (descend, expected_loss, fit_rate, flow, late_time_rate, perturb, predict_descent,
                       quadratic_loss, stability_limit)
from .hessian import full_hessian, hessian, jacobian, population_factor
from .loss import gradient, loss
from .moments import pair_moments
from .operator import HessianOperator, hessian_operator, hvp, slq
from .rank import (RankInfo, default_tolerance, effective_parameters, hessian_rank, numerical_rank,
                   symmetric_dim, tangent_rank)
from .spectra import SpectralDensity, fisher, ntk, slq_density, spectrum, wasserstein
from .teacher import (INPUT_DISTRIBUTIONS, flatten, forward, n_params, sample_inputs, sample_teacher,
                      unflatten)

from .theory import EmpiricalLaw, LinearSpectrumLaw, MarchenkoPastur, ScaledChi2, ShiftedMarchenkoPastur, ks_distance

__version__ = "0.1.0"


def __getattr__(name):
    """``nearopt.widgets`` on first use, so that ``import nearopt`` needs no ipywidgets/matplotlib."""
    if name == "widgets":
        import importlib
        return importlib.import_module(".widgets", __name__)
    raise AttributeError(f"module 'nearopt' has no attribute {name!r}")

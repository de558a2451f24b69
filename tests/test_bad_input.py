"""Bad input gets a clear error naming the parameter and the allowed values."""
import tracemalloc

import numpy as np
import pytest

import nearopt

W1, W2 = nearopt.sample_teacher(3, 4, seed=0)


@pytest.mark.parametrize("args,match", [
    ((0, 4), "n_in must be an integer ≥ 1"),
    ((3, -1), "n_hidden must be an integer ≥ 1"),
    ((2.5, 4), "n_in must be an integer"),
    (("3", 4), "n_in must be an integer"),
    ((True, 4), "n_in must be an integer"),
])
def test_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        nearopt.sample_teacher(*args)


def test_integral_floats_accepted():
    a, b = nearopt.sample_teacher(3.0, 4.0)
    assert a.shape == (4, 3)


@pytest.mark.parametrize("kw,match", [
    ({"w1_var": -1.0}, "w1_var must be a finite number ≥ 0"),
    ({"w2_var": float("nan")}, "w2_var must be a finite number ≥ 0"),
    ({"seed": -3}, "seed must be a non-negative integer"),
])
def test_variances_and_seed(kw, match):
    with pytest.raises(ValueError, match=match):
        nearopt.sample_teacher(3, 4, **kw)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="'linear', 'quadratic', 'cubic', 'quartic', 'erf'"):
        nearopt.hessian(W1, W2, "relu")
    with pytest.raises(TypeError, match="activation must be"):
        nearopt.hessian(W1, W2, 3.5)
    with pytest.raises(ValueError, match="coeffs"):
        nearopt.Polynomial([0, 0])
    with pytest.raises(TypeError, match="g must be callable"):
        nearopt.Custom(1, np.cos, np.sin)


@pytest.mark.parametrize("a,b,match", [
    (W1, W2[:-1], "W2 must be a 1-D array of length n_hidden"),
    (W1[0], W2, "W1 must be a 2-D array"),
    (W1, W2[:, None], "W2 must be a 1-D array"),
    (np.where(W1 > 0, np.nan, W1), W2, "W1 must contain only finite values"),
    (W1, W2 * np.inf, "W2 must contain only finite values"),
])
def test_weights(a, b, match):
    for f in (nearopt.hessian, nearopt.spectrum, nearopt.hessian_rank):
        with pytest.raises(ValueError, match=match):
            f(a, b, "erf")


@pytest.mark.parametrize("X,match", [
    (np.ones((5, 4)), r"X must be a 2-D array of shape \(N, n_in\) with n_in = 3"),
    (np.ones(3), "X must be a 2-D array"),
    (np.ones((0, 3)), "N ≥ 1"),
    (np.full((5, 3), np.inf), "X must contain only finite values"),
])
def test_inputs(X, match):
    for f in (nearopt.hessian, nearopt.spectrum, nearopt.jacobian, nearopt.ntk):
        with pytest.raises(ValueError, match=match):
            f(W1, W2, "erf", X)


def test_sample_inputs_errors():
    with pytest.raises(ValueError, match="dist must be one of gaussian, uniform"):
        nearopt.sample_inputs(10, 3, dist="cauchy")
    with pytest.raises(ValueError, match="n_samples must be an integer ≥ 1"):
        nearopt.sample_inputs(0, 3)
    with pytest.raises(ValueError, match="df must be > 2"):
        nearopt.sample_inputs(10, 3, dist="student-t", df=2)
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\]"):
        nearopt.sample_inputs(10, 3, dist="sparse", density=0)


def test_dynamics_errors():
    with pytest.raises(ValueError, match="sigma0 must be a finite number ≥ 0"):
        nearopt.descend(W1, W2, "erf", sigma0=-1e-3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        nearopt.descend(W1, W2, "erf", lr=0)
    with pytest.raises(ValueError, match=r"steps must be an integer in \[0, 10000000\]"):
        nearopt.descend(W1, W2, "erf", steps=-5)
    with pytest.raises(ValueError, match="sigma0"):
        nearopt.perturb(W1, W2, -1.0)


def test_method_and_misc_errors():
    with pytest.raises(ValueError, match="method must be one of auto, dense, ntk, linear"):
        nearopt.spectrum(W1, W2, "erf", method="qr")
    with pytest.raises(ValueError, match="method='ntk' needs a batch X"):
        nearopt.spectrum(W1, W2, "erf", method="ntk")
    with pytest.raises(ValueError, match="effective_parameters is known for polynomial activations and 'erf'"):
        nearopt.effective_parameters(nearopt.Custom(np.tanh, np.tanh, np.tanh), 3, 4)
    with pytest.raises(ValueError, match="tol must be a finite number"):
        nearopt.numerical_rank([1.0, 2.0], tol=-1.0)
    with pytest.raises(ValueError, match="teacher must be a pair"):
        nearopt.full_hessian(W1, W2, "erf", W1)
    with pytest.raises(ValueError, match="slq_density needs a batch X"):
        nearopt.slq_density(W1, W2, "erf", None)


def test_dense_hessian_refused_before_allocating():
    """P = 10⁶ (Ni = Nh = 1000): 8 TB dense; refused with the size and the matrix-free route, without
    allocating more than the inputs."""
    A, b = nearopt.sample_teacher(1000, 1000, seed=0)
    tracemalloc.start()
    try:
        for f in (nearopt.hessian, nearopt.spectrum):
            with pytest.raises(nearopt.MemoryBudgetError, match=r"P = 1001000.*TiB.*matrix-free.*hvp"):
                f(A, b, "erf")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6
    # the linear closed form needs no dense matrix and still works at this size
    ev = nearopt.spectrum(A, b, "linear")
    assert ev.shape == (1001000,)


def test_memory_budget_override_and_env(monkeypatch):
    A, b = nearopt.sample_teacher(10, 10, seed=0)  # P = 110: 97 KB dense
    nearopt.set_memory_budget(10_000)
    try:
        with pytest.raises(nearopt.MemoryBudgetError, match="memory budget"):
            nearopt.hessian(A, b, "erf")
    finally:
        nearopt.set_memory_budget(None)
    nearopt.hessian(A, b, "erf")
    monkeypatch.setenv("NEAROPT_MEMORY_BUDGET", "10K")
    with pytest.raises(nearopt.MemoryBudgetError):
        nearopt.hessian(A, b, "erf")
    for bad in ("lots", "0", "-5", "nan", "inf", "1e400", "0.5", "12Q", "-1G"):
        monkeypatch.setenv("NEAROPT_MEMORY_BUDGET", bad)
        with pytest.raises(ValueError, match="NEAROPT_MEMORY_BUDGET must be a positive size in bytes"):
            nearopt.memory_budget()
    for good, value in (("512M", 512 * 2**20), ("2GiB", 2 * 2**30), ("1e6", 10**6), ("10kb", 10 * 1024)):
        monkeypatch.setenv("NEAROPT_MEMORY_BUDGET", good)
        assert nearopt.memory_budget() == value
    with pytest.raises(ValueError, match="nbytes must be a positive integer"):
        nearopt.set_memory_budget(-5)


def test_backend_env(monkeypatch):
    monkeypatch.setenv("NEAROPT_BACKEND", "tpu")
    with pytest.raises(ValueError, match="NEAROPT_BACKEND must be one of auto, numpy, cupy"):
        nearopt.default_namespace()
    monkeypatch.setenv("NEAROPT_BACKEND", "numpy")
    assert nearopt.backend_name() == "numpy"

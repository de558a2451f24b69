"""Property-based robustness (issue 9): every public function of nearopt (except widgets and theory, tested
elsewhere), on random shapes, magnitudes from 1e-300 to 1e300 and hostile arguments, returns a finite
result of the promised shape or raises ValueError, TypeError or MemoryBudgetError — never another
exception, a NaN, or a NumPy warning — within the hypothesis deadline."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nearopt

ALLOWED = (ValueError, TypeError, nearopt.MemoryBudgetError)
SETTINGS = settings(max_examples=60)  # on top of the conftest profile (derandomized, 10 s deadline)
MAGNITUDES = [1e-300, 1e-150, 1e-8, 1.0, 1e8, 1e150, 1e300]
ACTS = ["linear", "quadratic", "cubic", "erf", (0.5, 0.0, 1.0),
        nearopt.Custom(np.tanh, lambda z: 1 - np.tanh(z) ** 2, lambda z: -2 * np.tanh(z) * (1 - np.tanh(z) ** 2),
                       name="tanh", nodes=10)]
#: nearopt's own warnings are part of its interface; anything else (NumPy overflow, casts) is a defect
OWN_WARNINGS = ("stability limit", "Gauss–Hermite")


def finite(x):
    a = np.asarray(nearopt.to_numpy(x) if not isinstance(x, (tuple, list)) else x, dtype=np.float64)
    return bool(np.all(np.isfinite(a)))


def outcome(call):
    """Run call with NumPy warnings as errors; return the result, or the allowed exception it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except ALLOWED as exc:
            result = exc
    foreign = [w for w in caught if not any(s in str(w.message) for s in OWN_WARNINGS)]
    assert not foreign, f"unexpected warning: {foreign[0].category.__name__}: {foreign[0].message}"
    return result


@st.composite
def networks(draw, batch=None):
    ni = draw(st.integers(1, 4))
    nh = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    m1, m2, mx = (draw(st.sampled_from(MAGNITUDES)) for _ in range(3))
    W1 = rng.standard_normal((nh, ni)) * m1
    W2 = rng.standard_normal(nh) * m2
    has_batch = draw(st.booleans()) if batch is None else batch
    X = rng.standard_normal((draw(st.integers(1, 12)), ni)) * mx if has_batch else None
    act = draw(st.sampled_from(ACTS))
    return W1, W2, act, X


def _teacher(W1, W2):
    return W1 * 0.9, W2 * 1.1


# name → (call(W1, W2, act, X) → result, check(result, W1, W2, X) → bool)
P_OF = lambda W1: W1.shape[0] * (W1.shape[1] + 1)  # noqa: E731
MODEL_FUNCS = {
    "forward": (lambda W1, W2, a, X: nearopt.forward(W1, W2, a, X),
                lambda r, W1, W2, X: r.shape == (X.shape[0],) if X is not None else True),
    "jacobian": (lambda W1, W2, a, X: nearopt.jacobian(W1, W2, a, X),
                 lambda r, W1, W2, X: r.shape == (X.shape[0], P_OF(W1))),
    "hessian": (lambda W1, W2, a, X: nearopt.hessian(W1, W2, a, X),
                lambda r, W1, W2, X: r.shape == (P_OF(W1),) * 2
                and np.allclose(r, r.T, rtol=0, atol=1e-12 * np.abs(r).max())),
    "full_hessian": (lambda W1, W2, a, X: nearopt.full_hessian(W1, W2, a, _teacher(W1, W2), X),
                     lambda r, W1, W2, X: r.shape == (P_OF(W1),) * 2),
    "spectrum": (lambda W1, W2, a, X: nearopt.spectrum(W1, W2, a, X),
                 lambda r, W1, W2, X: r.shape == (P_OF(W1),) and np.all(np.diff(r) >= 0)),
    "hessian_rank": (lambda W1, W2, a, X: nearopt.hessian_rank(W1, W2, a, X),
                     lambda r, W1, W2, X: 0 <= r <= min(P_OF(W1), X.shape[0] if X is not None else P_OF(W1))),
    "ntk": (lambda W1, W2, a, X: nearopt.ntk(W1, W2, a, X),
            lambda r, W1, W2, X: r.shape == (X.shape[0],) * 2),
    "fisher": (lambda W1, W2, a, X: nearopt.fisher(W1, W2, a, X, n_label_samples=3),
               lambda r, W1, W2, X: r.shape == (P_OF(W1),) * 2),
    "hvp": (lambda W1, W2, a, X: nearopt.hvp(W1, W2, a, X, np.ones(P_OF(W1))),
            lambda r, W1, W2, X: r.shape == (P_OF(W1),)),
    "hessian_operator": (lambda W1, W2, a, X: nearopt.hessian_operator(W1, W2, a, X) @ np.ones((P_OF(W1), 2)),
                         lambda r, W1, W2, X: r.shape == (P_OF(W1), 2)),
    "slq_density": (lambda W1, W2, a, X: nearopt.slq_density(W1, W2, a, X, n_probes=2, n_steps=5).nodes,
                    lambda r, W1, W2, X: r.ndim == 1),
    "loss": (lambda W1, W2, a, X: nearopt.loss(W1, W2, a, _teacher(W1, W2), X),
             lambda r, W1, W2, X: float(r) >= 0),
    "gradient": (lambda W1, W2, a, X: nearopt.gradient(W1, W2, a, _teacher(W1, W2), X),
                 lambda r, W1, W2, X: r.shape == (P_OF(W1),)),
    "pair_moments": (lambda W1, W2, a, X: nearopt.pair_moments(W1, W1, a, ("gg", "gdx", "ddxx", "gd2xx"))["ddxx"],
                     lambda r, W1, W2, X: r.shape == (W1.shape[0],) * 2 + (W1.shape[1],) * 2),
    "population_factor": (lambda W1, W2, a, X: nearopt.population_factor(W1, W2, a),
                          lambda r, W1, W2, X: r.shape[1] == P_OF(W1)),
    "perturb": (lambda W1, W2, a, X: nearopt.flatten(*nearopt.perturb(W1, W2, 1e-3)[:2]),
                lambda r, W1, W2, X: r.shape == (P_OF(W1),)),
    "descend": (lambda W1, W2, a, X: nearopt.descend(W1, W2, a, X, sigma0=1e-3, lr=0.01, steps=5),
                lambda r, W1, W2, X: r.shape == (6,) and np.all(r >= 0)),
    "predict_descent": (lambda W1, W2, a, X: nearopt.predict_descent(W1, W2, a, X, lr=0.01, steps=5)[0],
                        lambda r, W1, W2, X: r.shape == (6,)),
    "flow": (lambda W1, W2, a, X: nearopt.flow(W1, W2, a, [0.0, 0.01], X, rtol=1e-6, atol=1e-12),
             lambda r, W1, W2, X: r.shape == (2,)),
}


@pytest.mark.parametrize("name", sorted(MODEL_FUNCS))
@SETTINGS
@given(case=networks())
def test_model_functions_finite_or_clear_error(name, case):
    W1, W2, act, X = case
    call, check = MODEL_FUNCS[name]
    if name in ("jacobian", "ntk", "fisher", "hvp", "slq_density", "forward") and X is None:
        X = np.ones((3, W1.shape[1]))
    r = outcome(lambda: call(W1, W2, act, X))
    if isinstance(r, BaseException):
        return
    if name in ("descend", "predict_descent"):  # a diverging run is documented as inf losses (never NaN)
        assert np.all(np.isfinite(r) | (r == np.inf))
    else:
        assert finite(r), f"{name} returned non-finite values without an error"
    assert check(np.asarray(nearopt.to_numpy(r)) if not np.isscalar(r) else r, W1, W2, X)


# --------------------------------------------------------------------------- hostile arguments
BAD_VALUES = [None, "3", b"x", 1j, float("nan"), float("inf"), -1, 0, 10**30, True, 2.5, [], [1, "a"], {},
              np.array([1 + 1j, 2]), np.array(["a", "b"]), np.full((2, 2), np.nan), np.zeros((0, 3)),
              np.ones((2, 3, 4)), object()]


def _spec():
    W1, W2 = nearopt.sample_teacher(3, 2, seed=0)
    X = nearopt.sample_inputs(6, 3, seed=1)
    T = _teacher(W1, W2)
    ev = np.array([0.0, 0.5, 1.0, 2.0])
    dens = nearopt.SpectralDensity([0.0, 1.0], [0.5, 0.5])
    # name → (function, default arguments); each argument in turn is replaced by each bad value
    return {
        "sample_teacher": (nearopt.sample_teacher, dict(n_in=3, n_hidden=2, seed=0, w1_var=1.0, w2_var=1.0)),
        "sample_inputs": (nearopt.sample_inputs, dict(n_samples=4, n_in=3, dist="student-t", seed=0, df=3.0)),
        "sample_inputs sparse": (nearopt.sample_inputs, dict(n_samples=4, n_in=3, dist="sparse", density=0.5)),
        "forward": (nearopt.forward, dict(W1=W1, W2=W2, activation="erf", X=X)),
        "n_params": (nearopt.n_params, dict(n_in=3, n_hidden=2)),
        "flatten": (nearopt.flatten, dict(W1=W1, W2=W2)),
        "unflatten": (nearopt.unflatten, dict(theta=np.ones(8), n_in=3, n_hidden=2)),
        "get_activation": (nearopt.get_activation, dict(activation="erf")),
        "Polynomial": (nearopt.Polynomial, dict(coeffs=[0.0, 1.0])),
        "Custom": (nearopt.Custom, dict(g=np.tanh, dg=np.tanh, d2g=np.tanh, nodes=10)),
        "jacobian": (nearopt.jacobian, dict(W1=W1, W2=W2, activation="erf", X=X)),
        "hessian": (nearopt.hessian, dict(W1=W1, W2=W2, activation="erf", X=X)),
        "full_hessian": (nearopt.full_hessian, dict(W1=W1, W2=W2, activation="erf", teacher=T, X=X)),
        "population_factor": (nearopt.population_factor, dict(W1=W1, W2=W2, activation="cubic", max_nodes=1000)),
        "pair_moments": (nearopt.pair_moments, dict(W_a=W1, W_b=W1, activation="erf", want=("gg",),
                                                    method="auto")),
        "hvp": (nearopt.hvp, dict(W1=W1, W2=W2, activation="erf", X=X, v=np.ones(8))),
        "hessian_operator": (nearopt.hessian_operator, dict(W1=W1, W2=W2, activation="erf", X=X)),
        "loss": (nearopt.loss, dict(W1=W1, W2=W2, activation="erf", teacher=T, X=X)),
        "gradient": (nearopt.gradient, dict(W1=W1, W2=W2, activation="erf", teacher=T, X=X)),
        "spectrum": (nearopt.spectrum, dict(W1=W1, W2=W2, activation="erf", X=X, method="auto")),
        "ntk": (nearopt.ntk, dict(W1=W1, W2=W2, activation="erf", X=X)),
        "fisher": (nearopt.fisher, dict(W1=W1, W2=W2, activation="erf", X=X, n_label_samples=2, seed=0)),
        "slq": (nearopt.slq, dict(operator=np.diag(ev), dim=None, n_probes=2, n_steps=3, seed=0)),
        "slq_density": (nearopt.slq_density, dict(W1=W1, W2=W2, activation="erf", X=X, n_probes=2, n_steps=3,
                                                  seed=0)),
        "SpectralDensity": (nearopt.SpectralDensity, dict(nodes=[0.0, 1.0], weights=[0.5, 0.5], dim=2)),
        "SpectralDensity.pdf": (dens.pdf, dict(x=[0.0, 0.5], width=0.1)),
        "SpectralDensity.cdf": (dens.cdf, dict(x=[0.0, 0.5])),
        "wasserstein": (nearopt.wasserstein, dict(density=dens, eigenvalues=ev)),
        "numerical_rank": (nearopt.numerical_rank, dict(eigenvalues=ev, tol=1e-3, eps=1e-16)),
        "default_tolerance": (nearopt.default_tolerance, dict(eigenvalues=ev, eps=1e-16)),
        "hessian_rank": (nearopt.hessian_rank, dict(W1=W1, W2=W2, activation="quadratic", X=X, tol=None,
                                                    method="auto", info=False)),
        "effective_parameters": (nearopt.effective_parameters, dict(activation=(0, 1, 1), n_in=3, n_hidden=2)),
        "tangent_rank": (nearopt.tangent_rank, dict(degrees=(1, 2), n_in=3, n_hidden=2, seed=0, trials=1)),
        "symmetric_dim": (nearopt.symmetric_dim, dict(n_in=3, degree=2)),
        "perturb": (nearopt.perturb, dict(W1=W1, W2=W2, sigma0=1e-3, seed=0)),
        "descend": (nearopt.descend, dict(W1=W1, W2=W2, activation="erf", X=X, sigma0=1e-3, lr=0.1, steps=3,
                                          seed=0, eigenvalues=None, return_params=False)),
        "flow": (nearopt.flow, dict(W1=W1, W2=W2, activation="erf", times=[0.0, 0.1], X=X, sigma0=1e-3, seed=0,
                                    rtol=1e-6, atol=1e-10)),
        "predict_descent": (nearopt.predict_descent, dict(W1=W1, W2=W2, activation="erf", X=X, sigma0=1e-3,
                                                          lr=0.1, steps=3, seed=0)),
        "quadratic_loss": (nearopt.quadratic_loss, dict(eigenvalues=ev, coefficients=ev, steps=[0, 1], lr=0.1)),
        "quadratic_loss t": (nearopt.quadratic_loss, dict(eigenvalues=ev, coefficients=ev, t=[0.0, 1.0])),
        "expected_loss": (nearopt.expected_loss, dict(eigenvalues=ev, sigma0=1e-3, t=[0.0, 1.0])),
        "late_time_rate": (nearopt.late_time_rate, dict(eigenvalues=ev, lr=0.1, tol=None)),
        "fit_rate": (nearopt.fit_rate, dict(losses=np.exp(-np.arange(10.0)), start=1, stop=8, dt=1.0)),
        "stability_limit": (nearopt.stability_limit, dict(eigenvalues=ev)),
        "set_memory_budget": (nearopt.set_memory_budget, dict(nbytes=2**30)),
        "to_numpy": (nearopt.to_numpy, dict(x=ev)),
        "backend_name": (nearopt.backend_name, dict(xp=None)),
    }


SPEC = _spec()
CALLS = [(name, arg) for name, (_, kw) in SPEC.items() for arg in kw]


def _finite_or_structured(r):
    """Results made of numbers must be finite; objects (operators, densities, RankInfo, strings) pass."""
    if r is None or isinstance(r, (str, nearopt.SpectralDensity, nearopt.RankInfo, nearopt.Activation)):
        return True
    if hasattr(r, "shape") and hasattr(r, "matvec"):
        return True
    if isinstance(r, (tuple, list)):
        return all(_finite_or_structured(x) for x in r)
    if isinstance(r, dict):
        return all(_finite_or_structured(x) for x in r.values())
    if isinstance(r, (int, float, np.number)):
        return math.isfinite(r) or r == math.inf  # stability_limit may be inf for λ_max ≤ 0
    return finite(r)


@pytest.mark.parametrize("name,arg", CALLS, ids=[f"{n}-{a}" for n, a in CALLS])
def test_hostile_arguments_get_a_clear_error(name, arg):
    f, kw = SPEC[name]
    try:
        for bad in BAD_VALUES:
            args = dict(kw, **{arg: bad})
            r = outcome(lambda: f(**args))
            if isinstance(r, BaseException):
                # the message must name the argument (or, for wrongly typed containers, the nested one)
                continue
            if name != "to_numpy":  # a converter: NaN in, NaN out is correct
                assert _finite_or_structured(r), f"{name}({arg}={bad!r}) returned a non-finite result"
    finally:
        nearopt.set_memory_budget(None)


@pytest.mark.parametrize("name", ["hessian", "spectrum", "hessian_rank", "jacobian", "loss", "hvp", "descend"])
def test_error_names_the_parameter(name):
    """A bad argument's error message names it."""
    f, kw = SPEC[name]
    for arg, bad in (("W1", np.full((2, 3), np.nan)), ("W2", np.ones(5)), ("X", np.ones((4, 7))),
                     ("W1", np.ones((2, 3)) * 1j), ("activation", "relu")):
        if arg not in kw:
            continue
        with pytest.raises(ALLOWED) as info:
            f(**dict(kw, **{arg: bad}))
        assert arg in str(info.value), f"{name}: {info.value}"


def test_specific_class4_crashes_are_fixed():
    # linear batch spectrum with W2 ≈ 0 and Nh < Ni (was a Cholesky failure)
    W1, _ = nearopt.sample_teacher(6, 2, seed=0)
    X = nearopt.sample_inputs(50, 6, seed=1)
    ev = nearopt.spectrum(W1, np.zeros(2), "linear", X)
    dense = np.linalg.eigvalsh(np.asarray(nearopt.hessian(W1, np.zeros(2), "linear", X)))
    assert np.allclose(ev, dense, atol=1e-12 * max(1.0, dense.max()))
    # a diverging population descent reports inf losses (not a weight-validation error)
    A, b = nearopt.sample_teacher(3, 3, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        L = nearopt.descend(A, b, "cubic", sigma0=0.5, lr=50.0, steps=200)
    assert L.shape == (201,) and np.isinf(L[-1])
    # user activations returning the wrong thing
    for bad in (lambda z: None, lambda z: z[:1], lambda z: "x"):
        with pytest.raises(ValueError, match="custom activation 'bad'"):
            nearopt.hessian(A, b, nearopt.Custom(bad, np.cos, np.sin, name="bad"), X[:, :3])
    # fit_rate(dt=0) and a wrong teacher argument
    with pytest.raises(ValueError, match="dt must be a finite number > 0"):
        nearopt.fit_rate(np.exp(-np.arange(5.0)), dt=0)
    with pytest.raises(ValueError, match="teacher must be a pair"):
        nearopt.loss(A, b, "erf", 3)
    with pytest.raises(ValueError, match="teacher must be a pair"):
        nearopt.gradient(A, b, "erf", (A,))


def test_unbounded_requests_are_refused_up_front():
    A, b = nearopt.sample_teacher(2, 2, seed=0)
    with pytest.raises(ValueError, match="times must end before t ="):
        nearopt.flow(A, b, "erf", [0.0, 1e12])
    with pytest.raises(ValueError, match="times must contain only finite values"):
        nearopt.flow(A, b, "erf", [0.0, np.inf])
    with pytest.raises(ValueError, match=r"steps must be an integer in \[0, 10000000\]"):
        nearopt.descend(A, b, "erf", steps=10**9)
    # mixed polynomial at Ni = 20: the size check comes before any enumeration (was minutes)
    with pytest.raises(ValueError, match="tangent matrix is too large"):
        nearopt.effective_parameters((0, 1, 1, 1, 1), 20, 400)


def test_large_weights_overflow_error_states_the_safe_range():
    W1, W2 = nearopt.sample_teacher(3, 2, seed=0)
    with pytest.raises(ValueError, match=r"overflowed float64.*below about"):
        nearopt.hessian(W1 * 1e200, W2, "cubic")
    # erf saturates: the batch Hessian stays finite where the population one cannot be evaluated
    H = nearopt.hessian(W1 * 1e200, W2, "erf", nearopt.sample_inputs(5, 3))
    assert np.all(np.isfinite(H))

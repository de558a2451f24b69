"""The core numerics on array-api-strict: a call that would break on CuPy (or any non-NumPy array
library) fails here, on the CPU, without a GPU.  Results must equal the NumPy path."""
import numpy as np
import pytest

import nearopt

xps = pytest.importorskip("array_api_strict")


def S(a):
    return xps.asarray(np.asarray(a), dtype=xps.float64)


def N(a):
    return np.asarray(nearopt.to_numpy(a))


@pytest.fixture(scope="module")
def net():
    W1, W2 = nearopt.sample_teacher(3, 4, seed=0)
    X = nearopt.sample_inputs(30, 3, seed=1)
    return W1, W2, X


def close(a, b, tol=1e-12):
    a, b = N(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("act", ["linear", "cubic", "erf"])
def test_hessians(net, act):
    W1, W2, X = net
    close(nearopt.hessian(S(W1), S(W2), act), nearopt.hessian(W1, W2, act))
    close(nearopt.hessian(S(W1), S(W2), act, S(X)), nearopt.hessian(W1, W2, act, X))
    close(nearopt.jacobian(S(W1), S(W2), act, S(X)), nearopt.jacobian(W1, W2, act, X))
    Ws, Vs, _ = nearopt.perturb(W1, W2, 0.1, seed=2)
    close(nearopt.full_hessian(S(Ws), S(Vs), act, (S(W1), S(W2)), S(X)),
          nearopt.full_hessian(Ws, Vs, act, (W1, W2), X))
    close(nearopt.full_hessian(S(Ws), S(Vs), act, (S(W1), S(W2))), nearopt.full_hessian(Ws, Vs, act, (W1, W2)))


def test_strict_result_type(net):
    W1, W2, X = net
    H = nearopt.hessian(S(W1), S(W2), "erf", S(X))
    assert type(H).__module__.startswith("array_api_strict")


@pytest.mark.parametrize("act,method,batch", [
    ("linear", "linear", False), ("linear", "linear", True), ("erf", "dense", False),
    ("erf", "ntk", True), ("quadratic", "auto", True)])
def test_spectra(net, act, method, batch):
    W1, W2, X = net
    Xs, Xn = (S(X[:10]), X[:10]) if batch else (None, None)
    close(nearopt.spectrum(S(W1), S(W2), act, Xs, method=method), nearopt.spectrum(W1, W2, act, Xn, method=method))


@pytest.mark.parametrize("act", ["quadratic", "erf"])
def test_rank_hvp_ntk_loss(net, act):
    W1, W2, X = net
    assert nearopt.hessian_rank(S(W1), S(W2), act) == nearopt.hessian_rank(W1, W2, act)
    assert nearopt.hessian_rank(S(W1), S(W2), act, S(X)) == nearopt.hessian_rank(W1, W2, act, X)
    v = np.linspace(-1, 1, 16)
    close(nearopt.hvp(S(W1), S(W2), act, S(X), S(v)), nearopt.hvp(W1, W2, act, X, v))
    close(nearopt.ntk(S(W1), S(W2), act, S(X)), nearopt.ntk(W1, W2, act, X))
    Ws, Vs, _ = nearopt.perturb(W1, W2, 0.1, seed=3)
    close(nearopt.gradient(S(Ws), S(Vs), act, (S(W1), S(W2))), nearopt.gradient(Ws, Vs, act, (W1, W2)))
    close(nearopt.gradient(S(Ws), S(Vs), act, (S(W1), S(W2)), S(X)), nearopt.gradient(Ws, Vs, act, (W1, W2), X))
    assert abs(float(nearopt.loss(S(Ws), S(Vs), act, (S(W1), S(W2)))) - float(nearopt.loss(Ws, Vs, act, (W1, W2)))) < 1e-14


def test_descend_on_strict(net):
    W1, W2, _ = net
    a = nearopt.descend(S(W1), S(W2), "erf", sigma0=1e-3, lr=0.5, steps=5)
    b = nearopt.descend(W1, W2, "erf", sigma0=1e-3, lr=0.5, steps=5)
    assert np.allclose(a, b, rtol=1e-12)

"""The computations the benchmark times: one factory per route, ``make(params) -> run``.

``run()`` is a zero-argument callable returning the route's result (eigenvalues, or a matrix for the
Hessian-assembly case).  Inputs are built inside the factory, outside the timed call, from fixed seeds, so a
child process (``run.py --serve``) rebuilds exactly the same inputs.  Torch is imported only by the torch
routes.  Which route belongs to which case, with its cost and memory estimates, is in ``cases.py``.
"""
from __future__ import annotations

import math

import numpy as np

import nearopt

MC_CHUNK = 20_000       # rows of X per Monte-Carlo chunk (bounds the Jacobian to MC_CHUNK × P)
AUTODIFF_BYTES_PER = 10 * 8  # measured: peak ≈ 10 float64 (P, N, Nh) tangent tensors in torch.func.hessian


def teacher(ni, nh, seed=0):
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=seed)
    return np.asarray(W1), np.asarray(W2)


def inputs(n, ni, seed=1):
    return np.asarray(nearopt.sample_inputs(n, ni, seed=seed))


def n_params(p):
    return p["nh"] * (p["ni"] + 1)


# ----------------------------------------------------------------------------- torch helpers
def _torch():
    import torch
    return torch


def _torch_model(torch, nh, ni):
    """y(x) = W2 · erf(W1 x / √2), θ = (vec W1 row-major, W2): the library's model, written by hand."""
    s2 = math.sqrt(2.0)

    def f(theta, X):
        W1 = theta[: nh * ni].reshape(nh, ni)
        return torch.erf((X @ W1.T) / s2) @ theta[nh * ni:]
    return f


def _torch_setup(p, n):
    torch = _torch()
    W1, W2 = teacher(p["ni"], p["nh"])
    X = inputs(n, p["ni"])
    th = torch.tensor(np.concatenate([W1.ravel(), W2]), dtype=torch.float64)
    Xt = torch.tensor(X, dtype=torch.float64)
    return torch, th, Xt, _torch_model(torch, p["nh"], p["ni"])


def autodiff_chunk(p, mem_limit):
    """None (plain ``torch.func.hessian``) when its estimated peak fits ``mem_limit``, else the number of
    basis vectors per chunk of the same forward-over-reverse computation (vmap ``chunk_size``)."""
    P = n_params(p)
    per_vec = AUTODIFF_BYTES_PER * p["n"] * p["nh"]
    if P * per_vec <= mem_limit:
        return None
    return max(1, int(mem_limit // (2 * per_vec)))


def make_torch_autodiff(p):
    """What a user writes by hand: the Hessian of the batch MSE loss by autodiff, then eigvalsh.

    At the optimum (student = teacher) the residual is exactly 0, so this Hessian is JᵀJ/N.  With
    ``p["chunk"]`` set, the same forward-over-reverse product (``torch.func.hessian`` is jacfwd(jacrev)) is
    evaluated in vmap chunks of basis vectors to bound memory.
    """
    torch, th, Xt, f = _torch_setup(p, p["n"])
    y = f(th, Xt).detach()

    def loss(t):
        r = f(t, Xt) - y
        return 0.5 * torch.mean(r * r)

    chunk = p.get("chunk")
    if chunk is None:
        def run():
            return torch.linalg.eigvalsh(torch.func.hessian(loss)(th)).numpy()
    else:
        g = torch.func.grad(loss)

        def col(v):
            return torch.func.jvp(g, (th,), (v,))[1]

        def run():
            H = torch.func.vmap(col, chunk_size=chunk)(torch.eye(th.shape[0], dtype=torch.float64))
            return torch.linalg.eigvalsh(H).numpy()
    return run


def make_torch_jtj(p):
    """Per-sample Jacobian by ``vmap(jacrev)``, then H = JᵀJ/N and ``torch.linalg.eigvalsh``."""
    torch, th, Xt, f = _torch_setup(p, p["n"])
    n = p["n"]
    jac = torch.func.vmap(torch.func.jacrev(lambda t, x: f(t, x[None])[0]), in_dims=(None, 0))

    def run():
        J = jac(th, Xt)
        return torch.linalg.eigvalsh((J.T @ J) / n).numpy()
    return run


# ----------------------------------------------------------------------------- case 1: batch spectrum
def make_spectrum_batch(p):
    W1, W2 = teacher(p["ni"], p["nh"])
    X = inputs(p["n"], p["ni"])
    return lambda: np.asarray(nearopt.spectrum(W1, W2, "erf", X))


def make_floor(p):
    """The floor: one bare JᵀJ product of the same (N × P) shape (syrk, as NumPy dispatches `J.T @ J`)
    plus one ``numpy.linalg.eigvalsh`` of the P × P result.  J is built outside the timed call."""
    W1, W2 = teacher(p["ni"], p["nh"])
    J = np.asarray(nearopt.jacobian(W1, W2, "erf", inputs(p["n"], p["ni"])))
    n = p["n"]

    def run():
        H = J.T @ J
        return np.linalg.eigvalsh(H) / n
    return run


# ----------------------------------------------------------------------------- case 2: linear population
def make_linear_closed(p):
    W1, W2 = teacher(p["ni"], p["nh"])
    return lambda: np.asarray(nearopt.spectrum(W1, W2, "linear"))


def make_linear_dense(p):
    W1, W2 = teacher(p["ni"], p["nh"])
    return lambda: np.asarray(nearopt.spectrum(W1, W2, "linear", method="dense"))


# ----------------------------------------------------------------------------- case 3: population Hessian
def make_pop_hessian(p):
    W1, W2 = teacher(p["ni"], p["nh"])
    return lambda: np.asarray(nearopt.hessian(W1, W2, "erf"))


def make_pop_eig(p):
    W1, W2 = teacher(p["ni"], p["nh"])
    H = np.asarray(nearopt.hessian(W1, W2, "erf"))
    return lambda: np.linalg.eigvalsh(H)


def make_mc_hessian(p):
    """Monte-Carlo estimate of the population Hessian: the batch Hessian JᵀJ/N on N fresh Gaussian
    inputs (sampling included), accumulated over chunks of MC_CHUNK rows to bound memory."""
    W1, W2 = teacher(p["ni"], p["nh"])
    n = p["n_mc"]

    def run():
        X = inputs(n, p["ni"], seed=7)
        H = None
        for s in range(0, n, MC_CHUNK):
            Xc = X[s:s + MC_CHUNK]
            Hc = np.asarray(nearopt.hessian(W1, W2, "erf", Xc)) * (Xc.shape[0] / n)
            H = Hc if H is None else H + Hc
        return H
    return run


# ----------------------------------------------------------------------------- case 4: SLQ (its exact
# reference is make_spectrum_batch)
def make_slq(p):
    W1, W2 = teacher(p["ni"], p["nh"])
    X = inputs(p["n"], p["ni"])

    def run():
        d = nearopt.slq_density(W1, W2, "erf", X, n_probes=p["probes"], n_steps=p["steps"], seed=3)
        return np.stack([d.nodes, d.weights])
    return run

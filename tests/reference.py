"""Independent reference implementations for the tests (deliberately written differently from nearopt).

Derivatives by the complex-step method: f'(θ)·e_i = Im f(θ + i h e_i) / h, exact to rounding for the
analytic functions used here (polynomials, tanh and erf via scipy.special.erf, which accepts complex).
"""
import numpy as np
from scipy.special import erf

G = {
    "linear": lambda z: z,
    "quadratic": lambda z: z ** 2,
    "cubic": lambda z: z ** 3,
    "quartic": lambda z: z ** 4,
    "erf": lambda z: erf(z / np.sqrt(2.0)),
    "tanh": np.tanh,
}


def net(theta, n_in, n_hidden, g, X):
    """y(x_μ) for a flat parameter vector θ = (vec(W1) row-major, W2); works with complex θ."""
    W1 = theta[: n_in * n_hidden].reshape(n_hidden, n_in)
    W2 = theta[n_in * n_hidden:]
    return np.einsum("j,mj->m", W2, g(np.einsum("jk,mk->mj", W1, X)))


def jacobian_cs(theta, n_in, n_hidden, g, X, h=1e-30):
    """Per-sample Jacobian by complex step, one parameter at a time."""
    P = theta.size
    J = np.empty((X.shape[0], P))
    for i in range(P):
        t = theta.astype(complex)
        t[i] += 1j * h
        J[:, i] = net(t, n_in, n_hidden, g, X).imag / h
    return J


def batch_loss(theta, theta_star, n_in, n_hidden, g, X):
    r = net(theta, n_in, n_hidden, g, X) - net(theta_star, n_in, n_hidden, g, X)
    return 0.5 * np.mean(r * r)


def grad_cs(theta, theta_star, n_in, n_hidden, g, X, h=1e-30):
    """∇L by complex step (independent of nearopt's analytic gradient)."""
    out = np.empty(theta.size)
    ts = theta_star.astype(complex)
    y_star = net(ts, n_in, n_hidden, g, X).real
    for i in range(theta.size):
        t = theta.astype(complex)
        t[i] += 1j * h
        r = net(t, n_in, n_hidden, g, X) - y_star
        out[i] = (0.5 * np.mean(r * r)).imag / h
    return out


def hessian_fd(theta, theta_star, n_in, n_hidden, g, X, h=1e-5):
    """Central finite differences of the complex-step gradient: error O(h²)."""
    P = theta.size
    H = np.empty((P, P))
    for j in range(P):
        e = np.zeros(P)
        e[j] = h
        H[:, j] = (grad_cs(theta + e, theta_star, n_in, n_hidden, g, X)
                   - grad_cs(theta - e, theta_star, n_in, n_hidden, g, X)) / (2 * h)
    return 0.5 * (H + H.T)

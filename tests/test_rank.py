"""Rank: the effective-parameter count against the brute-force numerical rank on a full grid."""
import math

import numpy as np
import pytest

import nearopt

DEGREES = {1: "linear", 2: "quadratic", 3: "cubic", 4: "quartic"}


def grid():
    """Degrees 1–4, Ni = 1…6, Nh from 1 to two past the saturation of min(Nh·Ni, C(Ni+p−1, p))."""
    for p, name in DEGREES.items():
        for ni in range(1, 7):
            sat = math.comb(ni + p - 1, p)
            nh_max = -(-sat // ni) + 2 if p > 1 else 3
            for nh in range(1, nh_max + 1):
                yield p, name, ni, nh


GRID = list(grid())


def test_grid_covers_alexander_hirschowitz_exceptions():
    pts = {(ni, p, nh) for p, _, ni, nh in GRID}
    assert nearopt.rank.AH_EXCEPTIONS <= pts
    assert len(GRID) > 150


@pytest.mark.parametrize("p,name,ni,nh", GRID, ids=[f"p{p}-ni{ni}-nh{nh}" for p, _, ni, nh in GRID])
def test_effective_parameters_equal_numerical_rank(p, name, ni, nh):
    """Closed form (Alexander–Hirschowitz) == numerical rank of the exact population Hessian.

    The numerical rank uses the factor route (singular values of A with H = AᵀA) whose gap between zero
    and nonzero singular values is many decades (asserted), so the decision is not borderline."""
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=1000 + 10 * nh + ni)
    info = nearopt.hessian_rank(W1, W2, name, info=True)
    assert info.rank == nearopt.effective_parameters(name, ni, nh)
    assert info.gap_decades > 6
    assert info.rank <= nh * (ni + 1)


@pytest.mark.parametrize("p,name,ni,nh", [g for g in GRID if g[2] <= 4])
def test_closed_form_equals_exact_tangent_rank(p, name, ni, nh):
    """The closed form against the exact (modular) tangent-space rank: an algebraic, float-free check."""
    assert nearopt.tangent_rank([p], ni, nh) == nearopt.effective_parameters(name, ni, nh)


def test_dense_eigen_route_agrees_where_gap_is_clear():
    """The eigenvalue route (float64 eigvalsh) agrees with the factor route whenever its own gap is > 10×."""
    checked = 0
    for p, name, ni, nh in GRID[::3]:
        W1, W2 = nearopt.sample_teacher(ni, nh, seed=1000 + 10 * nh + ni)
        e = nearopt.hessian_rank(W1, W2, name, method="eigen", info=True)
        if e.gap > 10:
            checked += 1
            assert e.rank == nearopt.hessian_rank(W1, W2, name, method="factor")
    assert checked > 30


@pytest.mark.parametrize("coeffs,ni,nh", [
    ([0, 1, 1], 3, 1), ([0, 1, 1], 3, 2), ([0, 1, 1], 3, 5), ([1, 0, 1], 4, 3),
    ([0, 1, 0, 1], 3, 4), ([0, 0, 1, 1], 3, 3), ([0, 1, 0, 0, 0.5], 2, 6), ([1, 1, 1, 1], 3, 6),
])
def test_mixed_polynomials(coeffs, ni, nh):
    act = nearopt.Polynomial(coeffs)
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=5)
    assert nearopt.hessian_rank(W1, W2, act) == nearopt.effective_parameters(act, ni, nh)


def test_mixed_polynomial_not_a_simple_min():
    """Mixed z + z²: per unit Ni + 1 directions, but the count is not min(P, Ni + Ni(Ni+1)/2) everywhere —
    the algebraic count and the measured rank decide (and agree)."""
    act = nearopt.Polynomial([0, 1, 1])
    for nh in range(1, 6):
        W1, W2 = nearopt.sample_teacher(3, nh, seed=nh)
        assert nearopt.hessian_rank(W1, W2, act) == nearopt.effective_parameters(act, 3, nh)


@pytest.mark.parametrize("ni,nh", [(1, 1), (2, 3), (3, 4), (5, 2)])
def test_erf_full_rank(ni, nh):
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=3, w1_var=1.0)
    info = nearopt.hessian_rank(W1, W2, "erf", info=True)
    assert info.rank == nh * (ni + 1) == nearopt.effective_parameters("erf", ni, nh)


@pytest.mark.parametrize("act", ["erf", "cubic", "linear"])
@pytest.mark.parametrize("n", [3, 10, 40])
def test_batch_rank_at_most_n(act, n):
    W1, W2 = nearopt.sample_teacher(4, 5, seed=2, w1_var=1.0)
    X = nearopt.sample_inputs(n, 4, seed=4)
    r = nearopt.hessian_rank(W1, W2, act, X)
    assert r <= min(n, 25)
    if act == "erf":
        assert r == min(n, 25)
    if act == "linear":
        assert r == min(n, 4)


def test_numerical_rank_tolerance_and_gap():
    ev = np.array([1e-20, -3e-17, 1e-3, 1.0, 2.0])
    info = nearopt.numerical_rank(ev)
    assert info.tol == pytest.approx(2.0 * 5 * np.finfo(float).eps)
    assert info.rank == 3 and info.gap == pytest.approx(1e-3 / 3e-17)
    assert info.lambda_min_pos == 1e-3
    # scale awareness: multiplying the spectrum does not change the rank
    assert nearopt.numerical_rank(ev * 1e8).rank == 3
    assert nearopt.numerical_rank(np.ones(4)).gap == np.inf
    # float32 precision: a larger tolerance drops the small eigenvalue
    assert nearopt.numerical_rank(np.array([1e-9, 1.0]), eps=np.finfo(np.float32).eps).rank == 1

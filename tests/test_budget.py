"""Budget sweep (issue 9): at a tiny memory budget every public function whose memory grows with its
arguments either refuses up front with MemoryBudgetError (having allocated almost nothing) or stays within
the budget, measured by tracemalloc (NumPy reports its allocations to it)."""
import tracemalloc

import numpy as np
import pytest

import nearopt
from conftest import make_net as net

BUDGET = 20 * 2**20
#: a refusal must come before the big allocation: at most this much traced while refusing
REFUSAL_SLACK = 2 * 2**20


@pytest.fixture
def tiny_budget(budget):
    budget(BUDGET)
    return budget


def measured(call):
    """('refused' | 'ran', traced peak in bytes) of call() with everything it needs built beforehand."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        call()
        outcome = "ran"
    except nearopt.MemoryBudgetError:
        outcome = "refused"
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return outcome, peak


def _teacher(W1, W2):
    return nearopt.perturb(W1, W2, 0.05, seed=5)[:2]


# (label, sizes, factory(size) -> zero-argument call); the sizes run from comfortably inside to far beyond
CASES = [
    ("sample_inputs", [1_000, 100_000, 2_000_000], lambda n: lambda: nearopt.sample_inputs(n, 10)),
    ("sample_teacher", [100, 3_000, 20_000], lambda n: lambda: nearopt.sample_teacher(n, n)),
    ("hessian population erf", [8, 40, 120], lambda nh: (lambda W1, W2, X: lambda: nearopt.hessian(
        W1, W2, "erf"))(*net(10, nh))),
    ("hessian population cubic", [8, 40, 120], lambda nh: (lambda W1, W2, X: lambda: nearopt.hessian(
        W1, W2, "cubic"))(*net(10, nh))),
    ("hessian batch", [500, 5_000, 50_000], lambda n: (lambda W1, W2, X: lambda: nearopt.hessian(
        W1, W2, "erf", X))(*net(10, 20, n))),
    ("full_hessian population", [8, 40, 120], lambda nh: (lambda W1, W2, X: lambda: nearopt.full_hessian(
        *_teacher(W1, W2), "cubic", (W1, W2)))(*net(10, nh))),
    ("full_hessian batch", [500, 5_000, 50_000], lambda n: (lambda W1, W2, X: lambda: nearopt.full_hessian(
        *_teacher(W1, W2), "erf", (W1, W2), X))(*net(10, 20, n))),
    ("jacobian", [1_000, 10_000, 100_000], lambda n: (lambda W1, W2, X: lambda: nearopt.jacobian(
        W1, W2, "erf", X))(*net(10, 20, n))),
    ("pair_moments", [10, 40, 100], lambda nh: (lambda W1, W2, X: lambda: nearopt.pair_moments(
        W1, W1, "erf", ("gg", "gdx", "ddxx", "gd2xx")))(*net(10, nh))),
    ("population_factor", [4, 6, 8], lambda ni: (lambda W1, W2, X: lambda: nearopt.population_factor(
        W1, W2, "cubic"))(*net(ni, 10))),
    ("hvp", [1, 16, 256], lambda m: (lambda W1, W2, X: lambda: nearopt.hvp(
        W1, W2, "erf", X, np.ones((W1.shape[0] * 11, m))))(*net(10, 40, 5_000))),
    ("hessian_operator", [2_000, 20_000, 200_000], lambda n: (lambda W1, W2, X: lambda: nearopt.hessian_operator(
        W1, W2, "erf", X) @ np.ones(W1.shape[0] * 11))(*net(10, 40, n))),
    ("ntk", [300, 1_000, 3_000], lambda n: (lambda W1, W2, X: lambda: nearopt.ntk(
        W1, W2, "erf", X))(*net(10, 40, n))),
    ("fisher Monte Carlo", [10, 1_000, 100_000], lambda s: (lambda W1, W2, X: lambda: nearopt.fisher(
        W1, W2, "erf", X, n_label_samples=s))(*net(10, 20, 2_000))),
    ("spectrum dense", [8, 40, 120], lambda nh: (lambda W1, W2, X: lambda: nearopt.spectrum(
        W1, W2, "erf"))(*net(10, nh))),
    ("spectrum ntk", [300, 1_000, 3_000], lambda n: (lambda W1, W2, X: lambda: nearopt.spectrum(
        W1, W2, "erf", X))(*net(10, 100, n))),
    ("spectrum linear", [100, 1_000, 4_000], lambda ni: (lambda W1, W2, X: lambda: nearopt.spectrum(
        W1, W2, "linear"))(*net(ni, 20))),
    ("hessian_rank", [8, 40, 120], lambda nh: (lambda W1, W2, X: lambda: nearopt.hessian_rank(
        W1, W2, "erf", X))(*net(10, nh, 1_000))),
    ("slq_density", [20, 200, 2_000], lambda m: (lambda W1, W2, X: lambda: nearopt.slq_density(
        W1, W2, "erf", X, n_probes=4, n_steps=m))(*net(30, 100, 500))),
    ("loss and gradient", [2_000, 20_000, 200_000], lambda n: (lambda W1, W2, X: lambda: nearopt.gradient(
        *_teacher(W1, W2), "erf", (W1, W2), X))(*net(10, 40, n))),
    ("population gradient", [20, 200, 600], lambda nh: (lambda W1, W2, X: lambda: nearopt.gradient(
        *_teacher(W1, W2), "cubic", (W1, W2)))(*net(10, nh))),
    ("descend steps", [10, 1_000_000, 10_000_000], lambda s: (lambda W1, W2, X: lambda: nearopt.descend(
        W1, W2, "linear", sigma0=0.0, lr=1e-3, steps=s, eigenvalues=[1.0]) if s > 1_000_000 else None)(
        *net(2, 2))),
    ("predict_descent", [100, 100_000, 1_000_000], lambda s: (lambda W1, W2, X: lambda: nearopt.predict_descent(
        W1, W2, "erf", steps=s))(*net(10, 10))),
    ("expected_loss", [100, 100_000, 10_000_000], lambda n: (lambda ev, t: lambda: nearopt.expected_loss(
        ev, 1e-3, t))(np.linspace(0, 1, 200), np.linspace(0, 10, n))),
    ("quadratic_loss", [100, 100_000, 1_000_000], lambda n: (lambda ev, s: lambda: nearopt.quadratic_loss(
        ev, ev, steps=s, lr=0.5))(np.linspace(0, 1, 300), np.arange(n))),
    ("SpectralDensity.pdf", [100, 10_000, 1_000_000], lambda n: (lambda d, x: lambda: d.pdf(x))(
        nearopt.SpectralDensity(np.linspace(0, 1, 500), np.ones(500)), np.linspace(0, 1, n))),
    ("tangent_rank", [3, 6, 9], lambda ni: lambda: nearopt.tangent_rank((2, 3), ni, 4)),
]


@pytest.mark.parametrize("label,sizes,factory", CASES, ids=[c[0] for c in CASES])
def test_refused_or_within_budget(tiny_budget, label, sizes, factory):
    outcomes = []
    for size in sizes:
        nearopt.set_memory_budget(None)  # inputs are built outside the budget
        call = factory(size)
        nearopt.set_memory_budget(BUDGET)
        if call is None:
            continue
        outcome, peak = measured(call)
        outcomes.append(outcome)
        if outcome == "refused":
            assert peak <= REFUSAL_SLACK, f"{label} at size {size}: refused after allocating {peak / 2**20:.1f} MiB"
        else:
            assert peak <= BUDGET, f"{label} at size {size}: peak {peak / 2**20:.1f} MiB > budget 20 MiB"
    assert outcomes[0] == "ran", f"{label}: the smallest size should fit in 20 MiB"


def test_refusal_message_names_the_argument(tiny_budget):
    nearopt.set_memory_budget(None)
    W1, W2, X = net(10, 20, 200_000)
    nearopt.set_memory_budget(BUDGET)
    with pytest.raises(nearopt.MemoryBudgetError, match=r"more than the memory budget of 20\.0 MiB.*Reduce N"):
        nearopt.jacobian(W1, W2, "erf", X)
    with pytest.raises(nearopt.MemoryBudgetError, match="Reduce n_samples"):
        nearopt.sample_inputs(10**7, 10)
    with pytest.raises(nearopt.MemoryBudgetError, match="Reduce steps"):
        nearopt.predict_descent(*net(3, 3)[:2], "erf", steps=9_000_000)


@pytest.mark.parametrize("label", ["hessian erf", "hessian cubic", "full_hessian cubic", "full_hessian erf",
                                   "spectrum erf"])
def test_dense_routes_stay_within_their_own_estimate(label):
    """The refusal threshold is the estimate, so the measured peak must not exceed it (the population
    full_hessian used to peak at about 3× its estimate)."""
    from nearopt.gauss_newton import dense_hessian_bytes
    W1, W2, _ = net(8, 60)
    Ws, Vs, _ = nearopt.perturb(W1, W2, 0.05, seed=1)
    act = label.split()[1]
    call = {"hessian": lambda: nearopt.hessian(W1, W2, act),
            "full_hessian": lambda: nearopt.full_hessian(Ws, Vs, act, (W1, W2)),
            "spectrum": lambda: nearopt.spectrum(W1, W2, act)}[label.split()[0]]
    outcome, peak = measured(call)
    assert outcome == "ran" and peak <= dense_hessian_bytes(60 * 9)

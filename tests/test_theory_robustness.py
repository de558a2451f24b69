"""Property-based robustness of nearopt.theory (issue 9): every law and ks_distance, called with careless or
hostile parameters (magnitudes from 1e-300 to 1e300, NaN, inf, complex, wrong types, extreme sizes and seeds),
returns a finite, correct result or raises ValueError, TypeError or MemoryBudgetError — never NaN for a valid
call, never a NumPy warning (the book turns warnings into errors), never an unbounded allocation.

Bounded: derandomized, a few dozen examples per property, < 30 s in all.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import nearopt
from nearopt.theory import EmpiricalLaw, LinearSpectrumLaw, MarchenkoPastur, ScaledChi2, ks_distance

pytestmark = pytest.mark.timeout(120)      # a hang fails instead of stalling the suite

REFUSED = (ValueError, TypeError, nearopt.MemoryBudgetError)
FAST = settings(derandomize=True, max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOWER = settings(FAST, max_examples=25)

# magnitudes over the whole float64 range, both signs, and the special values
MAGNITUDES = st.sampled_from([1e-300, 1e-200, 1e-100, 1e-12, 1e-3, 0.5, 1.0, 3.0, 1e3, 1e12, 1e100, 1e200, 1e300])
REALS = st.one_of(
    MAGNITUDES, MAGNITUDES.map(lambda v: -v),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 2.2e-308, 1.7e308]),
)
JUNK = st.sampled_from([None, "1.0", b"2", 1 + 2j, np.complex128(1.0), True, np.bool_(False), [1.0, 2.0],
                        np.array([1.0, 2.0]), object(), {}, (1.0,)])
PARAM = st.one_of(REALS, REALS, st.integers(-10, 10 ** 6), JUNK)
SIZES = st.one_of(st.integers(-5, 10 ** 6), st.sampled_from([2 ** 53, 2 ** 60, 10 ** 400]),
                  st.sampled_from([2.0, 3.5, "4", None, True, 1j]))
SEEDS = st.one_of(st.none(), st.integers(-3, 2 ** 64), st.sampled_from([2.5, "0", True, 1j, [1, 2]]))
PROBE_P = np.array([0.0, 1e-12, 0.01, 0.3, 0.5, 0.9, 0.999, 1.0])


def _call(fn, *args, **kw):
    """``fn(...)`` with every warning an error; a refusal returns None."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return fn(*args, **kw)
        except REFUSED:
            return None


def _probe_points(law):
    lo, hi = law.support()
    m, sd = law.mean(), math.sqrt(law.var())
    pts = [lo, hi, m, m - sd, m + sd, 0.0, -1.0, 1.0, math.inf, -math.inf, 1e300, -1e300]
    return np.array([p for p in pts if not math.isnan(p)])


def _check_law(law, n_rvs=7, seed=0, ppf=True):
    """Invariants every law must satisfy; they raise nothing and produce no NaN for non-NaN input."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(law.mean()) and math.isfinite(law.var()) and law.var() >= 0
        lo, hi = law.support()
        assert not math.isnan(lo) and not math.isnan(hi) and lo <= hi
        x = np.sort(_probe_points(law))
        pdf, cdf, left = law.pdf(x), law.cdf(x), law.cdf_left(x)
        assert not np.any(np.isnan(pdf)) and np.all(pdf >= 0)
        assert np.all((cdf >= 0) & (cdf <= 1)) and np.all(np.diff(cdf) >= -1e-12)
        assert np.all(left <= cdf + 1e-12)
        assert cdf[-1] == 1.0 and cdf[0] == 0.0                    # at +inf and -inf
        assert np.isnan(law.cdf(np.nan)) and np.isnan(law.pdf(np.nan))
        if ppf:
            q = law.ppf(PROBE_P)
            assert not np.any(np.isnan(q)) and np.all(np.diff(q) >= 0)
            assert np.all((q >= lo) & (q <= hi))
            assert np.all(np.isnan(law.ppf([-0.1, 1.1, np.nan])))
        r = law.rvs(n_rvs, seed=seed)
        assert r.shape == (n_rvs,) and np.all(np.isfinite(r))
        assert np.all((r >= lo) & (r <= hi))
        assert np.array_equal(r, law.rvs(n_rvs, seed=seed))


# ----------------------------------------------------------------------------- Marchenko-Pastur
@FAST
@given(PARAM, PARAM, PARAM)
def test_marchenko_pastur_any_parameters(ratio, scale, loc):
    law = _call(MarchenkoPastur, ratio, scale, loc)
    if law is None:
        return
    _check_law(law)
    assert law.atoms() == (((law.loc, law.atom),) if law.atom > 0 else ())


@FAST
@given(st.floats(1e-3, 1e3), st.floats(1e-100, 1e100), st.floats(-10.0, 10.0))
def test_marchenko_pastur_quantiles_invert_the_cdf(ratio, scale, loc_in_scales):
    """Correctness over a wide range: cdf(ppf(p)) = p on the continuous part, and the law of loc + s·Y
    is the law of Y moved and stretched (scipy's loc/scale convention)."""
    law = MarchenkoPastur(ratio, scale, loc_in_scales * scale)
    p = np.linspace(law.atom, 1.0, 23)[1:-1]
    np.testing.assert_allclose(law.cdf(law.ppf(p)), p, atol=1e-9)
    unit = MarchenkoPastur(ratio)
    y = np.linspace(-0.5, unit.upper_edge + 0.5, 41)
    np.testing.assert_allclose(law.cdf(law.loc + scale * y), unit.cdf(y), atol=1e-9)


# ----------------------------------------------------------------------------- scaled chi-square
@FAST
@given(PARAM, PARAM)
def test_scaled_chi2_any_parameters(df, scale):
    law = _call(ScaledChi2, df, scale)
    if law is None:
        return
    # ppf(1) is +inf by definition (unbounded support); check the rest
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = law.ppf(PROBE_P[:-1])
        assert np.all(np.isfinite(q)) and np.all(q >= 0) and law.ppf(1.0) == math.inf
    _check_law(law, ppf=False)


@FAST
@given(st.floats(0.1, 1e6), st.floats(1e-100, 1e100))
def test_scaled_chi2_agrees_with_scipy(df, scale):
    law, ref = ScaledChi2(df, scale), stats.chi2(df, scale=scale)
    x = ref.ppf([0.3, 0.5, 0.99])
    np.testing.assert_allclose(law.cdf(x), [0.3, 0.5, 0.99], rtol=1e-9)
    assert law.mean() == pytest.approx(ref.mean(), rel=1e-12)


# ----------------------------------------------------------------------------- the ensemble law
COUNTS = st.one_of(st.integers(1, 400), st.sampled_from([10 ** 6, 10 ** 9, 2 ** 53]), st.integers(-3, 0), JUNK)
VARS = st.one_of(st.none(), MAGNITUDES, REALS, JUNK)
NODES = st.one_of(st.none(), st.integers(-2, 3000), st.sampled_from([10 ** 6 + 1, 10 ** 12, 2.0, "7"]))


@SLOWER
@given(COUNTS, COUNTS, VARS, VARS, NODES)
def test_linear_spectrum_law_any_parameters(n_in, n_hidden, w1_var, w2_var, n_nodes):
    law = _call(LinearSpectrumLaw, n_in, n_hidden, w1_var, w2_var, n_nodes=n_nodes)
    if law is None:
        return
    _check_law(law, ppf=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = law.ppf([0.0, 0.5, 1.0])
        assert q[0] == law.support()[0] and math.isfinite(q[1]) and q[2] == math.inf


@SLOWER
@given(st.integers(1, 60), st.integers(1, 60))
def test_linear_spectrum_law_mean_matches_monte_carlo(n_in, n_hidden):
    """Correctness: the sample mean of rvs (C + M drawn independently) within 6 standard errors of the
    closed-form mean, and the pdf integrates to one (trapezoid on a fine grid, tolerance 1e-3)."""
    law = LinearSpectrumLaw(n_in, n_hidden)
    r = law.rvs(4000, seed=1)
    assert abs(r.mean() - law.mean()) < 6 * math.sqrt(law.var() / r.size)
    x = np.linspace(0.0, law.mean() + 12 * math.sqrt(law.var()), 4001)
    # X = C + M with M <= b, so P(X > t) <= P(C > t - b): a bound from scipy's chi-square alone
    tail = stats.chi2(n_hidden, scale=1.0 / n_hidden).sf(x[-1] - law.mp.upper_edge)
    assert 1.0 - tail - 1e-12 <= law.cdf(x[-1]) <= 1.0
    if n_hidden >= 3:       # chi-square density bounded at 0: the trapezoid rule applies
        f = law.pdf(x)
        assert float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(x))) == pytest.approx(1.0, abs=1e-3)


# ----------------------------------------------------------------------------- samplers: size and seed
@FAST
@given(SIZES, SEEDS, st.sampled_from(["seed", "random_state"]))
def test_rvs_any_size_and_seed(size, seed, keyword):
    law = MarchenkoPastur(2.0, 0.5)
    nearopt.set_memory_budget(64 * 2 ** 20)
    try:
        r = _call(law.rvs, size, **{keyword: seed})
    finally:
        nearopt.set_memory_budget(None)
    if r is None:
        return
    assert np.all(np.isfinite(r)) and np.shape(r) == (() if size is None else (size,))


# ----------------------------------------------------------------------------- ks_distance
SAMPLES = st.one_of(
    st.lists(REALS, min_size=0, max_size=30),
    st.lists(MAGNITUDES, min_size=1, max_size=30),
    st.lists(st.floats(-5, 30), min_size=1, max_size=50),
    JUNK,
    st.sampled_from([np.array([1.0 + 1.0j]), np.array(["a"]), np.zeros((3, 0)), np.ones((2, 3))]),
)
LAWS = st.sampled_from([MarchenkoPastur(2.0), MarchenkoPastur(0.5, 3.0, loc=-1.0), ScaledChi2(3, 0.5),
                        LinearSpectrumLaw(6, 4), EmpiricalLaw([0.0, 1.0, 1.0, 7.0]), stats.norm(),
                        None, object(), "law"])
RTOLS = st.one_of(st.sampled_from([0.0, 1e-9, 1e-3, 1.0]), REALS, JUNK)


@FAST
@given(SAMPLES, LAWS, RTOLS)
def test_ks_distance_any_input(samples, law, atom_rtol):
    d = _call(ks_distance, samples, law, atom_rtol)
    if d is None:
        return
    assert isinstance(d, float) and 0.0 <= d <= 1.0


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), st.lists(st.floats(-1e6, 1e6), min_size=1,
                                                                          max_size=40))
def test_ks_distance_two_sample_is_scipy(a, b):
    """Correctness against an independent implementation: scipy's two-sample statistic."""
    with warnings.catch_warnings():           # scipy's p-value (unused here) warns for tiny samples
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = stats.ks_2samp(a, b, method="asymp").statistic
    assert ks_distance(a, EmpiricalLaw(b), atom_rtol=0) == pytest.approx(expected, abs=1e-12)


def test_suite_leaves_the_budget_alone():
    assert nearopt.backend._budget_override is None

"""Tests for nearopt.theory: Marchenko-Pastur, scaled chi-square, their
convolution (the ensemble Hessian law of the linear network) and ks_distance.

Expected values come from the formulas written out here, from scipy
(quad, chi2, kstest), from hand computation or from Monte Carlo on sampled
Gaussian weights -- never from the code under test.
"""

import contextlib
import math
import warnings

import numpy as np
import pytest
from scipy import integrate, special, stats

from nearopt.theory import (
    EmpiricalLaw,
    LinearSpectrumLaw,
    MarchenkoPastur,
    ScaledChi2,
    ShiftedMarchenkoPastur,
    ks_distance,
)

@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """Many small eigvalsh calls are much slower with a multi-threaded BLAS on a
    busy machine; limit BLAS to one thread when threadpoolctl is available."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        ctx = contextlib.nullcontext()
    else:
        ctx = threadpool_limits(limits=1, user_api="blas")
    with ctx:
        yield


# ---------------------------------------------------------------------------
# independent reference formulas (written from the book's definitions)
# ---------------------------------------------------------------------------


def ref_mp(q, s):
    """(a, b, atom, continuous density) of MP(ratio q, scale s)."""
    a = s * (1.0 - math.sqrt(q)) ** 2
    b = s * (1.0 + math.sqrt(q)) ** 2
    atom = 1.0 - 1.0 / q if q > 1 else 0.0

    def f(x):
        return math.sqrt(max((b - x) * (x - a), 0.0)) / (2.0 * math.pi * s * q * x)

    return a, b, atom, f


def quad(f, lo, hi, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(f, lo, hi, limit=500, epsabs=1e-13, epsrel=1e-12, **kw)[0]


def ref_chi2(df, scale, kind):
    """Scalar density / CDF of scale * chi^2_df (textbook formulas; fast for quad)."""
    k2 = 0.5 * df
    if kind == "pdf":
        def kern(y):
            if y <= 0.0:
                return 0.0
            z = y / scale
            return math.exp((k2 - 1.0) * math.log(z) - 0.5 * z - k2 * math.log(2.0)
                            - math.lgamma(k2)) / scale
    else:
        def kern(y):
            return float(special.gammainc(k2, 0.5 * y / scale)) if y > 0.0 else 0.0
    return kern


def ref_conv(n_in, n_hidden, w1_var, w2_var, x, kind):
    """atom*K(x) + int K(x - m) f_MP(m) dm, K = chi2 pdf or cdf, by scipy quad."""
    q, s = n_in / n_hidden, n_hidden * w1_var
    a, b, atom, f = ref_mp(q, s)
    kern = ref_chi2(n_hidden, w2_var, kind)
    hi = min(b, x)
    integral = quad(lambda m: kern(x - m) * f(m), a, hi) if hi > a else 0.0
    return atom * kern(x) + integral


def wishart_eigs(n_in, n_hidden, reps, rng, w1_var=None):
    """Pooled eigenvalues of W1^T W1, W1 (n_hidden x n_in) iid N(0, w1_var)."""
    w1_var = 1.0 / n_in if w1_var is None else w1_var
    out = []
    for _ in range(reps):
        w1 = rng.normal(0.0, math.sqrt(w1_var), size=(n_hidden, n_in))
        lam = np.linalg.eigvalsh(w1.T @ w1)
        # exact zeros come out of eigvalsh as +-1e-15-sized numbers; set them to
        # 0 so that they sit on the atom (relative threshold far below the
        # smallest nonzero eigenvalue, which is ~ s (1 - sqrt q)^2).
        lam[np.abs(lam) < 1e-9 * lam.max()] = 0.0
        out.append(lam)
    return np.concatenate(out)


QS = [0.1, 0.5, 1.0, 2.0, 5.0]


# ---------------------------------------------------------------------------
# Marchenko-Pastur: analytic checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("q", QS)
def test_mp_pdf_integrates_to_one_minus_atom(q):
    s = 1.7
    a, b, atom, _ = ref_mp(q, s)
    mp = MarchenkoPastur(q, s)
    assert mp.atom == pytest.approx(atom, abs=1e-15)
    assert quad(mp.pdf, a, b) == pytest.approx(1.0 - atom, abs=1e-8)
    # nothing outside the support
    assert np.all(mp.pdf([a - 1e-3, b + 1e-3, -1.0, 10 * b]) == 0.0)


@pytest.mark.parametrize("q", QS)
def test_mp_pdf_matches_formula(q):
    s = 0.8
    a, b, _, f = ref_mp(q, s)
    xs = np.linspace(a, b, 41)[1:-1]
    np.testing.assert_allclose(MarchenkoPastur(q, s).pdf(xs), [f(x) for x in xs], rtol=1e-12)


@pytest.mark.parametrize("q", QS)
def test_mp_cdf_is_integral_of_pdf_plus_atom(q):
    s = 2.3
    a, b, atom, f = ref_mp(q, s)
    mp = MarchenkoPastur(q, s)
    for x in np.linspace(a, b, 9)[1:-1]:
        expected = atom + quad(f, a, x)
        assert mp.cdf(x) == pytest.approx(expected, abs=1e-9)
    assert mp.cdf(b) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("q", QS)
def test_mp_cdf_monotone_and_limits(q):
    s = 1.3
    a, b, atom, _ = ref_mp(q, s)
    mp = MarchenkoPastur(q, s)
    xs = np.linspace(-1.0, b + 1.0, 5001)
    c = mp.cdf(xs)
    assert np.all(np.diff(c) >= 0.0)
    assert np.all(c[xs < 0.0] == 0.0)
    assert np.all(c[xs >= b] == 1.0)
    # jump of size atom at 0, flat on (0, a)
    assert mp.cdf(0.0) == pytest.approx(atom, abs=1e-15)
    assert mp.cdf_left(0.0) == 0.0
    if a > 0:
        assert mp.cdf(0.5 * a) == pytest.approx(atom, abs=1e-15)
    assert mp.support() == pytest.approx((0.0 if atom > 0 else a, b))


@pytest.mark.parametrize("q", QS)
def test_mp_moments_against_integrals(q):
    s = 1.9
    a, b, _, f = ref_mp(q, s)
    m1 = quad(lambda x: x * f(x), a, b)          # the atom sits at 0
    m2 = quad(lambda x: x * x * f(x), a, b)
    mp = MarchenkoPastur(q, s)
    assert mp.mean() == pytest.approx(m1, rel=1e-9)
    assert mp.var() == pytest.approx(m2 - m1 ** 2, rel=1e-9)


@pytest.mark.parametrize("q", QS)
def test_mp_ppf_inverts_cdf(q):
    mp = MarchenkoPastur(q, 0.7)
    a, b, atom, f = ref_mp(q, 0.7)
    p = np.linspace(0.0, 1.0, 201)
    x = mp.ppf(p)
    assert np.all(np.diff(x) >= 0.0)
    cont = p > atom
    # check against the reference integral, not against mp.cdf
    for pi, xi in zip(p[cont][::20], x[cont][::20]):
        assert atom + quad(f, a, xi) == pytest.approx(pi, abs=1e-9)
    np.testing.assert_allclose(mp.cdf(x[cont]), p[cont], atol=1e-10)
    assert np.all(x[(p > 0) & (p <= atom)] == 0.0)
    assert x[-1] == pytest.approx(b, rel=1e-14)
    assert np.all(np.isnan(mp.ppf([-0.1, 1.1])))


# ---------------------------------------------------------------------------
# Marchenko-Pastur: Monte Carlo on Wishart eigenvalues
# ---------------------------------------------------------------------------

# Finite-size effects: for N ~ 200-600 the expected empirical spectral CDF of a
# Wishart matrix differs from the MP limit by O(1/N) in the bulk and by edge
# fluctuations of width O(N^-2/3); eigenvalues within one realisation are
# rigid, so pooling a few realisations leaves sampling noise well below
# 1/sqrt(#eigenvalues).  Together these stay below ~0.01 (0.002-0.006 seen),
# hence the 0.03 tolerance; a 25% wrong scale gives 0.04-0.10.
@pytest.mark.parametrize("n_in, n_hidden, reps", [(200, 400, 10), (600, 200, 5)])
def test_mp_vs_wishart_monte_carlo(n_in, n_hidden, reps):
    rng = np.random.default_rng(12345 + n_in)
    lam = wishart_eigs(n_in, n_hidden, reps, rng)
    q, s = n_in / n_hidden, n_hidden / n_in   # default sigma1^2 = 1/n_in
    mp = MarchenkoPastur(q, s)
    assert ks_distance(lam, mp) < 0.03
    # a 25% wrong scale is detected by the same statistic
    assert ks_distance(lam, MarchenkoPastur(q, 1.25 * s)) > 0.03
    # exact count of zero eigenvalues = n_in - n_hidden per realisation
    atom = max(0.0, 1.0 - n_hidden / n_in)
    assert np.mean(lam == 0.0) == pytest.approx(atom, abs=1e-12)
    # mean per eigenvalue is exactly s; pooled variance is s^2 (q + 1/Nh)
    assert lam.mean() == pytest.approx(s, rel=0.01)
    assert lam.var() == pytest.approx(s * s * q, rel=0.03)
    assert mp.mean() == pytest.approx(s, rel=1e-14)
    assert mp.var() == pytest.approx(s * s * q, rel=1e-14)


@pytest.mark.parametrize("q", [0.5, 3.0])
def test_mp_rvs(q):
    n = 20000
    mp = MarchenkoPastur(q, 1.4)
    x = mp.rvs(size=n, random_state=7)
    _, _, atom, _ = ref_mp(q, 1.4)
    assert x.shape == (n,)
    assert ks_distance(x, mp) < 1.5 * 1.36 / math.sqrt(n)
    # atom frequency: binomial, 5 sigma
    assert np.mean(x == 0.0) == pytest.approx(atom, abs=5 * math.sqrt(0.25 / n) + 1e-12)
    # reproducibility with int seeds and Generators
    np.testing.assert_array_equal(mp.rvs(5, random_state=3), mp.rvs(5, random_state=3))
    np.testing.assert_array_equal(mp.rvs(5, np.random.default_rng(3)), mp.rvs(5, random_state=3))
    assert np.ndim(mp.rvs(random_state=1)) == 0


@pytest.mark.parametrize("make", [lambda q, s, loc: ShiftedMarchenkoPastur(q, s, loc),
                                  lambda q, s, loc: MarchenkoPastur(q, s, loc=loc),
                                  lambda q, s, loc: MarchenkoPastur(q, scale=s, loc=loc)])
def test_shifted_mp(make):
    """``loc`` as in scipy.stats: the law of loc + X, X ~ MP(q, s) (reference: the unshifted formula)."""
    q, s, shift = 2.5, 0.9, 1.75
    a, b, atom, f = ref_mp(q, s)
    law = make(q, s, shift)
    assert law.loc == shift and law.atoms() == ((shift, pytest.approx(atom)),)
    xs = np.linspace(a, b, 7)[1:-1]
    np.testing.assert_allclose(law.pdf(xs + shift), [f(x) for x in xs], rtol=1e-12)
    for x in xs:
        assert law.cdf(x + shift) == pytest.approx(atom + quad(f, a, x), abs=1e-9)
    assert law.cdf(shift) == pytest.approx(atom, abs=1e-15)
    assert law.cdf_left(shift) == 0.0
    assert law.cdf(shift - 1e-9) == 0.0
    assert law.mean() == pytest.approx(s + shift)
    assert law.var() == pytest.approx(s * s * q)
    assert law.support() == pytest.approx((shift, b + shift))
    x = law.rvs(4000, seed=0)
    assert x.min() == shift and x.max() <= b + shift
    assert ks_distance(x, law) < 1.5 * 1.36 / math.sqrt(x.size)
    assert law.ppf(0.5 * atom) == shift and law.ppf(1.0) == pytest.approx(b + shift, rel=1e-14)


def test_seed_keyword_and_scipy_alias():
    """``seed`` (the library's keyword, also positional) and ``random_state`` (scipy's) draw the same."""
    for law in (MarchenkoPastur(0.5, 2.0), ScaledChi2(3, 0.5), LinearSpectrumLaw(6, 4)):
        a = law.rvs(5, seed=3)
        np.testing.assert_array_equal(a, law.rvs(5, 3))
        np.testing.assert_array_equal(a, law.rvs(5, random_state=3))
        np.testing.assert_array_equal(a, law.rvs(5, seed=np.random.default_rng(3)))
        assert not np.array_equal(a, law.rvs(5, seed=4))
        with pytest.raises(TypeError, match="not both"):
            law.rvs(5, seed=3, random_state=3)


def test_atoms_protocol():
    assert MarchenkoPastur(2.0, 3.0).atoms() == ((0.0, 0.5),)
    assert MarchenkoPastur(0.5).atoms() == () and ScaledChi2(2, 1.0).atoms() == ()
    assert LinearSpectrumLaw(30, 10).atoms() == ()          # the MP atom is smeared by the chi-square
    emp = EmpiricalLaw([3.0, 1.0, 3.0, 2.0])
    np.testing.assert_array_equal(emp.atoms(), [(1.0, 0.25), (2.0, 0.25), (3.0, 0.5)])
    assert emp.support() == (1.0, 3.0)
    from nearopt.theory import Law
    for law in (MarchenkoPastur(2.0), ScaledChi2(2, 1.0), LinearSpectrumLaw(3, 2), emp, stats.norm()):
        assert isinstance(law, Law)
    assert not isinstance(object(), Law)


def test_empirical_law_gives_the_two_sample_distance():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=300), rng.standard_t(3, size=411)
    assert ks_distance(a, EmpiricalLaw(b)) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-15)
    # ties across the two samples (integers): still the two-sample statistic
    a, b = rng.integers(0, 5, size=50), rng.integers(0, 5, size=70)
    assert ks_distance(a, EmpiricalLaw(b)) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-15)
    emp = EmpiricalLaw(b)
    assert emp.cdf(4) == 1.0 and emp.cdf_left(0) == 0.0 and np.isnan(emp.cdf(np.nan))
    assert emp.mean() == pytest.approx(np.mean(b)) and emp.var() == pytest.approx(np.var(b))


def test_public_accessors_match_the_closed_form():
    """``continuous_cdf_angle`` (used by the convolution) against the reference integral, and
    ``ScaledChi2.scipy_law`` is scipy's frozen chi2."""
    q, s = 3.0, 1.2
    a, b, atom, f = ref_mp(q, s)
    mp = MarchenkoPastur(q, s)
    for phi in (0.3, 1.5, 2.9):
        x = s * (1 + q - 2 * math.sqrt(q) * math.cos(phi))
        assert mp.continuous_cdf_angle(phi) == pytest.approx(quad(f, a, x), abs=1e-9)
        assert mp.continuous_cdf(x) == pytest.approx(quad(f, a, x), abs=1e-9)
    chi = ScaledChi2(4, 0.3).scipy_law
    assert chi.mean() == pytest.approx(1.2) and chi.var() == pytest.approx(2 * 4 * 0.09)


# ---------------------------------------------------------------------------
# scaled chi-square
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("df, scale", [(1, 2.0), (7, 0.3), (200, 1 / 200)])
def test_scaled_chi2_matches_scipy(df, scale):
    law = ScaledChi2(df, scale)
    ref = stats.chi2(df, scale=scale)
    x = np.linspace(0.0, ref.ppf(0.999), 50)[1:]
    np.testing.assert_allclose(law.pdf(x), ref.pdf(x), rtol=1e-13)
    np.testing.assert_allclose(law.cdf(x), ref.cdf(x), rtol=1e-13)
    p = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(law.ppf(p), ref.ppf(p), rtol=1e-13)
    assert law.mean() == pytest.approx(df * scale, rel=1e-14)
    assert law.var() == pytest.approx(2 * df * scale ** 2, rel=1e-14)
    assert law.support() == (0.0, math.inf)
    n = 20000
    r = law.rvs(n, random_state=11)
    assert stats.kstest(r, ref.cdf).statistic < 1.5 * 1.36 / math.sqrt(n)


# ---------------------------------------------------------------------------
# the ensemble law (chi-square convolved with MP)
# ---------------------------------------------------------------------------

LAW_CASES = [
    (100, 200, None, None),   # q = 1/2, default variances
    (300, 200, None, None),   # q = 3/2: atom
    (200, 200, None, None),   # q = 1: hard edge at 0
    (3, 1, None, None),       # df = 1: chi-square density singular at 0
    (5, 2, 0.5, 0.3),         # df = 2, custom variances
    (7, 3, 0.5, 0.01),        # narrow chi-square on a wide MP
]


def _defaults(n_in, n_hidden, w1, w2):
    return (1.0 / n_in if w1 is None else w1), (1.0 / n_hidden if w2 is None else w2)


@pytest.mark.parametrize("n_in, n_hidden, w1, w2", LAW_CASES)
def test_linear_law_pdf_integrates_to_one(n_in, n_hidden, w1, w2):
    law = LinearSpectrumLaw(n_in, n_hidden, w1, w2)
    w1, w2 = _defaults(n_in, n_hidden, w1, w2)
    mean = n_hidden * (w1 + w2)
    sd = math.sqrt(2 * n_hidden * w2 ** 2 + (n_hidden * w1) ** 2 * n_in / n_hidden)
    # MP part lives on [a, b]; the chi-square part has mean n_hidden*w2 and sd
    # sqrt(2 n_hidden) w2, so [0, b + mean + 40 sd] holds all but ~1e-30 of the mass
    q, s = n_in / n_hidden, n_hidden * w1
    a, b = s * (1 - math.sqrt(q)) ** 2, s * (1 + math.sqrt(q)) ** 2
    c_mean, c_sd = n_hidden * w2, math.sqrt(2 * n_hidden) * w2
    hi = b + c_mean + 40 * c_sd
    brk = sorted({c_mean, a + c_mean, b + c_mean})
    assert quad(law.pdf, 0.0, hi, points=brk) == pytest.approx(1.0, abs=1e-7)
    assert law.mean() == pytest.approx(mean, rel=1e-14)
    assert law.var() == pytest.approx(sd ** 2, rel=1e-14)


@pytest.mark.parametrize("n_in, n_hidden, w1, w2", LAW_CASES)
def test_linear_law_matches_reference_convolution(n_in, n_hidden, w1, w2):
    law = LinearSpectrumLaw(n_in, n_hidden, w1, w2)
    w1, w2 = _defaults(n_in, n_hidden, w1, w2)
    q, s = n_in / n_hidden, n_hidden * w1
    b = s * (1 + math.sqrt(q)) ** 2
    mean = n_hidden * (w1 + w2)
    xs = np.unique(np.concatenate([np.linspace(0.0, mean + 5 * math.sqrt(law.var()), 12)[1:],
                                   [0.5 * b, b + 0.1]]))
    rp = np.array([ref_conv(n_in, n_hidden, w1, w2, x, "pdf") for x in xs])
    rc = np.array([ref_conv(n_in, n_hidden, w1, w2, x, "cdf") for x in xs])
    np.testing.assert_allclose(law.pdf(xs), rp, atol=1e-8 * rp.max())
    np.testing.assert_allclose(law.cdf(xs), rc, atol=1e-8)


@pytest.mark.parametrize("n_in, n_hidden, w2", [(100, 200, 1e-9), (300, 200, 1e-12), (10, 1000, 1e-300),
                                                (3, 1, 1e-30)])
def test_linear_law_with_a_narrow_chi_square(n_in, n_hidden, w2):
    """sd(C) far below the MP width: no grid resolves the chi-square spike, so X = E[C] + M is used.
    Reference: C lies within E[C] +- 40 sd(C) except for a negligible tail, hence
    F_M(x - E[C] - 40 sd) <= F(x) <= F_M(x - E[C] + 40 sd) (+ the tail), with F_M the reference integral;
    before this route the quadrature missed the spike and returned cdf errors up to 1."""
    law = LinearSpectrumLaw(n_in, n_hidden, w2_var=w2)
    q, s = n_in / n_hidden, n_hidden / n_in
    a, b, atom, f = ref_mp(q, s)
    mu, sd = n_hidden * w2, math.sqrt(2 * n_hidden) * w2

    def ref_cdf(y):
        return atom * (y >= 0) + (quad(f, a, min(max(y, a), b)) if y > a else 0.0)

    for x in np.linspace(a, b, 9)[1:-1] + mu:
        lo, hi = ref_cdf(x - mu - 40 * sd), ref_cdf(x - mu + 40 * sd)
        assert lo - 1e-9 <= law.cdf(x) <= hi + 1e-9
        assert law.pdf(x) == pytest.approx(f(x - mu), rel=1e-6)


@pytest.mark.parametrize("n_in, n_hidden", [(100, 200), (300, 200)])
def test_linear_law_cdf_is_integral_of_pdf(n_in, n_hidden):
    law = LinearSpectrumLaw(n_in, n_hidden)
    lo = law.support()[0]
    for x in np.linspace(lo, law.mean() + 4 * math.sqrt(law.var()), 7)[1:]:
        assert law.cdf(x) == pytest.approx(quad(law.pdf, lo, x), abs=1e-8)
    xs = np.linspace(-1.0, law.mean() + 30 * math.sqrt(law.var()), 4001)
    c = law.cdf(xs)
    assert np.all(np.diff(c) >= -1e-15)
    assert np.all(c[xs <= lo] == 0.0)
    assert c[-1] == pytest.approx(1.0, abs=1e-13)
    assert law.cdf(np.inf) == 1.0 and law.cdf(-np.inf) == 0.0
    np.testing.assert_array_equal(law.cdf_left(xs[::100]), law.cdf(xs[::100]))


@pytest.mark.parametrize("n_in, n_hidden", [(100, 200), (3, 1)])
def test_linear_law_ppf(n_in, n_hidden):
    law = LinearSpectrumLaw(n_in, n_hidden)
    p = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 0.999])
    x = law.ppf(p)
    assert np.all(np.diff(x) > 0)
    np.testing.assert_allclose(law.cdf(x), p, atol=1e-10)
    assert law.ppf(0.0) == law.support()[0] and law.ppf(1.0) == math.inf


def test_hessian_premise_small_network():
    """The population Hessian of L = 1/2 E[(W2^T W1 x - y*)^2], x ~ N(0, I), at
    the optimum has Ni nonzero eigenvalues ||W2||^2 + eig(W1^T W1) and P - Ni
    zeros: checked by finite differences on a tiny network (this is what the
    Monte Carlo test below relies on)."""
    rng = np.random.default_rng(0)
    n_in, n_hidden = 3, 4
    w1 = rng.normal(size=(n_hidden, n_in)) / math.sqrt(n_in)
    w2 = rng.normal(size=n_hidden) / math.sqrt(n_hidden)
    theta0 = np.concatenate([w1.ravel(), w2])
    v_star = w1.T @ w2

    def loss(th):   # E over x ~ N(0, I) in closed form
        v = th[: n_in * n_hidden].reshape(n_hidden, n_in).T @ th[n_in * n_hidden:]
        return 0.5 * np.sum((v - v_star) ** 2)

    P, eps = theta0.size, 1e-4
    hess = np.empty((P, P))
    eye = np.eye(P) * eps
    for i in range(P):
        for j in range(P):
            hess[i, j] = (loss(theta0 + eye[i] + eye[j]) - loss(theta0 + eye[i] - eye[j])
                          - loss(theta0 - eye[i] + eye[j]) + loss(theta0 - eye[i] - eye[j])) / (4 * eps ** 2)
    ev = np.sort(np.linalg.eigvalsh(0.5 * (hess + hess.T)))
    expected = np.sort(np.concatenate([np.zeros(P - n_in), w2 @ w2 + np.linalg.eigvalsh(w1.T @ w1)]))
    np.testing.assert_allclose(ev, expected, atol=1e-6)


# Same finite-size reasoning as for the Wishart test (Ni = 100 here, so O(1/N)
# ~ 0.01); the shared ||W2||^2 within a realisation adds only ~0.1/sqrt(200)
# of location noise.  Observed ~0.003.
def test_linear_law_vs_hessian_monte_carlo():
    rng = np.random.default_rng(2024)
    n_in, n_hidden, reps = 100, 200, 200
    eigs = []
    for _ in range(reps):
        w1 = rng.normal(0.0, math.sqrt(1.0 / n_in), size=(n_hidden, n_in))
        w2 = rng.normal(0.0, math.sqrt(1.0 / n_hidden), size=n_hidden)
        eigs.append(w2 @ w2 + np.linalg.eigvalsh(w1.T @ w1))
    eigs = np.concatenate(eigs)
    law = LinearSpectrumLaw(n_in, n_hidden)
    assert ks_distance(eigs, law) < 0.03
    # MP alone (no chi-square shift) is rejected by the same statistic
    assert ks_distance(eigs, MarchenkoPastur(n_in / n_hidden, n_hidden / n_in)) > 0.1
    assert eigs.mean() == pytest.approx(n_hidden * (1 / n_in + 1 / n_hidden), rel=0.01)
    assert eigs.var() == pytest.approx(2 / n_hidden + (n_hidden / n_in) ** 2 * n_in / n_hidden,
                                       rel=0.05)


def test_realisation_vs_one_network():
    rng = np.random.default_rng(99)
    n_in, n_hidden = 300, 600
    w1 = rng.normal(0.0, math.sqrt(1.0 / n_in), size=(n_hidden, n_in))
    w2 = rng.normal(0.0, math.sqrt(1.0 / n_hidden), size=n_hidden)
    shift = float(w2 @ w2)
    eigs = shift + np.linalg.eigvalsh(w1.T @ w1)
    law = LinearSpectrumLaw(n_in, n_hidden)
    real = law.realisation(shift)
    assert isinstance(real, ShiftedMarchenkoPastur)
    assert (real.ratio, real.scale, real.shift) == pytest.approx((0.5, 2.0, shift))
    assert ks_distance(eigs, real) < 0.03   # finite size, as above


@pytest.mark.parametrize("n_in, n_hidden", [(100, 200), (300, 200), (3, 1)])
def test_linear_law_rvs(n_in, n_hidden):
    law = LinearSpectrumLaw(n_in, n_hidden)
    n = 10000
    x = law.rvs(n, random_state=5)
    assert x.shape == (n,) and np.all(x >= 0)
    assert ks_distance(x, law) < 1.5 * 1.36 / math.sqrt(n)
    assert np.ndim(law.rvs(random_state=0)) == 0


# ---------------------------------------------------------------------------
# ks_distance
# ---------------------------------------------------------------------------


def test_ks_distance_matches_scipy_on_continuous_law():
    ref = stats.chi2(5, scale=0.4)
    x = ref.rvs(size=777, random_state=3)
    expected = stats.kstest(x, ref.cdf).statistic
    assert ks_distance(x, ScaledChi2(5, 0.4)) == pytest.approx(expected, abs=1e-14)
    assert ks_distance(x, ref) == pytest.approx(expected, abs=1e-14)   # plain scipy law


class _AtomPlusUniform:
    """0.5 * delta_0 + 0.5 * Uniform(1, 2), for hand-computed KS distances."""

    def cdf(self, x):
        x = np.asarray(x, float)
        return np.where(x < 0, 0.0, 0.5) + 0.5 * np.clip(x - 1.0, 0.0, 1.0)

    def cdf_left(self, x):
        x = np.asarray(x, float)
        return np.where(x <= 0, 0.0, 0.5) + 0.5 * np.clip(x - 1.0, 0.0, 1.0)


def test_ks_distance_with_atom_hand_built():
    law = _AtomPlusUniform()
    # F_n jumps 0 -> .5 at 0 (law jumps 0 -> .5 too), -> .75 at 1.2 (F = .6),
    # -> 1 at 1.8 (F = .9): sup = max(.15, .1, .1, .15) = 0.15.
    # (Comparing only F(x_i) with i/n and (i-1)/n, as for continuous laws,
    # would give 0.5.)
    assert ks_distance([1.8, 0.0, 1.2, 0.0], law) == pytest.approx(0.15, abs=1e-15)
    # ties: both samples at 1.5; just left of 1.5, F_n = 0 while F = .75
    assert ks_distance([1.5, 1.5], law) == pytest.approx(0.75, abs=1e-15)
    # all samples on the atom: F_n(0) = 1 vs F(0) = .5
    assert ks_distance([0.0, 0.0, 0.0], law) == pytest.approx(0.5, abs=1e-15)
    # the MP atom (q = 2: mass 1/2 at 0) behaves the same way
    mp = MarchenkoPastur(2.0)
    assert ks_distance([0.0, 0.0, 0.0], mp) == pytest.approx(0.5, abs=1e-15)
    b = (1 + math.sqrt(2.0)) ** 2
    # [0, b]: F_n(b-) = .5 vs F(b-) = 1
    assert ks_distance([0.0, b], mp) == pytest.approx(0.5, abs=1e-12)
    # [0, x]: at x, F_n jumps .5 -> 1 while F(x) = .5 + int_a^x f
    a_ = (1 - math.sqrt(2.0)) ** 2
    _, _, _, f = ref_mp(2.0, 1.0)
    xk = 0.5 * (a_ + b)
    fk = 0.5 + quad(f, a_, xk)
    assert ks_distance([0.0, xk], mp) == pytest.approx(max(fk - 0.5, 1.0 - fk), abs=1e-9)


# ---------------------------------------------------------------------------
# validation, repr, shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: MarchenkoPastur(-1), "ratio"),
        (lambda: MarchenkoPastur(0), "ratio"),
        (lambda: MarchenkoPastur(float("nan")), "ratio"),
        (lambda: MarchenkoPastur(float("inf")), "ratio"),
        (lambda: MarchenkoPastur(5e-324), "ratio"),
        (lambda: MarchenkoPastur(1.0, scale=0), "scale"),
        (lambda: MarchenkoPastur(1.0, scale=-2.0), "scale"),
        (lambda: MarchenkoPastur(1.0, loc=float("inf")), "loc"),
        (lambda: MarchenkoPastur(4.0, scale=1e307), "too large"),
        (lambda: MarchenkoPastur(1.0, 1e307, loc=1.7e308), "too large"),
        (lambda: ShiftedMarchenkoPastur(1.0, 1.0, float("nan")), "shift"),
        (lambda: ShiftedMarchenkoPastur(1.0, -1.0, 0.0), "scale"),
        (lambda: ScaledChi2(0, 1.0), "df"),
        (lambda: ScaledChi2(-3, 1.0), "df"),
        (lambda: ScaledChi2(3, 0.0), "scale"),
        (lambda: ScaledChi2(3, 1e200), "too large"),
        (lambda: LinearSpectrumLaw(0, 10), "n_in"),
        (lambda: LinearSpectrumLaw(2.5, 10), "n_in"),
        (lambda: LinearSpectrumLaw(2 ** 60, 10), "n_in"),
        (lambda: LinearSpectrumLaw(10, -4), "n_hidden"),
        (lambda: LinearSpectrumLaw(10, 10, w1_var=-1.0), "w1_var"),
        (lambda: LinearSpectrumLaw(10, 10, w1_var=0.0), "w1_var"),
        (lambda: LinearSpectrumLaw(10, 10, w1_var=1e300), "w1_var"),
        (lambda: LinearSpectrumLaw(10, 10, w2_var=float("nan")), "w2_var"),
        (lambda: LinearSpectrumLaw(10, 10, w2_var=1e200), "w2_var"),
        (lambda: LinearSpectrumLaw(10, 10, n_nodes=0), "n_nodes"),
        (lambda: LinearSpectrumLaw(10, 10, n_nodes=10 ** 7), "n_nodes"),
        (lambda: LinearSpectrumLaw(10, 10).realisation(float("inf")), "shift"),
        (lambda: ks_distance([], MarchenkoPastur(1.0)), "samples"),
        (lambda: ks_distance([1.0, np.nan], MarchenkoPastur(1.0)), "samples"),
        (lambda: ks_distance([1.0, 2.0j], MarchenkoPastur(1.0)), "samples"),
        (lambda: ks_distance([1.0], object()), "law"),
        (lambda: ks_distance([1.0], MarchenkoPastur(1.0), atom_rtol=-1e-9), "atom_rtol"),
        (lambda: ks_distance([1.0], MarchenkoPastur(1.0), atom_rtol=float("nan")), "atom_rtol"),
        (lambda: ks_distance([1.0], _BadLaw()), "law.cdf"),
        (lambda: EmpiricalLaw([]), "samples"),
        (lambda: EmpiricalLaw([0.0, np.inf]), "samples"),
        (lambda: MarchenkoPastur(1.0).rvs(3, seed=-1), "seed"),
        (lambda: MarchenkoPastur(1.0).rvs(3, random_state=2.5), "random_state"),
        (lambda: MarchenkoPastur(1.0).rvs(-3), "size"),
        (lambda: MarchenkoPastur(1.0).cdf([1.0 + 1.0j]), "x"),
        (lambda: ScaledChi2(3, 1.0).ppf(1.0j), "p"),
        (lambda: MarchenkoPastur(2.0).continuous_cdf_angle([1.0j]), "phi"),
        (lambda: MarchenkoPastur(2.0).continuous_cdf_angle(np.ones(3), np.ones(2), np.ones(2)), "half_sin"),
    ],
)
def test_bad_values_raise_value_error(make, name):
    with pytest.raises(ValueError, match=name):
        make()


class _BadLaw:
    """A 'law' whose cdf is not a CDF (values outside [0, 1])."""

    def cdf(self, x):
        return np.asarray(x) * 0.0 + 2.0


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: MarchenkoPastur("x"), "ratio"),
        (lambda: MarchenkoPastur(None), "ratio"),
        (lambda: MarchenkoPastur([1.0, 2.0]), "ratio"),
        (lambda: ScaledChi2(3, "1"), "scale"),
        (lambda: LinearSpectrumLaw("3", 10), "n_in"),
        (lambda: MarchenkoPastur(1.0).rvs(3, random_state="seed"), "random_state"),
        (lambda: MarchenkoPastur(1.0).rvs(3.5), "size"),
        (lambda: MarchenkoPastur(1.0).pdf("abc"), "x"),
        (lambda: ks_distance([1.0], MarchenkoPastur(1.0), atom_rtol="0"), "atom_rtol"),
        (lambda: ks_distance([1.0], MarchenkoPastur(1.0), atom_rtol=True), "atom_rtol"),
        (lambda: MarchenkoPastur(1.0).rvs(3, 1, random_state=1), "not both"),
    ],
)
def test_bad_types_raise(make, name):
    with pytest.raises((TypeError, ValueError), match=name):
        make()


def test_rvs_limits_and_memory_budget():
    import nearopt
    mp = MarchenkoPastur(2.0)
    assert mp.rvs(0, seed=1).shape == (0,)
    assert mp.rvs((2, 0), seed=1).shape == (2, 0)
    nearopt.set_memory_budget(10 ** 6)
    try:
        with pytest.raises(nearopt.MemoryBudgetError, match="size"):
            mp.rvs(10 ** 6, seed=0)
        with pytest.raises(nearopt.MemoryBudgetError, match="n_nodes"):
            LinearSpectrumLaw(10, 20, n_nodes=10 ** 5)
        with pytest.raises(nearopt.MemoryBudgetError, match="x"):
            mp.cdf(np.zeros(10 ** 5))
    finally:
        nearopt.set_memory_budget(None)


@pytest.mark.parametrize("call, n", [
    (lambda law, x: law.cdf(x), 4000), (lambda law, x: law.pdf(x), 4000), (lambda law, x: law.ppf(x), 20),
])
def test_evaluation_stays_within_the_budget(call, n):
    """Budget sweep: at a 4 MiB budget every evaluation either refuses (MemoryBudgetError) or peaks below the
    budget (tracemalloc), including the quadrature's chunk of the ensemble law."""
    import tracemalloc
    import nearopt
    budget = 4 * 2 ** 20
    laws = [MarchenkoPastur(2.0, 0.7), ScaledChi2(3, 0.5), LinearSpectrumLaw(30, 10), LinearSpectrumLaw(3, 1),
            LinearSpectrumLaw(100, 200, n_nodes=100_000)]
    for law in laws:
        for size in (1, n, 40 * n):
            x = np.linspace(0.0, 1.0, size)
            nearopt.set_memory_budget(budget)
            tracemalloc.start()
            try:
                call(law, x)
            except nearopt.MemoryBudgetError:
                continue
            finally:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                nearopt.set_memory_budget(None)
            assert peak <= budget, (law, size, peak)


def test_error_message_format():
    with pytest.raises(ValueError, match=r"^ratio must be a finite number > 0, got -1$"):
        MarchenkoPastur(-1)
    with pytest.raises(ValueError, match=r"^n_in must be an integer ≥ 1, got 0$"):
        LinearSpectrumLaw(0, 3)


def test_repr_and_shapes():
    assert repr(MarchenkoPastur(0.5, 2.0)) == "MarchenkoPastur(ratio=0.5, scale=2.0)"
    assert repr(ShiftedMarchenkoPastur(0.5, 2.0, 1.0)) == (
        "ShiftedMarchenkoPastur(ratio=0.5, scale=2.0, shift=1.0)")
    assert repr(MarchenkoPastur(0.5, 2.0, loc=1.0)) == "MarchenkoPastur(ratio=0.5, scale=2.0, loc=1.0)"
    assert repr(ScaledChi2(3, 0.5)) == "ScaledChi2(df=3.0, scale=0.5)"
    assert repr(LinearSpectrumLaw(2, 4)) == (
        "LinearSpectrumLaw(n_in=2, n_hidden=4, w1_var=0.5, w2_var=0.25)")
    law = LinearSpectrumLaw(10, 20)
    mp = MarchenkoPastur(0.5)
    for obj in (law, mp, ScaledChi2(3, 0.5)):
        x = np.full((3, 4), 1.0)
        assert obj.pdf(x).shape == (3, 4) and obj.cdf(x).shape == (3, 4)
        assert np.ndim(obj.pdf(1.0)) == 0 and np.ndim(obj.cdf(1.0)) == 0
        assert obj.pdf(x).dtype == np.float64
        assert obj.rvs(size=(2, 5), random_state=1).shape == (2, 5)
    assert np.isnan(law.cdf(np.nan)) and np.isnan(law.pdf(np.nan)) and np.isnan(mp.cdf(np.nan))


def test_ks_distance_snaps_rounding_errors_onto_the_atom():
    """Ni > Nh: Ni − Nh Hessian eigenvalues sit at the shift |W2|² up to rounding (≈1e-16); the KS
    distance must count them in the atom (two-thirds of the mass here), not on either side of it."""
    import nearopt
    ni, nh = 30, 10
    W1, W2 = nearopt.sample_teacher(ni, nh, seed=0)
    shift = float(np.sum(W2 ** 2))
    nz = shift + np.linalg.eigvalsh(W1.T @ W1)      # exact zeros of W1ᵀW1 come out as ±1e-16
    law = LinearSpectrumLaw(ni, nh).realisation(shift)
    assert law.atom == pytest.approx(1 - nh / ni)
    snapped = ks_distance(nz, law)
    raw = ks_distance(nz, law, atom_rtol=0)
    assert snapped < 0.15 < raw

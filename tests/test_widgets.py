"""The interactive explorers of ``nearopt.widgets``: every control drives numbers equal to a direct library
computation, invalid settings give an in-widget message (never an exception), results are cached, the live
figure is shown at its natural size, a live display never computes the static view, and the static HTML view
(frames + slider/select) is well formed.  Assertions read the public surfaces (``data``, ``message``,
``controls``, the widget's ``image``/``message_box``).  Small sizes throughout."""
from __future__ import annotations

import base64
import html.parser
import json
import re

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

import nearopt  # noqa: E402
import nearopt.widgets as W  # noqa: E402
from nearopt.widgets import INPUT_SEED_OFFSET  # noqa: E402

VIEW = "application/vnd.jupyter.widget-view+json"

# small but representative settings for every explorer
SMALL = {
    "spectrum_explorer": dict(n_in=4, n_hidden=6, realisations=3),
    "rank_explorer": dict(n_in=3, nh_max=5),
    "decay_explorer": dict(n_in=3, n_hidden=3, steps=40, n_samples=30),
    "input_explorer": dict(n_in=4, n_hidden=6, n_samples=40, realisations=3),
    "distance_explorer": dict(n_in=3, n_hidden=3, steps=40, n_samples=30),
    "ntk_explorer": dict(n_in=3, n_hidden=3, n_samples=8),
    "precision_explorer": dict(n_in=3, n_hidden=4),
}


def make(name, **extra):
    kw = dict(SMALL[name])
    kw.update(extra)
    e = W.EXPLORERS[name](**kw)
    e.pixel_ratio = 0.5  # drawing is exercised; fewer pixels keep the suite fast
    e.dpi_static = 40
    return e


def teacher(ni, nh, seed=0):
    return nearopt.sample_teacher(ni, nh, seed=seed)


def inputs(n, ni, seed=0, dist="gaussian"):
    return nearopt.sample_inputs(n, ni, dist=dist, seed=seed + INPUT_SEED_OFFSET)


def ok(e):
    assert e.error is None, e.message
    assert e.data, "no data after a successful update"


def failed(e, *words):
    assert e.error is not None and e.message, "expected an in-widget message"
    assert e.data == {}
    assert e.message_box.value and "traceback" not in e.message_box.value.lower()
    for w in words:
        assert w.lower() in e.message.lower(), (w, e.message)


@pytest.fixture(scope="module")
def built():
    """Every explorer built once at its small setting, with its static HTML (as in a book build)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NEAROPT_STATIC_PREVIEW", "1")
    out = {}
    try:
        for name in W.EXPLORERS:
            e = make(name)
            out[name] = (e, e._repr_mimebundle_())
    finally:
        mp.undo()
    return out


# ----------------------------------------------------------------------------- building and display
@pytest.mark.parametrize("name", list(W.EXPLORERS))
def test_builds_with_data_and_both_mime_types(built, name):
    e, bundle = built[name]
    ok(e)
    assert isinstance(e.controls, dict) and e.controls
    assert e.main in e.controls
    assert VIEW in bundle and bundle[VIEW]["model_id"] == e.widget.model_id
    assert "text/html" in bundle and "text/plain" in bundle
    assert e.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert e.summary_text


@pytest.mark.parametrize("name", list(W.EXPLORERS))
def test_default_settings_build_without_message(name):
    e = W.EXPLORERS[name]()
    ok(e)
    assert e.message == ""


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.tags, self.stack, self.scripts = [], [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.append(a["id"])
        if tag not in ("img", "input", "br", "option"):
            self.stack.append(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag in ("option",):
            return
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


@pytest.mark.parametrize("name", list(W.EXPLORERS))
def test_static_html_frames_and_control(built, name):
    e, bundle = built[name]
    h = bundle["text/html"]
    assert len(h.encode()) < 400_000
    low = h.lower()
    for bad in ("<html", "<body", "<head", "http://", "https://", "src='//", "$"):
        assert bad not in low, bad
    values = e.static_values(e.params())
    assert 5 <= len(values) <= 9
    p = _Tags()
    p.feed(h)
    p.close()
    assert not p.stack, f"unclosed tags {p.stack}"
    assert len(p.ids) == len(set(p.ids))
    root = p.tags[0][1]
    assert "nearopt-static" in root["class"] and "tex2jax_ignore" in root["class"]
    assert int(root["data-frames"]) == len(values)
    ctl = [a for t, a in p.tags if a.get("id", "").endswith("-ctl")]
    assert len(ctl) == 1
    kinds = {t for t, a in p.tags if a.get("id", "").endswith("-ctl")}
    if kinds == {"input"}:
        assert ctl[0]["type"] == "range" and int(ctl[0]["max"]) == len(values) - 1
    else:
        assert kinds == {"select"} and sum(1 for t, _ in p.tags if t == "option") == len(values)
    frames = json.loads(p.scripts[0])
    assert len(frames) == len(values)
    srcs = [f["s"] for f in frames]
    assert all(s.startswith("data:image/png;base64,") for s in srcs), [f["t"] for f in frames if not f["s"]]
    for s in srcs:
        assert base64.b64decode(s.split(",", 1)[1])[:4] == b"\x89PNG"
    assert len(set(srcs)) == len(srcs), "every frame must show a different figure"
    assert all(f["t"] for f in frames)
    # the script finds its elements by this instance's id
    uid = root["id"]
    assert f'"{uid}"' in p.scripts[1] and "getElementById" in p.scripts[1]


def test_static_html_ids_unique_per_call(built):
    e, _ = built["ntk_explorer"]
    a, b = e.static_html(), e.static_html()
    ida = set(re.findall(r'id="([^"]+)"', a))
    idb = set(re.findall(r'id="([^"]+)"', b))
    assert ida and not ida & idb


def test_static_html_uses_the_cache_and_leaves_controls_alone(built):
    e, _ = built["precision_explorer"]
    before = e.params()
    n = e.n_computations
    e.static_html()
    assert e.params() == before and e.n_computations == n  # all frames cached by the first call
    e.controls["n_hidden"].value = 2  # a static frame: the live update is a cache hit
    ok(e)
    assert e.n_computations == n
    e.controls["n_hidden"].value = before["n_hidden"]


def test_static_frame_with_an_error_shows_its_message():
    e = make("ntk_explorer")
    h = e.static_html(values=[4, 0, 8])
    frames = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>', h).group(1))
    assert frames[1]["s"] == "" and "batch size" in frames[1]["t"].lower()
    assert frames[0]["s"] and frames[2]["s"]


# ----------------------------------------------------------------------------- spectrum explorer
def test_spectrum_controls_match_library():
    e = make("spectrum_explorer")
    seen = []
    for nh in (2, 5, 8):
        e.controls["n_hidden"].value = nh
        ok(e)
        W1, W2 = teacher(4, nh)
        ev = nearopt.spectrum(W1, W2, "linear")
        assert np.array_equal(e.data["eigenvalues"], ev)
        for r in range(3):
            W1r, W2r = teacher(4, nh, seed=r)
            assert np.array_equal(e.data["spectra"][r], nearopt.spectrum(W1r, W2r, "linear"))
        info = nearopt.numerical_rank(ev)
        assert e.data["rank"] == info.rank == 4
        assert e.data["lambda_min_pos"] == info.lambda_min_pos
        law = nearopt.LinearSpectrumLaw(4, nh)
        th = e.data["theory"]
        assert np.allclose(th["pdf"], law.pdf(th["x"]), rtol=1e-12, atol=0)
        assert e.data["ks"] == pytest.approx(nearopt.ks_distance(e.data["nonzero"], law), rel=1e-12)
        assert f"rank = {info.rank}" in e.summary_text
        seen.append(e.data["eigenvalues"].size)
    assert seen == [nearopt.n_params(4, nh) for nh in (2, 5, 8)]


def test_spectrum_one_realisation_uses_shifted_mp_with_atom():
    e = make("spectrum_explorer", n_in=6, n_hidden=3, realisations=1)
    ok(e)
    W1, W2 = teacher(6, 3)
    shift = float(np.sum(W2 ** 2))
    tl = nearopt.LinearSpectrumLaw(6, 3).realisation(shift)
    th = e.data["theory"]
    assert np.allclose(th["pdf"], tl.pdf(th["x"]))
    assert th["atom"] == (pytest.approx(tl.atom), pytest.approx(shift))
    assert tl.atom == pytest.approx(0.5)
    # Ni > Nh: Ni − Nh eigenvalues sit at the atom ‖W2‖²
    assert np.sum(np.isclose(e.data["nonzero"], shift, rtol=1e-9)) == 3
    # normalised histogram (area 1), comparable with the law
    from nearopt.widgets.figures import histogram
    for log in (False, True):
        h, edges = histogram(e.data["nonzero"], log)
        widths = np.diff(np.log10(edges)) if log else np.diff(edges)
        assert np.sum(h * widths) == pytest.approx(1.0)


@pytest.mark.parametrize("act", ["quadratic", "erf"])
def test_spectrum_activation_batch_and_seed(act):
    e = make("spectrum_explorer", activation=act, n_in=3, n_hidden=4, realisations=2)
    ok(e)
    W1, W2 = teacher(3, 4)
    assert np.array_equal(e.data["eigenvalues"], nearopt.spectrum(W1, W2, act))
    assert e.data["theory"] is None and e.data["ks"] is None
    e.set(mode="batch", n_samples=10, seed=5)
    ok(e)
    W1, W2 = teacher(3, 4, seed=6)
    assert np.array_equal(e.data["spectra"][1], nearopt.spectrum(W1, W2, act, inputs(10, 3, seed=6)))
    assert e.data["rank"] <= 10
    for xs in ("linear", "log", "auto"):
        n = e.n_computations
        e.controls["xscale"].value = xs  # drawing only: no recomputation
        ok(e)
        assert e.n_computations == n


def test_spectrum_invalid_settings_show_messages():
    e = make("spectrum_explorer")
    e.set(mode="batch", n_samples=0)
    failed(e, "batch size")
    assert e.image.layout.display == "none"
    e.set(n_samples=20, seed=-1)
    failed(e, "seed")
    e.set(seed=0)
    ok(e)
    assert e.image.layout.display != "none"
    e.set(activation="erf", mode="population", n_in=64, n_hidden=128)
    failed(e, "too large")
    e.set(n_in=4, n_hidden=6, activation="quadratic")
    ok(e)
    try:
        nearopt.set_memory_budget(10_000)  # P too big for the budget
        e.set(n_hidden=7)
        failed(e, "memory budget")
    finally:
        nearopt.set_memory_budget(None)
    e.update()
    ok(e)


# ----------------------------------------------------------------------------- rank explorer
def test_rank_controls_match_library():
    e = make("rank_explorer")
    for act in ("linear", "quadratic", "cubic", "quartic", "erf"):
        e.controls["activation"].value = act
        ok(e)
        for i, nh in enumerate(range(1, 6)):
            W1, W2 = teacher(3, nh)
            assert e.data["rank"][i] == nearopt.hessian_rank(W1, W2, act)
            assert e.data["effective"][i] == nearopt.effective_parameters(act, 3, nh)
            assert e.data["P"][i] == nearopt.n_params(3, nh)
        a = nearopt.get_activation(act)
        assert e.data["symmetric_dim"] == (nearopt.symmetric_dim(3, a.degree) if a.is_polynomial else None)
        assert e.data["mismatch"] == []
    e.set(n_in=2, nh_max=3, activation="cubic")
    ok(e)
    assert list(e.data["rank"]) == [nearopt.effective_parameters("cubic", 2, h) for h in (1, 2, 3)]


def test_rank_invalid_settings_show_messages():
    e = make("rank_explorer")
    e.controls["seed"].value = -3
    failed(e, "seed")
    e.controls["seed"].value = 1
    ok(e)


# ----------------------------------------------------------------------------- decay explorer
def test_decay_controls_match_library():
    e = make("decay_explorer")
    for frac in (0.3, 0.6, 0.9):
        e.controls["lr_fraction"].value = frac
        ok(e)
        W1, W2 = teacher(3, 3)
        X = inputs(30, 3)
        ev = nearopt.spectrum(W1, W2, "quadratic", X)
        lr = frac * nearopt.stability_limit(ev)
        assert e.data["lr"] == pytest.approx(lr, rel=1e-12)
        pred, lam = nearopt.predict_descent(W1, W2, "quadratic", X, sigma0=1e-3, lr=e.data["lr"], steps=40)
        L = nearopt.descend(W1, W2, "quadratic", X, sigma0=1e-3, lr=e.data["lr"], steps=40, eigenvalues=lam)
        assert np.array_equal(e.data["losses"], L)
        assert np.array_equal(e.data["prediction"], pred)
        assert e.data["rate"] == nearopt.late_time_rate(lam, lr=e.data["lr"])
        # 40 steps do not reach the late regime: said, and no rate is claimed
        assert "too short" in e.message and e.data["measured_rate"] is None and e.error is None
    e.set(mode="population", activation="linear", sigma0=1e-2, seed=2)
    ok(e)
    W1, W2 = teacher(3, 3, seed=2)
    L = nearopt.descend(W1, W2, "linear", None, sigma0=1e-2, lr=e.data["lr"], steps=40, seed=2)
    assert np.array_equal(e.data["losses"], L)
    assert e.data["floor"] == W.decay.POPULATION_FLOOR


def test_decay_beyond_stability_is_explained_not_raised():
    e = make("decay_explorer", activation="linear", steps=60)
    e.controls["lr_fraction"].value = 1.1
    assert e.error is None and e.data  # still drawn, so the divergence can be seen
    assert "stability" in e.message and "diverges" in e.message
    assert "diverges" in e.message_box.value
    L = e.data["losses"]
    assert not np.all(np.isfinite(L)) or L[-1] > L[0]
    e.controls["lr_fraction"].value = 0.5
    ok(e)
    assert e.message == ""


def test_decay_invalid_settings_show_messages():
    e = make("decay_explorer")
    e.set(n_samples=-4)
    failed(e, "batch size")
    e.set(n_samples=30, mode="population", n_in=30, n_hidden=40, steps=2000)
    failed(e, "too long")


# ----------------------------------------------------------------------------- input explorer
def test_input_controls_match_library():
    e = make("input_explorer")
    for dist in nearopt.INPUT_DISTRIBUTIONS:
        e.controls["dist"].value = dist
        ok(e)
        W1, W2 = teacher(4, 6)
        X = inputs(40, 4, dist=dist)
        assert np.array_equal(e.data["eigenvalues"], nearopt.spectrum(W1, W2, "linear", X))
        law = nearopt.LinearSpectrumLaw(4, 6)
        assert e.data["ks_law"] == pytest.approx(nearopt.ks_distance(e.data["nonzero"], law), rel=1e-12)
        direct = []
        for r in range(3):
            W1r, W2r = teacher(4, 6, seed=r)
            ev = nearopt.spectrum(W1r, W2r, "linear", inputs(40, 4, seed=r, dist=dist))
            direct.append(ev[np.abs(ev) > nearopt.numerical_rank(ev).tol])
        assert np.array_equal(e.data["nonzero"], np.concatenate(direct))
        if dist != "sparse":  # sparse inputs may leave a coordinate unseen (a zero column of X)
            assert e.data["nonzero"].size == 3 * 4
        if dist == "gaussian":
            assert e.data["ks_gaussian_batch"] == 0.0
        else:
            assert e.data["ks_gaussian_batch"] > 0
        assert "KS distance" in e.summary_text
    e.set(dist="uniform", n_samples=2, realisations=1)  # N < Ni: rank N, fewer nonzero eigenvalues
    ok(e)
    assert e.data["nonzero"].size == 2


def test_input_invalid_settings_show_messages():
    e = make("input_explorer")
    e.controls["n_samples"].value = 0
    failed(e, "batch size")


# ----------------------------------------------------------------------------- distance explorer
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the direct runs at large σ0 overflow, as they should
def test_distance_controls_match_library():
    e = make("distance_explorer")
    negs = []
    for s0 in (1e-4, 1e-2, 0.3):
        e.controls["sigma0"].value = s0
        ok(e)
        W1, W2 = teacher(3, 3)
        X = inputs(30, 3)
        W1s, W2s, _ = nearopt.perturb(W1, W2, e.controls["sigma0"].value, seed=0)
        full = np.linalg.eigvalsh(nearopt.full_hessian(W1s, W2s, "quadratic", (W1, W2), X=X))
        assert np.array_equal(e.data["full_eigenvalues"], full)
        tol = nearopt.numerical_rank(full).tol
        assert e.data["n_negative"] == int(np.sum(full < -tol))
        assert e.data["min_eigenvalue"] == full.min()
        L = nearopt.descend(W1, W2, "quadratic", X, sigma0=e.controls["sigma0"].value, lr=e.data["lr"], steps=40)
        assert np.array_equal(e.data["losses"], L)
        negs.append(e.data["n_negative"])
    assert negs[-1] > 0  # far from the optimum the full Hessian is indefinite


def test_distance_invalid_settings_show_messages():
    e = make("distance_explorer")
    e.set(mode="batch", n_samples=0)
    failed(e, "batch size")


# ----------------------------------------------------------------------------- NTK explorer
def test_ntk_controls_match_library():
    e = make("ntk_explorer")
    P = nearopt.n_params(3, 3)
    for n in (3, 6, 12, 24):
        e.controls["n_samples"].value = n
        ok(e)
        W1, W2 = teacher(3, 3)
        X = inputs(n, 3)
        eh = np.linalg.eigvalsh(nearopt.hessian(W1, W2, "erf", X))
        ek = np.linalg.eigvalsh(nearopt.ntk(W1, W2, "erf", X))
        assert np.array_equal(e.data["hessian_eigenvalues"], eh)
        assert np.array_equal(e.data["ntk_eigenvalues"], ek)
        r = min(n, P)
        assert e.data["rank_hessian"] == e.data["rank_ntk"] == r == nearopt.numerical_rank(eh).rank
        assert e.data["zeros_hessian"] == P - r and e.data["zeros_ntk"] == n - r
        assert e.data["max_relative_difference"] < 1e-10
        assert np.allclose(eh[::-1][:r], ek[::-1][:r], rtol=1e-8, atol=1e-12 * eh.max())


def test_ntk_invalid_settings_show_messages():
    e = make("ntk_explorer")
    e.controls["seed"].value = -1
    failed(e, "seed")
    try:
        nearopt.set_memory_budget(2_000)  # P too big for the budget
        e.set(seed=0, n_hidden=4)
        failed(e, "memory budget")
    finally:
        nearopt.set_memory_budget(None)
    e.update()
    ok(e)


# ----------------------------------------------------------------------------- precision explorer
def test_precision_controls_match_library_and_float32_misclassifies():
    e = make("precision_explorer", n_in=4, n_hidden=2)
    wrong = []
    for nh in (2, 4, 6):
        e.controls["n_hidden"].value = nh
        ok(e)
        W1, W2 = teacher(4, nh)
        H = nearopt.hessian(W1, W2, "quartic")
        ev64 = np.linalg.eigvalsh(H)
        ev32 = np.linalg.eigvalsh(H.astype(np.float32)).astype(np.float64)
        assert np.array_equal(e.data["eigenvalues64"], ev64)
        assert np.array_equal(e.data["eigenvalues32"], ev32)
        eps32 = float(np.finfo(np.float32).eps)
        assert e.data["rank64"] == nearopt.numerical_rank(ev64).rank
        assert e.data["rank32"] == nearopt.numerical_rank(ev32, eps=eps32).rank
        assert e.data["rank32_naive"] == nearopt.numerical_rank(ev32).rank
        assert e.data["effective"] == nearopt.effective_parameters("quartic", 4, nh)
        assert e.data["sweep"]["n_hidden"] == list(range(1, nh + 1))
        wrong.append(e.data["rank32"] != e.data["effective"])
    assert wrong[0] is False and wrong[-1] is True  # float32 fails once small eigenvalues appear
    assert e.data["rank64"] == e.data["effective"]
    e.set(mode="batch", n_samples=25)
    ok(e)
    assert e.data["effective"] is None
    W1, W2 = teacher(4, 6)
    assert np.array_equal(e.data["eigenvalues64"],
                          np.linalg.eigvalsh(nearopt.hessian(W1, W2, "quartic", inputs(25, 4))))


def test_precision_invalid_settings_show_messages():
    e = make("precision_explorer")
    e.set(mode="batch", n_samples=-2)
    failed(e, "batch size")


# ----------------------------------------------------------------------------- progress
def test_progress_is_shown_while_computing_and_hidden_after(monkeypatch):
    e = make("spectrum_explorer")
    seen = []
    real = e.compute

    def spy(p, progress=None):
        seen.append(("status", e.status.value))
        out = real(p, progress)
        seen.append(("bar", e.progress.value, e.progress.max, e.progress.layout.visibility))
        return out

    monkeypatch.setattr(e, "compute", spy)
    e.controls["realisations"].value = 4
    ok(e)
    assert seen[0] == ("status", "computing…")
    assert seen[1] == ("bar", 4, 4, "visible")  # one step per realisation
    assert e.status.value == "" and e.progress.layout.visibility == "hidden"
    seen.clear()
    e.controls["realisations"].value = 3  # cached: nothing computed, no progress
    e.controls["realisations"].value = 4
    assert seen == []


# ----------------------------------------------------------------------------- caching
def test_cache_returns_identical_results_without_recomputation(monkeypatch):
    e = make("spectrum_explorer")
    calls = []
    real = nearopt.spectrum

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(nearopt, "spectrum", counting)
    e.controls["n_hidden"].value = 3
    first = e.data
    n_comp, n_calls = e.n_computations, len(calls)
    assert n_calls == 3  # one spectrum per realisation
    e.controls["n_hidden"].value = 4
    assert e.n_computations == n_comp + 1 and len(calls) == n_calls + 3
    png4 = e.image.value
    e.controls["n_hidden"].value = 3
    assert e.n_computations == n_comp + 1 and len(calls) == n_calls + 3
    assert e.data is first
    e.controls["n_hidden"].value = 4
    assert e.image.value == png4
    # N does not matter for the population Hessian: no recomputation
    e.controls["n_samples"].value = 77
    assert e.n_computations == n_comp + 1


@pytest.mark.parametrize("name", ["decay_explorer", "ntk_explorer"])
def test_cache_by_parameters(name):
    e = make(name)
    c = e.controls[e.main]
    v0 = c.value
    d0 = e.data
    n = e.n_computations
    values = e.static_values(e.params())[:3]
    for v in values:
        c.value = v
    c.value = v0
    assert e.data is d0
    for v in values:
        c.value = v
    assert e.n_computations == n + len([v for v in values if v != v0])


# ----------------------------------------------------------------------------- fuzz
def _random_setting(name, e, rng):
    out = {}
    for k, c in e.controls.items():
        opts = getattr(c, "options", None)
        if opts:
            o = opts[rng.integers(len(opts))]
            out[k] = o[1] if isinstance(o, tuple) else o
        elif k == "seed":
            out[k] = int(rng.integers(0, 50))
        elif k in ("n_in",):
            out[k] = int(rng.integers(1, 5))
        elif k in ("n_hidden",):
            out[k] = int(rng.integers(1, 6))
        elif k == "nh_max":
            out[k] = int(rng.integers(1, 6))
        elif k == "n_samples":
            out[k] = int(rng.integers(1, 40))
        elif k == "realisations":
            out[k] = int(rng.integers(1, 4))
        elif k == "steps":
            out[k] = int(rng.integers(1, 5)) * 10
        elif k == "sigma0":
            out[k] = float(10.0 ** rng.uniform(max(c.min, -5), min(c.max, 0)))
        elif k == "lr_fraction":
            out[k] = float(rng.uniform(c.min, c.max))
        else:  # pragma: no cover - a new control must be added here
            raise AssertionError(f"fuzz does not know control {k!r}")
    return out


@pytest.mark.parametrize("name", list(W.EXPLORERS))
def test_fuzz_random_settings_never_raise(name, monkeypatch):
    """30 random settings (seeded) within the controls' ranges: never an exception, never an error message.
    Every setting builds its figure's artists; every third is also rasterised to PNG (the slow part)."""
    from nearopt.widgets import figures
    real_png = figures.png_bytes
    count = [0]

    def some_png(fig, dpi=90, optimize=False):
        count[0] += 1
        return real_png(fig, dpi, optimize) if count[0] % 3 == 1 else b"\x89PNG\r\n\x1a\n(not rasterised)"

    monkeypatch.setattr(figures, "png_bytes", some_png)
    rng = np.random.default_rng(sum(map(ord, name)))
    e = make(name)
    for _ in range(30):
        s = _random_setting(name, e, rng)
        e.set(**s)  # must not raise
        assert e.error is None, (s, e.message)
        assert e.data and e.image.value[:4] == b"\x89PNG"
        if "lr_fraction" in s and s["lr_fraction"] >= 1:
            assert "diverges" in e.message
    # invalid values where the control allows them (text boxes; sliders clamp)
    import ipywidgets
    for k, bad in (("seed", -7), ("n_samples", 0)):
        if isinstance(e.controls.get(k), ipywidgets.IntText):
            extra = {"mode": "batch"} if "mode" in e.controls else {}
            e.set(**{k: bad}, **extra)
            assert e.error is not None and e.message and e.data == {}
            e.set(**{k: 1})
            assert e.error is None, e.message


# ----------------------------------------------------------------------------- live display and static view
def test_live_display_never_computes_the_static_view(monkeypatch):
    """Count the work: displaying an explorer without NEAROPT_STATIC_PREVIEW draws one figure and computes
    one setting; no static frame is computed or drawn."""
    from nearopt.widgets import static
    monkeypatch.delenv("NEAROPT_STATIC_PREVIEW", raising=False)
    calls = []
    real = static.static_frames
    monkeypatch.setattr(static, "static_frames", lambda *a, **k: calls.append(1) or real(*a, **k))
    from nearopt.widgets import explorer as ex
    monkeypatch.setattr(ex, "static_frames", static.static_frames)
    e = make("precision_explorer")
    n_comp, n_drawn = e.n_computations, e.n_drawn
    assert (n_comp, n_drawn) == (1, 1)
    bundle = e._repr_mimebundle_()
    assert VIEW in bundle and "text/html" not in bundle
    assert calls == [] and (e.n_computations, e.n_drawn) == (n_comp, n_drawn)
    monkeypatch.setenv("NEAROPT_STATIC_PREVIEW", "1")  # the book build: the static frames are computed
    bundle = e._repr_mimebundle_()
    frames = len(e.static_values(e.params()))
    assert calls == [1] and "nearopt-static" in bundle["text/html"]
    assert e.n_drawn == n_drawn + frames


def test_live_image_is_shown_at_its_natural_size_and_rendered_for_high_dpi():
    import struct
    e = W.decay_explorer(n_in=3, n_hidden=3, steps=40, n_samples=30)
    css = int(round(e.figsize[0] * 80))
    assert e.image.layout.width == f"{css}px" and e.image.layout.max_width == "100%"
    assert e.image.layout.height == "auto"
    width, height = struct.unpack(">II", e.image.value[16:24])  # PNG IHDR
    assert width == 2 * css  # two device pixels per CSS pixel: sharp on a 2x screen, never scaled up
    assert height == int(round(e.figsize[1] * 160))


# ----------------------------------------------------------------------------- decay: the late-time rate
def test_decay_default_measures_the_late_rate_where_it_holds():
    """Default view: the rate measured on the real network over the window where the slowest mode dominates
    equals the independent prediction −2 log(1 − ηλ⁺_min) from the Hessian's eigenvalues."""
    from nearopt.widgets.controls import input_seed
    e = W.decay_explorer()
    ok(e)
    assert e.message == ""
    p = e.params()
    W1, W2 = teacher(p["n_in"], p["n_hidden"])
    X = nearopt.sample_inputs(p["n_samples"], p["n_in"], seed=input_seed(0))
    lam = np.linalg.eigvalsh(nearopt.hessian(W1, W2, p["activation"], X))
    eta = p["lr_fraction"] * 2 / lam.max()
    lmin = lam[lam > 1e-10 * lam.max()].min()
    predicted = -2 * np.log(1 - eta * lmin)
    assert e.data["rate"] == pytest.approx(predicted, rel=1e-8)
    a, b = e.data["window"]
    L = e.data["losses"]
    slope = np.polyfit(np.arange(a, b), np.log(L[a:b]), 1)[0]
    assert -slope == pytest.approx(predicted, rel=0.03)
    assert e.data["measured_rate"] == pytest.approx(predicted, rel=0.03)
    assert b - a >= 100 and b == L.size
    # the window starts where the slowest mode carries >= LATE_SHARE of the model's loss (brute force)
    c = e.data["coefficients"]
    lam_e = e.data["eigenvalues"]
    nz = np.abs(lam_e) > 1e-10 * lam_e.max()
    k = np.argmin(np.where(nz, lam_e, np.inf))
    share = [lam_e[k] * c[k] ** 2 * (1 - eta * lam_e[k]) ** (2 * n)
             / np.sum(lam_e[nz] * c[nz] ** 2 * np.abs(1 - eta * lam_e[nz]) ** (2 * n)) for n in (a - 1, a)]
    assert share[0] < W.decay.LATE_SHARE <= share[1]
    assert f"measured {W.decay.fmt(e.data['measured_rate'])}/step" in e.summary_text


def test_decay_says_when_the_run_is_too_short():
    e = W.decay_explorer(steps=100)
    ok(e)
    assert "too short" in e.message and e.data["window"] is None and e.data["measured_rate"] is None
    assert "measured" not in e.summary_text
    e.set(steps=1000)
    assert e.message == "" and e.data["window"] is not None


def test_decay_window_stops_at_the_batch_rounding_floor():
    """A linear network converges to the batch loss's rounding floor ½ ε² mean(y²) within the run: the fit
    window ends before the plateau, and the measured rate is the late-time rate to a few percent (λ⁺_min at the
    landing point differs slightly from θ*'s: a manifold of optima)."""
    from nearopt.widgets.controls import input_seed
    e = W.decay_explorer(activation="linear")
    ok(e)
    W1, W2 = teacher(4, 6)
    y = nearopt.forward(W1, W2, "linear", nearopt.sample_inputs(100, 4, seed=input_seed(0)))
    floor = 0.5 * np.finfo(float).eps ** 2 * np.mean(y ** 2)
    L = e.data["losses"]
    assert L.min() < 10 * floor  # it does reach the floor
    a, b = e.data["window"]
    assert np.all(L[a:b] > 100 * floor) and b < L.size
    assert e.data["measured_rate"] == pytest.approx(e.data["rate"], rel=0.05)
    e.set(mode="population")  # quadrature floor 1e-13 reached before the slowest mode dominates
    assert "rounding floor" in e.message and e.data["measured_rate"] is None


# ----------------------------------------------------------------------------- bounds and budgets
@pytest.mark.parametrize("name", ["spectrum_explorer", "input_explorer", "decay_explorer", "precision_explorer"])
def test_typed_batch_size_is_bounded_by_the_memory_budget(name):
    e = make(name)
    if "mode" in e.controls:
        e.set(mode="batch")
    ok(e)
    n = e.n_computations
    e.set(n_samples=W.MAX_BATCH + 1)
    failed(e, "batch size", str(W.MAX_BATCH))
    try:
        nearopt.set_memory_budget(200_000)
        e.set(n_samples=5000)  # a few MB: refused before anything is allocated
        failed(e, "memory budget", "batch size N")
    finally:
        nearopt.set_memory_budget(None)
    assert e.n_computations == n
    e.set(n_samples=20)
    ok(e)


def test_out_of_range_values_are_reported_not_clamped():
    with pytest.raises(ValueError, match="steps = 99999 is outside"):
        W.decay_explorer(steps=99_999)
    e = make("spectrum_explorer")
    before = e.params()
    with pytest.raises(ValueError, match="n_hidden"):
        e.set(n_hidden=500)
    with pytest.raises(ValueError, match="activation"):
        e.set(activation="tanh")
    assert e.params() == before


def test_warnings_become_notes_in_the_widget():
    import warnings

    def compute(n):
        warnings.warn(f"something to know about n = {n}", RuntimeWarning)
        return {"y": np.arange(n)}

    e = W.Explorer.from_functions({"n": (1, 10)}, compute, lambda ax, d, v: ax.plot(d["y"]), n=3)
    ok(e)
    assert "something to know about n = 3" in e.message
    assert "nearopt-note" in e.message_box.value
    assert e.data["notes"]


# ----------------------------------------------------------------------------- small explorers
def test_from_functions_small_explorer():
    def compute(n_hidden, activation):
        W1, W2 = teacher(3, n_hidden)
        return {"ev": nearopt.spectrum(W1, W2, activation)}

    def draw(ax, d, v):
        ax.semilogy(np.abs(d["ev"][::-1]) + 1e-30, "o")

    e = W.Explorer.from_functions({"n_hidden": (1, 6), "activation": ["erf", "linear"]}, compute, draw,
                                  lambda d, v: f"{d['ev'].size} eigenvalues", title="small", n_hidden=2)
    ok(e)
    assert set(e.controls) == {"n_hidden", "activation"} and e.main == "n_hidden"
    assert np.array_equal(e.data["ev"], nearopt.spectrum(*teacher(3, 2), "erf"))
    e.set(activation="linear", n_hidden=4)
    assert np.array_equal(e.data["ev"], nearopt.spectrum(*teacher(3, 4), "linear"))
    assert e.summary_text == "16 eigenvalues"
    assert e.static_values(e.params()) == [1, 2, 3, 4, 5, 6]
    frames = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>',
                                  e.static_html()).group(1))
    assert len(frames) == 6 and all(f["s"] for f in frames)
    bad = W.Explorer.from_functions({"n": (1, 3)}, lambda n: 1 / 0, lambda ax, d, v: None)
    assert bad.error is not None and "ZeroDivisionError" in bad.message
    with pytest.raises(ValueError, match="main"):
        W.Explorer.from_functions({"n": (1, 3)}, compute, draw, main="m")


def test_compute_functions_are_the_explorers_numbers():
    """A chapter calling a computation directly gets the explorer's numbers."""
    e = make("ntk_explorer")
    d = W.ntk_data(activation="erf", n_in=3, n_hidden=3, n_samples=8, seed=0)
    for k in ("hessian_eigenvalues", "ntk_eigenvalues"):
        assert np.array_equal(d[k], e.data[k])
    W1, W2 = teacher(3, 3)
    X = inputs(8, 3)
    c = W.hessian_ntk_comparison(W1, W2, "erf", X)
    assert c["rank_hessian"] == c["rank_ntk"] == 8 and c["zeros_hessian"] == 12 - 8 and c["zeros_ntk"] == 0
    assert c["gap_decades"] > 6 and c["max_relative_difference"] < 1e-12
    with pytest.raises(ValueError, match="seed"):
        W.spectrum_data(seed=-1)

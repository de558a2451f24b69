"""The static (kernel-free) views of the explorers in a real headless Chromium.

A standalone page holds every explorer's static view (the ``text/html`` of its display with
``NEAROPT_STATIC_PREVIEW=1``, as in a book build) (one of them twice: instances must not interfere),
served on 127.0.0.1 and opened in the session's Chromium (the `browser` fixture of conftest.py:
one Playwright instance per session, since a second sync_playwright() inside the first fails).  For each view the slider (keyboard) or select is moved and the displayed frame — image,
numeric summary and value label — must change, with zero console errors, no page errors and no request
other than the page itself.  Skipped when Chromium or Playwright is missing, unless CI=true.
"""
from __future__ import annotations


import pytest
from localserver import serve_directory

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# small settings: the page is about the HTML/JS, not the numbers
SMALL = {
    "spectrum_explorer": dict(n_in=4, n_hidden=6, realisations=3),
    "rank_explorer": dict(n_in=3, nh_max=4),
    "decay_explorer": dict(n_in=3, n_hidden=3, steps=30, n_samples=30),
    "input_explorer": dict(n_in=4, n_hidden=6, n_samples=40, realisations=2),
    "distance_explorer": dict(n_in=3, n_hidden=3, steps=30, n_samples=30),
    "ntk_explorer": dict(n_in=3, n_hidden=3, n_samples=8),
    "precision_explorer": dict(n_in=3, n_hidden=4),
}


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    import nearopt.widgets as W
    mp = pytest.MonkeyPatch()
    mp.setenv("NEAROPT_STATIC_PREVIEW", "1")  # as the book build: displays carry the static view
    parts = []
    try:
        for name, kw in SMALL.items():
            e = W.EXPLORERS[name](**kw)
            e.dpi_static = 40
            for suffix in ("", "-2") if name == "ntk_explorer" else ("",):  # two instances on one page
                view = e._repr_mimebundle_()["text/html"]
                parts.append(f"<section data-name='{name}{suffix}'><h2>{name}</h2>\n{view}\n</section>")
    finally:
        mp.undo()
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
            "<title>static explorers</title></head>"
            "<body><main>\n" + "\n".join(parts) + "\n</main></body></html>\n")
    root = tmp_path_factory.mktemp("static_widgets")
    (root / "index.html").write_text(page, encoding="utf-8")
    with serve_directory(root) as url:
        yield url + "index.html", len(parts)


def _state(view):
    return view.evaluate(
        """root => {
            const id = root.id;
            const img = document.getElementById(id + '-img');
            return {frame: root.getAttribute('data-frame'), src: img.getAttribute('src') || '',
                    shown: img.style.display !== 'none', alt: img.alt,
                    text: document.getElementById(id + '-txt').textContent,
                    label: document.getElementById(id + '-val').textContent,
                    value: document.getElementById(id + '-ctl').value,
                    n: parseInt(root.getAttribute('data-frames'), 10)};
        }""")


def test_static_views_switch_frames_without_errors(browser, page_url):
    url, n_views = page_url
    page = browser.new_page()
    console_errors, page_errors, requests = [], [], []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="load")
    views = page.locator("div.nearopt-static")
    assert views.count() == n_views
    ids = [views.nth(i).get_attribute("id") for i in range(n_views)]
    assert len(set(ids)) == n_views
    for i in range(n_views):
        view = views.nth(i)
        assert view.get_attribute("data-ready") == "1", f"script of view {ids[i]} did not run"
        ctl = page.locator(f"#{ids[i]}-ctl")
        before = _state(view)
        assert before["n"] >= 5 and before["shown"] and before["src"].startswith("data:image/png;base64,")
        assert before["text"] and before["label"]
        tag = ctl.evaluate("el => el.tagName.toLowerCase()")
        seen = {before["frame"]}
        if tag == "select":
            targets = [k for k in range(before["n"]) if str(k) != before["value"]][:3]
            for k in targets:
                ctl.select_option(index=k)
                now = _state(view)
                assert now["frame"] == str(k)
                seen.add(now["frame"])
        else:
            assert ctl.get_attribute("type") == "range"
            ctl.focus()
            key = "ArrowLeft" if int(before["value"]) == before["n"] - 1 else "ArrowRight"
            for _ in range(3):
                prev = _state(view)
                page.keyboard.press(key)
                now = _state(view)
                if now["value"] == prev["value"]:  # reached the end of the slider
                    key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
                    page.keyboard.press(key)
                    now = _state(view)
                assert now["frame"] == now["value"] != prev["value"]
                seen.add(now["frame"])
        after = _state(view)
        assert len(seen) >= 3, seen
        assert after["frame"] != before["frame"]
        assert after["src"] != before["src"] and after["src"].startswith("data:image/png;base64,")
        assert after["text"] != before["text"] and after["label"] != before["label"]
        assert after["alt"].endswith(after["label"])
        # only this view changed: the others keep their frame
        for j in range(n_views):
            if j != i:
                other = views.nth(j)
                assert other.get_attribute("data-frame") is not None
    # the two NTK instances are independent
    a, b = [v for v in ids if v.startswith("nearopt-ntkexplorer")]
    assert page.locator(f"#{a}").get_attribute("data-frame") == page.locator(f"#{b}").get_attribute("data-frame")
    page.locator(f"#{a}-ctl").focus()
    page.keyboard.press("Home")
    assert page.locator(f"#{a}").get_attribute("data-frame") == "0"
    assert page.locator(f"#{b}").get_attribute("data-frame") != "0"
    page.close()
    assert not console_errors, console_errors
    assert not page_errors, page_errors
    external = [r for r in requests if not r.startswith("data:") and r != url]
    assert not external, external

"""Open every page of the built book in headless Chromium and check what a reader sees.

For each page listed in _toc.yml:
  * the <title> contains the page's own title (first `# ` heading of its source);
  * all math is typeset by MathJax (every `.math` node holds an `mjx-container`,
    no MathJax error nodes, no raw `\\(`, `\\[` or `$$` left in the prose);
  * every <img> has loaded (naturalWidth > 0);
  * no request failed, no response had status >= 400, no request left the local server;
  * no console error and no uncaught page error;
and a full-page screenshot goes to _build/screenshots/<page>.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def toc_docnames() -> list[str]:
    """Docnames in the order of _toc.yml (root first)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return names


def source_title(docname: str) -> str:
    """The first level-1 heading of the page's source (MyST markdown or notebook)."""
    for suffix in (".md", ".ipynb"):
        path = ROOT / f"{docname}{suffix}"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            break
    else:
        raise FileNotFoundError(f"no source for {docname}")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    match = re.search(r'^\s*"?#\s+(.+?)(?:\\n)?"?,?\s*$', text, flags=re.M)
    assert match, f"{docname}: no '# Title' heading"
    return match.group(1).strip()


DOCNAMES = toc_docnames()

WAIT_FOR_MATHJAX = """
async () => {
  if (!document.querySelector('.math')) return 'no math';
  for (let i = 0; i < 600; i++) {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) break;
    await new Promise(r => setTimeout(r, 50));
  }
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return 'MathJax never loaded';
  await MathJax.startup.promise;
  return 'typeset';
}
"""

PAGE_REPORT = """
async () => {
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
  const math = Array.from(document.querySelectorAll('.math'));
  const prose = document.body.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
       .forEach(n => n.remove());
  return {
    title: document.title,
    mathNodes: math.length,
    untypeset: math.filter(n => !n.querySelector('mjx-container')).map(n => n.textContent.slice(0, 80)),
    mjxContainers: document.querySelectorAll('mjx-container').length,
    mathErrors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
                     .map(n => n.getAttribute('data-mjx-error') || n.textContent.slice(0, 80)),
    proseText: prose.textContent,
    brokenImages: Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.currentSrc || img.src),
    imageCount: document.images.length,
  };
}
"""


@pytest.mark.parametrize("docname", DOCNAMES)
def test_page_renders_offline(docname, browser, site_url, site_dir):
    html_file = site_dir / f"{docname}.html"
    assert html_file.is_file(), f"{docname}: {html_file} was not built"

    local = urlsplit(site_url).netloc
    foreign, failed, bad_status, console_errors = [], [], [], []

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def on_request(request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != local:
            foreign.append(request.url)

    page.on("request", on_request)
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and bad_status.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and console_errors.append(
        f"{m.text} @ {m.location.get('url', '')}"))
    page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))

    try:
        page.goto(site_url + f"{docname}.html", wait_until="networkidle", timeout=120_000)
        mathjax_state = page.evaluate(WAIT_FOR_MATHJAX)
        page.wait_for_load_state("networkidle")
        report = page.evaluate(PAGE_REPORT)

        shot = SCREENSHOTS / f"{Path(docname).name}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        page.wait_for_load_state("networkidle")
    finally:
        context.close()

    title = source_title(docname)
    assert title in report["title"], f"{docname}: <title> {report['title']!r} lacks {title!r}"

    if report["mathNodes"]:
        assert mathjax_state == "typeset", f"{docname}: {mathjax_state}"
        assert report["mjxContainers"] > 0, f"{docname}: math present but no mjx-container"
    assert not report["untypeset"], f"{docname}: math not typeset: {report['untypeset']}"
    assert not report["mathErrors"], f"{docname}: MathJax errors: {report['mathErrors']}"
    for raw in ("\\(", "\\[", "$$"):
        assert raw not in report["proseText"], f"{docname}: raw {raw!r} left in the page text"

    assert not report["brokenImages"], f"{docname}: images not loaded: {report['brokenImages']}"
    assert not foreign, f"{docname}: requests to other hosts: {foreign}"
    assert not failed, f"{docname}: failed requests: {failed}"
    assert not bad_status, f"{docname}: HTTP errors: {bad_status}"
    assert not console_errors, f"{docname}: console errors: {console_errors}"

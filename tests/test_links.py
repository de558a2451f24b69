"""Static checks of the built site (_build/html): internal links, downloads, no CDN assets.

* every internal href/src resolves to an existing file, and `page.html#id` anchors exist;
* no page loads a script, stylesheet, font, image or frame from another host;
* each notebook chapter offers both its .ipynb and its .md in the download menu,
  and the .ipynb is a valid notebook with the chapter's code.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_SCHEMES = {"http", "https", "mailto", "javascript", "data", "tel", "ftp"}
# <link rel=...> values that make the browser fetch the target.
FETCHING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
                 "apple-touch-icon", "manifest"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, attr, value)
        self.ids: set[str] = set()
        self.rels: list[tuple[str, str]] = []  # (rel, href) of <link>

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) is not None:
                self.refs.append((tag, key, a[key]))
        if tag == "link":
            self.rels.append(((a.get("rel") or "").lower(), a.get("href") or ""))

    handle_startendtag = handle_starttag


@lru_cache(maxsize=None)
def parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def test_internal_links_resolve(site_dir):
    problems = []
    pages = html_pages(site_dir)
    assert pages, "no HTML pages built"
    for page in pages:
        for tag, attr, value in parse(page).refs:
            value = value.strip()
            parts = urlsplit(value)
            if parts.scheme in SKIP_SCHEMES or parts.netloc or not value:
                continue
            if parts.scheme:
                problems.append(f"{page.relative_to(site_dir)}: unexpected URL scheme {value!r}")
                continue
            if not parts.path:  # '#anchor' on the same page
                target = page
            else:
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{page.relative_to(site_dir)}: <{tag} {attr}={value!r}> -> missing")
                    continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                problems.append(f"{page.relative_to(site_dir)}: {value!r} -> no id {fragment!r}")
    assert not problems, "broken internal links:\n" + "\n".join(problems)


def test_no_external_assets(site_dir):
    """Pages must render offline: nothing the browser fetches by itself may name another host.

    (Plain <a href="https://..."> links are fine; Thebe loads its library only on click.)
    """
    problems = []
    for page in html_pages(site_dir):
        col = parse(page)
        for tag, attr, value in col.refs:
            if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and attr == "src":
                if urlsplit(value.strip()).netloc or value.strip().startswith("//"):
                    problems.append(f"{page.relative_to(site_dir)}: <{tag} src={value!r}>")
        for rel, href in col.rels:
            if set(rel.split()) & FETCHING_RELS and (urlsplit(href).netloc or href.startswith("//")):
                problems.append(f"{page.relative_to(site_dir)}: <link rel={rel!r} href={href!r}>")
    assert not problems, "pages load assets from other hosts:\n" + "\n".join(problems)


def notebook_chapters() -> list[str]:
    """Docnames of MyST-notebook chapters (a jupytext/kernelspec header)."""
    return sorted(
        str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "chapters").glob("*.md")
        if re.match(r"\A---\n.*?^kernelspec:", p.read_text(encoding="utf-8"), flags=re.S | re.M)
    )


@pytest.mark.parametrize("docname", notebook_chapters())
def test_chapter_offers_ipynb_and_md(site_dir, docname):
    page = site_dir / f"{docname}.html"
    assert page.is_file(), f"{page} not built"
    hrefs = [v for tag, attr, v in parse(page).refs if tag == "a" and attr == "href"]
    for suffix in (".ipynb", ".md"):
        links = [h for h in hrefs if urlsplit(h).path.endswith(f"_sources/{docname}{suffix}")]
        assert links, f"{docname}: no {suffix} download link"
        target = (page.parent / urlsplit(links[0]).path).resolve()
        assert target.is_file(), f"{docname}: download {links[0]} missing"

    nb = json.loads((site_dir / "_sources" / f"{docname}.ipynb").read_text(encoding="utf-8"))
    assert nb.get("nbformat") == 4 and nb.get("cells"), f"{docname}.ipynb is not a notebook"
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    md_code = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```",
                         (ROOT / f"{docname}.md").read_text(encoding="utf-8"), flags=re.S)
    for block in md_code:
        body = re.sub(r"\A(?:---\n.*?\n---\n|(?::\w+:.*\n)+)", "", block, flags=re.S).strip()
        if body:
            assert body.splitlines()[0] in code, f"{docname}.ipynb lacks code {body.splitlines()[0]!r}"


def test_every_built_page_is_in_the_toc(site_dir):
    """No stray pages: everything built (bar Sphinx's own) comes from _toc.yml."""
    import yaml

    toc_text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    toc = yaml.safe_load(toc_text)
    listed = {toc["root"]} | set(re.findall(r"file:\s*(\S+)", toc_text))
    special = {"index", "genindex", "search", "py-modindex"}
    built = {
        str(p.relative_to(site_dir).with_suffix(""))
        for p in html_pages(site_dir)
        if "_sources" not in p.relative_to(site_dir).parts
    }
    stray = sorted(built - listed - special)
    assert not stray, f"pages built but not in _toc.yml: {stray}"
    missing = sorted(listed - built)
    assert not missing, f"pages in _toc.yml but not built: {missing}"


@pytest.mark.parametrize("docname", notebook_chapters())
def test_binder_button_opens_the_chapter_in_jupyterlab(site_dir, docname):
    """The rocket menu → Binder opens this chapter's .md in JupyterLab (where it opens as a notebook)."""
    html = (site_dir / f"{docname}.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(https://mybinder\.org/v2/[^"]*)"', html)
    assert links, f"{docname}: no Binder launch link"
    expected = re.compile(r"[?&]urlpath=lab/tree/(\./)?" + re.escape(f"{docname}.md") + r"(&|$)")
    assert any(expected.search(unquote(link)) for link in links), f"{docname}: Binder links {links}"


def test_no_thebe_button(site_dir):
    """Thebe (CDN-loaded, untestable offline, no ipywidgets 8 support) is switched off: no button."""
    offenders = [str(p.relative_to(site_dir)) for p in html_pages(site_dir)
                 if "btn-launch-thebe" in p.read_text(encoding="utf-8", errors="replace")]
    assert not offenders, f"pages with a Thebe button: {offenders}"


def test_readme_binder_badges():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    badges = re.findall(r"\]\((https://mybinder\.org/v2/gh/[^)]*)\)", readme)
    assert any(re.search(r"urlpath=lab/tree/chapters/[\w]+\.md$", b) for b in badges), badges
    assert any(b.endswith("urlpath=voila/render/app/dashboard.ipynb") for b in badges), badges
    for badge in badges:
        target = re.search(r"urlpath=(?:lab/tree|voila/render)/(.+)$", badge)
        assert target and (ROOT / target[1]).is_file(), f"badge points to a missing file: {badge}"

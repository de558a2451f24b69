"""The book read live, as a reader does it: JupyterLab, Notebook 7 and the Voilà dashboard.

Each test starts the server from the book's environment (tests/liveserver.py: 127.0.0.1, free
port, random token, private user settings, killed at teardown) and drives headless Chromium:

* JupyterLab: ``/lab/tree/chapters/01_small_eigenvalues.md`` opens as a notebook (the settings
  override that ``make env`` installs into the environment, not "Open With"), the MyST markup is
  rendered by jupyterlab-myst, Run All finishes without an error output, moving a slider of the
  chapter's explorer re-draws its figure, and the figure is shown at its natural size;
* Notebook 7: the same for the introduction (``/notebooks/chapters/00_introduction.md``);
* Voilà (``make app``): the dashboard shows all seven explorers and no code, each figure at its
  natural size, and a slider re-draws its figure; a screenshot goes to _build/screenshots/.

Chapters are served from a temporary copy and autosave is off, so nothing is written back.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from liveserver import ROOT, VENV_BIN, jupyter_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SCREENSHOTS = ROOT / "_build" / "screenshots"
OVERRIDE_SRC = ROOT / "jupyter" / "labconfig" / "default_setting_overrides.json"
OVERRIDE_INSTALLED = VENV_BIN.parent / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
# never write the chapter back (both apps); never ask about news (JupyterLab only: Notebook 7 has no
# such plugin, and a settings file for an unknown plugin makes it throw)
NOTEBOOK_SETTINGS = {"@jupyterlab/docmanager-extension:plugin": {"autosave": False}}
LAB_SETTINGS = {**NOTEBOOK_SETTINGS,
                "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
RUN_ALL_TIMEOUT_MS = 240_000
# Uncaught errors of the apps themselves that change nothing a reader sees; only these are tolerated:
# * JupyterLab 4.6's cell toolbar measures a markdown cell's rendered output and throws when
#   jupyterlab-myst renders that cell itself;
# * Notebook 7.6.5 throws "reading 'schema'" while loading settings, on every page (its file
#   browser included, also with jupyterlab-myst, jupytext and Voilà's preview disabled).
KNOWN_PAGE_ERRORS = ("_markdownOverlapsToolbar", "Cannot read properties of undefined (reading 'schema')")

# The notebook currently shown: its JSON (outputs included) and whether its kernel is busy.
NOTEBOOK_STATE = """
() => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {
    isNotebook: panel.node.classList.contains('jp-NotebookPanel'),
    path: panel.context.path,
    status: kernel ? kernel.status : 'none',
    busyPrompts: Array.from(panel.node.querySelectorAll('.jp-InputPrompt'))
                      .filter(n => n.textContent.includes('*')).length,
    notebook: panel.context.model.toJSON(),
  };
}
"""

# Every explorer figure (ipywidgets Image in an output area): natural vs displayed size.
FIGURES = """
() => Array.from(document.querySelectorAll('.jp-OutputArea-output img.widget-image, img.widget-image'))
  .filter((img, i, all) => all.indexOf(img) === i)
  .map(img => ({src: img.src.slice(0, 64) + img.src.length, complete: img.complete,
                natural: img.naturalWidth, naturalHeight: img.naturalHeight,
                shown: img.getBoundingClientRect().width, shownHeight: img.getBoundingClientRect().height}))
"""


@pytest.fixture()
def book_copy(tmp_path):
    """The chapters and the dashboard in a scratch root (the servers may write checkpoints there)."""
    root = tmp_path / "root"
    shutil.copytree(ROOT / "chapters", root / "chapters",
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return root


def test_settings_override_is_installed():
    """`make env` installs the shipped override into the environment (JupyterLab and Notebook 7 read it)."""
    assert OVERRIDE_INSTALLED.is_file(), f"{OVERRIDE_INSTALLED} missing: run `make env`"
    assert json.loads(OVERRIDE_INSTALLED.read_text()) == json.loads(OVERRIDE_SRC.read_text())
    viewers = json.loads(OVERRIDE_SRC.read_text())["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}


def _errors_in(notebook: dict) -> list[str]:
    problems = []
    for i, cell in enumerate(notebook["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                if "Traceback" in text or "Error" in text:
                    problems.append(f"cell {i}: stderr {text[:300]!r}")
    return problems


def _figure_checks(figures: list[dict], where: str) -> None:
    assert figures, f"{where}: no explorer figure"
    for fig in figures:
        assert fig["complete"] and fig["natural"] > 0, f"{where}: figure not loaded: {fig}"
        ratio = fig["natural"] / fig["shown"]
        # natural size: one image pixel per CSS pixel, or an integer number per CSS pixel (a high-DPI
        # PNG shown at half its size), never stretched to the output width
        assert abs(ratio - round(ratio)) < 0.02 and round(ratio) in (1, 2, 3), (
            f"{where}: figure scaled by {ratio:.3f} (natural {fig['natural']} px, shown {fig['shown']:.1f} px)")
        assert abs(fig["naturalHeight"] / fig["shownHeight"] - ratio) < 0.02, f"{where}: aspect changed: {fig}"
        assert fig["shown"] >= 300, f"{where}: figure squeezed to {fig['shown']} px"


def _move_first_slider(page, container_selector: str) -> None:
    handle = page.locator(f"{container_selector} .widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=8)  # drag the handle as a reader does
    page.mouse.up()


def _slider_redraws(page, container_selector: str, where: str) -> None:
    """Move the first slider of the first explorer in ``container_selector``; its image must change."""
    image = page.locator(f"{container_selector} img.widget-image").first
    before = image.get_attribute("src")
    _move_first_slider(page, container_selector)
    page.wait_for_function(
        "([sel, before]) => { const img = document.querySelector(sel + ' img.widget-image');"
        " return img && img.src !== before && img.complete && img.naturalWidth > 0; }",
        arg=[container_selector, before], timeout=60_000)
    assert image.get_attribute("src") != before, f"{where}: slider moved but the figure did not change"


def _open_run_all(browser, url: str, where: str, shot: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda e: page_errors.append(f"{e} {e.stack}"))
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=120_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.content"
                               " && window.jupyterapp.shell.currentWidget.content.model", timeout=120_000)
        state = page.evaluate(NOTEBOOK_STATE)
        assert state["isNotebook"], f"{where}: not opened as a notebook"
        assert page.locator(".jp-FileEditor").count() == 0, f"{where}: a text editor was opened"
        # MyST rendered (jupyterlab-myst): the learning-goals admonition is a box, not ':::{admonition}'
        page.wait_for_selector(".jp-MarkdownCell .admonition, .jp-MarkdownCell aside", timeout=60_000)
        first_md = page.locator(".jp-MarkdownCell").first
        assert ":::{admonition}" not in first_md.inner_text(), f"{where}: MyST shown raw"

        page.wait_for_function(
            "() => { const p = window.jupyterapp.shell.currentWidget; const k = p.sessionContext.session"
            " && p.sessionContext.session.kernel; return k && k.status === 'idle'; }", timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            "() => { const p = window.jupyterapp.shell.currentWidget;"
            " const k = p.sessionContext.session.kernel;"
            " const prompts = Array.from(p.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));"
            " return k.status === 'idle' && prompts.length > 0"
            "   && prompts.every(n => /\\[\\d+\\]/.test(n.textContent)); }",
            timeout=RUN_ALL_TIMEOUT_MS, polling=500)
        state = page.evaluate(NOTEBOOK_STATE)
        code_cells = [c for c in state["notebook"]["cells"] if c["cell_type"] == "code"]
        assert code_cells and all(c.get("execution_count") for c in code_cells), f"{where}: not all cells ran"
        assert not _errors_in(state["notebook"]), f"{where}: error outputs: {_errors_in(state['notebook'])}"

        explorer = ".jp-CodeCell:has(img.widget-image)"
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('img.widget-image'))"
            ".some(i => i.complete && i.naturalWidth > 0)", timeout=60_000)
        page.locator(f"{explorer} img.widget-image").first.scroll_into_view_if_needed()
        _figure_checks(page.evaluate(FIGURES), where)
        _slider_redraws(page, explorer, where)
        _figure_checks(page.evaluate(FIGURES), where + " after the slider moved")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / shot))
        unexpected = [e for e in page_errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
        assert not unexpected, f"{where}: uncaught page errors: {unexpected}"
    finally:
        context.close()


IS_NOTEBOOK = ("(name) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " return !!(w && w.context && w.context.path.endsWith(name)"
               " && w.node.classList.contains('jp-NotebookPanel')); }")


def test_jupyterlab_opens_and_runs_chapter(browser, book_copy, tmp_path):
    with jupyter_server("lab", book_copy, tmp_path / "state", user_settings=LAB_SETTINGS) as (url, token):
        _open_run_all(browser, f"{url}lab/tree/chapters/01_small_eigenvalues.md?token={token}",
                      "JupyterLab, chapter 1", "live_jupyterlab.png")
        # and by double-click in the file browser
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            page.goto(f"{url}lab/tree/chapters?token={token}", wait_until="domcontentloaded", timeout=60_000)
            item = page.locator(".jp-DirListing-item", has_text="00_introduction.md")
            item.wait_for(timeout=60_000)
            item.dblclick()
            page.wait_for_function(IS_NOTEBOOK, arg="00_introduction.md", timeout=60_000)
            assert page.locator(".jp-FileEditor").count() == 0, "double-click opened a text editor"
        finally:
            context.close()


def test_notebook7_opens_and_runs_chapter(browser, book_copy, tmp_path):
    with jupyter_server("notebook", book_copy, tmp_path / "state", user_settings=NOTEBOOK_SETTINGS) as (url, token):
        _open_run_all(browser, f"{url}notebooks/chapters/00_introduction.md?token={token}",
                      "Notebook 7, introduction", "live_notebook7.png")
        # and by (double-)clicking it in Notebook 7's file browser, which opens a new browser tab
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            page.goto(f"{url}tree/chapters?token={token}", wait_until="domcontentloaded", timeout=60_000)
            item = page.locator(".jp-DirListing-item", has_text="01_small_eigenvalues.md")
            item.wait_for(timeout=60_000)
            with context.expect_page(timeout=60_000) as opened:
                item.dblclick()
            tab = opened.value
            tab.wait_for_function(IS_NOTEBOOK, arg="01_small_eigenvalues.md", timeout=60_000)
            assert tab.locator(".jp-FileEditor").count() == 0, "double-click opened a text editor"
        finally:
            context.close()


def test_dashboard_under_voila(browser, tmp_path):
    import nearopt.widgets

    dashboard = ROOT / "app" / "dashboard.ipynb"
    cells = json.loads(dashboard.read_text(encoding="utf-8"))["cells"]
    called = {name for name in nearopt.widgets.EXPLORERS
              for c in cells if c["cell_type"] == "code" and f"{name}()" in "".join(c["source"])}
    assert called == set(nearopt.widgets.EXPLORERS), f"dashboard lacks {set(nearopt.widgets.EXPLORERS) - called}"

    with jupyter_server("voila", ROOT, tmp_path / "state", target=dashboard, timeout=60) as (url, token):
        context = None
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(f"{url}?token={token}", wait_until="domcontentloaded", timeout=120_000)
            n = len(nearopt.widgets.EXPLORERS)
            page.wait_for_function(
                f"() => Array.from(document.querySelectorAll('img.widget-image'))"
                f".filter(i => i.complete && i.naturalWidth > 0).length >= {n}", timeout=120_000)
            text = page.inner_text("body")
            for bad in ("Traceback", "There was an error when executing cell", "Error:"):
                assert bad not in text, f"dashboard shows {bad!r}"
            # no code: neither input editors nor any call of the explorers is visible
            visible_code = page.evaluate(
                "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-InputArea-editor,"
                " .CodeMirror, .cm-editor')).filter(n => n.offsetHeight > 0).length")
            assert visible_code == 0, f"dashboard shows {visible_code} code inputs"
            assert "nearopt.widgets" not in text, "dashboard shows code"
            figures = page.evaluate(FIGURES)
            assert len(figures) == n, f"{len(figures)} figures for {n} explorers"
            _figure_checks(figures, "Voilà dashboard")
            page.evaluate("window.scrollTo(0, 0)")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))
            _slider_redraws(page, ".jp-OutputArea-output:has(img.widget-image)", "Voilà dashboard")
            assert not page_errors, f"Voilà: uncaught page errors: {page_errors}"
        finally:
            if context is not None:
                context.close()

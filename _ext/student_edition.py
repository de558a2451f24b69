"""The student edition: the same book without any exercise solution (`make student`).

Active only when the environment variable ``BOOK_EDITION=student`` is set (the Makefile's
``student`` target does it); the full edition (`make book`) is untouched.

Why not sphinx-exercise's own ``hide_solutions: true``?  With *gated* solutions
(``solution-start`` … ``solution-end``, the form the chapters use so that solution code and its
output sit inside the fold) it drops the start node but keeps the end node and everything in
between, and the HTML writer then fails with ``NotImplementedError: unknown node type:
solution_end_node`` (sphinx-exercise 1.2.1 with Jupyter Book 1).  Instead this extension

* removes, while the document is read, every ``solution`` node and every gated region from a
  ``solution_start_node`` to its ``solution_end_node`` inclusive — text, code cells and their
  outputs — before sphinx-exercise merges gated solutions (so pages, search index, images and
  cross-references never see them);
* after the build, strips the same regions from the downloadable sources
  (``_sources/**/*.md`` and the generated ``_sources/**/*.ipynb``);
* drops the launch (Binder) and repository buttons, which lead to the full sources, and offers
  the executed notebook (without solutions) for download itself (the theme does so only when
  launch buttons are configured).

The solution code is still executed with the rest of the chapter (a later cell may rely on it),
only never shown.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

ENV_VAR = "BOOK_EDITION"
EDITIONS = ("full", "student")


def edition() -> str:
    value = os.environ.get(ENV_VAR, "full").strip() or "full"
    if value not in EDITIONS:
        raise ValueError(f"{ENV_VAR} must be one of {EDITIONS}, got {value!r}")
    return value


# ---------------------------------------------------------------- text sources (.md, .ipynb)

_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\s*\{(?P<name>solution|solution-start|solution-end)\}")


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def strip_solutions(text: str, state: tuple = ()) -> tuple[str, tuple]:
    """Remove MyST solution blocks from ``text``.

    Handles ``{solution}`` directives and gated ``{solution-start}`` … ``{solution-end}`` regions
    (backtick or colon fences).  ``state`` carries an open region from one notebook cell to the
    next (``()`` when outside); returns the kept text and the state at its end.
    """
    kept = []
    for line in text.splitlines(keepends=True):
        if not state:
            match = _OPEN.match(line)
            if match and match["name"] == "solution":
                state = ("plain", match["fence"])
            elif match and match["name"] == "solution-start":
                state = ("gated",)
            elif match:  # a stray solution-end: drop it with its closing fence
                state = ("end", match["fence"])
            else:
                kept.append(line)
            continue
        if state[0] == "gated":
            match = _OPEN.match(line)
            if match and match["name"] == "solution-end":
                state = ("end", match["fence"])
        elif state[0] in ("plain", "end") and _closes(line, state[1]):
            state = ()
    return "".join(kept), state


def strip_solutions_notebook(nb: dict) -> dict:
    """A copy of notebook JSON ``nb`` without solution text, code cells or outputs."""
    cells, state = [], ()
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "markdown" or (cell.get("cell_type") == "raw" and not state):
            text, state = strip_solutions(source, state)
            if text.strip():
                cells.append({**cell, "source": text})
        elif not state:
            cells.append(cell)
    if state:
        raise ValueError(f"unterminated solution block ({state[0]}) in notebook")
    return {**nb, "cells": cells}


def _strip_sources(app, exception):
    if exception is not None or edition() != "student" or app.builder.format != "html":
        return
    sources = Path(app.outdir) / "_sources"
    count = 0
    for path in sorted(sources.rglob("*")) if sources.is_dir() else []:
        if path.suffix in (".md", ".txt") and path.is_file():
            text, state = strip_solutions(path.read_text(encoding="utf-8"))
            if state:
                raise ValueError(f"{path}: unterminated solution block")
        elif path.suffix == ".ipynb" and path.is_file():
            nb = strip_solutions_notebook(json.loads(path.read_text(encoding="utf-8")))
            text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        else:
            continue
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            count += 1
    logger.info(f"[student edition] solutions stripped from {count} downloadable source(s)")


# ---------------------------------------------------------------- doctree


class RemoveSolutions(SphinxTransform):
    """Delete solutions from the doctree (before sphinx-exercise merges gated ones, priority 10)."""

    default_priority = 5

    def apply(self):
        if edition() != "student":
            return
        from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

        for node in list(self.document.findall(solution_node)):
            node.parent.remove(node)
        for start in list(self.document.findall(solution_start_node)):
            parent = start.parent
            if parent is None:
                continue
            index = parent.index(start)
            for stop in range(index, len(parent.children)):
                if isinstance(parent.children[stop], solution_end_node):
                    break
            else:
                raise ValueError(f"{self.env.docname}: solution-start without a solution-end "
                                 "at the same level")
            del parent.children[index:stop + 1]
        for end in list(self.document.findall(solution_end_node)):
            end.parent.remove(end)


def _offer_notebook(app, pagename, templatename, context, doctree):
    """The theme offers the executed .ipynb only with launch buttons; offer a stripped copy here."""
    if edition() != "student" or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    if not str(context.get("sourcename", "")).endswith((".md", ".md.txt")):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nb = strip_solutions_notebook(json.loads(executed.read_text(encoding="utf-8")))
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    context["ipynb_source"] = f"{pagename}.ipynb"


def _student_config(app, config):
    if edition() != "student":
        return
    options = dict(config.html_theme_options or {})
    options["launch_buttons"] = {}
    options["use_repository_button"] = False
    options["use_issues_button"] = False
    options["use_edit_page_button"] = False
    config.html_theme_options = options
    config.html_title = f"{config.html_title or config.project} (student edition)"


def setup(app):
    edition()  # validate the variable early
    app.connect("config-inited", _student_config)
    app.add_transform(RemoveSolutions)
    app.connect("html-page-context", _offer_notebook, priority=500)  # before the theme's buttons (501)
    app.connect("build-finished", _strip_sources)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

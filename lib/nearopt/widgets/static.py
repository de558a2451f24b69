"""The static (kernel-free) view of an explorer: its figure precomputed over a grid of the main control and a
self-contained HTML fragment (``templates/static_view.html`` and ``templates/static_view.js``: no
``<html>``/``<body>``, no external script) that switches frames with a plain ``<input type="range">`` or
``<select>``.

It is computed only for the book build: :func:`static_preview_enabled` is true when the environment variable
``NEAROPT_STATIC_PREVIEW`` is ``1`` (the Makefile sets it).  A live display in Jupyter never computes it.
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
import uuid
from functools import lru_cache
from pathlib import Path

import numpy as np

from .controls import describe_error

__all__ = ["ENV_VAR", "static_preview_enabled", "static_frames", "render_static_html"]

#: environment variable that turns the static preview on (``"1"``)
ENV_VAR = "NEAROPT_STATIC_PREVIEW"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


def static_preview_enabled() -> bool:
    """Whether displays include the precomputed HTML view (``NEAROPT_STATIC_PREVIEW=1``)."""
    return os.environ.get(ENV_VAR, "").strip() == "1"


@lru_cache(maxsize=None)
def _template(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def _fill(template: str, **fields) -> str:
    """Replace every ``{{name}}`` in one pass (a value is never scanned for placeholders)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: str(fields[m.group(1)]), template)


def _is_number(s: str) -> bool:
    try:
        float(str(s).replace("−", "-"))
        return True
    except ValueError:
        return False


def static_frames(explorer, values=None) -> tuple[list, int]:
    """Frames ``{"label", "src" (PNG data URI or ''), "text"}`` over ``values`` of the explorer's main control
    (default: its static grid) and the index of the current value (the nearest one if not in the grid).
    Errors become the frame's text; the controls are left as they are."""
    base = explorer.params()
    main = explorer.main
    values = list(explorer.static_values(base) if values is None else values)
    if not values:
        raise ValueError("static_html needs at least one value of the main control")
    frames = []
    for v in values:
        p = dict(base)
        p[main] = v
        label = explorer.format_value(main, v)
        try:
            data = explorer.get(p)
            png = explorer.figure(data, p, explorer.dpi_static, optimize=True)
            src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            notes = " ".join(data.get("notes", ()))
            caption = explorer.caption(data, p)
            text = (caption + "\n" if caption else "") + explorer.summary(data, p) + (f"  [{notes}]" if notes else "")
        except Exception as exc:
            src, text = "", describe_error(exc)
        frames.append({"label": label, "src": src, "text": text})
    cur = base[main]
    if cur in values:
        start = values.index(cur)
    else:
        try:
            start = int(np.argmin([abs(float(v) - float(cur)) for v in values]))
        except (TypeError, ValueError):
            start = 0
    return frames, start


def render_static_html(explorer, frames: list, start: int) -> str:
    """The HTML fragment for ``frames`` (see :func:`static_frames`), showing frame ``start`` first."""
    uid = f"nearopt-{type(explorer).__name__.lower()}-{uuid.uuid4().hex[:12]}"
    control = explorer.controls[explorer.main]
    name = getattr(control, "description", "") or explorer.main
    esc = html.escape
    use_select = len(frames) <= 1 or not all(_is_number(f["label"]) for f in frames)
    if use_select:
        options = "".join(f'<option value="{i}"{" selected" if i == start else ""}>{esc(f["label"])}</option>'
                          for i, f in enumerate(frames))
        ctl = f'<select id="{uid}-ctl" aria-label="{esc(name)}">{options}</select>'
    else:
        ctl = (f'<input type="range" id="{uid}-ctl" min="0" max="{len(frames) - 1}" step="1" value="{start}" '
               f'aria-label="{esc(name)}" style="width:220px;vertical-align:middle">')
    f0 = frames[start]
    payload = json.dumps([{"l": f["label"], "s": f["src"], "t": f["text"]} for f in frames],
                         ensure_ascii=True, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    css_width = int(round(explorer.figsize[0] * explorer.dpi_static))
    return _fill(
        _template("static_view.html"),
        uid=uid, explorer=esc(type(explorer).__name__), n_frames=len(frames), title=esc(explorer.title),
        name=esc(name), control=ctl, output_style=";display:none" if use_select else "", label=esc(f0["label"]),
        src_attr=f'src="{f0["src"]}" ' if f0["src"] else "", img_display="block" if f0["src"] else "none",
        text=esc(f0["text"]), css_width=css_width, max_width=max(css_width + 20, 680), payload=payload,
        script=_template("static_view.js").replace("@UID@", uid))

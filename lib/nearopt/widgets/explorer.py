"""The explorer: controls → cached computation → figure, with errors and warnings shown inside the widget.

An :class:`Explorer` owns

* ``controls`` — a dict name → ipywidget; changing any control's value calls :meth:`Explorer.update`;
* a computation — a pure function of the control values returning a dict of numbers (``data``), cached by
  the values that matter (``n_computations`` counts the real computations);
* ``draw(ax, data, values)`` — a matplotlib drawing of those numbers, shown as a PNG at its natural size
  (rendered at twice its CSS size: sharp on a high-DPI screen, never stretched);
* ``summary(data, values)`` — the same numbers as one short line of text.

Errors never escape :meth:`Explorer.update`: the message is shown inside the widget (``message``) and
``data`` is emptied.  Warnings raised during a computation (e.g. the library's quadrature or stability
warnings) become notes, shown in the widget and kept in ``data["notes"]``.

A small explorer can be defined in a few lines with :meth:`Explorer.from_functions`; the book's explorers
subclass :class:`Explorer` and set ``make_controls``, ``compute_data`` (their public computation), ``draw``
and ``summary``.  The static view lives in :mod:`nearopt.widgets.static`.
"""
from __future__ import annotations

import html
import inspect
import warnings
from collections import OrderedDict

import numpy as np

from .controls import check_in_range, describe_error
from .figures import CSS_DPI, PIXEL_RATIO, FigureCanvas, fmt
from .static import render_static_html, static_frames, static_preview_enabled

__all__ = ["Explorer", "CACHE_SIZE"]

#: Largest number of cached results kept per explorer (least recently used are dropped).
CACHE_SIZE = 64

_STYLE = {
    "error": "color:#8a1f11;background:#fdf0ed;border-left:3px solid #c0392b",
    "note": "color:#5c4400;background:#fdf7e3;border-left:3px solid #d4a017",
}
_BOX = ";padding:2px 6px;font-size:90%;white-space:pre-wrap"


def _accepts_progress(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Explorer:
    """Base class of the explorers; see the module docstring.  ``Explorer(**values)``: keyword arguments set
    the initial values of the controls (a value outside a control's range is an error, not clamped)."""

    title = "explorer"
    #: name of the main control: the static view precomputes frames over its values
    main: str = ""
    #: control names that only change the drawing, not the numbers (excluded from the cache key)
    render_only: tuple = ()
    #: figure size in inches, number of axes side by side, dots per inch of the static view
    figsize = (6.4, 3.4)
    ncols = 1
    dpi_static = 90
    #: device pixels per CSS pixel of the live PNG (its CSS width is figsize[0] × CSS_DPI)
    pixel_ratio = PIXEL_RATIO
    #: the public computation: ``compute_data(**values) -> dict`` (values without ``render_only``)
    compute_data = None

    def __init__(self, **values):
        import ipywidgets as w
        self.controls = dict(self.make_controls())
        if not self.main:
            self.main = next(iter(self.controls))
        self._check_values(values)
        for name, value in values.items():
            self.controls[name].value = value
        self.data: dict = {}
        self.message: str = ""
        #: the exception behind the current message (None when the last update succeeded)
        self.error: BaseException | None = None
        self.n_computations = 0
        self._cache: OrderedDict = OrderedDict()
        self._png_cache: OrderedDict = OrderedDict()
        self._canvas = FigureCanvas(self.ncols, self.figsize)
        self._hold = False
        self._summary_text = ""
        # the parts of the widget: image (PNG at its natural size), caption_box (what it shows), message_box
        # (error or notes), summary_box (one line of numbers), status and progress (while computing)
        css = f"{int(round(self.figsize[0] * CSS_DPI))}px"
        self.image = w.Image(format="png", layout=w.Layout(width=css, max_width="100%", height="auto"))
        self.summary_box = w.HTML()
        self.caption_box = w.HTML()
        self.message_box = w.HTML()
        self.status = w.Label(value="")
        self.progress = w.IntProgress(min=0, max=1, value=0, bar_style="info",
                                      layout=w.Layout(width="160px", visibility="hidden"))
        ctl = list(self.controls.values())
        rows = [w.HBox(ctl[i:i + 2]) for i in range(0, len(ctl), 2)]
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(self.title)}</b>"), *rows,
                              w.HBox([self.status, self.progress]), self.message_box, self.caption_box, self.image,
                              self.summary_box])
        for c in ctl:
            c.observe(self._on_change, names="value")
        self.update()

    # ------------------------------------------------------------------ hooks
    def make_controls(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, values: dict, progress=None) -> dict:
        """The computation for these control values (default: ``compute_data(**values)``)."""
        fn = type(self).compute_data
        if fn is None:  # pragma: no cover - abstract
            raise NotImplementedError
        values = {k: v for k, v in values.items() if k not in self.render_only}
        return fn(**values, progress=progress) if _accepts_progress(fn) else fn(**values)

    def draw(self, ax, data: dict, values: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self, data: dict, values: dict) -> str:
        return ""

    def caption(self, data: dict, values: dict) -> str:
        """What the figure shows for these values, one line above it (in HTML: cheaper than figure text)."""
        return ""

    def static_values(self, values: dict) -> list:
        """Grid of the main control for the static view: a dropdown's options, or 7 values across a
        slider's range."""
        c = self.controls[self.main]
        options = getattr(c, "options", None)
        if options:
            return [o[1] if isinstance(o, tuple) else o for o in options]
        lo, hi = getattr(c, "min", None), getattr(c, "max", None)
        if lo is None or hi is None:
            return [c.value]
        if type(c).__name__ == "FloatLogSlider":
            return list(c.base ** np.linspace(lo, hi, 7))
        grid = np.linspace(lo, hi, 7)
        return sorted({int(round(v)) for v in grid}) if isinstance(c.value, int) else [float(v) for v in grid]

    def ignored(self, values: dict) -> set:
        """Controls that do not affect the numbers for these values: the batch size N of a population
        computation."""
        if "mode" in values and "n_samples" in values and values["mode"] != "batch":
            return {"n_samples"}
        return set()

    def format_value(self, name: str, value) -> str:
        options = getattr(self.controls[name], "options", None)
        if options and isinstance(options[0], tuple):
            for label, v in options:
                if v == value:
                    return str(label)
        return fmt(value) if isinstance(value, float) else str(value)

    # ------------------------------------------------------------------ small explorers
    @classmethod
    def from_functions(cls, controls: dict, compute, draw, summary=None, *, title: str = "explorer",
                       main: str | None = None, static_values=None, render_only=(), figsize=(6.4, 3.4),
                       ncols: int = 1, **values) -> "Explorer":
        """An explorer from three functions (a chapter's small interactive figure in a few lines).

        ``controls``: name → ipywidget, or an ``ipywidgets.interact`` abbreviation (``(lo, hi[, step])`` a
        slider, a list of options a dropdown, a bool a checkbox, …).  ``compute(**values) -> dict`` gets the
        value of every control except ``render_only`` (and ``progress``, a callable ``(i, n)``, if it takes
        it); ``draw(ax, data, values)`` draws on the axes (a list when ``ncols > 1``); ``summary(data,
        values) -> str`` is an optional line of text.  ``main`` (default: the first control) is what the
        static view steps through, over ``static_values`` (a list or ``callable(values) -> list``).
        ``values``: initial control values.
        """
        if not isinstance(controls, dict) or not controls:
            raise ValueError("controls must be a non-empty dict name -> ipywidget or interact abbreviation")
        for name, fn in (("compute", compute), ("draw", draw)):
            if not callable(fn):
                raise TypeError(f"{name} must be callable; got {fn!r}")
        if main is not None and main not in controls:
            raise ValueError(f"main = {main!r} is not one of the controls {sorted(controls)}")

        def make_controls(self):
            from ipywidgets import interactive
            out = {}
            for name, spec in controls.items():
                widget = spec if hasattr(spec, "observe") else interactive.widget_from_abbrev(spec)
                if widget is None:
                    raise ValueError(f"control {name!r}: cannot make a widget from {spec!r}")
                if not getattr(widget, "description", ""):
                    widget.description = name
                if hasattr(widget, "continuous_update"):
                    widget.continuous_update = False
                out[name] = widget
            return out

        attrs = {"title": title, "main": main or "", "render_only": tuple(render_only), "figsize": tuple(figsize),
                 "ncols": ncols, "make_controls": make_controls, "compute_data": staticmethod(compute),
                 "draw": lambda self, ax, data, v: draw(ax, data, v)}
        if summary is not None:
            attrs["summary"] = lambda self, data, v: str(summary(data, v))
        if static_values is not None:
            attrs["static_values"] = ((lambda self, v: list(static_values(v))) if callable(static_values)
                                      else (lambda self, v: list(static_values)))
        return type("FunctionExplorer", (cls,), attrs)(**values)

    # ------------------------------------------------------------------ state
    def params(self) -> dict:
        """The current control values."""
        return {k: c.value for k, c in self.controls.items()}

    def key(self, values: dict) -> tuple:
        skip = set(self.render_only) | self.ignored(values)
        return (type(self).__name__,) + tuple((k, values[k]) for k in sorted(values) if k not in skip)

    def _check_values(self, values: dict) -> None:
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown control(s) {sorted(unknown)}; "
                            f"known: {sorted(self.controls)}")
        for name, value in values.items():
            check_in_range(name, self.controls[name], value)

    def set(self, **values) -> None:
        """Set several controls at once and update once (a value outside a control's range is an error)."""
        self._check_values(values)
        self._hold = True
        try:
            for k, v in values.items():
                self.controls[k].value = v
        finally:
            self._hold = False
        self.update()

    def _on_change(self, change) -> None:
        if not self._hold:
            self.update()

    @property
    def summary_text(self) -> str:
        return self._summary_text

    # ------------------------------------------------------------------ computing and drawing
    def _progress_cb(self, i: int, n: int) -> None:
        self.progress.max = max(int(n), 1)
        self.progress.value = min(int(i), self.progress.max)
        self.progress.layout.visibility = "visible"

    def get(self, values: dict, progress=None) -> dict:
        """Cached computation for ``values``; warnings raised meanwhile are appended to ``data["notes"]``."""
        k = self.key(values)
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="ignore"):
                data = dict(self.compute(dict(values), progress))
        notes = list(data.get("notes", ()))
        for w in caught:
            if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)  # for developers
                continue
            text = f"Warning: {w.message}"
            if text not in notes:
                notes.append(text)
        data["notes"] = notes
        self.n_computations += 1
        self._cache[k] = data
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return data

    @property
    def dpi_live(self) -> float:
        return CSS_DPI * self.pixel_ratio

    def figure(self, data: dict, values: dict, dpi: float, optimize: bool = False) -> bytes:
        """PNG of ``draw`` for these values, cached by the values (including the drawing-only ones) and dpi."""
        rkey = (self.key(values), tuple(values[k] for k in self.render_only), dpi, optimize)
        png = self._png_cache.get(rkey)
        if png is not None:
            self._png_cache.move_to_end(rkey)
            return png
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. overflow while a diverging run is drawn
            with np.errstate(all="ignore"):
                png = self._canvas.render(self.draw, data, values, dpi, optimize)
        self._png_cache[rkey] = png
        while len(self._png_cache) > 2 * CACHE_SIZE:
            self._png_cache.popitem(last=False)
        return png

    @property
    def n_drawn(self) -> int:
        """Number of figures drawn (live and static)."""
        return self._canvas.n_drawn

    def update(self) -> None:
        """Recompute (or fetch from the cache) and redraw for the current controls; never raises."""
        values = self.params()
        try:
            if self.key(values) not in self._cache:
                self.status.value = "computing…"
            data = self.get(values, progress=self._progress_cb)
            png = self.figure(data, values, self.dpi_live)
            text = self.summary(data, values)
            caption = self.caption(data, values)
            self.data, self.error = data, None
            self.message = " ".join(data.get("notes", ()))
            self.image.value = png
            self.image.layout.display = None
            self._summary_text = text
            self.caption_box.value = (f"<div style='font-size:90%;text-align:center;max-width:{self.image.layout.width}'>"
                                      f"{html.escape(caption)}</div>" if caption else "")
            self.summary_box.value = f"<span style='font-family:monospace;font-size:90%'>{html.escape(text)}</span>"
        except Exception as exc:  # shown in the widget, never raised
            self.error, self.data = exc, {}
            self.message = describe_error(exc)
            self.image.layout.display = "none"
            self._summary_text = ""
            self.summary_box.value = ""
            self.caption_box.value = ""
        finally:
            self.status.value = ""
            self.progress.layout.visibility = "hidden"
            self.progress.value = 0
        kind = "error" if self.error is not None else "note"
        self.message_box.value = (f"<div class='nearopt-{kind}' style='{_STYLE[kind]}{_BOX}'>"
                               f"{html.escape(self.message)}</div>" if self.message else "")

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """The live widget; the static HTML view too, but only when ``NEAROPT_STATIC_PREVIEW=1``."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs) or {})
        bundle["text/plain"] = f"<{type(self).__name__}: {self.summary_text or self.message}>"
        if static_preview_enabled():
            bundle["text/html"] = self.static_html()
        return bundle

    def static_html(self, values=None) -> str:
        """Self-contained HTML/JS view over a grid of the main control (no kernel needed); ``values``
        overrides the grid."""
        frames, start = static_frames(self, values)
        return render_static_html(self, frames, start)

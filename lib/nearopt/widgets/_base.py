"""Shared machinery of the interactive explorers: controls, caching, error display, PNG figures and the
static (kernel-free) HTML view.

An :class:`Explorer` owns

* ``controls`` — a dict name → ipywidget; changing any control's value calls :meth:`Explorer.update`;
* ``compute(params)`` — a pure function of the control values that returns a dict of numbers, every one of
  them obtained from :mod:`nearopt`; results are cached by the parameters (``n_computations`` counts the
  real computations);
* ``draw(fig, data, params)`` — a matplotlib figure (Agg, no pyplot) of those numbers, shown as a PNG in an
  ``ipywidgets.Image``;
* ``summary(data, params)`` — the same numbers as one short line of text.

Errors never escape :meth:`Explorer.update`: the message is shown inside the widget (``explorer.message``)
and ``explorer.data`` is emptied.  :meth:`Explorer.static_html` precomputes the figure over a grid of the
main control and returns a self-contained HTML fragment (no ``<html>``/``<body>``, no external script)
that switches frames with a plain ``<input type="range">`` or ``<select>``.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import time
import uuid
import warnings
from collections import OrderedDict

import numpy as np

__all__ = ["Explorer", "TooLargeError", "describe_error", "png_bytes", "new_figure"]

#: Largest parameter count for which an explorer forms and diagonalises a dense P × P matrix.
MAX_DENSE_P = 2000
#: Largest number of cached results kept per explorer (least recently used are dropped).
CACHE_SIZE = 64

_STYLE_MSG = ("color:#8a1f11;background:#fdf0ed;border-left:3px solid #c0392b;padding:2px 6px;"
              "font-size:90%;white-space:pre-wrap")


class TooLargeError(ValueError):
    """The requested setting would take too long in an interactive explorer."""


def describe_error(exc: BaseException) -> str:
    """One readable line for an exception (library errors already explain themselves)."""
    text = str(exc).strip()
    if isinstance(exc, (ValueError, TypeError, MemoryError)) and text:
        return text
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def check_dense(P: int, what: str = "the dense Hessian") -> None:
    if P > MAX_DENSE_P:
        raise TooLargeError(
            f"P = {P} parameters is too large for {what} in an interactive explorer (limit P ≤ {MAX_DENSE_P}); "
            "reduce Ni or Nh, or call the nearopt functions directly.")


def new_figure(ncols: int = 1, size=(6.4, 3.4)):
    """A matplotlib Figure (not registered with pyplot) and its axes; fixed margins (a layout engine would
    cost more than the drawing)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    fig.subplots_adjust(left=0.12 if ncols == 1 else 0.09, right=0.98, bottom=0.14, top=0.9,
                        wspace=0.28)
    return fig, (axes[0] if ncols == 1 else list(axes))


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _power_label(x, pos=None) -> str:
    """'10⁻³' in plain Unicode (matplotlib's default log labels go through the slow mathtext parser)."""
    if x == 0:
        return "0"
    e = math.log10(abs(x))
    if abs(e - round(e)) > 1e-6:
        return ""
    sign = "−" if x < 0 else ""
    k = int(round(e))
    if k == 0:
        return sign + "1"
    return sign + "10" + str(k).translate(_SUPERSCRIPT)


def finish_axes(ax) -> None:
    """No minor ticks, at most about six major ones; plain-Unicode labels on logarithmic axes (matplotlib's
    default log labels go through mathtext, and every tick label is text to lay out and rasterise)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale in ("log", "symlog"):
            if scale == "log":
                axis.set_major_locator(LogLocator(numticks=6))
            axis.set_major_formatter(FuncFormatter(_power_label))
            axis.set_minor_locator(NullLocator())
        elif scale == "linear" and not isinstance(axis.get_major_locator(), MaxNLocator):
            axis.set_major_locator(MaxNLocator(nbins=6))


def png_bytes(fig, dpi: int = 90, optimize: bool = False) -> bytes:
    """PNG of a figure: fast (light compression) for the live view; small for the static page
    (``optimize``: an adaptive palette of 128 colours, about three times smaller than full colour)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    if not optimize:
        return buf.getvalue()
    from PIL import Image
    buf.seek(0)
    img = Image.open(buf).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                                                   dither=Image.Dither.NONE)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def fmt(x, digits: int = 3) -> str:
    """Compact number formatting for summaries (no '$' so MathJax leaves it alone)."""
    if x is None:
        return "–"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        s = f"{x:.{digits}g}"
    else:
        s = f"{x:.{max(digits - 1, 1)}e}"
        m, e = s.split("e")
        s = f"{m}e{int(e)}"
    return s.replace("-", "−")


def slider_layout(width="310px"):
    import ipywidgets as w
    return w.Layout(width=width)


STYLE = {"description_width": "92px"}


class Explorer:
    """Base class of the explorers; see the module docstring."""

    title = "explorer"
    #: name of the main control: the static HTML view precomputes frames over its values
    main: str = ""
    #: control names that only change the drawing, not the numbers (excluded from the cache key)
    render_only: tuple = ()
    #: figure size in inches and the dots per inch of the live and the static views
    figsize = (6.4, 3.4)
    dpi_live = 80
    dpi_static = 90

    def __init__(self, **values):
        import ipywidgets as w
        self.controls = self._make_controls()
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown control(s) {sorted(unknown)}; "
                            f"known: {sorted(self.controls)}")
        for name, value in values.items():
            self.controls[name].value = value
        self.data: dict = {}
        self.message: str = ""
        #: the exception behind the current message (None when the last update succeeded)
        self.error: BaseException | None = None
        self.n_computations = 0
        self.last_update_s = 0.0
        self._cache: OrderedDict = OrderedDict()
        self._png_cache: OrderedDict = OrderedDict()
        self._hold = False
        self._png = b""
        self._summary_text = ""
        self._image = w.Image(format="png", layout=w.Layout(width="auto", max_width="100%"))
        self._summary = w.HTML()
        self._message = w.HTML()
        self._status = w.Label(value="")
        self._progress = w.IntProgress(min=0, max=1, value=0, bar_style="info",
                                       layout=w.Layout(width="160px", visibility="hidden"))
        ctl = list(self.controls.values())
        rows = [w.HBox(ctl[i:i + 2]) for i in range(0, len(ctl), 2)]
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(self.title)}</b>"), *rows,
                              w.HBox([self._status, self._progress]), self._message, self._image, self._summary])
        for c in ctl:
            c.observe(self._on_change, names="value")
        self.update()

    # ------------------------------------------------------------------ to implement
    def _make_controls(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, p: dict, progress=None) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig_axes, data: dict, p: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self, data: dict, p: dict) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def static_values(self, p: dict) -> list:
        """Grid of the main control for the static view (default: the control's options)."""
        return list(self.controls[self.main].options)

    def format_value(self, name: str, value) -> str:
        c = self.controls[name]
        opts = getattr(c, "options", None)
        if opts and isinstance(opts[0], tuple):
            for label, v in opts:
                if v == value:
                    return str(label)
        if isinstance(value, float):
            return fmt(value)
        return str(value)

    ncols = 1

    # ------------------------------------------------------------------ state
    def params(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def ignored(self, p: dict) -> set:
        """Controls that do not affect the numbers for these parameters (e.g. N for a population Hessian)."""
        return set()

    def key(self, p: dict) -> tuple:
        skip = set(self.render_only) | self.ignored(p)
        return (type(self).__name__,) + tuple((k, p[k]) for k in sorted(p) if k not in skip)

    def set(self, **values) -> None:
        """Set several controls at once and update once."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"unknown control(s) {sorted(unknown)}")
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

    # ------------------------------------------------------------------ computing
    def _progress_cb(self, i: int, n: int) -> None:
        self._progress.max = max(int(n), 1)
        self._progress.value = min(int(i), self._progress.max)
        self._progress.layout.visibility = "visible"

    def get(self, p: dict, progress=None) -> dict:
        """Cached ``compute(p)``."""
        k = self.key(p)
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                data = self.compute(dict(p), progress)
        self.n_computations += 1
        self._cache[k] = data
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return data

    def _png_key(self, p: dict, dpi: int, optimize: bool) -> tuple:
        return (self.key(p), tuple(p[k] for k in self.render_only), dpi, optimize)

    def cached_png(self, data: dict, p: dict, dpi: int, optimize: bool = False) -> bytes:
        """:meth:`figure_png`, cached by the parameters (including the drawing-only ones) and the dpi."""
        rkey = self._png_key(p, dpi, optimize)
        png = self._png_cache.get(rkey)
        if png is None:
            png = self.figure_png(data, p, dpi, optimize)
            self._png_cache[rkey] = png
            while len(self._png_cache) > 2 * CACHE_SIZE:
                self._png_cache.popitem(last=False)
        else:
            self._png_cache.move_to_end(rkey)
        return png

    def figure_png(self, data: dict, p: dict, dpi: int, optimize: bool = False) -> bytes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. overflow while a diverging run is drawn
            with np.errstate(all="ignore"):
                fig, axes = new_figure(self.ncols, self.figsize)
                self.draw(axes, data, p)
                for ax in fig.axes:
                    finish_axes(ax)
                return png_bytes(fig, dpi=dpi, optimize=optimize)

    def update(self) -> None:
        """Recompute (or fetch from the cache) and redraw for the current controls; never raises."""
        t0 = time.perf_counter()
        p = self.params()
        cached = self.key(p) in self._cache
        try:
            if not cached:
                self._status.value = "computing…"
            data = self.get(p, progress=self._progress_cb)
            # a frame of the static view (drawn when the explorer was displayed) serves the live view too
            png = self._png_cache.get(self._png_key(p, self.dpi_static, True)) or \
                self.cached_png(data, p, self.dpi_live)
            text = self.summary(data, p)
            self.data = data
            self.message = " ".join(data.get("notes", ()))
            self._png = png
            self._image.value = png
            self._image.layout.display = None
            self._summary_text = text
            self._summary.value = f"<span style='font-family:monospace;font-size:90%'>{html.escape(text)}</span>"
            self.error = None
        except Exception as exc:  # shown in the widget, never raised
            self.error = exc
            self.data = {}
            self.message = describe_error(exc)
            self._png = b""
            self._image.layout.display = "none"
            self._summary_text = ""
            self._summary.value = ""
        finally:
            self._status.value = ""
            self._progress.layout.visibility = "hidden"
            self._progress.value = 0
        self._message.value = (f"<div style='{_STYLE_MSG}'>{html.escape(self.message)}</div>"
                               if self.message else "")
        self.last_update_s = time.perf_counter() - t0

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs) or {})
        bundle["text/plain"] = f"<{type(self).__name__}: {self.summary_text or self.message}>"
        bundle["text/html"] = self.static_html()
        return bundle

    @property
    def summary_text(self) -> str:
        return self._summary_text

    def show(self):
        """The live ipywidget (e.g. for ``display``)."""
        return self.widget

    def static_frames(self, values=None) -> tuple[list, int]:
        """Frames (label, PNG data URI or '', text) over ``values`` of the main control and the index of
        the current value (the nearest one if it is not in the grid)."""
        base = self.params()
        values = list(self.static_values(base) if values is None else values)
        if not values:
            raise ValueError("static_html needs at least one value of the main control")
        frames = []
        for v in values:
            p = dict(base)
            p[self.main] = v
            label = self.format_value(self.main, v)
            try:
                data = self.get(p)
                png = self.cached_png(data, p, self.dpi_static, optimize=True)
                src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                notes = " ".join(data.get("notes", ()))
                text = self.summary(data, p) + (f"  [{notes}]" if notes else "")
            except Exception as exc:
                src, text = "", describe_error(exc)
            frames.append({"label": label, "src": src, "text": text})
        cur = base[self.main]
        if cur in values:
            start = values.index(cur)
        else:
            try:
                start = int(np.argmin([abs(float(v) - float(cur)) for v in values]))
            except (TypeError, ValueError):
                start = 0
        return frames, start

    def static_html(self, values=None) -> str:
        """Self-contained HTML/JS view over a grid of the main control (no kernel needed)."""
        frames, start = self.static_frames(values)
        uid = f"nearopt-{type(self).__name__.lower()}-{uuid.uuid4().hex[:12]}"
        name = getattr(self.controls[self.main], "description", self.main) or self.main
        esc = html.escape
        use_select = not all(_is_number(f["label"]) for f in frames) or len(frames) <= 1
        if use_select:
            opts = "".join(f"<option value='{i}'{' selected' if i == start else ''}>{esc(f['label'])}</option>"
                           for i, f in enumerate(frames))
            control = f"<select id='{uid}-ctl' aria-label='{esc(name)}'>{opts}</select>"
        else:
            control = (f"<input type='range' id='{uid}-ctl' min='0' max='{len(frames) - 1}' step='1' "
                       f"value='{start}' aria-label='{esc(name)}' style='width:220px;vertical-align:middle'>")
        f0 = frames[start]
        payload = json.dumps([{"l": f["label"], "s": f["src"], "t": f["text"]} for f in frames],
                             ensure_ascii=True, separators=(",", ":"))
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        src0 = f"src='{f0['src']}' " if f0["src"] else ""
        img_style = "max-width:100%;height:auto;display:" + ("block" if f0["src"] else "none")
        return (
            f"<div id='{uid}' class='nearopt-static tex2jax_ignore mathjax_ignore' "
            f"data-explorer='{esc(type(self).__name__)}' data-frames='{len(frames)}' "
            f"data-alt='{esc(self.title)} for {esc(name)} = ' "
            f"style='border:1px solid #ddd;border-radius:4px;padding:8px;margin:8px 0;max-width:680px'>"
            f"<div style='font-weight:bold'>{esc(self.title)}</div>"
            f"<div style='font-size:85%;color:#555'>Static preview: {len(frames)} precomputed frames. "
            f"Launch the page (Binder/Thebe or Jupyter) for the live widget with every control.</div>"
            f"<div style='margin:6px 0'><label for='{uid}-ctl'>{esc(name)}</label> {control} "
            f"<output id='{uid}-val' for='{uid}-ctl' style='font-weight:bold{';display:none' if use_select else ''}'>"
            f"{esc(f0['label'])}</output></div>"
            f"<img id='{uid}-img' {src0}alt='{esc(self.title)} for {esc(name)} = "
            f"{esc(f0['label'])}' style='{img_style}'>"
            f"<div id='{uid}-txt' style='font-family:monospace;font-size:85%;white-space:pre-wrap'>"
            f"{esc(f0['text'])}</div>"
            f"</div>"
            f"<script type='application/json' id='{uid}-frames'>{payload}</script>"
            f"<script>{_JS.replace('@UID@', uid)}</script>"
        )


def _is_number(s: str) -> bool:
    try:
        float(str(s).replace("−", "-"))
        return True
    except ValueError:
        return False


_JS = """(function () {
  var uid = "@UID@";
  function init() {
    var root = document.getElementById(uid);
    if (!root || root.getAttribute("data-ready") === "1") { return; }
    var frames = JSON.parse(document.getElementById(uid + "-frames").textContent);
    var ctl = document.getElementById(uid + "-ctl");
    var img = document.getElementById(uid + "-img");
    var txt = document.getElementById(uid + "-txt");
    var val = document.getElementById(uid + "-val");
    function show() {
      var i = parseInt(ctl.value, 10);
      if (!(i >= 0 && i < frames.length)) { return; }
      var f = frames[i];
      if (f.s) { img.src = f.s; img.style.display = "block"; } else { img.removeAttribute("src"); img.style.display = "none"; }
      img.alt = root.getAttribute("data-alt") + f.l;
      txt.textContent = f.t;
      val.textContent = f.l;
      root.setAttribute("data-frame", String(i));
    }
    ctl.addEventListener("input", show);
    ctl.addEventListener("change", show);
    root.setAttribute("data-ready", "1");
    show();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();"""


# ---------------------------------------------------------------------- controls and shared helpers
def islider(description, value, lo, hi, step=1):
    import ipywidgets as w
    return w.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                       continuous_update=False, style=STYLE, layout=slider_layout())


def fslider(description, value, lo, hi, step):
    import ipywidgets as w
    return w.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=False, style=STYLE, layout=slider_layout(), readout_format=".2f")


def logslider(description, value, lo_exp, hi_exp, step=0.25):
    import ipywidgets as w
    return w.FloatLogSlider(value=value, base=10, min=lo_exp, max=hi_exp, step=step, description=description,
                            continuous_update=False, style=STYLE, layout=slider_layout(), readout_format=".1e")


def dropdown(description, options, value):
    import ipywidgets as w
    return w.Dropdown(options=options, value=value, description=description, style=STYLE,
                      layout=slider_layout())


def itext(description, value):
    import ipywidgets as w
    return w.IntText(value=value, description=description, style=STYLE, layout=slider_layout())


def checkbox(description, value):
    import ipywidgets as w
    return w.Checkbox(value=value, description=description, style=STYLE, layout=slider_layout())


MODES = (("population (exact E over x)", "population"), ("batch of N inputs", "batch"))

#: inputs for teacher seed s are drawn with seed s + INPUT_SEED_OFFSET (independent of the weights)
INPUT_SEED_OFFSET = 100_003


def input_seed(seed: int) -> int:
    return int(seed) + INPUT_SEED_OFFSET


def check_batch_size(p: dict):
    """N for a batch Hessian, None for the population one; a readable error for N < 1."""
    if p.get("mode", "population") != "batch":
        return None
    n = p["n_samples"]
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"The batch size N must be a positive integer; got N = {n}.")
    return int(n)


def check_seed(seed):
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"The seed must be a non-negative integer; got {seed}.")
    return int(seed)


def teacher_and_inputs(p: dict, seed: int, dist: str = "gaussian"):
    """Teacher (seed ``seed``) and, in batch mode, N inputs (seed ``input_seed(seed)``)."""
    import nearopt
    W1, W2 = nearopt.sample_teacher(p["n_in"], p["n_hidden"], seed=seed)
    n = check_batch_size(p)
    X = None if n is None else nearopt.sample_inputs(n, p["n_in"], dist=dist, seed=input_seed(seed))
    return W1, W2, X


def mode_label(p: dict) -> str:
    return f"batch N = {p['n_samples']}" if p.get("mode") == "batch" else "population"

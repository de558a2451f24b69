"""Figure helpers of the explorers: one reusable matplotlib figure per explorer (Agg, no pyplot), cheap axes
(few ticks, plain-Unicode log labels), PNG output, number formatting and the histogram helpers that several
explorers share.

Drawing is the expensive part of an update (ticks and text, not the numbers), so an explorer keeps one
:class:`FigureCanvas` and, for every new setting, removes the previous data artists and draws the new ones
on the same axes: the axes, their tick objects and the text-layout caches are reused instead of rebuilt.
"""
from __future__ import annotations

import io
import math

import matplotlib
import numpy as np

__all__ = ["FigureCanvas", "new_figure", "finish_axes", "clear_axes", "png_bytes", "fmt", "histogram",
           "log_density", "use_log", "theory_grid", "symlog_ticks"]

#: CSS pixels per figure inch in the live view; the PNG is rendered at ``PIXEL_RATIO`` times that
CSS_DPI = 80
#: device pixels per CSS pixel of the live PNG (2: sharp on a high-DPI screen, never scaled up)
PIXEL_RATIO = 2
#: while an explorer's figure is rasterised: unhinted text (10–15 % faster; at 2× pixels no visible loss)
_RC = {"text.hinting": "none"}


def new_figure(ncols: int = 1, size=(6.4, 3.4)):
    """A matplotlib Figure (not registered with pyplot) and its axes (a list when ``ncols > 1``); fixed
    margins (a layout engine would cost more than the drawing)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    fig.subplots_adjust(left=0.12 if ncols == 1 else 0.09, right=0.98, bottom=0.14, top=0.97, wspace=0.28)
    return fig, (axes[0] if ncols == 1 else list(axes))


def clear_axes(ax) -> None:
    """Remove what a previous drawing added (lines, patches, collections, texts, legend, title), back to
    linear scales with automatic limits and locators; the axes and their tick objects stay."""
    for artist in (*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images):
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.set_xscale("linear")
    ax.set_yscale("linear")
    ax.set_title("")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.relim()
    ax.set_autoscale_on(True)
    ax.set_prop_cycle(None)


class FigureCanvas:
    """One figure reused for every drawing of an explorer (see the module docstring)."""

    def __init__(self, ncols: int = 1, size=(6.4, 3.4)):
        self.ncols, self.size = ncols, tuple(size)
        self.fig, self.axes = new_figure(ncols, size)
        #: number of figures drawn (live and static); a counter for tests and benchmarks
        self.n_drawn = 0

    @property
    def css_width(self) -> int:
        """Width in CSS pixels at which the live PNG is shown (its natural size, never stretched)."""
        return int(round(self.size[0] * CSS_DPI))

    def render(self, draw, data, values, dpi: float, optimize: bool = False) -> bytes:
        """``draw(axes, data, values)`` on the cleared axes, then a PNG at ``dpi``."""
        axes = self.axes if isinstance(self.axes, list) else [self.axes]
        try:
            for ax in axes:
                clear_axes(ax)
            draw(self.axes, data, values)
            for ax in axes:
                finish_axes(ax)
            self.n_drawn += 1
            with matplotlib.rc_context(_RC):
                return png_bytes(self.fig, dpi=dpi, optimize=optimize)
        except Exception:
            self.fig, self.axes = new_figure(self.ncols, self.size)  # never reuse a half-drawn figure
            raise


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
    """No minor ticks, at most about four or five major ones; plain-Unicode labels on logarithmic axes (every tick
    label is text to lay out and rasterise)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullLocator
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale in ("log", "symlog"):
            if scale == "log":
                axis.set_major_locator(LogLocator(numticks=4))
            axis.set_major_formatter(FuncFormatter(_power_label))
            axis.set_minor_locator(NullLocator())
        elif scale == "linear" and not isinstance(axis.get_major_locator(), (MaxNLocator, FixedLocator)):
            axis.set_major_locator(MaxNLocator(nbins=4))


def png_bytes(fig, dpi: float = 90, optimize: bool = False) -> bytes:
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


# ---------------------------------------------------------------------- histograms of eigenvalues
def theory_grid(lo, hi, n=160):
    """Evaluation points covering [lo, hi] both linearly and logarithmically (the x axis is switchable)."""
    lo = max(lo, 1e-300)
    return np.unique(np.concatenate([np.linspace(lo, hi, n), np.geomspace(lo, hi, n)]))


def histogram(values, log: bool, bins=None):
    """Density-normalised histogram (area 1, comparable with a pdf).

    ``log=True``: the density of log10 λ on logarithmic bins (the edges are returned in λ); a pdf f(λ) then
    compares as λ ln(10) f(λ) — see :func:`log_density`.
    """
    v = np.asarray(values, dtype=np.float64)
    nb = int(np.clip(np.sqrt(v.size) * 1.5, 8, 60)) if bins is None else bins
    log = log and v.min() > 0
    if log:
        v = np.log10(v)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        pad = 0.05 * abs(lo) + 1e-12
        lo, hi = lo - pad, hi + pad
    h, edges = np.histogram(v, bins=np.linspace(lo, hi, nb + 1), density=True)
    return h, (10.0 ** edges if log else edges)


def log_density(x, pdf):
    """Density of log10 λ from the density of λ: λ ln(10) f(λ)."""
    return np.asarray(x) * np.log(10.0) * np.asarray(pdf)


def use_log(xscale: str, values) -> bool:
    """Whether to draw eigenvalues on a log axis: ``"log"``, ``"linear"``, or ``"auto"`` (a spread over
    more than two decades)."""
    if xscale == "log":
        return True
    if xscale == "linear":
        return False
    v = np.asarray(values)
    return bool(v.size and v.min() > 0 and v.max() / v.min() > 100)


def symlog_ticks(linthresh, top, n=3):
    """About n decades each side of zero for a symlog axis (the default labels every decade)."""
    lo, hi = np.floor(np.log10(linthresh)), np.ceil(np.log10(max(top, linthresh)))
    step = max(1, int(np.ceil((hi - lo) / n)))
    dec = 10.0 ** np.arange(hi, lo - 1, -step)
    dec = dec[dec > 5 * linthresh] if np.any(dec > 5 * linthresh) else dec
    return np.concatenate([-dec, [0.0], dec[::-1]])

"""Shared helpers for the book's chapters: one plot style, number formatting for the prose, glue.

Every chapter starts with::

    from booktools import gl, sci, setup
    setup()

so that the figures of all chapters look alike and the numbers the prose quotes are formatted one way.
This file lives next to the chapters, so a chapter opened in JupyterLab or on Binder (whose kernel runs
in ``chapters/``) imports it as it does during the book build.
"""

from __future__ import annotations

import numbers

#: One style for every figure of the book (sizes in inches; the site shows them at 90 dpi).
STYLE = {
    "figure.dpi": 90,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def setup(blas_threads: int | None = 1) -> None:
    """Apply the book's plot style and, by default, run BLAS on one thread.

    One BLAS thread makes timings and results reproducible on a shared 2-core machine and costs
    nothing for the small matrices of the chapters; pass ``blas_threads=None`` to leave BLAS alone.
    """
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(blas_threads), user_api="blas")


def sci(x, digits: int = 1) -> str:
    """``x`` as text in the form ``1.2 × 10⁻³`` for the prose (``digits`` digits after the point)."""
    mantissa, exponent = f"{float(x):.{digits}e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def plain(value):
    """A NumPy scalar as the plain Python number or bool it holds (so the prose never shows a repr)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def gl(name: str, value) -> None:
    """Glue ``value`` under ``name`` for ``{glue:text}`` in the prose, without displaying it."""
    from myst_nb import glue

    glue(name, plain(value), display=False)

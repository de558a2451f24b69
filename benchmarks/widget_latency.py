"""Update latency of the interactive explorers at their default sizes (not a test; a measurement).

For each explorer in ``nearopt.widgets.EXPLORERS`` the main control is driven through its static grid of
values ``--passes`` times (default 3).  The first pass meets every value for the first time (a *cold*
update, the first visit of a setting: computation + drawing at the live resolution, twice the CSS size);
later passes are served from the explorer's cache (*warm*: only the widget's image is replaced).  Each update
is timed around ``control.value = v`` (which runs ``explorer.update()`` through the observer); the median, the
95th percentile and the maximum are reported over all updates, and separately for the cold and warm ones;
``cold_cpu`` is the CPU time of this process for the cold updates (robust to other load on a shared machine;
BLAS on one thread).
``display_ms`` is the time of ``_repr_mimebundle_()`` (what Jupyter calls to show it) on a live kernel
(``NEAROPT_STATIC_PREVIEW`` unset: no static view); ``static_html_s`` is the time of the static view that
book builds compute (``NEAROPT_STATIC_PREVIEW=1``).

BLAS runs on one thread unless ``OPENBLAS_NUM_THREADS`` is set (as the chapters do).  A reference time — one
trivial matplotlib figure (one line, PNG at 80 dpi) — is recorded with the machine's load average, so that
numbers from a busy machine can be read in proportion.

Usage::

    PYTHONPATH=lib python3 benchmarks/widget_latency.py [--passes 3] [--out benchmarks/widget_latency.json]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# as in the book's kernels (chapters set these before numpy loads): one BLAS thread, no oversubscription
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

TARGET_MS = 150.0


def pct(xs, q):
    return float(np.percentile(np.asarray(xs, dtype=float), q)) if xs else float("nan")


def stats(xs):
    return {"n": len(xs), "median_ms": round(pct(xs, 50), 2), "p95_ms": round(pct(xs, 95), 2),
            "max_ms": round(max(xs), 2) if xs else None}


def trivial_figure_ms(repeats=5, clock=time.perf_counter):
    from matplotlib.figure import Figure
    out = []
    for _ in range(repeats):
        t = clock()
        fig = Figure(figsize=(6.4, 3.4))
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1])
        fig.savefig(io.BytesIO(), format="png", dpi=80)
        out.append((clock() - t) * 1e3)
    return statistics.median(out)


def _png_size(png: bytes):
    import struct
    return struct.unpack(">II", png[16:24])


def measure(name, factory, passes):
    t0 = time.perf_counter()
    e = factory()
    build_ms = (time.perf_counter() - t0) * 1e3
    c = e.controls[e.main]
    values = e.static_values(e.params())
    start = c.value
    cold, warm, errors, cold_cpu = [], [], [], []
    for k in range(passes):
        for v in values:
            t, tc = time.perf_counter(), time.process_time()
            c.value = v
            dt = (time.perf_counter() - t) * 1e3
            dcpu = (time.process_time() - tc) * 1e3
            if e.error is not None:
                errors.append(f"{e.main}={v!r}: {e.message}")
            if c.value == start and k == 0:
                continue  # the default was computed at build time: neither cold nor a fair warm sample
            (cold if k == 0 else warm).append(dt)
            if k == 0:
                cold_cpu.append(dcpu)
    os.environ.pop("NEAROPT_STATIC_PREVIEW", None)
    t = time.perf_counter()
    bundle = e._repr_mimebundle_()
    display_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    html = e.static_html()
    static_s = time.perf_counter() - t
    allv = cold + warm
    image = getattr(e, "image", None) or e._image  # (older versions: a private attribute)
    return {
        "main_control": e.main,
        "values": [e.format_value(e.main, v) for v in values],
        "build_ms": round(build_ms, 1),
        "all": stats(allv),
        "cold": stats(cold),
        "cold_cpu": stats(cold_cpu),
        "warm": stats(warm),
        "meets_target_median": bool(pct(allv, 50) < TARGET_MS),
        "cold_meets_target_median": bool(pct(cold, 50) < TARGET_MS),
        "first_visit_max_ms": round(max(cold), 1) if cold else None,
        "cold_meets_target_max": bool(cold and max(cold) < TARGET_MS),
        "display_computes_static_view": "text/html" in bundle,
        "live_png_px": list(_png_size(image.value)),
        "css_width_px": image.layout.width,
        "display_ms": round(display_ms, 2),
        "static_html_bytes": len(html.encode()),
        "static_html_frames": len(values),
        "static_html_s": round(static_s, 2),
        "errors": errors,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "widget_latency.json"))
    ap.add_argument("--only", nargs="*", help="explorer names (default: all)")
    ap.add_argument("--lib", default=str(ROOT / "lib"), help="folder holding the nearopt package to measure")
    args = ap.parse_args(argv)
    sys.path.insert(0, args.lib)

    import matplotlib
    matplotlib.use("Agg")
    import ipywidgets

    import nearopt
    import nearopt.widgets as W

    trivial_figure_ms()  # import fonts etc. once
    ref_before = trivial_figure_ms()
    results = {}
    for name, factory in W.EXPLORERS.items():
        if args.only and name not in args.only:
            continue
        r = measure(name, factory, args.passes)
        results[name] = r
        print(f"{name:20s} cold (first visit) median {r['cold']['median_ms']:7.1f} ms  p95 {r['cold']['p95_ms']:7.1f} "
              f"max {r['cold']['max_ms']:7.1f}; CPU median {r['cold_cpu']['median_ms']:6.1f} max "
              f"{r['cold_cpu']['max_ms']:6.1f} | display {r['display_ms']:5.1f} ms | "
              f"warm median {r['warm']['median_ms']:6.1f} | static {r['static_html_bytes'] / 1024:6.1f} KB "
              f"({r['static_html_frames']} frames)" + (f"  ERRORS {r['errors']}" if r["errors"] else ""),
              flush=True)
    ref_after = trivial_figure_ms()
    ref_cpu = trivial_figure_ms(clock=time.process_time)
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = None
    report = {
        "target_median_ms": TARGET_MS,
        "passes": args.passes,
        "method": ("main control driven through its static grid; pass 1 = cold (first visit: compute + draw at "
                   "2x the CSS size), later passes = warm (cached); timings around control.value = v"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpu_count": os.cpu_count(), "load_average": load,
                    "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "reference_trivial_figure_ms": round(statistics.mean([ref_before, ref_after]), 2),
                    "reference_trivial_figure_cpu_ms": round(ref_cpu, 2)},
        "versions": {"nearopt": nearopt.__version__, "numpy": np.__version__,
                     "matplotlib": matplotlib.__version__, "ipywidgets": ipywidgets.__version__},
        "explorers": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"reference trivial figure {report['machine']['reference_trivial_figure_ms']} ms, load {load}; "
          f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()

"""Rendering of a benchmark run (the ``results.json`` dictionary): ``results.md`` (targets, one table per
case, equality checks, the book's widget latency and build time) and ``scaling.png`` (log–log median time
against P, one panel per case, one line per route)."""
from __future__ import annotations

import json
import os


def _fmt_t(t):
    if t is None:
        return "–"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


_SUP = "¹²³⁴⁵⁶⁷⁸⁹"


def write_markdown(res, path):
    m = res["machine"]
    blas = "; ".join(f"{(b.get('filepath') or '').split(os.sep)[0].replace('.libs', '')}: {b.get('internal_api')} "
                     f"{b.get('version')} ({b.get('architecture') or '?'} kernel, {b.get('num_threads')} threads)"
                     for b in m.get("blas", []) if b.get("internal_api") != "openmp")
    blas += f"; torch: {m['torch_blas']}" if m.get("torch_blas") else ""
    L = [f"Benchmark run of {res['date']} ({res['mode']} mode, {res['total_wall_s']:.0f} s): "
         f"{m['cpu']}, {m['cores']} cores, {m['mem_total_gb']} GiB; Python {m['python']}, NumPy {m['numpy']}, "
         f"SciPy {m['scipy']}, torch {m.get('torch') or 'absent'}; BLAS: {blas or 'unknown'}. "
         f"Load average {m['load_average_start'][0]:.1f} at start, {m['load_average_end'][0]:.1f} at end "
         f"(the machine was shared). Times are medians of the repetitions (n); ratio = route time / project "
         f"time; peak = extra memory of one run (tracemalloc for the NumPy routes run in the benchmark process, "
         f"ru_maxrss delta for the routes run in child processes: torch, dense). Method: benchmarks/README.md.",
         ""]
    L += ["**Targets**", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for t in res["targets"]:
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        val = "–" if t["measured"] is None else (f"{t['measured']:.2e}" if isinstance(t["measured"], float)
                                                 and 0 < abs(t["measured"]) < 1e-3 else str(t["measured"]))
        note = f" ({t['note']})" if t.get("note") else ""
        L.append(f"| {t['target']}{note} | {val} | {t['goal']} | {met} |")
    for c in res["cases"]:
        L += ["", f"**{c['title']}**", "", "| P | route | median | min | n | ratio | peak MiB |",
              "|---:|---|---:|---:|---:|---:|---:|"]
        notes = []
        for r in c["results"]:
            if "skipped" in r:
                L.append(f"| {r['P']:,} | {r['route']} | skipped: {r['skipped']} | | | | |")
                continue
            ratio = f"{r['ratio_to_project']:.3g}×" if "ratio_to_project" in r else "1×" \
                if r["route"] == c["project"] else ""
            note = ""
            if r.get("note"):
                if r["note"] not in notes:
                    notes.append(r["note"])
                note = " " + _SUP[notes.index(r["note"]) % len(_SUP)]
            L.append(f"| {r['P']:,} | {r['route']}{note} | {_fmt_t(r['median_s'])} | {_fmt_t(r['min_s'])} | "
                     f"{r['reps']} | {ratio} | {r['peak_mb']:.0f} |")
        for i, n in enumerate(notes):
            L.append(f"\n{_SUP[i % len(_SUP)]} {n}.")
        for e in c["extra"]:
            if "mc_max_abs_err_rel_max_entry" in e:
                L.append(f"\nP = {e['P']:,}: Monte-Carlo (N = {e['n_mc']:,}) max entry error "
                         f"{e['mc_max_abs_err_rel_max_entry']:.2e} of max |H|, eigenvalue error "
                         f"{e['mc_eigenvalue_err_rel_lambda_max']:.2e} of λ_max (the exact assembly has none).")
            if "wasserstein" in e:
                L.append(f"\nP = {e['P']:,} (N = {e['n']}, {e['probes']} probes × {e['steps']} steps): "
                         f"Wasserstein-1 distance SLQ vs exact spectrum {e['wasserstein']:.3e} "
                         f"= {e['wasserstein_rel_lambda_max']:.2e} λ_max; means {e['slq_mean']:.4g} vs "
                         f"{e['exact_mean']:.4g}.")
    chk = res["checks"]
    if chk:
        bad = [k for k in chk if not k["passed"]]
        L += ["", f"**Equality checks**: {len(chk) - len(bad)}/{len(chk)} passed "
              f"(max relative error {max(k['rel_err'] for k in chk):.1e}, tolerance "
              f"{res['settings']['eq_tol_rel_lambda_max']:g} of λ_max)."]
        for k in bad:
            L.append(f"- FAILED: case {k['case']}, P = {k['P']}: {k['what']}: {k['rel_err']:.2e}")
    L += _book_markdown(res.get("book", {}))
    path.write_text("\n".join(L) + "\n", encoding="utf-8")


def _book_markdown(book):
    L = []
    wl = book.get("widget_latency")
    if isinstance(wl, dict) and isinstance(wl.get("explorers"), dict):
        tgt = wl.get("target_median_ms")
        L += ["", f"**5. Book: widget latency** (from `benchmarks/widget_latency.json`; target median "
              f"{tgt} ms)", "", "| explorer | control | median (all) | cold median | warm median | p95 (all) | "
              "meets target |", "|---|---|---:|---:|---:|---:|---|"]
        for name, e in wl["explorers"].items():
            if not isinstance(e, dict):
                continue
            g = lambda k, s="median_ms": (e.get(k) or {}).get(s)  # noqa: E731
            fm = lambda v: "–" if v is None else f"{v:.1f} ms"  # noqa: E731
            met = e.get("meets_target_median")
            L.append(f"| {name} | {e.get('main_control', '')} | {fm(g('all'))} | {fm(g('cold'))} | {fm(g('warm'))} | "
                     f"{fm(g('all', 'p95_ms'))} | {'yes' if met else ('–' if met is None else 'no')} |")
    bb = book.get("book_build")
    if isinstance(bb, dict) and bb:
        secs = bb.get("seconds", bb.get("wall_s", bb.get("build_s")))
        L += ["", "**Book build** (`make book`, from `benchmarks/book_build.json`): "
              + (f"{secs} s" if secs is not None else json.dumps(bb)[:300])]
    return L


def write_plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cs = [c for c in res["cases"] if any("median_s" in r for r in c["results"])]
    if not cs:
        return
    from matplotlib.ticker import NullFormatter
    ncol = 2 if len(cs) > 1 else 1
    nrow = (len(cs) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.9 * nrow), layout="constrained", squeeze=False)
    for ax in axes.flat[len(cs):]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, cs):
        routes = []
        for r in c["results"]:
            if r["route"] not in routes:
                routes.append(r["route"])
        for route in routes:
            pts = sorted((r["P"], r["median_s"]) for r in c["results"] if r["route"] == route and "median_s" in r)
            if not pts:
                continue
            kind = next(r["kind"] for r in c["results"] if r["route"] == route)
            style = {"project": dict(lw=2.2, marker="o"), "floor": dict(ls="--", marker="s"),
                     "peer": dict(marker="^"), "info": dict(ls=":", marker="d")}[kind]
            ax.plot([q[0] for q in pts], [q[1] for q in pts], label=route, **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ps = sorted({r["P"] for r in c["results"] if "median_s" in r})
        ax.set_xticks(ps, [f"{q:,}" for q in ps], fontsize=8)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.margins(x=0.08, y=0.15)
        ax.set_xlabel("P (parameters)")
        ax.set_ylabel("median time (s)")
        ax.set_title(c["title"].split(" (")[0], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7.5, loc="best")
    fig.suptitle(f"nearopt benchmarks, {res['machine']['cores']} cores, {res['date'][:10]} "
                 f"({res['mode']} mode)", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)

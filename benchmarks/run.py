#!/usr/bin/env python3
"""nearopt benchmark suite: the project and its peers timed in the same run.

    python benchmarks/run.py            # full suite (~10 min on 2 cores), writes benchmarks/results.*
    python benchmarks/run.py --quick    # tiny sizes, CI smoke (< 1 min)

Writes ``results.json``, ``results.md`` (tables) and ``scaling.png`` (log–log time vs P) into
``--out-dir`` (default: this folder).  See README.md for the cases, the method and the targets.
Exit status 1 when an equality check fails (results are written first).

Layout: ``cases.py`` is the benchmark as data (cases, sizes, routes with their cost and memory estimates,
checks, targets), ``routes.py`` the timed computations, ``harness.py`` the measurement (in this process or
in a child process, ``run.py --serve``), ``report.py`` the tables and the plot; this file is the generic
runner and the command line.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCHEMA_VERSION = 1
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(HERE))


# ----------------------------------------------------------------------------- one size of one case
def _prepare(case, route, p, P, prev, args, have_torch, mem_limit):
    """The record of ``route`` at size ``p`` and, unless it is skipped, the params to run it with."""
    rec = {"route": route.label, "kind": route.kind, "P": P, "params": dict(p)}
    if route.only_small and not p.get("small"):
        rec["skipped"] = "not run at this size (the exact spectrum is the reference at the small size)"
        return rec, None
    if route.torch and not have_torch:
        rec["skipped"] = "torch is not installed (pip install torch==2.13.0)"
        return rec, None
    pp = dict(p)
    if route.adapt is not None:
        pp, note = route.adapt(p, mem_limit)
        if note:
            rec["note"] = note
    rec["params"] = pp
    est = route.memory(p)
    if est > mem_limit:
        rec["skipped"] = (f"does not fit: needs ≈ {est / 2**30:.1f} GiB > memory limit "
                          f"{mem_limit / 2**30:.1f} GiB")
        return rec, None
    if route.id in prev and route.predict:
        p0, t0 = prev[route.id]
        pred = t0 * route.cost(p) / route.cost(p0)
        rec["predicted_s"] = pred
        if pred > args.route_limit:
            P0 = p0["nh"] * (p0["ni"] + 1)
            rec["skipped"] = (f"predicted {pred:.0f} s (from {t0:.2f} s at P = {P0}, cost ∝ {route.cost.model}) "
                              f"> route limit {args.route_limit:.0f} s")
            return rec, None
    return rec, pp


def _warm_all(case, p, P, prev, args, have_torch, mem_limit):
    """Warm-up (and memory) run of every route that runs at this size; returns records, outputs, live routes."""
    from harness import LocalRoute, RemoteRoute
    recs, outs, live = {}, {}, []
    for route in case.routes:
        rec, pp = _prepare(case, route, p, P, prev, args, have_torch, mem_limit)
        recs[route.id] = rec
        if pp is None:
            continue
        print(f"   P={P:>8}  {route.label} ({'child process, ' if route.remote else ''}warm-up + memory) ...",
              flush=True)
        try:
            r_obj = (RemoteRoute(case.id, route, pp, args.threads, max(3 * args.route_limit, 60)) if route.remote
                     else LocalRoute(route, pp))
            res, r = r_obj.warm(numpy_route=not route.remote)
        except (TimeoutError, RuntimeError) as exc:
            rec["skipped"] = str(exc)
            continue
        rec.update(r)
        outs[route.id] = res
        live.append((route.id, r_obj))
    return recs, outs, live


def _repeat(recs, live, args):
    """Interleaved timed repetitions: every live route once per round, after a short pause that lets the
    previous route's spinning BLAS/OpenMP worker threads go to sleep."""
    spent = {rid: sum(recs[rid]["times_s"]) or recs[rid]["first_s"] for rid, _ in live}
    for _ in range(args.reps):
        for rid, r_obj in live:
            rec = recs[rid]
            if len(rec["times_s"]) >= args.reps or spent[rid] >= args.route_budget or rec.get("dead"):
                continue
            time.sleep(args.settle)
            try:
                rec["times_s"].append(r_obj.time())
            except (TimeoutError, RuntimeError) as exc:
                rec["dead"] = True
                rec["note"] = (rec["note"] + "; " if rec.get("note") else "") + f"a later repetition failed: {exc}"
                continue
            spent[rid] += rec["times_s"][-1]
    for _, r_obj in live:
        r_obj.close()


def run_case(case, args, have_torch, mem_limit, checks):
    from harness import finish
    crec = {"id": case.id, "title": case.title, "project": case.label(case.project), "results": [], "extra": []}
    prev = {}  # route id -> (params, median) of the previous size, for predictions
    print(f"\n== {case.title}", flush=True)
    for p in case.sizes:
        P = p["nh"] * (p["ni"] + 1)
        recs, outs, live = _warm_all(case, p, P, prev, args, have_torch, mem_limit)
        _repeat(recs, live, args)
        for rid, rec in recs.items():
            rec.pop("dead", None)
            if "skipped" in rec:
                print(f"   P={P:>8}  {rec['route']:<42} SKIPPED: {rec['skipped']}", flush=True)
                continue
            finish(rec)
            prev[rid] = (p, rec["median_s"])
            print(f"   P={P:>8}  {rec['route']:<42} median {rec['median_s']:.4g} s  (n={rec['reps']}, "
                  f"peak {rec['peak_mb']:.0f} MiB)", flush=True)
        proj = recs.get(case.project)
        if proj and "median_s" in proj:
            for rec in recs.values():
                if "median_s" in rec and rec is not proj:
                    rec["ratio_to_project"] = rec["median_s"] / proj["median_s"]
        crec["results"].extend(recs.values())
        new_checks, extras = case.check(case, p, P, outs)
        checks.extend(new_checks)
        crec["extra"].extend(extras)
        del outs
    return crec


# ----------------------------------------------------------------------------- the run
def run_suite(args):
    import cases
    from harness import available_memory, have_torch, machine_info

    t_start = time.perf_counter()
    machine = machine_info()
    mem_limit = args.mem_limit_gb * 2**30 if args.mem_limit_gb else 0.5 * available_memory()
    out = {"schema_version": SCHEMA_VERSION,
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "mode": "quick" if args.quick else "full", "machine": machine,
           "settings": {"reps": args.reps, "route_budget_s": args.route_budget, "route_limit_s": args.route_limit,
                        "mem_limit_gb": round(mem_limit / 2**30, 1), "threads": args.threads or "default",
                        "settle_s": args.settle, "eq_tol_rel_lambda_max": cases.EQ_TOL},
           "cases": [], "checks": [], "targets": []}
    only = set(args.cases.split(",")) if args.cases else None
    torch_ok = have_torch()
    table = [c for c in cases.plan(args.quick) if not only or c.id in only]
    for case in table:
        out["cases"].append(run_case(case, args, torch_ok, mem_limit, out["checks"]))
    out["book"] = book_inputs()
    out["machine"]["load_average_end"] = list(os.getloadavg())
    out["total_wall_s"] = time.perf_counter() - t_start
    out["targets"] = collect_targets(table, out, args.quick)
    return out


def collect_targets(table, out, quick):
    """Every case's targets (from the table), then the run's wall time."""
    T = []

    def add(name, value, goal, met, note="", always=False):
        if quick and not always and met is not None:
            met, note = None, (note + "; " if note else "") + "not evaluated at --quick sizes"
        T.append({"target": name, "measured": value, "goal": goal, "met": met, "note": note})

    recs = {c["id"]: c for c in out["cases"]}
    for case in table:
        if case.id in recs and recs[case.id]["results"]:
            case.targets(case, recs[case.id], [k for k in out["checks"] if k["case"] == case.id], add, quick)
    wall = out.get("total_wall_s", 0.0)
    add("whole run wall time", round(wall, 1), "< 120 s (quick)" if quick else "< 600 s",
        wall < (120 if quick else 600), always=True)
    return T


def book_inputs():
    """The book's own measurements, when present: widget latency and build time."""
    book = {}
    for name in ("widget_latency", "book_build"):
        f = HERE / f"{name}.json"
        if f.is_file():
            try:
                book[name] = json.loads(f.read_text())
            except json.JSONDecodeError as exc:
                book[name] = {"error": f"unreadable: {exc}"}
    return book


# ----------------------------------------------------------------------------- CLI
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repetitions (CI smoke)")
    ap.add_argument("--out-dir", default=str(HERE), help="where results.json/.md and scaling.png go")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions per route (default 3, quick 2)")
    ap.add_argument("--route-budget", type=float, default=None,
                    help="stop repeating a route once its runs took this many seconds (default 45, quick 5)")
    ap.add_argument("--route-limit", type=float, default=None,
                    help="skip a route whose predicted single run exceeds this (s; default 150, quick 20)")
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="skip routes estimated above this (default: half the available memory)")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS/torch threads (default: the libraries' own default, all cores)")
    ap.add_argument("--cases", default=None, help="comma-separated case ids to run (default: all)")
    ap.add_argument("--settle", type=float, default=0.15,
                    help="pause before each timed run so idle worker threads stop spinning (s; default 0.15)")
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        from harness import serve_main
        serve_main(json.loads(args.serve))
        return 0
    from harness import apply_threads
    from report import write_markdown, write_plot
    args.reps = args.reps or (2 if args.quick else 3)
    args.route_budget = args.route_budget or (5.0 if args.quick else 45.0)
    args.route_limit = args.route_limit or (20.0 if args.quick else 150.0)
    apply_threads(args.threads)
    res = run_suite(args)
    outdir = Path(args.out_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "results.json").write_text(json.dumps(res, indent=1, default=float) + "\n", encoding="utf-8")
    write_markdown(res, outdir / "results.md")
    try:
        write_plot(res, outdir / "scaling.png")
    except ImportError as exc:  # matplotlib missing: tables still written
        print(f"scaling plot not written: {exc}")
    print(f"\nwrote {outdir / 'results.json'}, results.md, scaling.png in {res['total_wall_s']:.0f} s")
    for t in res["targets"]:
        flag = {True: "met", False: "MISSED", None: "info"}[t["met"]]
        print(f"  [{flag:>6}] {t['target']}: {t['measured']} (goal {t['goal']}) {t.get('note', '')}")
    failed = [k for k in res["checks"] if not k["passed"]]
    if failed:
        print(f"{len(failed)} equality check(s) FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

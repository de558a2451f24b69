#!/usr/bin/env python3
"""nearopt benchmark suite: the project and its peers timed in the same run.

    python benchmarks/run.py            # full suite (~10 min on 2 cores), writes benchmarks/results.*
    python benchmarks/run.py --quick    # tiny sizes, CI smoke (< 1 min)

Writes ``results.json``, ``results.md`` (tables) and ``scaling.png`` (log–log time vs P) into
``--out-dir`` (default: this folder).  See README.md for the cases, the method and the targets.
Exit status 1 when an equality check fails (results are written first).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCHEMA_VERSION = 1
EQ_TOL = 1e-10


# ----------------------------------------------------------------------------- configuration
def case_plan(quick):
    """Cases, sizes and routes.  Each size is a params dict; ``routes``: (name, kind, options)."""
    if quick:
        s1 = [dict(ni=6, nh=4, n=256), dict(ni=9, nh=6, n=256)]
        s2 = [dict(ni=10, nh=10), dict(ni=30, nh=30)]
        s3 = [dict(ni=6, nh=4, n_mc=4000), dict(ni=9, nh=6, n_mc=4000)]
        s4 = [dict(ni=9, nh=20, n=100, probes=4, steps=20, small=True),
              dict(ni=19, nh=50, n=200, probes=4, steps=20)]
    else:
        s1 = [dict(ni=24, nh=10, n=8192), dict(ni=39, nh=25, n=8192), dict(ni=79, nh=50, n=8192)]
        s2 = [dict(ni=30, nh=30), dict(ni=100, nh=100), dict(ni=300, nh=300), dict(ni=1000, nh=1000)]
        s3 = [dict(ni=39, nh=25, n_mc=100_000), dict(ni=79, nh=50, n_mc=100_000)]
        s4 = [dict(ni=99, nh=40, n=2000, probes=8, steps=60, small=True),
              dict(ni=99, nh=1000, n=2000, probes=8, steps=60)]
    return [
        dict(id="batch_spectrum", title="1. Batch-Hessian spectrum at the optimum (erf, N = %s)"
             % ("256" if quick else "8192"), sizes=s1, project="nearopt.spectrum", routes=[
                 ("nearopt.spectrum", "project", dict(cost="NP2+P3")),
                 ("floor: JᵀJ + eigvalsh", "floor", dict(cost="NP2+P3")),
                 ("torch vmap(jacrev) JᵀJ + eigvalsh", "peer", dict(cost="NP2+P3", torch=True)),
                 ("torch.func.hessian + eigvalsh", "peer", dict(cost="NP2", torch=True, isolate=True)),
             ]),
        dict(id="linear_population", title="2. Linear population spectrum (all P eigenvalues)",
             sizes=s2, project="nearopt.spectrum (linear closed form)", routes=[
                 ("nearopt.spectrum (linear closed form)", "project", dict(cost="P")),
                 ("nearopt.spectrum(method='dense')", "peer", dict(cost="P3", isolate=True, no_predict=True)),
             ]),
        dict(id="population_hessian", title="3. Population Hessian assembly (erf)", sizes=s3,
             project="nearopt.hessian (population, exact)", routes=[
                 ("nearopt.hessian (population, exact)", "project", dict(cost="P2")),
                 ("eigvalsh of the population Hessian", "info", dict(cost="P3")),
                 ("Monte-Carlo batch Hessian", "peer", dict(cost="NmcP2")),
             ]),
        dict(id="slq_density", title="4. Matrix-free spectral density (SLQ, erf)", sizes=s4,
             project="nearopt.slq_density", routes=[
                 ("nearopt.slq_density", "project", dict(cost="NP")),
                 ("exact spectrum (nearopt.spectrum)", "info", dict(cost="NP2+P3", only_small=True)),
             ]),
    ]


def cost(model, p):
    """Relative cost of one run (used only to predict the next size's time from the previous one)."""
    P = p["nh"] * (p["ni"] + 1)
    n = p.get("n", 1)
    return {"NP2+P3": n * P * P + P ** 3, "NP2": n * P * P, "P": P * math.log(P + 1), "P3": P ** 3,
            "P2": P * P, "NmcP2": p.get("n_mc", 1) * P * P, "NP": n * P}[model]


def mem_estimate(route, p):
    """Rough peak bytes of a route (for skipping what cannot fit; not a measurement)."""
    P = p["nh"] * (p["ni"] + 1)
    n = p.get("n", 0)
    if route == "torch vmap(jacrev) JᵀJ + eigvalsh":
        return 8.0 * (3 * n * P + 3 * P * P)
    if route == "nearopt.spectrum(method='dense')":
        return 8.0 * 5 * P * P
    if route == "Monte-Carlo batch Hessian":
        return 8.0 * (2 * min(p["n_mc"], 20_000) * P + 3 * P * P)
    if route in ("nearopt.spectrum", "floor: JᵀJ + eigvalsh", "exact spectrum (nearopt.spectrum)"):
        return 8.0 * (2 * n * P + 2 * P * P)
    return 0.0


# ----------------------------------------------------------------------------- measurement helpers
class RssPeak:
    """Peak resident set size above the level at entry, sampled every ``interval`` seconds by a thread
    (works for any allocator: NumPy, torch, LAPACK workspaces)."""

    def __init__(self, interval=0.002):
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0

    def _rss(self):
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.base = self._rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._rss())
        self.delta = self.peak - self.base


def _maxrss_bytes():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def measure_route(run, numpy_route):
    """Run 0 measures memory (tracemalloc for NumPy routes, sampled RSS for all) and warms up; it also
    counts as a timed sample when it takes ≥ 2 s (warm-up effects are then negligible).  Returns
    (result, record, timing-state) — more samples are added by :func:`time_once`."""
    if numpy_route:
        tracemalloc.start()
        tracemalloc.reset_peak()
    try:
        with RssPeak() as rss:
            t0 = time.perf_counter()
            out = run()
            t = time.perf_counter() - t0
    finally:
        if numpy_route:
            tm_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    rec = {"first_s": t, "times_s": [t] if t >= 2.0 else [], "rss_peak_mb": rss.delta / 2**20,
           "tracemalloc_peak_mb": tm_peak / 2**20 if numpy_route else None}
    return out, rec


def finish(rec):
    ts = sorted(rec["times_s"])
    if not ts:
        ts = [rec["first_s"]]
        rec["times_s"] = ts
    k = len(ts)
    rec["reps"] = k
    rec["median_s"] = ts[k // 2] if k % 2 else 0.5 * (ts[k // 2 - 1] + ts[k // 2])
    rec["min_s"] = ts[0]
    rec["max_s"] = ts[-1]
    rec["peak_mb"] = rec["tracemalloc_peak_mb"] if rec.get("tracemalloc_peak_mb") is not None \
        else rec.get("rss_peak_mb")
    rec["mem_method"] = "tracemalloc" if rec.get("tracemalloc_peak_mb") is not None else rec.get(
        "mem_method", "rss")
    return rec


# ----------------------------------------------------------------------------- routes: in-process and child-process
class LocalRoute:
    """A NumPy route timed in this process (which never imports torch)."""

    remote = False

    def __init__(self, route, params):
        sys.path.insert(0, str(HERE))
        import cases
        self.run = cases.build(route, params)

    def warm(self, numpy_route=True):
        return measure_route(self.run, numpy_route)

    def time(self):
        t0 = time.perf_counter()
        self.run()
        return time.perf_counter() - t0

    def close(self):
        self.run = None


class RemoteRoute:
    """A route living in its own child process (``run.py --serve``), driven over a pipe one run at a time,
    so that its runs interleave with the in-process routes while thread pools never share a process
    (torch's OpenMP and NumPy's OpenBLAS threads both spin-wait; in one process on 2 cores they slow each
    other down by up to 10× at small sizes).  Memory: ru_maxrss delta of the first run in the child."""

    remote = True

    def __init__(self, route, params, threads, timeout_s):
        self.timeout_s = timeout_s
        self.td = tempfile.TemporaryDirectory()
        self.err = open(os.path.join(self.td.name, "stderr.txt"), "w+")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT / "lib"), env.get("PYTHONPATH", "")) if x)
        spec = dict(route=route, params=params, threads=threads)
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", json.dumps(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     env=env)
        self.ready = self._reply(max(120.0, timeout_s))

    def _reply(self, timeout):
        import select
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.close()
            raise TimeoutError(f"timed out after {timeout:.0f} s (child process killed)")
        line = self.proc.stdout.readline()
        if not line:
            self.err.seek(0)
            tail = [ln for ln in self.err.read().strip().splitlines() if ln.strip()][-2:]
            self.close()
            raise RuntimeError("child failed: " + " / ".join(tail))
        return json.loads(line)

    def _call(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._reply(self.timeout_s)

    def warm(self, numpy_route=True):
        import numpy as np
        f = os.path.join(self.td.name, "out.npy")
        rep = self._call(op="warm", out=f)
        out = np.load(f)
        rec = {"first_s": rep["t"], "times_s": [rep["t"]] if rep["t"] >= 2.0 else [],
               "rss_peak_mb": rep["maxrss_delta_mb"], "tracemalloc_peak_mb": None,
               "mem_method": "ru_maxrss delta (child process)", "child_setup_s": self.ready.get("setup_s")}
        return out, rec

    def time(self):
        return self._call(op="time")["t"]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        self.td.cleanup()


def serve_main(spec):
    """Child side of :class:`RemoteRoute`: build the route, then answer 'warm' / 'time' / 'quit' lines."""
    proto = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr  # anything the libraries print must not corrupt the protocol
    import numpy as np
    _apply_threads(spec.get("threads"), torch_too=True)
    sys.path.insert(0, str(HERE))
    import cases
    t0 = time.perf_counter()
    run = cases.build(spec["route"], spec["params"])

    def say(**kw):
        proto.write(json.dumps(kw) + "\n")
        proto.flush()

    say(ready=True, setup_s=time.perf_counter() - t0)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        base = _maxrss_bytes()
        t0 = time.perf_counter()
        out = run()
        t = time.perf_counter() - t0
        if cmd["op"] == "warm":
            np.save(cmd["out"], np.asarray(out))
            say(t=t, maxrss_delta_mb=(_maxrss_bytes() - base) / 2**20)
        else:
            say(t=t)


# ----------------------------------------------------------------------------- machine description
def _apply_threads(threads, torch_too=False):
    if not threads:
        return
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(int(threads))
    except ImportError:
        pass
    if torch_too:
        try:
            import torch
            torch.set_num_threads(int(threads))
        except ImportError:
            pass


def _cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _mem_available():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def _have_torch():
    import importlib.util
    return importlib.util.find_spec("torch") is not None


def machine_info():
    import numpy as np
    import scipy
    info = {
        "platform": platform.platform(), "python": platform.python_version(), "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "mem_available_gb": round(_mem_available() / 2**30, 1),
        "numpy": np.__version__, "scipy": scipy.__version__,
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith(("OPENBLAS", "OMP_", "MKL_", "NEAROPT_", "GOTO", "BLIS"))},
        "load_average_start": list(os.getloadavg()),
    }
    try:
        import nearopt
        info["nearopt"] = nearopt.__version__
    except Exception:  # pragma: no cover
        pass
    info["torch"] = None
    if _have_torch():  # asked in a child: this process never imports torch (see RemoteRoute)
        code = ("import json, torch; c = torch.__config__.show().splitlines(); print(json.dumps({'v': "
                "torch.__version__, 't': torch.get_num_threads(), 'b': next((l.strip(' -') for l in c if "
                "'Math Kernel' in l or 'BLAS_INFO' in l), None)}))")
        try:
            cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
            d = json.loads(cp.stdout.strip().splitlines()[-1])
            info.update(torch=d["v"], torch_threads=d["t"], torch_blas=d["b"])
        except Exception as exc:  # pragma: no cover
            info["torch"] = f"present, version query failed: {exc}"
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                                 "threading_layer", "filepath")} for d in threadpool_info()]
        for d in info["blas"]:  # keep the owning folder: numpy.libs/… vs scipy.libs/… vs torch/lib/…
            d["filepath"] = os.path.join(*Path(d["filepath"] or "?").parts[-2:])
    except ImportError:
        cfg = np.show_config(mode="dicts") if "mode" in np.show_config.__code__.co_varnames else {}
        info["blas"] = [{"internal_api": "numpy build config (threadpoolctl not installed)",
                         "version": str(cfg.get("Build Dependencies", {}).get("blas", {}).get("version"))}]
    return info


# ----------------------------------------------------------------------------- the run
def run_suite(args):
    sys.path.insert(0, str(HERE))
    import cases

    have_torch = _have_torch()
    t_start = time.perf_counter()
    machine = machine_info()
    mem_limit = args.mem_limit_gb * 2**30 if args.mem_limit_gb else 0.5 * _mem_available()
    out = {"schema_version": SCHEMA_VERSION,
           "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "mode": "quick" if args.quick else "full", "machine": machine,
           "settings": {"reps": args.reps, "route_budget_s": args.route_budget, "route_limit_s": args.route_limit,
                        "mem_limit_gb": round(mem_limit / 2**30, 1), "threads": args.threads or "default",
                        "settle_s": args.settle,
                        "eq_tol_rel_lambda_max": EQ_TOL},
           "cases": [], "checks": [], "targets": []}
    only = set(args.cases.split(",")) if args.cases else None

    for case in case_plan(args.quick):
        if only and case["id"] not in only:
            continue
        crec = {"id": case["id"], "title": case["title"], "project": case["project"], "results": [],
                "extra": []}
        prev = {}  # route -> (params, median) of the previous size, for predictions
        print(f"\n== {case['title']}", flush=True)
        for p in case["sizes"]:
            P = p["nh"] * (p["ni"] + 1)
            outs, recs, live = {}, {}, []
            for route, kind, opt in case["routes"]:
                rec = {"route": route, "kind": kind, "P": P, "params": dict(p)}
                recs[route] = rec
                if opt.get("only_small") and not p.get("small"):
                    rec["skipped"] = "not run at this size (the exact spectrum is the reference at the small size)"
                    continue
                if opt.get("torch") and not have_torch:
                    rec["skipped"] = "torch is not installed (pip install torch==2.13.0)"
                    continue
                pp = dict(p)
                if route == "torch.func.hessian + eigvalsh":
                    pp["chunk"] = cases.autodiff_chunk(p, mem_limit)
                    if pp["chunk"] is not None:
                        rec["note"] = (f"plain torch.func.hessian would need ≈ "
                                       f"{P * cases.AUTODIFF_BYTES_PER * p['n'] * p['nh'] / 2**30:.0f} GiB; "
                                       f"same jacfwd(jacrev) product in vmap chunks of {pp['chunk']} columns")
                rec["params"] = pp
                est = mem_estimate(route, p)
                if est > mem_limit:
                    rec["skipped"] = (f"does not fit: needs ≈ {est / 2**30:.1f} GiB > memory limit "
                                      f"{mem_limit / 2**30:.1f} GiB")
                    continue
                if route in prev and not opt.get("no_predict"):
                    p0, t0 = prev[route]
                    pred = t0 * cost(opt["cost"], p) / cost(opt["cost"], p0)
                    rec["predicted_s"] = pred
                    if pred > args.route_limit:
                        rec["skipped"] = (f"predicted {pred:.0f} s (from {t0:.2f} s at P = "
                                          f"{p0['nh'] * (p0['ni'] + 1)}, cost ∝ {opt['cost']}) > route limit "
                                          f"{args.route_limit:.0f} s")
                        continue
                remote = bool(opt.get("isolate") or opt.get("torch"))
                print(f"   P={P:>8}  {route} ({'child process, ' if remote else ''}warm-up + memory) ...",
                      flush=True)
                try:
                    r_obj = (RemoteRoute(route, pp, args.threads, max(3 * args.route_limit, 60)) if remote
                             else LocalRoute(route, pp))
                    res, r = r_obj.warm(numpy_route=not remote)
                except (TimeoutError, RuntimeError) as exc:
                    rec["skipped"] = str(exc)
                    continue
                rec.update(r)
                outs[route] = res
                live.append((route, r_obj))
            # interleaved timed repetitions: every live route once per round, after a short pause that lets
            # the previous route's spinning BLAS/OpenMP worker threads go to sleep
            spent = {route: sum(recs[route]["times_s"]) or recs[route]["first_s"] for route, _ in live}
            for _ in range(args.reps):
                for route, r_obj in live:
                    rec = recs[route]
                    if len(rec["times_s"]) >= args.reps or spent[route] >= args.route_budget or rec.get("dead"):
                        continue
                    time.sleep(args.settle)
                    try:
                        rec["times_s"].append(r_obj.time())
                    except (TimeoutError, RuntimeError) as exc:
                        rec["dead"] = True
                        rec["note"] = (rec.get("note", "") + "; " if rec.get("note") else "") + \
                            f"a later repetition failed: {exc}"
                        continue
                    spent[route] += rec["times_s"][-1]
            for _, r_obj in live:
                r_obj.close()
            for rec in recs.values():
                rec.pop("dead", None)
            for route, rec in recs.items():
                if "skipped" not in rec:
                    finish(rec)
                    prev[route] = (p, rec["median_s"])
                    print(f"   P={P:>8}  {route:<42} median {rec['median_s']:.4g} s  (n={rec['reps']}, "
                          f"peak {rec['peak_mb']:.0f} MiB)", flush=True)
                else:
                    print(f"   P={P:>8}  {route:<42} SKIPPED: {rec['skipped']}", flush=True)
            _ratios(case, recs)
            crec["results"].extend(recs.values())
            _checks(case, p, P, outs, out["checks"], crec)
            del outs
        out["cases"].append(crec)

    out["book"] = _book_inputs()
    out["machine"]["load_average_end"] = list(os.getloadavg())
    out["total_wall_s"] = time.perf_counter() - t_start
    out["targets"] = _targets(out, args.quick)
    return out


def _ratios(case, recs):
    proj = recs.get(case["project"])
    if not proj or "median_s" not in proj:
        return
    for rec in recs.values():
        if "median_s" in rec and rec is not proj:
            rec["ratio_to_project"] = rec["median_s"] / proj["median_s"]


def _rel_err(a, b, scale):
    import numpy as np
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / scale)


def _checks(case, p, P, outs, checks, crec):
    import numpy as np
    cid = case["id"]
    if cid == "batch_spectrum" and "nearopt.spectrum" in outs:
        ref = outs["nearopt.spectrum"]
        lam = float(np.max(np.abs(ref)))
        for route, res in outs.items():
            if route != "nearopt.spectrum":
                e = _rel_err(np.sort(res), ref, lam)
                checks.append({"case": cid, "P": P, "what": f"eigenvalues {route} vs nearopt.spectrum",
                               "rel_err": e, "tol": EQ_TOL, "passed": bool(e <= EQ_TOL)})
    elif cid == "linear_population":
        ref = outs.get("nearopt.spectrum (linear closed form)")
        if ref is not None:
            checks.append({"case": cid, "P": P, "what": "closed form returns all P eigenvalues",
                           "rel_err": 0.0 if ref.shape == (P,) else 1.0, "tol": 0.0,
                           "passed": bool(ref.shape == (P,))})
        if ref is not None and "nearopt.spectrum(method='dense')" in outs:
            e = _rel_err(outs["nearopt.spectrum(method='dense')"], ref, float(np.max(np.abs(ref))))
            checks.append({"case": cid, "P": P, "what": "closed form vs dense eigenvalues", "rel_err": e,
                           "tol": EQ_TOL, "passed": bool(e <= EQ_TOL)})
    elif cid == "population_hessian":
        H = outs.get("nearopt.hessian (population, exact)")
        mc = outs.get("Monte-Carlo batch Hessian")
        if H is not None and mc is not None:
            scale = float(np.max(np.abs(H)))
            e = _rel_err(mc, H, scale)
            ev = outs.get("eigvalsh of the population Hessian")
            lam_err = (_rel_err(np.linalg.eigvalsh(mc), ev, float(np.max(np.abs(ev))))
                       if ev is not None else None)
            crec["extra"].append({"P": P, "n_mc": p["n_mc"], "mc_max_abs_err_rel_max_entry": e,
                                  "mc_eigenvalue_err_rel_lambda_max": lam_err})
            # not an equality check: the Monte-Carlo error is statistical (≈ 1/√N); recorded as information
    elif cid == "slq_density":
        slq = outs.get("nearopt.slq_density")
        ex = outs.get("exact spectrum (nearopt.spectrum)")
        if slq is not None and ex is not None:
            import nearopt
            dens = nearopt.SpectralDensity(slq[0], slq[1], dim=P)
            w = nearopt.wasserstein(dens, ex)
            lam = float(np.max(ex))
            crec["extra"].append({"P": P, "n": p["n"], "probes": p["probes"], "steps": p["steps"],
                                  "wasserstein": w, "lambda_max": lam, "wasserstein_rel_lambda_max": w / lam,
                                  "exact_mean": float(np.mean(ex)),
                                  "slq_mean": float(np.sum(slq[0] * slq[1]) / np.sum(slq[1]))})


def _book_inputs():
    book = {}
    for name in ("widget_latency", "book_build"):
        f = HERE / f"{name}.json"
        if f.is_file():
            try:
                book[name] = json.loads(f.read_text())
            except json.JSONDecodeError as exc:
                book[name] = {"error": f"unreadable: {exc}"}
    return book


def _get(case_out, route, P=None):
    rows = [r for r in case_out["results"] if r["route"] == route and (P is None or r["P"] == P)]
    return rows


def _targets(out, quick):
    T = []
    by = {c["id"]: c for c in out["cases"]}

    def add(name, value, goal, met, note="", always=False):
        if quick and not always and met is not None:
            met, note = None, (note + "; " if note else "") + "not evaluated at --quick sizes"
        T.append({"target": name, "measured": value, "goal": goal, "met": met, "note": note})

    c = by.get("batch_spectrum")
    if c:
        sizes = sorted({r["P"] for r in c["results"]})
        for P in sizes:
            proj = _get(c, "nearopt.spectrum", P)[0]
            if "median_s" not in proj:
                continue
            fl = _get(c, "floor: JᵀJ + eigvalsh", P)[0]
            if "median_s" in fl:
                r = proj["median_s"] / fl["median_s"]
                add(f"case 1, P = {P}: nearopt.spectrum within 1.5× of the floor", round(r, 3), "≤ 1.5",
                    r <= 1.5)
            jt = _get(c, "torch vmap(jacrev) JᵀJ + eigvalsh", P)[0]
            if "median_s" in jt:
                r = jt["median_s"] / proj["median_s"]
                add(f"case 1, P = {P}: faster than torch JᵀJ", round(r, 2), "> 1×", r > 1)
            ad = _get(c, "torch.func.hessian + eigvalsh", P)[0]
            if "median_s" in ad:
                r = ad["median_s"] / proj["median_s"]
                big = 900 <= P <= 1100 and not quick
                add(f"case 1, P = {P}: speed-up over torch.func.hessian", round(r, 1),
                    "≥ 150×" if big else "(reported)", (r >= 150) if big else None)
            elif "skipped" in ad:
                add(f"case 1, P = {P}: speed-up over torch.func.hessian", None, "≥ 150× at P ≈ 1000", None,
                    "skipped: " + ad["skipped"])
        eq = [k for k in out["checks"] if k["case"] == "batch_spectrum"]
        if eq:
            add("case 1: eigenvalues identical across routes (rel. λ_max)",
                max(k["rel_err"] for k in eq), f"≤ {EQ_TOL:g}", all(k["passed"] for k in eq), always=True)
    c = by.get("linear_population")
    if c:
        P = max(r["P"] for r in c["results"])
        r = _get(c, "nearopt.spectrum (linear closed form)", P)[0]
        if "median_s" in r:
            add(f"case 2, P = {P}: linear closed form (all P eigenvalues)", round(r["median_s"], 3), "≤ 5 s",
                r["median_s"] <= 5.0)
        eq = [k for k in out["checks"] if k["case"] == "linear_population"]
        if eq:
            add("case 2: closed form = dense (rel. λ_max) where dense ran", max(k["rel_err"] for k in eq),
                f"≤ {EQ_TOL:g}", all(k["passed"] for k in eq), always=True)
    c = by.get("population_hessian")
    if c:
        for P in sorted({r["P"] for r in c["results"]}):
            a = _get(c, "nearopt.hessian (population, exact)", P)[0]
            mc = _get(c, "Monte-Carlo batch Hessian", P)[0]
            eg = _get(c, "eigvalsh of the population Hessian", P)[0]
            if "median_s" in a and "median_s" in mc:
                add(f"case 3, P = {P}: exact assembly faster than Monte Carlo (N = {mc['params']['n_mc']})",
                    round(mc["median_s"] / a["median_s"], 1), "> 1×", mc["median_s"] > a["median_s"])
            if "median_s" in a and "median_s" in eg:
                add(f"case 3, P = {P}: assembly cheaper than eigvalsh", round(eg["median_s"] / a["median_s"], 1),
                    "> 1× (eig / assembly)", eg["median_s"] > a["median_s"])
    c = by.get("slq_density")
    if c:
        P = max(r["P"] for r in c["results"])
        r = _get(c, "nearopt.slq_density", P)[0]
        if "median_s" in r:
            add(f"case 4, P = {P}: slq_density time", round(r["median_s"], 2), "≤ 30 s", r["median_s"] <= 30)
        for e in c["extra"]:
            add(f"case 4, P = {e['P']}: Wasserstein-1 SLQ vs exact (rel. λ_max)",
                round(e["wasserstein_rel_lambda_max"], 5), "(reported)", None)
    add("whole run wall time", round(out.get("total_wall_s", 0.0), 1),
        "< 120 s (quick)" if quick else "< 600 s", out.get("total_wall_s", 0.0) < (120 if quick else 600),
        always=True)
    return T


# ----------------------------------------------------------------------------- reporting
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
              f"(max relative error {max(k['rel_err'] for k in chk):.1e}, tolerance {EQ_TOL:g} of λ_max)."]
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
        serve_main(json.loads(args.serve))
        return 0
    args.reps = args.reps or (2 if args.quick else 3)
    args.route_budget = args.route_budget or (5.0 if args.quick else 45.0)
    args.route_limit = args.route_limit or (20.0 if args.quick else 150.0)
    sys.path.insert(0, str(ROOT / "lib"))
    _apply_threads(args.threads)
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

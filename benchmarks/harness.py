"""Measurement for the benchmark runner: peak memory, warm-up and timed runs in this process or in a child
process driven over a pipe (one thread pool per process), and the description of the machine."""
from __future__ import annotations

import json
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


def available_memory():
    """Available RAM in bytes, from the library (``nearopt.backend``) rather than a copy of its reader."""
    from nearopt import backend
    helper = getattr(backend, "available_memory", None) or backend._available_bytes
    return int(helper())


# ----------------------------------------------------------------------------- peak memory and one run
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
    (result, record); the runner adds the timed samples (``route.time()``) to ``record["times_s"]``."""
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
        self.run = route.factory(params)

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

    def __init__(self, case_id, route, params, threads, timeout_s):
        self.timeout_s = timeout_s
        self.td = tempfile.TemporaryDirectory()
        self.err = open(os.path.join(self.td.name, "stderr.txt"), "w+")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT / "lib"), env.get("PYTHONPATH", "")) if x)
        spec = dict(case=case_id, route=route.id, params=params, threads=threads)
        self.proc = subprocess.Popen([sys.executable, str(HERE / "run.py"), "--serve", json.dumps(spec)],
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
    apply_threads(spec.get("threads"), torch_too=True)
    import cases
    t0 = time.perf_counter()
    run = cases.find_route(spec["case"], spec["route"]).factory(spec["params"])

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


# ----------------------------------------------------------------------------- threads and machine description
def apply_threads(threads, torch_too=False):
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


def have_torch():
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
        "mem_available_gb": round(available_memory() / 2**30, 1),
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
    if have_torch():  # asked in a child: this process never imports torch (see RemoteRoute)
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

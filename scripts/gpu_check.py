#!/usr/bin/env python3
"""GPU check: nearopt on CuPy against NumPy — agreement to 1e-10 (relative) and timings.

    python scripts/gpu_check.py                  # on a CUDA machine with CuPy; writes benchmarks/gpu_check.json
    python scripts/gpu_check.py --dry-run        # no GPU: the same logic with NumPy standing in for the GPU
    python scripts/gpu_check.py --dry-run --fake strict   # ... or with array-api-strict as the "GPU"

Checks (inputs moved with ``cupy.asarray``; nearopt follows the namespace of its inputs):

1. dense ``eigvalsh`` at P ∈ {4096, 16384} (the call the dense route of ``nearopt.spectrum`` makes);
2. batch Hessian, erf (``nearopt.hessian(W1, W2, "erf", X)``, P ≈ 4000, N = 8192);
3. population Hessian, erf (``nearopt.hessian(W1, W2, "erf")``, P ≈ 4000);
4. linear population spectrum (``nearopt.spectrum(W1, W2, "linear")``, Ni = Nh = 1000, P ≈ 10⁶).

Agreement: max |device − numpy| / max |numpy| ≤ 1e-10 (for eigenvalues: relative to λ_max).  Timings are
medians over ``--reps`` runs after a warm-up, the device synchronised before each clock read.  Without CuPy
or a GPU the script prints why and exits 0 (nothing to check); it exits 1 when an agreement check fails.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

TOL = 1e-10


class Device:
    """The array backend under test: CuPy (real) or a stand-in for --dry-run."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "cupy":
            import cupy
            self.mod = cupy
            self.name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
            self.name = self.name.decode() if isinstance(self.name, bytes) else str(self.name)
            self.versions = {"cupy": cupy.__version__, "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion()}
        elif kind == "strict":
            import array_api_strict
            self.mod = array_api_strict
            self.name = "array-api-strict (dry run: CPU stand-in for the GPU)"
            self.versions = {"array_api_strict": array_api_strict.__version__}
        else:
            import numpy
            self.mod = numpy
            self.name = "numpy (dry run: CPU stand-in for the GPU)"
            self.versions = {}

    def asarray(self, a):
        if self.kind == "cupy":
            return self.mod.asarray(a)
        return self.mod.asarray(a, dtype=self.mod.float64)

    def sync(self):
        if self.kind == "cupy":
            self.mod.cuda.Device().synchronize()

    def to_numpy(self, a):
        import nearopt
        return nearopt.to_numpy(a)

    def linalg_eigvalsh(self, H):
        from nearopt.backend import namespace
        return namespace(H).linalg.eigvalsh(H)


def gpu_available():
    """(True, '') when CuPy imports and sees a CUDA device; else (False, reason)."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy imported but CUDA is not usable ({type(exc).__name__}: {exc})"
    if n < 1:
        return False, "CuPy imported but sees no GPU"
    return True, ""


def timed(fn, sync, reps):
    """Warm-up (kernel compilation, caches), then ``reps`` synchronised runs; (median s, last output)."""
    out = fn()
    sync()
    ts = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def rel_err(a, b):
    import numpy as np
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = float(np.max(np.abs(b))) or 1.0
    return float(np.max(np.abs(a - b)) / scale)


def plan(dry):
    if dry:
        return dict(eig_P=[64, 128], batch=dict(ni=9, nh=6, n=256), pop=dict(ni=9, nh=6),
                    linear=dict(ni=30, nh=30))
    return dict(eig_P=[4096, 16384], batch=dict(ni=79, nh=50, n=8192), pop=dict(ni=79, nh=50),
                linear=dict(ni=1000, nh=1000))


def run_checks(dev, sizes, reps, cpu_reps, log=print):
    import numpy as np
    import nearopt

    def both(label, P, host_fn, dev_fn):
        t_cpu, ref = timed(host_fn, lambda: None, cpu_reps)
        t_dev, out = timed(dev_fn, dev.sync, reps)
        e = rel_err(dev.to_numpy(out), ref)
        rec = {"check": label, "P": P, "numpy_s": t_cpu, "device_s": t_dev, "speedup": t_cpu / t_dev,
               "rel_err": e, "tol": TOL, "passed": bool(e <= TOL)}
        log(f"  {label:<34} P={P:>8}  numpy {t_cpu:9.4f} s  device {t_dev:9.4f} s  "
            f"×{rec['speedup']:7.1f}  rel.err {e:.1e}  {'ok' if rec['passed'] else 'FAILED'}")
        return rec

    results = []
    rng = np.random.default_rng(0)
    for P in sizes["eig_P"]:
        A = rng.standard_normal((P, P))
        H = (A @ A.T) / P
        Hd = dev.asarray(H)
        results.append(both("dense eigvalsh", P, lambda H=H: np.linalg.eigvalsh(H),
                            lambda Hd=Hd: dev.linalg_eigvalsh(Hd)))
    b = sizes["batch"]
    W1, W2 = (np.asarray(a) for a in nearopt.sample_teacher(b["ni"], b["nh"], seed=0))
    X = np.asarray(nearopt.sample_inputs(b["n"], b["ni"], seed=1))
    W1d, W2d, Xd = dev.asarray(W1), dev.asarray(W2), dev.asarray(X)
    P = b["nh"] * (b["ni"] + 1)
    results.append(both("batch Hessian erf (N = %d)" % b["n"], P, lambda: nearopt.hessian(W1, W2, "erf", X),
                        lambda: nearopt.hessian(W1d, W2d, "erf", Xd)))
    results.append(both("batch spectrum erf (N = %d)" % b["n"], P, lambda: nearopt.spectrum(W1, W2, "erf", X),
                        lambda: nearopt.spectrum(W1d, W2d, "erf", Xd)))
    q = sizes["pop"]
    W1, W2 = (np.asarray(a) for a in nearopt.sample_teacher(q["ni"], q["nh"], seed=0))
    W1d, W2d = dev.asarray(W1), dev.asarray(W2)
    results.append(both("population Hessian erf", q["nh"] * (q["ni"] + 1),
                        lambda: nearopt.hessian(W1, W2, "erf"), lambda: nearopt.hessian(W1d, W2d, "erf")))
    li = sizes["linear"]
    W1, W2 = (np.asarray(a) for a in nearopt.sample_teacher(li["ni"], li["nh"], seed=0))
    W1d, W2d = dev.asarray(W1), dev.asarray(W2)
    results.append(both("spectrum linear (all P)", li["nh"] * (li["ni"] + 1),
                        lambda: nearopt.spectrum(W1, W2, "linear"), lambda: nearopt.spectrum(W1d, W2d, "linear")))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true",
                    help="no GPU needed: run the comparison logic with a CPU stand-in (small sizes)")
    ap.add_argument("--fake", choices=("numpy", "strict"), default="numpy",
                    help="the stand-in backend for --dry-run (default numpy)")
    ap.add_argument("--reps", type=int, default=3, help="timed device repetitions (default 3)")
    ap.add_argument("--cpu-reps", type=int, default=1, help="timed NumPy repetitions (default 1)")
    ap.add_argument("--out", default=None,
                    help="JSON output (default benchmarks/gpu_check.json on a GPU; none for --dry-run)")
    args = ap.parse_args(argv)

    if args.dry_run:
        kind = args.fake
    else:
        ok, why = gpu_available()
        if not ok:
            print(f"gpu_check: no GPU check possible — {why}. Nothing to compare; exiting cleanly "
                  "(use --dry-run to exercise the comparison logic on the CPU).")
            return 0
        kind = "cupy"
    import numpy as np
    import nearopt
    dev = Device(kind)
    print(f"gpu_check: device = {dev.name}; numpy {np.__version__}; nearopt {nearopt.__version__}")
    results = run_checks(dev, plan(args.dry_run), args.reps, args.cpu_reps)
    report = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "dry_run": bool(args.dry_run), "device": dev.name, "backend": kind,
        "versions": {"numpy": np.__version__, "nearopt": nearopt.__version__, "python": platform.python_version(),
                     **dev.versions},
        "host": {"platform": platform.platform(), "cores": os.cpu_count()},
        "tolerance": TOL, "results": results, "all_passed": all(r["passed"] for r in results),
    }
    out = args.out or (None if args.dry_run else str(ROOT / "benchmarks" / "gpu_check.json"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"gpu_check: wrote {out}")
    if not report["all_passed"]:
        print("gpu_check: agreement FAILED for: " + ", ".join(r["check"] for r in results if not r["passed"]),
              file=sys.stderr)
        return 1
    print("gpu_check: all checks agree to %g" % TOL)
    return 0


if __name__ == "__main__":
    sys.exit(main())

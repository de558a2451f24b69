"""Smoke test of the benchmark suite and the GPU check: `benchmarks/run.py --quick` (tiny sizes) must run,
write results.json/.md/scaling.png with the documented schema, and its equality checks must pass.
No timing assertions (timings on shared CI machines mean nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "run.py"
GPU = ROOT / "scripts" / "gpu_check.py"

pytestmark = pytest.mark.slow   # runs the quick suite and the GPU dry runs in subprocesses (about a minute)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "lib"), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    return env


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cp = subprocess.run([sys.executable, str(BENCH), "--quick", "--out-dir", str(out)], capture_output=True,
                        text=True, timeout=300, env=_env(), cwd=ROOT)
    assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


def test_quick_run_writes_all_outputs(quick_run):
    out, _ = quick_run
    for name in ("results.json", "results.md", "scaling.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    md = (out / "results.md").read_text()
    assert "| target | measured | goal | met |" in md
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_schema(quick_run):
    _, res = quick_run
    assert res["schema_version"] == 1 and res["mode"] == "quick"
    for key in ("date", "machine", "settings", "cases", "checks", "targets", "book", "total_wall_s"):
        assert key in res, key
    m = res["machine"]
    for key in ("cores", "numpy", "scipy", "python", "blas", "load_average_start", "load_average_end"):
        assert key in m, key
    ids = [c["id"] for c in res["cases"]]
    assert ids == ["batch_spectrum", "linear_population", "population_hessian", "slq_density"]
    for c in res["cases"]:
        assert c["results"], c["id"]
        proj = [r for r in c["results"] if r["route"] == c["project"]]
        assert proj and all("median_s" in r for r in proj), f"{c['id']}: project route did not run"
        for r in c["results"]:
            assert {"route", "kind", "P", "params"} <= set(r), r
            assert r["kind"] in ("project", "peer", "floor", "info")
            if "skipped" in r:
                assert isinstance(r["skipped"], str) and r["skipped"]
                continue
            for key in ("median_s", "min_s", "max_s", "reps", "times_s", "peak_mb", "mem_method"):
                assert key in r, (c["id"], r["route"], key)
            assert r["reps"] == len(r["times_s"]) >= 1
            assert r["min_s"] <= r["median_s"] <= r["max_s"]
    for t in res["targets"]:
        assert {"target", "measured", "goal", "met"} <= set(t)


def test_equality_checks_ran_and_passed(quick_run):
    _, res = quick_run
    checks = res["checks"]
    assert checks and all(k["passed"] for k in checks), [k for k in checks if not k["passed"]]
    cases = {k["case"] for k in checks}
    assert {"batch_spectrum", "linear_population"} <= cases
    # the floor (bare JᵀJ + eigvalsh) is always available, so case 1 compares at least two routes per size
    sizes = {r["P"] for c in res["cases"] if c["id"] == "batch_spectrum" for r in c["results"]}
    assert all(any(k["case"] == "batch_spectrum" and k["P"] == P for k in checks) for P in sizes)
    # case 3 and 4 report the Monte-Carlo error and the Wasserstein distance
    extra = {c["id"]: c["extra"] for c in res["cases"]}
    assert extra["population_hessian"] and extra["population_hessian"][0]["mc_max_abs_err_rel_max_entry"] < 0.5
    assert extra["slq_density"] and extra["slq_density"][0]["wasserstein"] >= 0


def test_table_is_consistent():
    """The benchmark table: unique route ids and labels per case, the project route present and of kind
    'project', every factory and cost model callable, the child-process lookup finds every route."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import cases
        for quick in (True, False):
            table = cases.plan(quick)
            assert [c.id for c in table] == ["batch_spectrum", "linear_population", "population_hessian",
                                             "slq_density"]
            for c in table:
                ids, labels = [r.id for r in c.routes], [r.label for r in c.routes]
                assert len(set(ids)) == len(ids) and len(set(labels)) == len(labels), c.id
                assert c.route(c.project).kind == "project"
                for r in c.routes:
                    assert r.kind in ("project", "peer", "floor", "info")
                    assert callable(r.factory) and callable(r.cost) and r.cost.model
                    assert cases.find_route(c.id, r.id).label == r.label
                    for p in c.sizes:
                        assert r.cost(p) > 0 and r.memory(p) >= 0
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_gpu_check_without_gpu_exits_cleanly():
    cp = subprocess.run([sys.executable, str(GPU)], capture_output=True, text=True, timeout=120, env=_env())
    if "device =" in cp.stdout:  # a real GPU with CuPy is present: the real check ran
        assert cp.returncode == 0, cp.stdout + cp.stderr
    else:
        assert cp.returncode == 0 and "no GPU check possible" in cp.stdout, cp.stdout + cp.stderr


@pytest.mark.parametrize("fake", ["numpy", "strict"])
def test_gpu_check_dry_run(tmp_path, fake):
    out = tmp_path / "gpu.json"
    cp = subprocess.run([sys.executable, str(GPU), "--dry-run", "--fake", fake, "--reps", "1", "--out", str(out)],
                        capture_output=True, text=True, timeout=300, env=_env())
    assert cp.returncode == 0, cp.stdout + cp.stderr
    rep = json.loads(out.read_text())
    assert rep["dry_run"] and rep["all_passed"] and rep["date"]
    assert {r["check"].split(" (")[0] for r in rep["results"]} == {
        "dense eigvalsh", "batch Hessian erf", "batch spectrum erf", "population Hessian erf",
        "spectrum linear"}

"""The benchmark as data: every case, its sizes and routes, and for each route its factory, cost model,
memory estimate and how it runs; every case's equality check and targets.  ``run.py`` executes this table
without knowing any case; ``report.py`` renders what it recorded.

A route's ``label`` is its display name and the ``route`` field of ``results.json`` (the book reads it);
its ``id`` is the stable key used in code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import routes

EQ_TOL = 1e-10          # equality checks: max |difference| / λ_max


def n_params(p):
    return p["nh"] * (p["ni"] + 1)


# ----------------------------------------------------------------------------- cost and memory models
def cost_model(name):
    """Relative cost of one run of size ``p`` (used only to predict a size's time from the previous one)."""
    def cost(p):
        P, n = n_params(p), p.get("n", 1)
        return {"NP2+P3": n * P * P + P ** 3, "NP2": n * P * P, "P": P * math.log(P + 1), "P3": P ** 3,
                "P2": P * P, "NmcP2": p.get("n_mc", 1) * P * P, "NP": n * P}[name]
    cost.model = name
    return cost


def mem_none(p):
    return 0.0


def mem_jtj(p):
    """Jacobian N × P twice and H P × P twice (bytes; rough, for skipping what cannot fit)."""
    return 8.0 * (2 * p.get("n", 0) * n_params(p) + 2 * n_params(p) ** 2)


def mem_torch_jtj(p):
    return 8.0 * (3 * p["n"] * n_params(p) + 3 * n_params(p) ** 2)


def mem_dense(p):
    return 8.0 * 5 * n_params(p) ** 2


def mem_mc(p):
    return 8.0 * (2 * min(p["n_mc"], routes.MC_CHUNK) * n_params(p) + 3 * n_params(p) ** 2)


def autodiff_params(p, mem_limit):
    """Chunk plain ``torch.func.hessian`` when its estimated peak exceeds the memory limit (note says so)."""
    chunk = routes.autodiff_chunk(p, mem_limit)
    note = None
    if chunk is not None:
        note = (f"plain torch.func.hessian would need ≈ "
                f"{n_params(p) * routes.AUTODIFF_BYTES_PER * p['n'] * p['nh'] / 2**30:.0f} GiB; "
                f"same jacfwd(jacrev) product in vmap chunks of {chunk} columns")
    return dict(p, chunk=chunk), note


# ----------------------------------------------------------------------------- the table's types
@dataclass(frozen=True)
class Route:
    id: str
    label: str
    kind: str                              # project | floor | peer | info
    factory: Callable                      # params -> run()
    cost: Callable                         # params -> relative cost (cost.model names it)
    memory: Callable = mem_none            # params -> estimated peak bytes
    torch: bool = False                    # needs torch (run in a child process)
    isolate: bool = False                  # run in a child process (own thread pool)
    predict: bool = True                   # skip when the predicted time exceeds the route limit
    only_small: bool = False               # run only at sizes marked small=True
    adapt: Callable | None = None          # (params, mem_limit) -> (params, note)

    @property
    def remote(self):
        return self.torch or self.isolate


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    sizes: list
    routes: tuple
    project: str                           # id of the project's route
    check: Callable                        # (case, params, P, outs by route id) -> (checks, extras)
    targets: Callable                      # (case record, checks, target adder) -> None
    extra: dict = field(default_factory=dict)

    def route(self, rid):
        return next(r for r in self.routes if r.id == rid)

    def label(self, rid):
        return self.route(rid).label


# ----------------------------------------------------------------------------- checks
def _rel_err(a, b, scale):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / scale)


def _eq(case, P, what, e):
    return {"case": case.id, "P": P, "what": what, "rel_err": e, "tol": EQ_TOL, "passed": bool(e <= EQ_TOL)}


def check_batch_spectrum(case, p, P, outs):
    if "spectrum" not in outs:
        return [], []
    ref = outs["spectrum"]
    lam = float(np.max(np.abs(ref)))
    return [_eq(case, P, f"eigenvalues {case.label(rid)} vs {case.label('spectrum')}",
                _rel_err(np.sort(res), ref, lam)) for rid, res in outs.items() if rid != "spectrum"], []


def check_linear_population(case, p, P, outs):
    ref, checks = outs.get("closed"), []
    if ref is not None:
        ok = ref.shape == (P,)
        checks.append({"case": case.id, "P": P, "what": "closed form returns all P eigenvalues",
                       "rel_err": 0.0 if ok else 1.0, "tol": 0.0, "passed": bool(ok)})
        if "dense" in outs:
            checks.append(_eq(case, P, "closed form vs dense eigenvalues",
                              _rel_err(outs["dense"], ref, float(np.max(np.abs(ref))))))
    return checks, []


def check_population_hessian(case, p, P, outs):
    """Not an equality check: the Monte-Carlo error is statistical (≈ 1/√N); recorded as information."""
    H, mc, ev = outs.get("exact"), outs.get("mc"), outs.get("eig")
    if H is None or mc is None:
        return [], []
    lam_err = _rel_err(np.linalg.eigvalsh(mc), ev, float(np.max(np.abs(ev)))) if ev is not None else None
    entry_err = _rel_err(mc, H, float(np.max(np.abs(H))))
    return [], [{"P": P, "n_mc": p["n_mc"], "mc_max_abs_err_rel_max_entry": entry_err,
                 "mc_eigenvalue_err_rel_lambda_max": lam_err}]


def check_slq(case, p, P, outs):
    slq, ex = outs.get("slq"), outs.get("exact")
    if slq is None or ex is None:
        return [], []
    import nearopt
    w = nearopt.wasserstein(nearopt.SpectralDensity(slq[0], slq[1], dim=P), ex)
    lam = float(np.max(ex))
    return [], [{"P": P, "n": p["n"], "probes": p["probes"], "steps": p["steps"], "wasserstein": w,
                 "lambda_max": lam, "wasserstein_rel_lambda_max": w / lam, "exact_mean": float(np.mean(ex)),
                 "slq_mean": float(np.sum(slq[0] * slq[1]) / np.sum(slq[1]))}]


# ----------------------------------------------------------------------------- targets
def _row(crec, case, rid, P=None):
    label = case.label(rid)
    return next((r for r in crec["results"] if r["route"] == label and (P is None or r["P"] == P)), {})


def _sizes(crec):
    return sorted({r["P"] for r in crec["results"]})


def targets_batch_spectrum(case, crec, checks, add, quick):
    for P in _sizes(crec):
        proj = _row(crec, case, "spectrum", P)
        if "median_s" not in proj:
            continue
        fl = _row(crec, case, "floor", P)
        if "median_s" in fl:
            r = proj["median_s"] / fl["median_s"]
            add(f"case 1, P = {P}: nearopt.spectrum within 1.5× of the floor", round(r, 3), "≤ 1.5", r <= 1.5)
        jt = _row(crec, case, "torch_jtj", P)
        if "median_s" in jt:
            r = jt["median_s"] / proj["median_s"]
            add(f"case 1, P = {P}: faster than torch JᵀJ", round(r, 2), "> 1×", r > 1)
        ad = _row(crec, case, "torch_autodiff", P)
        if "median_s" in ad:
            r = ad["median_s"] / proj["median_s"]
            big = 900 <= P <= 1100 and not quick
            add(f"case 1, P = {P}: speed-up over torch.func.hessian", round(r, 1),
                "≥ 150×" if big else "(reported)", (r >= 150) if big else None)
        elif "skipped" in ad:
            add(f"case 1, P = {P}: speed-up over torch.func.hessian", None, "≥ 150× at P ≈ 1000", None,
                "skipped: " + ad["skipped"])
    if checks:
        add("case 1: eigenvalues identical across routes (rel. λ_max)", max(k["rel_err"] for k in checks),
            f"≤ {EQ_TOL:g}", all(k["passed"] for k in checks), always=True)


def targets_linear_population(case, crec, checks, add, quick):
    P = max(_sizes(crec))
    r = _row(crec, case, "closed", P)
    if "median_s" in r:
        add(f"case 2, P = {P}: linear closed form (all P eigenvalues)", round(r["median_s"], 3), "≤ 5 s",
            r["median_s"] <= 5.0)
    if checks:
        add("case 2: closed form = dense (rel. λ_max) where dense ran", max(k["rel_err"] for k in checks),
            f"≤ {EQ_TOL:g}", all(k["passed"] for k in checks), always=True)


def targets_population_hessian(case, crec, checks, add, quick):
    for P in _sizes(crec):
        a, mc, eg = (_row(crec, case, rid, P) for rid in ("exact", "mc", "eig"))
        if "median_s" in a and "median_s" in mc:
            add(f"case 3, P = {P}: exact assembly faster than Monte Carlo (N = {mc['params']['n_mc']})",
                round(mc["median_s"] / a["median_s"], 1), "> 1×", mc["median_s"] > a["median_s"])
        if "median_s" in a and "median_s" in eg:
            add(f"case 3, P = {P}: assembly cheaper than eigvalsh", round(eg["median_s"] / a["median_s"], 1),
                "> 1× (eig / assembly)", eg["median_s"] > a["median_s"])


def targets_slq(case, crec, checks, add, quick):
    P = max(_sizes(crec))
    r = _row(crec, case, "slq", P)
    if "median_s" in r:
        add(f"case 4, P = {P}: slq_density time", round(r["median_s"], 2), "≤ 30 s", r["median_s"] <= 30)
    for e in crec["extra"]:
        add(f"case 4, P = {e['P']}: Wasserstein-1 SLQ vs exact (rel. λ_max)",
            round(e["wasserstein_rel_lambda_max"], 5), "(reported)", None)


# ----------------------------------------------------------------------------- the table
def plan(quick):
    """The cases at ``--quick`` (tiny sizes, CI smoke) or full sizes."""
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
    R = Route
    return [
        Case("batch_spectrum", f"1. Batch-Hessian spectrum at the optimum (erf, N = {256 if quick else 8192})", s1, (
                 R("spectrum", "nearopt.spectrum", "project", routes.make_spectrum_batch, cost_model("NP2+P3"),
                   mem_jtj),
                 R("floor", "floor: JᵀJ + eigvalsh", "floor", routes.make_floor, cost_model("NP2+P3"), mem_jtj),
                 R("torch_jtj", "torch vmap(jacrev) JᵀJ + eigvalsh", "peer", routes.make_torch_jtj,
                   cost_model("NP2+P3"), mem_torch_jtj, torch=True),
                 R("torch_autodiff", "torch.func.hessian + eigvalsh", "peer", routes.make_torch_autodiff,
                   cost_model("NP2"), torch=True, isolate=True, adapt=autodiff_params),
             ), "spectrum", check_batch_spectrum, targets_batch_spectrum),
        Case("linear_population", "2. Linear population spectrum (all P eigenvalues)", s2, (
                 R("closed", "nearopt.spectrum (linear closed form)", "project", routes.make_linear_closed,
                   cost_model("P")),
                 R("dense", "nearopt.spectrum(method='dense')", "peer", routes.make_linear_dense, cost_model("P3"),
                   mem_dense, isolate=True, predict=False),
             ), "closed", check_linear_population, targets_linear_population),
        Case("population_hessian", "3. Population Hessian assembly (erf)", s3, (
                 R("exact", "nearopt.hessian (population, exact)", "project", routes.make_pop_hessian,
                   cost_model("P2")),
                 R("eig", "eigvalsh of the population Hessian", "info", routes.make_pop_eig, cost_model("P3")),
                 R("mc", "Monte-Carlo batch Hessian", "peer", routes.make_mc_hessian, cost_model("NmcP2"), mem_mc),
             ), "exact", check_population_hessian, targets_population_hessian),
        Case("slq_density", "4. Matrix-free spectral density (SLQ, erf)", s4, (
                 R("slq", "nearopt.slq_density", "project", routes.make_slq, cost_model("NP")),
                 R("exact", "exact spectrum (nearopt.spectrum)", "info", routes.make_spectrum_batch,
                   cost_model("NP2+P3"), mem_jtj, only_small=True),
             ), "slq", check_slq, targets_slq),
    ]


def find_route(case_id, route_id):
    """The route of a case (any mode: the table's routes do not depend on the sizes)."""
    return next(c for c in plan(True) if c.id == case_id).route(route_id)

"""Rank explorer: measured Hessian rank vs the effective number of parameters vs P, against Nh."""
from __future__ import annotations

import functools

import numpy as np

import nearopt

from .controls import check_count, check_dense, check_seed, dropdown, islider, itext
from .explorer import Explorer

__all__ = ["RankExplorer", "rank_explorer", "rank_data", "measured_rank", "DEGREES"]

DEGREES = (("degree 1 (linear)", "linear"), ("degree 2 (quadratic)", "quadratic"),
           ("degree 3 (cubic)", "cubic"), ("degree 4 (quartic)", "quartic"), ("erf", "erf"))


@functools.lru_cache(maxsize=4096)
def measured_rank(activation: str, n_in: int, n_hidden: int, seed: int) -> int:
    """:func:`nearopt.hessian_rank` of the population Hessian at the teacher drawn with ``seed``."""
    W1, W2 = nearopt.sample_teacher(n_in, n_hidden, seed=seed)
    return int(nearopt.hessian_rank(W1, W2, activation))


def rank_data(*, activation="quadratic", n_in=4, nh_max=10, seed=0, progress=None) -> dict:
    """Measured population-Hessian rank (:func:`measured_rank`) vs :func:`nearopt.effective_parameters` vs
    P = Nh (Ni + 1) for Nh = 1 … ``nh_max`` (teacher seed ``seed`` for every Nh).

    Returns ``n_hidden``, ``rank``, ``effective``, ``P`` (arrays over Nh), ``symmetric_dim`` and ``degree``
    (polynomial activations), ``mismatch`` (Nh where rank ≠ effective), ``notes``.
    """
    seed = check_seed(seed)
    nmax = check_count(nh_max, "largest Nh")
    check_dense(nearopt.n_params(n_in, nmax), "the population Hessian")
    a = nearopt.get_activation(activation)
    if a.is_polynomial and (a.degree + 1) ** n_in > 250_000:
        raise ValueError(f"Ni = {n_in} needs {(a.degree + 1)}^{n_in} quadrature nodes; choose Ni ≤ 8.")
    nh = np.arange(1, nmax + 1)
    rank, eff, P = [], [], []
    for i, h in enumerate(nh):
        rank.append(measured_rank(activation, n_in, int(h), seed))
        eff.append(nearopt.effective_parameters(activation, n_in, int(h)))
        P.append(nearopt.n_params(n_in, int(h)))
        if progress:
            progress(i + 1, nmax)
    degree = a.degree if a.is_polynomial else None
    sym = nearopt.symmetric_dim(n_in, degree) if degree else None
    rank, eff = np.array(rank), np.array(eff)
    mism = [int(h) for h, r, e in zip(nh, rank, eff) if r != e]
    notes = [f"measured rank differs from the effective parameters at Nh = {mism}"] if mism else []
    return {"n_hidden": nh, "rank": rank, "effective": eff, "P": np.array(P), "symmetric_dim": sym,
            "degree": degree, "mismatch": mism, "notes": notes}


class RankExplorer(Explorer):
    title = "Hessian rank: measured vs effective parameters"
    main = "activation"
    compute_data = staticmethod(rank_data)

    def make_controls(self):
        return {
            "activation": dropdown("degree", DEGREES, "quadratic"),
            "n_in": islider("Ni", 4, 1, 8),
            "nh_max": islider("Nh up to", 10, 1, 24),
            "seed": itext("seed", 0),
        }

    def draw(self, ax, data, p):
        nh = data["n_hidden"]
        ax.plot(nh, data["P"], "k:", lw=1.2, label="P = Nh (Ni + 1)")
        ax.plot(nh, data["effective"], "-", color="C1", lw=2.2, alpha=0.7, label="effective parameters (theory)")
        ax.plot(nh, data["rank"], "o", color="C0", ms=5, label="measured rank (hessian_rank)")
        if data["symmetric_dim"] is not None:
            ax.axhline(data["symmetric_dim"], color="C2", ls="--", lw=1.2,
                       label=f"C(Ni+p−1, p) = {data['symmetric_dim']} (symmetric {data['degree']}-tensors)")
        if data["mismatch"]:
            m = np.isin(nh, data["mismatch"])
            ax.plot(nh[m], data["rank"][m], "x", color="C3", ms=9, mew=2, label="mismatch")
        top = max(float(data["effective"].max()), float(data["rank"].max()))
        if data["symmetric_dim"] is not None:
            top = max(top, data["symmetric_dim"])
        ax.set_ylim(0, top * 1.35 + 1)
        ax.set_xlabel("hidden units Nh")
        ax.set_ylabel("rank / number of parameters")
        ax.legend(fontsize=7, loc="upper left")

    def caption(self, data, p):
        label = dict((v, k) for k, v in DEGREES)[p["activation"]]
        return f"{label}, Ni = {p['n_in']}, population Hessian"

    def summary(self, data, p):
        r, e = data["rank"], data["effective"]
        last = len(r) - 1
        s = (f"Nh = 1…{len(r)}: measured rank {list(map(int, r))}; at Nh = {len(r)}: rank {int(r[last])}, "
             f"effective {int(e[last])}, P = {int(data['P'][last])}")
        if data["symmetric_dim"] is not None:
            s += f"; symmetric-tensor dimension {data['symmetric_dim']}"
        s += "; all agree" if not data["mismatch"] else f"; mismatch at Nh = {data['mismatch']}"
        return s


def rank_explorer(**values) -> RankExplorer:
    """Measured population-Hessian rank vs the effective number of parameters vs P for Nh = 1 … ``nh_max``
    (computation: :func:`rank_data`).

    Controls: ``activation`` (``"linear"``, ``"quadratic"``, ``"cubic"``, ``"quartic"``, ``"erf"``), ``n_in``,
    ``nh_max``, ``seed`` (teacher seed for every Nh).  Static view: frames over the degree.
    """
    return RankExplorer(**values)

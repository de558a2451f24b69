"""Controls of the explorers and the checks of their values, in one place.

* widget factories (:func:`islider`, :func:`fslider`, :func:`logslider`, :func:`dropdown`, :func:`itext`) with
  the explorers' common style;
* the batch/population pair of controls (:func:`loss_controls`, :data:`MODES`);
* the checks every computation runs on its arguments (:func:`check_seed`, :func:`check_batch_size`,
  :func:`check_count`, :func:`check_dense`): a clear message naming the control and its allowed values, and
  for a batch size also the memory budget of the library (so a typed N never allocates beyond it);
* :func:`check_in_range`: a value outside a slider's range is reported, never clamped silently.
"""
from __future__ import annotations

import numpy as np

import nearopt

__all__ = ["MODES", "MAX_DENSE_P", "MAX_BATCH", "TooLargeError", "INPUT_SEED_OFFSET", "input_seed",
           "islider", "fslider", "logslider", "dropdown", "itext", "loss_controls", "check_seed",
           "check_batch_size", "check_count", "check_dense", "check_budget", "check_in_range", "batch_size",
           "teacher_and_inputs", "mode_label", "describe_error"]

#: Largest parameter count for which an explorer forms and diagonalises a dense P × P matrix.
MAX_DENSE_P = 2000
#: Largest batch size N an explorer accepts (besides the memory budget, checked before allocating).
MAX_BATCH = 200_000
#: The two choices of the loss/Hessian control: exact population expectation or a batch of N inputs.
MODES = (("population (exact E over x)", "population"), ("batch of N inputs", "batch"))
#: inputs for teacher seed s are drawn with seed s + INPUT_SEED_OFFSET (independent of the weights)
INPUT_SEED_OFFSET = 100_003

STYLE = {"description_width": "92px"}
WIDTH = "310px"


class TooLargeError(ValueError):
    """The requested setting would take too long in an interactive explorer."""


def input_seed(seed: int) -> int:
    """Seed of the inputs that go with teacher seed ``seed``."""
    return int(seed) + INPUT_SEED_OFFSET


# ---------------------------------------------------------------------- widget factories
def _layout():
    import ipywidgets as w
    return w.Layout(width=WIDTH)


def islider(description, value, lo, hi, step=1):
    import ipywidgets as w
    return w.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                       continuous_update=False, style=STYLE, layout=_layout())


def fslider(description, value, lo, hi, step):
    import ipywidgets as w
    return w.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=False, style=STYLE, layout=_layout(), readout_format=".2f")


def logslider(description, value, lo_exp, hi_exp, step=0.25):
    import ipywidgets as w
    return w.FloatLogSlider(value=value, base=10, min=lo_exp, max=hi_exp, step=step, description=description,
                            continuous_update=False, style=STYLE, layout=_layout(), readout_format=".1e")


def dropdown(description, options, value):
    import ipywidgets as w
    return w.Dropdown(options=options, value=value, description=description, style=STYLE, layout=_layout())


def itext(description, value):
    """An integer typed by the reader: unbounded in the browser, checked by the computation (a wrong value
    shows a message in the widget)."""
    import ipywidgets as w
    return w.IntText(value=value, description=description, style=STYLE, layout=_layout())


def loss_controls(mode="population", n_samples=200, label="Hessian") -> dict:
    """The batch/population pair: ``mode`` and the batch size ``n_samples`` (ignored in population mode)."""
    return {"mode": dropdown(label, MODES, mode), "n_samples": itext("batch N", n_samples)}


def check_in_range(name: str, control, value) -> None:
    """A value outside a bounded control's range (or not among its options) is an error, not clamped."""
    lo, hi = getattr(control, "min", None), getattr(control, "max", None)
    if lo is not None and hi is not None and not isinstance(value, (bool, str)):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number in [{lo}, {hi}]; got {value!r}.") from None
        if type(control).__name__ == "FloatLogSlider":
            base = getattr(control, "base", 10)
            lo, hi = base ** lo, base ** hi
        if not lo <= v <= hi:
            raise ValueError(f"{name} = {value!r} is outside the control's range [{lo:g}, {hi:g}].")
    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        if value not in values:
            raise ValueError(f"{name} = {value!r} is not one of {values}.")


# ---------------------------------------------------------------------- checks of the values
def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def check_seed(seed) -> int:
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"The seed must be a non-negative integer; got {seed}.")
    return int(seed)


def check_count(value, name: str, lo: int = 1, hi: int | None = None) -> int:
    """An integer control (realisations, steps, …) in [lo, hi]."""
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        allowed = f"an integer ≥ {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ValueError(f"The {name} must be {allowed}; got {value}.")
    return int(value)


def check_budget(nbytes: float, what: str, reduce: str = "") -> None:
    """The library's memory-budget check (raises :class:`nearopt.MemoryBudgetError` before allocating)."""
    helper = getattr(nearopt, "check_memory", None)
    if helper is None:
        from nearopt import backend
        helper = backend.check_memory
    helper(float(nbytes), what, reduce=reduce)


def check_batch_size(n, n_in: int = 1, n_hidden: int = 1, copies: int = 1) -> int:
    """A batch size N typed by the reader: an integer in [1, :data:`MAX_BATCH`] whose batch computation
    (``copies`` input sets, the N × P Jacobian and its products) fits the memory budget."""
    if not _is_int(n) or n < 1:
        raise ValueError(f"The batch size N must be a positive integer; got N = {n}.")
    if n > MAX_BATCH:
        raise TooLargeError(f"The batch size N = {n} is beyond the explorers' limit N ≤ {MAX_BATCH}; "
                            "call the nearopt functions directly for larger batches.")
    P = nearopt.n_params(n_in, n_hidden)
    nbytes = 8.0 * n * (copies * n_in + 4 * P + min(n, P))
    check_budget(nbytes, f"A batch of N = {n} inputs (P = {P})", reduce="the batch size N")
    return int(n)


def batch_size(values: dict) -> int | None:
    """N for a batch computation (checked), None for the population one."""
    if values.get("mode", "batch") != "batch":
        return None
    return check_batch_size(values["n_samples"], values.get("n_in", 1), values.get("n_hidden", 1))


def check_dense(P: int, what: str = "the dense Hessian") -> None:
    if P > MAX_DENSE_P:
        raise TooLargeError(
            f"P = {P} parameters is too large for {what} in an interactive explorer (limit P ≤ {MAX_DENSE_P}); "
            "reduce Ni or Nh, or call the nearopt functions directly.")


def teacher_and_inputs(values: dict, seed: int, dist: str = "gaussian"):
    """Teacher (seed ``seed``) and, in batch mode, N inputs (seed ``input_seed(seed)``)."""
    W1, W2 = nearopt.sample_teacher(values["n_in"], values["n_hidden"], seed=seed)
    n = batch_size(values)
    X = None if n is None else nearopt.sample_inputs(n, values["n_in"], dist=dist, seed=input_seed(seed))
    return W1, W2, X


def mode_label(values: dict) -> str:
    return f"batch N = {values['n_samples']}" if values.get("mode") == "batch" else "population"


def describe_error(exc: BaseException) -> str:
    """One readable line for an exception (library errors already explain themselves)."""
    text = str(exc).strip()
    if isinstance(exc, (ValueError, TypeError, MemoryError)) and text:
        return text
    name = type(exc).__name__
    return f"{name}: {text}" if text else name

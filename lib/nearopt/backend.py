"""Array backend: one numerical code path for NumPy and CuPy (and any array-API library).

The namespace of a computation is taken from its input arrays (``array_api_compat.array_namespace``),
exactly as scikit-learn does.  Arrays that ``nearopt`` creates itself (teachers, inputs) come from the
*default* backend, chosen by :func:`default_namespace`:

* ``NEAROPT_BACKEND=numpy`` forces NumPy;
* ``NEAROPT_BACKEND=cupy`` forces CuPy (an error if CuPy or a GPU is missing);
* unset or ``auto``: CuPy when it imports and sees a GPU, NumPy otherwise.

Everything is float64.  :func:`to_numpy` converts any result back to a NumPy array.
"""
from __future__ import annotations

import math
import os

import numpy as np
import array_api_compat

__all__ = [
    "default_namespace", "namespace", "to_numpy", "asarray", "erf", "memory_budget",
    "set_memory_budget", "check_memory", "chunk_length", "format_bytes", "MemoryBudgetError", "backend_name",
]

_VALID_BACKENDS = ("auto", "numpy", "cupy")


def _cupy_namespace():
    import cupy  # noqa: F401  (import error handled by the caller)
    if cupy.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError("CuPy imported but sees no GPU")
    return array_api_compat.array_namespace(cupy.empty(0))


def default_namespace():
    """The array namespace used for arrays nearopt creates (see module docstring)."""
    choice = os.environ.get("NEAROPT_BACKEND", "auto").strip().lower() or "auto"
    if choice not in _VALID_BACKENDS:
        raise ValueError(
            f"NEAROPT_BACKEND must be one of {', '.join(_VALID_BACKENDS)}; got {choice!r}")
    if choice in ("auto", "cupy"):
        try:
            return _cupy_namespace()
        except Exception as exc:  # ImportError, CUDA errors
            if choice == "cupy":
                raise RuntimeError(
                    "NEAROPT_BACKEND=cupy but CuPy with a GPU is not available: " + str(exc)) from exc
    return array_api_compat.array_namespace(np.empty(0))


def backend_name(xp=None) -> str:
    """'numpy', 'cupy' or the namespace's module name."""
    xp = default_namespace() if xp is None else xp
    if not hasattr(xp, "asarray"):
        raise TypeError(f"xp must be an array namespace (a module such as numpy) or None, got {type(xp).__name__}")
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_cupy_namespace(xp):
        return "cupy"
    return getattr(xp, "__name__", str(xp))


def namespace(*arrays):
    """Namespace of the given arrays (``None`` entries ignored); NumPy for plain Python input."""
    arrs = [a for a in arrays if a is not None and not isinstance(a, (int, float, list, tuple))]
    if not arrs:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*arrs)


def asarray(x, xp):
    """``x`` as a float64 array of namespace ``xp``."""
    if isinstance(x, (list, tuple)):
        x = np.asarray(x, dtype=np.float64)
    return xp.asarray(x, dtype=xp.float64)


def to_numpy(x):
    """Convert an array of any supported backend to a NumPy array (scalars and None pass through)."""
    if x is None or isinstance(x, (bool, int, float, np.ndarray)) or (isinstance(x, np.generic)
                                                                     and np.dtype(type(x)).kind in "biufc"):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_numpy_array(x):
        return np.asarray(x)
    if isinstance(x, (list, tuple)):
        out = np.asarray(x)
        if out.dtype.kind not in "biufc":
            raise TypeError(f"x must be an array or a sequence of numbers, got a sequence of {out.dtype}")
        return out
    if not array_api_compat.is_array_api_obj(x):
        raise TypeError(f"x must be an array (NumPy, CuPy or array-API), a number or None, got {type(x).__name__}")
    try:
        return np.from_dlpack(x)
    except Exception:
        return np.asarray(x)


def erf(x, xp):
    """Error function on the backend of ``x`` (the array API has no ``erf``).

    NumPy: ``scipy.special.erf``; CuPy: ``cupyx.scipy.special.erf``; any other namespace (e.g.
    array-api-strict in the test suite): a round trip through NumPy.
    """
    if array_api_compat.is_numpy_namespace(xp):
        from scipy.special import erf as _erf
        return _erf(x)
    if array_api_compat.is_cupy_namespace(xp):
        from cupyx.scipy.special import erf as _erf
        return _erf(x)
    from scipy.special import erf as _erf
    dev = array_api_compat.device(x)
    return xp.asarray(_erf(to_numpy(x)), dtype=xp.float64, device=dev)


# ----------------------------------------------------------------------------- memory budget
class MemoryBudgetError(MemoryError):
    """A dense computation would exceed the memory budget; raised before anything is allocated."""


_budget_override: int | None = None


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 * 1024**3


_ENV_BUDGET = "NEAROPT_MEMORY_BUDGET"
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _parse_budget(text: str) -> int:
    """A positive size: bytes, or a number with suffix K, M, G or T (optionally followed by B or iB)."""
    s = text.strip().upper()
    for tail in ("IB", "B"):
        if s.endswith(tail) and len(s) > len(tail):
            s = s[: -len(tail)]
            break
    unit = s[-1] if s and s[-1] in "KMGT" else ""
    number = s[: len(s) - len(unit)].strip()
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{_ENV_BUDGET} must be a positive size in bytes, optionally with suffix K, M, G or T "
                         f"(e.g. 512M), got {text!r}")
    return int(value)


def memory_budget() -> int:
    """Bytes a single computation may use.

    Order of precedence: :func:`set_memory_budget`, the environment variable
    ``NEAROPT_MEMORY_BUDGET`` (a positive size: bytes, or with suffix K/M/G/T), else half of the available RAM.
    """
    if _budget_override is not None:
        return _budget_override
    env = os.environ.get(_ENV_BUDGET)
    if env is not None and env.strip():
        return _parse_budget(env)
    return _available_bytes() // 2


def set_memory_budget(nbytes: int | None) -> None:
    """Override the memory budget (``None`` restores the default)."""
    global _budget_override
    if nbytes is not None:
        if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes <= 0:
            raise ValueError(f"nbytes must be a positive integer number of bytes or None, got {nbytes!r}")
        nbytes = int(nbytes)
    _budget_override = nbytes


def format_bytes(n: float) -> str:
    """A byte count for people: ``1.5 GiB``."""
    if not math.isfinite(n):
        return "an unbounded amount"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024


#: bytes per float64 entry
F64 = 8


def check_memory(nbytes: float, what: str, alternative: str = "", reduce: str = "") -> None:
    """Refuse (before allocating) a computation whose estimated peak exceeds :func:`memory_budget`.

    ``nbytes`` is the peak estimated from the shapes; ``reduce`` names the argument(s) to make smaller;
    ``alternative`` suggests another route.  Raises :class:`MemoryBudgetError`, whose message reads
    "<what> needs about <size>, more than the memory budget of <budget> (...). Reduce <reduce>. <alternative>".
    """
    budget = memory_budget()
    if not math.isfinite(nbytes) or nbytes > budget:
        msg = (f"{what} needs about {format_bytes(nbytes)}, more than the memory budget of "
               f"{format_bytes(budget)} (nearopt.set_memory_budget or NEAROPT_MEMORY_BUDGET to change it).")
        if reduce:
            msg += f" Reduce {reduce}."
        if alternative:
            msg += " " + alternative
        raise MemoryBudgetError(msg)


def chunk_length(n_items: int, bytes_per_item: float, what: str, reduce: str = "", fixed_bytes: float = 0.0,
                 max_items: int | None = None) -> int:
    """How many of ``n_items`` to process at once so that ``fixed_bytes + k·bytes_per_item`` fits the budget.

    Raises :class:`MemoryBudgetError` (via :func:`check_memory`) when not even one item fits.  ``max_items``
    caps the chunk (e.g. to keep temporaries cache-sized); the result is in [1, n_items].
    """
    check_memory(fixed_bytes + bytes_per_item, what, reduce=reduce)
    room = (memory_budget() - fixed_bytes) / max(bytes_per_item, 1.0)
    k = int(max(1, min(n_items, room)))
    if max_items is not None:
        k = max(1, min(k, int(max_items)))
    return k

"""One home for argument checks, one random-number helper and one error style.

Every check raises ``ValueError`` (a bad value) or ``TypeError`` (a bad type) with the message

    "<param> must be <allowed values>, got <value>"

and returns the value converted to the type the library computes with (``int``, ``float``, a float64 array).
The entry step of every public function of the model is :func:`resolve`: it turns ``(W1, W2, activation,
X)`` into a :class:`Problem` (namespace, activation object, sizes) once; internal functions take the
problem and do not check again.

Other modules (theory, widgets) use these helpers too; the names without an underscore are the API.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import array_api_compat
import numpy as np

from .activations import Activation, get_activation
from .backend import namespace

__all__ = [
    "check_int", "check_size", "check_real", "check_nonneg", "check_positive", "check_probability",
    "check_choice", "check_bool", "check_array", "check_vector", "check_eigenvalues", "check_weights",
    "check_inputs", "check_teacher", "rng", "Problem", "resolve", "describe", "check_finite_result",
    "safe_weight_range", "FLOAT64_SAFE", "all_finite", "host",
]


def describe(value) -> str:
    """A short description of ``value`` for an error message (arrays by shape and dtype, not content)."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None and not isinstance(value, (np.generic,)):
        return f"an array of shape {tuple(shape)} and dtype {dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(name, allowed, value, exc=ValueError):
    raise exc(f"{name} must be {allowed}, got {describe(value)}")


# ----------------------------------------------------------------------------- scalars
def _is_real_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(value, name: str, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum] (integral floats such as 3.0 are accepted)."""
    if minimum is not None and maximum is not None:
        allowed = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        allowed = f"an integer ≥ {minimum}"
    elif maximum is not None:
        allowed = f"an integer ≤ {maximum}"
    else:
        allowed = "an integer"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        v = int(value)
    elif _is_real_number(value) and math.isfinite(value) and float(value).is_integer():
        v = int(value)
    else:
        _fail(name, allowed, value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        _fail(name, allowed, value)
    return v


def check_size(value, name: str, minimum: int = 1) -> int:
    """A size: an integer ≥ ``minimum`` (default 1)."""
    return check_int(value, name, minimum)


def check_real(value, name: str, low=None, high=None, low_open=False, high_open=False,
               allow_none=False, allowed: str | None = None):
    """``value`` as a finite float in the interval given by ``low``/``high`` (open ends on request)."""
    if value is None and allow_none:
        return None
    if allowed is None:
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '≥'} {low:g}")
        if high is not None:
            parts.append(f"{'<' if high_open else '≤'} {high:g}")
        allowed = "a finite number" + (" " + " and ".join(parts) if parts else "")
        if allow_none:
            allowed += " or None"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not _is_real_number(value):
        _fail(name, allowed, value, TypeError if not isinstance(value, (numbers.Number, bool)) else ValueError)
    v = float(value)
    if not math.isfinite(v):
        _fail(name, allowed, value)
    if low is not None and (v < low or (low_open and v == low)):
        _fail(name, allowed, value)
    if high is not None and (v > high or (high_open and v == high)):
        _fail(name, allowed, value)
    return v


def check_nonneg(value, name: str, allow_none=False):
    """A finite number ≥ 0 (or None when allowed)."""
    return check_real(value, name, low=0.0, allow_none=allow_none)


def check_positive(value, name: str, allow_none=False):
    """A finite number > 0 (or None when allowed)."""
    return check_real(value, name, low=0.0, low_open=True, allow_none=allow_none)


def check_probability(value, name: str, open_low=False, open_high=False):
    """A number in [0, 1] (ends open on request)."""
    return check_real(value, name, low=0.0, high=1.0, low_open=open_low, high_open=open_high)


def check_choice(value, name: str, choices):
    """One of ``choices`` (strings compared exactly)."""
    if not isinstance(value, str) or value not in choices:
        _fail(name, "one of " + ", ".join(str(c) for c in choices), value)
    return value


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, "True or False", value, TypeError)
    return bool(value)


def rng(seed) -> np.random.Generator:
    """The one random-number helper: a seed (integer ≥ 0), a NumPy Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        _fail("seed", "a non-negative integer, a numpy Generator or None", seed)
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- arrays
def _dtype_kind(x, xp) -> str:
    """'b', 'i', 'u', 'f', 'c' or 'O' for the dtype of an array of namespace ``xp``."""
    dt = x.dtype
    if array_api_compat.is_numpy_namespace(xp) or array_api_compat.is_cupy_namespace(xp):
        return np.dtype(dt).kind
    for kind, label in (("bool", "b"), ("signed integer", "i"), ("unsigned integer", "u"),
                        ("real floating", "f"), ("complex floating", "c")):
        try:
            if xp.isdtype(dt, kind):
                return label
        except Exception:  # pragma: no cover - namespaces without isdtype
            break
    return "f"


def check_array(x, name: str, xp=None, ndim=None, finite=True):
    """``x`` as a real float64 array of namespace ``xp`` (default: its own, NumPy for lists).

    Complex input is refused (a cast would drop the imaginary part silently); so are non-numeric
    dtypes and, with ``finite=True``, NaN and inf.
    """
    if x is None:
        _fail(name, "an array", x, TypeError)
    if isinstance(x, (list, tuple)) or _is_real_number(x) or isinstance(x, (complex, np.generic)):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError):
            _fail(name, "a real numeric array", x, TypeError)
    if xp is None:
        try:
            xp = array_api_compat.array_namespace(x)
        except TypeError:
            _fail(name, "a real numeric array", x, TypeError)
    elif not (array_api_compat.is_array_api_obj(x)):
        _fail(name, "a real numeric array", x, TypeError)
    kind = _dtype_kind(x, xp)
    if kind == "c":
        _fail(name, "real (complex values are not supported)", x)
    if kind not in "biuf":
        _fail(name, "a real numeric array", x, TypeError)
    try:
        x = xp.asarray(x, dtype=xp.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real numeric array of the same library as the weights, "
                        f"got {describe(x)} ({exc})") from None
    if ndim is not None and x.ndim != ndim:
        _fail(name, f"a {ndim}-D array", x)
    if finite and not all_finite(x, xp):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return x


def all_finite(x, xp) -> bool:
    """Whether every entry is finite, without an array-sized temporary (min and max propagate NaN and ±inf)."""
    if x.size == 0 if isinstance(x.size, int) else False:
        return True
    with np.errstate(invalid="ignore"):
        return math.isfinite(float(xp.min(x))) and math.isfinite(float(xp.max(x)))


def check_vector(v, name: str, length: int, xp, allow_block=True):
    """A vector (length,) or a block of vectors (length, m); returns (block (length, m), was_vector)."""
    v = check_array(v, name, xp)
    vec = v.ndim == 1
    if vec:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] != length or (not allow_block and not vec) or v.shape[1] < 1:
        allowed = f"of shape ({length},)" + (f" or ({length}, m)" if allow_block else "")
        _fail(name, allowed, v if not vec else v[:, 0])
    return v, vec


def host(x, name: str):
    """``x`` brought to the host as NumPy (any backend's array, a sequence or a number), or a TypeError naming it."""
    from .backend import to_numpy
    try:
        return to_numpy(x)
    except TypeError:
        _fail(name, "an array or a sequence of real numbers", x, TypeError)


def check_eigenvalues(eigenvalues, name: str = "eigenvalues"):
    """A non-empty finite 1-D NumPy float64 array (any backend's array is brought to the host)."""
    ev = check_array(host(eigenvalues, name), name, np)
    ev = np.reshape(ev, (-1,))
    if ev.size == 0:
        _fail(name, "a non-empty array", eigenvalues)
    return ev


def check_weights(W1, W2):
    """Validate shapes and values; returns (xp, W1, W2) as float64 arrays of one namespace."""
    if W1 is None or W2 is None:
        raise TypeError(f"W1 and W2 must be arrays, got {describe(W1)} and {describe(W2)}")
    xp = namespace(*(a for a in (W1, W2) if not isinstance(a, (list, tuple, numbers.Number))))
    W1 = check_array(W1, "W1", xp, finite=False)
    W2 = check_array(W2, "W2", xp, finite=False)
    if W1.ndim != 2 or W1.shape[0] < 1 or W1.shape[1] < 1:
        raise ValueError(f"W1 must be a 2-D array of shape (n_hidden, n_in), got shape {tuple(W1.shape)}")
    if W2.ndim != 1 or W2.shape[0] != W1.shape[0]:
        raise ValueError(f"W2 must be a 1-D array of length n_hidden = W1.shape[0] = {W1.shape[0]}, "
                         f"got shape {tuple(W2.shape)}")
    for A, label in ((W1, "W1"), (W2, "W2")):
        if not all_finite(A, xp):
            raise ValueError(f"{label} must contain only finite values (no NaN or inf)")
    return xp, W1, W2


def check_inputs(X, n_in, xp):
    """A batch of inputs X (N × Ni), N ≥ 1, finite, real."""
    X = check_array(X, "X", xp, finite=False)
    if X.ndim != 2 or X.shape[1] != n_in or X.shape[0] < 1:
        raise ValueError(f"X must be a 2-D array of shape (N, n_in) with n_in = {n_in}, N ≥ 1, "
                         f"got shape {tuple(X.shape)}")
    if not all_finite(X, xp):
        raise ValueError("X must contain only finite values (no NaN or inf)")
    return X


def check_teacher(teacher, n_in, xp=None):
    """A teacher pair (W1*, W2*) with n_in columns; returns (T1, T2)."""
    if not isinstance(teacher, (tuple, list)) or len(teacher) != 2:
        raise ValueError(f"teacher must be a pair (W1_teacher, W2_teacher), got {describe(teacher)}")
    _, T1, T2 = check_weights(*teacher)
    if T1.shape[1] != n_in:
        raise ValueError(f"teacher W1 must have n_in = {n_in} columns, got shape {tuple(T1.shape)}")
    if xp is not None:
        T1, T2 = xp.asarray(T1, dtype=xp.float64), xp.asarray(T2, dtype=xp.float64)
    return T1, T2


# ----------------------------------------------------------------------------- the resolved problem
@dataclass(frozen=True)
class Problem:
    """A validated model: weights, activation object, sizes and optional batch, resolved once per call."""

    xp: object
    act: Activation
    W1: object
    W2: object
    X: object = None

    @property
    def n_hidden(self) -> int:
        return int(self.W1.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.W1.shape[1])

    @property
    def P(self) -> int:
        return self.n_hidden * (self.n_in + 1)

    @property
    def N(self):
        """Batch size, or None for the population (X = None)."""
        return None if self.X is None else int(self.X.shape[0])

    @property
    def population(self) -> bool:
        return self.X is None

    def with_weights(self, W1, W2) -> "Problem":
        """The same activation and batch at other weights (no checks: internal use on trusted arrays)."""
        return Problem(self.xp, self.act, W1, W2, self.X)


def resolve(W1, W2, activation, X=None) -> Problem:
    """The entry step of a public call: check weights, activation and inputs once."""
    act = get_activation(activation)
    xp, W1, W2 = check_weights(W1, W2)
    if X is not None:
        X = check_inputs(X, W1.shape[1], xp)
    return Problem(xp, act, W1, W2, X)


# ----------------------------------------------------------------------------- results
#: magnitude below which float64 results are safe from overflow in the products that follow
FLOAT64_SAFE = 1e300


def safe_weight_range(act, W1, X=None) -> str:
    """In words: the weights for which the activation's Gaussian/batch moments stay finite in float64."""
    if act.is_polynomial:
        d = max(act.degree, 1)
        c = float(np.max(np.abs(act.coeffs)))
        limit = (FLOAT64_SAFE / max(1.0, c * c)) ** (1.0 / (2 * d))
        where = "|W1[j]·x| over the batch" if X is not None else "the row norms |W1[j]|"
        return (f"for this degree-{d} polynomial the entries grow like |W1 x|^{2 * d} and |W2|²·|W1 x|^{2 * d - 2}: "
                f"keep {where} below about {limit:.3g} (with |W2| ≲ 1)")
    return "keep |W1| and |W2| entries below about 1e150 (their squares must stay within float64's 1.8e308)"


def check_finite_result(value, what: str, act, W1, W2=None, X=None):
    """``value`` if all finite; else a ValueError saying what overflowed, at which weights, and the safe range."""
    from .backend import namespace
    xp = namespace(value)
    if all_finite(value, xp):
        return value
    with np.errstate(over="ignore", invalid="ignore"):
        big = float(xp.max(xp.abs(W1)))  # row norms scaled by the largest entry: no overflow in the squares
        s = big * float(xp.max(xp.sqrt(xp.sum((W1 / big) ** 2, axis=1)))) if big > 0 else 0.0
        w2 = f", max |W2| = {float(xp.max(xp.abs(W2))):.3g}" if W2 is not None else ""
    raise ValueError(f"{what} overflowed float64 (non-finite entries) at these weights (largest row norm "
                     f"|W1[j]| = {s:.3g}{w2}); {safe_weight_range(act, W1, X)}")

"""Input checks shared by every module.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the argument,
what was expected and what was received, so that a learner sees *what* went wrong and
*where*. They run once, at the boundary (constructors, ``fit``, ``evaluate``,
``predict``, loaders); the operations behind it trust their input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an integer >= 1, "
            f"got {value!r} of type {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite ``float`` inside the given interval, else raise.

    The interval is ``[low, high]``; ``low_inclusive``/``high_inclusive`` make either
    end open.
    """
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"{name} must be a number, got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    lo_bracket = "[" if low_inclusive else "("
    hi_bracket = "]" if high_inclusive else ")"
    lo, hi = "-inf" if low is None else low, "inf" if high is None else high
    interval = f"{lo_bracket}{lo}, {hi}{hi_bracket}"
    too_low = low is not None and (value < low or (value == low and not low_inclusive))
    too_high = high is not None and (
        value > high or (value == high and not high_inclusive)
    )
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


def check_float_array(x: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as a floating-point array of rank ``ndim`` without NaN or inf.

    Integer and boolean arrays are rejected: silently treating labels or raw ``uint8``
    pixels as real-valued inputs is a common and hard-to-see mistake.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        hint = (
            " (scale uint8 images first, e.g. nnlib.data.to_float32)"
            if x.dtype == np.uint8
            else ""
        )
        raise TypeError(
            f"{name} must be a floating-point array, got dtype {x.dtype}{hint}"
        )
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(
            f"{name} contains NaN or inf (first at index "
            f"{tuple(int(i) for i in bad)}, value {x[tuple(bad)]})"
        )
    return x


def check_inputs(x: Any, name: str, dtype: np.dtype) -> np.ndarray:
    """Check a whole set of model inputs once: what ``fit`` and ``predict`` accept.

    Either ``uint8`` images ``(N, ...)`` (scaled one batch at a time later) or a finite
    floating-point array ``(N, features)``, with ``N >= 1``, whose values fit the
    model's ``dtype`` (each batch is cast to it: ``1e39`` would become inf in float32).
    """
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty batch of shape (N, features), got {x.shape}"
        )
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name} must be float or uint8 images, got dtype {x.dtype}")
    x = check_float_array(x, name, ndim=2)
    if np.finfo(x.dtype).max <= np.finfo(dtype).max:
        return x  # finite values of a narrower or equal type always fit
    largest = max(x.max(), -x.min())  # |x| max without a copy of x
    if largest > np.finfo(dtype).max:
        raise ValueError(
            f"{name} has values too large for the model's dtype {dtype} "
            f"(largest magnitude {largest:g})"
        )
    return x


def n_features(x: np.ndarray) -> int:
    """Features per sample: 784 for inputs ``(N, 784)`` or ``(N, 28, 28)``."""
    return math.prod(x.shape[1:])


def check_labels(
    y: Any, name: str, *, n: int | None = None, n_classes: int | None = None
) -> np.ndarray:
    """Return ``y`` as a 1-D integer label array with values in ``[0, n_classes)``.

    Parameters
    ----------
    n : expected number of labels (the batch size), if known.
    n_classes : number of classes, if known.
    """
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"{name} must hold integer class labels, got dtype {y.dtype} "
            f"(cast with .astype(np.int64) if the values are whole numbers)"
        )
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of class labels, got shape {y.shape}"
        )
    if n is not None and y.shape[0] != n:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but the outputs have {n} rows"
        )
    if y.size and n_classes is not None:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            i = int(np.flatnonzero((y < 0) | (y >= n_classes))[0])  # the first bad one
            raise ValueError(
                f"{name} must be in [0, {n_classes}), got label {y[i]} at index {i}"
            )
    return y


def as_model_input(x: Any, dtype: np.dtype, name: str = "x") -> np.ndarray:
    """Turn one batch into the 2-D floating-point array a model consumes.

    * ``uint8`` images of any shape ``(N, ...)`` are flattened to ``(N, features)`` and
      scaled to ``[0, 1]`` in ``dtype`` (``x * (1/255)``, computed directly in
      ``dtype``: writing ``x / 255.0`` would silently produce float64 and double the
      cost of everything after it).
    * floating-point arrays are cast to ``dtype`` if needed (no copy when they match).
    * anything else is a ``TypeError``.
    """
    x = np.asarray(x)
    if x.dtype == np.uint8:
        flat = x.reshape(x.shape[0], -1)
        return np.multiply(flat, dtype.type(1 / 255), dtype=dtype)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array or uint8 images, "
            f"got dtype {x.dtype}"
        )
    return x.astype(dtype, copy=False)

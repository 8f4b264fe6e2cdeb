r"""Regression metrics: how far real-valued predictions lie from the targets.

``y_true`` and ``y_pred`` hold real numbers of the same shape: ``(N,)`` for one output
or ``(N, D)`` for :math:`D` outputs (a ``(N,)`` array and a ``(N, 1)`` array match).
Integer targets are fine; booleans, strings, NaN and inf are not. Every metric is
computed per output column :math:`d` in float64, then combined as ``multioutput``
says: ``"uniform_average"`` (the default) returns the mean over the :math:`D` outputs
as a float, ``"raw_values"`` the array of :math:`D` values.

The results equal scikit-learn's functions of the same names (without
``sample_weight``); they are re-exported by :mod:`nnlib.metrics`, where the rest of
the evaluation metrics live.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_float_array

__all__ = ["mean_absolute_error", "mean_squared_error", "r2_score"]

MultiOutput = Literal["raw_values", "uniform_average", "variance_weighted"]
"""How to combine the outputs' scores (``variance_weighted``: :func:`r2_score` only)."""


def _check_targets(
    y_true: ArrayLike, y_pred: ArrayLike, multioutput: Any, allowed: tuple[str, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate targets and predictions; return both as float64 arrays ``(N, D)``."""
    if multioutput not in allowed:
        raise ValueError(f"multioutput must be one of {allowed}, got {multioutput!r}")
    checked = []
    for y, name in ((y_true, "y_true"), (y_pred, "y_pred")):
        y = np.asarray(y)
        if (
            y.dtype == bool
            or not np.issubdtype(y.dtype, np.number)
            or np.iscomplexobj(y)
        ):
            raise TypeError(f"{name} must hold real numbers, got dtype {y.dtype}")
        if y.ndim not in (1, 2) or len(y) == 0:
            raise ValueError(
                f"{name} must have shape (N,) or (N, outputs) with N >= 1, "
                f"got shape {y.shape}"
            )
        y = check_float_array(y.astype(np.float64), name)  # no NaN or inf
        checked.append(y.reshape(len(y), -1))
    yt, yp = checked
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got "
            f"{np.shape(y_true)} and {np.shape(y_pred)}"
        )
    return yt, yp


def _combine(per_output: NDArray[np.float64], multioutput: str) -> Any:
    """The per-output values (``raw_values``) or their mean, as a float."""
    return per_output if multioutput == "raw_values" else float(np.mean(per_output))


def mean_squared_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    multioutput: Literal["raw_values", "uniform_average"] = "uniform_average",
) -> float | NDArray[np.float64]:
    r"""Mean squared error: the mean of the squared differences.

    .. math::

        \mathrm{MSE}_d = \frac{1}{N} \sum_{n=1}^{N} \left(y_{nd} - \hat y_{nd}\right)^2

    It is in squared units of the target and punishes large errors most; it is the
    loss that :class:`nnlib.MeanSquaredError` minimizes (up to its factor).

    Parameters
    ----------
    y_true, y_pred : array_like of real numbers, shape (N,) or (N, D)
        Targets and predictions.
    multioutput : {"uniform_average", "raw_values"}, default "uniform_average"
        Average over the :math:`D` outputs, or return one value per output.

    Returns
    -------
    float, or ndarray of float64 of shape (D,)
        :math:`\ge 0`; 0 for perfect predictions.

    Examples
    --------
    >>> mean_squared_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.375
    """
    yt, yp = _check_targets(y_true, y_pred, multioutput, _PLAIN)
    return _combine(((yt - yp) ** 2).mean(axis=0), multioutput)


def mean_absolute_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    multioutput: Literal["raw_values", "uniform_average"] = "uniform_average",
) -> float | NDArray[np.float64]:
    r"""Mean absolute error: the mean of the absolute differences.

    .. math::

        \mathrm{MAE}_d = \frac{1}{N} \sum_{n=1}^{N} \left|y_{nd} - \hat y_{nd}\right|

    It is in the units of the target and less sensitive to a few large errors than
    :func:`mean_squared_error`.

    Parameters
    ----------
    y_true, y_pred : array_like of real numbers, shape (N,) or (N, D)
        Targets and predictions.
    multioutput : {"uniform_average", "raw_values"}, default "uniform_average"
        Average over the :math:`D` outputs, or return one value per output.

    Returns
    -------
    float, or ndarray of float64 of shape (D,)
        :math:`\ge 0`; 0 for perfect predictions.

    Examples
    --------
    >>> mean_absolute_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.5
    """
    yt, yp = _check_targets(y_true, y_pred, multioutput, _PLAIN)
    return _combine(np.abs(yp - yt).mean(axis=0), multioutput)


def r2_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    multioutput: MultiOutput = "uniform_average",
) -> float | NDArray[np.float64]:
    r"""Coefficient of determination :math:`R^2`: the fraction of the targets'
    variance that the predictions explain.

    .. math::

        R^2_d = 1 - \frac{\sum_n (y_{nd} - \hat y_{nd})^2}
                         {\sum_n (y_{nd} - \bar y_d)^2},
        \qquad \bar y_d = \frac{1}{N} \sum_n y_{nd}.

    1 is perfect; 0 is what always predicting the mean :math:`\bar y_d` scores; it is
    negative for predictions worse than that, without a lower bound.

    **Constant targets** (a zero denominator) follow scikit-learn's default
    (``force_finite=True``): :math:`R^2_d = 1` if the predictions are perfect,
    otherwise 0 (instead of NaN or :math:`-\infty`).

    Parameters
    ----------
    y_true, y_pred : array_like of real numbers, shape (N,) or (N, D), N >= 2
        Targets and predictions.
    multioutput : {"uniform_average", "raw_values", "variance_weighted"}
        Average the outputs' scores, return one per output, or weight each output by
        its denominator (the targets' variance); with every denominator 0, the
        weighted mean falls back to the plain one.

    Returns
    -------
    float, or ndarray of float64 of shape (D,)

    Raises
    ------
    ValueError
        If N < 2: :math:`R^2` needs a variance. (scikit-learn warns and returns NaN.)

    Examples
    --------
    >>> r2_score([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.9486081370449679
    """
    yt, yp = _check_targets(y_true, y_pred, multioutput, _ALL)
    if len(yt) < 2:
        raise ValueError(f"r2_score needs at least 2 samples, got {len(yt)}")
    numerator = ((yt - yp) ** 2).sum(axis=0)
    denominator = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(numerator == 0, 1.0, 0.0)  # the constant-target convention
    valid = (numerator != 0) & (denominator != 0)
    scores[valid] = 1 - numerator[valid] / denominator[valid]
    if multioutput == "raw_values":
        return scores
    weighted = multioutput == "variance_weighted" and denominator.any()
    return float(np.average(scores, weights=denominator if weighted else None))


_PLAIN = ("uniform_average", "raw_values")
_ALL = ("uniform_average", "raw_values", "variance_weighted")

r"""Classification metrics, all computed from one confusion matrix.

Every metric in this module is a simple function of the **confusion matrix** :math:`C`, the
:math:`K \times K` table of counts

.. math::

    C_{ij} = \#\{\text{samples whose true class is } i \text{ and predicted class is } j\},

with rows indexed by the true class and columns by the predicted class. For class :math:`k`:

.. math::

    \mathrm{TP}_k = C_{kk}, \qquad
    \mathrm{FP}_k = \sum_{i \ne k} C_{ik} \;(\text{column } k \text{ minus the diagonal}), \qquad
    \mathrm{FN}_k = \sum_{j \ne k} C_{kj} \;(\text{row } k \text{ minus the diagonal}),

and the **support** :math:`n_k = \mathrm{TP}_k + \mathrm{FN}_k` is the number of samples whose
true class is :math:`k`.

Labels are integers :math:`0, 1, \dots, K-1`. The number of classes :math:`K` is ``n_classes``
if given, otherwise ``max(label) + 1`` over both label arrays. Every class in that range is
reported, *including classes that never occur* in ``y_true`` or ``y_pred``. A ratio whose
denominator is zero (e.g. the precision of a class that is never predicted) is defined as 0.

The results equal scikit-learn's functions of the same names called with
``labels=np.arange(n_classes)`` and ``zero_division=0``. (Without ``labels``, scikit-learn only
uses the labels that occur in ``y_true`` or ``y_pred``, so its macro averages can differ from
ours when a class is absent from both.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "precision",
    "recall",
]

Average = Literal["macro", "micro", "weighted"] | None
"""The allowed values of the ``average`` argument."""

Score = NDArray[np.float64] | float
"""A metric's value: per-class scores (``average=None``) or one averaged float."""

_AVERAGES: tuple[str | None, ...] = (None, "macro", "micro", "weighted")

# Keys that `classification_report(output_dict=True)` uses for its summary rows.
_SUMMARY_KEYS = ("accuracy", "micro avg", "macro avg", "weighted avg")


# --------------------------------------------------------------------------------------------
# Input validation (shared by every public function)
# --------------------------------------------------------------------------------------------


def _check_label_array(y: ArrayLike, name: str) -> NDArray[Any]:
    """Return ``y`` as a non-empty 1-D integer array, or raise naming ``name``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of class labels, got shape {y.shape}"
        )
    if y.size == 0:
        raise ValueError(f"{name} must contain at least one label, got an empty array")
    if y.dtype == np.bool_:
        raise TypeError(
            f"{name} must hold integer class labels, got a boolean array "
            f"(cast with .astype(int) to use the labels 0 and 1)"
        )
    if np.issubdtype(y.dtype, np.floating):
        raise TypeError(
            f"{name} must hold integer class labels, got dtype {y.dtype} "
            f"(cast with .astype(int) if the values are whole numbers)"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y


def _check_labels_in_range(y: NDArray[Any], name: str, n_classes: int) -> None:
    """Raise a ``ValueError`` naming the first label of ``y`` outside ``[0, n_classes)``."""
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must contain labels in [0, n_classes) = [0, {n_classes}), "
            f"got label {y[i]} at index {i}"
        )


def _validate_labels(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    r"""Check a pair of label arrays and work out the number of classes.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels.
    n_classes : int or None
        Number of classes :math:`K`; ``None`` means ``max(label) + 1`` over both arrays.

    Returns
    -------
    y_true, y_pred : ndarray of int64, shape (N,)
        The labels as ``int64``, so that ``n_classes * y_true + y_pred`` cannot overflow even
        when the inputs are, say, ``uint8``.
    n_classes : int
        The number of classes :math:`K \ge 1`.

    Raises
    ------
    TypeError
        If a label array is not of integer dtype (floats and booleans are rejected), or if
        ``n_classes`` is not an integer.
    ValueError
        If a label array is not 1-D or is empty, if the lengths differ, if ``n_classes < 1``,
        or if a label lies outside ``[0, n_classes)``.
    """
    yt = _check_label_array(y_true, "y_true")
    yp = _check_label_array(y_pred, "y_pred")
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(
            f"y_true and y_pred must have the same length, "
            f"got {yt.shape[0]} and {yp.shape[0]} labels"
        )

    if n_classes is None:
        # Negative labels must be reported before inferring K = max + 1 from them.
        for y, name in ((yt, "y_true"), (yp, "y_pred")):
            if y.min() < 0:
                i = int(np.argmax(y < 0))
                raise ValueError(
                    f"{name} must contain non-negative integer labels, "
                    f"got label {y[i]} at index {i}"
                )
        n_classes = int(max(yt.max(), yp.max())) + 1
    else:
        if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
            raise TypeError(
                f"n_classes must be an integer >= 1 or None, "
                f"got {n_classes!r} of type {type(n_classes).__name__}"
            )
        if n_classes < 1:
            raise ValueError(
                f"n_classes must be an integer >= 1 or None, got {n_classes}"
            )
        n_classes = int(n_classes)
        _check_labels_in_range(yt, "y_true", n_classes)
        _check_labels_in_range(yp, "y_pred", n_classes)

    return yt.astype(np.int64), yp.astype(np.int64), n_classes


def _validate_average(average: object) -> None:
    """Raise a ``ValueError`` unless ``average`` is one of ``None``, macro, micro, weighted."""
    if average is None or (isinstance(average, str) and average in _AVERAGES):
        return
    allowed = ", ".join(repr(a) for a in _AVERAGES)
    raise ValueError(f"average must be one of {allowed}, got {average!r}")


# --------------------------------------------------------------------------------------------
# Confusion matrix and the counts derived from it
# --------------------------------------------------------------------------------------------


def _confusion_matrix(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64], n_classes: int
) -> NDArray[np.int64]:
    """Confusion matrix of already-validated labels (see :func:`confusion_matrix`)."""
    # Sample (i, j) is counted in cell number K*i + j of the flattened K×K matrix, so one
    # bincount over these cell numbers counts every cell at once -- no loop over samples.
    cells = n_classes * y_true + y_pred
    counts = np.bincount(cells, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _safe_divide(numerator: ArrayLike, denominator: ArrayLike) -> NDArray[np.float64]:
    """Elementwise ``numerator / denominator`` as float64, with 0 wherever the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(
        np.broadcast_shapes(numerator.shape, denominator.shape), dtype=np.float64
    )
    return np.divide(numerator, denominator, out=out, where=denominator != 0)


def _per_class_scores(
    cm: NDArray[np.int64],
) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]
]:
    """Per-class precision, recall, F1 and support from a confusion matrix ``cm``."""
    tp = np.diag(cm)  # TP_k
    predicted = cm.sum(axis=0)  # TP_k + FP_k: column sums, how often k was predicted
    support = cm.sum(axis=1)  # TP_k + FN_k: row sums, how often k is the true class
    prec = _safe_divide(tp, predicted)
    rec = _safe_divide(tp, support)
    # 2PR / (P + R) simplifies to 2TP / (2TP + FP + FN), which needs no special case for P = R = 0.
    f1 = _safe_divide(2 * tp, support + predicted)
    return prec, rec, f1, support


def _scores(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    average: Average,
    n_classes: int | None,
) -> tuple[Score, Score, Score]:
    """Validate inputs and return precision, recall and F1, averaged as asked."""
    _validate_average(average)
    yt, yp, k = _validate_labels(y_true, y_pred, n_classes)
    cm = _confusion_matrix(yt, yp, k)

    if average == "micro":
        # Pool the counts of all classes first. Every wrong prediction is one FP (for the
        # predicted class) and one FN (for the true class), so all three equal the accuracy.
        # (For F1: 2TP / (2TP + FP + FN) = 2TP / 2N.)
        micro = float(np.trace(cm) / cm.sum())
        return micro, micro, micro

    prec, rec, f1, support = _per_class_scores(cm)
    if average is None:
        return prec, rec, f1
    if average == "macro":
        return float(np.mean(prec)), float(np.mean(rec)), float(np.mean(f1))
    # average == "weighted"
    return (
        float(np.average(prec, weights=support)),
        float(np.average(rec, weights=support)),
        float(np.average(f1, weights=support)),
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> NDArray[np.int64]:
    r"""Count how often each true class was predicted as each class.

    .. math::

        C_{ij} = \#\{n : y^{\text{true}}_n = i \text{ and } y^{\text{pred}}_n = j\},
        \qquad i, j \in \{0, \dots, K-1\}.

    The diagonal holds the correct predictions; row :math:`i` sums to the support of class
    :math:`i` and column :math:`j` to the number of times :math:`j` was predicted.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True class labels, integers in ``[0, n_classes)``.
    y_pred : array_like of int, shape (N,)
        Predicted class labels, integers in ``[0, n_classes)``.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of int64, shape (K, K)
        Rows are true classes, columns are predicted classes.

    Raises
    ------
    TypeError
        If the labels are not integers (floats and booleans are rejected), or if
        ``n_classes`` is not an integer.
    ValueError
        If the label arrays are not 1-D, are empty, differ in length, or hold a label
        outside ``[0, n_classes)``, or if ``n_classes < 1``.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    yt, yp, k = _validate_labels(y_true, y_pred, n_classes)
    return _confusion_matrix(yt, yp, k)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Fraction of samples whose predicted class equals the true class.

    .. math::

        \mathrm{accuracy} = \frac{1}{N} \sum_{n=1}^{N} [y^{\text{true}}_n = y^{\text{pred}}_n]
        = \frac{\operatorname{trace}(C)}{\sum_{ij} C_{ij}}.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True class labels, non-negative integers.
    y_pred : array_like of int, shape (N,)
        Predicted class labels, non-negative integers.

    Returns
    -------
    float
        The accuracy, in :math:`[0, 1]`.

    Raises
    ------
    TypeError, ValueError
        On invalid labels, as for :func:`confusion_matrix`.

    Examples
    --------
    >>> accuracy([0, 1, 1, 2], [0, 2, 1, 2])
    0.75
    """
    # Only the diagonal of C is needed, so count the matches directly: building the K×K matrix
    # would need K² memory, e.g. about 300 GiB for a single stray label of 200000.
    yt, yp, _ = _validate_labels(y_true, y_pred, None)
    return float(np.count_nonzero(yt == yp) / len(yt))


def precision(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = None,
    n_classes: int | None = None,
) -> Score:
    r"""Precision: of the samples predicted as class :math:`k`, the fraction truly in :math:`k`.

    .. math::

        \mathrm{precision}_k = \frac{\mathrm{TP}_k}{\mathrm{TP}_k + \mathrm{FP}_k}
        = \frac{C_{kk}}{\sum_i C_{ik}},

    and 0 if class :math:`k` is never predicted.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True class labels, integers in ``[0, n_classes)``.
    y_pred : array_like of int, shape (N,)
        Predicted class labels, integers in ``[0, n_classes)``.
    average : {None, "macro", "micro", "weighted"}, default None
        How to combine the per-class scores :math:`\mathrm{precision}_k`, :math:`k = 0, \dots, K-1`:

        * ``None``: return all :math:`K` per-class scores.
        * ``"macro"``: the unweighted mean :math:`\frac{1}{K} \sum_k \mathrm{precision}_k`.
          It runs over **all** :math:`K` classes, so a class absent from both ``y_true``
          and ``y_pred`` counts as a score of 0.
        * ``"micro"``: the formula applied to the counts summed over all classes,
          :math:`\sum_k \mathrm{TP}_k \,/\, \sum_k (\mathrm{TP}_k + \mathrm{FP}_k)`. Every
          sample is predicted as exactly one class, so this equals the accuracy.
        * ``"weighted"``: the mean weighted by support,
          :math:`\sum_k n_k \mathrm{precision}_k \,/\, \sum_k n_k`.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of float64, shape (K,), or float
        The :math:`K` per-class scores if ``average`` is None, otherwise one float.

    Raises
    ------
    ValueError
        If ``average`` is not one of the allowed values; if the label arrays are not 1-D,
        are empty or differ in length; if a label lies outside ``[0, n_classes)``; or if
        ``n_classes < 1``.
    TypeError
        If the labels are not integers (floats and booleans are rejected), or if
        ``n_classes`` is not an integer.

    Examples
    --------
    >>> precision([0, 1, 1, 2], [0, 2, 1, 2])
    array([1. , 1. , 0.5])
    >>> precision([0, 1, 1, 2], [0, 2, 1, 2], average="macro")
    0.8333333333333334
    """
    return _scores(y_true, y_pred, average, n_classes)[0]


def recall(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = None,
    n_classes: int | None = None,
) -> Score:
    r"""Recall: of the samples truly in class :math:`k`, the fraction predicted as :math:`k`.

    .. math::

        \mathrm{recall}_k = \frac{\mathrm{TP}_k}{\mathrm{TP}_k + \mathrm{FN}_k}
        = \frac{C_{kk}}{\sum_j C_{kj}} = \frac{C_{kk}}{n_k},

    and 0 if class :math:`k` never occurs in ``y_true``. Note that the support-weighted
    recall always equals the accuracy.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True class labels, integers in ``[0, n_classes)``.
    y_pred : array_like of int, shape (N,)
        Predicted class labels, integers in ``[0, n_classes)``.
    average : {None, "macro", "micro", "weighted"}, default None
        How to combine the per-class scores :math:`\mathrm{recall}_k`, :math:`k = 0, \dots, K-1`:

        * ``None``: return all :math:`K` per-class scores.
        * ``"macro"``: the unweighted mean :math:`\frac{1}{K} \sum_k \mathrm{recall}_k`.
          It runs over **all** :math:`K` classes, so a class absent from both ``y_true``
          and ``y_pred`` counts as a score of 0.
        * ``"micro"``: the formula applied to the counts summed over all classes,
          :math:`\sum_k \mathrm{TP}_k \,/\, \sum_k (\mathrm{TP}_k + \mathrm{FN}_k)`. Every
          sample has exactly one true class, so this equals the accuracy.
        * ``"weighted"``: the mean weighted by support,
          :math:`\sum_k n_k \mathrm{recall}_k \,/\, \sum_k n_k`.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of float64, shape (K,), or float
        The :math:`K` per-class scores if ``average`` is None, otherwise one float.

    Raises
    ------
    ValueError
        If ``average`` is not one of the allowed values; if the label arrays are not 1-D,
        are empty or differ in length; if a label lies outside ``[0, n_classes)``; or if
        ``n_classes < 1``.
    TypeError
        If the labels are not integers (floats and booleans are rejected), or if
        ``n_classes`` is not an integer.

    Examples
    --------
    >>> recall([0, 1, 1, 2], [0, 2, 1, 2])
    array([1. , 0.5, 1. ])
    >>> recall([0, 1, 1, 2], [0, 2, 1, 2], n_classes=4)  # class 3 never occurs
    array([1. , 0.5, 1. , 0. ])
    """
    return _scores(y_true, y_pred, average, n_classes)[1]


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = None,
    n_classes: int | None = None,
) -> Score:
    r"""F1 score: the harmonic mean of precision and recall of each class.

    .. math::

        F_{1,k} = \frac{2\, \mathrm{precision}_k\, \mathrm{recall}_k}
                       {\mathrm{precision}_k + \mathrm{recall}_k}
                = \frac{2\,\mathrm{TP}_k}{2\,\mathrm{TP}_k + \mathrm{FP}_k + \mathrm{FN}_k},

    and 0 if class :math:`k` occurs in neither ``y_true`` nor ``y_pred``. The right-hand
    form is the one computed. Note that the macro F1 is the mean of the per-class
    :math:`F_{1,k}`, *not* the harmonic mean of the macro precision and macro recall.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True class labels, integers in ``[0, n_classes)``.
    y_pred : array_like of int, shape (N,)
        Predicted class labels, integers in ``[0, n_classes)``.
    average : {None, "macro", "micro", "weighted"}, default None
        How to combine the per-class scores :math:`F_{1,k}`, :math:`k = 0, \dots, K-1`:

        * ``None``: return all :math:`K` per-class scores.
        * ``"macro"``: the unweighted mean :math:`\frac{1}{K} \sum_k F_{1,k}`.
          It runs over **all** :math:`K` classes, so a class absent from both ``y_true``
          and ``y_pred`` counts as a score of 0.
        * ``"micro"``: the formula applied to the counts summed over all classes,
          :math:`2\,\mathrm{TP} / (2\,\mathrm{TP} + \mathrm{FP} + \mathrm{FN})` with
          :math:`\mathrm{TP} = \sum_k \mathrm{TP}_k` etc. Each error is one FP (of the
          predicted class) and one FN (of the true class), so this equals the accuracy.
        * ``"weighted"``: the mean weighted by support,
          :math:`\sum_k n_k F_{1,k} \,/\, \sum_k n_k`.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of float64, shape (K,), or float
        The :math:`K` per-class scores if ``average`` is None, otherwise one float.

    Raises
    ------
    ValueError
        If ``average`` is not one of the allowed values; if the label arrays are not 1-D,
        are empty or differ in length; if a label lies outside ``[0, n_classes)``; or if
        ``n_classes < 1``.
    TypeError
        If the labels are not integers (floats and booleans are rejected), or if
        ``n_classes`` is not an integer.

    Examples
    --------
    >>> f1_score([0, 1, 1, 2], [0, 2, 1, 2])
    array([1.        , 0.66666667, 0.66666667])
    >>> f1_score([0, 1, 1, 2], [0, 2, 1, 2], average="micro")  # = accuracy
    0.75
    """
    return _scores(y_true, y_pred, average, n_classes)[2]


def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    target_names: Sequence[str] | None = None,
    n_classes: int | None = None,
    digits: int = 3,
    output_dict: bool = False,
    labels: Sequence[int] | None = None,
) -> str | dict[str, Any]:
    r"""Summarise precision, recall, F1 and support of every class in one table.

    One row per class :math:`k = 0, \dots, K-1` (see :func:`precision`, :func:`recall` and
    :func:`f1_score` for the definitions), then three summary rows:

    * ``accuracy``: :math:`\operatorname{trace}(C) / N` (equal to the micro average of all
      three scores), with support :math:`N`;
    * ``macro avg``: the unweighted mean over all :math:`K` classes, absent classes included;
    * ``weighted avg``: the mean weighted by support :math:`n_k`.

    The layout follows ``sklearn.metrics.classification_report``.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True class labels, integers in ``[0, n_classes)``.
    y_pred : array_like of int, shape (N,)
        Predicted class labels, integers in ``[0, n_classes)``.
    target_names : sequence of str, optional
        Display name of each class, ``target_names[k]`` for class :math:`k`; must have
        length :math:`K` and no duplicates. Defaults to ``"0", "1", ...``.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays. Pass it
        when the highest classes may be missing from both arrays, e.g. on a small batch.
    digits : int, default 3
        Number of decimals shown in the text table (ignored when ``output_dict=True``).
    output_dict : bool, default False
        Return a nested dict instead of text.
    labels : sequence of int, optional
        The classes to report, in this order (scikit-learn's ``labels``), e.g. ``range(1, 27)``
        for EMNIST ``letters``, whose labels start at 1. Rows and the macro and weighted averages
        cover only these classes, and ``target_names`` names them. If ``y_true`` or ``y_pred``
        holds a class that is not among them, the ``accuracy`` row (which would count it) is
        replaced by a ``micro avg`` row over these classes, as in scikit-learn. Default: all
        :math:`K` classes.

    Returns
    -------
    str or dict
        The text table, or a dict with one entry per class name mapping to
        ``{"precision": float, "recall": float, "f1-score": float, "support": int}``, an
        ``"accuracy"`` entry holding a float, and ``"macro avg"`` and ``"weighted avg"``
        entries shaped like the class entries (their support is :math:`N`).

    Raises
    ------
    TypeError, ValueError
        On invalid labels as for :func:`confusion_matrix`, if ``target_names`` does not hold
        :math:`K` distinct strings, or if ``digits`` is not a non-negative integer.

    Examples
    --------
    >>> print(classification_report([0, 1, 1, 2], [0, 2, 1, 2], target_names=["a", "b", "c"]))
                  precision    recall  f1-score   support
    <BLANKLINE>
               a      1.000     1.000     1.000         1
               b      1.000     0.500     0.667         2
               c      0.500     1.000     0.667         1
    <BLANKLINE>
        accuracy                          0.750         4
       macro avg      0.833     0.833     0.778         4
    weighted avg      0.875     0.750     0.750         4
    <BLANKLINE>
    """
    if target_names is not None:
        if isinstance(target_names, str) or not all(
            isinstance(t, str) for t in target_names
        ):
            raise TypeError(
                f"target_names must be a list of strings, got {target_names!r}"
            )
        target_names = list(target_names)
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)):
        raise TypeError(
            f"digits must be an integer >= 0, got {digits!r} of type {type(digits).__name__}"
        )
    if digits < 0:
        raise ValueError(f"digits must be an integer >= 0, got {digits}")

    yt, yp, k = _validate_labels(y_true, y_pred, n_classes)

    if labels is None:
        shown = np.arange(k)
    else:
        shown = _check_label_array(labels, "labels")
        if (
            n_classes is None and shown.min() >= 0
        ):  # a requested class may be absent from both
            k = max(k, int(shown.max()) + 1)
        _check_labels_in_range(shown, "labels", k)
        if len(np.unique(shown)) != len(shown):
            raise ValueError(f"labels must be distinct, got {list(shown)}")
    m = len(shown)  # number of rows of the table
    if target_names is None:
        target_names = [str(c) for c in shown]
    if len(target_names) != m:
        hint = ""
        if n_classes is None and labels is None and len(target_names) > k:
            hint = (
                f"; pass n_classes={len(target_names)} if the last classes are absent "
                f"from both y_true and y_pred"
            )
        raise ValueError(
            f"target_names must have one name per class "
            f"({'len(labels)' if labels is not None else 'n_classes'} = {m}), "
            f"got {len(target_names)} names{hint}"
        )
    if len(set(target_names)) != m:
        raise ValueError(f"target_names must be distinct, got {target_names!r}")
    if output_dict and set(target_names) & set(_SUMMARY_KEYS):
        raise ValueError(
            f"target_names must not use the summary keys {_SUMMARY_KEYS} "
            f"when output_dict=True, got {target_names!r}"
        )

    cm = _confusion_matrix(yt, yp, k)
    prec, rec, f1, support = (scores[shown] for scores in _per_class_scores(cm))
    n = int(support.sum())  # the samples whose true class is one of the rows
    # Accuracy counts every sample; it is the micro average of the rows only when no sample has a
    # true or predicted class outside them. Otherwise report that micro average instead.
    present = np.flatnonzero(cm.sum(axis=0) + cm.sum(axis=1))
    micro_is_accuracy = bool(np.isin(present, shown).all())
    acc = float(np.trace(cm) / cm.sum())
    tp, predicted = int(np.diag(cm)[shown].sum()), int(cm.sum(axis=0)[shown].sum())
    micro = (
        float(_safe_divide(tp, predicted)),
        float(_safe_divide(tp, n)),
        float(_safe_divide(2 * tp, predicted + n)),
        n,
    )
    headers = ("precision", "recall", "f1-score", "support")
    rows: dict[str, tuple[float, float, float, int]] = {
        name: (float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(target_names, prec, rec, f1, support, strict=True)
    }
    averages = {
        "macro avg": (float(np.mean(prec)), float(np.mean(rec)), float(np.mean(f1)), n),
        # (0 when no sample's true class is among the rows, like scikit-learn's zero_division=0)
        "weighted avg": (
            *(
                float(np.average(s, weights=support)) if n else 0.0
                for s in (prec, rec, f1)
            ),
            n,
        ),
    }

    if output_dict:
        report: dict[str, Any] = {
            name: dict(zip(headers, row, strict=True)) for name, row in rows.items()
        }
        if micro_is_accuracy:
            report["accuracy"] = acc
        else:
            report["micro avg"] = dict(zip(headers, micro, strict=True))
        for name, row in averages.items():
            report[name] = dict(zip(headers, row, strict=True))
        return report

    # Text table: the first column is as wide as the longest row name.
    width = max(*(len(name) for name in target_names), len("weighted avg"), digits)
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = "{:>{width}s} ".format("", width=width) + "".join(
        f" {h:>9}" for h in headers
    )
    text += "\n\n"
    for name, row in rows.items():
        text += row_fmt.format(name, *row, width=width, digits=digits)
    text += "\n"
    if (
        micro_is_accuracy
    ):  # the accuracy row leaves the precision and recall columns blank
        text += "{:>{width}s} ".format("accuracy", width=width) + " " * 20
        text += f" {acc:>9.{digits}f} {n:>9}\n"
    else:
        text += row_fmt.format("micro avg", *micro, width=width, digits=digits)
    for name, row in averages.items():
        text += row_fmt.format(name, *row, width=width, digits=digits)
    return text

r"""Evaluation metrics: classification metrics, all computed from one confusion matrix.

(The regression metrics :func:`mean_squared_error`, :func:`mean_absolute_error` and
:func:`r2_score` live in :mod:`nnlib.regression_metrics` and are re-exported here.)

Every metric in this module is a simple function of the **confusion matrix** :math:`C`,
the :math:`K \times K` table of counts

.. math::

    C_{ij} = \#\{\text{samples whose true class is } i
             \text{ and predicted class is } j\},

with rows indexed by the true class and columns by the predicted class. For class
:math:`k`:

.. math::

    \mathrm{TP}_k = C_{kk}, \qquad
    \mathrm{FP}_k = \sum_{i \ne k} C_{ik} \;(\text{column } k \text{ off the diagonal}),
    \qquad
    \mathrm{FN}_k = \sum_{j \ne k} C_{kj} \;(\text{row } k \text{ off the diagonal}),

and the **support** :math:`n_k = \mathrm{TP}_k + \mathrm{FN}_k` is the number of samples
whose true class is :math:`k`.

**Labels.** ``y_true`` and ``y_pred`` are non-empty 1-D arrays of integer labels
:math:`0, 1, \dots, K-1` of equal length (floats and booleans are a ``TypeError``). The
number of classes :math:`K` is ``n_classes`` if given, otherwise ``max(label) + 1``
over both arrays. Every class in that range is reported, *including classes that never
occur* in ``y_true`` or ``y_pred``. A ratio whose denominator is zero (e.g. the
precision of a class that is never predicted) is defined as 0.

**Averages.** :func:`precision`, :func:`recall` and :func:`f1_score` return one score
per class, :math:`s_k` for :math:`k = 0, \dots, K-1`, or combine them as ``average``
says:

* ``None``: all :math:`K` per-class scores, an array.
* ``"macro"``: the unweighted mean :math:`\frac{1}{K} \sum_k s_k`. It runs over **all**
  :math:`K` classes, so a class absent from both arrays counts as a score of 0.
* ``"micro"``: the score's formula applied to the counts summed over all classes
  (:math:`\sum_k \mathrm{TP}_k` etc.). Every sample has one true and one predicted
  class, so each error is one FP and one FN, and all three micro scores equal the
  accuracy.
* ``"weighted"``: the mean weighted by support, :math:`\sum_k n_k s_k / \sum_k n_k`
  (0 when no sample's true class is counted). The weighted recall equals the accuracy.

The results equal scikit-learn's functions of the same names called with
``labels=np.arange(n_classes)`` and ``zero_division=0``. (Without ``labels``,
scikit-learn only uses the labels that occur in ``y_true`` or ``y_pred``, so its macro
averages can differ from ours when a class is absent from both.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_labels, check_positive_int
from .regression_metrics import mean_absolute_error, mean_squared_error, r2_score

__all__ = [
    "ClassScores",
    "accuracy",
    "accuracy_interval",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "mean_absolute_error",
    "mean_squared_error",
    "per_class_scores",
    "precision",
    "r2_score",
    "recall",
]

Average = Literal["macro", "micro", "weighted"] | None
"""The allowed values of the ``average`` argument (see the module docstring)."""

Score = NDArray[np.float64] | float
"""A metric's value: per-class scores (``average=None``) or one averaged float."""

_AVERAGES: tuple[str | None, ...] = (None, "macro", "micro", "weighted")

# Keys that `classification_report(output_dict=True)` uses for its summary rows.
_SUMMARY_KEYS = ("accuracy", "micro avg", "macro avg", "weighted avg")


# ------------------------------------------------------------------ input validation


def _check_pair(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: Any
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Validate two label arrays (see the module docstring); return them as ``int64``
    (so ``K * y_true + y_pred`` cannot overflow, even for ``uint8`` input) and ``K``."""
    for y, name in ((y_true, "y_true"), (y_pred, "y_pred")):
        if np.size(y) == 0:  # checked first: [] is a float array
            raise ValueError(
                f"{name} must contain at least one label, got an empty array"
            )
    yt, yp = check_labels(y_true, "y_true"), check_labels(y_pred, "y_pred")
    if len(yt) != len(yp):
        raise ValueError(
            f"y_true and y_pred must have the same length, "
            f"got {len(yt)} and {len(yp)} labels"
        )
    if n_classes is None:
        k = max(int(yt.max()), int(yp.max()), 0) + 1
    else:
        k = check_positive_int(n_classes, "n_classes")
    check_labels(yt, "y_true", n_classes=k)  # labels in [0, K)
    check_labels(yp, "y_pred", n_classes=k)
    return yt.astype(np.int64), yp.astype(np.int64), k


def _check_average(average: object) -> None:
    """Raise a ``ValueError`` unless ``average`` is None, macro, micro or weighted."""
    if average is None or (isinstance(average, str) and average in _AVERAGES):
        return
    allowed = ", ".join(repr(a) for a in _AVERAGES)
    raise ValueError(f"average must be one of {allowed}, got {average!r}")


# ------------------------------------------------------------------ the counts


def _confusion(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64], n_classes: int
) -> NDArray[np.int64]:
    """Confusion matrix of already-validated labels (see :func:`confusion_matrix`)."""
    # Sample (i, j) is counted in cell K*i + j of the flattened K×K matrix, so one
    # bincount over these cell numbers counts every cell at once: no loop over samples.
    cells = n_classes * y_true + y_pred
    counts = np.bincount(cells, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _safe_divide(numerator: ArrayLike, denominator: ArrayLike) -> NDArray[np.float64]:
    """``numerator / denominator`` elementwise in float64; 0 where the divisor is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape), dtype=np.float64)
    return np.divide(num, den, out=out, where=den != 0)


class ClassScores(NamedTuple):
    """Precision, recall, F1 and support of each class: arrays of shape ``(m,)``."""

    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    f1: NDArray[np.float64]
    support: NDArray[np.int64]

    def macro(self) -> tuple[float, float, float]:
        """Unweighted means of precision, recall and F1 over these classes."""
        return _three(float(np.mean(s)) for s in self[:3])

    def weighted(self) -> tuple[float, float, float]:
        """Support-weighted means of precision, recall and F1 (0 if no support)."""
        if self.support.sum() == 0:
            return 0.0, 0.0, 0.0
        return _three(float(np.average(s, weights=self.support)) for s in self[:3])


def _three(values: Any) -> tuple[float, float, float]:
    p, r, f = values
    return p, r, f


def per_class_scores(
    cm: ArrayLike, labels: Sequence[int] | NDArray[np.integer] | None = None
) -> ClassScores:
    r"""Precision, recall, F1 and support of each class, from a confusion matrix.

    .. math::

        \mathrm{precision}_k = \frac{C_{kk}}{\sum_i C_{ik}}, \qquad
        \mathrm{recall}_k = \frac{C_{kk}}{\sum_j C_{kj}}, \qquad
        F_{1,k} = \frac{2\,C_{kk}}{\sum_i C_{ik} + \sum_j C_{kj}},
        \qquad n_k = \sum_j C_{kj},

    with 0 wherever a denominator is 0. (The F1 form equals
    :math:`2PR/(P+R)` and needs no special case when :math:`P = R = 0`.)

    Parameters
    ----------
    cm : array_like of int, shape (K, K)
        A confusion matrix, rows true classes, columns predicted classes.
    labels : sequence of int, optional
        The classes to return, in this order (e.g. ``range(1, 27)`` for EMNIST
        ``letters``). Their scores are those of the full :math:`K`-class matrix:
        predictions of a class outside ``labels`` still count as errors of the true
        class. Default: all :math:`K` classes.

    Returns
    -------
    ClassScores
        ``(precision, recall, f1, support)``, each of shape ``(len(labels),)``, with
        :meth:`ClassScores.macro` and :meth:`ClassScores.weighted` averages.
    """
    cm = np.asarray(cm)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)  # TP_k + FP_k: column sums, how often k was predicted
    support = cm.sum(axis=1)  # TP_k + FN_k: row sums, how often k is the true class
    scores = ClassScores(
        _safe_divide(tp, predicted),
        _safe_divide(tp, support),
        _safe_divide(2 * tp, support + predicted),
        support.astype(np.int64),
    )
    if labels is None:
        return scores
    i = np.asarray(labels, dtype=np.int64)
    return ClassScores(
        scores.precision[i], scores.recall[i], scores.f1[i], scores.support[i]
    )


# ------------------------------------------------------------------ public functions


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> NDArray[np.int64]:
    r"""Count how often each true class was predicted as each class.

    .. math::

        C_{ij} = \#\{n : y^{\text{true}}_n = i \text{ and } y^{\text{pred}}_n = j\},
        \qquad i, j \in \{0, \dots, K-1\}.

    The diagonal holds the correct predictions; row :math:`i` sums to the support of
    class :math:`i` and column :math:`j` to the number of times :math:`j` was predicted.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels, integers in ``[0, n_classes)``.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of int64, shape (K, K)
        Rows are true classes, columns are predicted classes.

    Raises
    ------
    TypeError, ValueError
        On invalid labels or ``n_classes`` (see the module docstring).

    Examples
    --------
    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    return _confusion(*_check_pair(y_true, y_pred, n_classes))


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Fraction of samples whose predicted class equals the true class.

    .. math::

        \mathrm{accuracy} = \frac{1}{N} \sum_{n=1}^{N}
        [y^{\text{true}}_n = y^{\text{pred}}_n]
        = \frac{\operatorname{trace}(C)}{\sum_{ij} C_{ij}}.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels, non-negative integers.

    Returns
    -------
    float
        The accuracy, in :math:`[0, 1]`.

    Examples
    --------
    >>> accuracy([0, 1, 1, 2], [0, 2, 1, 2])
    0.75
    """
    # Only the diagonal of C is needed, so count the matches directly: the K×K matrix
    # would need K² memory, e.g. about 300 GiB for a single stray label of 200000.
    yt, yp, _ = _check_pair(y_true, y_pred, None)
    return float(np.count_nonzero(yt == yp) / len(yt))


def accuracy_interval(
    accuracy: float, n: int, *, z: float = 1.96
) -> tuple[float, float]:
    r"""A 95% interval for an accuracy measured on ``n`` test samples (Wilson score).

    Each test sample is right with probability :math:`a`, so the measured accuracy
    :math:`\hat a` has standard error :math:`\sqrt{a (1 - a) / N}`. The familiar
    :math:`\hat a \pm z \sqrt{\hat a (1 - \hat a) / N}` plugs :math:`\hat a` in for
    :math:`a`; Wilson (1927) instead solves :math:`|\hat a - a| = z \sqrt{a(1-a)/N}`
    for :math:`a`:

    .. math::

        \frac{\hat a + \frac{z^2}{2N}
               \pm z \sqrt{\frac{\hat a (1 - \hat a)}{N} + \frac{z^2}{4N^2}}}
             {1 + \frac{z^2}{N}}, \qquad z = 1.96 .

    For large :math:`N` both agree; for small test sets or accuracies near 0 or 1
    Wilson's stays inside :math:`[0, 1]` and keeps its 95% coverage.

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    >>> [round(x, 4) for x in accuracy_interval(0.8, 400)]  # ~ 0.8 ± 1.96 * 0.02
    [0.758, 0.8363]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    shrink = 1.0 + z * z / n
    center = (accuracy + z * z / (2 * n)) / shrink
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / shrink
    return max(0.0, center - half), min(1.0, center + half)


def _averaged(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    average: Average,
    n_classes: int | None,
    which: int,
) -> Score:
    """Score number ``which`` (0 precision, 1 recall, 2 F1), averaged as asked."""
    _check_average(average)
    cm = confusion_matrix(y_true, y_pred, n_classes)
    if average == "micro":  # = accuracy (module docstring)
        return float(np.trace(cm) / cm.sum())
    scores = per_class_scores(cm)
    if average is None:
        return (scores.precision, scores.recall, scores.f1)[which]
    return (scores.macro() if average == "macro" else scores.weighted())[which]


def precision(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = None,
    n_classes: int | None = None,
) -> Score:
    r"""Precision: of the samples predicted as class :math:`k`, the fraction truly
    in :math:`k`.

    .. math::

        \mathrm{precision}_k = \frac{\mathrm{TP}_k}{\mathrm{TP}_k + \mathrm{FP}_k}
        = \frac{C_{kk}}{\sum_i C_{ik}},

    and 0 if class :math:`k` is never predicted.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels, integers in ``[0, n_classes)``.
    average : {None, "macro", "micro", "weighted"}, default None
        How to combine the per-class scores (see the module docstring).
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of float64, shape (K,), or float
        The :math:`K` per-class scores if ``average`` is None, otherwise one float.

    Examples
    --------
    >>> precision([0, 1, 1, 2], [0, 2, 1, 2])
    array([1. , 1. , 0.5])
    >>> precision([0, 1, 1, 2], [0, 2, 1, 2], average="macro")
    0.8333333333333334
    """
    return _averaged(y_true, y_pred, average, n_classes, 0)


def recall(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: Average = None,
    n_classes: int | None = None,
) -> Score:
    r"""Recall: of the samples truly in class :math:`k`, the fraction predicted
    as :math:`k`.

    .. math::

        \mathrm{recall}_k = \frac{\mathrm{TP}_k}{\mathrm{TP}_k + \mathrm{FN}_k}
        = \frac{C_{kk}}{\sum_j C_{kj}} = \frac{C_{kk}}{n_k},

    and 0 if class :math:`k` never occurs in ``y_true``.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels, integers in ``[0, n_classes)``.
    average : {None, "macro", "micro", "weighted"}, default None
        How to combine the per-class scores (see the module docstring).
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of float64, shape (K,), or float
        The :math:`K` per-class scores if ``average`` is None, otherwise one float.

    Examples
    --------
    >>> recall([0, 1, 1, 2], [0, 2, 1, 2])
    array([1. , 0.5, 1. ])
    >>> recall([0, 1, 1, 2], [0, 2, 1, 2], n_classes=4)  # class 3 never occurs
    array([1. , 0.5, 1. , 0. ])
    """
    return _averaged(y_true, y_pred, average, n_classes, 1)


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
                = \frac{2\,\mathrm{TP}_k}
                       {2\,\mathrm{TP}_k + \mathrm{FP}_k + \mathrm{FN}_k},

    and 0 if class :math:`k` occurs in neither array. The right-hand form is the one
    computed. The macro F1 is the mean of the per-class :math:`F_{1,k}`, *not* the
    harmonic mean of the macro precision and macro recall.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels, integers in ``[0, n_classes)``.
    average : {None, "macro", "micro", "weighted"}, default None
        How to combine the per-class scores (see the module docstring).
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays.

    Returns
    -------
    ndarray of float64, shape (K,), or float
        The :math:`K` per-class scores if ``average`` is None, otherwise one float.

    Examples
    --------
    >>> f1_score([0, 1, 1, 2], [0, 2, 1, 2])
    array([1.        , 0.66666667, 0.66666667])
    >>> f1_score([0, 1, 1, 2], [0, 2, 1, 2], average="micro")  # = accuracy
    0.75
    """
    return _averaged(y_true, y_pred, average, n_classes, 2)


# ------------------------------------------------------------------ the report


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

    One row per class (:func:`per_class_scores`), then ``accuracy``
    (:math:`\operatorname{trace}(C) / N`, support :math:`N`), ``macro avg`` and
    ``weighted avg`` (module docstring). The layout follows
    ``sklearn.metrics.classification_report``.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
        True and predicted class labels, integers in ``[0, n_classes)``.
    target_names : sequence of str, optional
        Distinct display names of the rows. Defaults to ``"0", "1", ...``.
    n_classes : int, optional
        Number of classes :math:`K`. Defaults to ``max(label) + 1`` over both arrays
        (pass it when the highest classes may be missing from both arrays).
    digits : int, default 3
        Number of decimals in the text table.
    output_dict : bool, default False
        Return a dict instead of text: class name ->
        ``{"precision", "recall", "f1-score", "support"}``, ``"accuracy"`` -> float,
        and ``"macro avg"``, ``"weighted avg"`` shaped like the class entries.
    labels : sequence of int, optional
        The classes to report, in this order (scikit-learn's ``labels``), e.g.
        ``range(1, 27)`` for EMNIST ``letters``. The rows and averages cover only these
        classes; if a sample's true or predicted class is not among them, the
        ``accuracy`` row is replaced by a ``micro avg`` row over these classes, as in
        scikit-learn. Default: all :math:`K` classes.

    Examples
    --------
    >>> print(classification_report([0, 1, 1, 2], [0, 2, 1, 2],
    ...                              target_names=["a", "b", "c"]))
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
    digits = _check_digits(digits)
    yt, yp, k = _check_pair(y_true, y_pred, n_classes)
    if labels is not None:
        # A requested class may lie above every label seen: a class of support 0.
        seen = np.asarray(labels)
        if n_classes is None and seen.size and np.issubdtype(seen.dtype, np.integer):
            k = max(k, int(seen.max()) + 1)
    shown = _check_rows(labels, k)
    names = _check_names(target_names, shown, output_dict, n_classes, labels, k)
    classes, summary = _report_rows(_confusion(yt, yp, k), shown, names)
    if output_dict:
        return {**classes, **summary}
    return _report_text(classes, summary, digits)


def _check_digits(digits: Any) -> int:
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)):
        raise TypeError(
            f"digits must be an integer >= 0, got {digits!r} of type "
            f"{type(digits).__name__}"
        )
    if digits < 0:
        raise ValueError(f"digits must be an integer >= 0, got {digits}")
    return int(digits)


def _check_rows(labels: Sequence[int] | None, k: int) -> NDArray[np.int64]:
    """The classes a report shows: ``labels`` checked, or all ``K``."""
    if labels is None:
        return np.arange(k)
    if np.size(labels) == 0:
        raise ValueError("labels must name at least one class, got none")
    shown = check_labels(labels, "labels", n_classes=k)
    if len(np.unique(shown)) != len(shown):
        raise ValueError(f"labels must be distinct, got {shown.tolist()}")
    return shown.astype(np.int64)


def _check_names(
    target_names: Sequence[str] | None,
    shown: NDArray[np.int64],
    output_dict: bool,
    n_classes: int | None,
    labels: Sequence[int] | None,
    k: int,
) -> list[str]:
    """The row names: ``target_names`` checked, or the class numbers."""
    if target_names is None:
        return [str(c) for c in shown]
    if isinstance(target_names, str) or not all(
        isinstance(t, str) for t in target_names
    ):
        raise TypeError(f"target_names must be a list of strings, got {target_names!r}")
    names, m = list(target_names), len(shown)
    if len(names) != m:
        hint = ""
        if n_classes is None and labels is None and len(names) > k:
            hint = (
                f"; pass n_classes={len(names)} if the last classes are absent "
                f"from both y_true and y_pred"
            )
        raise ValueError(
            f"target_names must have one name per class "
            f"({'len(labels)' if labels is not None else 'n_classes'} = {m}), "
            f"got {len(names)} names{hint}"
        )
    if len(set(names)) != m:
        raise ValueError(f"target_names must be distinct, got {names!r}")
    if output_dict and set(names) & set(_SUMMARY_KEYS):
        raise ValueError(
            f"target_names must not use the summary keys {_SUMMARY_KEYS} "
            f"when output_dict=True, got {names!r}"
        )
    return names


def _report_rows(
    cm: NDArray[np.int64], shown: NDArray[np.int64], names: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report's rows: one per shown class, and the summary rows."""
    scores = per_class_scores(cm, shown)
    n = int(scores.support.sum())  # samples whose true class is a row

    def row(p: float, r: float, f: float, support: int) -> dict[str, Any]:
        return {"precision": p, "recall": r, "f1-score": f, "support": support}

    classes = {
        name: row(float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(names, *scores, strict=True)
    }
    summary: dict[str, Any] = {}
    # Accuracy counts every sample. It is the micro average of the rows only when no
    # sample's true or predicted class lies outside them; otherwise show that average.
    present = np.flatnonzero(cm.sum(axis=0) + cm.sum(axis=1))
    if np.isin(present, shown).all():
        summary["accuracy"] = float(np.trace(cm) / cm.sum())
    else:
        tp, predicted = int(np.diag(cm)[shown].sum()), int(cm.sum(axis=0)[shown].sum())
        p, r = float(_safe_divide(tp, predicted)), float(_safe_divide(tp, n))
        summary["micro avg"] = row(p, r, float(_safe_divide(2 * tp, predicted + n)), n)
    summary["macro avg"] = row(*scores.macro(), n)
    summary["weighted avg"] = row(*scores.weighted(), n)
    return classes, summary


def _report_text(classes: dict[str, Any], summary: dict[str, Any], digits: int) -> str:
    """scikit-learn's text layout: the class rows, a blank line, the summary rows."""
    width = max(*(len(name) for name in classes), len("weighted avg"), digits)

    def line(name: str, *cells: str) -> str:
        return f"{name:>{width}s} " + "".join(f" {c:>9}" for c in cells) + "\n"

    def numbers(row: dict[str, Any]) -> list[str]:
        scores = (row["precision"], row["recall"], row["f1-score"])
        return [*(f"{x:.{digits}f}" for x in scores), str(row["support"])]

    text = line("", "precision", "recall", "f1-score", "support") + "\n"
    text += "".join(line(name, *numbers(row)) for name, row in classes.items()) + "\n"
    for name, row in summary.items():
        if name == "accuracy":  # the precision and recall columns stay blank
            n = summary["macro avg"]["support"]
            text += line(name, "", "", f"{row:.{digits}f}", str(n))
        else:
            text += line(name, *numbers(row))
    return text

"""Tests for :mod:`nnlib.metrics`.

Three kinds of test:

* a small example worked out by hand (the arithmetic is in the comments), so that a
  reader can check each number with pencil and paper;
* property tests: for random multi-class label arrays (including classes missing
  from ``y_true``, from ``y_pred``, or from both) every function must agree with
  scikit-learn;
* one test per input error, checking the message says what was wrong.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.metrics import (
    accuracy,
    accuracy_interval,
    classification_report,
    confusion_matrix,
    f1_score,
    per_class_scores,
    precision,
    recall,
)

# Our functions and scikit-learn compute the same ratios of integer counts, but the
# order of floating-point operations (e.g. the summation in an average) may differ,
# which can change the last bit or two of the result. rtol=1e-12 is ~4500 times machine
# epsilon (2.2e-16): loose enough for that rounding, far too tight to hide any real
# mistake (which would change a ratio of small integers by at least ~1e-3).
RTOL = 1e-12

AVERAGES = [None, "macro", "micro", "weighted"]
SCORES = [
    (precision, skm.precision_score),
    (recall, skm.recall_score),
    (f1_score, skm.f1_score),
]
SCORE_IDS = ["precision", "recall", "f1_score"]


# --------------------------------------------------------------------------------------
# Random label arrays
# --------------------------------------------------------------------------------------


@st.composite
def label_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw ``(y_true, y_pred, n_classes)`` with ``1 <= n_classes <= 12``.

    ``y_true`` and ``y_pred`` each use a random subset of the classes, so some classes
    are often absent from ``y_true`` (zero support), from ``y_pred`` (never predicted),
    or both.
    """
    n_classes = draw(st.integers(1, 12))
    n_samples = draw(st.integers(1, 60))
    classes = st.integers(0, n_classes - 1)
    true_classes = draw(st.lists(classes, min_size=1, max_size=n_classes, unique=True))
    pred_classes = draw(st.lists(classes, min_size=1, max_size=n_classes, unique=True))
    y_true = draw(
        st.lists(st.sampled_from(true_classes), min_size=n_samples, max_size=n_samples)
    )
    y_pred = draw(
        st.lists(st.sampled_from(pred_classes), min_size=n_samples, max_size=n_samples)
    )
    return np.array(y_true), np.array(y_pred), n_classes


def sklearn_kwargs(n_classes: int) -> dict[str, Any]:
    """Make scikit-learn report every class 0..n_classes-1, as ours does; 0/0 := 0."""
    return {"labels": np.arange(n_classes), "zero_division": 0}


def assert_reports_equal(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Check two ``output_dict`` reports have the same keys, in order, and values."""
    assert list(ours) == list(theirs)
    for key, expected in theirs.items():
        if key == "accuracy":
            np.testing.assert_allclose(ours[key], expected, rtol=RTOL)
            continue
        assert list(ours[key]) == ["precision", "recall", "f1-score", "support"]
        for metric in ("precision", "recall", "f1-score"):
            np.testing.assert_allclose(ours[key][metric], expected[metric], rtol=RTOL)
        assert ours[key]["support"] == expected["support"]


# --------------------------------------------------------------------------------------
# A small example, worked out by hand
# --------------------------------------------------------------------------------------

# 3 classes, 8 samples:
#   sample:  0  1  2  3  4  5  6  7
#   y_true:  0  0  0  1  1  2  2  2
#   y_pred:  0  1  0  1  2  2  2  1
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 1, 0, 1, 2, 2, 2, 1]

# Confusion matrix (row = true class, column = predicted class):
#   true 0 was predicted as 0, 1, 0  -> row [2, 1, 0]
#   true 1 was predicted as 1, 2     -> row [0, 1, 1]
#   true 2 was predicted as 2, 2, 1  -> row [0, 1, 2]
CM = [[2, 1, 0], [0, 1, 1], [0, 1, 2]]
# TP (diagonal)            = [2, 1, 2], trace = 5
# predicted (column sums)  = [2, 3, 3]
# support (row sums)       = [3, 2, 3], N = 8
#
# precision = TP / predicted = [2/2, 1/3, 2/3]
# recall    = TP / support   = [2/3, 1/2, 2/3]
# f1 = 2TP / (support + predicted) = [4/5, 2/5, 4/6]
PRECISION = [1, 1 / 3, 2 / 3]
RECALL = [2 / 3, 1 / 2, 2 / 3]
F1 = [4 / 5, 2 / 5, 2 / 3]
# accuracy = trace / N = 5/8
#
# macro (plain mean of the 3 classes):
#   precision (1 + 1/3 + 2/3) / 3         = 2/3
#   recall    (2/3 + 1/2 + 2/3) / 3       = (11/6) / 3 = 11/18
#   f1        (4/5 + 2/5 + 2/3) / 3       = (28/15) / 3 = 28/45
# micro (pooled counts): 5 TP out of 8 predictions / 8 true labels = 5/8 for all three
# weighted (weights = support 3, 2, 3; total 8):
#   precision (3*1 + 2*(1/3) + 3*(2/3)) / 8    = (3 + 2/3 + 2) / 8 = (17/3) / 8 = 17/24
#   recall    (3*(2/3) + 2*(1/2) + 3*(2/3)) / 8 = (2 + 1 + 2) / 8 = 5/8  (= accuracy)
#   f1        (3*(4/5) + 2*(2/5) + 3*(2/3)) / 8 = (12/5 + 4/5 + 2) / 8 = 13/20
EXPECTED_AVERAGES = {
    "macro": (2 / 3, 11 / 18, 28 / 45),
    "micro": (5 / 8, 5 / 8, 5 / 8),
    "weighted": (17 / 24, 5 / 8, 13 / 20),
}


def test_hand_example_confusion_matrix_and_accuracy() -> None:
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, CM)
    assert accuracy(Y_TRUE, Y_PRED) == 5 / 8  # 5/8 = 0.625 is exact in binary


def test_hand_example_per_class_scores() -> None:
    for func, expected in ((precision, PRECISION), (recall, RECALL), (f1_score, F1)):
        result = func(Y_TRUE, Y_PRED)
        assert isinstance(result, np.ndarray)
        assert result.dtype == np.float64
        np.testing.assert_allclose(result, expected, rtol=RTOL)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_hand_example_averages(average: str) -> None:
    expected_p, expected_r, expected_f = EXPECTED_AVERAGES[average]
    for func, expected in (
        (precision, expected_p),
        (recall, expected_r),
        (f1_score, expected_f),
    ):
        result = func(Y_TRUE, Y_PRED, average=average)
        assert isinstance(result, float)
        np.testing.assert_allclose(result, expected, rtol=RTOL)


def test_hand_example_with_a_class_absent_from_both_arrays() -> None:
    # With n_classes=4, class 3 never occurs: its row and column of the confusion matrix
    # are zero, all its scores are 0/0 := 0, and its support is 0.
    np.testing.assert_array_equal(
        confusion_matrix(Y_TRUE, Y_PRED, n_classes=4),
        [[2, 1, 0, 0], [0, 1, 1, 0], [0, 1, 2, 0], [0, 0, 0, 0]],
    )
    np.testing.assert_allclose(
        precision(Y_TRUE, Y_PRED, n_classes=4), [*PRECISION, 0], rtol=RTOL
    )
    # The macro average now divides by 4: precision (1 + 1/3 + 2/3 + 0) / 4 = 2/4.
    np.testing.assert_allclose(
        precision(Y_TRUE, Y_PRED, average="macro", n_classes=4), 1 / 2, rtol=RTOL
    )
    # The weighted average gives class 3 weight 0, so it is unchanged: 17/24.
    np.testing.assert_allclose(
        precision(Y_TRUE, Y_PRED, average="weighted", n_classes=4), 17 / 24, rtol=RTOL
    )


def test_class_only_predicted_and_class_only_true() -> None:
    # y_true = [0, 0, 2], y_pred = [0, 1, 0]: class 1 is predicted but never true; class
    # 2 is true but never predicted.
    #   confusion matrix rows: true 0 [1, 1, 0]; true 1 [0, 0, 0]; true 2 [1, 0, 0]
    #   TP = [1, 0, 0], predicted = [2, 1, 0], support = [2, 0, 1]
    #   precision = [1/2, 0/1, 0/0 := 0];  recall = [1/2, 0/0 := 0, 0/1]
    #   f1 = 2TP / (support + predicted) = [2/4, 0/1, 0/1]
    y_true, y_pred = [0, 0, 2], [0, 1, 0]
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred), [[1, 1, 0], [0, 0, 0], [1, 0, 0]]
    )
    np.testing.assert_allclose(precision(y_true, y_pred), [0.5, 0, 0], rtol=RTOL)
    np.testing.assert_allclose(recall(y_true, y_pred), [0.5, 0, 0], rtol=RTOL)
    np.testing.assert_allclose(f1_score(y_true, y_pred), [0.5, 0, 0], rtol=RTOL)


def test_hand_example_report_dict() -> None:
    report = classification_report(
        Y_TRUE, Y_PRED, target_names=["cat", "dog", "bird"], output_dict=True
    )
    assert isinstance(report, dict)
    assert list(report) == [
        "cat",
        "dog",
        "bird",
        "accuracy",
        "macro avg",
        "weighted avg",
    ]
    for name, p, r, f, s in zip(
        ["cat", "dog", "bird"], PRECISION, RECALL, F1, [3, 2, 3], strict=True
    ):
        np.testing.assert_allclose(
            [
                report[name]["precision"],
                report[name]["recall"],
                report[name]["f1-score"],
            ],
            [p, r, f],
            rtol=RTOL,
        )
        assert report[name]["support"] == s
    np.testing.assert_allclose(report["accuracy"], 5 / 8, rtol=RTOL)
    for key, average in (("macro avg", "macro"), ("weighted avg", "weighted")):
        row = report[key]
        np.testing.assert_allclose(
            [row["precision"], row["recall"], row["f1-score"]],
            EXPECTED_AVERAGES[average],
            rtol=RTOL,
        )
        assert row["support"] == 8


def test_hand_example_report_text() -> None:
    text = classification_report(Y_TRUE, Y_PRED, target_names=["cat", "dog", "bird"])
    assert isinstance(text, str)
    # The numbers above, rounded to 3 digits: 1/3 -> 0.333, 2/3 -> 0.667, 11/18 ->
    # 0.611, 28/45 -> 0.622, 17/24 -> 0.708. Names are right-aligned to the width of
    # "weighted avg".
    expected = (
        "              precision    recall  f1-score   support\n"
        "\n"
        "         cat      1.000     0.667     0.800         3\n"
        "         dog      0.333     0.500     0.400         2\n"
        "        bird      0.667     0.667     0.667         3\n"
        "\n"
        "    accuracy                          0.625         8\n"
        "   macro avg      0.667     0.611     0.622         8\n"
        "weighted avg      0.708     0.625     0.650         8\n"
    )
    assert text == expected


def test_report_text_digits_and_long_names() -> None:
    # A name longer than "weighted avg" widens the first column; digits=1 rounds 2/3 to
    # 0.7.
    names = ["a-very-long-class-name", "b", "c"]
    text = classification_report(Y_TRUE, Y_PRED, target_names=names, digits=1)
    lines = text.splitlines()
    assert lines[2] == "a-very-long-class-name        1.0       0.7       0.8         3"
    assert (
        lines[-1] == "          weighted avg        0.7       0.6       0.7         8"
    )


def test_report_defaults_class_names_to_indices() -> None:
    report = classification_report(Y_TRUE, Y_PRED, n_classes=4, output_dict=True)
    assert list(report)[:4] == ["0", "1", "2", "3"]
    text = classification_report(Y_TRUE, Y_PRED, n_classes=4)
    assert "           3      0.000     0.000     0.000         0\n" in text


def test_report_with_more_target_names_than_observed_classes() -> None:
    # Labels only go up to 2, so by default there are 3 classes and 4 names is an error
    # whose message suggests the fix; with n_classes=4 the fourth class is reported as
    # absent.
    names = ["a", "b", "c", "d"]
    with pytest.raises(
        ValueError, match=r"got 4 names; pass n_classes=4 if the last classes"
    ):
        classification_report(Y_TRUE, Y_PRED, target_names=names)
    report = classification_report(
        Y_TRUE, Y_PRED, target_names=names, n_classes=4, output_dict=True
    )
    assert report["d"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1-score": 0.0,
        "support": 0,
    }
    np.testing.assert_allclose(report["macro avg"]["precision"], 1 / 2, rtol=RTOL)


# --------------------------------------------------------------------------------------
# Property tests against scikit-learn
# --------------------------------------------------------------------------------------


# scikit-learn warns when its confusion matrix is 1×1, which happens here for
# n_classes=1.
@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
@given(label_pairs())
@settings(max_examples=200, deadline=None)
def test_confusion_matrix_matches_sklearn(
    data: tuple[np.ndarray, np.ndarray, int],
) -> None:
    y_true, y_pred, n = data
    cm = confusion_matrix(y_true, y_pred, n_classes=n)
    assert cm.dtype == np.int64
    assert cm.shape == (n, n)
    np.testing.assert_array_equal(
        cm, skm.confusion_matrix(y_true, y_pred, labels=np.arange(n))
    )


@given(label_pairs())
@settings(max_examples=200, deadline=None)
def test_accuracy_matches_sklearn(data: tuple[np.ndarray, np.ndarray, int]) -> None:
    y_true, y_pred, _ = data
    result = accuracy(y_true, y_pred)
    assert isinstance(result, float)
    np.testing.assert_allclose(result, skm.accuracy_score(y_true, y_pred), rtol=RTOL)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize(("ours", "theirs"), SCORES, ids=SCORE_IDS)
@given(data=label_pairs())
@settings(max_examples=100, deadline=None)
def test_scores_match_sklearn(
    ours: Any,
    theirs: Any,
    average: str | None,
    data: tuple[np.ndarray, np.ndarray, int],
) -> None:
    y_true, y_pred, n = data
    result = ours(y_true, y_pred, average=average, n_classes=n)
    expected = theirs(y_true, y_pred, average=average, **sklearn_kwargs(n))
    if average is None:
        assert isinstance(result, np.ndarray)
        assert result.dtype == np.float64
        assert result.shape == (n,)
    else:
        assert isinstance(result, float)
    np.testing.assert_allclose(result, expected, rtol=RTOL)


@pytest.mark.parametrize("average", AVERAGES)
@given(data=label_pairs())
@settings(max_examples=50, deadline=None)
def test_n_classes_defaults_to_max_label_plus_one(
    average: str | None, data: tuple[np.ndarray, np.ndarray, int]
) -> None:
    y_true, y_pred, _ = data
    n = int(max(y_true.max(), y_pred.max())) + 1
    assert confusion_matrix(y_true, y_pred).shape == (n, n)
    for ours, theirs in SCORES:
        np.testing.assert_allclose(
            ours(y_true, y_pred, average=average),
            theirs(y_true, y_pred, average=average, **sklearn_kwargs(n)),
            rtol=RTOL,
        )


@given(label_pairs())
@settings(max_examples=200, deadline=None)
def test_report_dict_matches_sklearn(data: tuple[np.ndarray, np.ndarray, int]) -> None:
    y_true, y_pred, n = data
    ours = classification_report(y_true, y_pred, n_classes=n, output_dict=True)
    theirs = skm.classification_report(
        y_true, y_pred, output_dict=True, **sklearn_kwargs(n)
    )
    assert isinstance(ours, dict)
    assert_reports_equal(ours, theirs)


@given(
    data=label_pairs(),
    digits=st.integers(0, 6),
    prefix=st.text(alphabet="abcxyz_ ", max_size=16),
)
@settings(max_examples=200, deadline=None)
def test_report_text_matches_sklearn(
    data: tuple[np.ndarray, np.ndarray, int], digits: int, prefix: str
) -> None:
    # The names vary in length (so the width of the first column varies), and digits
    # varies.
    y_true, y_pred, n = data
    names = [f"{prefix}{k}" for k in range(n)]
    text = classification_report(
        y_true, y_pred, target_names=names, n_classes=n, digits=digits
    )
    # The report must show each class name and its numbers, formatted to `digits`
    # decimals, exactly as scikit-learn does. (Exact equality works because both compute
    # each value with the same float operations; should that ever change, a value within
    # 1e-16 of a rounding boundary could print differently -- compare the numbers with
    # the dict test instead.)
    expected = skm.classification_report(
        y_true, y_pred, target_names=names, digits=digits, **sklearn_kwargs(n)
    )
    # Quirk: when no prediction is correct, scikit-learn's supports come out as floats
    # and are printed as e.g. "1.0". Ours are always integers; turn its last column back
    # into ints.
    expected = re.sub(
        r" +(\d+)\.0$", lambda m: f" {m[1]:>9}", expected, flags=re.MULTILINE
    )
    assert text == expected
    report = classification_report(
        y_true, y_pred, target_names=names, n_classes=n, output_dict=True
    )
    for name in names:
        row = report[name]
        numbers = " ".join(
            f"{row[m]:>9.{digits}f}" for m in ("precision", "recall", "f1-score")
        )
        assert (
            f"{name:>{max(len(names[-1]), 12)}}  {numbers} {row['support']:>9}\n"
            in text
        )


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint64]
)
def test_small_integer_dtypes_do_not_overflow(dtype: type[np.integer]) -> None:
    # With 20 classes the cell index 20 * y_true + y_pred reaches 399, which overflows
    # 8-bit integers unless the labels are widened first.
    y_true = np.arange(20).astype(dtype)
    y_pred = y_true[::-1].copy()
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred), np.eye(20, dtype=int)[::-1]
    )
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred),
        confusion_matrix(y_true.astype(int), y_pred.astype(int)),
    )


# --------------------------------------------------------------------------------------
# Input errors
# --------------------------------------------------------------------------------------

ALL_FUNCTIONS = [
    accuracy,
    confusion_matrix,
    precision,
    recall,
    f1_score,
    classification_report,
]
ALL_IDS = [f.__name__ for f in ALL_FUNCTIONS]


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=ALL_IDS)
def test_every_function_rejects_float_labels(func: Any) -> None:
    with pytest.raises(
        TypeError, match=r"y_true must hold integer class labels, got dtype float64"
    ):
        func(np.array([0.0, 1.0]), np.array([0, 1]))


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=ALL_IDS)
def test_every_function_rejects_mismatched_lengths(func: Any) -> None:
    with pytest.raises(ValueError, match=r"same length, got 3 and 2 labels"):
        func([0, 1, 1], [0, 1])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "error", "match"),
    [
        (
            [0.0, 1.0, 2.0],
            [0, 1, 2],
            TypeError,
            r"y_true must hold integer class labels, got dtype float64 \(cast with",
        ),
        (
            [0, 1, 2],
            np.array([0, 1, 2], dtype=np.float32),
            TypeError,
            r"y_pred must hold integer class labels, got dtype float32 \(cast with",
        ),
        (
            [True, False],
            [1, 0],
            TypeError,
            r"y_true must hold integer class labels, got dtype bool",
        ),
        (
            [1, 0],
            [True, False],
            TypeError,
            r"y_pred must hold integer class labels, got dtype bool",
        ),
        (
            ["a", "b"],
            [0, 1],
            TypeError,
            r"y_true must hold integer class labels, got dtype <U1",
        ),
        (
            [[0, 1], [1, 0]],
            [0, 1],
            ValueError,
            r"y_true must be a 1-D array .* shape \(2, 2\)",
        ),
        ([0, 1], 1, ValueError, r"y_pred must be a 1-D array .* shape \(\)"),
        (
            [],
            [0],
            ValueError,
            r"y_true must contain at least one label, got an empty array",
        ),
        (
            [0],
            np.array([], dtype=int),
            ValueError,
            r"y_pred must contain at least one label",
        ),
        ([0, 1, 2], [0, 1], ValueError, r"same length, got 3 and 2 labels"),
        (
            [0, -1, 2],
            [0, 1, 2],
            ValueError,
            r"y_true must be in \[0, 3\), got label -1 at index 1",
        ),
        (
            [0, 1, 2],
            [0, 1, -3],
            ValueError,
            r"y_pred must be in \[0, 3\), got label -3 at index 2",
        ),
    ],
)
def test_invalid_labels(
    y_true: Any, y_pred: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        confusion_matrix(y_true, y_pred)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        (
            [0, 3, 1],
            [0, 1, 1],
            r"y_true must be in \[0, 3\), got label 3 at index 1",
        ),
        (
            [0, 1, 1],
            [0, 1, 5],
            r"y_pred must be in \[0, 3\), got label 5 at index 2",
        ),
        (
            [-2, 1, 1],
            [0, 1, 1],
            r"y_true must be in \[0, 3\), got label -2 at index 0",
        ),
    ],
)
def test_labels_outside_n_classes(
    y_true: list[int], y_pred: list[int], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        confusion_matrix(y_true, y_pred, n_classes=3)
    with pytest.raises(ValueError, match=match):
        f1_score(y_true, y_pred, n_classes=3, average="macro")


@pytest.mark.parametrize(
    ("n_classes", "error", "match"),
    [
        (0, ValueError, r"n_classes must be an integer >= 1, got 0"),
        (-2, ValueError, r"n_classes must be an integer >= 1, got -2"),
        (
            3.0,
            TypeError,
            r"n_classes must be an integer >= 1, got 3\.0 of type float",
        ),
        (
            True,
            TypeError,
            r"n_classes must be an integer >= 1, got True of type bool",
        ),
    ],
)
def test_invalid_n_classes(n_classes: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        confusion_matrix([0, 1], [1, 0], n_classes=n_classes)
    with pytest.raises(error, match=match):
        classification_report([0, 1], [1, 0], n_classes=n_classes)


def test_numpy_integer_n_classes_is_accepted() -> None:
    assert confusion_matrix([0, 1], [1, 0], n_classes=np.int64(3)).shape == (3, 3)


@pytest.mark.parametrize("func", [precision, recall, f1_score], ids=SCORE_IDS)
@pytest.mark.parametrize("average", ["binary", "samples", "Macro", "", ["macro"]])
def test_invalid_average(func: Any, average: Any) -> None:
    match = r"average must be one of None, 'macro', 'micro', 'weighted', got " + repr(
        average
    )
    with pytest.raises(ValueError, match=match.replace("[", r"\[").replace("]", r"\]")):
        func([0, 1], [1, 0], average=average)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"target_names": ["a", "b"]},
            ValueError,
            r"target_names must have one name per class \(n_classes = 3\), got 2 names",
        ),
        (
            {"target_names": ["a", "b", "a"]},
            ValueError,
            r"target_names must be distinct, got \['a', 'b', 'a'\]",
        ),
        (
            {"target_names": ["a", "b", 2]},
            TypeError,
            r"target_names must be a list of strings",
        ),
        (
            {"target_names": "abc"},
            TypeError,
            r"target_names must be a list of strings, got 'abc'",
        ),
        (
            {"target_names": ["a", "accuracy", "c"], "output_dict": True},
            ValueError,
            r"target_names must not use the summary keys",
        ),
        ({"digits": -1}, ValueError, r"digits must be an integer >= 0, got -1"),
        (
            {"digits": 2.5},
            TypeError,
            r"digits must be an integer >= 0, got 2\.5 of type float",
        ),
    ],
)
def test_invalid_report_arguments(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        classification_report([0, 1, 2], [0, 2, 1], **kwargs)


def test_summary_key_names_are_fine_in_text_report() -> None:
    # Only the dict output would have clashing keys; a text table can show any name.
    text = classification_report(
        [0, 1, 2], [0, 2, 1], target_names=["a", "accuracy", "c"]
    )
    assert "    accuracy      0.000     0.000     0.000         1\n" in text


def test_accuracy_does_not_build_a_confusion_matrix() -> None:
    """One stray large label must not cost a K×K matrix (200000: ~300 GiB)."""
    import tracemalloc

    y_true, y_pred = np.array([0, 1, 2, 3]), np.array([0, 1, 3000, 3])
    tracemalloc.start()
    try:
        result = accuracy(y_true, y_pred)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result == skm.accuracy_score(y_true, y_pred) == 0.75
    assert peak < 1_000_000, (
        f"accuracy allocated {peak:,} bytes for 4 labels"
    )  # K×K: 72 MB
    assert accuracy([0, 1], [0, 200000]) == 0.5


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_classification_report_with_labels_matches_sklearn(data) -> None:
    """``labels=`` picks and orders the rows as in scikit-learn, including a micro
    average row when some sample's class is not among them (EMNIST letters: labels
    1..26, no class 0)."""
    n_classes = data.draw(st.integers(2, 6))
    n = data.draw(st.integers(1, 40))
    y_true = np.array(
        data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    )
    y_pred = np.array(
        data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    )
    labels = data.draw(
        st.lists(
            st.integers(0, n_classes - 1), min_size=1, max_size=n_classes, unique=True
        )
    )
    names = [f"class {c}" for c in labels]
    ours = classification_report(
        y_true,
        y_pred,
        n_classes=n_classes,
        labels=labels,
        target_names=names,
        output_dict=True,
    )
    theirs = skm.classification_report(
        y_true,
        y_pred,
        labels=labels,
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, dict):
            for metric, number in value.items():
                assert ours[key][metric] == pytest.approx(
                    number, rel=1e-12, abs=1e-12
                ), (key, metric)
        else:
            assert ours[key] == pytest.approx(value, rel=1e-12)
    # The text table has the same rows in the same order (scikit-learn prints support as
    # a float when labels are given, so the texts themselves are not compared).
    text = classification_report(
        y_true, y_pred, n_classes=n_classes, labels=labels, target_names=names
    )
    width = max(len(name) for name in [*names, "weighted avg"])  # the first column
    row_names = [line[:width].strip() for line in text.splitlines()[1:] if line.strip()]
    assert row_names == list(theirs)


def test_report_labels_may_name_a_class_absent_from_both_arrays() -> None:
    """Without n_classes, a requested label above every seen one is a class of support
    0, as in scikit-learn (not an out-of-range error)."""
    y_true, y_pred = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])
    ours = classification_report(y_true, y_pred, labels=[0, 1, 2, 3], output_dict=True)
    theirs = skm.classification_report(
        y_true, y_pred, labels=[0, 1, 2, 3], output_dict=True, zero_division=0
    )
    assert ours["3"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
    for key in ("macro avg", "weighted avg"):
        for metric in ("precision", "recall", "f1-score"):
            assert ours[key][metric] == pytest.approx(theirs[key][metric], rel=1e-12)


# --------------------------------------------------------------------------------------
# per_class_scores: the one function behind every per-class number
# --------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_per_class_scores_match_sklearn_for_any_labels(data) -> None:
    """Per-class scores and both averages over any ordered subset of the classes equal
    scikit-learn's ``precision_recall_fscore_support(labels=...)``."""
    y_true, y_pred, n = data.draw(label_pairs())
    labels = data.draw(
        st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)
    )
    scores = per_class_scores(confusion_matrix(y_true, y_pred, n_classes=n), labels)
    theirs = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    for ours, expected in zip(scores, theirs, strict=True):
        np.testing.assert_allclose(ours, expected, rtol=RTOL)
    assert scores.support.dtype == np.int64
    for average, ours in (("macro", scores.macro()), ("weighted", scores.weighted())):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        np.testing.assert_allclose(ours, (p, r, f), rtol=RTOL, atol=1e-15)


def test_per_class_scores_by_hand() -> None:
    scores = per_class_scores(CM)
    np.testing.assert_allclose(scores.precision, PRECISION, rtol=RTOL)
    np.testing.assert_allclose(scores.recall, RECALL, rtol=RTOL)
    np.testing.assert_allclose(scores.f1, F1, rtol=RTOL)
    np.testing.assert_array_equal(scores.support, [3, 2, 3])
    np.testing.assert_allclose(scores.macro(), EXPECTED_AVERAGES["macro"], rtol=RTOL)
    # Rows picked and ordered by `labels`; averages over those rows only.
    picked = per_class_scores(CM, [2, 0])
    np.testing.assert_allclose(picked.precision, [2 / 3, 1], rtol=RTOL)
    np.testing.assert_allclose(picked.macro()[0], (2 / 3 + 1) / 2, rtol=RTOL)
    # A class nobody belongs to has support 0: the weighted mean is 0, not NaN.
    assert per_class_scores([[0, 3], [0, 0]], [0]).weighted() == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([0, 0], ValueError, r"labels must be distinct, got \[0, 0\]"),
        ([], ValueError, r"labels must name at least one class"),
        ([0, 5], ValueError, r"labels must be in \[0, 3\), got label 5 at index 1"),
        ([0.0, 1.0], TypeError, r"labels must hold integer class labels"),
    ],
)
def test_invalid_report_labels(
    labels: list[Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        classification_report([0, 1, 2], [0, 2, 1], n_classes=3, labels=labels)


def test_accuracy_interval_is_the_wilson_score_interval() -> None:
    """Equal to SciPy's Wilson interval of a binomial proportion; near the normal
    approximation a ± 1.96 sqrt(a(1-a)/N) for a large N; inside [0, 1] always."""
    from scipy.stats import binomtest

    for correct, n in [(320, 400), (10, 10), (0, 7), (5, 9), (16_123, 18_800)]:
        scipy = binomtest(correct, n).proportion_ci(method="wilson")
        ours = accuracy_interval(correct / n, n, z=1.959963984540054)
        assert ours == pytest.approx((scipy.low, scipy.high), rel=1e-9, abs=1e-12)
    low, high = accuracy_interval(0.8, 100_000)
    assert (low, high) == pytest.approx((0.8 - 0.00248, 0.8 + 0.00248), abs=5e-5)
    assert accuracy_interval(1.0, 10)[1] == 1.0 and accuracy_interval(1.0, 10)[0] < 1
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        accuracy_interval(0.5, 0)
    with pytest.raises(ValueError, match=r"accuracy must be in \[0, 1\]"):
        accuracy_interval(1.5, 10)


def test_docstring_examples_run() -> None:
    import doctest

    from nnlib import metrics

    result = doctest.testmod(metrics, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0

"""Tests for the regression metrics (``nnlib.regression_metrics``, re-exported by
``nnlib.metrics``): a hand example, property tests against scikit-learn for one and
several outputs, the constant-target convention, and the input errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib import metrics
from nnlib.metrics import mean_absolute_error, mean_squared_error, r2_score

# The same float64 operations as scikit-learn's in the same order: results agree to the
# last bit or two. rtol=1e-12 allows that rounding, nothing a real mistake would give.
RTOL = 1e-12

OURS_AND_THEIRS = [
    (mean_squared_error, skm.mean_squared_error),
    (mean_absolute_error, skm.mean_absolute_error),
    (r2_score, skm.r2_score),
]
IDS = ["mse", "mae", "r2"]


@st.composite
def target_pairs(draw: st.DrawFn, min_samples: int = 1) -> tuple[np.ndarray, ...]:
    """``(y_true, y_pred)`` of shape ``(N,)`` or ``(N, D)``, float64 or int64 values.

    Values are drawn from a few "round" numbers as well as from an interval, so that
    ties, exact predictions and constant columns (R² = 0/0) occur often.
    """
    n = draw(st.integers(min_samples, 30))
    shape = (n,) if draw(st.booleans()) else (n, draw(st.integers(1, 4)))
    values = st.one_of(
        st.sampled_from([-2.0, 0.0, 0.5, 3.0]),
        st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    )
    y_true = draw(hnp.arrays(np.float64, shape, elements=values))
    if draw(st.booleans()):  # predictions near the targets, some exactly equal
        noise = draw(hnp.arrays(np.float64, shape, elements=values))
        y_pred = y_true + np.where(noise > 0, noise * 1e-3, 0.0)
    else:
        y_pred = draw(hnp.arrays(np.float64, shape, elements=values))
    if draw(st.booleans()):
        y_true, y_pred = np.rint(y_true).astype(np.int64), np.rint(y_pred)
    return y_true, y_pred


def test_hand_example() -> None:
    # errors y - ŷ = [0.5, -0.5, 0, -1]: squares 0.25, 0.25, 0, 1 -> MSE 1.5/4 = 0.375;
    # absolute 0.5, 0.5, 0, 1 -> MAE 2/4 = 0.5. Mean of y = 11.5/4 = 2.875; squared
    # deviations 0.015625, 11.390625, 0.765625, 17.015625 sum to 29.1875, so
    # R² = 1 - 1.5/29.1875 = 0.94860...
    y, y_hat = [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]
    assert mean_squared_error(y, y_hat) == 0.375
    assert mean_absolute_error(y, y_hat) == 0.5
    assert r2_score(y, y_hat) == pytest.approx(1 - 1.5 / 29.1875, rel=RTOL)


@pytest.mark.parametrize("multioutput", ["uniform_average", "raw_values"])
@pytest.mark.parametrize(("ours", "theirs"), OURS_AND_THEIRS, ids=IDS)
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_equals_sklearn(ours: Any, theirs: Any, multioutput: str, data: Any) -> None:
    y_true, y_pred = data.draw(target_pairs(min_samples=2 if ours is r2_score else 1))
    result = ours(y_true, y_pred, multioutput=multioutput)
    expected = theirs(y_true, y_pred, multioutput=multioutput)
    if multioutput == "raw_values":
        assert isinstance(result, np.ndarray) and result.dtype == np.float64
        assert result.shape == (1 if y_true.ndim == 1 else y_true.shape[1],)
    else:
        assert isinstance(result, float)
    np.testing.assert_allclose(result, expected, rtol=RTOL, atol=1e-300)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_r2_variance_weighted_equals_sklearn(data: Any) -> None:
    y_true, y_pred = data.draw(target_pairs(min_samples=2))
    result = r2_score(y_true, y_pred, multioutput="variance_weighted")
    expected = skm.r2_score(y_true, y_pred, multioutput="variance_weighted")
    np.testing.assert_allclose(result, expected, rtol=RTOL, atol=1e-300)


def test_r2_of_constant_targets_follows_sklearn() -> None:
    """0/0 (perfect predictions of a constant) is 1; x/0 (imperfect ones) is 0."""
    y = np.array([[2.0, 1.0], [2.0, 3.0], [2.0, 5.0]])  # column 0 is constant
    perfect_then_off = np.array([[2.0, 1.5], [2.0, 3.0], [2.0, 4.5]])
    off_then_perfect = np.array([[1.0, 1.0], [2.0, 3.0], [2.0, 5.0]])
    np.testing.assert_array_equal(
        r2_score(y, perfect_then_off, multioutput="raw_values"), [1.0, 1 - 0.5 / 8]
    )
    np.testing.assert_array_equal(
        r2_score(y, off_then_perfect, multioutput="raw_values"), [0.0, 1.0]
    )
    for y_pred in (perfect_then_off, off_then_perfect):
        for how in ("raw_values", "uniform_average", "variance_weighted"):
            np.testing.assert_array_equal(
                r2_score(y, y_pred, multioutput=how),
                skm.r2_score(y, y_pred, multioutput=how),
            )


def test_one_output_as_a_column_equals_one_output_as_a_vector() -> None:
    y, y_hat = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    for metric in (mean_squared_error, mean_absolute_error, r2_score):
        assert (
            metric(y[:, None], y_hat) == metric(y, y_hat[:, None]) == metric(y, y_hat)
        )


def test_metrics_module_reexports_them() -> None:
    assert {"mean_squared_error", "mean_absolute_error", "r2_score"} <= set(
        metrics.__all__
    )


@pytest.mark.parametrize(
    ("y_true", "y_pred", "error", "match"),
    [
        ([1.0, 2.0], [1.0], ValueError, r"same shape, got \(2,\) and \(1,\)"),
        ([[1.0, 2.0]], [[1.0, 2.0, 3.0]], ValueError, "same shape"),
        ([], [], ValueError, r"y_true must have shape \(N,\) .* got shape \(0,\)"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), ValueError, "N >= 1, got shape"),
        ([1.0, np.nan], [1.0, 2.0], ValueError, "y_true contains NaN or inf"),
        ([1.0, 2.0], [np.inf, 2.0], ValueError, "y_pred contains NaN or inf"),
        ([True, False], [1.0, 0.0], TypeError, "y_true must hold real numbers"),
        ([1.0, 2.0], ["a", "b"], TypeError, "y_pred must hold real numbers"),
    ],
)
@pytest.mark.parametrize("metric", [mean_squared_error, mean_absolute_error, r2_score])
def test_bad_input_is_a_clear_error(
    metric: Any, y_true: Any, y_pred: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        metric(y_true, y_pred)


@pytest.mark.parametrize("metric", [mean_squared_error, mean_absolute_error])
def test_variance_weighting_is_only_for_r2(metric: Any) -> None:
    with pytest.raises(ValueError, match="multioutput must be one of"):
        metric([1.0, 2.0], [1.0, 2.0], multioutput="variance_weighted")
    with pytest.raises(ValueError, match="multioutput must be one of"):
        r2_score([1.0, 2.0], [1.0, 2.0], multioutput="mean")


def test_r2_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="at least 2 samples, got 1"):
        r2_score([1.0], [1.0])


def test_docstring_examples_run() -> None:
    import doctest

    from nnlib import regression_metrics

    result = doctest.testmod(regression_metrics)
    assert result.attempted == 3 and result.failed == 0

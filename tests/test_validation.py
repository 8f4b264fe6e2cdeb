"""Tests for :mod:`nnlib._validation`, the input checks every module relies on.

Each check must accept good input unchanged and reject bad input with an exception whose
message names the argument and what was wrong with it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlib._validation import (
    as_model_input,
    check_float_array,
    check_inputs,
    check_labels,
    check_number,
    check_positive_int,
)

# ------------------------------------------------------------------- check_positive_int


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(200)])
def test_positive_int_accepts_integers_from_one_up(value):
    """Python and NumPy integers >= 1 come back as a plain
    ``int`` with the same value."""
    out = check_positive_int(value, "n")
    assert out == int(value)
    assert type(out) is int


@pytest.mark.parametrize("value", [0, -3])
def test_positive_int_rejects_values_below_one(value):
    """Zero and negatives are a ValueError naming the argument and the value."""
    with pytest.raises(
        ValueError, match=rf"batch_size must be an integer >= 1, got {value}"
    ):
        check_positive_int(value, "batch_size")


@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_positive_int_rejects_non_integers(value):
    """A bool, a float (even 2.0), a string or None is a TypeError naming the argument
    and type."""
    with pytest.raises(
        TypeError,
        match=rf"epochs must be an integer >= 1, got .* of type {type(value).__name__}",
    ):
        check_positive_int(value, "epochs")


# ---------------------------------------------------------------------- check_number


def test_number_accepts_values_inside_the_interval_and_returns_float():
    """Both closed ends are allowed by default and the result is a Python float."""
    assert check_number(0, "x", low=0.0, high=1.0) == 0.0
    assert check_number(np.float32(1.0), "x", low=0.0, high=1.0) == 1.0
    assert type(check_number(np.int64(2), "x")) is float


@pytest.mark.parametrize(
    ("value", "kwargs", "interval"),
    [
        (0.0, {"low": 0.0, "low_inclusive": False}, r"\(0\.0, inf\]"),
        (1.0, {"low": 0.0, "high": 1.0, "high_inclusive": False}, r"\[0\.0, 1\.0\)"),
        (-0.5, {"low": 0.0}, r"\[0\.0, inf\]"),
        (2.0, {"high": 1.0}, r"\[-inf, 1\.0\]"),
    ],
)
def test_number_rejects_values_outside_the_interval(value, kwargs, interval):
    """Out-of-range values (including an excluded end point) name the interval in the
    message."""
    with pytest.raises(
        ValueError, match=rf"lr must be a finite number in {interval}, got {value}"
    ):
        check_number(value, "lr", **kwargs)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_number_rejects_nan_and_inf_even_without_bounds(value):
    """NaN compares False with everything, so it needs (and gets) its own check."""
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        check_number(value, "alpha")


@pytest.mark.parametrize("value", [True, "0.1", None, [0.1]])
def test_number_rejects_non_numbers(value):
    """A bool is not a number here (True would silently become 1.0); nor is a string or
    a list."""
    with pytest.raises(TypeError, match="momentum must be a number"):
        check_number(value, "momentum")


# -------------------------------------------------------------------- check_float_array


def test_float_array_returns_float_input_unchanged():
    """A valid float array is returned as is (same object: no copy is made)."""
    x = np.ones((2, 3), dtype=np.float32)
    assert check_float_array(x, "x", ndim=2) is x


def test_float_array_rejects_uint8_with_a_hint_to_scale():
    """Raw uint8 pixels are a TypeError that tells the learner how to convert them."""
    with pytest.raises(
        TypeError, match=r"x must be a floating-point array, got dtype uint8 \(scale"
    ):
        check_float_array(np.zeros((2, 2), dtype=np.uint8), "x")


@pytest.mark.parametrize("dtype", [np.int64, bool])
def test_float_array_rejects_integer_and_bool_arrays(dtype):
    """Labels passed where inputs are expected are caught by their dtype."""
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        check_float_array(np.zeros(3, dtype=dtype), "x")


def test_float_array_checks_rank():
    """With ``ndim`` given, an array of another rank is a ValueError that shows the
    shape."""
    with pytest.raises(ValueError, match=r"x must be a 2-D array, got shape \(3,\)"):
        check_float_array(np.zeros(3), "x", ndim=2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_array_reports_the_first_non_finite_entry(bad):
    """The message gives the index of the first NaN/inf, so the learner can find it."""
    x = np.zeros((3, 4))
    x[1, 2] = bad
    x[2, 3] = bad
    with pytest.raises(
        ValueError, match=r"x contains NaN or inf \(first at index \(1, 2\)"
    ):
        check_float_array(x, "x")


# ---------------------------------------------------------------------- check_inputs


def test_inputs_must_fit_the_model_dtype():
    """Each batch is cast to the model's dtype later, so values that would overflow
    it are refused now; the largest finite value of the dtype is still accepted."""
    f32 = np.dtype(np.float32)
    edge = np.array([[np.finfo(np.float32).max, -1.0]])
    assert check_inputs(edge, "x", f32) is edge
    assert check_inputs(np.array([[1e39]]), "x", np.dtype(np.float64)).shape == (1, 1)
    with pytest.raises(ValueError, match=r"x has values too large for the model's "):
        check_inputs(np.array([[0.0, -1e39]]), "x", f32)
    with pytest.raises(ValueError, match=r"dtype float16 \(largest magnitude 70000\)"):
        check_inputs(np.array([[7e4]], dtype=np.float32), "x", np.dtype(np.float16))


# ---------------------------------------------------------------------- check_labels


def test_labels_accepts_integer_labels_in_range():
    """Valid labels of any integer dtype are returned unchanged."""
    y = np.array([0, 2, 1], dtype=np.uint8)
    assert check_labels(y, "y", n=3, n_classes=3) is y


@pytest.mark.parametrize("y", [np.array([0.0, 1.0]), np.array([True, False])])
def test_labels_rejects_float_and_bool_labels(y):
    """Float labels (even whole numbers) and booleans are a TypeError suggesting the
    cast."""
    with pytest.raises(
        TypeError, match=r"y must hold integer class labels, got dtype .*astype"
    ):
        check_labels(y, "y")


def test_labels_must_be_one_dimensional():
    """One-hot or column-vector labels are rejected with their shape."""
    with pytest.raises(
        ValueError, match=r"y must be a 1-D array of class labels, got shape \(2, 1\)"
    ):
        check_labels(np.array([[0], [1]]), "y")


def test_labels_count_must_match_the_outputs():
    """The number of labels must equal the number of output rows."""
    with pytest.raises(ValueError, match="y has 2 labels but the outputs have 3 rows"):
        check_labels(np.array([0, 1]), "y", n=3)


@pytest.mark.parametrize(("labels", "bad"), [([0, 3, 1], 3), ([-1, 0], -1)])
def test_labels_must_be_valid_class_indices(labels, bad):
    """A label >= n_classes or < 0 is a ValueError naming the allowed range and the bad
    label."""
    with pytest.raises(ValueError, match=rf"y must be in \[0, 3\), got label {bad}"):
        check_labels(np.array(labels), "y", n_classes=3)


# ---------------------------------------------------------------------- as_model_input


def test_model_input_scales_uint8_images_to_unit_interval_in_the_requested_dtype():
    """uint8 (N, 2, 2) images become (N, 4) float32 in [0, 1]: 0 -> 0, 255 -> 1, 51 ->
    0.2."""
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = as_model_input(images, np.dtype(np.float32))
    assert (
        out.dtype == np.float32
    )  # computed in float32: no float64 intermediate leaks out
    assert out.shape == (1, 4)
    # 51/255 = 0.2 exactly in real numbers; float32 rounding allows ~1e-7 relative
    # error.
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-6)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_model_input_casts_floats_without_copying_when_the_dtype_matches():
    """Floats are cast to the model dtype, without a copy when they already match."""
    x64 = np.linspace(0, 1, 6).reshape(2, 3)
    out = as_model_input(x64, np.dtype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x64, rtol=1e-7)  # float32 rounding only
    x32 = x64.astype(np.float32)
    assert as_model_input(x32, np.dtype(np.float32)) is x32


def test_model_input_rejects_other_integer_types():
    """int64 arrays are neither images nor features: a TypeError, not a silent cast."""
    with pytest.raises(
        TypeError,
        match="x must be a floating-point array or uint8 images, got dtype int64",
    ):
        as_model_input(np.zeros((2, 3), dtype=np.int64), np.dtype(np.float32))

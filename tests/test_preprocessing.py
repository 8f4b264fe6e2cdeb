"""Tests for ``nnlib.preprocessing``: images to float32, the validation split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.emnist import EMNIST
from nnlib.preprocessing import to_float32, train_val_split


def test_to_float32() -> None:
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = to_float32(images)
    assert out.dtype == np.float32 and out.shape == (1, 4)
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        to_float32(images.astype(np.float64))
    with pytest.raises(ValueError, match=r"shape \(N, \.\.\.\)"):
        to_float32(np.zeros(3, dtype=np.uint8))


def test_split_is_stratified_and_a_partition(balanced: EMNIST) -> None:
    y = balanced.y_train
    ids = np.arange(len(y))
    id_tr, y_tr, id_val, y_val = train_val_split(ids, y, val_fraction=0.2, rng=0)
    assert np.array_equal(np.sort(np.concatenate([id_tr, id_val])), ids)
    np.testing.assert_array_equal(y[id_tr], y_tr)
    np.testing.assert_array_equal(y[id_val], y_val)
    for label in np.unique(y):
        n_class = np.count_nonzero(y == label)
        assert abs(np.count_nonzero(y_val == label) - 0.2 * n_class) <= 1


def test_split_keeps_uint8_and_copies(balanced: EMNIST) -> None:
    x_tr, y_tr, x_val, y_val = train_val_split(
        balanced.x_train, balanced.y_train, rng=1
    )
    assert x_tr.dtype == x_val.dtype == np.uint8
    assert y_tr.dtype == y_val.dtype == np.int64
    assert x_tr.shape[1:] == x_val.shape[1:] == (28, 28)
    assert len(x_tr) + len(x_val) == len(balanced.x_train)
    assert not np.shares_memory(x_tr, balanced.x_train)


def test_split_is_deterministic_given_rng(balanced: EMNIST) -> None:
    x, y = balanced.x_test, balanced.y_test
    first = train_val_split(x, y, rng=42)
    again = train_val_split(x, y, rng=np.random.default_rng(42))
    other = train_val_split(x, y, rng=43)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 6), min_size=1, max_size=300),
    val_fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_property(labels: list[int], val_fraction: float, seed: int) -> None:
    y = np.array(labels, dtype=np.int64)
    ids = np.arange(len(y))
    id_tr, _, id_val, y_val = train_val_split(
        ids, y, val_fraction=val_fraction, rng=seed
    )
    assert np.array_equal(np.sort(np.concatenate([id_tr, id_val])), ids)
    # each part keeps the original order
    assert np.all(np.diff(id_tr) > 0) and np.all(np.diff(id_val) > 0)
    for label in np.unique(y):
        n_class = np.count_nonzero(y == label)
        n_val = np.count_nonzero(y_val == label)
        assert abs(n_val - val_fraction * n_class) <= 0.5 + 1e-9


@pytest.mark.parametrize("val_fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fractions(val_fraction: float) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(np.zeros((4, 2)), np.arange(4), val_fraction=val_fraction)


def test_split_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        train_val_split(np.zeros((4, 2)), np.arange(5))


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.array([0.0, 1.0, 1.0, 0.0]), TypeError, "y must hold integer class labels"),
        (np.zeros((4, 1), dtype=int), ValueError, "y must be a 1-D array"),
    ],
)
def test_split_labels_are_checked_like_every_label_array(
    y: np.ndarray, error: type[Exception], match: str
) -> None:
    """The package's one label validator (``_validation.check_labels``) checks them:
    float labels are a TypeError, as in ``fit`` and the metrics."""
    with pytest.raises(error, match=match):
        train_val_split(np.zeros((4, 2)), y)

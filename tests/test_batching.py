"""Tests for :mod:`nnlib.batching`: ``iterate_minibatches``.

Every sample is visited exactly once per pass, shuffling is reproducible from a seed,
uint8 images come out as float32 in [0, 1] (never float64), and bad arguments are
rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.batching import iterate_minibatches


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 50),
    batch_size=st.integers(1, 20),
    shuffle=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_every_sample_exactly_once_with_matching_labels(n, batch_size, shuffle, seed):
    """Whatever n and batch size, the batches partition the data set: ceil(n/B) batches,
    all of size B except possibly the last, each x row still paired with its own label.
    """
    x = np.arange(n, dtype=np.float64).reshape(n, 1) * 10.0
    y = np.arange(n)
    batches = list(iterate_minibatches(x, y, batch_size, shuffle=shuffle, rng=seed))
    assert len(batches) == -(-n // batch_size)
    sizes = [len(yb) for _, yb in batches]
    assert all(s == batch_size for s in sizes[:-1]) and 1 <= sizes[-1] <= batch_size
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(n))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb * 10.0)  # pairs are not scrambled


def test_without_shuffle_the_order_is_kept():
    """shuffle=False yields the samples in order, the last batch holding the rest."""
    x, y = np.zeros((7, 2), dtype=np.float32), np.arange(7)
    assert [yb.tolist() for _, yb in iterate_minibatches(x, y, 3, shuffle=False)] == [
        [0, 1, 2],
        [3, 4, 5],
        [6],
    ]


def test_shuffling_is_reproducible_and_seed_dependent():
    """The same seed gives the same order; another seed a different one."""
    x, y = np.zeros((100, 1), dtype=np.float32), np.arange(100)

    def order(seed):
        return np.concatenate([yb for _, yb in iterate_minibatches(x, y, 10, rng=seed)])

    assert np.array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    assert not np.array_equal(order(1), y)  # it does shuffle


def test_uint8_images_become_float32_in_unit_interval():
    """(N, 4, 4) uint8 images come out as (B, 16) float32, 0 → 0.0 and 255 → 1.0
    exactly."""
    images = np.random.default_rng(0).integers(0, 256, size=(10, 4, 4), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    batches = list(iterate_minibatches(images, np.arange(10), 4, shuffle=False))
    for xb, _ in batches:
        assert xb.dtype == np.float32  # no silent float64 upcast
        assert xb.shape[1] == 16
        assert xb.min() >= 0.0 and xb.max() <= 1.0
    first = batches[0][0]
    assert first[0, 0] == 0.0 and first[0, 1] == 1.0
    # Same values as dividing by 255 (up to float32 rounding, ~6e-8 relative).
    np.testing.assert_allclose(first, images[:4].reshape(4, 16) / 255.0, rtol=1e-6)


def test_float_inputs_are_cast_to_the_requested_dtype():
    """Float64 features become float32 by default, or stay float64 when asked."""
    x = np.random.default_rng(0).standard_normal((6, 3))
    ((xb, _),) = iterate_minibatches(x, np.arange(6), 6, shuffle=False)
    assert xb.dtype == np.float32
    ((xb64, _),) = iterate_minibatches(
        x, np.arange(6), 6, shuffle=False, dtype=np.float64
    )
    assert np.array_equal(xb64, x)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_batch_size_below_one_is_rejected(batch_size):
    """batch_size < 1 is a ValueError naming batch_size."""
    with pytest.raises(
        ValueError, match=rf"batch_size must be an integer >= 1, got {batch_size}"
    ):
        next(iterate_minibatches(np.zeros((3, 2)), np.zeros(3), batch_size))


def test_mismatched_lengths_are_rejected():
    """x and y of different lengths are refused with both lengths."""
    with pytest.raises(ValueError, match="x has 3 samples but y has 4"):
        next(iterate_minibatches(np.zeros((3, 2)), np.zeros(4), 2))

"""Mini-batches: shuffle once per epoch, slice, and scale images one batch at a time."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._validation import as_model_input, check_positive_int


def iterate_minibatches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x_batch, y_batch)`` pairs covering every sample exactly once.

    ``x`` may be uint8 images ``(N, 28, 28)``, kept as uint8 in memory and turned into
    ``(B, 784)`` float32 in [0, 1] only one batch at a time (1/4 of the memory of a
    float32 copy of the whole set), or a float array ``(N, features)`` used as given
    (cast to ``dtype``). The last batch may be smaller than ``batch_size``. Arguments
    are checked at the call, not at the first batch.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    order = np.random.default_rng(rng).permutation(len(x)) if shuffle else None
    return _batches(x, y, batch_size, order, np.dtype(dtype))


def _batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    order: np.ndarray | None,
    dtype: np.dtype,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The generator behind ``iterate_minibatches`` (arguments already checked)."""
    for start in range(0, len(x), batch_size):
        idx: slice | np.ndarray
        if order is None:
            idx = slice(start, start + batch_size)  # a view: no copy
        else:
            # Sorting the indices of a batch makes the gather read memory in order;
            # the batch holds the same samples, so the gradient is unchanged.
            idx = np.sort(order[start : start + batch_size])
        yield as_model_input(x[idx], dtype, "x"), y[idx]

"""Preparing loaded images for a network: scaling to float32, a validation split.

Both work on any ``(N, ...)`` arrays; :mod:`nnlib.batching` then cuts the result into
mini-batches (scaling ``uint8`` images one batch at a time, so a whole data set never
has to sit in memory as float32).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_model_input, check_labels


def to_float32(images: np.ndarray) -> np.ndarray:
    """Flatten ``uint8`` images to ``(N, 784)`` float32 values in ``[0, 1]``.

    Computes ``images * float32(1/255)`` directly in float32. Beware of the obvious
    ``images / 255.0``: dividing by a Python float silently gives float64, twice the
    memory and a slower network for no gain.

    Parameters
    ----------
    images : ``uint8`` array of shape ``(N, 28, 28)`` (or any ``(N, ...)``).

    Returns
    -------
    np.ndarray
        float32 array of shape ``(N, 784)`` (in general ``(N, prod(...))``).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"to_float32 expects uint8 images, got dtype {images.dtype}")
    if images.ndim < 2:
        raise ValueError(
            f"to_float32 expects a batch of shape (N, ...), got shape {images.shape}"
        )
    return as_model_input(images, np.dtype(np.float32), "images")


def train_val_split(
    x: np.ndarray,
    y: np.ndarray,
    *,
    val_fraction: float = 0.1,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a stratified validation set: every class keeps the same proportion.

    How it works, without a loop: shuffle the indices, then sort them *stably* by label.
    Each class now forms one block whose order inside is random, and the first
    ``round(val_fraction * class size)`` indices of every block go to validation.

    Parameters
    ----------
    x : samples, shape ``(N, ...)``, any dtype (uint8 images stay uint8).
    y : integer labels, shape ``(N,)``.
    val_fraction : fraction of each class to put in the validation set, in ``(0, 1)``.
    rng : seed or ``np.random.Generator``; the same seed gives the same split.

    Returns
    -------
    x_train, y_train, x_val, y_val
        New arrays (copies), each part in the original order of the samples.
    """
    x, y = np.asarray(x), check_labels(y, "y")
    if x.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length, got x {x.shape} and y {y.shape}"
        )
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(rng)
    shuffled = rng.permutation(len(y))
    by_class = shuffled[np.argsort(y[shuffled], kind="stable")]
    _, block_start, block_size = np.unique(
        y[by_class], return_index=True, return_counts=True
    )
    rank_in_class = np.arange(len(y)) - np.repeat(block_start, block_size)
    n_val = np.rint(block_size * val_fraction).astype(np.int64)
    is_val = rank_in_class < np.repeat(n_val, block_size)
    train_index = np.sort(by_class[~is_val])
    val_index = np.sort(by_class[is_val])
    return x[train_index], y[train_index], x[val_index], y[val_index]

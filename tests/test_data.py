"""Tests for ``nnlib.data``, the public face of EMNIST loading: the names chapters and
scripts import from it, and the pipeline load -> split -> mini-batches on real data.

Each module behind it has its own test file: ``test_emnist.py``, ``test_download.py``,
``test_preprocessing.py``, ``test_idx.py`` (and CORE's ``test_batching.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nnlib import batching, data, download, emnist, preprocessing
from nnlib.data import EMNIST, iterate_minibatches, to_float32


def test_every_public_name_is_the_defining_modules_object() -> None:
    """``nnlib.data`` re-exports, never redefines: one object per name."""
    homes = (emnist, download, preprocessing, batching)
    for name in data.__all__:
        owners = [m for m in homes if getattr(m, name, None) is getattr(data, name)]
        assert owners, f"nnlib.data.{name} is not the object of any module behind it"
    used_by_chapters = {
        "load_emnist", "ensure_emnist", "to_float32", "train_val_split",
        "OFFICIAL_COUNTS", "parse_mapping", "member_name", "mapping_name",
        "locate_archive", "NIST_URL", "ARCHIVE_SHA256", "ORIGINS", "DataSource",
    }  # fmt: skip
    assert used_by_chapters <= set(data.__all__)


def test_the_offline_copy_beside_the_repository_reaches_tests_and_notebooks(
    offline_copy_beside_repository: Path,
) -> None:
    """conftest names the offline copy in ``NNLIB_EMNIST_PATH`` at import time, so the
    library (which searches nowhere else) and nbval's kernels, which inherit this
    process's environment, find it."""
    if not offline_copy_beside_repository.is_file():
        pytest.skip("no offline copy beside this repository")
    named = os.environ.get(download.ENV_VAR)
    assert named and os.path.isfile(named)
    assert download.locate_archive() == (named, "environment")


def test_minibatches_are_float32_in_unit_interval_and_cover_an_epoch(
    mnist: EMNIST,
) -> None:
    x = mnist.x_test[:1000]
    ids = np.arange(len(x))  # sample ids as "labels" show which samples came out
    batches = list(iterate_minibatches(x, ids, 64, rng=0))
    # the last partial batch is kept
    assert [len(yb) for _, yb in batches] == [64] * 15 + [1000 - 15 * 64]
    seen = np.concatenate([yb for _, yb in batches])
    assert np.array_equal(np.sort(seen), ids)
    assert not np.array_equal(seen, ids)  # shuffled
    for xb, yb in batches:
        assert xb.dtype == np.float32 and xb.shape == (len(yb), 784)
        assert xb.min() >= 0.0 and xb.max() <= 1.0
        np.testing.assert_allclose(xb, x[yb].reshape(len(yb), -1) / 255, rtol=1e-6)
    assert max(xb.max() for xb, _ in batches) == 1.0
    assert x.dtype == np.uint8  # the data set itself is never converted


def test_minibatches_without_shuffle_keep_order(mnist: EMNIST) -> None:
    x, y = mnist.x_test[:100], mnist.y_test[:100]
    batches = list(iterate_minibatches(x, y, 30, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    np.testing.assert_array_equal(batches[0][0], to_float32(x[:30]))


def test_minibatch_order_is_deterministic_given_rng(mnist: EMNIST) -> None:
    x, ids = mnist.x_test[:200], np.arange(200)

    def order(rng: int | np.random.Generator) -> np.ndarray:
        return np.concatenate(
            [yb for _, yb in iterate_minibatches(x, ids, 50, rng=rng)]
        )

    np.testing.assert_array_equal(order(5), order(5))
    generator = np.random.default_rng(5)
    assert not np.array_equal(order(generator), order(generator))  # new each epoch


def test_float32_features_pass_through(mnist: EMNIST) -> None:
    features = to_float32(mnist.x_test[:10])
    batches = list(iterate_minibatches(features, mnist.y_test[:10], 4, shuffle=False))
    assert all(xb.dtype == np.float32 for xb, _ in batches)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), features)


def test_batch_larger_than_data_gives_one_batch() -> None:
    images = np.zeros((3, 28, 28), np.uint8)
    batches = list(iterate_minibatches(images, np.arange(3), 10))
    assert len(batches) == 1 and batches[0][0].shape == (3, 784)


@pytest.mark.parametrize("batch_size", [0, -5])
def test_batch_size_must_be_positive(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        iterate_minibatches(np.zeros((3, 28, 28), np.uint8), np.arange(3), batch_size)

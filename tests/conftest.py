"""Fixtures shared by the tests of nnlib's core (kept deliberately small)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nnlib import data


@pytest.fixture
def toy_data() -> tuple[np.ndarray, np.ndarray]:
    """A small 3-class problem, float32 inputs (48 samples, 6 features), for training tests.

    The label is the index of the largest of the first three features, so it is learnable.
    """
    gen = np.random.default_rng(7)
    x = gen.standard_normal((48, 6)).astype(np.float32)
    y = np.argmax(x[:, :3], axis=1).astype(np.int64)
    return x, y


# The emnist cache as the real HOME sees it (read at import: many tests swap HOME for an empty one).
_EMNIST_CACHE = data.emnist_cache_path()


@pytest.fixture(scope="session")
def offline_zip() -> str:
    """Path of a real EMNIST archive; skip locally, FAIL on CI, if there is none.

    The offline copy ``../shared/data/emnist/emnist.zip`` when it is there (every developer's
    machine and this project's CI), else the ``emnist`` package's cache (e.g. NIST's full archive,
    downloaded by the GitHub Actions workflow). Tests using it hold for either copy; tests that pin
    the offline copy's exact contents use ``shared_offline_copy``.
    """
    path = data.find_shared_copy() or (
        _EMNIST_CACHE if os.path.isfile(_EMNIST_CACHE) else None
    )
    if path is None:
        message = (
            f"no EMNIST archive: neither the offline copy {data.SHARED_COPY} (looked above "
            f"{os.getcwd()} and above the nnlib package) nor {_EMNIST_CACHE}"
        )
        if os.environ.get("CI"):
            pytest.fail(
                f"{message}; CI is set, so tests needing real data must not be skipped"
            )
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_offline_copy(offline_zip: str) -> str:
    """The offline partial copy itself, for tests that pin its contents (see its MANIFEST.txt:
    9,120 balanced training images, no letters, no bymerge training part, ...).

    Skipped, with that reason, when the archive found is another copy, such as NIST's complete one:
    those facts are then simply not true, while every other data test still runs on it.
    """
    if offline_zip != data.find_shared_copy():
        pytest.skip(
            f"pins the contents of the offline partial copy {data.SHARED_COPY}; "
            f"this machine has {offline_zip} instead"
        )
    return offline_zip


# ----------------------------------------------------------- added by CORE (helpers)
@pytest.fixture
def overfitting_problem() -> tuple[np.ndarray, ...]:
    """Random labels: training can memorise them, but the validation loss (on other
    random labels) first falls a little, then rises, so it has a clear best epoch in
    the middle of training. Returns ``x, y, x_val, y_val`` (32 samples each, 5
    features, 3 classes), for callback and resume tests."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 5)).astype(np.float32), rng.integers(0, 3, 32)
    x_val = rng.standard_normal((32, 5)).astype(np.float32)
    return x, y, x_val, rng.integers(0, 3, 32)

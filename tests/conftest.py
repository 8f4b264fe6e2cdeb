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


@pytest.fixture(scope="session")
def offline_zip() -> str:
    """Path of the real offline EMNIST copy; skip locally, FAIL on CI, if it is missing."""
    path = data.find_shared_copy()
    if path is None:
        message = (
            f"offline EMNIST copy {data.SHARED_COPY} not found above {os.getcwd()} "
            f"or above the nnlib package"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI is set, so tests needing real data must not be skipped")
        pytest.skip(message)
    return path

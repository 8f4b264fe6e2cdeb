"""Fixtures and helpers shared by the test files.

Real data: ``nnlib`` finds EMNIST only where it is told (``NNLIB_EMNIST_PATH``, the
emnist cache). When this repository has an offline copy beside it,
``<repo>/../shared/data/emnist/emnist.zip``, importing this file points
``NNLIB_EMNIST_PATH`` at it (unless the variable is already set), so the tests and the
notebooks that nbval runs (their kernels inherit this process's environment) read it.

``offline_zip`` is a real EMNIST archive (skipped locally, a failure on CI, when there
is none); small archives for error tests are built in ``tmp_path`` from REAL images
taken from it (``mnist_members``, ``make_zip``, ``small_zip``), then damaged on
purpose. Nothing here invents data and calls it EMNIST.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from nnlib import Sequential, download
from nnlib.emnist import EMNIST, load_emnist, mapping_name, member_name
from nnlib.idx import read_idx, write_idx

UNREACHABLE_URL = "http://127.0.0.1:9/nothing-listens-here.zip"  # port 9: refused


@pytest.fixture
def toy_data() -> tuple[np.ndarray, np.ndarray]:
    """A small 3-class problem, float32 inputs (48 samples, 6 features), for training.

    The label is the index of the largest of the first three features, so it is
    learnable.
    """
    gen = np.random.default_rng(7)
    x = gen.standard_normal((48, 6)).astype(np.float32)
    y = np.argmax(x[:, :3], axis=1).astype(np.int64)
    return x, y


# ------------------------------------------------------------------ real EMNIST

REPOSITORY = Path(__file__).resolve().parents[1]
OFFLINE_COPY = REPOSITORY.parent / "shared" / "data" / "emnist" / "emnist.zip"
"""Where this project keeps its offline copy of EMNIST: beside the repository."""

OFFLINE_COPY_SHA256 = "d9a6ec99a35003205183e32bbc42e1871057c43a4157808125d454c27403eac3"
"""SHA-256 of the offline partial copy (its MANIFEST.txt): tests that pin its contents
run on exactly this file, wherever it lies."""

if OFFLINE_COPY.is_file() and not os.environ.get(download.ENV_VAR):
    os.environ[download.ENV_VAR] = str(OFFLINE_COPY)

# Read at import: many tests swap HOME and unset the variable for their own run.
_ARCHIVE_FROM_ENV = os.environ.get(download.ENV_VAR)
_EMNIST_CACHE = download.emnist_cache_path()


@pytest.fixture(scope="session")
def offline_zip() -> str:
    """Path of a real EMNIST archive; skip locally, FAIL on CI, if there is none.

    The file named by ``NNLIB_EMNIST_PATH`` (set above when the offline copy lies
    beside the repository), else the ``emnist`` package's cache (e.g. NIST's full
    archive, downloaded by the GitHub Actions workflow). Tests using it hold for any
    real copy; tests that pin the offline copy's exact contents use
    ``shared_offline_copy``.
    """
    if _ARCHIVE_FROM_ENV and os.path.isfile(_ARCHIVE_FROM_ENV):
        return _ARCHIVE_FROM_ENV
    if os.path.isfile(_EMNIST_CACHE):
        return _EMNIST_CACHE
    message = (
        f"no EMNIST archive: {download.ENV_VAR} is not set to a file and "
        f"{download.EMNIST_CACHE_FILE} does not exist"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set: tests needing real data must run")
    pytest.skip(message)


@pytest.fixture(scope="session")
def offline_copy_beside_repository() -> Path:
    """``<repo>/../shared/data/emnist/emnist.zip``, whether or not it exists."""
    return OFFLINE_COPY


@pytest.fixture(scope="session")
def shared_offline_copy(offline_zip: str) -> str:
    """The offline partial copy itself, for tests that pin its contents (its
    MANIFEST.txt: 9,120 balanced training images, no letters, no bymerge training
    part, ...).

    Skipped, with that reason, when the archive found is another file, such as NIST's
    complete one: those facts are then simply not true, while every other data test
    still runs on it.
    """
    if download.file_sha256(offline_zip) != OFFLINE_COPY_SHA256:
        pytest.skip(
            f"pins the contents of the offline partial copy (SHA-256 "
            f"{OFFLINE_COPY_SHA256[:12]}...); {offline_zip} is another file"
        )
    return offline_zip


@pytest.fixture
def isolated_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """An empty HOME (so an empty emnist cache), no NNLIB_EMNIST_PATH, and download
    URLs that point at nothing, so no test can reach the internet by accident."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(download.ENV_VAR, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(download, "download_urls", lambda: [UNREACHABLE_URL])
    yield home


def _raw_member(archive_path: str | Path, member: str) -> np.ndarray:
    """A member of an archive as stored (NIST orientation), read independently."""
    with zipfile.ZipFile(archive_path) as archive:
        return read_idx(gzip.decompress(archive.read(member)))


@pytest.fixture(scope="session")
def mnist_members(offline_zip: str) -> dict[str, bytes]:
    """Members (name -> bytes) of a small valid mnist archive: the first 60 train and
    30 test samples of the real archive, as stored, and its mapping."""
    members = {}
    with zipfile.ZipFile(offline_zip) as archive:
        members[mapping_name("mnist")] = archive.read(mapping_name("mnist"))
    for usage, n in (("train", 60), ("test", 30)):
        for content in ("images", "labels"):
            name = member_name("mnist", usage, content)
            array = _raw_member(offline_zip, name)[:n]
            members[name] = gzip.compress(write_idx(array))
    return members


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """Write ``members`` (name -> bytes) as a stored zip archive at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.fixture
def make_zip(tmp_path: Path) -> Callable[[str, dict[str, bytes]], Path]:
    """``make_zip(name, members)``: a zip archive ``tmp_path / name`` of ``members``."""
    return lambda name, members: write_zip(tmp_path / name, members)


@pytest.fixture
def small_zip(tmp_path: Path, mnist_members: dict[str, bytes]) -> Path:
    """A valid archive holding 60 + 30 real mnist samples."""
    return write_zip(tmp_path / "small" / "gzip.zip", mnist_members)


@pytest.fixture(scope="session")
def raw_member() -> Callable[[str | Path, str], np.ndarray]:
    """``raw_member(archive, member)``: a member as stored, read without nnlib."""
    return _raw_member


# --------------------------------------------------------------- training problems
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


# ---------------------------------------------------- real EMNIST splits, loaded once
@pytest.fixture(scope="session")
def mnist(offline_zip: str) -> EMNIST:
    """The ``mnist`` split of the real archive (read once per test process)."""
    return load_emnist("mnist", path=offline_zip, verbose=False)


@pytest.fixture(scope="session")
def balanced(offline_zip: str) -> EMNIST:
    """The ``balanced`` split of the real archive (read once per test process)."""
    return load_emnist("balanced", path=offline_zip, verbose=False)


# ---------------------------------------- small helpers, as fixtures of the same name
# (a test asks for ``one_line_error`` and calls it; conftest.py is not imported by name)


def _one_line_error(err: str) -> bool:
    return (
        len(err.strip().splitlines()) == 1
        and err.startswith("error: ")
        and "Traceback" not in err
    )


@pytest.fixture(scope="session")
def one_line_error() -> Callable[[str], bool]:
    """``one_line_error(stderr)``: a command-line error is one line, "error: ...",
    without a traceback."""
    return _one_line_error


@pytest.fixture(scope="session")
def weights() -> Callable[[Sequential], list[np.ndarray]]:
    """``weights(model)``: copies of every parameter's values, in order."""
    return lambda model: [p.value.copy() for p in model.parameters()]


@pytest.fixture(scope="session")
def same_weights() -> Callable[[list[np.ndarray], list[np.ndarray]], bool]:
    """``same_weights(a, b)``: two lists from ``weights`` are equal, bit for bit."""
    return lambda a, b: all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


@pytest.fixture(scope="session")
def sha256_of() -> Callable[[Path | str], str]:
    """``sha256_of(path)``: the file's SHA-256, computed here with hashlib (not with
    the ``nnlib.download`` code under test)."""
    return lambda path: hashlib.sha256(Path(path).read_bytes()).hexdigest()

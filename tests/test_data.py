"""Tests for EMNIST loading and mini-batching (``nnlib.data``).

Tests marked with the ``offline_zip`` fixture read the real offline copy of EMNIST at
``../shared/data/emnist/emnist.zip``. Without it they are skipped locally and FAIL on CI (when
the ``CI`` environment variable is set), so that a CI run can never pass without real data.
Small archives for the error and download tests are built in ``tmp_path`` from REAL images
taken from that copy. No test touches the internet: downloads go to a server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import os
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import data
from nnlib.data import (
    EMNIST,
    OFFICIAL_COUNTS,
    DownloadError,
    MissingMemberError,
    download_emnist,
    ensure_emnist,
    iterate_minibatches,
    load_emnist,
    mapping_name,
    member_name,
    to_float32,
    train_val_split,
)
from nnlib.idx import read_idx, write_idx

ORIGINAL_DOWNLOAD_URLS = data.download_urls
UNREACHABLE_URL = (
    "http://127.0.0.1:9/nothing-listens-here.zip"  # port 9: connection refused
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets an empty HOME (so an empty emnist cache), no NNLIB_EMNIST_PATH, and
    download URLs that point at nothing, so no test can reach the internet by accident."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(data, "download_urls", lambda: [UNREACHABLE_URL])
    yield home


@pytest.fixture(scope="session")
def mnist(offline_zip: str) -> EMNIST:
    return load_emnist("mnist", path=offline_zip, verbose=False)


@pytest.fixture(scope="session")
def balanced(offline_zip: str) -> EMNIST:
    return load_emnist("balanced", path=offline_zip, verbose=False)


def raw_member(archive_path: str | Path, member: str) -> np.ndarray:
    """A member of an archive exactly as stored (NIST orientation), read independently."""
    with zipfile.ZipFile(archive_path) as archive:
        return read_idx(gzip.decompress(archive.read(member)))


@pytest.fixture(scope="session")
def real_parts(offline_zip: str) -> dict[str, np.ndarray | bytes]:
    """60 real train and 30 real test samples of the mnist split, as stored, plus the mapping."""
    parts: dict[str, np.ndarray | bytes] = {}
    for usage, n in (("train", 60), ("test", 30)):
        for content in ("images", "labels"):
            parts[f"{usage}_{content}"] = raw_member(
                offline_zip, member_name("mnist", usage, content)
            )[:n]
    with zipfile.ZipFile(offline_zip) as archive:
        parts["mapping"] = archive.read(mapping_name("mnist"))
    return parts


def mnist_members(parts: dict[str, np.ndarray | bytes]) -> dict[str, bytes]:
    """Archive members (name -> bytes) of a small, valid mnist split built from ``parts``."""
    members = {mapping_name("mnist"): parts["mapping"]}
    for usage in ("train", "test"):
        for content in ("images", "labels"):
            array = parts[f"{usage}_{content}"]
            members[member_name("mnist", usage, content)] = gzip.compress(
                write_idx(array)
            )
    return members


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.fixture
def small_zip(tmp_path: Path, real_parts: dict[str, np.ndarray | bytes]) -> Path:
    """A valid archive holding 60 + 30 real mnist samples."""
    return write_zip(tmp_path / "small" / "gzip.zip", mnist_members(real_parts))


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A static file server on 127.0.0.1 serving ``root``; yields (root, base URL).

    ``/lying-length.zip`` announces 1,000,000 bytes and sends only a few, like a dropped
    connection.
    """
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            if self.path == "/lying-length.zip":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.write(b"PK\x03\x04 and then the connection drops")
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sha256_of(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the real data


def test_mnist_test_set_is_complete(shared_offline_copy: str, mnist: EMNIST) -> None:
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_test.dtype == np.uint8
    assert mnist.y_test.shape == (10000,)
    assert mnist.y_test.dtype == np.int64
    assert sorted(np.unique(mnist.y_test).tolist()) == list(range(10))
    assert mnist.mapping == {i: str(i) for i in range(10)}
    assert mnist.n_classes == 10
    source = mnist.source
    assert source.test_complete and source.n_test == source.official_test == 10000
    assert not source.train_complete
    assert (source.n_train, source.official_train) == (17368, 60000)
    assert mnist.x_train.shape == (17368, 28, 28) and mnist.y_train.shape == (17368,)


def test_balanced_is_partial_with_47_classes(
    shared_offline_copy: str, balanced: EMNIST
) -> None:
    assert balanced.x_train.shape == (9120, 28, 28)
    assert balanced.x_test.shape == (304, 28, 28)
    assert len(balanced.mapping) == balanced.n_classes == 47
    assert balanced.mapping[0] == "0" and balanced.mapping[10] == "A"
    assert balanced.mapping[35] == "Z" and balanced.mapping[36] == "a"
    source = balanced.source
    assert not source.train_complete and not source.test_complete
    assert (source.n_train, source.n_test) == (9120, 304)
    assert (source.official_train, source.official_test) == OFFICIAL_COUNTS["balanced"]
    assert set(np.unique(balanced.y_train)) <= set(balanced.mapping)


def test_describe_reports_file_hash_and_completeness(
    balanced: EMNIST, shared_offline_copy: str
) -> None:
    offline_zip = shared_offline_copy
    text = balanced.describe()
    assert "'balanced'" in text and offline_zip in text
    assert balanced.source.sha256 in text
    assert "9,120 of 112,800" in text and "304 of 18,800" in text
    assert text.count("PARTIAL") == 2 and "COMPLETE" not in text


def test_verbose_prints_one_line_with_source_and_completeness(
    shared_offline_copy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    offline_zip = shared_offline_copy
    load_emnist("balanced", path=offline_zip)
    assert capsys.readouterr().out == (
        f"EMNIST balanced from {offline_zip} (argument): "
        f"train 9,120 of 112,800 (PARTIAL), test 304 of 18,800 (PARTIAL)\n"
    )


def test_images_are_the_stored_images_transposed(
    mnist: EMNIST, offline_zip: str
) -> None:
    raw = raw_member(offline_zip, member_name("mnist", "test", "images"))
    for i in (0, 1, 4321, 9999):
        np.testing.assert_array_equal(mnist.x_test[i], raw[i].T)
    np.testing.assert_array_equal(mnist.x_test, raw.transpose(0, 2, 1))
    assert mnist.x_test.flags.c_contiguous and mnist.x_test.flags.writeable
    raw_labels = raw_member(offline_zip, member_name("mnist", "test", "labels"))
    np.testing.assert_array_equal(mnist.y_test, raw_labels)


def test_digits_are_upright(mnist: EMNIST) -> None:
    """Where the ink lies in the mean image of a digit only makes sense the right way up."""

    def mean_image(digit: int) -> np.ndarray:
        return mnist.x_test[mnist.y_test == digit].mean(axis=0)

    def top_share(image: np.ndarray) -> float:
        return float(image[:14].sum() / image.sum())

    def left_share(image: np.ndarray) -> float:
        return float(image[:, :14].sum() / image.sum())

    assert top_share(mean_image(7)) > 0.6  # the bar of a 7 is at the top
    assert top_share(mean_image(9)) > 0.6  # the loop of a 9 is at the top
    assert top_share(mean_image(6)) < 0.4  # the loop of a 6 is at the bottom
    assert left_share(mean_image(3)) < 0.42  # a 3 is open on the left
    assert (
        top_share(mean_image(7).T) < 0.5
    )  # ... which the stored (transposed) image is not


def test_sha256_is_that_of_the_file(mnist: EMNIST, offline_zip: str) -> None:
    assert mnist.source.sha256 == sha256_of(offline_zip)
    assert mnist.source.path == offline_zip and mnist.source.origin == "argument"


def test_bymerge_test_is_complete_and_missing_train_is_empty(
    shared_offline_copy: str,
) -> None:
    offline_zip = shared_offline_copy
    bymerge = load_emnist("bymerge", path=offline_zip, verbose=False)
    assert bymerge.x_test.shape == (116323, 28, 28)
    assert bymerge.source.test_complete and not bymerge.source.train_complete
    assert bymerge.x_train.shape == (0, 28, 28) and bymerge.x_train.dtype == np.uint8
    assert bymerge.y_train.shape == (0,) and bymerge.y_train.dtype == np.int64
    assert bymerge.n_classes == 47
    assert (
        "train 0 of 697,932 (MISSING), test 116,323 of 116,323 (COMPLETE)"
        in bymerge.summary()
    )


def test_result_is_frozen(mnist: EMNIST) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        mnist.split = "digits"  # type: ignore[misc]
    assert "x_train" not in repr(mnist)  # the repr stays short


# --------------------------------------------------------------------------- where data comes from


def test_environment_variable_is_used(
    small_zip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(small_zip))
    loaded = load_emnist("mnist", verbose=False)
    assert loaded.source.origin == "environment"
    assert loaded.source.path == str(small_zip)
    assert (loaded.source.n_train, loaded.source.n_test) == (60, 30)


def test_argument_beats_environment(
    small_zip: Path, offline_zip: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.ENV_VAR, offline_zip)
    loaded = load_emnist("mnist", path=small_zip, verbose=False)
    assert loaded.source.origin == "argument" and loaded.source.n_test == 30


def test_emnist_cache_beats_shared_copy(
    small_zip: Path, isolated_environment: Path, offline_zip: str
) -> None:
    cache = isolated_environment / ".cache" / "emnist" / "emnist.zip"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(small_zip.read_bytes())
    loaded = load_emnist("mnist", verbose=False)
    assert loaded.source.origin == "emnist-cache"
    assert loaded.source.path == str(cache) == data.emnist_cache_path()


def test_shared_copy_is_found_from_an_unrelated_directory(
    offline_zip: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package_dir = Path(data.__file__).resolve().parent
    if not any(
        (folder / data.SHARED_COPY).is_file()
        for folder in (package_dir, *package_dir.parents)
    ):
        pytest.skip(
            "nnlib is installed outside the checkout that has the offline copy beside it"
        )
    monkeypatch.chdir(
        tmp_path
    )  # only the search from the package directory can find it now
    loaded = load_emnist("mnist", verbose=False)
    assert loaded.source.origin == "shared-copy"
    assert os.path.samefile(loaded.source.path, offline_zip)


def test_cache_path_is_the_emnist_packages() -> None:
    emnist = pytest.importorskip("emnist")
    assert data.emnist_cache_path() == emnist.get_cached_data_path()


def test_default_download_urls_are_emnists_then_nists() -> None:
    urls = ORIGINAL_DOWNLOAD_URLS()
    assert (
        urls[-1]
        == data.NIST_URL
        == "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    )
    emnist = pytest.importorskip("emnist")
    assert urls[: len(emnist.SOURCE_URLS)] == list(emnist.SOURCE_URLS)


@pytest.mark.parametrize("download", [False, True])
def test_no_data_anywhere_lists_the_three_ways(
    download: bool,
    tmp_path: Path,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "find_shared_copy", lambda: None)
    with pytest.raises(FileNotFoundError) as caught:
        load_emnist("mnist", download=download, verbose=False)
    message = str(caught.value)
    assert "path=" in message and "--data" in message  # Python and command-line users
    assert data.ENV_VAR in message
    assert "~/.cache/emnist/emnist.zip" in message
    assert data.NIST_URL in message
    assert ("download failed" in message) == download
    assert download or "download=True" in message  # how to allow the download
    cache_dir = isolated_environment / ".cache" / "emnist"
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []


def test_missing_explicit_path_is_not_silently_replaced(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no-such\.zip"):
        load_emnist("mnist", path=tmp_path / "no-such.zip", verbose=False)


def test_environment_variable_pointing_nowhere_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "missing.zip"))
    with pytest.raises(FileNotFoundError, match=data.ENV_VAR):
        load_emnist("mnist", verbose=False)


# --------------------------------------------------------------------------- bad archives


def test_unknown_split_lists_valid_splits() -> None:
    with pytest.raises(
        ValueError, match="valid splits: balanced, letters, digits, mnist"
    ):
        load_emnist("mnst", verbose=False)


def test_split_absent_from_the_archive(shared_offline_copy: str) -> None:
    offline_zip = shared_offline_copy
    with pytest.raises(MissingMemberError) as caught:
        load_emnist("letters", path=offline_zip, verbose=False)
    message = str(caught.value)
    assert (
        "gzip/emnist-letters-test-images-idx3-ubyte.gz" in message
        and offline_zip in message
    )
    assert "splits present: balanced, mnist" in message
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, KeyError)


def test_truncated_archive(offline_zip: str, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.zip"
    with open(offline_zip, "rb") as source:
        truncated.write_bytes(source.read(3_000_000))
    with pytest.raises(ValueError, match="not a valid zip archive") as caught:
        load_emnist("mnist", path=truncated, verbose=False)
    assert str(truncated) in str(caught.value)


def test_corrupted_member_fails_the_zip_crc(small_zip: Path, tmp_path: Path) -> None:
    member = member_name("mnist", "test", "images")
    content = bytearray(small_zip.read_bytes())
    with zipfile.ZipFile(small_zip) as archive:
        info = archive.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    content[start + 100] ^= 0xFF  # flip one byte inside the stored member
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(content))
    with pytest.raises(ValueError, match=f"cannot read {member} from {corrupt}"):
        load_emnist("mnist", path=corrupt, verbose=False)


@pytest.mark.parametrize(
    ("make_member", "message"),
    [
        (
            lambda images: gzip.compress(write_idx(images))[:-20],
            "not a valid gzip file",
        ),
        (lambda images: write_idx(images), "not a valid gzip file"),  # forgot to gzip
        (lambda images: gzip.compress(b"\x08\x00" + write_idx(images)[2:]), "00 00"),
        (lambda images: gzip.compress(write_idx(images)[:-5]), "got 23,515 bytes"),
        (
            lambda images: gzip.compress(write_idx(images[:, :27])),
            r"expected uint8 \(N, 28, 28\)",
        ),
    ],
    ids=[
        "truncated-gzip",
        "not-gzip",
        "bad-idx-magic",
        "truncated-idx",
        "wrong-image-size",
    ],
)
def test_bad_member_names_file_and_member(
    make_member: object,
    message: str,
    real_parts: dict[str, np.ndarray | bytes],
    tmp_path: Path,
) -> None:
    members = mnist_members(real_parts)
    member = member_name("mnist", "test", "images")
    members[member] = make_member(real_parts["test_images"])  # type: ignore[operator]
    archive = write_zip(tmp_path / "bad.zip", members)
    with pytest.raises(ValueError, match=message) as caught:
        load_emnist("mnist", path=archive, verbose=False)
    assert member in str(caught.value) and str(archive) in str(caught.value)


def test_image_and_label_counts_must_match(
    real_parts: dict[str, np.ndarray | bytes], tmp_path: Path
) -> None:
    members = mnist_members(real_parts)
    labels = real_parts["train_labels"][:59]
    members[member_name("mnist", "train", "labels")] = gzip.compress(write_idx(labels))
    archive = write_zip(tmp_path / "mismatch.zip", members)
    with pytest.raises(ValueError, match=r"mnist train .*: 60 images but 59 labels"):
        load_emnist("mnist", path=archive, verbose=False)


@pytest.mark.parametrize(
    "missing",
    [
        member_name("mnist", "train", "labels"),
        member_name("mnist", "test", "images"),
        "mapping",
    ],
)
def test_missing_member_is_named(
    missing: str, real_parts: dict[str, np.ndarray | bytes], tmp_path: Path
) -> None:
    missing = mapping_name("mnist") if missing == "mapping" else missing
    members = mnist_members(real_parts)
    del members[missing]
    archive = write_zip(tmp_path / "incomplete.zip", members)
    with pytest.raises(
        MissingMemberError, match=f"{missing} is missing from {archive}"
    ):
        load_emnist("mnist", path=archive, verbose=False)


def test_labels_outside_the_mapping(
    real_parts: dict[str, np.ndarray | bytes], tmp_path: Path
) -> None:
    members = mnist_members(real_parts)
    members[mapping_name("mnist")] = b"0 48\r\n1 49\r\n2 50\r\n3 51\r\n4 52\r\n"
    archive = write_zip(tmp_path / "short-mapping.zip", members)
    with pytest.raises(
        ValueError, match=r"labels \[5, 6, 7, 8, 9\] are not in the mapping"
    ):
        load_emnist("mnist", path=archive, verbose=False)


def test_mapping_parser_handles_letters_style_lines() -> None:
    assert data.parse_mapping("1 65 97\r\n2 66 98\r\n") == {1: "Aa", 2: "Bb"}
    with pytest.raises(ValueError, match="line 2"):
        data.parse_mapping("0 48\nzero 48\n")


# --------------------------------------------------------------------------- downloading


def test_download_success_is_atomic(
    small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(small_zip.read_bytes())
    destination = root.parent / "cache" / "emnist.zip"
    saved = download_emnist(
        destination,
        urls=[f"{base}/gzip.zip"],
        expected_sha256=sha256_of(small_zip),
        progress=False,
    )
    assert saved == str(destination)
    assert destination.read_bytes() == small_zip.read_bytes()
    assert [p.name for p in destination.parent.iterdir()] == [
        "emnist.zip"
    ]  # no temp file left


def test_download_tries_the_next_url(
    small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(small_zip.read_bytes())
    (root / "page.html").write_text("<html>Google Drive can't scan this file</html>")
    destination = root.parent / "cache" / "emnist.zip"
    urls = [UNREACHABLE_URL, f"{base}/404.zip", f"{base}/page.html", f"{base}/gzip.zip"]
    download_emnist(
        destination, urls=urls, expected_sha256=sha256_of(small_zip), progress=False
    )
    assert sha256_of(destination) == sha256_of(small_zip)


@pytest.mark.parametrize(
    ("served", "message"),
    [
        ("truncated.zip", "SHA-256 mismatch"),
        ("lying-length.zip", "incomplete download"),
    ],
)
def test_bad_download_leaves_nothing_behind(
    served: str, message: str, small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "truncated.zip").write_bytes(small_zip.read_bytes()[:5000])
    destination = root.parent / "cache" / "emnist.zip"
    with pytest.raises(DownloadError, match=message):
        download_emnist(
            destination,
            urls=[f"{base}/{served}"],
            expected_sha256=sha256_of(small_zip),
            progress=False,
        )
    assert list(destination.parent.iterdir()) == []


def test_the_official_digest_is_required_by_default(
    small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(
        small_zip.read_bytes()
    )  # a valid zip, but not NIST's
    destination = root.parent / "cache" / "emnist.zip"
    with pytest.raises(DownloadError, match=data.ARCHIVE_SHA256):
        download_emnist(destination, urls=[f"{base}/gzip.zip"], progress=False)
    assert not destination.exists()


def test_load_emnist_downloads_into_the_emnist_cache(
    small_zip: Path,
    http_root: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(small_zip.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "find_shared_copy", lambda: None)
    monkeypatch.setattr(data, "download_urls", lambda: [f"{base}/gzip.zip"])
    monkeypatch.setattr(data, "ARCHIVE_SHA256", sha256_of(small_zip))
    loaded = load_emnist("mnist")
    cache = data.emnist_cache_path()
    assert loaded.source.origin == "download" and loaded.source.path == cache
    assert sha256_of(cache) == sha256_of(small_zip) == loaded.source.sha256
    assert loaded.x_test.shape == (30, 28, 28)
    assert "(download): train 60 of 60,000 (PARTIAL), test 30 of 10,000 (PARTIAL)" in (
        capsys.readouterr().out
    )
    # A second call finds the cached file and downloads nothing.
    monkeypatch.setattr(data, "download_urls", lambda: [UNREACHABLE_URL])
    assert load_emnist("mnist", verbose=False).source.origin == "emnist-cache"


def test_ensure_emnist_keeps_an_existing_cache(
    small_zip: Path, isolated_environment: Path
) -> None:
    cache = isolated_environment / ".cache" / "emnist" / "emnist.zip"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(small_zip.read_bytes())
    assert ensure_emnist(progress=False) == str(cache)  # download_urls points nowhere


def test_ensure_emnist_failure_is_a_file_not_found_error(
    isolated_environment: Path,
) -> None:
    with pytest.raises(FileNotFoundError, match="download failed"):
        ensure_emnist(progress=False)
    assert not Path(data.emnist_cache_path()).exists()


# --------------------------------------------------------------------------- train/validation split


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
    assert (
        x_tr.dtype == x_val.dtype == np.uint8 and y_tr.dtype == y_val.dtype == np.int64
    )
    assert x_tr.shape[1:] == x_val.shape[1:] == (28, 28)
    assert len(x_tr) + len(x_val) == len(balanced.x_train)
    assert not np.shares_memory(x_tr, balanced.x_train)


def test_split_is_deterministic_given_rng(mnist: EMNIST) -> None:
    x, y = mnist.x_test, mnist.y_test
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
    assert np.all(np.diff(id_tr) > 0) and np.all(
        np.diff(id_val) > 0
    )  # original order kept
    for label in np.unique(y):
        n_class = np.count_nonzero(y == label)
        assert (
            abs(np.count_nonzero(y_val == label) - val_fraction * n_class) <= 0.5 + 1e-9
        )


@pytest.mark.parametrize("val_fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fractions(val_fraction: float) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(np.zeros((4, 2)), np.arange(4), val_fraction=val_fraction)


def test_split_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        train_val_split(np.zeros((4, 2)), np.arange(5))


# --------------------------------------------------------------------------- mini-batches


def test_minibatches_are_float32_in_unit_interval_and_cover_an_epoch(
    mnist: EMNIST,
) -> None:
    x = mnist.x_test[:1000]
    ids = np.arange(len(x))  # use sample ids as "labels" to see which samples came out
    batches = list(iterate_minibatches(x, ids, 64, rng=0))
    assert [len(yb) for _, yb in batches] == [64] * 15 + [
        1000 - 15 * 64
    ]  # last partial batch kept
    seen = np.concatenate([yb for _, yb in batches])
    assert np.array_equal(np.sort(seen), ids) and not np.array_equal(
        seen, ids
    )  # shuffled
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
    assert not np.array_equal(
        order(generator), order(generator)
    )  # a new order each epoch


def test_float32_features_pass_through(mnist: EMNIST) -> None:
    features = to_float32(mnist.x_test[:10])
    batches = list(iterate_minibatches(features, mnist.y_test[:10], 4, shuffle=False))
    assert all(xb.dtype == np.float32 for xb, _ in batches)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), features)


def test_batch_larger_than_data_gives_one_batch() -> None:
    batches = list(
        iterate_minibatches(np.zeros((3, 28, 28), np.uint8), np.arange(3), 10)
    )
    assert len(batches) == 1 and batches[0][0].shape == (3, 784)


@pytest.mark.parametrize("batch_size", [0, -5])
def test_batch_size_must_be_positive(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        iterate_minibatches(np.zeros((3, 28, 28), np.uint8), np.arange(3), batch_size)


def test_to_float32() -> None:
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = to_float32(images)
    assert out.dtype == np.float32 and out.shape == (1, 4)
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        to_float32(images.astype(np.float64))

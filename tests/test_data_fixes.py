"""Regression tests for defects found in review of ``nnlib.data`` and ``nnlib.idx``.

Each test failed before its fix. Small archives are built in ``tmp_path`` from REAL images taken
from the offline EMNIST copy (``offline_zip``), then damaged on purpose; the copy itself is only
read, never modified.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import struct
import urllib.request
import zipfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from nnlib import _files, data
from nnlib.data import load_emnist, mapping_name, member_name
from nnlib.idx import read_idx, write_idx


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME (so an empty emnist cache), no NNLIB_EMNIST_PATH, no reachable download."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(
        data, "download_urls", lambda: ["http://127.0.0.1:9/nothing.zip"]
    )
    return home


@pytest.fixture(scope="module")
def mnist_members(offline_zip: str) -> dict[str, bytes]:
    """Members of a small valid mnist archive: 40 real train and 20 real test samples."""
    members = {}
    with zipfile.ZipFile(offline_zip) as archive:
        members[mapping_name("mnist")] = archive.read(mapping_name("mnist"))
        for usage, n in (("train", 40), ("test", 20)):
            for content in ("images", "labels"):
                name = member_name("mnist", usage, content)
                array = read_idx(gzip.decompress(archive.read(name)))[:n]
                members[name] = gzip.compress(write_idx(array))
    return members


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def patch_central_directory(path: Path, member: str, offset: int, value: bytes) -> None:
    """Overwrite bytes of ``member``'s central-directory record (offset 8: the general-purpose
    flags, offset 10: the compression method), the fields ``zipfile`` trusts when reading."""
    content = bytearray(path.read_bytes())
    position = content.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", content, position + 28)[0]
        if content[position + 46 : position + 46 + name_length] == member.encode():
            content[position + offset : position + offset + len(value)] = value
            path.write_bytes(bytes(content))
            return
        position = content.find(b"PK\x01\x02", position + 4)
    raise AssertionError(f"{member} not found in the central directory of {path}")


# --------------------------------------------------------------------------- item 1: bad members


@pytest.mark.parametrize(
    ("offset", "value"),
    [(8, struct.pack("<H", 1)), (10, struct.pack("<H", 99))],
    ids=["encryption-flag", "unknown-compression-method"],
)
@pytest.mark.parametrize(
    "member", [member_name("mnist", "test", "labels"), mapping_name("mnist")]
)
def test_encrypted_or_unknown_method_member_is_a_clear_value_error(
    offset: int,
    value: bytes,
    member: str,
    mnist_members: dict[str, bytes],
    tmp_path: Path,
) -> None:
    archive = write_zip(tmp_path / "bad.zip", mnist_members)
    patch_central_directory(archive, member, offset, value)
    for _ in range(2):  # the bad file is refused every time, never remembered as good
        with pytest.raises(
            ValueError, match=r"supply NIST's gzip\.zip again"
        ) as caught:
            load_emnist("mnist", path=archive, verbose=False)
        assert member in str(caught.value) and str(archive) in str(caught.value)
    assert not any(key[0] == os.path.realpath(archive) for key in data._SHA256_CACHE)


def test_bad_crc_error_says_how_to_get_a_good_copy(
    mnist_members: dict[str, bytes], tmp_path: Path
) -> None:
    archive = write_zip(tmp_path / "crc.zip", mnist_members)
    member = member_name("mnist", "test", "images")
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo(member)
    content = bytearray(archive.read_bytes())
    content[info.header_offset + 30 + len(info.filename) + len(info.extra) + 100] ^= (
        0xFF
    )
    archive.write_bytes(bytes(content))
    with pytest.raises(
        ValueError, match=rf"cannot read {member} from {archive}: .*gzip\.zip again"
    ):
        load_emnist("mnist", path=archive, verbose=False)


# --------------------------------------------------------------------------- item 2: labels, gzip


def with_test_labels(members: dict[str, bytes], path: Path, change) -> Path:
    """An archive like ``members`` whose mnist test labels are replaced by ``change(labels)``."""
    name = member_name("mnist", "test", "labels")
    labels = read_idx(gzip.decompress(members[name]))
    return write_zip(path, {**members, name: gzip.compress(write_idx(change(labels)))})


def test_float_labels_are_rejected_not_truncated(
    mnist_members: dict[str, bytes], tmp_path: Path
) -> None:
    labels_member = member_name("mnist", "test", "labels")
    archive = with_test_labels(
        mnist_members,
        tmp_path / "float-labels.zip",
        lambda labels: labels.astype(np.float32) + 0.7,
    )
    with pytest.raises(
        ValueError, match=r"float32 .*expected integer labels"
    ) as caught:
        load_emnist("mnist", path=archive, verbose=False)
    assert labels_member in str(caught.value)


def test_integer_label_types_other_than_uint8_still_load(
    mnist_members: dict[str, bytes], tmp_path: Path
) -> None:
    archive = with_test_labels(
        mnist_members, tmp_path / "int16.zip", lambda labels: labels.astype(np.int16)
    )
    loaded = load_emnist("mnist", path=archive, verbose=False)
    original = load_emnist(
        "mnist", path=write_zip(tmp_path / "uint8.zip", mnist_members), verbose=False
    )
    assert loaded.y_test.dtype == np.int64 and np.array_equal(
        loaded.y_test, original.y_test
    )


def test_read_idx_of_a_truncated_gzip_stream_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "labels.idx1.gz"
    path.write_bytes(gzip.compress(write_idx(np.arange(200, dtype=np.uint8)))[:-12])
    with (
        gzip.open(path) as stream,
        pytest.raises(ValueError, match="truncated or corrupt"),
    ):
        read_idx(stream)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(gzip.GzipFile(fileobj=io.BytesIO(b"\x1f\x8b\x08\x00garbage")))


# --------------------------------------------------------------------------- item 3: no data, mode


class FakeResponse(io.BytesIO):
    """What ``urllib.request.urlopen`` returns, for a download without a network."""

    headers: ClassVar[dict[str, str]] = {}  # no Content-Length


def test_downloaded_archive_gets_the_usual_file_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"not really a zip, but the digest is what is checked"
    expected = hashlib.sha256(payload).hexdigest()
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda url, timeout: FakeResponse(payload)
    )
    destination = tmp_path / "cache" / "emnist.zip"
    data.download_emnist(
        destination,
        urls=["http://example.invalid/gzip.zip"],
        expected_sha256=expected,
        progress=False,
    )
    assert destination.read_bytes() == payload
    assert (
        stat.S_IMODE(destination.stat().st_mode) == _files._default_mode()
    )  # not 0o600


# --------------------------------------------------------------------------- oversized members


def test_a_member_that_expands_beyond_any_emnist_file_is_refused(
    mnist_members, tmp_path, monkeypatch
):
    """A "zip bomb": a small gzip member that decompresses to far more than the largest EMNIST file.
    Reading stops at that size with a clear error instead of filling the memory. (The limit is
    lowered here so that the test needs kilobytes, not the real 547 MB.)"""
    images = member_name("mnist", "test", "images")
    # the largest real member still fits exactly
    limit = max(
        len(gzip.decompress(v)) for k, v in mnist_members.items() if k.endswith(".gz")
    )
    monkeypatch.setattr(data, "MAX_MEMBER_BYTES", limit)
    assert (
        len(
            load_emnist(
                "mnist",
                path=write_zip(tmp_path / "ok.zip", mnist_members),
                verbose=False,
            ).x_test
        )
        == 20
    )
    bomb = gzip.compress(bytes(100 * limit))  # zeros compress ~1000:1
    assert len(bomb) < limit
    path = write_zip(tmp_path / "bomb.zip", {**mnist_members, images: bomb})
    with pytest.raises(
        ValueError, match="decompresses to more than the largest EMNIST file"
    ):
        load_emnist("mnist", path=path, verbose=False)


def test_a_member_declaring_more_than_any_emnist_file_is_refused(
    mnist_members, tmp_path, monkeypatch
):
    """The zip layer: a member whose declared size exceeds the limit is not even decompressed."""
    images = member_name("mnist", "test", "images")
    monkeypatch.setattr(data, "MAX_MEMBER_BYTES", len(mnist_members[images]) - 1)
    path = write_zip(tmp_path / "big.zip", mnist_members)
    with pytest.raises(
        ValueError, match=r"declares .* bytes, more than the largest EMNIST file"
    ):
        load_emnist("mnist", path=path, verbose=False)

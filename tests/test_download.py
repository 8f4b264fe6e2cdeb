"""Tests for finding and downloading the EMNIST archive (``nnlib.download``).

No test touches the internet: downloads go to a server on 127.0.0.1 (or a fake
``urlopen``), and every test runs with an empty HOME and no ``NNLIB_EMNIST_PATH``
(``isolated_environment``). Archives are small ones built from real EMNIST images.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import stat
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from nnlib import _files, download
from nnlib.download import DownloadError, download_emnist, ensure_emnist
from nnlib.emnist import load_emnist

pytestmark = pytest.mark.usefixtures("isolated_environment")

ORIGINAL_DOWNLOAD_URLS = download.download_urls


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A static file server on 127.0.0.1 serving ``root``; yields (root, base URL).

    ``/lying-length.zip`` announces 1,000,000 bytes and sends only a few, like a
    dropped connection.
    """
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

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


# ----------------------------------------------------------- where data comes from


def test_environment_variable_is_used(
    small_zip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(download.ENV_VAR, str(small_zip))
    loaded = load_emnist("mnist", verbose=False)
    assert loaded.source.origin == "environment"
    assert loaded.source.path == str(small_zip)
    assert (loaded.source.n_train, loaded.source.n_test) == (60, 30)


def test_argument_beats_environment(
    small_zip: Path, offline_zip: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(download.ENV_VAR, offline_zip)
    loaded = load_emnist("mnist", path=small_zip, verbose=False)
    assert loaded.source.origin == "argument" and loaded.source.n_test == 30


def test_the_emnist_cache_is_used_when_nothing_is_named(
    small_zip: Path, isolated_environment: Path
) -> None:
    cache = isolated_environment / ".cache" / "emnist" / "emnist.zip"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(small_zip.read_bytes())
    loaded = load_emnist("mnist", verbose=False)
    assert loaded.source.origin == "emnist-cache"
    assert loaded.source.path == str(cache) == download.emnist_cache_path()


def test_no_folder_beside_the_working_directory_is_searched(
    small_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: the library does not know this repository's surroundings. A copy at
    ``../shared/data/emnist/emnist.zip`` is found only when it is named (``path=`` or
    ``NNLIB_EMNIST_PATH``, which this repository's conftest sets)."""
    beside = tmp_path / "shared" / "data" / "emnist" / "emnist.zip"
    beside.parent.mkdir(parents=True)
    beside.write_bytes(small_zip.read_bytes())
    (tmp_path / "repo" / "book").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "book")
    with pytest.raises(FileNotFoundError, match="No EMNIST archive found"):
        load_emnist("mnist", download=False, verbose=False)
    monkeypatch.setenv(download.ENV_VAR, str(beside))
    assert load_emnist("mnist", verbose=False).source.origin == "environment"
    assert download.ORIGINS == ("argument", "environment", "emnist-cache", "download")


def test_cache_path_is_the_emnist_packages() -> None:
    emnist = pytest.importorskip("emnist")
    assert download.emnist_cache_path() == emnist.get_cached_data_path()


def test_default_download_urls_are_emnists_then_nists() -> None:
    urls = ORIGINAL_DOWNLOAD_URLS()
    assert urls[-1] == download.NIST_URL
    assert download.NIST_URL == "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    emnist = pytest.importorskip("emnist")
    assert urls[: len(emnist.SOURCE_URLS)] == list(emnist.SOURCE_URLS)


@pytest.mark.parametrize("allow_download", [False, True])
def test_no_data_anywhere_lists_the_ways_to_supply_it(
    allow_download: bool,
    tmp_path: Path,
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as caught:
        load_emnist("mnist", download=allow_download, verbose=False)
    message = str(caught.value)
    assert str(isolated_environment) not in message  # no user's folder (issue 11)
    assert "path=" in message and "--data" in message  # Python and command line
    assert download.ENV_VAR in message
    assert "~/.cache/emnist/emnist.zip" in message
    assert download.NIST_URL in message
    assert ("download failed" in message) == allow_download
    assert allow_download or "download=True" in message  # how to allow it
    cache_dir = isolated_environment / ".cache" / "emnist"
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []


def test_missing_explicit_path_is_not_silently_replaced(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no-such\.zip"):
        load_emnist("mnist", path=tmp_path / "no-such.zip", verbose=False)


def test_environment_variable_pointing_nowhere_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(download.ENV_VAR, str(tmp_path / "missing.zip"))
    with pytest.raises(FileNotFoundError, match=download.ENV_VAR):
        load_emnist("mnist", verbose=False)


@pytest.mark.parametrize("named_by", ["argument", "environment"])
@pytest.mark.parametrize("kind", ["missing", "directory", "pipe"])
def test_a_named_path_that_is_no_archive_says_what_it_is_and_how_to_get_one(
    named_by: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (review): a wrong ``path=`` or ``NNLIB_EMNIST_PATH`` gave no hint how
    to get EMNIST, and a directory or a named pipe was reported as "No EMNIST archive"
    (or "is not a file"), not as what it is."""
    named = tmp_path / "emnist.zip"
    if kind == "directory":
        named.mkdir()
    elif kind == "pipe":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(named)
    if named_by == "environment":
        monkeypatch.setenv(download.ENV_VAR, str(named))
    name = "path" if named_by == "argument" else download.ENV_VAR
    with pytest.raises(FileNotFoundError) as caught:
        download.locate_archive(named if named_by == "argument" else None)
    first, *ways = str(caught.value).splitlines()
    if kind == "missing":
        assert first == f"No EMNIST archive at {name}={str(named)!r}."
    else:
        assert first.startswith(f"{name}={str(named)!r} is not a regular file")
    assert ways[0] == "Supply NIST's gzip.zip in one of these ways:"
    assert any(way.startswith("  1. name it explicitly") for way in ways)
    assert ways[-1] == f"The archive is NIST's {download.NIST_URL} (about 536 MiB)."


# ------------------------------------------------------------------ downloading


def test_download_success_is_atomic(
    sha256_of, small_zip: Path, http_root: tuple[Path, str]
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
    names = [p.name for p in destination.parent.iterdir()]
    assert names == ["emnist.zip"]  # no temporary file left


def test_download_tries_the_next_url(
    sha256_of, small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(small_zip.read_bytes())
    (root / "page.html").write_text("<html>Google Drive can't scan this file</html>")
    destination = root.parent / "cache" / "emnist.zip"
    unreachable = download.download_urls()  # isolated_environment's
    urls = [*unreachable, f"{base}/404.zip", f"{base}/page.html", f"{base}/gzip.zip"]
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
    sha256_of, served: str, message: str, small_zip: Path, http_root: tuple[Path, str]
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


def test_a_failed_download_keeps_the_previous_file(
    sha256_of, small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "truncated.zip").write_bytes(small_zip.read_bytes()[:5000])
    destination = root.parent / "cache" / "emnist.zip"
    destination.parent.mkdir()
    destination.write_bytes(b"the previous archive")
    with pytest.raises(DownloadError):
        download_emnist(
            destination,
            urls=[f"{base}/truncated.zip"],
            expected_sha256=sha256_of(small_zip),
            progress=False,
        )
    assert destination.read_bytes() == b"the previous archive"
    assert [p.name for p in destination.parent.iterdir()] == ["emnist.zip"]


def test_the_official_digest_is_required_by_default(
    small_zip: Path, http_root: tuple[Path, str]
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(small_zip.read_bytes())  # a zip, not NIST's
    destination = root.parent / "cache" / "emnist.zip"
    with pytest.raises(DownloadError, match=download.ARCHIVE_SHA256):
        download_emnist(destination, urls=[f"{base}/gzip.zip"], progress=False)
    assert not destination.exists()


def test_load_emnist_downloads_into_the_emnist_cache(
    sha256_of,
    small_zip: Path,
    http_root: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, base = http_root
    (root / "gzip.zip").write_bytes(small_zip.read_bytes())
    unreachable = download.download_urls()  # isolated_environment's
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(download, "download_urls", lambda: [f"{base}/gzip.zip"])
    monkeypatch.setattr(download, "ARCHIVE_SHA256", sha256_of(small_zip))
    loaded = load_emnist("mnist")
    cache = download.emnist_cache_path()
    assert loaded.source.origin == "download" and loaded.source.path == cache
    assert sha256_of(cache) == sha256_of(small_zip) == loaded.source.sha256
    assert loaded.x_test.shape == (30, 28, 28)
    assert "(download): train 60 of 60,000 (PARTIAL), test 30 of 10,000 (PARTIAL)" in (
        capsys.readouterr().out
    )
    # A second call finds the cached file and downloads nothing.
    monkeypatch.setattr(download, "download_urls", lambda: unreachable)
    assert load_emnist("mnist", verbose=False).source.origin == "emnist-cache"


def test_ensure_emnist_keeps_an_existing_cache(
    small_zip: Path, isolated_environment: Path
) -> None:
    cache = isolated_environment / ".cache" / "emnist" / "emnist.zip"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(small_zip.read_bytes())
    assert ensure_emnist(progress=False) == str(cache)  # download_urls: nowhere


def test_ensure_emnist_failure_is_a_file_not_found_error() -> None:
    with pytest.raises(FileNotFoundError, match="download failed"):
        ensure_emnist(progress=False)
    assert not Path(download.emnist_cache_path()).exists()


class FakeResponse(io.BytesIO):
    """What ``urllib.request.urlopen`` returns, for a download without a network."""

    headers: ClassVar[dict[str, str]] = {}  # no Content-Length


def test_downloaded_archive_gets_the_usual_file_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the temporary file's private mode 0o600 reached the cache file."""
    payload = b"not really a zip, but the digest is what is checked"
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda url, timeout: FakeResponse(payload)
    )
    destination = tmp_path / "cache" / "emnist.zip"
    download_emnist(
        destination,
        urls=["http://example.invalid/gzip.zip"],
        expected_sha256=hashlib.sha256(payload).hexdigest(),
        progress=False,
    )
    assert destination.read_bytes() == payload
    assert stat.S_IMODE(destination.stat().st_mode) == _files._default_mode()

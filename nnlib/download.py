"""Finding NIST's EMNIST archive on disk, or downloading it with a verified checksum.

:func:`resolve_archive` looks for the archive in this order:

1. the ``path`` argument;
2. the environment variable ``NNLIB_EMNIST_PATH``;
3. the cache file of the ``emnist`` package, ``~/.cache/emnist/emnist.zip``;
4. if ``download=True``: NIST's archive, downloaded into the ``emnist`` cache.

It knows nothing else of where it runs: a copy kept anywhere else is named with
``path=`` or ``NNLIB_EMNIST_PATH`` (this repository's tests set the variable when an
offline copy lies beside the checkout).

A download is written to a temporary file beside its destination and renamed only once
its SHA-256 matches NIST's (:func:`nnlib._files.atomic_write`), so the cache never holds
half an archive.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Sequence
from typing import BinaryIO

from ._files import atomic_write

ENV_VAR = "NNLIB_EMNIST_PATH"
EMNIST_CACHE_FILE = "~/.cache/emnist/emnist.zip"
"""Where the ``emnist`` package keeps the archive (``emnist.CACHE_FILE_PATH``)."""

NIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
ARCHIVE_SHA256 = "fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e"
"""SHA-256 of NIST's complete gzip.zip (561,753,746 bytes), as recorded by TensorFlow
Datasets (``url_checksums/emnist.txt``) and by other projects that downloaded it."""

ORIGINS = ("argument", "environment", "emnist-cache", "download")
"""Possible values of ``DataSource.origin``, in the order the sources are tried."""

_DOWNLOAD_CHUNK = 1 << 20  # bytes read from the network at a time


class DownloadError(OSError):
    """No URL delivered a verified copy of the archive."""


# ------------------------------------------------------------------ finding the archive


def emnist_cache_path() -> str:
    """The ``emnist`` package's cache file, ``~/.cache/emnist/emnist.zip``, expanded."""
    return os.path.expanduser(EMNIST_CACHE_FILE)


def locate_archive(
    path: str | os.PathLike[str] | None = None,
) -> tuple[str, str] | None:
    """Find an archive without downloading: ``(path, origin)``, or ``None``.

    Raises
    ------
    FileNotFoundError
        If ``path`` or ``NNLIB_EMNIST_PATH`` is given but is not a regular file (an
        explicit choice that does not work should not silently fall back to another
        file); the message says how to supply the archive.
    """
    if path is not None:
        return _named_archive(os.fspath(path), "path"), "argument"
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return _named_archive(from_env, ENV_VAR), "environment"
    cache = emnist_cache_path()
    if os.path.isfile(cache) and os.path.getsize(cache) > 0:
        return cache, "emnist-cache"
    return None


def _named_archive(path: str, name: str) -> str:
    """``path``, named by ``name`` (the argument or the variable), if it is a regular
    file; else a ``FileNotFoundError`` that says what it is and how to get EMNIST."""
    if os.path.isfile(path):
        return path
    problem = (
        f"{name}={path!r} is not a regular file (a pipe or a directory?)"
        if os.path.exists(path)
        else f"No EMNIST archive at {name}={path!r}"
    )
    raise FileNotFoundError(f"{problem}.\n{_HOW_TO_SUPPLY}")


_HOW_TO_SUPPLY = (
    f"Supply NIST's gzip.zip in one of these ways:\n"
    f"  1. name it explicitly: load_emnist(..., path='/path/to/gzip.zip') "
    f"in Python,\n"
    f"     or the --data /path/to/gzip.zip option of the command line "
    f"(python -m nnlib)\n"
    f"  2. set the environment variable {ENV_VAR}=/path/to/gzip.zip\n"
    f"  3. put it in the cache, {EMNIST_CACHE_FILE}\n"
    f"  4. let it be downloaded into that cache: load_emnist(download=True),\n"
    f"     nnlib.data.ensure_emnist(), or the command line without --no-download\n"
    f"The archive is NIST's {NIST_URL} (about 536 MiB)."
)
"""The numbered ways to supply the archive, ending every missing-data message."""


def missing_data_message(reason: str) -> str:
    """The text of the ``FileNotFoundError`` raised when no archive can be found."""
    return f"No EMNIST archive found ({reason}).\n{_HOW_TO_SUPPLY}"


def resolve_archive(
    path: str | os.PathLike[str] | None = None, *, download: bool = True
) -> tuple[str, str]:
    """Return ``(archive path, origin)``, downloading only if nothing local is found.

    Raises
    ------
    FileNotFoundError
        If nothing is found and ``download`` is false or the download fails; the
        message says how else to supply the archive.
    """
    found = locate_archive(path)
    if found is not None:
        return found
    if not download:
        raise FileNotFoundError(missing_data_message("download=False"))
    return ensure_emnist(), "download"


# ------------------------------------------------------------- checksums, downloading


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, in hex (remembered while its size and mtime stay put)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256_CACHE:
        with open(path, "rb") as file:
            _SHA256_CACHE[key] = hashlib.file_digest(file, "sha256").hexdigest()
    return _SHA256_CACHE[key]


_SHA256_CACHE: dict[tuple[str, int, int], str] = {}


def download_urls() -> list[str]:
    """URLs tried in turn by :func:`download_emnist`.

    The ``emnist`` package's ``SOURCE_URLS`` (if it is installed), then NIST's address
    :data:`NIST_URL`. A URL that serves anything other than the real archive (an HTML
    page, say) fails the checksum and the next one is tried.
    """
    try:
        import emnist  # imported lazily: only needed for a download
    except ImportError:
        urls: list[str] = []
    else:
        urls = list(emnist.SOURCE_URLS)
    if NIST_URL not in urls:
        urls.append(NIST_URL)
    return urls


def _copy_with_digest(
    response: BinaryIO, out: BinaryIO, total: int | None, desc: str, progress: bool
) -> tuple[str, int]:
    """Copy ``response`` to ``out`` chunk by chunk; return its (sha256, size)."""
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    size = 0
    with tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not progress,
    ) as bar:
        while chunk := response.read(_DOWNLOAD_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            bar.update(len(chunk))
    return digest.hexdigest(), size


def download_file(
    url: str,
    destination: str | os.PathLike[str],
    expected_sha256: str,
    *,
    timeout: float = 60.0,
    progress: bool = True,
) -> None:
    """Download ``url`` to ``destination`` if, and only if, its SHA-256 is as expected.

    The bytes go to a temporary file beside ``destination``, which is renamed to it only
    after the size and the digest have been checked; on any failure it is removed, so
    ``destination`` holds either its previous content or the verified file.

    Raises
    ------
    ValueError
        The download is shorter than announced, or its digest differs.
    OSError, http.client.HTTPException
        The server could not be reached or broke off.
    """
    name = os.path.basename(destination)

    def write(out: BinaryIO) -> None:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            sha256, size = _copy_with_digest(
                response, out, total, f"Downloading {name}", progress
            )
        if total is not None and size != total:
            raise ValueError(f"incomplete download: got {size:,} of {total:,} bytes")
        if sha256 != expected_sha256:
            raise ValueError(
                f"SHA-256 mismatch: expected {expected_sha256}, got {sha256} "
                f"({size:,} bytes); this is not the expected archive"
            )

    atomic_write(os.fspath(destination), write)


def download_emnist(
    destination: str | os.PathLike[str] | None = None,
    *,
    urls: Sequence[str] | None = None,
    expected_sha256: str | None = None,
    timeout: float = 60.0,
    progress: bool = True,
) -> str:
    """Download NIST's EMNIST archive, verify its SHA-256, return where it was saved.

    Parameters
    ----------
    destination : target file; default the ``emnist`` cache,
        ``~/.cache/emnist/emnist.zip``.
    urls : URLs to try in order; default :func:`download_urls`.
    expected_sha256 : digest the download must have; default :data:`ARCHIVE_SHA256`,
        the digest of NIST's complete ``gzip.zip``.
    timeout : seconds to wait for the server before giving up on a URL.
    progress : show a tqdm progress bar.

    Raises
    ------
    DownloadError
        If no URL delivered a file with the expected digest; nothing is then left at
        ``destination``.
    """
    target = emnist_cache_path() if destination is None else os.fspath(destination)
    urls = download_urls() if urls is None else list(urls)
    expected = (expected_sha256 or ARCHIVE_SHA256).lower()
    failures = []
    for url in urls:
        try:
            download_file(url, target, expected, timeout=timeout, progress=progress)
        except (OSError, ValueError, http.client.HTTPException) as error:
            failures.append(f"{url}: {error}")  # URLError is an OSError
        else:
            return target
    raise DownloadError(
        "Could not download EMNIST:\n  " + "\n  ".join(failures or ["no URL"])
    )


def ensure_emnist(*, progress: bool = True) -> str:
    """Make sure the ``emnist`` cache file exists, downloading it if needed; return it.

    Raises
    ------
    FileNotFoundError
        If the file is absent and the download fails (the message says how else to
        supply it).
    """
    cache = emnist_cache_path()
    if os.path.isfile(cache) and os.path.getsize(cache) > 0:
        return cache
    try:
        return download_emnist(cache, progress=progress)
    except DownloadError as error:
        raise FileNotFoundError(
            missing_data_message(f"download failed: {error}")
        ) from error

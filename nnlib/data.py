"""Loading EMNIST and feeding it to a network in mini-batches.

EMNIST (Cohen, Afshar, Tapson & van Schaik, 2017) extends MNIST to handwritten letters. NIST
distributes it as one zip archive, ``gzip.zip`` (about 536 MiB), whose members are gzip-compressed
IDX files (see :mod:`nnlib.idx`)::

    gzip/emnist-<split>-<train|test>-images-idx3-ubyte.gz   uint8 (N, 28, 28), stored transposed
    gzip/emnist-<split>-<train|test>-labels-idx1-ubyte.gz   uint8 (N,)
    gzip/emnist-<split>-mapping.txt                         lines "label ascii_code"

:func:`load_emnist` looks for that archive in this order:

1. the ``path`` argument;
2. the environment variable ``NNLIB_EMNIST_PATH``;
3. the cache file of the ``emnist`` package, ``~/.cache/emnist/emnist.zip``;
4. an offline copy at ``../shared/data/emnist/emnist.zip``, searched upwards from the current
   directory and from this package's directory (this is how the tests and the book find data in
   a sandbox without internet; it may hold only part of EMNIST, and says so);
5. if ``download=True``: NIST's archive, downloaded into the ``emnist`` cache.

Images stay ``uint8`` in memory (a quarter of the size of float32); they are scaled to float32
in ``[0, 1]`` one mini-batch at a time by :func:`iterate_minibatches`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import os
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ._files import _default_mode
from ._validation import as_model_input
from .batching import (
    iterate_minibatches as iterate_minibatches,  # re-exported for readers of nnlib.data
)
from .idx import read_idx

OFFICIAL_COUNTS: dict[str, tuple[int, int]] = {
    "balanced": (112800, 18800),
    "letters": (124800, 20800),
    "digits": (240000, 40000),
    "mnist": (60000, 10000),
    "byclass": (697932, 116323),
    "bymerge": (697932, 116323),
}
"""Number of (train, test) samples of each split in NIST's release."""

SPLITS: tuple[str, ...] = tuple(OFFICIAL_COUNTS)
IMAGE_SHAPE: tuple[int, int] = (28, 28)

ENV_VAR = "NNLIB_EMNIST_PATH"
EMNIST_CACHE_FILE = "~/.cache/emnist/emnist.zip"
"""Where the ``emnist`` package keeps the archive (``emnist.CACHE_FILE_PATH`` in emnist 0.0)."""
SHARED_COPY = Path("..", "shared", "data", "emnist", "emnist.zip")
"""Offline copy, relative to the repository root (or any folder above the current directory)."""

NIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
ARCHIVE_SHA256 = "fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e"
"""SHA-256 of NIST's complete gzip.zip (561,753,746 bytes), as recorded by TensorFlow Datasets
(``url_checksums/emnist.txt``) and by other projects that downloaded it from ``NIST_URL``."""

ORIGINS = ("argument", "environment", "emnist-cache", "shared-copy", "download")
"""Possible values of :attr:`DataSource.origin`, in the order the sources are tried."""

_DOWNLOAD_CHUNK = 1 << 20  # bytes read from the network at a time

GET_A_GOOD_COPY = "it may be a truncated or corrupt download: delete it and supply NIST's gzip.zip again"
"""The advice every corrupt-archive error ends with."""


class MissingMemberError(KeyError, ValueError):
    """A file the loader needs is not in the archive.

    It is both a ``KeyError`` (what ``zipfile`` raises for an unknown member) and a
    ``ValueError`` (what every other data problem raises), so either ``except`` catches it.
    """

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class DownloadError(OSError):
    """No URL delivered a verified copy of the archive."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DataSource:
    """Where a loaded data set came from and how complete it is.

    Attributes
    ----------
    path : the zip archive that was read.
    sha256 : SHA-256 of that archive, to tell exactly which file a result came from.
    origin : how the archive was found, one of :data:`ORIGINS`.
    train_complete, test_complete : whether each part has the official number of samples.
    n_train, n_test : number of samples actually loaded.
    official_train, official_test : number of samples in NIST's release.
    """

    path: str
    sha256: str
    origin: str
    train_complete: bool
    test_complete: bool
    n_train: int
    n_test: int
    official_train: int
    official_test: int


@dataclass(
    frozen=True, eq=False
)  # eq=False: comparing arrays with == gives arrays, not a bool
class EMNIST:
    """One EMNIST split, held in memory as ``uint8`` images and ``int64`` labels.

    Attributes
    ----------
    x_train, x_test : ``uint8`` arrays of shape ``(N, 28, 28)``, upright (row 0 is the top).
    y_train, y_test : ``int64`` arrays of shape ``(N,)`` with the class labels.
    mapping : label -> character, e.g. ``{0: "0", ..., 10: "A", ...}``.
    split : the split's name, one of :data:`SPLITS`.
    source : where the data came from and whether each part is complete.
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    mapping: dict[int, str] = field(repr=False)
    split: str
    source: DataSource

    @property
    def n_classes(self) -> int:
        """Number of output units a classifier needs: labels lie in ``[0, n_classes)``.

        This is ``max(label) + 1``; it equals ``len(mapping)`` for every split except
        ``letters``, whose labels run from 1 to 26 (label 0 is unused, so ``n_classes`` is 27).
        """
        return max(self.mapping) + 1

    def summary(self) -> str:
        """One line: split, file, origin, and how many samples of each part were loaded."""
        s = self.source
        train = f"train {s.n_train:,} of {s.official_train:,} ({_status(s.n_train, s.official_train)})"
        test = f"test {s.n_test:,} of {s.official_test:,} ({_status(s.n_test, s.official_test)})"
        return f"EMNIST {self.split} from {s.path} ({s.origin}): {train}, {test}"

    def describe(self) -> str:
        """A multi-line, human-readable summary of the split and of its source file."""
        s = self.source
        return "\n".join(
            [
                f"EMNIST split {self.split!r}: {self.n_classes} classes, images 28x28 uint8",
                f"  file:   {s.path}",
                f"  origin: {s.origin}",
                f"  sha256: {s.sha256}",
                f"  train:  {s.n_train:,} of {s.official_train:,} official samples "
                f"({_status(s.n_train, s.official_train)})",
                f"  test:   {s.n_test:,} of {s.official_test:,} official samples "
                f"({_status(s.n_test, s.official_test)})",
            ]
        )


def _status(n: int, official: int) -> str:
    """``COMPLETE``, ``PARTIAL``, ``MISSING`` (no sample) or ``MORE THAN OFFICIAL``."""
    if n == official:
        return "COMPLETE"
    if n == 0:
        return "MISSING"
    return "PARTIAL" if n < official else "MORE THAN OFFICIAL"


# --------------------------------------------------------------------------- finding the archive


def emnist_cache_path() -> str:
    """The ``emnist`` package's cache file, ``~/.cache/emnist/emnist.zip``, with ``~`` expanded."""
    return os.path.expanduser(EMNIST_CACHE_FILE)


def find_shared_copy() -> str | None:
    """Return the offline copy ``../shared/data/emnist/emnist.zip`` if it exists, else ``None``.

    It is looked for relative to the current directory and each folder above it, then relative
    to this package's directory and each folder above it.
    """
    starts = [Path(__file__).resolve().parent]
    with contextlib.suppress(OSError):  # the current directory may have been deleted
        starts.insert(0, Path.cwd())
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / SHARED_COPY
            if candidate.is_file():
                return os.path.normpath(candidate)
    return None


def locate_archive(
    path: str | os.PathLike[str] | None = None,
) -> tuple[str, str] | None:
    """Find an archive without downloading: return ``(path, origin)``, or ``None`` if none exists.

    Raises
    ------
    FileNotFoundError
        If ``path`` or ``NNLIB_EMNIST_PATH`` is given but is not a file (an explicit choice that
        does not work should not silently fall back to another file).
    """
    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No EMNIST archive at path={os.fspath(path)!r}")
        return os.fspath(path), "argument"
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        if not os.path.isfile(from_env):
            raise FileNotFoundError(f"{ENV_VAR}={from_env!r} is not a file")
        return from_env, "environment"
    cache = emnist_cache_path()
    if os.path.isfile(cache) and os.path.getsize(cache) > 0:
        return cache, "emnist-cache"
    shared = find_shared_copy()
    if shared is not None:
        return shared, "shared-copy"
    return None


def missing_data_message(reason: str) -> str:
    """The text of the ``FileNotFoundError`` raised when no archive can be found."""
    return (
        f"No EMNIST archive found ({reason}). Supply NIST's gzip.zip in one of these ways:\n"
        f"  1. name it explicitly: load_emnist(..., path='/path/to/gzip.zip') in Python,\n"
        f"     or the --data /path/to/gzip.zip option of the command line (python -m nnlib)\n"
        f"  2. set the environment variable {ENV_VAR}=/path/to/gzip.zip\n"
        f"  3. put it in the cache, {EMNIST_CACHE_FILE} (here: {emnist_cache_path()})\n"
        f"  4. let it be downloaded into that cache: load_emnist(download=True),\n"
        f"     nnlib.data.ensure_emnist(), or the command line without --no-download\n"
        f"The archive is NIST's {NIST_URL} (about 536 MiB)."
    )


# --------------------------------------------------------------------------- downloading


def download_urls() -> list[str]:
    """URLs tried in turn by :func:`download_emnist`.

    The ``emnist`` package's ``SOURCE_URLS`` (if it is installed), then NIST's current address
    :data:`NIST_URL`. A URL that serves anything other than the real archive (an HTML page, say)
    fails the checksum and the next one is tried.
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


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file as a hex string (remembered while the file's size and mtime stay put)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256_CACHE:
        with open(path, "rb") as file:
            _SHA256_CACHE[key] = hashlib.file_digest(file, "sha256").hexdigest()
    return _SHA256_CACHE[key]


_SHA256_CACHE: dict[tuple[str, int, int], str] = {}


def _stream_to_file(
    response: BinaryIO, out: BinaryIO, total: int | None, desc: str, progress: bool
) -> tuple[str, int]:
    """Copy ``response`` to ``out`` chunk by chunk with a progress bar; return (sha256, size)."""
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


def _download_one(
    url: str, destination: str, expected_sha256: str, *, timeout: float, progress: bool
) -> None:
    """Download ``url`` to a temporary file next to ``destination``, verify, then move it there.

    ``os.replace`` is atomic: ``destination`` either does not exist or holds the verified file,
    whatever happens during the download. The temporary file is removed on any failure.
    """
    folder = os.path.dirname(os.path.abspath(destination))
    name = os.path.basename(destination)
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=timeout) as response,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            sha256, size = _stream_to_file(
                response, out, total, f"Downloading {name}", progress
            )
        if total is not None and size != total:
            raise ValueError(f"incomplete download: got {size:,} of {total:,} bytes")
        if sha256 != expected_sha256:
            raise ValueError(
                f"SHA-256 mismatch: expected {expected_sha256}, got {sha256} ({size:,} bytes); "
                f"this is not the expected archive"
            )
        os.chmod(
            temp_path, _default_mode()
        )  # mkstemp made it 0o600: use the usual mode
        os.replace(temp_path, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path)
        raise


def download_emnist(
    destination: str | os.PathLike[str] | None = None,
    *,
    urls: Sequence[str] | None = None,
    expected_sha256: str | None = None,
    timeout: float = 60.0,
    progress: bool = True,
) -> str:
    """Download NIST's EMNIST archive, verify its SHA-256, and return where it was saved.

    Parameters
    ----------
    destination : target file; default the ``emnist`` cache, ``~/.cache/emnist/emnist.zip``.
    urls : URLs to try in order; default :func:`download_urls`.
    expected_sha256 : digest the download must have; default :data:`ARCHIVE_SHA256`, the
        digest of NIST's complete ``gzip.zip``.
    timeout : seconds to wait for the server before giving up on a URL.
    progress : show a tqdm progress bar.

    Raises
    ------
    DownloadError
        If no URL delivered a file with the expected digest; nothing is then left at
        ``destination``.
    """
    destination = (
        os.fspath(destination) if destination is not None else emnist_cache_path()
    )
    urls = download_urls() if urls is None else list(urls)
    expected = (expected_sha256 or ARCHIVE_SHA256).lower()
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    failures = []
    for url in urls:
        try:
            _download_one(
                url, destination, expected, timeout=timeout, progress=progress
            )
        except (
            OSError,
            ValueError,
            http.client.HTTPException,
        ) as error:  # URLError is an OSError
            failures.append(f"{url}: {error}")
        else:
            return destination
    raise DownloadError(
        "Could not download EMNIST:\n  " + "\n  ".join(failures or ["no URL"])
    )


def ensure_emnist(*, progress: bool = True) -> str:
    """Make sure the ``emnist`` cache file exists, downloading it if needed; return its path.

    Raises
    ------
    FileNotFoundError
        If the file is absent and the download fails (the message says how else to supply it).
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


def _resolve_archive(
    path: str | os.PathLike[str] | None, download: bool
) -> tuple[str, str]:
    """Return ``(archive path, origin)``, downloading only if nothing local is found."""
    found = locate_archive(path)
    if found is not None:
        return found
    if not download:
        raise FileNotFoundError(missing_data_message("download=False"))
    return ensure_emnist(), "download"


# --------------------------------------------------------------------------- reading the archive


def member_name(split: str, usage: str, content: str) -> str:
    """Name of an archive member, e.g. ``gzip/emnist-mnist-test-images-idx3-ubyte.gz``.

    ``usage`` is ``"train"`` or ``"test"``; ``content`` is ``"images"`` or ``"labels"``.
    """
    ndim = 3 if content == "images" else 1
    return f"gzip/emnist-{split}-{usage}-{content}-idx{ndim}-ubyte.gz"


def mapping_name(split: str) -> str:
    """Name of the archive member mapping labels to characters for ``split``."""
    return f"gzip/emnist-{split}-mapping.txt"


def _open_archive(path: str) -> zipfile.ZipFile:
    """Open ``path`` as a zip archive, turning a corrupt file into a clear ``ValueError``."""
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{path} is not a valid zip archive ({error}); {GET_A_GOOD_COPY}"
        ) from error


def _splits_in(archive: zipfile.ZipFile) -> list[str]:
    """Names of the splits that have a test-images member in the archive."""
    return [s for s in SPLITS if member_name(s, "test", "images") in archive.NameToInfo]


# The largest file in NIST's archive: the byclass/bymerge training images, 697,932 x 28 x 28 bytes
# plus the 16-byte IDX header. A member that is, or decompresses to, more than that is not EMNIST
# (for instance a "zip bomb", a few kB that expand to gigabytes): reading stops at this size.
MAX_MEMBER_BYTES = 697_932 * 28 * 28 + 16


def _read_member(archive: zipfile.ZipFile, member: str, path: str) -> bytes:
    """Read one member's bytes (the zip's CRC-32 is checked), or raise a clear ``ValueError``.

    NIST's archive holds plain (stored or deflated) members, so a member that is encrypted
    (``zipfile`` raises ``RuntimeError``) or uses an unknown compression method
    (``NotImplementedError``) means a damaged file, just like a bad CRC or a truncated member.
    """
    if member not in archive.NameToInfo:
        raise MissingMemberError(
            f"{member} is missing from {path} (splits present: "
            f"{', '.join(_splits_in(archive)) or 'none'})"
        )
    size = archive.getinfo(member).file_size  # zipfile never returns more than this
    if size > MAX_MEMBER_BYTES:
        raise ValueError(
            f"{member} in {path} declares {size:,} bytes, more than the largest EMNIST "
            f"file ({MAX_MEMBER_BYTES:,}); {GET_A_GOOD_COPY}"
        )
    try:
        return archive.read(member)
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ) as error:
        raise ValueError(
            f"cannot read {member} from {path}: {error}; {GET_A_GOOD_COPY}"
        ) from error


def _read_idx_member(archive: zipfile.ZipFile, member: str, path: str) -> np.ndarray:
    """Decompress one ``.gz`` member and parse it as IDX, naming file and member on error."""
    compressed = _read_member(archive, member, path)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            raw = stream.read(MAX_MEMBER_BYTES + 1)  # never more (see MAX_MEMBER_BYTES)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(
            f"{member} in {path} is not a valid gzip file: {error}"
        ) from error
    if len(raw) > MAX_MEMBER_BYTES:
        raise ValueError(
            f"{member} in {path} decompresses to more than the largest EMNIST file "
            f"({MAX_MEMBER_BYTES:,} bytes); {GET_A_GOOD_COPY}"
        )
    try:
        return read_idx(raw)
    except ValueError as error:
        raise ValueError(f"{member} in {path}: {error}") from error


def parse_mapping(text: str) -> dict[int, str]:
    """Parse a mapping file: lines ``label ascii_code [ascii_code ...]`` -> ``{label: chars}``.

    Most splits have one code per label (``"10 65"`` means label 10 is ``"A"``); ``letters``
    lists the upper- and lower-case codes (``"1 65 97"`` becomes ``"Aa"``).
    """
    mapping = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not all(f.isdigit() for f in fields):
            raise ValueError(f"line {line_number} is not 'label ascii_code': {line!r}")
        label, *codes = (int(f) for f in fields)
        mapping[label] = "".join(chr(code) for code in codes)
    if not mapping:
        raise ValueError("the mapping is empty")
    return mapping


def _read_mapping(archive: zipfile.ZipFile, split: str, path: str) -> dict[int, str]:
    """Read and parse the mapping member of ``split``."""
    member = mapping_name(split)
    content = _read_member(
        archive, member, path
    )  # its errors already name file and member
    try:
        return parse_mapping(content.decode("ascii"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{member} in {path} is not ASCII text: {error}") from error
    except ValueError as error:
        raise ValueError(f"{member} in {path}: {error}") from error


def _read_part(
    archive: zipfile.ZipFile, split: str, usage: str, path: str
) -> tuple[np.ndarray, np.ndarray]:
    """Read the upright images and int64 labels of one part (train or test) of a split.

    A part whose images and labels are both absent is returned empty (shape ``(0, 28, 28)``).
    """
    images_member = member_name(split, usage, "images")
    labels_member = member_name(split, usage, "labels")
    has_images = images_member in archive.NameToInfo
    has_labels = labels_member in archive.NameToInfo
    if not has_images and not has_labels:
        return np.empty((0, *IMAGE_SHAPE), dtype=np.uint8), np.empty(0, dtype=np.int64)
    images = _read_idx_member(
        archive, images_member, path
    )  # raises if only labels exist
    labels = _read_idx_member(
        archive, labels_member, path
    )  # raises if only images exist
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{images_member} in {path} holds {images.dtype} {images.shape}, "
            f"expected uint8 (N, 28, 28)"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{labels_member} in {path} holds {labels.dtype} {labels.shape}, "
            f"expected integer labels (N,)"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"EMNIST {split} {usage} in {path}: {len(images):,} images but {len(labels):,} labels"
        )
    # NIST stores every image transposed (column by column); swap rows and columns back and make
    # a contiguous, writable copy. A copy is needed anyway: read_idx returns a read-only view.
    upright = np.ascontiguousarray(images.transpose(0, 2, 1))
    return upright, labels.astype(np.int64)


def _check_labels(labels: np.ndarray, mapping: dict[int, str], where: str) -> None:
    """Raise ``ValueError`` if some label has no entry in the mapping."""
    unknown = np.setdiff1d(np.unique(labels), np.fromiter(mapping, dtype=np.int64))
    if unknown.size:
        raise ValueError(
            f"{where}: labels {unknown[:10].tolist()} are not in the mapping "
            f"(which has labels {min(mapping)}..{max(mapping)})"
        )


def _check_split(split: Any) -> str:
    """Return ``split`` if it names an EMNIST split, else raise ``ValueError``."""
    if split not in OFFICIAL_COUNTS:
        raise ValueError(
            f"unknown EMNIST split {split!r}; valid splits: {', '.join(SPLITS)}"
        )
    return split


def load_emnist(
    split: str = "balanced",
    *,
    path: str | os.PathLike[str] | None = None,
    download: bool = True,
    verbose: bool = True,
) -> EMNIST:
    """Load one EMNIST split from NIST's zip archive.

    Parameters
    ----------
    split : one of :data:`SPLITS`: ``"balanced"`` (47 classes), ``"letters"``, ``"digits"``,
        ``"mnist"``, ``"byclass"`` (62 classes) or ``"bymerge"`` (47 classes).
    path : the archive to read; if omitted it is searched for as described in the module
        docstring (``NNLIB_EMNIST_PATH``, the emnist cache, the offline copy).
    download : if no archive is found, download NIST's (about 536 MiB, SHA-256 verified) into
        the emnist cache, ``~/.cache/emnist/emnist.zip``.
    verbose : print one line saying which file was read and whether each part is complete.

    Returns
    -------
    EMNIST
        Upright ``uint8`` images, ``int64`` labels, the label -> character mapping, and a
        :class:`DataSource`. A part (train or test) absent from the archive is empty and
        reported as ``MISSING``; a part with fewer samples than NIST's is ``PARTIAL``.

    Raises
    ------
    ValueError
        Unknown split; corrupt archive, gzip or IDX data (the message names file and member);
        image and label counts that differ; labels missing from the mapping.
    MissingMemberError
        The archive does not hold the split (also a ``ValueError`` and a ``KeyError``).
    FileNotFoundError
        No archive was found and it could not be (or was not allowed to be) downloaded.
    """
    split = _check_split(split)
    archive_path, origin = _resolve_archive(path, download)
    with _open_archive(archive_path) as archive:
        if not any(
            member_name(split, u, "images") in archive.NameToInfo
            for u in ("train", "test")
        ):
            raise MissingMemberError(
                f"{archive_path} holds no EMNIST {split!r} images: "
                f"{member_name(split, 'test', 'images')} is missing "
                f"(splits present: {', '.join(_splits_in(archive)) or 'none'})"
            )
        mapping = _read_mapping(archive, split, archive_path)
        x_train, y_train = _read_part(archive, split, "train", archive_path)
        x_test, y_test = _read_part(archive, split, "test", archive_path)
    _check_labels(y_train, mapping, f"EMNIST {split} train in {archive_path}")
    _check_labels(y_test, mapping, f"EMNIST {split} test in {archive_path}")
    official_train, official_test = OFFICIAL_COUNTS[split]
    source = DataSource(
        path=archive_path,
        sha256=file_sha256(archive_path),
        origin=origin,
        train_complete=len(y_train) == official_train,
        test_complete=len(y_test) == official_test,
        n_train=len(y_train),
        n_test=len(y_test),
        official_train=official_train,
        official_test=official_test,
    )
    data = EMNIST(x_train, y_train, x_test, y_test, mapping, split, source)
    if verbose:
        print(data.summary())
    return data


# --------------------------------------------------------------------------- preparing batches


def to_float32(images: np.ndarray) -> np.ndarray:
    """Flatten ``uint8`` images to ``(N, 784)`` float32 values in ``[0, 1]``.

    Computes ``images * float32(1/255)`` directly in float32. Beware of the obvious
    ``images / 255.0``: dividing by a Python float silently gives float64, twice the memory and
    a slower network for no gain.

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


def _check_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``x`` has one sample per label in the 1-D integer array ``y``."""
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must be a 1-D array of integer labels, got {y.dtype} {y.shape}"
        )
    if x.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length, got x {x.shape} and y {y.shape}"
        )
    return x, y


def train_val_split(
    x: np.ndarray,
    y: np.ndarray,
    *,
    val_fraction: float = 0.1,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a stratified validation set: every class keeps the same proportion.

    How it works, without a loop: shuffle the indices, then sort them *stably* by label. Each
    class now forms one block whose order inside is random, and the first
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
    x, y = _check_pair(x, y)
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

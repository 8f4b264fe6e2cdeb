"""Reading EMNIST from NIST's zip archive into arrays.

EMNIST (Cohen, Afshar, Tapson & van Schaik, 2017) extends MNIST to handwritten letters.
NIST distributes it as one zip archive, ``gzip.zip`` (about 536 MiB), whose members are
gzip-compressed IDX files (see :mod:`nnlib.idx`)::

    gzip/emnist-<split>-<train|test>-images-idx3-ubyte.gz  uint8 (N, 28, 28), transposed
    gzip/emnist-<split>-<train|test>-labels-idx1-ubyte.gz  uint8 (N,)
    gzip/emnist-<split>-mapping.txt                        lines "label ascii_code"

:func:`load_emnist` finds the archive (:mod:`nnlib.download`), reads one split and
returns an :class:`EMNIST`: upright ``uint8`` images (a quarter of the memory of
float32), ``int64`` labels, the label -> character mapping, and a :class:`DataSource`
that says which file was read and whether each part is complete.

An archive is untrusted input: every member is checked (zip CRC, gzip stream, IDX
header, shapes, labels) and none may be, or decompress to, more than the largest file
in NIST's archive, so a damaged or hostile file gets a clear ``ValueError`` in bounded
memory and time.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .download import file_sha256, resolve_archive
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

GET_A_GOOD_COPY = (
    "it may be a truncated or corrupt download: delete it and supply NIST's "
    "gzip.zip again"
)
"""The advice every corrupt-archive error ends with."""

# The largest file in NIST's archive: the byclass/bymerge training images, 697,932 x 28
# x 28 bytes plus the 16-byte IDX header. A member that is, or decompresses to, more
# than that is not EMNIST (e.g. a "zip bomb", a few kB that expand to gigabytes).
MAX_MEMBER_BYTES = 697_932 * 28 * 28 + 16


class MissingMemberError(KeyError, ValueError):
    """A file the loader needs is not in the archive.

    It is both a ``KeyError`` (what ``zipfile`` raises for an unknown member) and a
    ``ValueError`` (what every other data problem raises), so either ``except`` works.
    """

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class DataSource:
    """Where a loaded data set came from and how complete it is.

    Attributes
    ----------
    path : the zip archive that was read (printed only as :attr:`file_name`).
    sha256 : SHA-256 of that archive, to tell exactly which file a result came from.
    origin : how the archive was found, one of :data:`nnlib.download.ORIGINS`.
    train_complete, test_complete : whether each part has the official sample count.
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

    @property
    def file_name(self) -> str:
        """The archive's file name without its folder, e.g. ``emnist.zip``.

        Summaries show this, not :attr:`path`: an absolute path would put the user's
        name and folders into notebooks, logs and reports that others read.
        """
        return os.path.basename(self.path)


# eq=False: comparing arrays with == gives arrays, not a bool
@dataclass(frozen=True, eq=False)
class EMNIST:
    """One EMNIST split, held in memory as ``uint8`` images and ``int64`` labels.

    Attributes
    ----------
    x_train, x_test : ``uint8`` arrays ``(N, 28, 28)``, upright (row 0 is the top).
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
        ``letters``, whose labels run from 1 to 26 (label 0 is unused: 27 classes).
        """
        return max(self.mapping) + 1

    def summary(self) -> str:
        """One line: split, file, origin, and how many samples each part holds."""
        s = self.source
        return (
            f"EMNIST {self.split} from {s.file_name} ({s.origin}): "
            f"train {_count(s.n_train, s.official_train)}, "
            f"test {_count(s.n_test, s.official_test)}"
        )

    def describe(self) -> str:
        """A multi-line, human-readable summary of the split and of its source file."""
        s = self.source
        return "\n".join(
            [
                f"EMNIST split {self.split!r}: {self.n_classes} classes, "
                f"images 28x28 uint8",
                f"  file:   {s.file_name}",
                f"  origin: {s.origin}",
                f"  sha256: {s.sha256}",
                f"  train:  {_count(s.n_train, s.official_train, 'official samples')}",
                f"  test:   {_count(s.n_test, s.official_test, 'official samples')}",
            ]
        )


def _count(n: int, official: int, unit: str = "") -> str:
    """``9,120 of 112,800 (PARTIAL)``: the count, the official one and the status."""
    if n == official:
        status = "COMPLETE"
    elif n == 0:
        status = "MISSING"
    else:
        status = "PARTIAL" if n < official else "MORE THAN OFFICIAL"
    return f"{n:,} of {official:,} {unit + ' ' if unit else ''}({status})"


# ------------------------------------------------------------------ archive members


def member_name(split: str, usage: str, content: str) -> str:
    """Name of an archive member, e.g. ``gzip/emnist-mnist-test-images-idx3-ubyte.gz``.

    ``usage`` is ``"train"`` or ``"test"``; ``content`` is ``"images"`` or ``"labels"``.
    """
    ndim = 3 if content == "images" else 1
    return f"gzip/emnist-{split}-{usage}-{content}-idx{ndim}-ubyte.gz"


def mapping_name(split: str) -> str:
    """Name of the archive member mapping labels to characters for ``split``."""
    return f"gzip/emnist-{split}-mapping.txt"


def parse_mapping(text: str) -> dict[int, str]:
    """Parse a mapping file: lines ``label code [code ...]`` -> ``{label: chars}``.

    Most splits have one code per label (``"10 65"``: label 10 is ``"A"``); ``letters``
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


def upright(images: np.ndarray) -> np.ndarray:
    """NIST's images ``(N, 28, 28)`` the right way up, as a contiguous, writable copy.

    NIST stores every image transposed (column by column): swapping the last two axes
    puts row 0 at the top. (A copy is needed anyway: ``read_idx`` returns a read-only
    view of the file's bytes.)
    """
    return np.ascontiguousarray(images.transpose(0, 2, 1))


# ---------------------------------------------------------------- reading, with guards


def _open_archive(path: str) -> zipfile.ZipFile:
    """Open ``path`` as a zip archive, turning a corrupt file into a ``ValueError``."""
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{path} is not a valid zip archive ({error}); {GET_A_GOOD_COPY}"
        ) from error


def _splits_in(archive: zipfile.ZipFile) -> str:
    """The splits with a test-images member in the archive, comma-separated."""
    names = archive.NameToInfo
    present = [s for s in SPLITS if member_name(s, "test", "images") in names]
    return ", ".join(present) or "none"


def _read_member(archive: zipfile.ZipFile, member: str, path: str) -> bytes:
    """Read one member's bytes (the zip's CRC-32 is checked), or raise ``ValueError``.

    NIST's archive holds plain (stored or deflated) members, so a member that is
    encrypted (``RuntimeError``) or uses an unknown compression method
    (``NotImplementedError``) is a damaged file, like a bad CRC or a truncated member.
    """
    if member not in archive.NameToInfo:
        raise MissingMemberError(
            f"{member} is missing from {path} (splits present: {_splits_in(archive)})"
        )
    size = archive.getinfo(member).file_size  # zipfile never returns more than this
    if size > MAX_MEMBER_BYTES:
        raise ValueError(
            f"{member} in {path} declares {size:,} bytes, more than the largest "
            f"EMNIST file ({MAX_MEMBER_BYTES:,}); {GET_A_GOOD_COPY}"
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
    """Decompress one ``.gz`` member and parse it as IDX, naming file and member."""
    compressed = _read_member(archive, member, path)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            raw = stream.read(MAX_MEMBER_BYTES + 1)  # never more: see MAX_MEMBER_BYTES
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
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


def _read_mapping(archive: zipfile.ZipFile, split: str, path: str) -> dict[int, str]:
    """Read and parse the mapping member of ``split``."""
    member = mapping_name(split)
    content = _read_member(archive, member, path)  # its errors name file and member
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

    A part whose images and labels are both absent is returned empty, ``(0, 28, 28)``.
    """
    images_member = member_name(split, usage, "images")
    labels_member = member_name(split, usage, "labels")
    names = archive.NameToInfo
    if images_member not in names and labels_member not in names:
        return np.empty((0, *IMAGE_SHAPE), dtype=np.uint8), np.empty(0, dtype=np.int64)
    # Each read raises MissingMemberError if only the other member exists.
    images = _read_idx_member(archive, images_member, path)
    labels = _read_idx_member(archive, labels_member, path)
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
            f"EMNIST {split} {usage} in {path}: {len(images):,} images but "
            f"{len(labels):,} labels"
        )
    return upright(images), labels.astype(np.int64)


def _check_in_mapping(labels: np.ndarray, mapping: dict[int, str], where: str) -> None:
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
    return str(split)


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
    split : one of :data:`SPLITS`: ``"balanced"`` (47 classes), ``"letters"``,
        ``"digits"``, ``"mnist"``, ``"byclass"`` (62 classes) or ``"bymerge"`` (47).
    path : the archive to read; if omitted it is searched for as described in
        :mod:`nnlib.download` (``NNLIB_EMNIST_PATH``, then the emnist cache).
    download : if no archive is found, download NIST's (about 536 MiB, SHA-256
        verified) into the emnist cache, ``~/.cache/emnist/emnist.zip``.
    verbose : print one line saying which file was read and whether each part is
        complete.

    Returns
    -------
    EMNIST
        Upright ``uint8`` images, ``int64`` labels, the label -> character mapping, and
        a :class:`DataSource`. A part (train or test) absent from the archive is empty
        and reported as ``MISSING``; one with fewer samples than NIST's is ``PARTIAL``.

    Raises
    ------
    ValueError
        Unknown split; corrupt archive, gzip or IDX data (the message names file and
        member); image and label counts that differ; labels missing from the mapping.
    MissingMemberError
        The archive does not hold the split (also a ``ValueError`` and a ``KeyError``).
    FileNotFoundError
        No archive was found and it could not be (or was not allowed to be) downloaded.
    """
    split = _check_split(split)
    archive_path, origin = resolve_archive(path, download=download)
    with _open_archive(archive_path) as archive:
        images = [member_name(split, u, "images") for u in ("train", "test")]
        if not any(name in archive.NameToInfo for name in images):
            raise MissingMemberError(
                f"{archive_path} holds no EMNIST {split!r} images: {images[1]} is "
                f"missing (splits present: {_splits_in(archive)})"
            )
        mapping = _read_mapping(archive, split, archive_path)
        x_train, y_train = _read_part(archive, split, "train", archive_path)
        x_test, y_test = _read_part(archive, split, "test", archive_path)
    _check_in_mapping(y_train, mapping, f"EMNIST {split} train in {archive_path}")
    _check_in_mapping(y_test, mapping, f"EMNIST {split} test in {archive_path}")
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

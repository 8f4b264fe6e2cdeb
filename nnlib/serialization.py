"""Saving and loading layers as ``.npz`` files, safely.

A model file is an ordinary, uncompressed NumPy ``.npz`` archive holding

* ``architecture``: a JSON string,
  ``{"format": ..., "layers": [{"type": "Dense", "config": {...}}, ...]}``;
* one array per parameter, named like ``"0.W"`` (layer index, key);
* ``sha256``: a digest of the two above, so a truncated or edited file is detected.

Loading trusts nothing in the file. It never unpickles, and rebuilds layers only from
a fixed list of known classes, so opening someone else's model can never run their
code. It reads the architecture first, and from it the parameter shapes
(``Layer.parameter_shapes``), then each array only if its header declares exactly that
shape. Members must be stored uncompressed, as ``np.savez`` writes them, so no member
holds more bytes than the file itself (a "zip bomb" cannot expand): memory and time
stay bounded by the file's size and by what its architecture allows. Saving writes a
temporary file and renames it into place (``_files.atomic_write``).

This module works on lists of layers; ``Sequential.save`` and ``Sequential.load`` use
it. ``NpzReader`` is shared with ``nnlib.checkpoint``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._files import atomic_write
from ._validation import check_float_array
from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .dense import Dense
from .dropout import Dropout
from .layer import Layer

FORMAT = "nnlib-sequential-v1"
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout)
}
#: Longest JSON text member (architecture, history, ...) read, in characters.
MAX_TEXT = 2**22
_PARAMETER_NAME = re.compile(r"\d+\.\w+")  # "0.W", as Sequential.parameters names it


# ---------------------------------------------------------------- reading .npz safely
def _open_regular_file(path: Path) -> IO[bytes]:
    """Open ``path`` for reading, refusing anything but a regular file.

    ``O_NONBLOCK`` makes opening a named pipe return at once instead of waiting for a
    writer forever; the check then runs on the opened file itself (no race).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file (a pipe or a directory?)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NpzReader:
    """An ``.npz`` archive (``np.savez``) read member by member, trusting nothing.

    Opening reads only the zip directory. ``array`` and ``text`` read one member: its
    ``.npy`` header first, which must declare what the caller expects (a shape, or at
    most ``max_chars`` characters) and agree with the size the directory declares;
    then exactly that many bytes. Damage of any kind raises ``ValueError`` naming the
    file; a missing file keeps its ``FileNotFoundError``.

    Parameters
    ----------
    path : the archive.
    what : what it should be, for messages (``"nnlib model file"``, ``"checkpoint"``).
    """

    def __init__(self, path: str | Path, what: str) -> None:
        self.path, self.what = Path(path), what
        try:
            self._file = _open_regular_file(self.path)
        except FileNotFoundError:
            raise
        except OSError as err:
            raise self.error(f"{type(err).__name__}: {err}") from err
        try:
            self._zip = zipfile.ZipFile(self._file)
            members = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            reason = f"{type(err).__name__}: {err}"
            if self._file.seek(0) == 0 and self._file.read(6) == b"\x93NUMPY":
                reason = "it holds a single array (.npy), not an .npz archive"
            self._file.close()
            raise self.error(reason) from err
        self._members = {m.filename.removesuffix(".npy"): m for m in members}
        #: Names of the members, without ``.npy``.
        self.names = set(self._members)

    def error(self, reason: str) -> ValueError:
        """The ``ValueError`` for a damaged or foreign archive."""
        return ValueError(f"{self.path} is not a readable {self.what} ({reason})")

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype that member ``name`` declares (its data is not read)."""
        with self._open(name) as (_, shape, dtype):
            return shape, dtype

    def array(self, name: str, shape: tuple[int, ...], kinds: str = "f") -> np.ndarray:
        """Member ``name``, which must have ``shape`` and a dtype of one of ``kinds``.

        ``kinds`` are NumPy's dtype kinds: ``"f"`` floating point, ``"i"`` integer.
        """
        with self._open(name) as (f, stored, dtype):
            if stored != shape or dtype.kind not in kinds:
                raise self.error(
                    f"{name} holds {dtype} of shape {stored}, expected shape {shape}"
                )
            return self._data(f, name, shape, dtype)

    def text(self, name: str, max_chars: int = MAX_TEXT) -> str:
        """Member ``name``: one string (``np.array(text)``) of at most ``max_chars``."""
        with self._open(name) as (f, shape, dtype):
            n_chars = dtype.itemsize // 4
            if shape != () or dtype.kind != "U" or n_chars > max_chars:
                raise self.error(
                    f"{name} should be a text of at most {max_chars:,} characters, "
                    f"but holds {dtype} of shape {shape}"
                )
            return str(self._data(f, name, shape, dtype)[()])

    def _open(self, name: str) -> _OpenMember:
        """Open member ``name`` and read its ``.npy`` header (see ``_OpenMember``)."""
        if name not in self._members:
            raise self.error(f"it has no {name!r} entry")
        return _OpenMember(self, self._members[name])

    def _data(
        self, f: IO[bytes], name: str, shape: tuple[int, ...], dtype: np.dtype
    ) -> np.ndarray:
        """The array: exactly the bytes its header declares, then the entry's end."""
        n_bytes = math.prod(shape) * dtype.itemsize
        try:
            data = f.read(n_bytes)
            if len(data) != n_bytes or f.read(1):
                raise self.error(f"{name} holds more or fewer bytes than it declares")
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
            raise self.error(f"{name}: {type(err).__name__}: {err}") from err
        return np.frombuffer(data, dtype).reshape(shape)

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _OpenMember:
    """``with _OpenMember(reader, info) as (f, shape, dtype)``: past the header.

    Refused before anything large is read: compressed members (nnlib never writes them,
    and only they can expand beyond the file's size), object arrays (pickles), Fortran
    order, and headers whose data size disagrees with the zip directory.
    """

    def __init__(self, reader: NpzReader, info: zipfile.ZipInfo) -> None:
        self.reader, self.info, self.name = reader, info, info.filename
        if info.compress_type != zipfile.ZIP_STORED:
            raise reader.error(f"{self.name} is compressed; nnlib's files never are")

    def __enter__(self) -> tuple[IO[bytes], tuple[int, ...], np.dtype]:
        fmt = np.lib.format
        try:
            self.f = self.reader._zip.open(self.info)
            version = fmt.read_magic(self.f)
            read_header = {
                (1, 0): fmt.read_array_header_1_0,
                (2, 0): fmt.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = read_header(self.f)
            data_size = math.prod(shape) * dtype.itemsize
            declared = self.info.file_size - self.f.tell()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as err:
            self.__exit__()
            raise self.reader.error(f"{self.name}: {err}") from err
        if dtype.hasobject or fortran or data_size != declared:
            self.__exit__()
            raise self.reader.error(
                f"{self.name} declares {data_size:,} bytes of {dtype} "
                f"(fortran order: {fortran}) in an entry of {declared:,}"
            )
        return self.f, shape, dtype

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "f"):
            self.f.close()


# ---------------------------------------------------------------------- model files
def _digest(architecture: str, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the architecture and of each array's name, dtype, shape, bytes."""
    h = hashlib.sha256(architecture.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _named_parameters(layers: Sequence[Layer]) -> dict[str, np.ndarray]:
    """Every parameter by the name ``Sequential.parameters`` gives it (``"0.W"``)."""
    return {
        p.name: p.value
        for i, layer in enumerate(layers)
        for p in layer.parameters(f"{i}.")
    }


def save_layers(layers: Sequence[Layer], path: str | Path) -> None:
    """Save ``layers`` to ``path`` (written exactly there, e.g. ``"model.npz"``)."""
    entries = [
        {"type": type(layer).__name__, "config": layer.get_config()} for layer in layers
    ]
    for layer in layers:
        if LAYER_TYPES.get(type(layer).__name__) is not type(layer):
            raise TypeError(
                f"cannot save layer type {type(layer).__name__}: "
                f"only {sorted(LAYER_TYPES)}"
            )
    architecture = json.dumps({"format": FORMAT, "layers": entries})
    params = _named_parameters(layers)
    digest = _digest(architecture, params)
    arrays: dict[str, Any] = {"architecture": np.array(architecture)}
    arrays |= {"sha256": np.array(digest), **params}
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _parse_architecture(text: str) -> tuple[list[dict[str, Any]], dict[str, tuple]]:
    """The layer entries of an architecture JSON and the parameter shapes they imply.

    Nothing is built: ``Layer.parameter_shapes`` reads each entry's config.
    Raises ``ValueError``, ``TypeError``, ``KeyError`` or ``RecursionError``.
    """
    spec = json.loads(text)
    if not isinstance(spec, dict):
        raise ValueError(f"expected a JSON object, got {type(spec).__name__}")
    if spec.get("format") != FORMAT:
        raise ValueError(f"unknown format {spec.get('format')!r}, expected {FORMAT!r}")
    entries = spec["layers"]
    if not isinstance(entries, list):
        raise ValueError(f"'layers' must be a list, got {type(entries).__name__}")
    shapes: dict[str, tuple] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise ValueError(f"layers[{i}] must be {{'type': ..., 'config': {{...}}}}")
        cls = LAYER_TYPES.get(entry.get("type"))  # type: ignore[arg-type]
        if cls is None:
            raise ValueError(f"layers[{i}] has unknown type {entry.get('type')!r}")
        for key, shape in cls.parameter_shapes(entry["config"]).items():
            shapes[f"{i}.{key}"] = shape
    return entries, shapes


def load_layers(path: str | Path) -> list[Layer]:
    """Load layers written by ``save_layers``, checking everything (see module doc).

    Raises ``ValueError`` for any damaged, foreign or hostile file, naming the file
    (``FileNotFoundError`` if there is none).
    """
    path = Path(path)
    with NpzReader(path, "nnlib model file") as archive:
        for key in ("architecture", "sha256"):
            if key not in archive.names:
                raise ValueError(
                    f"{path} is not an nnlib model file: it has no '{key}' entry"
                )
        stored = archive.names - {"architecture", "sha256"}
        strange = sorted(n for n in stored if not _PARAMETER_NAME.fullmatch(n))
        if strange:
            raise archive.error(f"unexpected entries {strange}")
        architecture = archive.text("architecture")
        digest = archive.text("sha256", max_chars=64)
        try:
            entries, shapes = _parse_architecture(architecture)
        except (ValueError, TypeError, KeyError, RecursionError) as err:
            reason = "nested too deeply" if isinstance(err, RecursionError) else err
            raise ValueError(f"{path} has an invalid architecture: {reason}") from None
        # The digest is a checksum, not a signature: a forged file can declare any
        # architecture. Shapes are compared before reading arrays or building layers.
        if set(shapes) != stored:
            raise ValueError(
                f"{path} holds {len(stored)} parameter arrays {sorted(stored)} but its "
                f"architecture needs {len(shapes)}: {sorted(shapes)}"
            )
        for name, shape in shapes.items():
            if archive.header(name)[0] != shape:
                raise ValueError(
                    f"{path}: the architecture needs parameter {name} of shape "
                    f"{shape}, but the file stores shape {archive.header(name)[0]}"
                )
        arrays = {name: archive.array(name, shape) for name, shape in shapes.items()}
    if _digest(architecture, arrays) != digest:
        raise ValueError(
            f"{path} failed its integrity check: the file was modified or corrupted"
        )
    for name, array in arrays.items():  # NaN weights would predict class 0 for all
        check_float_array(array, f"{path}: parameter {name}")
    return _build(entries, arrays, path)


def _build(
    entries: list[dict[str, Any]], arrays: dict[str, np.ndarray], path: Path
) -> list[Layer]:
    """Construct the layers of checked ``entries`` and copy ``arrays`` into them."""
    try:
        layers = [LAYER_TYPES[entry["type"]](**entry["config"]) for entry in entries]
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path} has an invalid architecture: {err}") from err
    for name, value in _named_parameters(layers).items():
        stored = arrays[name]
        if stored.dtype != value.dtype:
            raise ValueError(
                f"{path}: parameter {name} has dtype {stored.dtype}, but its "
                f"architecture says {value.dtype}"
            )
        value[...] = stored  # in place: layers keep their own arrays
    return layers

"""A minimal reader and writer for the IDX file format used by MNIST and EMNIST.

IDX is about the simplest possible container for an n-dimensional array: a short
binary header that says *what kind* of numbers follow and *how many along each axis*,
then the numbers themselves, one after the other, in C (row-major) order. Byte by byte:

====================  =======  =========================================================
bytes                 example  meaning
====================  =======  =========================================================
0-1                   00 00    magic: always two zero bytes
2                     08       dtype code (table below)
3                     03       ndim, the number of dimensions (3 for a stack of images)
4 .. 4+4*ndim-1       ...      one big-endian unsigned 32-bit integer per dimension
rest                  ...      prod(dims) values of that dtype, big-endian, row-major
====================  =======  =========================================================

The dtype codes are ``0x08`` unsigned byte, ``0x09`` signed byte, ``0x0B`` int16,
``0x0C`` int32, ``0x0D`` float32 and ``0x0E`` float64. Multi-byte values are
*big-endian* (most significant byte first), the opposite of the x86/ARM machines most
of us use.

For example, the EMNIST file of 10,000 test images starts with the 16 bytes::

    00 00 08 03  00 00 27 10  00 00 00 1c  00 00 00 1c
    magic  u8 3D  N = 10000    rows = 28    cols = 28

followed by 10000 * 28 * 28 = 7,840,000 pixel bytes. A label file has ``ndim = 1``::

    00 00 08 01  00 00 27 10   then 10,000 label bytes.

Reading therefore needs no loop at all: parse the header, check that the number of
data bytes matches what the header promises, and let ``np.frombuffer`` view the rest as
an array.
"""

from __future__ import annotations

import gzip
import math
import zlib
from typing import BinaryIO

import numpy as np

MAGIC = b"\x00\x00"
"""The first two bytes of every IDX file."""

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX dtype code -> big-endian NumPy dtype of the stored values."""

IDX_CODES: dict[np.dtype, int] = {
    dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()
}
"""Native-byte-order NumPy dtype -> IDX dtype code (the inverse of ``IDX_DTYPES``)."""


READ_CHUNK_BYTES = 1 << 24
"""File objects are read 16 MiB at a time (see :func:`_read_stream`)."""


def _as_bytes(
    source: bytes | bytearray | memoryview | BinaryIO,
) -> bytes | bytearray | memoryview:
    """Return the raw bytes of ``source``, reading it first if it is a file object.

    A compressed file object (``gzip.open(p)``) whose stream is truncated or corrupt
    raises ``EOFError``, ``gzip.BadGzipFile`` or ``zlib.error`` while it is read; these
    become the ``ValueError`` that :func:`read_idx` documents for every damaged file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source
    if hasattr(source, "read"):
        try:
            return _read_stream(source)
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise ValueError(
                f"truncated or corrupt compressed IDX file: {error}"
            ) from error
    raise TypeError(
        f"read_idx expects bytes or a binary file object, got {type(source).__name__}"
    )


def _read_stream(stream: BinaryIO) -> bytes:
    """Read the header of an IDX file object, then no more data than it promises.

    A file longer than its header says is refused after one extra byte, so a corrupt
    or hostile gzip stream (a few kB that expand to gigabytes) costs little memory and
    time. Reading in chunks keeps memory in step with the bytes actually there, even
    when the header promises an absurd size.
    """
    header = stream.read(4)
    if len(header) == 4:
        header += stream.read(4 * header[3])  # the dimensions
    dtype, dims, _ = parse_header(header)
    expected = math.prod(dims) * dtype.itemsize
    chunks, n_read = [header], 0
    while n_read <= expected:
        chunk = stream.read(min(expected + 1 - n_read, READ_CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        n_read += len(chunk)
    if n_read > expected:
        raise _length_error(dtype, dims, "more than that")
    return b"".join(chunks)


def _length_error(dtype: np.dtype, dims: tuple[int, ...], got: str) -> ValueError:
    """The error for data whose length is not what the header promises."""
    shape = "x".join(map(str, dims)) or "scalar"
    return ValueError(
        f"IDX data length mismatch: the header promises {shape} values of "
        f"{dtype.name} = {math.prod(dims) * dtype.itemsize:,} bytes, got {got} "
        f"(truncated or corrupt file)"
    )


def parse_header(
    data: bytes | bytearray | memoryview,
) -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse an IDX header.

    Parameters
    ----------
    data : the whole file content (at least the header).

    Returns
    -------
    dtype : big-endian NumPy dtype of the stored values.
    dims : the size of each dimension.
    header_size : number of header bytes, where the values start (``4 + 4 * ndim``).

    Raises
    ------
    ValueError
        If the magic bytes, the dtype code or the header length are wrong.
    """
    if len(data) < 4:
        raise ValueError(
            f"not an IDX file: {len(data)} bytes is shorter than the 4-byte header"
        )
    if bytes(data[:2]) != MAGIC:
        raise ValueError(
            f"not an IDX file: the first two bytes must be 00 00, "
            f"got {bytes(data[:2]).hex(' ')}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"unknown IDX dtype code 0x{code:02X} (known codes: {known})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"truncated IDX header: {ndim} dimensions need {header_size} header bytes, "
            f"got {len(data)} bytes"
        )
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4)
    return IDX_DTYPES[code], tuple(int(d) for d in dims), header_size


def read_idx(source: bytes | bytearray | memoryview | BinaryIO) -> np.ndarray:
    """Read an IDX file into a NumPy array.

    The module docstring describes the format byte by byte.

    Parameters
    ----------
    source : the file content as bytes, or a binary file object (e.g.
        ``open(p, "rb")`` or ``gzip.open(p)``), read up to the end of the data its
        header promises (and one byte more, to detect a file that is too long).

    Returns
    -------
    np.ndarray
        Array of shape ``dims`` in native byte order (``uint8`` for MNIST/EMNIST
        files). For single-byte dtypes it is a zero-copy, *read-only* view of the
        bytes: call ``.copy()`` before modifying it in place.

    Raises
    ------
    ValueError
        Bad magic bytes, unknown dtype code, or a data length that differs from
        ``prod(dims) * itemsize`` (a truncated or corrupt file); the message gives both
        numbers.
    """
    data = _as_bytes(source)
    dtype, dims, header_size = parse_header(data)
    expected = math.prod(dims) * dtype.itemsize
    got = len(data) - header_size
    if got != expected:
        raise _length_error(dtype, dims, f"{got:,} bytes")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(dims)
    if array.dtype.byteorder == ">":  # multi-byte values on a little-endian machine
        array = array.astype(dtype.newbyteorder("="))
    return array


def write_idx(array: np.ndarray) -> bytes:
    """Encode an array as IDX bytes (the inverse of :func:`read_idx`).

    Parameters
    ----------
    array : array of dtype uint8, int8, int16, int32, float32 or float64, with at most
        255 dimensions each smaller than 2**32.

    Returns
    -------
    bytes
        Header (magic, dtype code, ndim, big-endian dims) followed by the values,
        big-endian and in row-major order.

    Raises
    ------
    TypeError
        If the dtype has no IDX code (e.g. int64, uint16, bool).
    ValueError
        If the array has too many dimensions or a dimension is too large.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in IDX_CODES:
        allowed = ", ".join(str(d) for d in IDX_CODES)
        raise TypeError(f"IDX cannot store dtype {array.dtype} (allowed: {allowed})")
    if array.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX dimensions must be < 2**32, got shape {array.shape}")
    code = IDX_CODES[native]
    header = (
        MAGIC
        + bytes([code, array.ndim])
        + np.asarray(array.shape, dtype=">u4").tobytes()
    )
    values = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    return header + values

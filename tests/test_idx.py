"""Tests for the IDX reader/writer (``nnlib.idx``)."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlib.idx import IDX_DTYPES, parse_header, read_idx, write_idx

SUPPORTED_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]

idx_arrays = st.sampled_from(SUPPORTED_DTYPES).flatmap(
    lambda dtype: hnp.arrays(
        dtype=dtype,
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    )
)


@settings(max_examples=200, deadline=None)
@given(idx_arrays)
def test_round_trip_keeps_values_shape_and_dtype(array: np.ndarray) -> None:
    back = read_idx(write_idx(array))
    assert back.shape == array.shape
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)  # NaN == NaN here, as wanted


@settings(max_examples=100, deadline=None)
@given(idx_arrays)
def test_bytes_round_trip_is_exact(array: np.ndarray) -> None:
    encoded = write_idx(array)
    assert write_idx(read_idx(encoded)) == encoded


@settings(max_examples=50, deadline=None)
@given(idx_arrays, st.data())
def test_any_truncation_is_a_value_error(
    array: np.ndarray, data: st.DataObject
) -> None:
    encoded = write_idx(array)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    # The library's own messages, not a ValueError NumPy raises further down by chance.
    with pytest.raises(
        ValueError,
        match=r"shorter than the 4-byte header|truncated IDX header|length mismatch",
    ):
        read_idx(encoded[:cut])


def test_header_layout_byte_by_byte() -> None:
    images = np.zeros((10000, 28, 28), dtype=np.uint8)
    header = write_idx(images)[:16]
    assert header.hex(" ") == "00 00 08 03 00 00 27 10 00 00 00 1c 00 00 00 1c"
    dtype, dims, header_size = parse_header(header)
    assert (dtype, dims, header_size) == (np.dtype("u1"), (10000, 28, 28), 16)


def test_multi_byte_values_are_big_endian_in_the_file_and_native_in_memory() -> None:
    encoded = write_idx(np.array([1, 256], dtype=np.int32))
    assert encoded[4:8] == b"\x00\x00\x00\x02"  # one dimension of size 2
    assert encoded[8:] == b"\x00\x00\x00\x01\x00\x00\x01\x00"
    back = read_idx(encoded)
    assert back.dtype == np.dtype(np.int32) and back.dtype.isnative
    assert back.tolist() == [1, 256]


def test_every_dtype_code_is_supported() -> None:
    assert sorted(IDX_DTYPES) == [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]


def test_reads_from_file_objects_including_gzip() -> None:
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    encoded = write_idx(array)
    np.testing.assert_array_equal(read_idx(io.BytesIO(encoded)), array)
    with gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(encoded))) as file:
        np.testing.assert_array_equal(read_idx(file), array)


def test_truncated_data_reports_expected_and_actual_bytes() -> None:
    encoded = write_idx(np.zeros((3, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"2,352 bytes, got 2,351 bytes"):
        read_idx(encoded[:-1])


def test_trailing_bytes_are_rejected_too() -> None:
    encoded = write_idx(np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError, match=r"20 bytes, got 21 bytes"):
        read_idx(encoded + b"\x00")


def test_a_stream_is_read_no_further_than_its_header_promises() -> None:
    """A gzip stream whose header promises 1 label but that expands to 8 MB is refused
    after reading 2 data bytes, in bounded memory: not read to the end first."""
    expanded = 8_000_000
    bomb = gzip.compress(write_idx(np.zeros(1, np.uint8)) + bytes(expanded - 9))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"= 1 bytes, got more than that"):
            read_idx(gzip.GzipFile(fileobj=io.BytesIO(bomb)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < expanded / 20


def test_a_header_promising_an_absurd_size_is_a_truncation_error() -> None:
    """3 dimensions of 2**32 - 1 promise ~8e28 bytes: the reader must not try to
    allocate them (``read(n)`` reserves ``n`` bytes up front), only report the
    few bytes that are there."""
    header = b"\x00\x00\x08\x03" + b"\xff" * 12
    with pytest.raises(ValueError, match=r"got 10 bytes \(truncated"):
        read_idx(io.BytesIO(header + bytes(10)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x00", "first two bytes must be 00 00"),
        (
            b"\x1f\x8b\x08\x00",
            "first two bytes must be 00 00",
        ),  # gzip, not yet decompressed
        (b"\x00\x00\x07\x01\x00\x00\x00\x00", "unknown IDX dtype code 0x07"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00", "shorter than the 4-byte header"),
    ],
)
def test_bad_headers_are_value_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_idx(data)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_, np.complex64])
def test_write_rejects_dtypes_without_an_idx_code(dtype: type) -> None:
    with pytest.raises(TypeError, match="IDX cannot store"):
        write_idx(np.zeros(3, dtype=dtype))


def test_read_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="bytes or a binary file object"):
        read_idx("not bytes")  # type: ignore[arg-type]


def test_read_idx_of_a_truncated_gzip_stream_is_a_value_error(tmp_path) -> None:
    """Regression: a truncated ``gzip.open`` stream raised EOFError, and a corrupt one
    BadGzipFile, instead of the ValueError documented for every damaged file."""
    path = tmp_path / "labels.idx1.gz"
    path.write_bytes(gzip.compress(write_idx(np.arange(200, dtype=np.uint8)))[:-12])
    with (
        gzip.open(path) as stream,
        pytest.raises(ValueError, match="truncated or corrupt"),
    ):
        read_idx(stream)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(gzip.GzipFile(fileobj=io.BytesIO(b"\x1f\x8b\x08\x00garbage")))

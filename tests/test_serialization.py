"""Tests for :mod:`nnlib.serialization`: saving and loading models as ``.npz`` files.

* save → load gives bit-identical predictions for every activation, with dropout;
* the file is plain arrays (loads with ``allow_pickle=False``, no object arrays);
* corrupted, tampered, incomplete or malicious files are refused with a ValueError;
* saving is atomic: a failure mid-save leaves the previous file intact and no temporary
  file.
"""

from __future__ import annotations

import io
import json
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

from nnlib import Sequential, mlp, serialization
from nnlib.serialization import _digest

ACTIVATIONS = ["relu", "leaky_relu", "sigmoid", "tanh"]


def rewrite(path, **changes) -> None:
    """Rewrite the npz at ``path`` with some entries replaced (or removed, if the value
    is None), keeping every other entry, including the *old* sha256, unchanged."""
    with np.load(path, allow_pickle=False) as data:
        contents = {name: data[name] for name in data.files}
    for name, value in changes.items():
        if value is None:
            del contents[name]
        else:
            contents[name] = value
    np.savez(path, **contents)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_round_trip_gives_bit_identical_predictions(activation, tmp_path):
    """Weights, biases (made non-zero), layer types and hyper-parameters all survive."""
    model = mlp(6, [5, 4], 3, activation=activation, dropout=0.3, rng=0)
    rng = np.random.default_rng(1)
    for p in model.parameters():
        p.value[...] += rng.standard_normal(p.value.shape).astype(
            np.float32
        )  # not just the init
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert [repr(layer) for layer in loaded.layers] == [
        repr(layer) for layer in model.layers
    ]
    for a, b in zip(model.parameters(), loaded.parameters(), strict=True):
        assert a.name == b.name and a.value.dtype == b.value.dtype
        assert np.array_equal(a.value, b.value)


def test_float64_model_round_trip(tmp_path):
    """The dtype is part of the architecture: a float64 model loads as float64."""
    model = mlp(3, [4], 2, activation="leaky_relu", rng=0, dtype=np.float64)
    model.save(tmp_path / "m.npz")
    loaded = Sequential.load(tmp_path / "m.npz")
    assert loaded.dtype == np.float64
    x = np.random.default_rng(2).standard_normal((5, 3))
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_file_holds_only_plain_arrays(tmp_path):
    """Every entry loads with allow_pickle=False and none is an object array (which
    could hide pickled code); the architecture is readable JSON naming each layer."""
    path = tmp_path / "model.npz"
    mlp(4, [3], 2, dropout=0.5, rng=0).save(path)
    with np.load(path, allow_pickle=False) as data:
        contents = {name: data[name] for name in data.files}
    assert set(contents) == {"architecture", "sha256", "0.W", "0.b", "3.W", "3.b"}
    assert all(a.dtype != object for a in contents.values())
    spec = json.loads(str(contents["architecture"]))
    assert [layer["type"] for layer in spec["layers"]] == [
        "Dense",
        "ReLU",
        "Dropout",
        "Dense",
    ]


def test_save_writes_exactly_the_given_path(tmp_path):
    """No ``.npz`` is appended behind the user's back and parent folders are created."""
    path = tmp_path / "sub" / "weights.model"
    mlp(2, [], 2).save(path)
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights.model"]


# ------------------------------------------------------------------- refusing bad files


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    mlp(4, [3], 2, rng=0).save(path)
    return path


def test_truncated_file_is_refused(saved):
    """A file cut in half (an interrupted copy) is a ValueError, not a zipfile error."""
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is not a readable nnlib model file"):
        Sequential.load(saved)


def test_flipped_weight_byte_is_refused(saved):
    """Flip one bit inside the stored bytes of weight 0.W (found by searching the file
    for them); the zip's CRC or the sha256 must catch it."""
    with np.load(saved) as data:
        weight_bytes = data["0.W"].tobytes()
    raw = bytearray(saved.read_bytes())
    start = raw.find(weight_bytes)
    assert start > 0  # .npz from np.savez is uncompressed: the bytes are there verbatim
    raw[start + 5] ^= 0x01
    saved.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=str(saved)):
        Sequential.load(saved)


def test_tampered_weight_with_old_checksum_is_refused(saved):
    """A well-formed file with a changed weight (but the old sha256) fails the integrity
    check."""
    with np.load(saved) as data:
        w = data["0.W"].copy()
    w[0, 0] += 1.0
    rewrite(saved, **{"0.W": w})
    with pytest.raises(ValueError, match="failed its integrity check"):
        Sequential.load(saved)


def test_file_without_architecture_is_refused(saved):
    """An npz of weights without 'architecture' is not a model file."""
    rewrite(saved, architecture=None)
    with pytest.raises(
        ValueError, match="is not an nnlib model file: it has no 'architecture' entry"
    ):
        Sequential.load(saved)


def test_unknown_layer_type_is_refused_even_with_a_valid_checksum(saved):
    """An architecture naming a class outside the fixed list is refused, never looked up
    (the digest is recomputed so that the file passes the integrity check and reaches
    that code)."""
    with np.load(saved) as data:
        contents = {name: data[name] for name in data.files}
    spec = json.loads(str(contents.pop("architecture")))
    spec["layers"][1]["type"] = "os.system"
    architecture = json.dumps(spec)
    del contents["sha256"]
    np.savez(
        saved,
        architecture=np.array(architecture),
        sha256=np.array(_digest(architecture, contents)),
        **contents,
    )
    with pytest.raises(
        ValueError,
        match=r"invalid architecture: layers\[1\] has unknown type 'os.system'",
    ):
        Sequential.load(saved)


@pytest.mark.parametrize("architecture", ["[]", "null", '"Dense"', "42"])
def test_architecture_that_is_not_a_json_object_is_refused(architecture, tmp_path):
    """Valid JSON of the wrong kind (a list, null, a string, a number) with a *matching*
    digest (sha256 is a checksum, not a signature: anyone can compute it) must still be
    a ValueError, not an AttributeError from deep inside the loader."""
    path = tmp_path / "odd.npz"
    np.savez(
        path,
        architecture=np.array(architecture),
        sha256=np.array(_digest(architecture, {})),
    )
    with pytest.raises(ValueError, match="invalid architecture"):
        Sequential.load(path)


@pytest.mark.parametrize("entry", ["payload", "architecture", "0.W"])
def test_object_arrays_are_never_unpickled(entry, tmp_path, monkeypatch):
    """A file smuggling a pickled object is refused, never unpickled: as an extra
    entry, and in place of the entries that a model file must have (the first of them
    read, and a parameter the architecture asks for)."""
    import pickle

    def no_unpickling(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    path = tmp_path / "evil.npz"
    mlp(4, [3], 2, rng=0).save(path)
    with np.load(path) as stored:
        entries = {name: stored[name] for name in stored.files}
    entries[entry] = np.array([{"a": 1}], dtype=object)
    np.savez(path, **entries)
    with pytest.raises(ValueError, match="is not a readable nnlib model file"):
        Sequential.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    """A missing path keeps the ordinary FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        Sequential.load(tmp_path / "nope.npz")


def test_unsupported_layer_cannot_be_saved(tmp_path):
    """A layer type the loader could not rebuild is refused at save time."""
    from nnlib import Layer

    class Custom(Layer):
        def forward(self, x, training=False):
            return x

    with pytest.raises(TypeError, match="cannot save layer type Custom"):
        Sequential([Custom()]).save(tmp_path / "m.npz")


# ---------------------------------------------------------------------- atomic saving


@pytest.mark.parametrize("target", ["savez", "replace"])
def test_failed_save_leaves_previous_file_and_no_temporary(
    target, tmp_path, monkeypatch
):
    """If writing (np.savez) or renaming (os.replace) fails mid-save, the error
    propagates, the file previously at the path is byte-for-byte unchanged and no
    temporary file is left."""
    path = tmp_path / "model.npz"
    mlp(4, [3], 2, rng=0).save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np if target == "savez" else os, target, boom)
    with pytest.raises(OSError, match="simulated"):
        mlp(4, [3], 2, rng=1).save(path)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    Sequential.load(path)  # and it is still a valid model


def test_saved_file_gets_ordinary_permissions(tmp_path):
    """The temporary file from ``tempfile.mkstemp`` is private (0o600); after the rename
    the model file should have the permissions any new file gets (0o666 minus the
    umask), like np.savez's."""
    umask = os.umask(0)
    os.umask(umask)
    mlp(2, [], 2).save(tmp_path / "model.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(1))
    expected = 0o666 & ~umask
    assert (
        tmp_path / "plain.npz"
    ).stat().st_mode & 0o777 == expected  # the reference behaviour
    assert (tmp_path / "model.npz").stat().st_mode & 0o777 == expected


# ---------------------------------------------------------------------- forged files
# The digest is a checksum, not a signature: anyone can recompute it. These files pass
# it, so they test the loader's own checks.


def forge(path, architecture: dict | str, arrays: dict[str, np.ndarray]) -> None:
    """Write a model file with a *valid* digest."""
    text = architecture if isinstance(architecture, str) else json.dumps(architecture)
    np.savez(
        path,
        architecture=np.array(text),
        sha256=np.array(_digest(text, arrays)),
        **arrays,
    )


def dense_spec(n_in: int, n_out: int) -> dict:
    return {
        "type": "Dense",
        "config": {"n_in": n_in, "n_out": n_out, "init": "he", "dtype": "float32"},
    }


@pytest.fixture
def layer_spy(monkeypatch) -> list[str]:
    """Record every layer the loader constructs."""
    built: list[str] = []
    for name, cls in serialization.LAYER_TYPES.items():

        def init(self, *args, _init=cls.__init__, _name=name, **kwargs):
            built.append(_name)
            _init(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)
    return built


def test_npy_file_is_refused_with_a_value_error(tmp_path):
    """np.load returns a bare array for .npy, which used to fail with a
    context-manager TypeError."""
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(
        ValueError, match=r"not a readable nnlib model file.*not an \.npz archive"
    ):
        Sequential.load(path)


def test_architecture_shapes_are_checked_before_any_layer_is_built(tmp_path, layer_spy):
    """A forged architecture declaring a far larger Dense than the stored arrays is
    refused, naming the parameter, before a single layer (with its random initial
    weights) is built."""
    path = tmp_path / "forged.npz"
    arrays = {"0.W": np.zeros((4, 3), np.float32), "0.b": np.zeros(3, np.float32)}
    forge(
        path, {"format": serialization.FORMAT, "layers": [dense_spec(4000, 3)]}, arrays
    )
    with pytest.raises(
        ValueError, match=r"parameter 0\.W of shape \(4000, 3\).*stores shape \(4, 3\)"
    ):
        Sequential.load(path)
    assert layer_spy == []


def test_number_of_arrays_is_checked_before_any_layer_is_built(tmp_path, layer_spy):
    """An architecture with an extra Dense layer needs four arrays, the file holds
    two."""
    path = tmp_path / "forged.npz"
    arrays = {"0.W": np.zeros((4, 3), np.float32), "0.b": np.zeros(3, np.float32)}
    layers = [dense_spec(4, 3), {"type": "ReLU", "config": {}}, dense_spec(3, 2)]
    forge(path, {"format": serialization.FORMAT, "layers": layers}, arrays)
    with pytest.raises(ValueError, match=r"holds 2 parameter arrays .* needs 4"):
        Sequential.load(path)
    assert layer_spy == []


def test_array_header_declaring_terabytes_is_a_value_error(tmp_path, layer_spy):
    """A 300-byte entry whose .npy header declares a (2^20, 2^20) float32 array (the
    shape its architecture declares too) used to raise MemoryError from np.load; the
    header disagrees with the entry's size in the zip directory, so it is refused
    before anything is allocated or built."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**20, 2**20)}
    )
    text = json.dumps(
        {"format": serialization.FORMAT, "layers": [dense_spec(2**20, 2**20)]}
    )
    path = tmp_path / "bomb.npz"
    np.savez(path, architecture=np.array(text), sha256=np.array("0" * 64))
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("0.W.npy", header.getvalue() + b"\0" * 16)
        z.writestr("0.b.npy", header.getvalue() + b"\0" * 16)
    with pytest.raises(ValueError, match="not a readable nnlib model file"):
        Sequential.load(path)
    assert layer_spy == []


def test_architecture_entry_without_config_is_a_value_error(tmp_path) -> None:
    """A malformed layer entry (no "config") is reported as an invalid architecture."""
    path = tmp_path / "m.npz"
    mlp(3, [4], 2, rng=0).save(path)
    with np.load(path, allow_pickle=False) as f:
        spec = json.loads(str(f["architecture"]))
        arrays = {k: f[k] for k in f.files if k not in ("architecture", "sha256")}
    del spec["layers"][1]["config"]  # the ReLU
    forge(path, spec, arrays)
    with pytest.raises(ValueError, match="invalid architecture"):
        Sequential.load(path)


# ---------------------------------------------------------------------- hostile files
# Issue 13: each of these used to hang, exhaust memory or load silently.


def deflated_text_bomb(path, name: str, n_chars: int) -> None:
    """An entry ``name`` whose .npy header declares a text of ``n_chars`` characters
    (4 bytes each) and whose data are that many zeros, deflated: a file of ~n/256
    bytes that expands to 4 n."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": f"<U{n_chars}", "fortran_order": False, "shape": ()}
    )
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open(name, "w", force_zip64=True) as f:
            f.write(header.getvalue())
            chunk = bytes(2**20)
            for _ in range(4 * n_chars // len(chunk)):
                f.write(chunk)


def test_a_zip_bomb_in_a_model_file_costs_neither_memory_nor_time(tmp_path):
    """Issue 13.2: an architecture entry of 64 MiB of deflated zeros (a ~70 kB file;
    the issue's 4 GiB one took 60 s and 4.2 GB) is refused before it is decompressed:
    peak memory stays far below its size."""
    path = tmp_path / "bomb.npz"
    np.savez(path, sha256=np.array("0" * 64))
    deflated_text_bomb(path, "architecture.npy", 2**24)
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(
            ValueError, match=r"bomb\.npz is not a readable nnlib model"
        ):
            Sequential.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22  # 4 MiB, against the 64 MiB the entry expands to


def test_compressed_weights_are_refused_even_if_the_architecture_allows_them(tmp_path):
    """nnlib writes model files uncompressed, so a compressed entry can only be a way
    to make a small file expand (to the architecture's full size): refused."""
    path = tmp_path / "m.npz"
    model = mlp(3, [4], 2, rng=0)
    model.save(path)
    with np.load(path) as f:
        entries = {k: f[k] for k in f.files}
    np.savez_compressed(path, **entries)
    with pytest.raises(ValueError, match="is compressed; nnlib's files never are"):
        Sequential.load(path)


def test_deeply_nested_architecture_json_is_a_value_error(tmp_path):
    """Issue 13.7: 100,000 nested lists with a valid digest raised RecursionError
    ("probably a bug in nnlib" on the command line); load documents ValueError."""
    path = tmp_path / "nested.npz"
    forge(path, "[" * 100_000 + "]" * 100_000, {})
    with pytest.raises(ValueError, match="invalid architecture: nested too deeply"):
        Sequential.load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_at_once(tmp_path):
    """Issue 13.8: loading from a named pipe waited forever for a writer. It is not a
    regular file: refused at once (the load runs in a thread, so that a regression
    fails this test instead of hanging the suite)."""
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def load():
        try:
            Sequential.load(fifo)
        except BaseException as err:  # collected for the assertion below
            errors.append(err)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # unblock it: a writer appears and leaves at once
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=10)
        pytest.fail("loading a named pipe blocked")
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert "is not a regular file" in str(errors[0])


def test_non_finite_weights_are_refused_naming_the_parameter(tmp_path):
    """Issue 13.9: a model with NaN weights (e.g. saved from a diverged run) loaded
    and predicted class 0 for everything; it is refused, naming the parameter."""
    model = mlp(3, [4], 2, rng=0)
    model.layers[2].params["W"][1, 0] = np.nan
    model.save(tmp_path / "m.npz")
    with pytest.raises(
        ValueError, match=r"m\.npz: parameter 2\.W contains NaN or inf .*\(1, 0\)"
    ):
        Sequential.load(tmp_path / "m.npz")

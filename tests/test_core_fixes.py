"""Regression tests for defects found in review of the core modules.

Each test failed before its fix:

* losses: float64 targets keep a float32 model in float32; an empty batch is a clear ValueError;
* serialization: a ``.npy`` file, and forged files whose architecture or array headers declare
  huge arrays, are refused with a ValueError *before* anything large is allocated;
* activations: changing Sigmoid's or Tanh's output in place does not change the gradient;
* atomic writes: the umask is not touched per write, a replaced file keeps its permissions, and
  ``History.to_json(path)`` is atomic;
* optimizers: weight decay allocates nothing per step, bad schedule factors are refused, and
  ``state_dict`` is a snapshot;
* Sequential: layers with different parameter dtypes are refused.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

from nnlib import (
    SGD,
    Adam,
    Dense,
    History,
    MeanSquaredError,
    ReLU,
    RMSProp,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    _files,
    mlp,
    serialization,
)
from nnlib.serialization import _digest

# ---------------------------------------------------------------------- losses


def test_mse_float64_targets_keep_a_float32_model_in_float32():
    """Targets are cast to the output's dtype, so the gradient and the whole backward pass stay
    float32 (float64 targets used to promote them, doubling the cost of every later product)."""
    model = mlp(3, [4], 2, activation="tanh", rng=0)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    target = np.random.default_rng(2).standard_normal((5, 2))  # float64
    loss = MeanSquaredError()
    value = loss.forward(model.forward(x), target)
    grad = loss.backward()
    assert grad.dtype == np.float32
    assert model.backward(grad).dtype == np.float32
    expected = np.mean((model.forward(x).astype(np.float64) - target) ** 2)
    assert value == pytest.approx(expected, rel=1e-5)  # the value is still the MSE


def test_mse_target_that_overflows_the_output_dtype_is_refused():
    """A finite float64 target beyond float32's range would become inf after the cast."""
    with pytest.raises(ValueError, match="too large for the output's dtype float32"):
        MeanSquaredError().forward(np.zeros((1, 1), np.float32), np.array([[1e300]]))


@pytest.mark.parametrize(
    "loss, target",
    [
        (SoftmaxCrossEntropy(), np.zeros(0, np.int64)),
        (MeanSquaredError(), np.zeros((0, 3))),
    ],
    ids=["cross_entropy", "mse"],
)
def test_empty_batch_is_a_clear_value_error(loss, target):
    """The mean over N = 0 samples used to be NaN (with RuntimeWarnings)."""
    with pytest.raises(ValueError, match=r"empty batch \(output shape \(0, 3\)\)"):
        loss.forward(np.zeros((0, 3)), target)


# ---------------------------------------------------------------------- serialization


def forge(path, architecture: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write a model file with a *valid* digest (anyone can recompute a checksum)."""
    text = json.dumps(architecture)
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

        def make(*args, _cls=cls, _name=name, **kwargs):
            built.append(_name)
            return _cls(*args, **kwargs)

        monkeypatch.setitem(serialization.LAYER_TYPES, name, make)
    return built


def test_npy_file_is_refused_with_a_value_error(tmp_path):
    """np.load returns a bare array for .npy, which used to fail with a context-manager TypeError."""
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(
        ValueError, match=r"not a readable nnlib model file.*not an \.npz archive"
    ):
        Sequential.load(path)


def test_architecture_shapes_are_checked_before_any_layer_is_built(tmp_path, layer_spy):
    """A forged architecture declaring a far larger Dense than the stored arrays is refused,
    naming the parameter, before a single layer (with its random initial weights) is built."""
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
    """An architecture with an extra Dense layer needs four arrays, the file holds two."""
    path = tmp_path / "forged.npz"
    arrays = {"0.W": np.zeros((4, 3), np.float32), "0.b": np.zeros(3, np.float32)}
    layers = [dense_spec(4, 3), {"type": "ReLU", "config": {}}, dense_spec(3, 2)]
    forge(path, {"format": serialization.FORMAT, "layers": layers}, arrays)
    with pytest.raises(ValueError, match=r"holds 2 parameter arrays .* needs 4"):
        Sequential.load(path)
    assert layer_spy == []


def test_array_header_declaring_terabytes_is_a_value_error(tmp_path):
    """A 300-byte file whose .npy header declares a (2^20, 2^20) float32 array used to raise
    MemoryError from np.load; it is a damaged file like any other."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**20, 2**20)}
    )
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("0.W.npy", header.getvalue() + b"\0" * 16)
    with pytest.raises(ValueError, match="not a readable nnlib model file"):
        Sequential.load(path)


# ---------------------------------------------------------------------- activations


@pytest.mark.parametrize("make", [Sigmoid, Tanh])
def test_changing_the_output_in_place_does_not_change_the_gradient(make):
    """The caller owns the output; the backward pass must not depend on it being left alone."""
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    g = np.random.default_rng(0).standard_normal((3, 4))
    expected = make().forward(z)
    expected = g * (expected * (1 - expected) if make is Sigmoid else 1 - expected**2)
    layer = make()
    out = layer.forward(z)
    out += 100.0
    np.testing.assert_allclose(layer.backward(g), expected, rtol=1e-12)


# ---------------------------------------------------------------------- atomic writes


def test_atomic_write_does_not_change_the_umask(tmp_path, monkeypatch):
    """Setting the umask to 0 for a moment races with other threads creating files."""

    def no_umask(mask):
        raise AssertionError(f"os.umask({mask:o}) called during a write")

    monkeypatch.setattr(os, "umask", no_umask)
    _files.atomic_write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_replacing_a_file_keeps_its_permissions(tmp_path):
    """A private (0o600) file stays private after being rewritten, whatever the umask."""
    path = tmp_path / "secret.json"
    path.write_text("old")
    path.chmod(0o600)
    _files.atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_history_to_json_is_atomic(tmp_path, monkeypatch):
    """If the write fails, the previous file is intact (write_text used to truncate it first)."""
    path = tmp_path / "history.json"
    path.write_text("previous")

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        History(epoch=[1], train_loss=[0.5]).to_json(path)
    monkeypatch.undo()
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


# ---------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("make", [SGD, Adam, RMSProp], ids=["sgd", "adam", "rmsprop"])
def test_weight_decay_allocates_no_new_array_per_step(make):
    """`grad + wd * w` used to allocate two (500, 500) arrays per step; traced peak << 1 MB."""
    layer = Dense(500, 500, rng=0)
    layer.grads["W"][...] = 1.0
    opt = make(0.01, weight_decay=0.1)
    opt.step(layer)  # the first step creates the optimizer's buffers
    tracemalloc.start()
    try:
        opt.step(layer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < layer.params["W"].nbytes // 10


def test_weight_decay_step_equals_the_textbook_formula_bit_for_bit():
    """w <- w - lr (g + lambda w), computed in float32 exactly as the expression evaluates."""
    layer = Dense(3, 2, rng=0)
    layer.grads["W"][...] = np.random.default_rng(1).standard_normal((3, 2))
    w, g = layer.params["W"].copy(), layer.grads["W"].copy()
    SGD(0.1, weight_decay=0.01).step(layer)
    np.testing.assert_array_equal(layer.params["W"], w - (g + 0.01 * w) * 0.1)


@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf])
def test_bad_schedule_factor_is_refused_naming_the_step(bad):
    """A factor that is negative, NaN or inf would silently corrupt every parameter."""
    layer = Dense(3, 2, rng=0)
    opt = SGD(0.1, schedule=lambda t: bad if t == 2 else 1.0)
    opt.step(layer)
    opt.step(layer)
    before = layer.params["W"].copy()
    with pytest.raises(ValueError, match="at step 2 must be a finite number"):
        opt.step(layer)
    np.testing.assert_array_equal(layer.params["W"], before)  # nothing was updated


@pytest.mark.parametrize(
    "make",
    [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1)],
    ids=["momentum", "adam"],
)
def test_state_dict_is_a_snapshot(make):
    """The arrays returned by state_dict do not change when training continues."""
    layer = Dense(3, 2, rng=0)
    layer.grads["W"][...] = 1.0
    opt = make()
    opt.step(layer)
    snapshot = opt.state_dict()
    frozen = {k: v.copy() for k, v in snapshot.items()}
    opt.step(layer)
    for key, value in snapshot.items():
        np.testing.assert_array_equal(value, frozen[key], err_msg=key)


# ---------------------------------------------------------------------- Sequential


def test_layers_with_different_dtypes_are_refused():
    """float32 then float64 used to report dtype float32 while outputting float64."""
    with pytest.raises(
        ValueError,
        match=r"layers\[2\] \(Dense.*\) has float64 parameters but layers\[0\] .* float32",
    ):
        Sequential([Dense(3, 4), ReLU(), Dense(4, 2, dtype=np.float64)])


def test_atomic_write_follows_a_umask_changed_after_import(tmp_path) -> None:
    """The mode of a new file follows the umask in force when it is written, not at import."""
    from nnlib._files import atomic_write_text

    old = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "private.txt").st_mode) == 0o600


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


def test_schedule_may_return_a_zero_dimensional_array() -> None:
    opt = SGD(0.1, schedule=lambda t: np.cos(np.array(0.0)))
    assert opt.current_lr == pytest.approx(0.1)

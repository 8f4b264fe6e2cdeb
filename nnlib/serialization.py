"""Saving and loading models as ``.npz`` files, safely.

A model file is an ordinary NumPy ``.npz`` archive holding

* ``architecture``: a JSON string, ``{"format": ..., "layers": [{"type": "Dense", "config": {...}}, ...]}``;
* one array per parameter, named like ``"0.W"``;
* ``sha256``: a digest of the two above, so a truncated or edited file is detected on load.

Loading uses ``np.load(..., allow_pickle=False)`` and rebuilds layers only from a fixed list of
known classes: opening a model file from someone else can never run their code. Saving writes a
temporary file next to the target and renames it into place, so an interrupted save never leaves
a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._files import atomic_write
from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .dense import Dense
from .dropout import Dropout

if TYPE_CHECKING:
    from .model import Sequential

FORMAT = "nnlib-sequential-v1"
LAYER_TYPES = {
    cls.__name__: cls for cls in (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout)
}


def _digest(architecture: str, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the architecture JSON and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256(architecture.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_model(model: Sequential, path: str | Path) -> None:
    """Save ``model`` to ``path`` (written exactly there, e.g. ``"model.npz"``), atomically."""
    path = Path(path)
    layers = [
        {"type": type(layer).__name__, "config": layer.get_config()}
        for layer in model.layers
    ]
    for spec in layers:
        if spec["type"] not in LAYER_TYPES:
            raise TypeError(
                f"cannot save layer type {spec['type']}: only {sorted(LAYER_TYPES)}"
            )
    architecture = json.dumps({"format": FORMAT, "layers": layers})
    arrays = {p.name: p.value for p in model.parameters()}
    digest = _digest(architecture, arrays)
    atomic_write(
        path,
        lambda f: np.savez(
            f, architecture=np.array(architecture), sha256=np.array(digest), **arrays
        ),
    )


def _parameter_shapes(layers: list) -> dict[str, tuple]:
    """The parameter shapes an architecture implies, read from its JSON without building a layer.

    Only ``Dense`` layers have parameters: layer ``i`` has ``"i.W"`` of shape ``(n_in, n_out)`` and
    ``"i.b"`` of shape ``(n_out,)``, named as ``Sequential.parameters`` names them.
    """
    shapes: dict[str, tuple] = {}
    for i, entry in enumerate(layers):
        if LAYER_TYPES.get(entry["type"]) is None:
            raise ValueError(f"layers[{i}] has unknown type {entry['type']!r}")
        if entry["type"] == "Dense":
            n_in, n_out = entry["config"]["n_in"], entry["config"]["n_out"]
            shapes[f"{i}.W"], shapes[f"{i}.b"] = (n_in, n_out), (n_out,)
    return shapes


def load_model(path: str | Path) -> Sequential:
    """Load a model written by ``save_model``, checking its integrity; raise ``ValueError`` if bad."""
    from .model import Sequential

    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(
            data, np.lib.npyio.NpzFile
        ):  # a .npy file loads as one bare array
            raise ValueError("it holds a single array (.npy), not an .npz archive")
        with data:
            contents = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise
    # MemoryError: a forged array header can declare an array of terabytes in a tiny file.
    except (
        zipfile.BadZipFile,
        ValueError,
        OSError,
        EOFError,
        KeyError,
        MemoryError,
    ) as err:
        raise ValueError(
            f"{path} is not a readable nnlib model file ({type(err).__name__}: {err})"
        ) from err

    for key in ("architecture", "sha256"):
        if key not in contents:
            raise ValueError(
                f"{path} is not an nnlib model file: it has no '{key}' entry"
            )
    architecture = str(contents.pop("architecture"))
    stored_digest = str(contents.pop("sha256"))
    if _digest(architecture, contents) != stored_digest:
        raise ValueError(
            f"{path} failed its integrity check: the file was modified or corrupted"
        )
    try:
        spec = json.loads(architecture)
        if not isinstance(spec, dict):
            raise ValueError(f"expected a JSON object, got {type(spec).__name__}")
        if spec.get("format") != FORMAT:
            raise ValueError(
                f"unknown format {spec.get('format')!r}, expected {FORMAT!r}"
            )
        entries = spec["layers"]
        if not isinstance(entries, list):
            raise ValueError(f"'layers' must be a list, got {type(entries).__name__}")
        shapes = _parameter_shapes(entries)
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path} has an invalid architecture: {err}") from err

    # Compare the architecture with the stored arrays BEFORE building any layer: the digest is a
    # checksum, not a signature, so a forged file declaring Dense(200000, 200000) would otherwise
    # allocate gigabytes of initial weights that the stored arrays could never fill.
    if set(shapes) != set(contents):
        raise ValueError(
            f"{path} holds {len(contents)} parameter arrays {sorted(contents)} but its "
            f"architecture needs {len(shapes)}: {sorted(shapes)}"
        )
    for name, shape in shapes.items():
        if contents[name].shape != shape:
            raise ValueError(
                f"{path}: the architecture needs parameter {name} of shape {shape}, "
                f"but the file stores shape {contents[name].shape}"
            )
    try:
        model = Sequential(
            LAYER_TYPES[entry["type"]](**entry["config"]) for entry in entries
        )
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path} has an invalid architecture: {err}") from err

    for param in model.parameters():
        stored = contents[param.name]
        if stored.shape != param.value.shape or stored.dtype != param.value.dtype:
            raise ValueError(
                f"{path}: parameter {param.name} has shape {stored.shape} and dtype {stored.dtype}, "
                f"expected {param.value.shape} and {param.value.dtype}"
            )
        param.value[...] = stored  # in place: layers keep their own arrays
    return model

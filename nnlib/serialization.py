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
LAYER_TYPES = {cls.__name__: cls for cls in (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout)}


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
    layers = [{"type": type(layer).__name__, "config": layer.get_config()} for layer in model.layers]
    for spec in layers:
        if spec["type"] not in LAYER_TYPES:
            raise TypeError(f"cannot save layer type {spec['type']}: only {sorted(LAYER_TYPES)}")
    architecture = json.dumps({"format": FORMAT, "layers": layers})
    arrays = {p.name: p.value for p in model.parameters()}
    digest = _digest(architecture, arrays)
    atomic_write(path, lambda f: np.savez(f, architecture=np.array(architecture),
                                          sha256=np.array(digest), **arrays))


def load_model(path: str | Path) -> Sequential:
    """Load a model written by ``save_model``, checking its integrity; raise ``ValueError`` if bad."""
    from .model import Sequential

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise ValueError(f"{path} is not a readable nnlib model file ({type(err).__name__}: {err})") from err

    for key in ("architecture", "sha256"):
        if key not in contents:
            raise ValueError(f"{path} is not an nnlib model file: it has no '{key}' entry")
    architecture = str(contents.pop("architecture"))
    stored_digest = str(contents.pop("sha256"))
    if _digest(architecture, contents) != stored_digest:
        raise ValueError(f"{path} failed its integrity check: the file was modified or corrupted")
    try:
        spec = json.loads(architecture)
        if not isinstance(spec, dict):
            raise ValueError(f"expected a JSON object, got {type(spec).__name__}")
        if spec.get("format") != FORMAT:
            raise ValueError(f"unknown format {spec.get('format')!r}, expected {FORMAT!r}")
        layers = []
        for i, entry in enumerate(spec["layers"]):
            cls = LAYER_TYPES.get(entry["type"])
            if cls is None:
                raise ValueError(f"layers[{i}] has unknown type {entry['type']!r}")
            layers.append(cls(**entry["config"]))
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path} has an invalid architecture: {err}") from err

    model = Sequential(layers)
    expected = {p.name: p for p in model.parameters()}
    if set(expected) != set(contents):
        raise ValueError(
            f"{path} holds parameters {sorted(contents)} but its architecture needs {sorted(expected)}"
        )
    for name, param in expected.items():
        stored = contents[name]
        if stored.shape != param.value.shape or stored.dtype != param.value.dtype:
            raise ValueError(
                f"{path}: parameter {name} has shape {stored.shape} and dtype {stored.dtype}, "
                f"expected {param.value.shape} and {param.value.dtype}"
            )
        param.value[...] = stored  # in place: layers keep their own arrays
    return model

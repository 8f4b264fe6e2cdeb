"""Checkpoints: the whole state of a training run in one file, to resume it exactly.

To continue a run as if it had never stopped, the next epoch needs more than the
weights. A checkpoint holds, all from the end of the same epoch:

=====================================  ===============================================
``model/<param>``                      the weights, e.g. ``model/0.W``
``optimizer/...``                      the optimizer's step count and slots (Adam's
                                       moments): ``Optimizer.state_dict``
``rng/shuffle``, ``rng/dropout/<i>``   the random generators' states: the next
                                       epoch's order and dropout masks (JSON)
``history``, ``epoch``                 every epoch so far (``History.to_json``), the
                                       last one
``callbacks/<Class>.<k>/...``          each callback's state (``Callback.state_dict``):
                                       best value, epochs waited, best weights
``meta``                               format and optimizer (JSON)
=====================================  ===============================================

``save_checkpoint`` writes them with one atomic write (``_files.atomic_write``), so a
run interrupted at any moment leaves the checkpoint of its last complete epoch.
``load_checkpoint`` reads with ``serialization.NpzReader``: nothing is unpickled, and
every array is checked against the model's own shapes (and every text against a size
cap) before it is read, so a damaged or hostile file costs bounded memory and time.
It changes nothing unless the whole file is valid. ``fit(..., checkpoint=PATH)`` uses
both; so does ``python -m nnlib train --resume``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._files import atomic_write
from .history import History
from .serialization import MAX_TEXT, NpzReader

if TYPE_CHECKING:
    from .callbacks import Callback
    from .model import Sequential
    from .optimizers import Optimizer

FORMAT = "nnlib-checkpoint-v1"


def _text(value: Any) -> np.ndarray:
    """A JSON value as a 0-d text array (what ``np.savez`` stores without pickling)."""
    return np.array(json.dumps(value))


def generators(
    model: Sequential, rng: np.random.Generator
) -> dict[str, np.random.Generator]:
    """The generators a run draws from: ``rng`` (shuffling) and the model's."""
    return {"shuffle": rng} | model.generators()


def _callback_keys(callbacks: Sequence[Callback]) -> list[str]:
    """Keys such as ``"EarlyStopping.0"``: the class and how many came before."""
    names = [type(cb).__name__ for cb in callbacks]
    return [f"{name}.{names[:i].count(name)}" for i, name in enumerate(names)]


def save_checkpoint(
    path: str | Path,
    model: Sequential,
    optimizer: Optimizer,
    history: History,
    *,
    rng: np.random.Generator,
    callbacks: Sequence[Callback] = (),
) -> None:
    """Write the state of a run after ``history.epoch[-1]`` to ``path``, atomically.

    ``rng`` is the generator that ``fit`` shuffles with.
    """
    meta = {"format": FORMAT, "optimizer": type(optimizer).__name__}
    arrays: dict[str, Any] = {"meta": _text(meta), "epoch": np.array(history.epoch[-1])}
    arrays["history"] = np.array(history.to_json())
    arrays |= {f"model/{p.name}": p.value for p in model.parameters()}
    arrays |= {f"optimizer/{k}": a for k, a in optimizer.state_dict().items()}
    for name, gen in generators(model, rng).items():
        arrays[f"rng/{name}"] = _text(gen.bit_generator.state)
    for key, cb in zip(_callback_keys(callbacks), callbacks, strict=True):
        arrays |= {f"callbacks/{key}/{k}": a for k, a in cb.state_dict().items()}
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _read_history(archive: NpzReader) -> tuple[dict[str, Any], History]:
    """The checkpoint's meta data and history, checked against each other."""
    if "meta" not in archive.names:
        raise ValueError(
            f"{archive.path} was written by an older nnlib, before checkpoints held "
            "the callbacks' state: it cannot be resumed exactly; start the run again"
        )
    # A damaged entry raises archive.error here, naming the file and the entry.
    meta_text = archive.text("meta", max_chars=4096)
    history_text = archive.text("history")
    epoch = int(archive.array("epoch", (), kinds="iu"))
    try:
        meta = json.loads(meta_text)
        history = History.from_json(history_text)
        if meta["format"] != FORMAT or history.epoch[-1:] != [epoch]:
            raise ValueError(f"format {meta['format']!r}, epoch {epoch}")
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise archive.error(f"inconsistent meta data or history: {err}") from None
    return meta, history


def read_history(path: str | Path) -> History:
    """The history stored in the checkpoint at ``path`` (reads nothing else)."""
    with NpzReader(path, "checkpoint") as archive:
        return _read_history(archive)[1]


def _layout(
    model: Sequential,
    optimizer: Optimizer,
    gens: dict[str, np.random.Generator],
    callbacks: Sequence[Callback],
) -> tuple[dict[str, str], set[str]]:
    """What each entry of this run's checkpoint holds, and which entries it must have.

    An entry holds an array of a parameter's shape (the value is that parameter's
    name, e.g. ``"0.W"``), a ``"count"``, a ``"generator"`` state or ``"json"``.
    """
    params = [p.name for p in model.parameters()]
    layout = {"optimizer/iterations": "count"} | {f"model/{p}": p for p in params}
    layout |= {f"rng/{name}": "generator" for name in gens}
    required = set(layout)
    layout |= {f"optimizer/{p}/{slot}": p for p in params for slot in optimizer.slots}
    for key in _callback_keys(callbacks):
        layout[f"callbacks/{key}/state"] = "json"
        layout |= {f"callbacks/{key}/{p}": p for p in params}
    return layout, required


def _read_entries(
    archive: NpzReader,
    model: Sequential,
    optimizer: Optimizer,
    gens: dict[str, np.random.Generator],
    callbacks: Sequence[Callback],
) -> dict[str, Any]:
    """Every entry but meta data and history, each checked before it is read."""
    layout, required = _layout(model, optimizer, gens, callbacks)
    names = archive.names - {"meta", "history", "epoch"}
    missing, unexpected = required - names, names - set(layout)
    if missing or unexpected:
        raise archive.error(
            f"it does not fit this run (missing {sorted(missing)}, "
            f"unexpected {sorted(unexpected)})"
        )
    params = {p.name: p.value for p in model.parameters()}
    entries: dict[str, Any] = {}
    for name in sorted(names):
        kind = layout[name]
        if kind == "count":
            entries[name] = int(archive.array(name, (), kinds="iu"))
        elif kind == "generator":
            entries[name] = archive.text(name, max_chars=4096)
        elif kind == "json":
            entries[name] = archive.text(name, max_chars=MAX_TEXT)
        else:
            entries[name] = archive.array(name, params[kind].shape)
            if name.startswith("model/") and entries[name].dtype != params[kind].dtype:
                raise archive.error(f"{name} is {entries[name].dtype}, not the model's")
    return entries


def _within(entries: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries under ``prefix``, without it: ``model/0.W`` -> ``0.W``."""
    return {
        k.removeprefix(prefix): v for k, v in entries.items() if k.startswith(prefix)
    }


def _restore(
    entries: dict[str, Any],
    model: Sequential,
    optimizer: Optimizer,
    gens: dict[str, np.random.Generator],
    callbacks: Sequence[Callback],
) -> None:
    """Put checked entries into the run's objects; nothing changes if one is invalid."""
    states = {name: json.loads(text) for name, text in _within(entries, "rng/").items()}
    for name, gen in gens.items():  # invalid states raise here, on copies
        copy.deepcopy(gen.bit_generator).state = states[name]
    pairs = list(zip(_callback_keys(callbacks), callbacks, strict=True))
    for key, cb in pairs:
        copy.deepcopy(cb).load_state_dict(_within(entries, f"callbacks/{key}/"))
    optimizer.load_state_dict(_within(entries, "optimizer/"))  # checks, then loads
    for p in model.parameters():
        p.value[...] = entries[f"model/{p.name}"]
    for name, gen in gens.items():
        gen.bit_generator.state = states[name]
    for key, cb in pairs:
        cb.load_state_dict(_within(entries, f"callbacks/{key}/"))


def load_checkpoint(
    path: str | Path,
    model: Sequential,
    optimizer: Optimizer,
    *,
    rng: np.random.Generator,
    callbacks: Sequence[Callback] = (),
) -> History:
    """Restore the run saved at ``path`` into its objects; return its history.

    ``model``, ``optimizer``, ``rng`` and ``callbacks`` are those of the same run,
    built the same way (their state is overwritten). Raises ``ValueError`` naming the
    file if it is damaged, foreign or of another run; then nothing has changed.
    """
    gens = generators(model, rng)
    with NpzReader(path, "checkpoint") as archive:
        meta, history = _read_history(archive)
        if meta.get("optimizer") != type(optimizer).__name__:
            raise archive.error(
                f"it holds the state of {meta.get('optimizer')!r}, not of "
                f"{type(optimizer).__name__}"
            )
        entries = _read_entries(archive, model, optimizer, gens, callbacks)
        try:
            _restore(entries, model, optimizer, gens, callbacks)
        except (ValueError, TypeError, KeyError, RecursionError) as err:
            raise archive.error(f"{type(err).__name__}: {err}") from None
    return history

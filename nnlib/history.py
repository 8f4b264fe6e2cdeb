"""``History``: what happened in each epoch of training."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ._files import atomic_write_text


@dataclass
class History:
    """Per-epoch records of a training run (one list entry per finished epoch).

    Beside the loss, ``fit`` records the loss's metric: accuracy for classification
    (``train_accuracy``, ``val_accuracy``), the mean absolute error for regression
    (``train_mae``, ``val_mae``). Validation entries are filled only when validation
    data was given. ``epoch_time`` is wall-clock seconds per epoch.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    stopped_early: bool = False
    train_mae: list[float] = field(default_factory=list)
    val_mae: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epoch)

    def metrics(self) -> dict[str, list[float]]:
        """Everything but the timings: what must repeat exactly for the same seed."""
        d = asdict(self)
        d.pop("epoch_time")
        return d

    def best_epoch(self, monitor: str = "val_loss") -> int:
        """The epoch with the lowest loss or error (highest accuracy) of ``monitor``."""
        values = getattr(self, monitor)
        if not values:
            raise ValueError(f"history has no {monitor!r} values")
        pick = max if "accuracy" in monitor else min
        return self.epoch[values.index(pick(values))]

    def to_json(self, path: str | Path | None = None) -> str:
        """The history as JSON; also written to ``path`` if given (atomically)."""
        text = json.dumps(asdict(self), indent=2)
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def from_json(cls, text: str) -> History:
        """Read ``to_json``'s text; files written before a field existed load too.

        Raises ``ValueError`` if the text is not a history (unknown keys, wrong types).
        """
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not set(data) <= known:
            raise ValueError(f"not a History: expected an object with keys {known}")
        for key, value in data.items():
            if key == "stopped_early":
                ok = isinstance(value, bool)
            else:
                number = int if key == "epoch" else (int, float)
                ok = isinstance(value, list) and all(
                    isinstance(v, number) and not isinstance(v, bool) for v in value
                )
            if not ok:
                raise ValueError(f"not a History: {key!r} has a value of wrong type")
        return cls(**data)

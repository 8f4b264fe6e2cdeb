"""``History``: what happened in each epoch of training."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ._files import atomic_write_text


@dataclass
class History:
    """Per-epoch records of a training run (lists have one entry per finished epoch).

    Accuracies are filled only for classification losses; validation entries only when
    validation data was given. ``epoch_time`` is wall-clock seconds per epoch.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    stopped_early: bool = False

    def __len__(self) -> int:
        return len(self.epoch)

    def metrics(self) -> dict[str, list[float]]:
        """Everything but the timings: the part that must repeat exactly for the same seed."""
        d = asdict(self)
        d.pop("epoch_time")
        return d

    def best_epoch(self, monitor: str = "val_loss") -> int:
        """The epoch with the lowest loss (or highest accuracy) of ``monitor``."""
        values = getattr(self, monitor)
        if not values:
            raise ValueError(f"history has no {monitor!r} values")
        pick = max if "accuracy" in monitor else min
        return self.epoch[values.index(pick(values))]

    def to_json(self, path: str | Path | None = None) -> str:
        """The history as JSON; also written to ``path`` if given (atomically, see ``nnlib._files``)."""
        text = json.dumps(asdict(self), indent=2)
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def from_json(cls, text: str) -> History:
        return cls(**json.loads(text))

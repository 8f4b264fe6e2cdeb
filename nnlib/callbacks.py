"""Callbacks: code that ``fit`` runs after every epoch (early stopping, checkpoints)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._validation import check_number

if TYPE_CHECKING:
    from .history import History
    from .model import Sequential

MONITORS = ("val_loss", "val_accuracy", "train_loss", "train_accuracy")


class Callback:
    """Base class. ``on_epoch_end`` returns True to ask ``fit`` to stop."""

    def on_train_begin(self, model: Sequential) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        """Called after each epoch, once ``history`` holds that epoch's numbers."""
        return False

    def on_train_end(self, model: Sequential) -> None:
        """Called once after training (also after early stopping)."""


class _Monitor:
    """Tracks the best value of one history entry (lower loss or higher accuracy is better)."""

    def __init__(self, monitor: str, min_delta: float) -> None:
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
        self.monitor = monitor
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        self.sign = -1.0 if "accuracy" in monitor else 1.0  # compare sign * value, lower is better
        self.best = math.inf

    def improved(self, history: History) -> bool:
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(
                f"cannot monitor {self.monitor!r}: fit recorded no such values "
                "(pass validation_data to monitor validation metrics)"
            )
        value = self.sign * values[-1]
        if value < self.best - self.min_delta:
            self.best = value
            return True
        return False


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model's weights are set back to those of the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        self._tracker = _Monitor(monitor, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        self.patience = patience
        self.restore_best = restore_best
        self.best_epoch: int | None = None
        self._best_weights: list[np.ndarray] | None = None
        self._waited = 0

    def on_train_begin(self, model: Sequential) -> None:
        self._tracker.best, self._waited, self.best_epoch = math.inf, 0, None

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        if self._tracker.improved(history):
            self.best_epoch, self._waited = epoch, 0
            if self.restore_best:
                self._best_weights = [p.value.copy() for p in model.parameters()]
            return False
        self._waited += 1
        return self._waited >= self.patience

    def on_train_end(self, model: Sequential) -> None:
        if self.restore_best and self._best_weights is not None:
            for p, best in zip(model.parameters(), self._best_weights, strict=True):
                p.value[...] = best


class ModelCheckpoint(Callback):
    """Save the model to ``path`` after each epoch (or only when ``monitor`` improves).

    Saves are atomic (``Sequential.save``), so an interrupted run always leaves the last complete
    checkpoint on disk.
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", save_best_only: bool = True) -> None:
        self.path = Path(path)
        self.save_best_only = save_best_only
        self._tracker = _Monitor(monitor, 0.0)
        self.saved_epochs: list[int] = []

    def on_train_begin(self, model: Sequential) -> None:
        self._tracker.best = math.inf

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        if not self.save_best_only or self._tracker.improved(history):
            model.save(self.path)
            self.saved_epochs.append(epoch)
        return False

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

MONITORS = (
    "val_loss",
    "val_accuracy",
    "val_mae",
    "train_loss",
    "train_accuracy",
    "train_mae",
)


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
    """Tracks the best value of one history entry (lower loss or higher accuracy is better).

    ``update`` looks at every epoch of the history that it has not seen yet. Usually that is the
    epoch that just ended; but when ``fit`` continues an earlier history (resuming a run), the
    first call also goes through the earlier epochs, so the best value and the count of epochs
    since it carry on from the earlier run instead of starting again from scratch.
    """

    def __init__(self, monitor: str, min_delta: float) -> None:
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
        self.monitor = monitor
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        self.sign = (
            -1.0 if "accuracy" in monitor else 1.0
        )  # compare sign * value, lower is better
        self.reset()

    def reset(self) -> None:
        """Forget all epochs (called at the start of every ``fit``)."""
        self.best = math.inf  # sign * value of the best epoch so far
        self.best_epoch: int | None = None
        self.waited = 0  # epochs since best_epoch
        self._seen = 0  # how many history entries have been looked at

    def update(self, history: History) -> bool:
        """Look at the epochs of ``history`` not seen yet; return True if the latest is a new best."""
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(
                f"cannot monitor {self.monitor!r}: fit recorded no such values "
                "(pass validation_data to monitor validation metrics)"
            )
        improved = False
        for i in range(self._seen, len(values)):
            value = self.sign * values[i]
            improved = value < self.best - self.min_delta
            if improved:
                self.best, self.best_epoch, self.waited = value, history.epoch[i], 0
            else:
                self.waited += 1
        self._seen = len(values)
        return improved


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model's weights are set back to those of the best epoch.
    When ``fit`` continues an earlier history (resume), the earlier epochs count too: the best
    value and the epochs waited since it carry on. If the best epoch is one of those earlier
    epochs, its weights are not in memory and nothing is restored (keep them on disk with
    ``ModelCheckpoint``).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        self._tracker = _Monitor(monitor, min_delta)
        if (
            isinstance(patience, bool)
            or not isinstance(patience, (int, np.integer))
            or patience < 0
        ):
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        self.patience = int(patience)
        self.restore_best = restore_best
        self.best_epoch: int | None = None
        self._best_weights: list[np.ndarray] | None = None
        self._waited = 0

    def on_train_begin(self, model: Sequential) -> None:
        # Forget everything from an earlier fit, in particular its best weights.
        self._tracker.reset()
        self.best_epoch, self._best_weights, self._waited = None, None, 0

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        improved = self._tracker.update(history)
        # _waited: epochs in a row without a new best (0 right after one)
        self.best_epoch, self._waited = self._tracker.best_epoch, self._tracker.waited
        if improved:
            if self.restore_best:
                self._best_weights = [p.value.copy() for p in model.parameters()]
            return False
        return self._waited >= self.patience

    def on_train_end(self, model: Sequential) -> None:
        if self.restore_best and self._best_weights is not None:
            for p, best in zip(model.parameters(), self._best_weights, strict=True):
                p.value[...] = best


class ModelCheckpoint(Callback):
    """Save the model to ``path`` after each epoch (or only when ``monitor`` improves).

    Saves are atomic (``Sequential.save``), so an interrupted run always leaves the last complete
    checkpoint on disk. When ``fit`` continues an earlier history (resume), the best value of the
    earlier epochs counts too, so a worse epoch never overwrites the earlier best file.
    """

    def __init__(
        self, path: str | Path, monitor: str = "val_loss", save_best_only: bool = True
    ) -> None:
        self.path = Path(path)
        self.save_best_only = save_best_only
        self._tracker = _Monitor(monitor, 0.0)
        self.saved_epochs: list[int] = []

    def on_train_begin(self, model: Sequential) -> None:
        self._tracker.reset()

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        if not self.save_best_only or self._tracker.update(history):
            model.save(self.path)
            self.saved_epochs.append(epoch)
        return False

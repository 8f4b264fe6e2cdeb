"""Callbacks: code that ``fit`` runs after every epoch (early stopping, checkpoints)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    """Base class. ``on_epoch_end`` returns True to ask ``fit`` to stop.

    A callback that remembers something from epoch to epoch returns it from
    ``state_dict`` and takes it back in ``load_state_dict``, so that a checkpoint
    (``nnlib.checkpoint``) can resume it: JSON text under ``"state"``, and arrays of a
    parameter's shape under that parameter's name (e.g. best weights ``"0.W"``).
    """

    def on_train_begin(self, model: Sequential) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        """Called after each epoch, once ``history`` holds that epoch's numbers."""
        return False

    def on_train_end(self, model: Sequential) -> None:
        """Called once after training (also after early stopping)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """What the callback carries from one epoch to the next (nothing here)."""
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Take back what ``state_dict`` returned."""
        if state:
            raise ValueError(
                f"{type(self).__name__} keeps no state, got {sorted(state)}"
            )


class _Monitor:
    """Tracks the best value of a history entry (lowest loss or error, top accuracy).

    ``update`` looks at every epoch of the history that it has not seen yet. Usually
    that is the epoch that just ended; but when ``fit`` continues an earlier history,
    the first call also goes through the earlier epochs, so the best value and the
    count of epochs since it carry on from the earlier run.
    """

    def __init__(self, monitor: str, min_delta: float) -> None:
        if monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
        self.monitor = monitor
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        # compare sign * value: lower is better
        self.sign = -1.0 if "accuracy" in monitor else 1.0
        self.reset()

    def reset(self) -> None:
        """Forget all epochs (called at the start of every ``fit``)."""
        self.best = math.inf  # sign * value of the best epoch so far
        self.best_epoch: int | None = None
        self.waited = 0  # epochs since best_epoch
        self._seen = 0  # how many history entries have been looked at

    def update(self, history: History) -> bool:
        """Look at the epochs not seen yet; return True if the latest is a new best."""
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

    def state(self) -> dict[str, Any]:
        """The tracker as JSON values (``best`` is None before any epoch)."""
        best = None if math.isinf(self.best) else self.best
        return {
            "best": best,
            "best_epoch": self.best_epoch,
            "waited": self.waited,
            "seen": self._seen,
        }

    def load(self, state: dict[str, Any]) -> None:
        """Take back ``state()``; raise ``ValueError`` if it does not look like one."""
        best, epoch = state["best"], state["best_epoch"]
        counts = (state["waited"], state["seen"])
        if not (
            (best is None or isinstance(best, (int, float)))
            and (epoch is None or isinstance(epoch, int))
            and all(isinstance(n, int) and n >= 0 for n in counts)
        ):
            raise ValueError(f"not the state of a {self.monitor!r} tracker: {state}")
        self.best = math.inf if best is None else float(best)
        self.best_epoch, (self.waited, self._seen) = epoch, counts


def _json_state(value: dict[str, Any]) -> dict[str, np.ndarray]:
    return {"state": np.array(json.dumps(value))}


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model's weights are set back to those of the best
    epoch when training ends. When ``fit`` continues an earlier history, the earlier
    epochs count too: the best value and the epochs waited since it carry on; if the
    best epoch is one of those earlier epochs, its weights are not in memory and
    nothing is restored (resume from a checkpoint, which holds them, instead).
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
        if not isinstance(restore_best, bool | np.bool_):  # "no" would count as True
            raise TypeError(f"restore_best must be True or False, got {restore_best!r}")
        self.restore_best = bool(restore_best)
        self.best_epoch: int | None = None
        self._best_weights: dict[str, np.ndarray] | None = None
        self._waited = 0

    @property
    def monitor(self) -> str:
        """The history entry watched after each epoch (``fit`` checks it records it)."""
        return self._tracker.monitor

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
                self._best_weights = {
                    p.name: p.value.copy() for p in model.parameters()
                }
            return False
        return self._waited >= self.patience

    def on_train_end(self, model: Sequential) -> None:
        if self.restore_best and self._best_weights is not None:
            for p in model.parameters():
                p.value[...] = self._best_weights[p.name]

    def state_dict(self) -> dict[str, np.ndarray]:
        """The tracker (JSON under ``"state"``) and the best weights, if kept."""
        return _json_state(self._tracker.state()) | (self._best_weights or {})

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        state = dict(state)
        self._tracker.load(json.loads(str(state.pop("state"))))
        self.best_epoch, self._waited = self._tracker.best_epoch, self._tracker.waited
        self._best_weights = {k: np.array(v) for k, v in state.items()} or None


class ModelCheckpoint(Callback):
    """Save the model to ``path`` after each epoch (or only when ``monitor`` improves).

    Saves are atomic (``Sequential.save``), so an interrupted run always leaves the
    last complete file on disk. When ``fit`` continues an earlier history, the best
    value of the earlier epochs counts too, so a worse epoch never overwrites the
    earlier best file.
    """

    def __init__(
        self, path: str | Path, monitor: str = "val_loss", save_best_only: bool = True
    ) -> None:
        self.path = Path(path)
        self.save_best_only = save_best_only
        self._tracker = _Monitor(monitor, 0.0)
        self.saved_epochs: list[int] = []

    @property
    def monitor(self) -> str | None:
        """The history entry watched after each epoch; None if every epoch is saved."""
        return self._tracker.monitor if self.save_best_only else None

    def on_train_begin(self, model: Sequential) -> None:
        self._tracker.reset()

    def on_epoch_end(self, epoch: int, history: History, model: Sequential) -> bool:
        if not self.save_best_only or self._tracker.update(history):
            model.save(self.path)
            self.saved_epochs.append(epoch)
        return False

    def state_dict(self) -> dict[str, np.ndarray]:
        """The tracker and the epochs saved so far (JSON under ``"state"``)."""
        return _json_state(self._tracker.state() | {"saved": self.saved_epochs})

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        values = json.loads(str(state["state"]))
        saved = values.pop("saved")
        if not (isinstance(saved, list) and all(isinstance(e, int) for e in saved)):
            raise ValueError(f"not a list of saved epochs: {saved!r}")
        self._tracker.load(values)
        self.saved_epochs = saved

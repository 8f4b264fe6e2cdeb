"""The training loop: mini-batches, epochs, validation, history, callbacks, checkpoints.

Data are checked once, here, before the first batch (``_check_data``); the layers and
the loss then trust every batch they are given.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import check_inputs, check_positive_int, n_features
from .batching import iterate_minibatches
from .callbacks import Callback
from .checkpoint import load_checkpoint, save_checkpoint
from .history import History
from .losses import Loss
from .model import Sequential
from .optimizers import Optimizer

#: ``fit`` stops a run whose epoch loss exceeds this many times its reference loss.
DIVERGENCE_FACTOR = 100.0


def _check_instance(value: Any, kind: type, name: str, example: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a ``kind`` object, not the class."""
    if isinstance(value, kind):
        return
    if isinstance(value, type):
        cls = value.__name__
        got = f"the class {cls} itself: create one with {cls}(...)"
    else:
        got = f"{value!r:.80} of type {type(value).__name__}"
    raise TypeError(
        f"{name} must be an instance of {kind.__name__}, such as {example}, got {got}"
    )


def _check_monitors(callbacks: Sequence[Callback], loss: Loss, val: bool) -> None:
    """Refuse, before any epoch, a callback watching what ``fit`` will not record.

    ``EarlyStopping`` and ``ModelCheckpoint`` (unless it saves every epoch) name the
    history entry they read after each epoch in ``monitor``.
    """
    splits = ("train", "val") if val else ("train",)
    recorded = [f"{s}_{k}" for s in splits for k in ("loss", loss.metric) if k]
    for cb in callbacks:
        monitor = getattr(cb, "monitor", None)
        if monitor is not None and monitor not in recorded:
            hint = " (pass validation_data to monitor validation metrics)"
            raise ValueError(
                f"{type(cb).__name__} cannot monitor {monitor!r}: fit records "
                f"{recorded}{hint * (monitor.startswith('val_') and not val)}"
            )


def _check_data(
    model: Sequential, loss: Loss, x: Any, y: Any, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Check a whole data set once; return it as the batches will use it.

    ``x`` must fit the model's input (``check_inputs``, ``model.output_shape``); ``y``
    must fit its outputs and the loss (``Loss.check_targets``: e.g. labels in
    ``[0, number of outputs)``), so a bad label fails now, not in the middle of an
    epoch, and regression targets are cast to the model's dtype once.
    """
    x, y = check_inputs(x, f"{name}: x", model.dtype), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"{name}: x has {len(x)} samples but y has {len(y)}")
    try:
        n_outputs = model.output_shape((n_features(x),))[-1]
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return x, loss.check_targets(y, int(n_outputs or 0), model.dtype, f"{name}: y")


def _pair(data: Any) -> tuple[Any, Any]:
    """``validation_data`` as ``(x_val, y_val)``, or a message saying what it is."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "shape"):
        what = f"an array of shape {data.shape}"
    elif isinstance(data, (tuple, list)):  # its items' repr would fill the screen
        what = f"a {type(data).__name__} of {len(data)} item(s)"
    else:
        what = f"{data!r:.80}"
    raise TypeError(f"validation_data must be a pair (x_val, y_val), got {what}")


@np.errstate(over="ignore", invalid="ignore")  # a diverging model: NaN or inf loss
def _evaluate(
    model: Sequential, loss: Loss, x: np.ndarray, y: np.ndarray, batch_size: int
) -> tuple[float, float]:
    """Mean loss and mean metric on checked data, in evaluation mode.

    ``model.infer`` and ``loss.value`` cache nothing, so this never disturbs a ``fit``
    of the same model and loss running in another thread.
    """
    total_loss = total_metric = 0.0
    batches = iterate_minibatches(x, y, batch_size, shuffle=False, dtype=model.dtype)
    for xb, yb in batches:
        out = model.infer(xb)
        total_loss += loss.value(out, yb) * len(yb)
        total_metric += loss.metric_total(out, yb)
    return total_loss / len(y), total_metric / len(y)


def evaluate(
    model: Sequential,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int = 2048,
) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) of ``model`` on ``(x, y)``.

    In evaluation mode (no dropout). For regression, ``fit`` records the mean absolute
    error as its metric; ``nnlib.metrics`` computes it and others from predictions.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    _check_instance(loss, Loss, "loss", "SoftmaxCrossEntropy()")
    x, y = _check_data(model, loss, x, y, "evaluate")
    mean_loss, metric = _evaluate(model, loss, x, y, batch_size)
    return mean_loss, (metric if loss.is_classification else None)


@np.errstate(over="ignore", invalid="ignore")
def _divergence_limit(
    model: Sequential, loss: Loss, x: np.ndarray, y: np.ndarray
) -> float:
    """The epoch loss above which ``fit`` calls a run diverged.

    ``DIVERGENCE_FACTOR`` (100) times the larger of two losses that training starts
    near: the loss of a prediction that ignores the input (``Loss.baseline``: ``ln C``
    for ``C`` classes, the targets' variance for regression) and the loss of the model
    before this ``fit`` (on up to 1,024 training samples, in evaluation mode: no
    random draws). Learning lowers the loss. For ``C`` classes, 100 ``ln C`` means
    the right class gets a (geometric) mean probability below ``C**-100``. In a sweep
    of 48 runs on scikit-learn's digits (learning rates up to 300 times the usual),
    the runs that still learned stayed below 9 times their start, and none of those
    that passed 100 times learned anything.
    """
    n = min(len(x), 1024)
    xb, yb = next(
        iterate_minibatches(x[:n], y[:n], n, shuffle=False, dtype=model.dtype)
    )
    out = model.infer(xb)
    start = loss.value(out, yb)
    return DIVERGENCE_FACTOR * max(loss.baseline(y, out.shape[1]), start)


@np.errstate(over="ignore", invalid="ignore")  # a diverging loss raises, see below
def _train_epoch(
    model: Sequential,
    loss: Loss,
    optimizer: Optimizer,
    batches: Iterator[tuple[np.ndarray, np.ndarray]],
    epoch: int,
    bar: Any,
) -> tuple[float, float]:
    """One pass over ``batches``: forward, loss, backward and step for each.

    Returns the loss and the metric, each summed over the samples.
    """
    total_loss = total_metric = 0.0
    n_seen = 0
    for i, (xb, yb) in enumerate(batches, start=1):
        out = model.forward(xb, training=True)
        batch_loss = loss.forward(out, yb)
        if not math.isfinite(batch_loss):
            raise FloatingPointError(
                f"loss became {batch_loss} at epoch {epoch}, batch {i}: the learning "
                f"rate ({optimizer.current_lr:g}) is probably too large"
            )
        model.backward(loss.backward(), input_grad=False)
        optimizer.step(model)
        total_loss += batch_loss * len(yb)
        total_metric += loss.metric_total(out, yb)
        n_seen += len(yb)
        if bar is not None:
            bar.update(1)
            if i % 20 == 0:
                bar.set_postfix(loss=f"{total_loss / n_seen:.4f}", refresh=False)
    if bar is not None:
        bar.close()
    return total_loss, total_metric


def _record(
    history: History, split: str, loss: Loss, values: tuple[float, float]
) -> None:
    """Append one epoch's mean loss and metric, e.g. to ``val_loss``, ``val_mae``."""
    getattr(history, f"{split}_loss").append(values[0])
    if loss.metric:
        getattr(history, f"{split}_{loss.metric}").append(values[1])


def _check_divergence(history: History, limit: float) -> None:
    """Raise ``FloatingPointError`` if the last epoch's loss exceeds ``limit``."""
    if not history.train_loss[-1] <= limit:
        raise FloatingPointError(
            f"the training loss exploded to {history.train_loss[-1]:.3g} at epoch "
            f"{history.epoch[-1]}, more than {DIVERGENCE_FACTOR:g} times what it "
            f"started near ({limit / DIVERGENCE_FACTOR:.3g}): the learning rate "
            f"({history.learning_rate[-1]:g}) is probably too large"
        )


def fit(
    model: Sequential,
    loss: Loss,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    history: History | None = None,
    checkpoint: str | Path | None = None,
) -> History:
    r"""Train ``model`` with mini-batch gradient descent and return its ``History``.

    Each epoch visits every sample once, in a new random order (``shuffle``). For each
    batch:

    .. math::
        \hat y = f(x_B), \quad L = \text{loss}(\hat y, y_B), \quad
        \nabla = \text{backprop}(\partial L / \partial \hat y), \quad
        w \leftarrow \text{optimizer}(w, \nabla)

    Parameters
    ----------
    X, y : training data; ``X`` is float ``(N, features)`` used as given, or uint8
        images ``(N, ...)`` scaled to [0, 1] one batch at a time.
    epochs, batch_size : passes over the data, and samples per gradient step.
    validation_data : ``(X_val, y_val)``, evaluated after each epoch (no dropout).
    rng : seed or Generator for the shuffling order (the model has its own seeds).
    callbacks : e.g. ``EarlyStopping``, ``ModelCheckpoint``; any may stop training.
    progress : show a progress bar per epoch (tqdm; a widget in notebooks).
    history : continue an earlier history; ``EarlyStopping`` and ``ModelCheckpoint``
        then take its epochs into account.
    checkpoint : a file. If it exists, training resumes from it; after every epoch
        the whole state of the run is written there (``nnlib.checkpoint``). With a
        checkpoint, ``epochs`` counts all epochs of the run, so calling ``fit`` again
        the same way after an interruption finishes the run exactly as if it had
        never stopped (and returns at once if it had finished).

    Raises
    ------
    ValueError, TypeError
        before any training, for empty, mismatched or non-finite data, labels
        outside ``[0, number of model outputs)``, a loss or optimizer class instead
        of an instance, and callbacks monitoring what ``fit`` does not record (e.g.
        ``val_loss`` without ``validation_data``).
    FloatingPointError
        if the loss becomes NaN or inf (naming the epoch and batch), or an epoch's
        loss explodes (see ``_divergence_limit``): usually a too large learning rate.
    """
    _check_instance(loss, Loss, "loss", "SoftmaxCrossEntropy()")
    _check_instance(optimizer, Optimizer, "optimizer", "Adam(1e-3)")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    X, y = _check_data(model, loss, X, y, "training data")
    val = None
    if validation_data is not None:
        val = _check_data(model, loss, *_pair(validation_data), "validation_data")
    _check_monitors(callbacks, loss, val is not None)
    if checkpoint is not None and history is not None:
        raise ValueError(
            "pass history or checkpoint, not both: a checkpoint holds "
            "the history of its run"
        )
    rng = np.random.default_rng(rng)
    history = History() if history is None else history
    history.stopped_early = False  # this fit's outcome, not that of an earlier one
    target = len(history) + epochs if checkpoint is None else epochs
    n_batches = math.ceil(len(X) / batch_size)
    for cb in callbacks:
        cb.on_train_begin(model)
    try:
        if checkpoint is not None and Path(checkpoint).exists():
            history = load_checkpoint(
                checkpoint, model, optimizer, rng=rng, callbacks=callbacks
            )
        limit = _divergence_limit(model, loss, X, y)
        while len(history) < target and not history.stopped_early:
            start, lr = time.perf_counter(), optimizer.current_lr
            epoch = history.epoch[-1] + 1 if history.epoch else 1
            batches = iterate_minibatches(
                X, y, batch_size, shuffle=shuffle, rng=rng, dtype=model.dtype
            )
            bar = _progress_bar(progress, n_batches, epoch)
            totals = _train_epoch(model, loss, optimizer, batches, epoch, bar)
            history.epoch.append(epoch)
            history.learning_rate.append(lr)
            _record(history, "train", loss, (totals[0] / len(X), totals[1] / len(X)))
            _check_divergence(history, limit)
            if val is not None:
                _record(history, "val", loss, _evaluate(model, loss, *val, 2048))
            history.epoch_time.append(time.perf_counter() - start)
            stop = [cb.on_epoch_end(epoch, history, model) for cb in callbacks]
            history.stopped_early = any(stop)
            if checkpoint is not None:
                save_checkpoint(
                    checkpoint, model, optimizer, history, rng=rng, callbacks=callbacks
                )
    finally:
        for cb in callbacks:
            cb.on_train_end(model)
    return history


def _progress_bar(enabled: bool, total: int, epoch: int) -> Any:
    """A tqdm bar (a widget in Jupyter, text in a terminal), or None when disabled."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"epoch {epoch}", unit="batch", leave=False)

"""The training loop: mini-batches, epochs, validation, history and callbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from ._validation import check_labels, check_positive_int
from .batching import iterate_minibatches
from .callbacks import Callback
from .history import History
from .losses import Loss
from .model import Sequential
from .optimizers import Optimizer


def _check_dataset(
    x: np.ndarray, y: np.ndarray, loss: Loss, name: str, n_outputs: int
) -> None:
    """Validate a whole data set once, before training, instead of once per batch.

    For a classification loss every label must be a valid index into the ``n_outputs`` outputs,
    so that a bad label fails now, not after an epoch of training (at the validation step).
    """
    if len(x) == 0:
        raise ValueError(f"{name}: x is empty")
    if len(x) != len(y):
        raise ValueError(f"{name}: x has {len(x)} samples but y has {len(y)}")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(
                f"{name}: x must be float or uint8 images, got dtype {x.dtype}"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"{name}: x contains NaN or inf")
    if loss.is_classification:
        check_labels(y, f"{name}: y", n_classes=n_outputs)  # one class per model output


def evaluate(
    model: Sequential,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int = 2048,
) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) of ``model`` on ``(x, y)`` in evaluation mode."""
    if len(y) == 0:
        raise ValueError(
            "cannot evaluate on an empty data set (x and y have no samples)"
        )
    total_loss, correct = 0.0, 0
    for xb, yb in iterate_minibatches(
        x, y, batch_size, shuffle=False, dtype=model.dtype
    ):
        out = model.forward(xb, training=False)
        total_loss += loss.forward(out, yb) * len(yb)
        if loss.is_classification:
            correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
    n = len(y)
    return total_loss / n, (correct / n if loss.is_classification else None)


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
) -> History:
    r"""Train ``model`` with mini-batch gradient descent and return its ``History``.

    Each epoch visits every sample once, in a new random order (``shuffle``). For each batch:

    .. math::
        \hat y = f(x_B), \quad L = \text{loss}(\hat y, y_B), \quad
        \nabla = \text{backprop}(\partial L / \partial \hat y), \quad w \leftarrow \text{optimizer}(w, \nabla)

    Parameters
    ----------
    X, y : training data; ``X`` is float ``(N, features)`` used as given, or uint8 images
        ``(N, ...)`` scaled to [0, 1] float32 one batch at a time.
    epochs, batch_size : number of passes over the data and samples per gradient step.
    validation_data : ``(X_val, y_val)`` evaluated after each epoch (no dropout).
    rng : seed or Generator for the shuffling order (the model has its own seeds).
    callbacks : e.g. ``EarlyStopping``, ``ModelCheckpoint``; any may stop training.
    progress : show a progress bar per epoch (tqdm; a widget in notebooks).
    history : continue an existing history (used to resume training); callbacks such as
        ``EarlyStopping`` then take its earlier epochs into account.

    Raises
    ------
    ValueError
        before any training, for empty or mismatched data and (classification) labels outside
        ``[0, number of model outputs)``.
    FloatingPointError
        if the loss becomes NaN or inf, naming the epoch and batch (usually: lower the learning rate).
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    X, y = np.asarray(X), np.asarray(y)
    n_outputs = model.output_shape((int(np.prod(X.shape[1:])),))[-1]
    _check_dataset(X, y, loss, "training data", n_outputs)
    if validation_data is not None:
        x_val, y_val = (np.asarray(a) for a in validation_data)
        _check_dataset(x_val, y_val, loss, "validation_data", n_outputs)
    rng = np.random.default_rng(rng)
    history = history if history is not None else History()
    history.stopped_early = False  # this fit's outcome, not that of an earlier one
    first_epoch = history.epoch[-1] + 1 if history.epoch else 1
    n_batches = math.ceil(len(X) / batch_size)

    for cb in callbacks:
        cb.on_train_begin(model)
    try:
        for epoch in range(first_epoch, first_epoch + epochs):
            start = time.perf_counter()
            lr = optimizer.current_lr
            total_loss, correct = 0.0, 0
            batches = iterate_minibatches(
                X, y, batch_size, shuffle=shuffle, rng=rng, dtype=model.dtype
            )
            bar = _progress_bar(progress, n_batches, f"epoch {epoch}")
            for batch_index, (xb, yb) in enumerate(batches, start=1):
                out = model.forward(xb, training=True)
                if not np.isfinite(out).all():
                    raise FloatingPointError(
                        f"the network's output became NaN or inf at epoch {epoch}, batch "
                        f"{batch_index}: the learning rate ({optimizer.current_lr:g}) is probably too large"
                    )
                batch_loss = loss.forward(out, yb)
                if not math.isfinite(batch_loss):
                    raise FloatingPointError(
                        f"loss became {batch_loss} at epoch {epoch}, batch {batch_index}: "
                        f"the learning rate ({optimizer.current_lr:g}) is probably too large"
                    )
                model.backward(loss.backward(), input_grad=False)
                optimizer.step(model)
                total_loss += batch_loss * len(yb)
                if loss.is_classification:
                    correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
                if bar is not None:
                    bar.update(1)
                    if batch_index % 20 == 0 or batch_index == n_batches:
                        bar.set_postfix(
                            loss=f"{total_loss / (batch_index * batch_size):.4f}",
                            refresh=False,
                        )
            if bar is not None:
                bar.close()

            history.epoch.append(epoch)
            history.learning_rate.append(lr)
            history.train_loss.append(total_loss / len(X))
            if loss.is_classification:
                history.train_accuracy.append(correct / len(X))
            if validation_data is not None:
                val_loss, val_acc = evaluate(model, loss, x_val, y_val)
                history.val_loss.append(val_loss)
                if val_acc is not None:
                    history.val_accuracy.append(val_acc)
            history.epoch_time.append(time.perf_counter() - start)
            stop = [cb.on_epoch_end(epoch, history, model) for cb in callbacks]
            if any(stop):
                history.stopped_early = True
                break
    finally:
        for cb in callbacks:
            cb.on_train_end(model)
    return history


def _progress_bar(enabled: bool, total: int, desc: str):  # returns a tqdm bar or None
    """A tqdm bar (a widget in Jupyter, text in a terminal), or None when disabled."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch", leave=False)

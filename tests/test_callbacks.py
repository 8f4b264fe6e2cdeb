"""Tests for :mod:`nnlib.callbacks`: EarlyStopping and ModelCheckpoint.

The stopping rule is tested on hand-made loss sequences (so the expected epoch is
obvious), and both callbacks are tested inside real ``fit`` runs, where a recording
callback keeps a copy of the weights after every epoch to compare against.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import (
    Adam,
    Callback,
    EarlyStopping,
    History,
    ModelCheckpoint,
    Sequential,
    SoftmaxCrossEntropy,
    evaluate,
    fit,
    mlp,
)


def first_stop(
    callback: Callback, values: list[float], monitor: str = "val_loss"
) -> int | None:
    """Feed ``values`` (one per epoch) to ``callback`` as fit would; return the epoch at
    which it asks to stop, or None."""
    model = mlp(2, [], 2, rng=0)
    history = History()
    callback.on_train_begin(model)
    for epoch, value in enumerate(values, start=1):
        history.epoch.append(epoch)
        getattr(history, monitor).append(value)
        if callback.on_epoch_end(epoch, history, model):
            return epoch
    return None


class RecordWeights(Callback):
    """Keeps a copy of every parameter after each epoch, keyed by epoch number."""

    def __init__(self) -> None:
        self.weights: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch, history, model) -> bool:
        self.weights[epoch] = [p.value.copy() for p in model.parameters()]
        return False


def run(callbacks, data, epochs=40):
    x, y, x_val, y_val = data
    model = mlp(5, [32], 3, rng=0)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        Adam(0.02),
        x,
        y,
        epochs=epochs,
        batch_size=8,
        validation_data=(x_val, y_val),
        rng=0,
        callbacks=callbacks,
        progress=False,
    )
    return model, history


# -------------------------------------------------------------- EarlyStopping: the rule


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    """Best value at epoch 3; with patience 2 the two epochs without improvement are 4
    and 5, so training stops at the end of epoch 5 (the documented rule "has not
    improved for ``patience`` epochs", which is also Keras' and PyTorch Lightning's)."""
    assert first_stop(EarlyStopping(patience=2), [5, 4, 3, 3.5, 3.6, 3.7, 3.8]) == 5


def test_early_stopping_patience_counts_from_the_latest_improvement():
    """An improvement resets the count: a best at 2, then a new best at 5. Counting from
    epoch 2 would stop at epoch 5 or 6; counting from 5 it stops no earlier than 5 +
    patience = 8. (The exact stopping epoch is pinned down by the previous test.)"""
    values = [5, 4, 4.5, 4.2, 3, 3.1, 3.2, 3.3, 3.4, 3.5]
    stop = first_stop(EarlyStopping(patience=3), values)
    assert stop is not None and stop >= 8


def test_early_stopping_does_not_stop_while_improving():
    """Even with patience 0, a steadily improving run is never stopped."""
    assert first_stop(EarlyStopping(patience=0), [5, 4, 3, 2, 1]) is None


def test_early_stopping_min_delta():
    """With min_delta = 0.1, 1.0 → 0.95 → 0.94 → 0.93 are not improvements, so training
    stops; without min_delta every one of them is an improvement and it never stops."""
    assert (
        first_stop(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.94, 0.93])
        is not None
    )
    assert first_stop(EarlyStopping(patience=1), [1.0, 0.95, 0.94, 0.93]) is None


def test_early_stopping_on_accuracy_wants_higher_values():
    """For an accuracy, a *rise* is an improvement: 0.5, 0.6, 0.7 never stops; a fall
    does."""
    rising, falling = [0.5, 0.6, 0.7], [0.7, 0.6, 0.5, 0.4]
    monitor = "val_accuracy"
    assert first_stop(EarlyStopping(monitor, patience=1), rising, monitor) is None
    assert first_stop(EarlyStopping(monitor, patience=1), falling, monitor) is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"monitor": "loss"}, r"monitor must be one of \('val_loss'"),
        ({"patience": -1}, "patience must be an integer >= 0, got -1"),
        ({"patience": 1.5}, "patience must be an integer >= 0, got 1.5"),
        ({"min_delta": -0.1}, r"min_delta must be a finite number in \[0\.0, inf\]"),
    ],
)
def test_early_stopping_rejects_bad_arguments(kwargs, message):
    """Each bad argument is refused with a message naming it."""
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)


# ----------------------------------------------------------------- EarlyStopping in fit


def test_early_stopping_restores_the_weights_of_the_best_epoch(overfitting_problem):
    """After an early stop the model holds exactly the weights it had at the end of the
    best epoch (compared with a copy taken then), and re-evaluating it reproduces the
    best val loss."""
    early, record = EarlyStopping(patience=2), RecordWeights()
    model, history = run([record, early], overfitting_problem)
    assert history.stopped_early and len(history) < 40
    best = history.best_epoch()
    assert early.best_epoch == best < history.epoch[-1]
    for p, saved in zip(model.parameters(), record.weights[best], strict=True):
        assert np.array_equal(p.value, saved), p.name
    last = record.weights[history.epoch[-1]]
    assert not all(  # the restore did change something
        np.array_equal(p.value, w)
        for p, w in zip(model.parameters(), last, strict=True)
    )
    _, _, x_val, y_val = overfitting_problem
    val_loss, _ = evaluate(model, SoftmaxCrossEntropy(), x_val, y_val)
    # Same weights, same data, same code path: equal up to float32 summation order
    # (1e-6).
    assert val_loss == pytest.approx(min(history.val_loss), rel=1e-6)


def test_early_stopping_without_restore_keeps_the_last_weights(overfitting_problem):
    """With restore_best=False the model keeps the weights of the last epoch."""
    record = RecordWeights()
    early = EarlyStopping(patience=2, restore_best=False)
    model, history = run([record, early], overfitting_problem)
    assert history.stopped_early
    for p, saved in zip(
        model.parameters(), record.weights[history.epoch[-1]], strict=True
    ):
        assert np.array_equal(p.value, saved)


@pytest.mark.parametrize("restore_best", ["no", 0, None])
def test_restore_best_must_be_true_or_false(restore_best) -> None:
    """Regression (review): ``restore_best="no"`` was taken as true."""
    with pytest.raises(TypeError, match="restore_best must be True or False"):
        EarlyStopping(restore_best=restore_best)


def test_early_stopping_and_checkpoint_agree_on_the_best_model(
    overfitting_problem, tmp_path
):
    """The restored model and the best checkpoint file give
    bit-identical predictions."""
    checkpoint = ModelCheckpoint(tmp_path / "best.npz")
    model, _ = run([checkpoint, EarlyStopping(patience=2)], overfitting_problem)
    x = overfitting_problem[2]
    assert np.array_equal(
        Sequential.load(tmp_path / "best.npz").predict_proba(x), model.predict_proba(x)
    )


# ---------------------------------------------------------------------- ModelCheckpoint


def test_checkpoint_saves_only_at_improvements(overfitting_problem, tmp_path):
    """With save_best_only, saves happen exactly at the epochs where val_loss reached a
    new minimum (computed here from the history), and the file holds the best epoch's
    weights."""
    path = tmp_path / "ckpt.npz"
    checkpoint, record = ModelCheckpoint(path), RecordWeights()
    _, history = run([record, checkpoint], overfitting_problem, epochs=15)
    running_min, improvements = np.inf, []
    for epoch, value in zip(history.epoch, history.val_loss, strict=True):
        if value < running_min:
            running_min = value
            improvements.append(epoch)
    assert checkpoint.saved_epochs == improvements
    assert (
        improvements[-1] < history.epoch[-1]
    )  # some later epochs were (rightly) not saved
    loaded = Sequential.load(path)
    for p, saved in zip(
        loaded.parameters(), record.weights[history.best_epoch()], strict=True
    ):
        assert np.array_equal(p.value, saved)


def test_checkpoint_saves_every_epoch_when_not_best_only(overfitting_problem, tmp_path):
    """save_best_only=False saves after every epoch; the
    file holds the final weights."""
    path = tmp_path / "last.npz"
    checkpoint = ModelCheckpoint(path, save_best_only=False)
    model, _ = run([checkpoint], overfitting_problem, epochs=6)
    assert checkpoint.saved_epochs == [1, 2, 3, 4, 5, 6]
    loaded = Sequential.load(path)
    for a, b in zip(loaded.parameters(), model.parameters(), strict=True):
        assert np.array_equal(a.value, b.value)


@pytest.mark.parametrize(
    "make", [lambda p: EarlyStopping(), lambda p: ModelCheckpoint(p)]
)
def test_monitoring_val_loss_without_validation_data_is_a_clear_error(
    make, toy_data, tmp_path
):
    """Monitoring val_loss without validation_data says so and how to fix it."""
    x, y = toy_data
    with pytest.raises(
        ValueError, match=r"cannot monitor 'val_loss'.*pass validation_data"
    ):
        fit(
            mlp(6, [4], 3, rng=0),
            SoftmaxCrossEntropy(),
            Adam(0.01),
            x,
            y,
            epochs=2,
            batch_size=16,
            callbacks=[make(tmp_path / "m.npz")],
            progress=False,
        )


def test_checkpoint_every_epoch_needs_no_validation_data(toy_data, tmp_path):
    """With save_best_only=False nothing is monitored, so training without validation
    data must work and save after every epoch."""
    x, y = toy_data
    checkpoint = ModelCheckpoint(tmp_path / "m.npz", save_best_only=False)
    fit(
        mlp(6, [4], 3, rng=0),
        SoftmaxCrossEntropy(),
        Adam(0.01),
        x,
        y,
        epochs=2,
        batch_size=16,
        callbacks=[checkpoint],
        progress=False,
    )
    assert checkpoint.saved_epochs == [1, 2]


def test_checkpoint_on_train_accuracy_without_validation(toy_data, tmp_path):
    """Training metrics can be monitored without validation data; higher accuracy is
    better."""
    x, y = toy_data
    checkpoint = ModelCheckpoint(tmp_path / "m.npz", monitor="train_accuracy")
    history = fit(
        mlp(6, [8], 3, rng=0),
        SoftmaxCrossEntropy(),
        Adam(0.05),
        x,
        y,
        epochs=5,
        batch_size=16,
        rng=0,
        callbacks=[checkpoint],
        progress=False,
    )
    best_so_far = np.maximum.accumulate(history.train_accuracy)
    expected = [
        e
        for i, e in enumerate(history.epoch)
        if i == 0 or best_so_far[i] > best_so_far[i - 1]
    ]
    assert checkpoint.saved_epochs == expected
    assert (tmp_path / "m.npz").is_file()


# ------------------------------------------------------------------ continued histories
# Regression tests: a fit that continues an earlier history (resuming) used to restart
# the trackers, so a worse epoch overwrote the best model and patience started over.


def quiet_fit(model, x, y, val, **kwargs) -> History:
    return fit(
        model,
        SoftmaxCrossEntropy(),
        kwargs.pop("optimizer", Adam(0.02)),
        x,
        y,
        batch_size=8,
        validation_data=val,
        rng=0,
        progress=False,
        **kwargs,
    )


def test_checkpoint_continuing_a_history_keeps_the_earlier_best(
    overfitting_problem, tmp_path
):
    """A fit that continues a history must not overwrite best.npz with an epoch that is
    worse than the best of the earlier epochs (a fresh tracker used to treat its first
    epoch as a new best)."""
    x, y, x_val, y_val = overfitting_problem
    model, optimizer, path = mlp(5, [32], 3, rng=0), Adam(0.02), tmp_path / "best.npz"
    history = quiet_fit(
        model,
        x,
        y,
        (x_val, y_val),
        optimizer=optimizer,
        epochs=12,
        callbacks=[ModelCheckpoint(path)],
    )
    saved = path.read_bytes()
    resumed = ModelCheckpoint(path)
    quiet_fit(
        model,
        x,
        y,
        (x_val, y_val),
        optimizer=optimizer,
        epochs=3,
        history=history,
        callbacks=[resumed],
    )
    assert min(history.val_loss[-3:]) > min(
        history.val_loss[:-3]
    )  # the new epochs are all worse
    assert resumed.saved_epochs == [] and path.read_bytes() == saved


def test_early_stopping_counts_the_epochs_waited_before_a_resume():
    """Best at epoch 2, then epoch 3 without improvement; a second fit continues the
    history. With patience 2, its first epoch (4) is the second in a row without a new
    best: stop there."""
    model, history, early = mlp(2, [], 2, rng=0), History(), EarlyStopping(patience=2)
    stops = []
    for values in ([3.0, 2.0, 2.5], [2.6]):  # two fits on the same history
        early.on_train_begin(model)
        for value in values:
            history.epoch.append(len(history) + 1)
            history.val_loss.append(value)
            stops.append(early.on_epoch_end(history.epoch[-1], history, model))
    assert stops == [False, False, False, True]
    assert early.best_epoch == 2


def test_early_stopping_forgets_the_best_weights_of_an_earlier_fit(
    same_weights, weights, overfitting_problem
):
    """Reused for a second fit (continuing the history) that never beats the earlier
    best, the callback must not put back weights it stored during the first fit."""
    x, y, x_val, y_val = overfitting_problem
    model, early = mlp(5, [32], 3, rng=0), EarlyStopping(patience=100)
    history = quiet_fit(model, x, y, (x_val, y_val), epochs=12, callbacks=[early])
    record = RecordWeights()
    quiet_fit(
        model,
        x,
        y,
        (x_val, y_val),
        optimizer=Adam(0.3),
        epochs=2,
        history=history,
        callbacks=[record, early],
    )  # a learning rate too large: the val loss gets worse
    assert min(history.val_loss[-2:]) > min(
        history.val_loss[:-2]
    )  # no new best in the second fit
    assert same_weights(weights(model), record.weights[history.epoch[-1]])


def test_early_stopping_accepts_numpy_integer_patience():
    """Like the rest of the library, numpy integers are integers (e.g. from np.arange
    grids)."""
    early = EarlyStopping(patience=np.int64(3))
    assert early.patience == 3 and type(early.patience) is int


def test_callbacks_state_round_trips(overfitting_problem, tmp_path):
    """``state_dict``/``load_state_dict`` (what checkpoints save): a fresh callback
    given the state of one that saw 12 epochs continues exactly like it."""
    x, y, x_val, y_val = overfitting_problem
    model = mlp(5, [32], 3, rng=0)
    early, best = EarlyStopping(patience=100), ModelCheckpoint(tmp_path / "b.npz")
    quiet_fit(model, x, y, (x_val, y_val), epochs=12, callbacks=[early, best])
    assert early._best_weights is not None and best.saved_epochs
    early2, best2 = EarlyStopping(patience=3), ModelCheckpoint(tmp_path / "b.npz")
    early2.load_state_dict(early.state_dict())
    best2.load_state_dict(best.state_dict())
    assert (early2.best_epoch, early2._waited) == (early.best_epoch, early._waited)
    assert early2._best_weights.keys() == early._best_weights.keys()
    assert best2.saved_epochs == best.saved_epochs
    assert best2._tracker.state() == best._tracker.state()
    with pytest.raises(ValueError, match="not the state of a 'val_loss' tracker"):
        early2.load_state_dict(
            {
                "state": np.array(
                    '{"best": "x", "best_epoch": 1, "waited": 0, "seen": 1}'
                )
            }
        )

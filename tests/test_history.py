"""Tests for :mod:`nnlib.history`: ``History`` records, JSON files, best epochs."""

from __future__ import annotations

import copy
import os

import pytest

from nnlib import Adam, History, SoftmaxCrossEntropy, fit, mlp


def quiet_fit(model, loss, optimizer, x, y, **kwargs) -> History:
    """``fit`` without the progress bar (tests print nothing)."""
    return fit(model, loss, optimizer, x, y, progress=False, **kwargs)


def test_history_continues_epoch_numbering(toy_data):
    """Passing a history continues it: a second fit of 2 epochs after 3 records epochs 4
    and 5."""
    x, y = toy_data
    model, opt = mlp(6, [4], 3, rng=0), Adam(0.01)
    history = quiet_fit(
        model, SoftmaxCrossEntropy(), opt, x, y, epochs=3, batch_size=16, rng=0
    )
    same = quiet_fit(
        model,
        SoftmaxCrossEntropy(),
        opt,
        x,
        y,
        epochs=2,
        batch_size=16,
        rng=1,
        history=history,
    )
    assert same is history
    assert history.epoch == [1, 2, 3, 4, 5]
    assert len(history.train_loss) == len(history.train_accuracy) == len(history) == 5


def test_history_json_round_trip(tmp_path, toy_data):
    """to_json writes the file and returns the text; from_json restores an equal
    History."""
    x, y = toy_data
    history = quiet_fit(
        mlp(6, [4], 3, rng=0),
        SoftmaxCrossEntropy(),
        Adam(0.01),
        x,
        y,
        epochs=3,
        batch_size=16,
        rng=0,
        validation_data=(x, y),
    )
    text = history.to_json(tmp_path / "history.json")
    assert (tmp_path / "history.json").read_text() == text
    restored = History.from_json(text)
    assert (
        restored == history
    )  # dataclass equality: every field, floats exactly (JSON repr)
    assert restored.metrics() == history.metrics()


def test_best_epoch_picks_lowest_loss_and_highest_accuracy():
    """best_epoch minimises losses, maximises accuracies, and refuses empty entries."""
    history = History(
        epoch=[1, 2, 3, 4],
        val_loss=[0.9, 0.5, 0.7, 0.6],
        val_accuracy=[0.5, 0.7, 0.8, 0.6],
    )
    assert history.best_epoch() == 2  # default monitor: val_loss, lower is better
    assert history.best_epoch("val_accuracy") == 3  # accuracy: higher is better
    with pytest.raises(ValueError, match="history has no 'train_loss' values"):
        history.best_epoch("train_loss")


def test_best_epoch_reports_epoch_numbers_of_a_continued_run():
    """best_epoch returns an epoch number, not a list index."""
    history = History(epoch=[6, 7, 8], val_loss=[0.3, 0.2, 0.25])
    assert history.best_epoch() == 7


def test_histories_are_independent():
    """Each History has its own lists (no shared mutable default)."""
    a, b = History(), History()
    a.epoch.append(1)
    assert b.epoch == []
    assert copy.deepcopy(a) == a


def test_history_to_json_is_atomic(tmp_path, monkeypatch):
    """If the write fails, the previous file is intact (write_text used to truncate
    it first)."""
    path = tmp_path / "history.json"
    path.write_text("previous")

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        History(epoch=[1], train_loss=[0.5]).to_json(path)
    monkeypatch.undo()
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_a_history_file_from_before_the_regression_metric_loads():
    """Files written before ``train_mae``/``val_mae`` existed still load (the new
    fields start empty); unknown keys or wrong types are a ValueError."""
    old = '{"epoch": [1], "train_loss": [0.5], "train_accuracy": [0.8], "val_loss": []'
    old += ', "val_accuracy": [], "learning_rate": [0.1], "epoch_time": [1.0], '
    old += '"stopped_early": false}'
    history = History.from_json(old)
    assert history.epoch == [1] and history.train_mae == [] and history.val_mae == []
    with pytest.raises(ValueError, match="not a History"):
        History.from_json('{"epoch": [1], "surprise": 1}')
    with pytest.raises(ValueError, match="'train_loss' has a value of wrong type"):
        History.from_json('{"epoch": [1], "train_loss": "0.5"}')

"""Regression tests for resuming training and for the command line's error handling.

Each test pins down one defect found in review: trackers that restarted on resume, a stale
``stopped_early``, labels checked too late, tracebacks from the command line, ``--resume``
ignoring the saved number of epochs or mixing checkpoint files of different epochs, and options
that were checked too late or ignored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from nnlib import (
    SGD,
    Adam,
    Callback,
    EarlyStopping,
    History,
    ModelCheckpoint,
    Sequential,
    SoftmaxCrossEntropy,
    cli,
    fit,
    mlp,
)

TRACEBACK_ENV = "NNLIB_TRACEBACK"  # set: the command line re-raises unexpected errors
TRAIN = [
    "train",
    "--split",
    "balanced",
    "--limit",
    "1500",
    "--hidden",
    "32",
    "--batch-size",
    "64",
    "--no-progress",
    "--no-download",
]


@pytest.fixture(autouse=True)
def show_tracebacks(monkeypatch):
    """A bug in the command line must fail a test with its traceback, not as a one-line message."""
    monkeypatch.setenv(TRACEBACK_ENV, "1")


@pytest.fixture
def overfitting_problem():
    """Random labels: validation loss falls for a few epochs, then rises (as in test_callbacks)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 5)).astype(np.float32), rng.integers(0, 3, 32)
    x_val, y_val = (
        rng.standard_normal((32, 5)).astype(np.float32),
        rng.integers(0, 3, 32),
    )
    return x, y, x_val, y_val


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


def weights(model: Sequential) -> list[np.ndarray]:
    return [p.value.copy() for p in model.parameters()]


def same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


class Recorder(Callback):
    """Copies the weights (and the optimizer's step count) after every epoch."""

    def __init__(self, optimizer=None) -> None:
        self.optimizer = optimizer
        self.weights: dict[int, list[np.ndarray]] = {}
        self.iterations: dict[int, int] = {}

    def on_epoch_end(self, epoch, history, model) -> bool:
        self.weights[epoch] = weights(model)
        if self.optimizer is not None:
            self.iterations[epoch] = self.optimizer.iterations
        return False


def one_line_error(err: str) -> bool:
    return (
        len(err.strip().splitlines()) == 1
        and err.startswith("error: ")
        and "Traceback" not in err
    )


# ------------------------------------------------------------------ 1. callbacks on a continued history


def test_checkpoint_continuing_a_history_keeps_the_earlier_best(
    overfitting_problem, tmp_path
):
    """A fit that continues a history must not overwrite best.npz with an epoch that is worse than
    the best of the earlier epochs (a fresh tracker used to treat its first epoch as a new best)."""
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
    """Best at epoch 2, then epoch 3 without improvement; a second fit continues the history. With
    patience 2, its first epoch (4) is the second in a row without a new best: stop there."""
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


def test_early_stopping_forgets_the_best_weights_of_an_earlier_fit(overfitting_problem):
    """Reused for a second fit (continuing the history) that never beats the earlier best, the
    callback must not put back weights it stored during the first fit."""
    x, y, x_val, y_val = overfitting_problem
    model, early = mlp(5, [32], 3, rng=0), EarlyStopping(patience=100)
    history = quiet_fit(model, x, y, (x_val, y_val), epochs=12, callbacks=[early])
    record = Recorder()
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
    """Like the rest of the library, numpy integers are integers (e.g. from np.arange grids)."""
    early = EarlyStopping(patience=np.int64(3))
    assert early.patience == 3 and type(early.patience) is int


# ------------------------------------------------------------------ 2. fit


def test_stopped_early_is_reset_when_a_history_is_continued(overfitting_problem):
    """A continued run that completes all of its epochs did not stop early."""
    x, y, x_val, y_val = overfitting_problem
    model = mlp(5, [32], 3, rng=0)
    history = quiet_fit(
        model, x, y, (x_val, y_val), epochs=40, callbacks=[EarlyStopping(patience=2)]
    )
    assert history.stopped_early
    quiet_fit(model, x, y, (x_val, y_val), epochs=1, history=history)
    assert not history.stopped_early


@pytest.mark.parametrize("where", ["training", "validation"])
def test_labels_beyond_the_outputs_fail_before_any_training(where, toy_data):
    """Label 7 with 3 outputs, in the last training sample or in the validation set, is refused
    before the first optimizer step (it used to surface mid-epoch or after a whole epoch)."""
    x, y = toy_data
    y_train, y_val = y.copy(), y[:10].copy()
    (y_train if where == "training" else y_val)[-1] = 7
    model = mlp(6, [4], 3, rng=0)
    before = weights(model)
    name = "training data" if where == "training" else "validation_data"
    with pytest.raises(
        ValueError, match=rf"{name}: y must be in \[0, 3\), got label 7"
    ):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y_train,
            epochs=2,
            batch_size=8,
            validation_data=(x[:10], y_val),
            progress=False,
        )
    assert same_weights(weights(model), before)


# ------------------------------------------------------------------ 3. errors of the command line


def test_diverging_run_is_a_one_line_error(offline_zip: str, tmp_path: Path) -> None:
    """A learning rate far too large: exit 1 with one line that suggests a smaller --lr (no
    traceback, no numpy overflow warnings)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnlib",
            "train",
            "--split",
            "mnist",
            "--data",
            offline_zip,
            "--limit",
            "1000",
            "--hidden",
            "16",
            "--optimizer",
            "momentum",
            "--lr",
            "1e10",
            "--epochs",
            "2",
            "--no-progress",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert one_line_error(result.stderr), result.stderr
    assert "diverged" in result.stderr and "--lr" in result.stderr


def test_unexpected_errors_are_one_line_with_a_traceback_switch(
    monkeypatch, tmp_path, capsys
) -> None:
    """A bug is reported in one line naming the switch that shows its traceback; the switch
    re-raises it; Ctrl-C outside training still exits with 130."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.data, "load_emnist", broken)
    argv = ["train", "--out", str(tmp_path / "run"), "--no-progress"]
    with pytest.raises(
        RuntimeError, match="boom"
    ):  # NNLIB_TRACEBACK is set by the fixture
        cli.main(argv)
    monkeypatch.delenv(TRACEBACK_ENV)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert (
        one_line_error(err)
        and "RuntimeError: boom" in err
        and f"{TRACEBACK_ENV}=1" in err
    )

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.data, "load_emnist", interrupted)
    assert cli.main(argv) == 130


# ------------------------------------------------------------------ 4. --resume


def interrupt_after_first_epoch(monkeypatch):
    """Make cli.fit train one epoch (its checkpoint is written), then "press Ctrl-C"."""
    real_fit = cli.fit

    def fit_then_interrupt(*args, **kwargs):
        kwargs["epochs"] = 1
        real_fit(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fit", fit_then_interrupt)
    return real_fit


def test_resume_trains_the_saved_number_of_epochs(
    offline_zip, tmp_path, monkeypatch
) -> None:
    """Without --epochs, --resume finishes the run's own epoch count (3), not the default 30."""
    out = tmp_path / "run"
    real_fit = interrupt_after_first_epoch(monkeypatch)
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--epochs", "3", "--out", str(out)])
        == 130
    )

    def checked_fit(*args, **kwargs):
        assert kwargs["epochs"] == 2, kwargs["epochs"]
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cli, "fit", checked_fit)
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2, 3]
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


def test_help_documents_the_epochs_default(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # whatever the terminal width
    assert (
        "maximum number of epochs (default: 30; with --resume: the saved run's)"
        in help_text
    )


def set_first_val_loss(out: Path, value: float) -> None:
    """Edit the saved history (wherever the checkpoint keeps it) so that epoch 1 looks very good."""
    history = json.loads((out / "history.json").read_text())
    history["val_loss"][0] = value
    text = json.dumps(history)
    (out / "history.json").write_text(text)
    with np.load(out / "checkpoint.npz") as f:
        arrays = {name: f[name] for name in f.files}
    if "history" in arrays:
        arrays["history"] = np.array(text)
        np.savez(out / "checkpoint.npz", **arrays)


def test_resume_continues_early_stopping_and_best_model(
    offline_zip, tmp_path, monkeypatch, capsys
) -> None:
    """After a resume, the earlier epochs count: a resumed epoch worse than the earlier best does
    not overwrite best.npz, and with patience 1 training stops after it."""
    out = tmp_path / "run"
    real_fit = interrupt_after_first_epoch(monkeypatch)
    assert (
        cli.main(
            [
                *TRAIN,
                "--data",
                offline_zip,
                "--epochs",
                "3",
                "--patience",
                "1",
                "--out",
                str(out),
            ]
        )
        == 130
    )
    set_first_val_loss(out, 0.0)  # no later epoch can beat it
    best = (out / "best.npz").read_bytes()
    monkeypatch.setattr(cli, "fit", real_fit)
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2] and history["stopped_early"]
    assert (out / "best.npz").read_bytes() == best
    final, best_model = (
        Sequential.load(out / "model.npz"),
        Sequential.load(out / "best.npz"),
    )
    assert same_weights(weights(final), weights(best_model))
    # The run is over: resuming it again is refused in one line.
    capsys.readouterr()
    assert (
        cli.main(
            ["train", "--out", str(out), "--resume", "--epochs", "5", "--no-progress"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert one_line_error(err) and "nothing to resume" in err


@pytest.mark.parametrize("interrupt_after", [1, 2, 3])
def test_interrupt_while_writing_checkpoint_files_resumes_consistently(
    interrupt_after, offline_zip, tmp_path, monkeypatch
) -> None:
    """Ctrl-C right after the n-th file of epoch 2's checkpoint was replaced. The resumed run must
    start from weights, optimizer state and history of one and the same epoch, and at the end
    best.npz must hold the weights of the history's best epoch."""
    out, real_fit, real_replace = tmp_path / "run", cli.fit, os.replace
    trap = {"armed": False, "count": 0}

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        if trap["armed"]:
            trap["count"] += 1
            if trap["count"] == interrupt_after:
                trap["armed"] = False
                raise KeyboardInterrupt

    class ArmAtEpoch2(Recorder):  # runs first, before any callback writes a file
        def on_epoch_end(self, epoch, history, model) -> bool:
            trap["armed"] = trap["armed"] or epoch == 2
            return super().on_epoch_end(epoch, history, model)

    runs: list[Recorder] = []
    start: dict = {}

    def recording_fit(model, loss, optimizer, *args, **kwargs):
        history = kwargs.get("history")
        if history is not None:
            start.update(
                epochs=len(history),
                weights=weights(model),
                iterations=optimizer.iterations,
            )
        runs.append(ArmAtEpoch2(optimizer) if not runs else Recorder(optimizer))
        kwargs["callbacks"] = [runs[-1], *kwargs["callbacks"]]
        return real_fit(model, loss, optimizer, *args, **kwargs)

    monkeypatch.setattr(cli, "fit", recording_fit)
    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--epochs", "4", "--out", str(out)])
        == 130
    )
    monkeypatch.setattr(os, "replace", real_replace)
    assert (
        cli.main(
            ["train", "--out", str(out), "--resume", "--epochs", "4", "--no-progress"]
        )
        == 0
    )

    first, resumed = runs
    n = start["epochs"]
    assert n in first.weights
    assert same_weights(start["weights"], first.weights[n])
    assert start["iterations"] == first.iterations[n]
    history = History.from_json((out / "history.json").read_text())
    assert history.epoch == [1, 2, 3, 4]
    best = history.best_epoch("val_loss")
    expected = first.weights[best] if best <= n else resumed.weights[best]
    assert same_weights(weights(Sequential.load(out / "best.npz")), expected)


# ------------------------------------------------------------------ 5. missing parts of the data set


def test_missing_training_part_is_reported_before_training(
    shared_offline_copy, tmp_path, capsys
) -> None:
    """The offline copy holds only the test part of bymerge: say so (and where to look) before
    building a model or creating the run directory."""
    offline_zip = shared_offline_copy
    out = tmp_path / "run"
    assert (
        cli.main(
            [
                "train",
                "--split",
                "bymerge",
                "--data",
                offline_zip,
                "--no-download",
                "--out",
                str(out),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert one_line_error(err) and "no training images" in err and "MANIFEST" in err
    assert not out.exists()


def test_missing_test_part_is_reported_before_training(
    offline_zip, tmp_path, monkeypatch, capsys
) -> None:
    """An empty test set would only fail after training: train refuses it up front, and evaluate
    says what is missing."""
    real_load = cli.data.load_emnist

    def load_without_test(*args, **kwargs):
        dataset = real_load(*args, **kwargs)
        return dataclasses.replace(
            dataset, x_test=dataset.x_test[:0], y_test=dataset.y_test[:0]
        )

    def no_training(*args, **kwargs):
        raise AssertionError("fit must not be called without a test set")

    monkeypatch.setattr(cli.data, "load_emnist", load_without_test)
    monkeypatch.setattr(cli, "fit", no_training)
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--out", str(tmp_path / "run")]) == 1
    )
    err = capsys.readouterr().err
    assert one_line_error(err) and "no test images" in err
    mlp(784, [8], 47, rng=0).save(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "evaluate",
                "--model",
                str(tmp_path / "m.npz"),
                "--split",
                "balanced",
                "--data",
                offline_zip,
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert one_line_error(err) and "no test images" in err


# ------------------------------------------------------------------ 6. options checked early, none ignored


@pytest.mark.parametrize("command", ["train", "tune"])
def test_negative_seed_is_a_usage_error(command, tmp_path, capsys) -> None:
    """--seed -1 is refused while parsing (exit 2, one line), before any data is loaded."""
    argv = [
        command,
        "--seed",
        "-1",
        "--data",
        str(tmp_path / "nowhere.zip"),
        "--out",
        str(tmp_path),
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert one_line_error(err) and "--seed: must be an integer >= 0, got -1" in err


def test_evaluate_limit_uses_the_first_n_test_images(offline_zip, tmp_path) -> None:
    mlp(784, [8], 10, rng=0).save(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "evaluate",
                "--model",
                str(tmp_path / "m.npz"),
                "--split",
                "mnist",
                "--data",
                offline_zip,
                "--limit",
                "100",
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    assert (
        json.loads((tmp_path / "eval" / "metrics.json").read_text())["test"]["n_test"]
        == 100
    )


def test_a_resumed_run_continues_exactly_as_an_uninterrupted_one(
    offline_zip, tmp_path, monkeypatch
) -> None:
    """Interrupted after epoch 1 and resumed, a run ends with the same history and weights, bit for
    bit, as the same run trained straight through: the checkpoint holds the weights, Adam's state
    and the random generators (shuffling and dropout masks) of the same epoch."""
    args = [
        *TRAIN,
        "--data",
        offline_zip,
        "--dropout",
        "0.3",
        "--epochs",
        "3",
        "--patience",
        "5",
    ]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert cli.main([*args, "--out", str(straight)]) == 0

    real_fit = interrupt_after_first_epoch(monkeypatch)
    assert cli.main([*args, "--out", str(resumed)]) == 130
    monkeypatch.setattr(cli, "fit", real_fit)
    assert cli.main(["train", "--out", str(resumed), "--resume", "--no-progress"]) == 0

    def metrics_of(out: Path) -> dict:
        history = json.loads((out / "history.json").read_text())
        history.pop("epoch_time")  # wall-clock times differ, everything else must not
        return history

    assert metrics_of(resumed) == metrics_of(straight)
    assert len(metrics_of(straight)["train_loss"]) == 3
    with (
        np.load(straight / "checkpoint.npz") as a,
        np.load(resumed / "checkpoint.npz") as b,
    ):
        weights = [
            name for name in a.files if name.startswith(("model/", "optimizer/"))
        ]
        assert weights and all(np.array_equal(a[name], b[name]) for name in weights)

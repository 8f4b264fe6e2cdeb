"""Tests for :mod:`nnlib.checkpoint` and ``fit(..., checkpoint=PATH)``.

* a run interrupted (between epochs, or in the middle of one) and started again with
  the very same call ends exactly, bit for bit, as the uninterrupted run: weights,
  optimizer state, generators, history and callbacks' state;
* calling ``fit`` again on a finished run trains nothing and returns the same model;
* damaged, foreign, hostile and older checkpoints are refused with a ValueError that
  names the file, before anything large is read, and change nothing.
"""

from __future__ import annotations

import io
import json
import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

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
    report,
)
from nnlib.checkpoint import load_checkpoint, read_history, save_checkpoint
from nnlib.schedules import CosineDecay


class Interrupt(Callback):
    """Presses Ctrl-C at the end of epoch ``at`` (before its checkpoint is written)."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def on_epoch_end(self, epoch, history, model) -> bool:
        if epoch == self.at:
            raise KeyboardInterrupt
        return False


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    return x[:60], y[:60], x[60:], y[60:]


def run(problem, tmp_path, *, interrupt_at=None, epochs=6, patience=100):
    """One call of a run with everything that carries state: dropout, shuffling,
    Adam with a schedule, early stopping with best weights, a best-model file."""
    x, y, x_val, y_val = problem
    model = mlp(6, [16], 3, dropout=0.3, rng=5)
    optimizer = Adam(0.02, schedule=CosineDecay(40, 0.1))
    callbacks = [
        EarlyStopping(patience=patience),
        ModelCheckpoint(tmp_path / "best.npz"),
        Interrupt(interrupt_at),
    ]
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        x,
        y,
        epochs=epochs,
        batch_size=8,
        validation_data=(x_val, y_val),
        rng=6,
        callbacks=callbacks,
        progress=False,
        checkpoint=tmp_path / "run.ckpt",
    )
    return model, optimizer, history


def same_state(a, b) -> None:
    """Two (model, optimizer, history) triples are identical, bit for bit."""
    (model_a, opt_a, hist_a), (model_b, opt_b, hist_b) = a, b
    assert hist_a.metrics() == hist_b.metrics()
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert np.array_equal(p.value, q.value), p.name
    state_a, state_b = opt_a.state_dict(), opt_b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    gens_a, gens_b = model_a.generators(), model_b.generators()
    assert [g.bit_generator.state for g in gens_a.values()] == [
        g.bit_generator.state for g in gens_b.values()
    ]


@pytest.mark.parametrize("interrupt_at", [1, 3, 6])
def test_an_interrupted_run_finishes_exactly_as_an_uninterrupted_one(
    interrupt_at, problem, tmp_path
):
    """Ctrl-C at the end of epoch 1, 3 or 6 (of 6), then the very same call again:
    the same history, weights, optimizer state and dropout generators, bit for bit,
    and the best model file holds the same weights."""
    straight = run(problem, tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        run(problem, tmp_path / "resumed", interrupt_at=interrupt_at)
    path = tmp_path / "resumed" / "run.ckpt"
    if interrupt_at == 1:  # no epoch completed: nothing saved, the run starts over
        assert not path.exists()
    else:
        assert read_history(path).epoch == list(range(1, interrupt_at))
    resumed = run(problem, tmp_path / "resumed")
    same_state(resumed, straight)
    assert len(straight[2]) == 6
    best = [
        Sequential.load(d / "best.npz")
        for d in (tmp_path / "straight", tmp_path / "resumed")
    ]
    for p, q in zip(best[0].parameters(), best[1].parameters(), strict=True):
        assert np.array_equal(p.value, q.value)


def test_an_interruption_inside_an_epoch_resumes_from_the_last_complete_one(
    problem, tmp_path, monkeypatch
):
    """Ctrl-C in the middle of epoch 4 (at the 30th optimizer step): the checkpoint
    holds epoch 3, and the same call again ends as the uninterrupted run."""
    straight = run(problem, tmp_path / "straight")
    real_step, steps = Adam.step, [0]

    def step_then_interrupt(self, model):
        steps[0] += 1
        if steps[0] == 30:  # 8 batches per epoch: in epoch 4
            raise KeyboardInterrupt
        real_step(self, model)

    monkeypatch.setattr(Adam, "step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(problem, tmp_path / "resumed")
    monkeypatch.undo()
    assert read_history(tmp_path / "resumed" / "run.ckpt").epoch == [1, 2, 3]
    same_state(run(problem, tmp_path / "resumed"), straight)


def test_early_stopping_state_survives_an_interruption(problem, tmp_path):
    """With patience 1 the run stops early; interrupted just before, the resumed run
    stops at the same epoch and restores the same best weights (which it never saw:
    they come from the checkpoint)."""
    straight = run(problem, tmp_path / "straight", epochs=40, patience=1)
    stop = len(straight[2])
    assert straight[2].stopped_early and stop < 40
    with pytest.raises(KeyboardInterrupt):
        run(problem, tmp_path / "resumed", epochs=40, patience=1, interrupt_at=stop)
    resumed = run(problem, tmp_path / "resumed", epochs=40, patience=1)
    same_state(resumed, straight)
    assert resumed[2].stopped_early


def test_a_finished_run_trains_nothing_more(problem, tmp_path):
    """The same call on a finished run restores it and returns at once, with the
    model as the run ended it (EarlyStopping's best weights put back)."""
    first = run(problem, tmp_path)
    again = run(problem, tmp_path)
    same_state(again, first)


def test_epochs_is_the_total_of_the_run(problem, tmp_path):
    """With a checkpoint, a larger ``epochs`` continues the same run up to it."""
    run(problem, tmp_path, epochs=2)
    _, _, history = run(problem, tmp_path, epochs=5)
    assert history.epoch == [1, 2, 3, 4, 5]


def test_history_and_checkpoint_together_are_refused(problem, tmp_path):
    x, y, _, _ = problem
    with pytest.raises(ValueError, match="history or checkpoint, not both"):
        fit(
            mlp(6, [], 3),
            SoftmaxCrossEntropy(),
            SGD(0.1),
            x,
            y,
            epochs=1,
            batch_size=8,
            progress=False,
            history=run(problem, tmp_path)[2],
            checkpoint=tmp_path / "c",
        )


# ---------------------------------------------------------------------- bad files


@pytest.fixture
def saved(problem, tmp_path):
    """A finished run's checkpoint and a fresh run (model,
    optimizer) to restore into."""
    run(problem, tmp_path, epochs=2)
    return tmp_path / "run.ckpt"


def fresh():
    return mlp(6, [16], 3, dropout=0.3, rng=5), Adam(
        0.02, schedule=CosineDecay(40, 0.1)
    )


def rewrite(path, **changes) -> None:
    """Rewrite an .npz with entries replaced (or removed, if the value is None)."""
    with zipfile.ZipFile(path) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    for name, value in changes.items():
        if value is None:
            del entries[name + ".npy"]
        else:
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(value))
            entries[name + ".npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)


def restore(path, model=None, optimizer=None):
    """Load ``path`` into a fresh run (or the given model and optimizer) with the
    callbacks ``run`` uses."""
    model, optimizer = (model, optimizer) if model else fresh()
    callbacks = [EarlyStopping(), ModelCheckpoint(path.parent / "best.npz")]
    rng = np.random.default_rng(6)
    return load_checkpoint(path, model, optimizer, rng=rng, callbacks=callbacks)


def test_a_checkpoint_of_another_model_is_refused_and_changes_nothing(saved):
    """Weights of a (6, 16) layer do not fit a (6, 8) one: a ValueError naming the
    entry, raised before the model, the optimizer or a generator changed."""
    model, optimizer = mlp(6, [8], 3, dropout=0.3, rng=5), Adam(0.02)
    before = [p.value.copy() for p in model.parameters()]
    state = model.generators()["dropout/2"].bit_generator.state
    with pytest.raises(
        ValueError, match=r"run\.ckpt is not a readable checkpoint .*0\.W"
    ):
        restore(saved, model, optimizer)
    assert all(
        np.array_equal(p.value, b)
        for p, b in zip(model.parameters(), before, strict=True)
    )
    assert optimizer.iterations == 0 and optimizer.state == {}
    assert model.generators()["dropout/2"].bit_generator.state == state


def test_a_checkpoint_of_another_optimizer_is_refused(saved):
    model, _ = fresh()
    with pytest.raises(ValueError, match="state of 'Adam', not of SGD"):
        restore(saved, model, SGD(0.1, momentum=0.9))


def test_an_invalid_generator_state_changes_nothing(saved):
    """All or nothing: a bad generator state is found before any weight is copied."""
    rewrite(saved, **{"rng/dropout/2": np.array(json.dumps({"state": "nonsense"}))})
    model, optimizer = fresh()
    before = [p.value.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"run\.ckpt is not a readable checkpoint"):
        restore(saved, model, optimizer)
    assert all(
        np.array_equal(p.value, b)
        for p, b in zip(model.parameters(), before, strict=True)
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"history": np.array("{not json")}, "inconsistent meta data or history"),
        ({"history": np.array('{"epoch": [1]}')}, "inconsistent meta data"),
        ({"model/0.W": np.zeros((6, 16))}, r"model/0\.W is float64"),
        ({"optimizer/iterations": np.array(1.5)}, "optimizer/iterations holds"),
        ({"optimizer/0.W/m": None, "extra": np.zeros(3)}, r"unexpected \['extra'\]"),
        ({"rng/shuffle": None}, r"missing \['rng/shuffle'\]"),
    ],
    ids=["json", "epochs", "dtype", "count", "extra", "missing"],
)
def test_damaged_entries_are_refused_naming_the_file(saved, change, message):
    rewrite(saved, **change)
    with pytest.raises(ValueError, match=message):
        restore(saved)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"optimizer/0.W/m": None}, r"optimizer state lacks \['0\.W/m'\]: Adam keeps"),
        ({"optimizer/iterations": np.array(-1000)}, "iterations must be >= 0"),
    ],
    ids=["one-slot-missing", "negative-iterations"],
)
def test_an_optimizer_state_adam_cannot_step_from_is_refused(saved, change, message):
    """Both loaded "successfully" and then crashed at the first step (a bare KeyError
    'm' in Adam.update; "math domain error" from 1 - beta2**t). Now: refused, naming
    the file, and nothing changed."""
    rewrite(saved, **change)
    model, optimizer = fresh()
    before = [p.value.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=rf"run\.ckpt is not a readable .*{message}"):
        restore(saved, model, optimizer)
    assert optimizer.iterations == 0 and optimizer.state == {}
    assert all(
        np.array_equal(p.value, b)
        for p, b in zip(model.parameters(), before, strict=True)
    )


def test_a_checkpoint_without_any_optimizer_slots_loads_a_fresh_optimizer(saved):
    """No slot at all is a consistent state (that of an optimizer before its first
    step), so it is accepted; the next step creates zeroed slots."""
    model, optimizer = fresh()
    with np.load(saved) as data:
        slots = [
            k for k in data.files if k.startswith("optimizer/") and k.count("/") == 2
        ]
    rewrite(saved, **dict.fromkeys(slots))  # every parameter's m and v
    restore(saved, model, optimizer)
    assert optimizer.iterations > 0 and optimizer.state == {}


def test_a_checkpoint_from_an_older_nnlib_is_refused_with_the_reason(saved):
    """Checkpoints from before meta data and callbacks' state cannot resume exactly."""
    rewrite(saved, meta=None)
    with pytest.raises(ValueError, match="written by an older nnlib"):
        restore(saved)


def test_a_truncated_checkpoint_is_refused(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        read_history(saved)


def test_save_and_load_round_trip_every_part(problem, tmp_path):
    """save_checkpoint then load_checkpoint into fresh objects gives back the weights,
    the optimizer's state, the generators and the callbacks' state."""
    model, optimizer, history = run(problem, tmp_path, epochs=2)
    early = EarlyStopping(patience=3)
    early.on_train_begin(model)
    early.on_epoch_end(2, history, model)
    path = tmp_path / "again.ckpt"
    rng = np.random.default_rng(1)
    save_checkpoint(path, model, optimizer, history, rng=rng, callbacks=[early])
    model2, optimizer2 = fresh()
    early2, rng2 = EarlyStopping(patience=3), np.random.default_rng(2)
    restored = load_checkpoint(path, model2, optimizer2, rng=rng2, callbacks=[early2])
    same_state((model2, optimizer2, restored), (model, optimizer, history))
    assert rng2.bit_generator.state == rng.bit_generator.state
    assert early2.best_epoch == early.best_epoch and early2._best_weights.keys() == {
        p.name for p in model.parameters()
    }


# ---------------------------------------------------------------------- train --resume
# The command line's --resume (nnlib.cli.train.cmd_train) runs fit(..., checkpoint=...).

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
    """A bug in the command line must fail a test with its traceback."""
    monkeypatch.setenv(TRACEBACK_ENV, "1")


class Recorder(Callback):
    """Copies the weights (and the optimizer's step count) after every epoch."""

    def __init__(self, optimizer=None) -> None:
        self.optimizer = optimizer
        self.weights: dict[int, list[np.ndarray]] = {}
        self.iterations: dict[int, int] = {}

    def on_epoch_end(self, epoch, history, model) -> bool:
        self.weights[epoch] = [p.value.copy() for p in model.parameters()]
        if self.optimizer is not None:
            self.iterations[epoch] = self.optimizer.iterations
        return False


def interrupt_after_first_epoch(monkeypatch):
    """Make cli.train.fit train one epoch (checkpoint written), then "press Ctrl-C"."""
    real_fit = cli.train.fit

    def fit_then_interrupt(*args, **kwargs):
        kwargs["epochs"] = 1
        real_fit(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.train, "fit", fit_then_interrupt)
    return real_fit


def test_resume_trains_the_saved_number_of_epochs(
    offline_zip, tmp_path, monkeypatch
) -> None:
    """Without --epochs, --resume finishes the run's own epoch count (3), not the
    default 30."""
    out = tmp_path / "run"
    real_fit = interrupt_after_first_epoch(monkeypatch)
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--epochs", "3", "--out", str(out)])
        == 130
    )

    def checked_fit(*args, **kwargs):
        assert kwargs["epochs"] == 3, kwargs["epochs"]  # all epochs of the run
        assert kwargs["checkpoint"] == out / "checkpoint.npz"
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cli.train, "fit", checked_fit)
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2, 3]
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


def set_first_val_loss(out: Path, value: float) -> None:
    """Edit the run (its history and its callbacks' best values, wherever the
    checkpoint keeps them) so that epoch 1 looks very good."""
    history = json.loads((out / "history.json").read_text())
    history["val_loss"][0] = value
    text = json.dumps(history)
    (out / "history.json").write_text(text)
    with np.load(out / "checkpoint.npz") as f:
        arrays = {name: f[name] for name in f.files}
    arrays["history"] = np.array(text)
    for name in arrays:
        if name.startswith("callbacks/") and name.endswith("/state"):
            state = json.loads(str(arrays[name]))
            arrays[name] = np.array(json.dumps(state | {"best": value}))
    np.savez(out / "checkpoint.npz", **arrays)


def test_resume_continues_early_stopping_and_best_model(
    one_line_error, same_weights, weights, offline_zip, tmp_path, monkeypatch, capsys
) -> None:
    """After a resume, the earlier epochs count: a resumed epoch worse than the earlier
    best does not overwrite best.npz, and with patience 1 training stops after it."""
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
    monkeypatch.setattr(cli.train, "fit", real_fit)
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
    same_weights, weights, interrupt_after, offline_zip, tmp_path, monkeypatch
) -> None:
    """Ctrl-C right after the n-th file written after epoch 2 was replaced (best.npz,
    history.json, checkpoint.npz). The resumed run must start from weights,
    optimizer state and history of one and the same epoch, and at the end best.npz
    must hold the weights of the history's best epoch."""
    out, real_fit, real_replace = tmp_path / "run", cli.train.fit, os.replace
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
        if runs:  # the resumed run starts from what the checkpoint holds
            with np.load(kwargs["checkpoint"]) as saved:
                start.update(
                    epochs=int(saved["epoch"]),
                    weights=[saved[f"model/{p.name}"] for p in model.parameters()],
                    iterations=int(saved["optimizer/iterations"]),
                )
        runs.append(ArmAtEpoch2(optimizer) if not runs else Recorder(optimizer))
        kwargs["callbacks"] = [runs[-1], *kwargs["callbacks"]]
        return real_fit(model, loss, optimizer, *args, **kwargs)

    monkeypatch.setattr(cli.train, "fit", recording_fit)
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


def test_a_resumed_run_continues_exactly_as_an_uninterrupted_one(
    offline_zip, tmp_path, monkeypatch
) -> None:
    """Interrupted after epoch 1 and resumed, a run ends with the same history and
    weights, bit for bit, as the same run trained straight through: the checkpoint holds
    the weights, Adam's state and the random generators (shuffling and dropout masks) of
    the same epoch."""
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
    monkeypatch.setattr(cli.train, "fit", real_fit)
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


def finished_run(offline_zip, out, monkeypatch, *extra) -> None:
    """Train 2 epochs, then "press Ctrl-C" while the report is being written: the
    training is over (the checkpoint holds epoch 2), its outputs are not."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(report, "write_report", interrupted)
        argv = [*TRAIN, "--data", offline_zip, "--epochs", "2", *extra]
        assert cli.main([*argv, "--out", str(out)]) == 130
    assert not (out / "report.html").exists()


def test_resume_after_the_last_epoch_writes_what_is_missing(
    offline_zip, tmp_path, monkeypatch, capsys
):
    """Issue 13.4: Ctrl-C after the last epoch left a run that --resume called
    "already trained" and plain train "already holds a run". --resume now trains
    nothing more and writes the model, metrics and report."""
    out = tmp_path / "run"
    finished_run(offline_zip, out, monkeypatch)
    capsys.readouterr()
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "training ended after epoch 2" in capsys.readouterr().out
    for name in ("model.npz", "report.html", "metrics.json", "history.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2]


def test_resume_with_other_options_says_they_are_ignored(
    offline_zip, tmp_path, monkeypatch, capsys
):
    """--hidden or --lr with --resume used to be ignored silently: now one line says
    so, and the run continues with its saved options."""
    out = tmp_path / "run"
    finished_run(offline_zip, out, monkeypatch)
    capsys.readouterr()
    argv = ["train", "--out", str(out), "--resume", "--no-progress"]
    assert cli.main([*argv, "--hidden", "64", "--lr", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "ignoring --hidden, --lr" in err and len(err.strip().splitlines()) == 1
    config = json.loads((out / "config.json").read_text())
    assert config["hidden"] == [32] and config["lr"] == 1e-3


def test_resume_names_ignored_options_even_when_they_equal_the_defaults(
    offline_zip, tmp_path, monkeypatch, capsys
):
    """``--resume --hidden 512 256`` on a run of ``--hidden 32`` was ignored silently:
    512 256 is the default, so the value alone could not tell that it was typed."""
    out = tmp_path / "run"
    finished_run(offline_zip, out, monkeypatch)
    capsys.readouterr()
    argv = ["train", "--out", str(out), "--resume", "--no-progress"]
    assert cli.main([*argv, "--hidden", "512", "256", "--lr=1e-3"]) == 0
    err = capsys.readouterr().err
    assert "ignoring --hidden" in err and len(err.strip().splitlines()) == 1
    assert "--lr" not in err  # given, but the run's own value: nothing is ignored
    assert json.loads((out / "config.json").read_text())["hidden"] == [32]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.pop("patience"), r"config\.json has no 'patience' entry"),
        (lambda c: c.update(lr="fast"), r"config\.json: .*argument --lr: .*fast"),
        (lambda c: c.update(hidden=[0]), r"config\.json: .*--hidden: must be an integ"),
        (lambda c: c.clear() or c.update(x=1), r"config\.json has no 'split' entry"),
    ],
    ids=["missing", "lr", "hidden", "empty"],
)
def test_a_bad_config_is_one_line_naming_the_file_and_the_key(
    one_line_error, edit, message, offline_zip, tmp_path, monkeypatch, capsys
):
    """Issue 13.10: a config.json missing a key used to print "unexpected KeyError:
    'patience' (probably a bug in nnlib...)"; other bad values did not name the file."""
    out = tmp_path / "run"
    finished_run(offline_zip, out, monkeypatch)
    config = json.loads((out / "config.json").read_text())
    edit(config)
    (out / "config.json").write_text(json.dumps(config))
    monkeypatch.delenv(TRACEBACK_ENV)
    capsys.readouterr()
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert one_line_error(err), err
    assert re.search(message, err), err


def test_an_option_added_later_gets_its_default_on_resume(
    offline_zip, tmp_path, monkeypatch
):
    """A config.json written before an option existed resumes with the option's
    default (here pretending --no-download were saved in configs from now on)."""
    out = tmp_path / "run"
    finished_run(offline_zip, out, monkeypatch)
    monkeypatch.setattr(
        cli.resume, "CONFIG_KEYS", (*cli.resume.RUN_KEYS, "no_download")
    )
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["no_download"] is False


def test_a_damaged_entry_is_reported_once_not_inside_itself(saved):
    """A compressed history entry said "X is not a readable checkpoint (inconsistent
    meta data or history: X is not a readable checkpoint (history.npy is ...))"."""
    rewrite(saved, history=None)
    with zipfile.ZipFile(saved, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("history.npy", b"anything")
    with pytest.raises(ValueError) as info:
        read_history(saved)
    assert str(info.value) == (
        f"{saved} is not a readable checkpoint (history.npy is compressed; nnlib's "
        "files never are)"
    )


def test_a_zip_bomb_in_a_checkpoint_costs_neither_memory_nor_time(saved):
    """Issue 13.2, for checkpoints: a history entry of 64 MiB of deflated zeros is
    refused before it is decompressed (the old reader loaded every entry whole)."""
    rewrite(saved, history=None)
    with zipfile.ZipFile(saved, "a", compression=zipfile.ZIP_DEFLATED) as z:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": f"<U{2**24}", "fortran_order": False, "shape": ()}
        )
        with z.open("history.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            for _ in range(64):
                f.write(bytes(2**20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"history\.npy is compressed"):
            restore(saved)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22

"""Tests for the command line ``python -m nnlib``: help, errors, train/resume/evaluate/
tune, run directories and what the commands print."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from nnlib import Sequential, _files, cli, data, mlp
from nnlib.runlock import LOCK_NAME, RunLock

TRACEBACK_ENV = "NNLIB_TRACEBACK"  # set: the command line re-raises unexpected errors


@pytest.fixture(autouse=True)
def show_tracebacks(monkeypatch):
    """A bug in the command line must fail a test with its traceback, not one line."""
    monkeypatch.setenv(TRACEBACK_ENV, "1")


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnlib", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_help_documents_every_option() -> None:
    for command, options in {
        "train": [
            "--split",
            "--hidden",
            "--dropout",
            "--optimizer",
            "--lr",
            "--batch-size",
            "--epochs",
            "--out",
            "--resume",
            "--patience",
            "--data",
            "--seed",
            "--weight-decay",
            "--schedule",
            "new or empty",
        ],
        "evaluate": ["--model", "--split", "--out", "--data", "new or empty"],
        "tune": ["--search", "--trials", "--lr", "--optimizer", "--n-jobs", "--epochs"],
    }.items():
        result = run_cli(command, "--help")
        assert result.returncode == 0
        for option in options:
            assert option in " ".join(result.stdout.split()), (command, option)


@pytest.mark.parametrize(
    "args, reason",
    [
        (["train", "--out", "x", "--lr", "-1"], "--lr: must be a positive number"),
        (
            ["train", "--out", "x", "--batch-size", "0"],
            "--batch-size: must be an integer >= 1",
        ),
        (["train", "--out", "x", "--dropout", "1.5"], "--dropout: must be in [0, 1)"),
        (
            ["train", "--out", "x", "--weight-decay", "-1"],
            "--weight-decay: must be a number >= 0",
        ),
        (["train", "--out", "x", "--schedule", "linear"], "invalid choice: 'linear'"),
        (
            ["train", "--out", "x", "--val-fraction", "0"],
            "--val-fraction: must be in (0, 1)",
        ),
        (["train", "--out", "x", "--split", "nope"], "invalid choice: 'nope'"),
        (["train"], "the following arguments are required: --out"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], reason: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert reason in result.stderr
    assert (
        len(result.stderr.strip().splitlines()) == 1
        and "Traceback" not in result.stderr
    )


@pytest.mark.parametrize(
    "options, problem",
    [
        (["--data", "nowhere.zip"], "No EMNIST archive at path='nowhere.zip'."),
        (["--data", "folder"], "path='folder' is not a regular file (a pipe or a"),
        (["--data", "pipe"], "path='pipe' is not a regular file (a pipe or a"),
        (["--no-download"], "No EMNIST archive found (download=False)."),
    ],
)
def test_missing_data_exits_1_saying_how_to_get_emnist(
    options: list[str], problem: str, tmp_path: Path
) -> None:
    """Regression (review): the numbered ways to get EMNIST were squashed into one
    line, and ``--data`` naming no file, a directory or a named pipe said neither what
    was wrong with it nor how to get the data. The first line says what is wrong; the
    ways follow, one per line."""
    (tmp_path / "folder").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
    elif "pipe" in options:
        pytest.skip("no named pipes here")
    env = {**os.environ, "HOME": str(tmp_path)}  # an empty emnist cache
    env.pop("NNLIB_EMNIST_PATH", None)
    result = subprocess.run(
        [sys.executable, "-m", "nnlib", "train", *options, "--out", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {problem}"), lines[0]
    assert lines[1] == "Supply NIST's gzip.zip in one of these ways:"
    assert (
        "  2. set the environment variable NNLIB_EMNIST_PATH=/path/to/gzip.zip" in lines
    )
    assert lines[-1].startswith("The archive is NIST's https://")
    assert "Traceback" not in result.stderr


def test_the_report_command_repeats_every_saved_option() -> None:
    """Regression (review): the report's command came from a hand-kept list that missed
    --schedule and --weight-decay. Every saved option (CONFIG_KEYS) but --data (a path
    of this machine) is in it, and parsing it gives back the config."""
    from nnlib.cli.parser import CONFIG_KEYS, build_parser, train_command

    argv = ["train", "--out", "run", "--data", "/home/someone/emnist.zip"]
    argv += ["--split", "digits", "--limit", "500", "--hidden", "64", "32"]
    argv += ["--activation", "tanh", "--dropout", "0.3", "--optimizer", "sgd"]
    argv += ["--lr", "0.05", "--weight-decay", "0.001", "--schedule", "cosine"]
    argv += ["--batch-size", "64", "--epochs", "7", "--patience", "2"]
    argv += ["--val-fraction", "0.2", "--seed", "3"]
    parsed = vars(build_parser().parse_args(argv))
    config = {key: parsed[key] for key in CONFIG_KEYS}
    words = shlex.split(train_command(config))
    assert words[:4] == ["python", "-m", "nnlib", "train"]
    for key in CONFIG_KEYS:
        assert ("--" + key.replace("_", "-") in words) is (key != "data"), key
    again = vars(build_parser().parse_args(words[3:]))
    assert {key: again[key] for key in CONFIG_KEYS} == config | {"data": None}


@pytest.mark.parametrize(
    "args, reason",
    [
        (["tune", "--val-fraction", "0"], "--val-fraction: must be in (0, 1), got 0"),
        (["tune", "--val-fraction", "1"], "--val-fraction: must be in (0, 1), got 1"),
        (["tune", "--n-jobs", "0"], "--n-jobs: must be an integer >= 1, or -1"),
        (["tune", "--n-jobs", "many"], "--n-jobs: must be an integer >= 1, or -1"),
        (["train", "--dropout", "abc"], "--dropout: must be in [0, 1), got abc"),
        (["train", "--lr", "abc"], "--lr: must be a positive number, got abc"),
        (["train", "--lr", "nan"], "--lr: must be a positive number, got nan"),
        (["train", "--weight-decay", "x"], "--weight-decay: must be a number >= 0"),
        (["train", "--val-fraction", "x"], "--val-fraction: must be in (0, 1)"),
    ],
)
def test_values_that_do_not_fit_are_parse_errors_without_private_names(
    args: list[str], reason: str, one_line_error, tmp_path: Path, capsys
) -> None:
    """Regression (review): ``tune --val-fraction 0`` and ``--n-jobs 0`` passed parsing
    and failed after loading the data (exit 1); ``--lr abc`` said "invalid
    _positive_float value", the name of a function of nnlib."""
    argv = [*args, "--data", str(tmp_path / "nowhere.zip"), "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert one_line_error(err) and reason in err, err
    assert not re.search(r"\b_[a-z]", err), err


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


def test_train_writes_everything_then_resume_continues(
    offline_zip: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--epochs", "2", "--out", str(out)])
        == 0
    )
    for name in (
        "model.npz",
        "best.npz",
        "checkpoint.npz",
        "history.json",
        "report.html",
        "metrics.json",
        "config.json",
    ):
        assert (out / name).is_file(), name
    assert len(json.loads((out / "history.json").read_text())["epoch"]) == 2
    # Training into a used directory without --resume is refused, not overwriting it.
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--epochs", "2", "--out", str(out)])
        == 2
    )
    assert "--resume" in capsys.readouterr().err
    assert (
        cli.main(
            ["train", "--out", str(out), "--epochs", "3", "--resume", "--no-progress"]
        )
        == 0
    )
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2, 3]
    # evaluate reproduces the test accuracy stored in metrics.json
    assert (
        cli.main(
            [
                "evaluate",
                "--model",
                str(out / "model.npz"),
                "--split",
                "balanced",
                "--data",
                offline_zip,
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    trained = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())["test"][
        "accuracy"
    ]
    assert trained == evaluated


def test_resume_refuses_fewer_epochs_than_were_run(
    one_line_error, offline_zip: str, tmp_path: Path, capsys
) -> None:
    """Regression (review): ``--resume --epochs 1`` after 2 epochs was accepted, and
    config.json then said 1 epoch beside a history of 2."""
    out = tmp_path / "run"
    argv = [*TRAIN, "--data", offline_zip, "--epochs", "2", "--out", str(out)]
    assert cli.main(argv) == 0
    saved = (out / "config.json").read_text()
    capsys.readouterr()
    resume = ["train", "--out", str(out), "--resume", "--no-progress"]
    assert cli.main([*resume, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert one_line_error(err), err
    assert "--epochs 1 is fewer than the 2 epochs" in err, err
    assert (out / "config.json").read_text() == saved
    assert cli.main([*resume, "--epochs", "2"]) == 0  # as many: nothing more to train


def test_interrupt_keeps_last_checkpoint_and_resume_works(
    offline_zip: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    real_fit = cli.train.fit

    def fit_then_interrupt(*args, **kwargs):
        kwargs["epochs"] = (
            1  # finish one epoch (its checkpoint is written), then "press Ctrl-C"
        )
        real_fit(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.train, "fit", fit_then_interrupt)
    out = tmp_path / "run"
    assert (
        cli.main([*TRAIN, "--data", offline_zip, "--epochs", "3", "--out", str(out)])
        == 130
    )
    assert "--resume" in capsys.readouterr().err
    with np.load(
        out / "checkpoint.npz"
    ) as checkpoint:  # weights, optimizer state, history: one file
        assert int(checkpoint["epoch"]) == 1
        saved = checkpoint["model/0.W"]
    monkeypatch.setattr(cli.train, "fit", real_fit)
    assert (
        cli.main(
            ["train", "--out", str(out), "--epochs", "3", "--resume", "--no-progress"]
        )
        == 0
    )
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2, 3]
    final = Sequential.load(out / "model.npz")
    assert not np.array_equal(saved, final.parameters()[0].value)


def test_evaluate_rejects_model_for_another_split(
    offline_zip: str, tmp_path: Path, capsys
) -> None:
    from nnlib import mlp

    mlp(784, [8], 47, rng=0).save(tmp_path / "m.npz")
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
            ]
        )
        == 2
    )
    assert "47 outputs but EMNIST mnist has 10 classes" in capsys.readouterr().err


# ------------------------------------------------------------------ one-line errors
# Regression tests from review: errors of the command line are one line; missing parts
# of the data set and bad options are reported before any training.


def test_diverging_run_is_a_one_line_error(
    one_line_error, offline_zip: str, tmp_path: Path
) -> None:
    """A learning rate far too large: exit 1 with one line that suggests a smaller --lr
    (no traceback, no numpy overflow warnings)."""
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


def test_a_loss_that_explodes_without_nan_is_a_one_line_error(
    one_line_error, offline_zip: str, tmp_path: Path, capsys
) -> None:
    """Issue 13.5: ``--lr 50 --optimizer adam`` drove the training loss to ~1e4, finite,
    and the run "succeeded" (exit 0, a report of 2.6% accuracy). Now it ends like a
    NaN loss: one line, exit 1, no report."""
    out = tmp_path / "run"
    argv = [*TRAIN, "--data", offline_zip, "--hidden", "8", "--epochs", "3"]
    assert (
        cli.main([*argv, "--lr", "50", "--optimizer", "adam", "--out", str(out)]) == 1
    )
    err = capsys.readouterr().err
    assert one_line_error(err), err
    assert "training diverged: the training loss exploded" in err and "--lr" in err
    assert not (out / "report.html").exists()


def test_unexpected_errors_are_one_line_with_a_traceback_switch(
    one_line_error, monkeypatch, tmp_path, capsys
) -> None:
    """A bug is reported in one line naming the switch that shows its traceback; the
    switch re-raises it; Ctrl-C outside training still exits with 130."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(data, "load_emnist", broken)
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

    monkeypatch.setattr(data, "load_emnist", interrupted)
    assert cli.main(argv) == 130


def test_help_documents_the_epochs_default(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # whatever the terminal width
    assert (
        "maximum number of epochs (default: 30; with --resume: the saved run's)"
        in help_text
    )


def test_missing_training_part_is_reported_before_training(
    one_line_error, shared_offline_copy, tmp_path, capsys
) -> None:
    """The offline copy holds only the test part of bymerge: say so (and where to look)
    before building a model or creating the run directory."""
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
    one_line_error, offline_zip, tmp_path, monkeypatch, capsys
) -> None:
    """An empty test set would only fail after training: train refuses it up front, and
    evaluate says what is missing."""
    real_load = data.load_emnist

    def load_without_test(*args, **kwargs):
        dataset = real_load(*args, **kwargs)
        return dataclasses.replace(
            dataset, x_test=dataset.x_test[:0], y_test=dataset.y_test[:0]
        )

    def no_training(*args, **kwargs):
        raise AssertionError("fit must not be called without a test set")

    monkeypatch.setattr(data, "load_emnist", load_without_test)
    monkeypatch.setattr(cli.train, "fit", no_training)
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


@pytest.mark.parametrize("command", ["train", "tune"])
def test_negative_seed_is_a_usage_error(
    one_line_error, command, tmp_path, capsys
) -> None:
    """--seed -1 is refused while parsing (exit 2, one line), before any data is
    loaded."""
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


def test_tune_writes_results(offline_zip: str, tmp_path: Path) -> None:
    assert (
        cli.main(
            [
                "tune",
                "--split",
                "balanced",
                "--data",
                offline_zip,
                "--limit",
                "1000",
                "--lr",
                "1e-3",
                "3e-3",
                "--epochs",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results) == 2 and (tmp_path / "tuning.png").is_file()


def test_two_processes_cannot_train_into_one_directory(
    offline_zip: str, tmp_path: Path
) -> None:
    """Regression (issue 13.1): a second ``train`` on the same ``--out``, started while
    the first was still in its first epoch, ran to the end; the run directory then held
    the second run's config and the first run's weights. The second must be refused."""
    out = tmp_path / "run"
    first = subprocess.Popen(
        [
            *(sys.executable, "-m", "nnlib", *TRAIN, "--data", offline_zip),
            *("--epochs", "100", "--patience", "100", "--out", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = out / LOCK_NAME
        for _ in range(600):  # up to 60 s for the first process to start
            if lock.is_file() and lock.read_text().endswith("\n"):
                break
            assert first.poll() is None, "the first run ended before taking the lock"
            time.sleep(0.1)
        second = run_cli(
            *TRAIN, "--data", offline_zip, "--hidden", "16", "--out", str(out)
        )
        assert first.poll() is None, "the first run must still hold the directory"
    finally:
        first.kill()  # SIGKILL: its lock must not outlive it
        first.wait()
    assert second.returncode == 1
    assert len(second.stderr.strip().splitlines()) == 1
    assert f"{out} is in use by pid {first.pid} on " in second.stderr
    assert "nnlib train" in second.stderr and "--epochs 100" in second.stderr
    if (out / "config.json").exists():
        assert json.loads((out / "config.json").read_text())["hidden"] == [32]
    with RunLock(out):  # released when the first process was killed
        pass


@pytest.mark.parametrize("command", ["train", "evaluate", "tune"])
def test_empty_out_is_refused(command: str, tmp_path: Path, monkeypatch, capsys):
    """Regression (issue 13.3): ``train --out ""`` wrote into the current directory,
    ``evaluate --out ""`` and ``tune --out ""`` exited 0 and wrote nothing."""
    monkeypatch.chdir(tmp_path)
    argv = [command, "--out", "", "--limit", "30", "--no-download", "--hidden", "8"]
    if command == "evaluate":
        argv = [command, "--out", " ", "--model", "m.npz", "--no-download"]
    assert cli.main(argv) == 2
    assert "--out: must name a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_files_of_another_run_or_command_are_never_replaced(
    offline_zip: str, tmp_path: Path, capsys
) -> None:
    """Regression (issue 13.3): ``evaluate --out`` into the training run replaced its
    report.html and metrics.json; ``train --out`` into a directory holding someone's
    model.npz and report.html (but no checkpoint) overwrote them."""
    from nnlib import mlp

    ref = tmp_path / "ref"
    ref.mkdir()
    mlp(784, [8], 47, rng=0).save(ref / "model.npz")
    (ref / "report.html").write_text("learning curves")
    (ref / "metrics.json").write_text("{}")
    before = {p.name: p.read_bytes() for p in ref.iterdir()}
    evaluate = ["evaluate", "--model", str(ref / "model.npz"), "--data", offline_zip]
    assert cli.main([*evaluate, "--out", str(ref)]) == 2
    err = capsys.readouterr().err
    assert f"{ref} is not empty (it holds metrics.json, model.npz, report.html)" in err
    assert str(ref / "evaluation") in err
    assert cli.main([*TRAIN, "--data", offline_zip, "--out", str(ref)]) == 2
    assert "train starts a run only in a new or empty directory" in (
        capsys.readouterr().err
    )
    assert {p.name: p.read_bytes() for p in ref.iterdir()} == before
    # Beside the run, in a directory of its own, evaluate writes its report.
    assert cli.main([*evaluate, "--out", str(ref / "evaluation")]) == 0
    assert (ref / "evaluation" / "report.html").is_file()
    assert cli.main([*evaluate, "--out", str(ref / "evaluation")]) == 2  # its own too


def test_tune_never_replaces_the_results_of_another_search(tmp_path: Path, capsys):
    """A second ``tune --out DIR`` replaced the first one's results.json and
    tuning.png: tune, like evaluate, writes only into a new or empty directory, and
    refuses before loading any data."""
    out = tmp_path / "tune"
    out.mkdir()
    (out / "results.json").write_text("[]")
    (out / "tuning.png").write_bytes(b"first search")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    nowhere = str(tmp_path / "nowhere.zip")
    argv = ["tune", "--data", nowhere, "--no-download", "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{out} is not empty (it holds results.json, tuning.png)" in err
    assert "tune writes results.json and tuning.png only into a new or empty" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_train_starts_again_after_an_interrupt_in_the_first_epoch(
    offline_zip: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A run stopped before its first checkpoint leaves only config.json: "nothing to
    resume", so the same command must be able to start it again there."""

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    out, real_fit = tmp_path / "run", cli.train.fit
    argv = [*TRAIN, "--data", offline_zip, "--epochs", "1", "--out", str(out)]
    monkeypatch.setattr(cli.train, "fit", interrupt)
    assert cli.main(argv) == 130
    assert "nothing to resume" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    monkeypatch.setattr(cli.train, "fit", real_fit)
    assert cli.main(argv) == 0
    assert (out / "report.html").is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_evaluate_refuses_a_named_pipe_instead_of_hanging(tmp_path: Path) -> None:
    """Regression (issue 13.8): ``evaluate --model FIFO`` waited forever (no writer)."""
    os.mkfifo(tmp_path / "model.npz")
    result = run_cli(
        "evaluate", "--model", str(tmp_path / "model.npz"), "--no-download", timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: --model {tmp_path / 'model.npz'} is not a regular file"
    )


def test_a_command_starts_by_removing_stale_temporary_files(
    tmp_path: Path, capsys
) -> None:
    """Regression (issue 13.11): temporary files of a save killed by SIGKILL stayed in
    the run directory for ever. Every command writing into --out removes stale ones
    when it starts, even one that then fails (here: nothing to resume)."""
    from nnlib._files import STALE_AFTER

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # its pid now names no process
    gone = tmp_path / f".best.npz.{process.pid}-{_files._host_tag()}.abcd1234.tmp"
    old = tmp_path / ".checkpoint.npz.x1y2z3w4.tmp"  # an older nnlib's name
    live = tmp_path / f".history.json.{os.getpid()}-{_files._host_tag()}.abcd1234.tmp"
    for path in (gone, old, live):
        path.write_bytes(bytes(1000))
    long_ago = time.time() - STALE_AFTER - 1
    os.utime(old, (long_ago, long_ago))
    assert cli.main(["train", "--out", str(tmp_path), "--resume"]) == 2
    assert f"Removed 2 temporary file(s) left in {tmp_path}" in capsys.readouterr().out
    assert sorted(tmp_path.iterdir()) == [live]


@pytest.mark.parametrize(
    "options, advice",
    [
        (["--limit", "47"], "the validation split is empty"),
        (["--limit", "47", "--val-fraction", "0.9"], "the training split is empty"),
    ],
)
def test_too_few_images_for_both_parts_says_which_option_to_change(
    options: list[str], advice: str, offline_zip: str, tmp_path: Path, capsys
) -> None:
    """Regression (issue 13): ``train --limit 47`` failed with "validation_data: x is
    empty"; say which option to change. (Too few images per class make a part empty:
    each class gives round(val_fraction * its size) images to validation.)"""
    argv = ["train", "--data", offline_zip, "--out", str(tmp_path / "run"), *options]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    change = "raise" if "validation" in advice else "lower"
    assert advice in err and f"raise --limit or {change} --val-fraction" in err
    assert not (tmp_path / "run").exists()


def test_train_and_evaluate_print_the_same_summary_without_absolute_paths(
    offline_zip: str, tmp_path: Path
) -> None:
    """Issue 11: both commands end with one block: test accuracy with its 95% Wilson
    interval, macro-F1, the number of test images, and where the report is, relative
    to the current directory. Given relative paths, nothing absolute is printed."""
    from scipy.stats import binomtest

    def run_here(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "nnlib", *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    data_path = os.path.relpath(offline_zip, tmp_path)
    train = run_here(*TRAIN, "--data", data_path, "--epochs", "1", "--out", "run")
    evaluate = run_here(
        "evaluate", "--model", "run/model.npz", "--data", data_path, "--out", "ev"
    )
    blocks = [out.splitlines()[-4:] for out in (train, evaluate)]
    assert blocks[0][:3] == blocks[1][:3]
    assert blocks[0][3] == f"Report         {Path('run', 'report.html')}"
    assert blocks[1][3] == f"Report         {Path('ev', 'report.html')}"
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    n, accuracy = saved["n_test"], saved["accuracy"]
    interval = binomtest(round(accuracy * n), n).proportion_ci(method="wilson")
    assert blocks[0][:3] == [
        f"Test accuracy  {accuracy:.4f}  (95% interval {interval.low:.4f} to "
        f"{interval.high:.4f}, Wilson score)",
        f"Macro-F1       {saved['macro']['f1-score']:.4f}",
        f"Test images    {n:,}",
    ]
    for out in (train, evaluate):
        assert str(tmp_path) not in out
        assert not re.search(r"(^|[\s'\"(,])(/|[A-Za-z]:\\)\w", out, re.MULTILINE)


def test_weight_decay_and_schedule_reach_the_optimizer_config_and_report(
    offline_zip: str, tmp_path: Path, monkeypatch
) -> None:
    """Issue 9: ``train --weight-decay --schedule``. The schedule is set in epochs and
    applied per batch: with --schedule step and 3 epochs the rate drops tenfold at the
    start of epochs 2 and 3, which history.json records."""
    from nnlib.schedules import StepDecay

    used = []
    real_fit = cli.train.fit

    def spy(model, loss, optimizer, *args, **kwargs):
        used.append(optimizer)
        return real_fit(model, loss, optimizer, *args, **kwargs)

    monkeypatch.setattr(cli.train, "fit", spy)
    out = tmp_path / "run"
    argv = [*TRAIN, "--data", offline_zip, "--epochs", "3", "--patience", "3"]
    argv += ["--lr", "0.002", "--weight-decay", "0.001", "--schedule", "step"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    [optimizer] = used
    steps_per_epoch = int(np.ceil(1350 / 64))  # ~1,350 of 1,500 images train; batch 64
    assert optimizer.weight_decay == 0.001
    assert isinstance(optimizer.schedule, StepDecay)
    assert optimizer.schedule.step_size == steps_per_epoch
    history = json.loads((out / "history.json").read_text())
    assert history["learning_rate"] == pytest.approx([0.002, 0.0002, 0.00002])
    config = json.loads((out / "config.json").read_text())
    assert config["weight_decay"] == 0.001 and config["schedule"] == "step"
    page = (out / "report.html").read_text()
    assert "<td>weight_decay</td><td>0.001</td>" in page
    assert "<td>schedule</td><td>step</td>" in page
    command = json.loads((out / "metrics.json").read_text())["run"]["command"]
    assert "--weight-decay 0.001" in command and "--schedule step" in command


def test_a_config_from_before_weight_decay_and_schedule_resumes(
    offline_zip: str, tmp_path: Path
) -> None:
    """config.json of runs started before --weight-decay/--schedule lacks both keys:
    resume with no decay and a constant rate."""
    out = tmp_path / "run"
    argv = [*TRAIN, "--data", offline_zip, "--epochs", "1", "--out", str(out)]
    assert cli.main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    del config["weight_decay"], config["schedule"]
    (out / "config.json").write_text(json.dumps(config))
    resume = ["train", "--out", str(out), "--resume", "--epochs", "2"]
    assert cli.main([*resume, "--no-progress"]) == 0
    assert json.loads((out / "history.json").read_text())["learning_rate"] == [
        0.001,
        0.001,
    ]

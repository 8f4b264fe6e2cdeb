"""Tests for the command line ``python -m nnlib``: help, errors, train/resume/evaluate/tune."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from nnlib import Sequential, cli, mlp

TRACEBACK_ENV = "NNLIB_TRACEBACK"  # set: the command line re-raises unexpected errors


@pytest.fixture(autouse=True)
def show_tracebacks(monkeypatch):
    """A bug in the command line must fail a test with its traceback, not as a one-line message."""
    monkeypatch.setenv(TRACEBACK_ENV, "1")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnlib", *args],
        capture_output=True,
        text=True,
        timeout=300,
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
        ],
        "evaluate": ["--model", "--split", "--out", "--data"],
        "tune": ["--search", "--trials", "--lr", "--optimizer", "--n-jobs", "--epochs"],
    }.items():
        result = run_cli(command, "--help")
        assert result.returncode == 0
        for option in options:
            assert option in result.stdout, (command, option)


@pytest.mark.parametrize(
    "args, reason",
    [
        (["train", "--out", "x", "--lr", "-1"], "--lr: must be a positive number"),
        (
            ["train", "--out", "x", "--batch-size", "0"],
            "--batch-size: must be an integer >= 1",
        ),
        (["train", "--out", "x", "--dropout", "1.5"], "--dropout: must be in [0, 1)"),
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


def test_missing_data_exits_1_with_one_line(tmp_path: Path) -> None:
    result = run_cli(
        "train", "--data", str(tmp_path / "nowhere.zip"), "--out", str(tmp_path / "run")
    )
    assert result.returncode == 1
    assert "nowhere.zip" in result.stderr
    assert (
        len(result.stderr.strip().splitlines()) == 1
        and "Traceback" not in result.stderr
    )


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
    # Training into a used directory without --resume is refused rather than overwriting it.
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


def test_interrupt_keeps_last_checkpoint_and_resume_works(
    offline_zip: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    real_fit = cli.fit

    def fit_then_interrupt(*args, **kwargs):
        kwargs["epochs"] = (
            1  # finish one epoch (its checkpoint is written), then "press Ctrl-C"
        )
        real_fit(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fit", fit_then_interrupt)
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
    monkeypatch.setattr(cli, "fit", real_fit)
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


# ------------------------------------------------- moved from test_resume_fixes.py (CORE)
# Regression tests from review: errors of the command line are one line; missing parts
# of the data set and bad options are reported before any training.


def one_line_error(err: str) -> bool:
    return (
        len(err.strip().splitlines()) == 1
        and err.startswith("error: ")
        and "Traceback" not in err
    )


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


def test_a_loss_that_explodes_without_nan_is_a_one_line_error(
    offline_zip: str, tmp_path: Path, capsys
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


def test_help_documents_the_epochs_default(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # whatever the terminal width
    assert (
        "maximum number of epochs (default: 30; with --resume: the saved run's)"
        in help_text
    )


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

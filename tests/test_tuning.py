"""Tests for nnlib.tuning: search spaces, trials, parallel determinism."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from nnlib.tuning import (
    LogUniform,
    grid_configs,
    grid_search,
    make_optimizer,
    random_configs,
    random_search,
    run_trial,
)


@pytest.fixture(scope="module")
def digits():
    """Real 8x8 handwritten digits shipped with scikit-learn, as float32 in [0, 1]."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32)
    return (x[:1200], y[:1200]), (x[1200:], y[1200:])


def test_grid_configs_is_the_cartesian_product() -> None:
    configs = grid_configs(
        {"lr": [1e-3, 1e-2], "optimizer": ["sgd", "adam"], "dropout": [0.0]}
    )
    assert len(configs) == 4
    assert {(c["lr"], c["optimizer"]) for c in configs} == {
        (1e-3, "sgd"),
        (1e-3, "adam"),
        (1e-2, "sgd"),
        (1e-2, "adam"),
    }
    with pytest.raises(ValueError, match="non-empty list"):
        grid_configs({"lr": []})
    with pytest.raises(ValueError, match="non-empty list"):
        grid_configs({"optimizer": "adam"})  # a string is not a list of choices


def test_random_configs_are_seeded_and_in_range() -> None:
    space = {"lr": LogUniform(1e-4, 1e-1), "batch_size": [32, 64]}
    first, again = random_configs(space, 50, seed=3), random_configs(space, 50, seed=3)
    assert first == again
    lrs = np.array([c["lr"] for c in first])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert np.median(np.log10(lrs)) == pytest.approx(
        -2.5, abs=0.5
    )  # uniform in log space
    assert {c["batch_size"] for c in first} == {32, 64}
    with pytest.raises(ValueError, match="0 < low < high"):
        LogUniform(1e-2, 1e-3)


def test_unknown_settings_are_rejected_before_training(digits) -> None:
    train, val = digits
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        grid_search({"learning_rate": [1e-3]}, train, val, epochs=1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        grid_search({"optimizer": ["adagrad"]}, train, val, epochs=1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("adagrad", 1e-3)


def test_trial_scores_best_validation_epoch(digits) -> None:
    train, val = digits
    trial = run_trial(
        {"lr": 3e-3, "hidden": (32,), "batch_size": 32}, train, val, epochs=6, seed=0
    )
    history = trial.history
    assert trial.val_accuracy == max(history["val_accuracy"])
    assert trial.best_epoch == history["epoch"][int(np.argmax(history["val_accuracy"]))]
    assert trial.val_accuracy > 0.85  # a real digit classifier, not chance (0.1)


def test_search_sorted_and_parallel_runs_match_serial(digits) -> None:
    train, val = digits
    space = {"lr": [1e-4, 3e-3], "optimizer": ["sgd", "adam"], "hidden": [(16,)]}
    serial = grid_search(space, train, val, epochs=2, n_jobs=1)
    parallel = grid_search(space, train, val, epochs=2, n_jobs=2)
    scores = [t.val_accuracy for t in serial.trials]
    assert scores == sorted(scores, reverse=True)
    assert [(t.params, t.val_accuracy) for t in serial.trials] == [
        (t.params, t.val_accuracy) for t in parallel.trials
    ]
    # Adam at a sensible rate beats plain SGD at a tiny one after two epochs.
    assert serial.best.params["optimizer"] == "adam"
    table = serial.table().splitlines()
    assert len(table) == 1 + 4 and "val_acc" in table[0]


def test_random_search_runs_n_trials(digits) -> None:
    train, val = digits
    results = random_search(
        {"lr": LogUniform(1e-3, 1e-2), "hidden": [(8,), (16,)]},
        train,
        val,
        n_trials=3,
        epochs=1,
    )
    assert len(results.trials) == 3
    assert '"val_accuracy"' in results.to_json()


@pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning"
)  # the point of the test
def test_a_diverging_trial_is_recorded_not_fatal(digits) -> None:
    """SGD with an absurd learning rate makes the loss NaN; the search keeps the other trials."""
    train, val = digits
    results = grid_search(
        {"optimizer": ["sgd"], "lr": [1e-2, 1e30]}, train, val, epochs=1
    )
    diverged = [t for t in results.trials if t.diverged]
    assert len(diverged) == 1 and diverged[0].params["lr"] == 1e30
    assert results.best.params["lr"] == 1e-2 and not results.best.diverged


def _trial(lr: float, accuracy: float, loss: float, diverged: bool = False):
    from nnlib.tuning import Trial

    history = {} if diverged else {"val_loss": [loss, float("nan")], "epoch": [1, 2]}
    return Trial({"lr": lr}, accuracy, loss, 1, 1, 0.1, history, diverged=diverged)


def _strict_json(text: str):
    """Parse JSON as browsers and jq do: NaN and Infinity are errors."""
    import json

    def reject(constant: str):
        raise ValueError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_diverged_trials_are_strict_json_and_sorted_last() -> None:
    import math

    from nnlib.tuning import TuningResults

    results = TuningResults(
        [
            _trial(1e30, 0.0, math.inf, diverged=True),
            _trial(1e-3, 0.9, 0.3),
            _trial(1e-4, 0.0, 2.3),
            _trial(1e-2, 0.8, float("nan")),
        ]
    )
    assert [t.params["lr"] for t in results.trials] == [1e-3, 1e-2, 1e-4, 1e30]
    trials = _strict_json(results.to_json())
    assert [t["params"]["lr"] for t in trials] == [1e-3, 1e-2, 1e-4, 1e30]
    assert trials[-1]["diverged"] is True and trials[-1]["val_loss"] is None
    assert trials[0]["history"]["val_loss"] == [0.3, None]


def test_save_writes_results_and_figure_atomically(tmp_path, monkeypatch) -> None:
    import math

    from nnlib import plots
    from nnlib.tuning import TuningResults

    results = TuningResults(
        [_trial(1e-3, 0.9, 0.3), _trial(1e30, 0.0, math.inf, diverged=True)]
    )
    paths = results.save(tmp_path / "tune")
    assert paths == {
        "json": tmp_path / "tune" / "results.json",
        "figure": tmp_path / "tune" / "tuning.png",
    }
    assert len(_strict_json(paths["json"].read_text())) == 2
    assert paths["figure"].read_bytes().startswith(b"\x89PNG")
    before = paths["figure"].read_bytes()

    def broken(_results):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots, "plot_tuning_results", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        results.save(tmp_path / "tune")
    assert paths["figure"].read_bytes() == before  # the previous figure is intact
    assert sorted(p.name for p in (tmp_path / "tune").iterdir()) == [
        "results.json",
        "tuning.png",
    ]

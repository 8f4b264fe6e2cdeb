"""Tests for nnlib.tuning: search spaces, trials, parallel determinism, Dask clusters,
and the ``tune`` command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import joblib
import numpy as np
import psutil
import pytest
from distributed import get_task_stream
from distributed.protocol.pickle import dumps
from sklearn.datasets import load_digits

from nnlib import cli, tuning
from nnlib.tuning import (
    CONNECT_TIMEOUT,
    LogUniform,
    Trial,
    dask_client,
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


def test_a_space_per_choice_in_a_grid() -> None:
    space = {
        "optimizer": {"sgd": {"lr": [0.03, 0.1]}, "adam": {"lr": [1e-3]}},
        "batch_size": [32, 64],
    }
    configs = grid_configs(space)
    assert sorted((c["optimizer"], c["lr"], c["batch_size"]) for c in configs) == [
        ("adam", 1e-3, 32),
        ("adam", 1e-3, 64),
        ("sgd", 0.03, 32),
        ("sgd", 0.03, 64),
        ("sgd", 0.1, 32),
        ("sgd", 0.1, 64),
    ]
    with pytest.raises(ValueError, match="'sgd' must map to a space"):
        grid_configs({"optimizer": {"sgd": [0.1]}})
    with pytest.raises(ValueError, match=r"the space of 'sgd' sets \['batch_size'\]"):
        grid_configs({"optimizer": {"sgd": {"batch_size": [8]}}, "batch_size": [32]})
    with pytest.raises(ValueError, match="maps no choice"):
        random_configs({"optimizer": {}}, 3)


def test_random_search_draws_each_optimizer_in_its_own_range() -> None:
    """Chapter 12's joint search: learning rate log-uniform in a range per optimizer,
    jointly with the batch size."""
    ranges = {"sgd": (1e-2, 0.3), "momentum": (3e-3, 0.1), "adam": (1e-4, 1e-2)}
    space = {
        "optimizer": {o: {"lr": LogUniform(*r)} for o, r in ranges.items()},
        "batch_size": [32, 64, 128, 256],
    }
    configs = random_configs(space, 300, seed=5)
    assert configs == random_configs(space, 300, seed=5)
    for optimizer, (low, high) in ranges.items():
        lrs = np.array([c["lr"] for c in configs if c["optimizer"] == optimizer])
        assert len(lrs) > 60  # each optimizer about a third of the time
        assert low <= lrs.min() and lrs.max() <= high
        # log-uniform: the median sits near the geometric middle of the range
        assert np.median(np.log(lrs)) == pytest.approx(np.log(low * high) / 2, abs=0.5)
    assert {c["batch_size"] for c in configs} == {32, 64, 128, 256}
    assert all(set(c) == {"optimizer", "lr", "batch_size"} for c in configs)


def test_a_trial_applies_weight_decay_and_its_schedule(digits) -> None:
    """The trial equals fit with the optimizer built by hand, so neither option is
    dropped on the way; the cosine schedule spreads over the trial's epochs."""
    from nnlib import Adam, SoftmaxCrossEntropy, fit, mlp
    from nnlib.schedules import CosineDecay

    train, val = digits
    params = {"lr": 3e-3, "hidden": (32,), "batch_size": 100}
    params |= {"weight_decay": 1e-2, "schedule": "cosine"}
    trial = run_trial(params, train, val, epochs=3, seed=4)
    model = mlp(64, [32], 10, rng=4)
    optimizer = Adam(3e-3, weight_decay=1e-2, schedule=CosineDecay(3 * 12))
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        optimizer,
        *train,
        epochs=3,
        batch_size=100,
        validation_data=val,
        rng=4,
        progress=False,
    )
    assert trial.history["val_loss"] == history.val_loss
    assert trial.history["learning_rate"] == history.learning_rate
    assert history.learning_rate[0] == 3e-3 > history.learning_rate[1]
    plain = run_trial({**params, "weight_decay": 0.0}, train, val, epochs=3, seed=4)
    assert plain.history["val_loss"] != trial.history["val_loss"]


def test_unknown_settings_are_rejected_before_training(digits) -> None:
    train, val = digits
    with pytest.raises(ValueError, match="schedule must be one of"):
        grid_search({"schedule": ["linear"]}, train, val, epochs=1)
    with pytest.raises(ValueError, match="weight_decay"):
        grid_search({"weight_decay": [-1.0]}, train, val, epochs=1)
    with pytest.raises(ValueError, match="val holds no samples"):
        grid_search({"lr": [1e-3]}, train, (val[0][:0], val[1][:0]), epochs=1)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        grid_search({"learning_rate": [1e-3]}, train, val, epochs=1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        grid_search({"optimizer": ["adagrad"]}, train, val, epochs=1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("adagrad", 1e-3)


@pytest.mark.parametrize(
    "space, message",
    [
        ({"batch_size": [32, 0]}, "batch_size must be an integer >= 1, got 0"),
        ({"batch_size": [2.5]}, "batch_size must be an integer >= 1, got 2.5"),
        ({"hidden": [64, 32]}, "hidden must be a list or tuple of layer widths"),
        ({"hidden": [(64, 0)]}, "such as (128,) or [512, 256], got (64, 0)"),
        ({"dropout": [0.2, 1.0]}, "dropout must be a number in [0, 1), got 1.0"),
        ({"dropout": ["0.2"]}, "dropout must be a number in [0, 1), got '0.2'"),
        ({"activation": ["relu", "gelu"]}, "activation must be one of ['leaky_relu'"),
    ],
)
def test_values_that_cannot_train_are_rejected_before_any_trial(
    space: dict, message: str, digits, monkeypatch
) -> None:
    """Regression (review): ``{"batch_size": [32, 0]}`` ran the first trial, then died
    with ZeroDivisionError; ``{"hidden": [64, 32]}`` (widths, not architectures) with
    TypeError. ``check_config`` now says what is wrong before any trial runs."""
    ran = []
    monkeypatch.setattr(tuning, "run_trial", lambda *args, **kwargs: ran.append(args))
    train, val = digits
    with pytest.raises(ValueError) as caught:
        grid_search(space, train, val, epochs=1)
    assert message in str(caught.value)
    assert ran == []


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


@pytest.mark.filterwarnings("error")  # any warning fails the test
def test_a_diverging_trial_is_recorded_not_fatal(digits) -> None:
    """SGD with an absurd learning rate makes the loss NaN; the other trials stay.

    Regression (issue 13): it also printed NumPy's overflow RuntimeWarnings."""
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


def test_to_json_writes_the_file_it_returns(tmp_path) -> None:
    import math

    from nnlib.tuning import TuningResults

    results = TuningResults(
        [_trial(1e-3, 0.9, 0.3), _trial(1e30, 0.0, math.inf, diverged=True)]
    )
    text = results.to_json(tmp_path / "results.json")
    assert (tmp_path / "results.json").read_text() == text
    assert len(_strict_json(text)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_results_json_is_written_atomically(tmp_path, monkeypatch) -> None:
    """A save that fails before its rename leaves the previous results.json as it was,
    and no temporary file beside it."""
    from nnlib.tuning import TuningResults

    path = tmp_path / "results.json"
    TuningResults([_trial(1e-3, 0.9, 0.3)]).to_json(path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="simulated"):
        TuningResults([_trial(1e-2, 0.5, 0.7)]).to_json(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_tuning_computes_and_does_not_draw() -> None:
    """Regression (issue 12): ``TuningResults.save`` drew figures, so nnlib.tuning and
    nnlib.plots imported each other. The caller plots now."""
    code = (
        "import sys, nnlib.tuning; "
        "print([m for m in ('nnlib.plots', 'matplotlib') if m in sys.modules])"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"


def test_tune_figure_is_written_atomically(tmp_path: Path) -> None:
    """A failed drawing leaves the previous tuning.png as it was, and no temporary."""
    import matplotlib.pyplot as plt

    path = tmp_path / "tuning.png"
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    cli.tune._save_figure(fig, path)
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")

    fig, _ = plt.subplots()

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    fig.savefig = broken
    with pytest.raises(RuntimeError, match="drawing failed"):
        cli.tune._save_figure(fig, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["tuning.png"]


# ------------------------------------------------------------------ on a Dask cluster
GRID = {"optimizer": ["sgd", "adam"], "lr": [3e-3, 1e30], "hidden": [(16,)]}
RANDOM = {"lr": LogUniform(1e-3, 1e-2), "hidden": [(8,), (16,)], "batch_size": [32, 64]}


@pytest.fixture(scope="module")
def dask_cluster():
    """A real ``LocalCluster``: 2 worker processes on this machine, always shut down."""
    with dask_client("local", n_workers=2) as client:
        yield client


def _outcome(trial: Trial) -> dict:
    """Everything a trial reports except how long it took."""
    outcome = asdict(trial)
    outcome.pop("seconds")
    outcome["history"].pop("epoch_time", None)
    return outcome


def test_a_search_on_dask_equals_the_local_search_bit_for_bit(
    digits, dask_cluster
) -> None:
    """Same configurations, scores, histories and divergences as joblib's default
    backend (local processes); and the trials really ran as tasks on the workers."""
    train, val = digits
    with get_task_stream(dask_cluster) as tasks:
        on_dask = [
            grid_search(GRID, train, val, epochs=2, seed=1, client=dask_cluster),
            random_search(
                RANDOM, train, val, n_trials=3, epochs=2, seed=1, client=dask_cluster
            ),
        ]
    # loky: joblib's default backend. One BLAS thread per trial, as in Dask's workers:
    # threads may split the sums of a matrix product differently (other last bits).
    # joblib.parallel_config is joblib >= 1.3; parallel_backend is the same in 1.2.
    config = getattr(joblib, "parallel_config", joblib.parallel_backend)
    with config(backend="loky", inner_max_num_threads=1):
        local = [
            grid_search(GRID, train, val, epochs=2, seed=1, n_jobs=2),
            random_search(RANDOM, train, val, n_trials=3, epochs=2, seed=1, n_jobs=2),
        ]
    for remote, here in zip(on_dask, local, strict=True):
        # == on Python floats: equal values, i.e. the same bits (no NaN, no -0.0 here)
        assert list(map(_outcome, remote.trials)) == list(map(_outcome, here.trials))
    grid = on_dask[0]
    assert [t.diverged for t in grid.trials] == [False, False, True, True]
    assert {t.params["lr"] for t in grid.trials if t.diverged} == {1e30}
    assert grid.best.val_accuracy > 0.3  # Adam learns (chance: 0.1)
    trial_tasks = [t for t in tasks.data if str(t["key"]).startswith("run_trial")]
    assert len(trial_tasks) == 4 + 3
    assert {t["worker"] for t in trial_tasks} <= set(dask_cluster.nthreads())


class _CountingClient:
    """A Dask client that records the pickled size of everything it sends."""

    def __init__(self, client) -> None:
        self._client = client
        self.scattered: list[int] = []
        self.submitted: list[int] = []

    def scatter(self, data, **kwargs):
        self.scattered.append(len(dumps(data)))
        return self._client.scatter(data, **kwargs)

    def submit(self, func, *args, **kwargs):
        self.submitted.append(len(dumps((func, args, kwargs))))
        return self._client.submit(func, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def test_the_data_goes_to_the_workers_once_per_search(digits, dask_cluster) -> None:
    train, val = digits
    data_bytes = sum(a.nbytes for a in (*train, *val))
    counting = _CountingClient(dask_cluster)
    results = grid_search(GRID, train, val, epochs=1, client=counting)
    assert len(results.trials) == 4
    assert len(counting.scattered) == 1 and counting.scattered[0] >= data_bytes
    assert len(counting.submitted) == 4
    per_trial = max(counting.submitted)
    print(
        f"data sent once: {counting.scattered[0]:,} bytes; "
        f"per trial: {per_trial:,} bytes (data: {data_bytes:,} bytes)"
    )
    assert per_trial < 2_000 < data_bytes / 100  # a configuration, not the arrays


# ------------------------------------------------------------ the tune command on Dask
def _tune_args(offline_zip: str, out: Path, *extra: str) -> list[str]:
    return [
        "tune",
        "--data",
        offline_zip,
        "--no-download",
        "--limit",
        "1000",
        "--lr",
        "1e-3",
        "3e-3",
        "--epochs",
        "1",
        "--out",
        str(out),
        *extra,
    ]


def _without_timings(path: Path) -> list[dict]:
    trials = json.loads(path.read_text())
    for trial in trials:
        trial.pop("seconds")
        trial["history"].pop("epoch_time")
    return trials


def test_tune_scheduler_local_matches_the_local_run(
    offline_zip: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("NNLIB_TRACEBACK", "1")  # a bug fails with its traceback
    args = _tune_args(offline_zip, tmp_path / "dask", "--scheduler", "local")
    assert cli.main(args) == 0
    assert "Running the trials on a local Dask cluster (2 workers)" in (
        capsys.readouterr().out
    )
    # As many jobs as cores: joblib then gives each trial one BLAS thread, as Dask does.
    n_jobs = str(joblib.cpu_count())
    assert cli.main(_tune_args(offline_zip, tmp_path / "here", "--n-jobs", n_jobs)) == 0
    assert "Dask" not in capsys.readouterr().out
    assert (tmp_path / "dask" / "tuning.png").read_bytes().startswith(b"\x89PNG")
    on_dask = _without_timings(tmp_path / "dask" / "results.json")
    assert len(on_dask) == 2
    assert on_dask == _without_timings(tmp_path / "here" / "results.json")


def test_tune_searches_weight_decay_schedules_and_ranges_per_optimizer(
    offline_zip: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("NNLIB_TRACEBACK", "1")
    args = _tune_args(offline_zip, tmp_path, "--search", "random", "--trials", "6")
    args.remove("--lr")
    args.remove("1e-3")
    args.remove("3e-3")
    args += ["--lr-range", "sgd=0.01:0.3", "adam=1e-4:1e-2"]
    args += ["--weight-decay", "0", "1e-4", "--schedule", "step", "cosine"]
    assert cli.main(args) == 0
    trials = json.loads((tmp_path / "results.json").read_text())
    assert len(trials) == 6
    ranges = {"sgd": (0.01, 0.3), "adam": (1e-4, 1e-2)}
    assert {t["params"]["optimizer"] for t in trials} == set(ranges)
    assert len({t["params"]["lr"] for t in trials}) == 6  # drawn, not listed
    for trial in trials:
        low, high = ranges[trial["params"]["optimizer"]]
        assert low <= trial["params"]["lr"] <= high
        assert trial["params"]["weight_decay"] in (0.0, 1e-4)
        assert trial["params"]["schedule"] in ("step", "cosine")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr-range", "1e-3:1e-2"], "use it with --search random"),
        (["--search", "random", "--lr-range", "1e-3:1e-2", "--lr", "1e-3"], "not both"),
        (
            [
                "--search",
                "random",
                "--lr-range",
                "adam=1e-4:1e-2",
                "--optimizer",
                "sgd",
            ],
            "leave out --optimizer",
        ),
        (["--search", "random", "--lr-range", "1e-2:1e-3"], "0 < LOW < HIGH"),
        (["--search", "random", "--lr-range", "adagrad=1:2"], "optimizer must be one"),
        (["--schedule", "linear"], "invalid choice: 'linear'"),
        (["--weight-decay", "-1"], "must be a number >= 0"),
    ],
)
def test_tune_options_that_do_not_fit_exit_2(args, message, capsys) -> None:
    assert cli.main(["tune", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_tune_help_lists_its_options(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["tune", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ["--weight-decay", "--schedule", "--lr-range", "--scheduler"]:
        assert option in out


def test_tune_with_too_few_images_says_what_to_change(offline_zip: str, capsys) -> None:
    """Regression (issue 13): --limit 30 said "zero-size array to reduction operation
    maximum"; every class then gives round(0.1 * 1) = 0 images to validation."""
    args = ["tune", "--data", offline_zip, "--no-download", "--limit", "30"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "the validation split is empty" in err and "raise --limit" in err
    assert "zero-size" not in err


def test_tune_scheduler_errors_are_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NNLIB_TRACEBACK", "1")
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    status = cli.main(["tune", "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert status == 1 and time.perf_counter() - start < CONNECT_TIMEOUT + 10
    assert err.startswith(
        f"error: cannot reach a Dask scheduler at tcp://127.0.0.1:{port}"
    )
    assert len(err.splitlines()) == 1
    assert cli.main(["tune", "--scheduler", "myhost"]) == 1
    err = capsys.readouterr().err
    assert "'myhost' is not a Dask scheduler address like tcp://host:8786" in err
    assert len(err.splitlines()) == 1
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert cli.main(["tune", "--scheduler", "local"]) == 2
    err = capsys.readouterr().err
    assert 'needs Dask: pip install "dask[distributed]"' in err
    assert len(err.splitlines()) == 1


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (Linux: the SigIgn mask in /proc)."""
    if not os.path.exists(f"/proc/{pid}/status"):
        return True  # no /proc to ask (macOS): the exit status and output still count
    with open(f"/proc/{pid}/status") as status:
        mask = next(line for line in status if line.startswith("SigIgn:")).split()[1]
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def test_ctrl_c_during_a_cluster_search_closes_it_and_exits_130(
    offline_zip: str, tmp_path: Path
) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole process group, workers included:
    the command stops the cluster, prints one line, exits 130, leaves no process.

    Workers that do not ignore SIGINT die with a page of tracebacks each, but only if
    the signal reaches them at certain moments: so the test also asks each worker."""
    command = [sys.executable, "-m", "nnlib", "tune", "--data", offline_zip]
    command += ["--limit", "3000", "--lr", "1e-4", "3e-4", "1e-3", "3e-3"]
    command += ["--epochs", "200", "--scheduler", "local"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
        env=env,
        cwd=tmp_path,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if line.startswith("EMNIST"):  # data loaded: the trials start now
                break
        time.sleep(2)
        workers = psutil.Process(run.pid).children(recursive=True)
        assert len(workers) >= 2
        for worker in workers:  # the mechanism, not only its (racy) visible effect
            assert _ignores_sigint(worker.pid), worker.cmdline()
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130
    assert err.split() == ["Interrupted."]
    time.sleep(1)
    assert [w.pid for w in workers if w.is_running() and w.status() != "zombie"] == []

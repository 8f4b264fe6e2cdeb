"""Tests for nnlib.report: the HTML report and metrics.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nnlib import History, metrics, mlp
from nnlib.data import DataSource
from nnlib.report import (
    TRAIN_OPTIONS,
    evaluation_metrics,
    most_confused_pairs,
    reproduce_command,
    source_revision,
    summary,
    write_report,
)


def test_most_confused_pairs_reads_off_diagonal_largest_first() -> None:
    cm = np.array([[50, 7, 0], [2, 40, 9], [0, 0, 30]])
    # Off-diagonal entries: (1, 2) = 9, (0, 1) = 7, (1, 0) = 2; zeros are never listed.
    assert most_confused_pairs(cm, k=5) == [(1, 2, 9), (0, 1, 7), (1, 0, 2)]
    assert most_confused_pairs(cm, k=1) == [(1, 2, 9)]


def _run(rng: np.random.Generator, n: int = 300, n_classes: int = 5):
    y_true = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, n_classes, n))
    return y_true, y_pred


def test_evaluation_metrics_agree_with_nnlib_metrics() -> None:
    y_true, y_pred = _run(np.random.default_rng(0))
    mapping = {k: "ABCDE"[k] for k in range(5)}
    result = evaluation_metrics(y_true, y_pred, mapping)
    assert result["accuracy"] == metrics.accuracy(y_true, y_pred)
    assert result["macro"]["f1-score"] == pytest.approx(
        metrics.f1_score(y_true, y_pred, average="macro")
    )
    assert result["weighted"]["recall"] == pytest.approx(
        metrics.recall(y_true, y_pred, average="weighted")
    )
    assert np.array_equal(
        result["confusion_matrix"], metrics.confusion_matrix(y_true, y_pred)
    )
    assert list(result["per_class"]) == list("ABCDE")
    json.dumps(result)  # plain Python values only


def _source(complete: bool) -> DataSource:
    """A made-up split whose official test part has the 300 images of ``_run``."""
    n = 112800 if complete else 9120
    return DataSource(
        path="/data/emnist.zip",
        sha256="ab" * 32,
        origin="argument",
        train_complete=complete,
        test_complete=complete,
        n_train=n,
        n_test=300 if complete else 200,
        official_train=112800,
        official_test=300,
    )


@pytest.mark.parametrize("complete", [True, False])
def test_write_report_is_self_contained(tmp_path: Path, complete: bool) -> None:
    rng = np.random.default_rng(1)
    y_true, y_pred = _run(rng)
    history = History(
        epoch=[1, 2],
        train_loss=[1.0, 0.5],
        train_accuracy=[0.5, 0.7],
        val_loss=[1.1, 0.6],
        val_accuracy=[0.45, 0.65],
        learning_rate=[1e-3, 1e-3],
        epoch_time=[1.0, 1.0],
    )
    images = rng.integers(0, 256, (len(y_true), 28, 28), dtype=np.uint8)
    paths = write_report(
        tmp_path / "run",
        model=mlp(784, [8], 5, rng=0),
        history=history,
        y_true=y_true,
        y_pred=y_pred,
        mapping={k: "ABCDE"[k] for k in range(5)},
        hyperparameters={"lr": 1e-3, "batch_size": 128},
        source=_source(complete),
        x_test=images,
    )
    page = paths["html"].read_text()
    # Five figures (curves, per-class scores, confusion matrix, most confused pairs,
    # misclassified), all embedded.
    assert page.count('src="data:image/png;base64,') == 5
    assert not re.search(r'(src|href)="(https?:|/)', page), (
        "the report must not load anything"
    )
    assert ("partial" in page) is (not complete)
    assert "Total trainable parameters: 6,325" in page  # 784*8+8 + 8*5+5
    document = json.loads(paths["metrics"].read_text())
    assert set(document) == {
        "title",
        "task",
        "run",
        "dataset",
        "model",
        "hyperparameters",
        "history",
        "test",
    }
    assert document["dataset"]["train_complete"] is complete
    assert document["test"]["accuracy"] == metrics.accuracy(y_true, y_pred)
    assert document["history"]["val_accuracy"] == [0.45, 0.65]
    assert not list((tmp_path / "run").glob("*.tmp")), (
        "temporary files must be renamed or removed"
    )


def test_write_report_without_history(tmp_path: Path) -> None:
    y_true, y_pred = _run(np.random.default_rng(2))
    paths = write_report(
        tmp_path,
        model=mlp(784, [8], 5, rng=0),
        history=None,
        y_true=y_true,
        y_pred=y_pred,
        mapping={k: str(k) for k in range(5)},
        hyperparameters={},
    )
    page = paths["html"].read_text()
    # per-class scores and confusion matrix (no images: no examples)
    assert page.count("data:image/png;base64,") == 2
    assert json.loads(paths["metrics"].read_text())["history"] is None


LETTERS = {k: chr(64 + k) + chr(96 + k) for k in range(1, 27)}
"""The ``letters`` mapping as ``load_emnist`` returns it: labels 1..26, no label 0."""


def test_evaluation_metrics_cover_only_the_classes_of_the_mapping() -> None:
    import sklearn.metrics as skm

    rng = np.random.default_rng(3)
    y_true = rng.integers(1, 27, 400)
    perfect = evaluation_metrics(y_true, y_true, LETTERS)
    assert perfect["macro"] == {"precision": 1.0, "recall": 1.0, "f1-score": 1.0}
    assert list(perfect["per_class"]) == list(LETTERS.values())  # no fake class "0"
    assert np.array_equal(perfect["confusion_matrix"], np.diag(np.bincount(y_true)[1:]))
    # Imperfect predictions, some of them the unused label 0: identical to
    # scikit-learn's metrics restricted to the real labels.
    y_pred = np.where(rng.random(400) < 0.6, y_true, rng.integers(0, 27, 400))
    result = evaluation_metrics(y_true, y_pred, LETTERS)
    labels = sorted(LETTERS)
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        assert result[average] == {"precision": p, "recall": r, "f1-score": f}
    assert result["accuracy"] == skm.accuracy_score(y_true, y_pred)
    assert (
        result["confusion_matrix"]
        == skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    )
    with pytest.raises(ValueError, match=r"labels \[0\] that are not in the mapping"):
        evaluation_metrics(np.array([0, 1]), np.array([0, 1]), LETTERS)


def test_write_report_for_letters_has_no_class_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    y_true = rng.integers(1, 27, 200)
    y_pred = np.where(
        rng.random(200) < 0.8, y_true, rng.integers(0, 27, 200)
    )  # 0 included
    images = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    paths = write_report(
        tmp_path,
        model=mlp(784, [8], 27, rng=0),
        history=None,
        y_true=y_true,
        y_pred=y_pred,
        mapping=LETTERS,
        hyperparameters={},
        x_test=images,
    )
    test = json.loads(paths["metrics"].read_text())["test"]
    assert "0" not in test["per_class"] and len(test["confusion_matrix"]) == 26


def _letters_source(n_train: int, n_test: int) -> DataSource:
    return DataSource(
        path="/data/emnist.zip",
        sha256="ab" * 32,
        origin="argument",
        train_complete=n_train == 124800,
        test_complete=n_test == 20800,
        n_train=n_train,
        n_test=n_test,
        official_train=124800,
        official_test=20800,
    )


@pytest.mark.parametrize(
    ("source", "options", "complete"),
    [
        (
            _letters_source(124800, 20800),
            {},
            True,
        ),  # default: the file's flags, as before
        (_letters_source(124800, 20800), {"n_train_used": 124800}, True),
        (
            _letters_source(124800, 20800),
            {"n_train_used": 1000},
            False,
        ),  # e.g. --limit 1000
        (
            _letters_source(9120, 20800),
            {"evaluation_only": True},
            True,
        ),  # train part irrelevant
        (_letters_source(124800, 300), {"evaluation_only": True}, False),
        (_letters_source(9120, 20800), {}, False),
        (
            _letters_source(124800, 20800),
            {"evaluation_only": True, "n_test": 100},
            False,
        ),
    ],
    ids=[
        "full",
        "all-used",
        "limited",
        "eval-full-test",
        "eval-partial-test",
        "partial-file",
        "eval-limited-test",
    ],
)
def test_partial_label_describes_the_data_actually_used(
    tmp_path: Path, source: DataSource, options: dict, complete: bool
) -> None:
    # as many test labels as the file holds, unless fewer are used (evaluate --limit)
    options = dict(options)  # a copy: the parameter set is shared
    n_test = options.pop("n_test", source.n_test)
    y = np.random.default_rng(5).integers(1, 27, n_test)
    paths = write_report(
        tmp_path,
        model=mlp(784, [4], 27, rng=0),
        history=None,
        y_true=y,
        y_pred=y,
        mapping=LETTERS,
        hyperparameters={},
        source=source,
        **options,
    )
    page = paths["html"].read_text()
    assert ("<b>partial</b>" in page) is (not complete)
    dataset = json.loads(paths["metrics"].read_text())["dataset"]
    assert dataset["complete"] is complete
    assert dataset["n_train_used"] == options.get("n_train_used")
    assert dataset["evaluation_only"] is options.get("evaluation_only", False)
    if "n_train_used" in options and not complete:
        assert "training 1,000 of 124,800 images" in page
    if n_test == 100:
        assert "test 100 of 20,800 images" in page


# ---------------------------------------------------------------- a report to hand over


def _full_report(tmp_path: Path, **options) -> tuple[str, dict]:
    """A 47-class report on made-up labels and images, with a history."""
    rng = np.random.default_rng(6)
    y_true, y_pred = _run(rng, n=600, n_classes=47)
    mapping = dict(enumerate([*"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", *"abdefghnqrt"]))
    history = History(
        epoch=[1, 2, 3],
        train_loss=[2.0, 1.0, 0.8],
        train_accuracy=[0.5, 0.7, 0.75],
        val_loss=[1.5, 1.1, 1.2],
        val_accuracy=[0.6, 0.68, 0.67],
        learning_rate=[1e-3] * 3,
        epoch_time=[1.0] * 3,
    )
    hyperparameters = {
        "split": "balanced",
        "data": "/home/somebody/private/emnist.zip",
        "hidden": [16],
        "lr": 1e-3,
        "batch_size": 128,
        "seed": 7,
    }
    paths = write_report(
        tmp_path / "run",
        model=mlp(784, [16], 47, rng=0),
        history=history,
        y_true=y_true,
        y_pred=y_pred,
        mapping=mapping,
        hyperparameters=hyperparameters,
        source=DataSource(
            path="/home/somebody/private/emnist.zip",
            sha256="ab" * 32,
            origin="environment",
            train_complete=False,
            test_complete=False,
            n_train=9120,
            n_test=600,
            official_train=112800,
            official_test=18800,
        ),
        x_test=rng.integers(0, 256, (600, 28, 28), dtype=np.uint8),
        title="EMNIST balanced: training report",
        **options,
    )
    return paths["html"].read_text(), json.loads(paths["metrics"].read_text())


def test_report_header_says_what_was_run(tmp_path: Path) -> None:
    """Issue 11: model, data (partial, with counts), seed, commit, date, accuracy with
    its 95% interval, macro-F1 and a command that repeats the run, at the top."""
    page, document = _full_report(tmp_path)
    header = page[: page.index("<h2>")]
    test = document["test"]
    low, high = test["accuracy_95"]
    assert (low, high) == metrics.accuracy_interval(test["accuracy"], 600)
    for expected in (
        "784 → 16 → 47 (Dense, ReLU), 13,359 parameters",  # 784*16+16 + 16*47+47
        "partial, training 9,120 of 112,800 images; test 600 of 18,800 images",
        "<dt>Seed</dt><dd>7</dd>",
        f"<code>{source_revision()}</code>",
        document["run"]["date"],
        f"{test['accuracy']:.2%}",
        f"{low:.1%} – {high:.1%}",
        f"{test['macro']['f1-score']:.3f}",
        "<span>python -m nnlib train</span> <span>--split balanced</span> "
        "<span>--hidden 16</span>",
    ):
        assert expected in header, expected
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", document["run"]["date"])
    assert document["run"]["seed"] == 7


def test_reproduce_command_takes_every_option_train_saves() -> None:
    """Regression (review): TRAIN_OPTIONS missed --weight-decay and --schedule, so the
    command of a report written from a train config dropped them. It lists every
    option that train saves (``CONFIG_KEYS``) but --data, a path."""
    from nnlib.cli.parser import CONFIG_KEYS

    assert set(TRAIN_OPTIONS) == set(CONFIG_KEYS) - {"data"}
    config = {"split": "balanced", "hidden": [16], "lr": 1e-3, "seed": 0}
    command = reproduce_command(config | {"weight_decay": 1e-4, "schedule": "cosine"})
    assert command is not None
    assert "--weight-decay 0.0001" in command and "--schedule cosine" in command


def test_report_shows_no_absolute_path(tmp_path: Path) -> None:
    """The page and metrics.json name the data file, never the folders it is in."""
    page, document = _full_report(tmp_path)
    text = json.dumps(document)
    for where in (page, text):
        assert "/home/somebody" not in where and "private" not in where
    assert "emnist.zip" in page and document["dataset"]["file"] == "emnist.zip"
    assert str(tmp_path) not in page + text


def test_report_images_are_sharp_sized_and_described(tmp_path: Path) -> None:
    """Issue 10: PNGs of at least 150 dpi whose width/height attributes give their
    logical size (100 CSS px per figure inch), each with alt text."""
    import base64

    page, _ = _full_report(tmp_path)
    images = re.findall(r"<img ([^>]*)>", page)
    assert len(images) == 5
    for attributes in images:
        alt = re.search(r'alt="([^"]+)"', attributes)
        assert alt and len(alt.group(1)) > 20
        width = int(re.search(r'width="(\d+)"', attributes).group(1))
        height = int(re.search(r'height="(\d+)"', attributes).group(1))
        png = base64.b64decode(re.search(r"base64,([^\"]+)", attributes).group(1))
        natural = int.from_bytes(png[16:20]), int.from_bytes(png[20:24])
        assert natural[0] / width == pytest.approx(2, abs=0.01)  # 200 dpi
        assert natural[1] / height == pytest.approx(2, abs=0.02)
        assert width <= 750  # figures of at most 7.5 in


def test_report_tables_are_compact_and_aligned(tmp_path: Path) -> None:
    page, document = _full_report(tmp_path)
    per_class = page[page.index("<h2>Per-class scores</h2>") : page.index("<h2>Conf")]
    assert per_class.count("<table>") == 3  # 47 rows in three columns
    assert per_class.count("<tr>") == 47 + 3
    assert '<td class="num">' in per_class and 'class="num low"' in per_class
    assert '<code class="hash">' + "ab" * 32 + "</code>" in page
    pairs = page[page.index("<h3>Most confused pairs</h3>") :]
    first = document["test"]["most_confused"][0]
    assert f"<td>{first['true']}</td><td>{first['predicted']}</td>" in pairs
    assert "Test images of the most confused pairs" in pairs  # the example images


def test_source_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from nnlib import report

    checkout = Path(report.__file__).resolve().parents[1]
    if (checkout / ".git").exists():
        described = subprocess.run(
            ["git", "-C", str(checkout), "describe", "--always", "--dirty", "--tags"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert source_revision() == described
    monkeypatch.setattr(subprocess, "run", _no_git)
    assert source_revision() == "unknown"


def _no_git(*args, **kwargs):
    raise FileNotFoundError("git")


def test_summary_lines(tmp_path: Path, monkeypatch) -> None:
    """The block train and evaluate print: the report's numbers, the report's path
    relative to the current directory (never where it lives on this machine)."""
    _, document = _full_report(tmp_path)
    monkeypatch.chdir(tmp_path)
    text = summary(document["test"], tmp_path / "run" / "report.html")
    test = document["test"]
    low, high = test["accuracy_95"]
    assert text.splitlines() == [
        f"Test accuracy  {test['accuracy']:.4f}  "
        f"(95% interval {low:.4f} to {high:.4f}, Wilson score)",
        f"Macro-F1       {test['macro']['f1-score']:.4f}",
        "Test images    600",
        f"Report         {Path('run', 'report.html')}",
    ]


# ------------------------------------------------------------------ regression


def test_regression_report(tmp_path: Path) -> None:
    """Issue 9: a regression run gets R², RMSE, MAE and MSE (equal to nnlib.metrics),
    the predicted-vs-true and residual plot, and no classification tables."""
    rng = np.random.default_rng(8)
    y_true = rng.normal(150, 70, 89)
    y_pred = y_true + rng.normal(0, 50, 89)
    history = History(epoch=[1, 2], train_loss=[1.0, 0.6], val_loss=[1.1, 0.7])
    paths = write_report(
        tmp_path,
        model=mlp(10, [8], 1, rng=0),
        history=history,
        y_true=y_true,
        y_pred=y_pred,
        hyperparameters={"lr": 0.01, "seed": 3},
        source="scikit-learn's diabetes data set (442 patients, 10 features)",
        task="regression",
        title="Diabetes progression",
    )
    page = paths["html"].read_text()
    test = json.loads(paths["metrics"].read_text())["test"]
    assert test["r2"] == metrics.r2_score(y_true, y_pred)
    assert test["mse"] == metrics.mean_squared_error(y_true, y_pred)
    assert test["mae"] == metrics.mean_absolute_error(y_true, y_pred)
    assert test["rmse"] == pytest.approx(np.sqrt(test["mse"]), rel=1e-12)
    assert page.count("data:image/png;base64,") == 2  # learning curve, predictions
    assert "residuals" in page and f"{test['r2']:.3f}" in page
    assert "diabetes data set" in page
    # no EMNIST command line for a regression run
    for absent in ("Per-class", "Confusion", "accuracy", "Misclassified", "Reproduce"):
        assert absent not in page
    assert summary(test).startswith(f"Test R²        {test['r2']:.4f}")


def test_regression_report_with_several_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    y_true = rng.normal(size=(40, 2))
    y_pred = y_true + rng.normal(scale=0.3, size=(40, 2))
    paths = write_report(
        tmp_path,
        model=mlp(3, [4], 2, rng=0),
        history=None,
        y_true=y_true,
        y_pred=y_pred,
        hyperparameters={},
        task="regression",
    )
    test = json.loads(paths["metrics"].read_text())["test"]
    r2 = metrics.r2_score(y_true, y_pred, multioutput="raw_values")
    np.testing.assert_allclose(test["per_output"]["r2"], r2, rtol=1e-12)
    assert "output 1" in paths["html"].read_text()


def test_report_task_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="task must be 'classification' or"):
        write_report(
            tmp_path,
            model=mlp(3, [4], 2, rng=0),
            history=None,
            y_true=np.zeros(3),
            y_pred=np.zeros(3),
            hyperparameters={},
            task="ranking",  # type: ignore[arg-type]
        )

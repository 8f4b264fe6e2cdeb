"""Tests for nnlib.report: the HTML report and metrics.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nnlib import History, metrics, mlp
from nnlib.data import DataSource
from nnlib.report import evaluation_metrics, most_confused_pairs, write_report


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
    # Four figures (curves, per-class bars, confusion matrix, misclassified), all embedded.
    assert page.count('src="data:image/png;base64,') == 4
    assert not re.search(r'(src|href)="(https?:|/)', page), (
        "the report must not load anything"
    )
    assert ("partial" in page) is (not complete)
    assert "Total trainable parameters: 6,325" in page  # 784*8+8 + 8*5+5
    document = json.loads(paths["metrics"].read_text())
    assert set(document) == {
        "title",
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
    assert (
        page.count("data:image/png;base64,") == 2
    )  # per-class bars and confusion matrix
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
    # Imperfect predictions, some of them the unused label 0: identical to scikit-learn's
    # metrics restricted to the real labels.
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

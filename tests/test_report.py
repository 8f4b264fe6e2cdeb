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
    cm = np.array([[50, 7, 0],
                   [2, 40, 9],
                   [0, 0, 30]])
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
    assert result["macro"]["f1-score"] == pytest.approx(metrics.f1_score(y_true, y_pred, average="macro"))
    assert result["weighted"]["recall"] == pytest.approx(metrics.recall(y_true, y_pred, average="weighted"))
    assert np.array_equal(result["confusion_matrix"], metrics.confusion_matrix(y_true, y_pred))
    assert list(result["per_class"]) == list("ABCDE")
    json.dumps(result)  # plain Python values only


def _source(complete: bool) -> DataSource:
    n = 112800 if complete else 9120
    return DataSource(path="/data/emnist.zip", sha256="ab" * 32, origin="argument",
                      train_complete=complete, test_complete=complete, n_train=n, n_test=300,
                      official_train=112800, official_test=18800)


@pytest.mark.parametrize("complete", [True, False])
def test_write_report_is_self_contained(tmp_path: Path, complete: bool) -> None:
    rng = np.random.default_rng(1)
    y_true, y_pred = _run(rng)
    history = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_accuracy=[0.5, 0.7],
                      val_loss=[1.1, 0.6], val_accuracy=[0.45, 0.65], learning_rate=[1e-3, 1e-3],
                      epoch_time=[1.0, 1.0])
    images = rng.integers(0, 256, (len(y_true), 28, 28), dtype=np.uint8)
    paths = write_report(tmp_path / "run", model=mlp(784, [8], 5, rng=0), history=history,
                         y_true=y_true, y_pred=y_pred, mapping={k: "ABCDE"[k] for k in range(5)},
                         hyperparameters={"lr": 1e-3, "batch_size": 128}, source=_source(complete),
                         x_test=images)
    page = paths["html"].read_text()
    # Four figures (curves, per-class bars, confusion matrix, misclassified), all embedded.
    assert page.count('src="data:image/png;base64,') == 4
    assert not re.search(r'(src|href)="(https?:|/)', page), "the report must not load anything"
    assert ("partial" in page) is (not complete)
    assert "Total trainable parameters: 6,325" in page  # 784*8+8 + 8*5+5
    document = json.loads(paths["metrics"].read_text())
    assert set(document) == {"title", "dataset", "model", "hyperparameters", "history", "test"}
    assert document["dataset"]["train_complete"] is complete
    assert document["test"]["accuracy"] == metrics.accuracy(y_true, y_pred)
    assert document["history"]["val_accuracy"] == [0.45, 0.65]
    assert not list((tmp_path / "run").glob("*.tmp")), "temporary files must be renamed or removed"


def test_write_report_without_history(tmp_path: Path) -> None:
    y_true, y_pred = _run(np.random.default_rng(2))
    paths = write_report(tmp_path, model=mlp(784, [8], 5, rng=0), history=None, y_true=y_true,
                         y_pred=y_pred, mapping={k: str(k) for k in range(5)}, hyperparameters={})
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 2  # per-class bars and confusion matrix
    assert json.loads(paths["metrics"].read_text())["history"] is None

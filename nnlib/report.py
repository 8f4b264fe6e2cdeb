"""A training report: one self-contained HTML file plus ``metrics.json``.

The report answers, for one trained model: what was trained on which data (complete or
partial, with counts and checksum), with which settings and seed, from which commit of
nnlib; how training went (learning curves); and how good the model is on the test set.
For a classifier that is the accuracy with its 95% interval, macro-F1, per-class
precision/recall/F1, the confusion matrix, the most confused pairs with example images
and misclassified examples; for a regression model the MSE, MAE and R² with a
predicted-vs-true and a residual plot. It ends with the command that repeats the run.

The page is built by :mod:`nnlib.report_html`; it shows file names, never the absolute
paths of the machine that wrote it.
"""

from __future__ import annotations

import json
import operator
import os
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import __version__, metrics
from ._files import atomic_write_text, shown_path
from .history import History
from .model import Sequential
from .report_html import render_page

Task = Literal["classification", "regression"]


def most_confused_pairs(cm: np.ndarray, k: int = 10) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal entries of a confusion matrix, as
    ``(true, predicted, count)``, largest first; zero counts are left out."""
    off = np.array(cm, dtype=np.int64, copy=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:k]
    pairs = [
        (int(i), int(j), int(off[i, j]))
        for i, j in zip(*np.unravel_index(order, off.shape), strict=True)
    ]
    return [p for p in pairs if p[2] > 0]


def evaluation_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, mapping: Mapping[int, str]
) -> dict[str, Any]:
    """Every test-set metric of a classifier's report, as JSON-ready Python values.

    The classes are the labels in ``mapping``, the split's real ones: ``letters`` has
    labels 1..26 and no class 0. The confusion matrix is built once over every output
    of the model, ``[0, max(label) + 1)``; per-class scores, their averages and the
    matrix shown are then restricted to the mapping's labels (scikit-learn's
    ``labels=sorted(mapping)``), so a prediction outside them (say 0) still counts as
    an error in the accuracy and in its true class's recall.
    """
    labels = sorted(mapping)
    names = [mapping[k] for k in labels]
    unknown = np.setdiff1d(y_true, labels)
    if unknown.size:
        raise ValueError(
            f"y_true holds labels {unknown[:10].tolist()} that are not in the mapping"
        )
    # labels lie in [0, n_classes): the model's number of outputs
    full = metrics.confusion_matrix(y_true, y_pred, n_classes=labels[-1] + 1)
    scores = metrics.per_class_scores(full, labels)
    cm = full[np.ix_(labels, labels)]
    accuracy = float(np.trace(full) / full.sum())
    keys = ("precision", "recall", "f1-score")
    return {
        "n_test": len(y_true),
        "accuracy": accuracy,
        "accuracy_95": list(metrics.accuracy_interval(accuracy, len(y_true))),
        "macro": dict(zip(keys, scores.macro(), strict=True)),
        "weighted": dict(zip(keys, scores.weighted(), strict=True)),
        "per_class": {
            name: {
                "precision": float(scores.precision[i]),
                "recall": float(scores.recall[i]),
                "f1-score": float(scores.f1[i]),
                "support": int(scores.support[i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": cm.tolist(),
        "most_confused": [
            {"true": names[i], "predicted": names[j], "count": c}
            for i, j, c in most_confused_pairs(cm)
        ],
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Every test-set metric of a regression model's report, as JSON-ready values:
    MSE, its root (in the target's units), MAE and R², averaged over the outputs, and
    per output when there are several."""
    mse = metrics.mean_squared_error(y_true, y_pred, multioutput="raw_values")
    mae = metrics.mean_absolute_error(y_true, y_pred, multioutput="raw_values")
    r2 = metrics.r2_score(y_true, y_pred, multioutput="raw_values")
    assert isinstance(mse, np.ndarray)  # raw_values: one value per output
    results: dict[str, Any] = {
        "n_test": len(y_true),
        "mse": float(np.mean(mse)),
        "rmse": float(np.mean(np.sqrt(mse))),
        "mae": float(np.mean(mae)),
        "r2": float(np.mean(r2)),
    }
    if len(mse) > 1:
        results["per_output"] = {
            "mse": np.asarray(mse).tolist(),
            "mae": np.asarray(mae).tolist(),
            "r2": np.asarray(r2).tolist(),
        }
    return results


def source_revision() -> str:
    """The nnlib checkout's ``git describe --always --dirty``, or ``"unknown"`` (an
    installed package, no git, or a folder that is not nnlib's own repository)."""
    package = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(package), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != package.parent:
            return "unknown"  # some other repository that happens to contain nnlib
        return git("describe", "--always", "--dirty", "--tags") or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def summary(test: Mapping[str, Any], report: str | Path | None = None) -> str:
    """The block ``train`` and ``evaluate`` print last: the test score (accuracy with
    its 95% Wilson interval and macro-F1, or R², RMSE and MAE), the number of test
    samples and, if given, where the report is (relative to the current directory).

    ``test`` is the ``"test"`` entry of ``metrics.json``
    (:func:`evaluation_metrics` or :func:`regression_metrics`).
    """
    if "accuracy" in test:
        low, high = test["accuracy_95"]
        lines = [
            f"Test accuracy  {test['accuracy']:.4f}  "
            f"(95% interval {low:.4f} to {high:.4f}, Wilson score)",
            f"Macro-F1       {test['macro']['f1-score']:.4f}",
            f"Test images    {test['n_test']:,}",
        ]
    else:
        lines = [
            f"Test R²        {test['r2']:.4f}",
            f"RMSE, MAE      {test['rmse']:.4g}, {test['mae']:.4g}",
            f"Test samples   {test['n_test']:,}",
        ]
    if report is not None:
        lines.append(f"Report         {shown_path(report)}")
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def _count(value: Any) -> str:
    """``9,120`` for an int, ``?`` for a missing count."""
    return f"{value:,}" if isinstance(value, int) else "?"


def _partial_parts(
    provenance: Mapping[str, Any],
    n_train_used: int | None,
    evaluation_only: bool,
    n_test_used: int,
) -> list[str]:
    """The parts of the data set that the report's numbers rest on only in part.

    An empty list means complete data: the whole official test set and, unless
    ``evaluation_only``, every official training image (training plus validation).
    """
    partial = []
    if not evaluation_only:
        official = provenance.get("official_train")
        used = provenance.get("n_train") if n_train_used is None else n_train_used
        if not provenance.get("train_complete") or (
            n_train_used is not None and used != official
        ):
            partial.append(f"training {_count(used)} of {_count(official)} images")
    official_test = provenance.get("official_test")
    # e.g. evaluate --limit uses fewer test images than the file holds
    if not provenance.get("test_complete") or n_test_used != official_test:
        partial.append(f"test {_count(n_test_used)} of {_count(official_test)} images")
    return partial


def _dataset(
    source: Any, n_train_used: int | None, evaluation_only: bool, n_test: int
) -> dict[str, Any] | None:
    """``metrics.json``'s "dataset": the source's fields (its file by name, not by
    path), what the run used, and whether that is complete."""
    provenance = _jsonable(source)
    if isinstance(provenance, str):
        return {"description": provenance}
    if not isinstance(provenance, dict):
        return None
    provenance = dict(provenance)
    if "path" in provenance:  # the checksum identifies the file; no user's folders
        provenance["file"] = os.path.basename(str(provenance.pop("path")))
    if "official_test" in provenance:
        partial = _partial_parts(provenance, n_train_used, evaluation_only, n_test)
        provenance |= {
            "n_train_used": n_train_used,
            "n_test_used": n_test,
            "evaluation_only": evaluation_only,
            "complete": not partial,
            "partial_parts": partial,
        }
    return provenance


def _file_name(value: Any) -> Any:
    """An absolute path (e.g. the ``--data`` option) becomes its file name: the
    report must not carry the folders, and user name, of the machine it was made on.
    """
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        if os.path.isabs(text) or (len(text) > 2 and text[1:3] in (":\\", ":/")):
            return text.replace("\\", "/").rsplit("/", 1)[-1]
    return value


TRAIN_OPTIONS = (
    "split",
    "limit",
    "hidden",
    "activation",
    "dropout",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
    "patience",
    "val_fraction",
    "seed",
    "weight_decay",
    "schedule",
)
"""Hyperparameters that ``python -m nnlib train`` takes as options of the same name:
the options it saves (``nnlib.cli.parser.CONFIG_KEYS``) but ``data``, a path (a test
keeps the two lists equal). The command line's report uses ``reproduce_command`` too."""


def reproduce_command(hyperparameters: Mapping[str, Any]) -> str | None:
    """``python -m nnlib train ...`` with the run's options, if the hyperparameters
    are those of the command line's ``train`` (else ``None``)."""
    if not {"split", "hidden", "lr", "seed"} <= set(hyperparameters):
        return None
    words = ["python -m nnlib train"]
    for key in TRAIN_OPTIONS:
        value = hyperparameters.get(key)
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        words.append(f"--{key.replace('_', '-')} " + " ".join(map(str, values)))
    return " ".join([*words, "--out runs/rerun"])


def write_report(
    out_dir: str | Path,
    *,
    model: Sequential,
    history: History | None,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str] | None = None,
    hyperparameters: Mapping[str, Any],
    source: Any = None,
    x_test: np.ndarray | None = None,
    title: str = "Training report",
    n_train_used: int | None = None,
    evaluation_only: bool = False,
    task: Task = "classification",
    command: str | None = None,
) -> dict[str, Path]:
    """Write ``report.html`` and ``metrics.json`` into ``out_dir``; return their paths.

    Parameters
    ----------
    model, history : the trained model and its training history (None: evaluation).
    y_true, y_pred : test targets and the model's predictions: class labels for a
        classifier; real values ``(N,)`` or ``(N, D)`` for ``task="regression"``.
    mapping : label -> character (classification; default: the label numbers).
    hyperparameters : everything needed to repeat the run (optimizer, lr, seed, ...).
    source : the data's provenance, e.g. ``nnlib.data.DataSource`` (or a short text).
    x_test : test images, for the misclassified and most-confused examples.
    n_train_used : how many images of the training part the run used (training plus
        validation split), e.g. fewer than ``source.n_train`` after ``--limit``.
        ``None``: all ``source.n_train`` of them.
    evaluation_only : the report evaluates a model trained elsewhere, so only the
        test part was used: the data is complete if the test part is.
    task : ``"classification"`` or ``"regression"`` (metrics and figures that fit).
    command : the command that repeats the run; default: built from the
        hyperparameters of ``python -m nnlib train``, if they are those.

    The report is labelled *partial* unless the data actually used is complete: the
    whole official test set and, unless ``evaluation_only``, all official training
    images. ``metrics.json`` records that verdict under ``"dataset"``.
    """
    if n_train_used is not None:
        n_train_used = operator.index(n_train_used)  # a plain int; TypeError: float
        if n_train_used < 0:
            raise ValueError(f"n_train_used must be >= 0 or None, got {n_train_used}")
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if task == "classification":
        if mapping is None:
            mapping = {
                k: str(k) for k in range(int(max(y_true.max(), y_pred.max())) + 1)
            }
        test = evaluation_metrics(y_true, y_pred, mapping)
    else:
        test = regression_metrics(y_true, y_pred)
    run = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": source_revision(),
        "nnlib": __version__,
        "seed": hyperparameters.get("seed"),
        "command": command or reproduce_command(hyperparameters),
    }
    document = {
        "title": title,
        "task": task,
        "run": run,
        "dataset": _dataset(source, n_train_used, evaluation_only, len(y_true)),
        "model": {"summary": model.summary(), "n_parameters": model.n_parameters()},
        "hyperparameters": {k: _file_name(v) for k, v in hyperparameters.items()},
        "history": asdict(history) if history is not None else None,
        "test": test,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.json"
    atomic_write_text(metrics_path, json.dumps(document, indent=2, default=str))
    page = render_page(document, model, history, y_true, y_pred, mapping, x_test)
    report_path = out / "report.html"
    atomic_write_text(report_path, page)
    return {"html": report_path, "metrics": metrics_path}

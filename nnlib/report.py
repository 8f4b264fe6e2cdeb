"""A training report: one self-contained HTML file (figures embedded) plus ``metrics.json``.

The report answers, for one trained model: what data was it trained on (file, checksum, complete
or partial), what model and hyperparameters, how did training go (learning curves), and how good
is it on the test set (accuracy, per-class precision/recall/F1, macro and weighted averages, the
confusion matrix, the most confused pairs of characters, misclassified examples).
"""

from __future__ import annotations

import base64
import html
import io
import json
import operator
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import metrics, plots
from ._files import atomic_write_text
from .history import History
from .model import Sequential


def most_confused_pairs(cm: np.ndarray, k: int = 10) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal entries of a confusion matrix as ``(true, predicted, count)``."""
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
    """Every test-set metric of the report, as plain JSON-ready Python values.

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
    keys = ("precision", "recall", "f1-score")
    return {
        "n_test": len(y_true),
        "accuracy": float(np.trace(full) / full.sum()),
        "macro": dict(zip(keys, scores.macro(), strict=True)),
        "weighted": dict(zip(keys, scores.weighted(), strict=True)),
        "per_class": {
            name: {
                **{key: float(s[i]) for key, s in zip(keys, scores, strict=False)},
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


def _figure_to_img(fig: Figure, alt: str) -> str:
    """An ``<img>`` tag holding the figure as a base64 PNG (so the HTML file stands alone)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    if (
        not provenance.get("test_complete") or n_test_used != official_test
    ):  # e.g. evaluate --limit
        partial.append(f"test {_count(n_test_used)} of {_count(official_test)} images")
    return partial


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:first-child { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; } .big { font-size: 1.6em; font-weight: bold; }
.warn { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.5em 0.8em; }
"""


def write_report(
    out_dir: str | Path,
    *,
    model: Sequential,
    history: History | None,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str],
    hyperparameters: Mapping[str, Any],
    source: Any = None,
    x_test: np.ndarray | None = None,
    title: str = "Training report",
    n_train_used: int | None = None,
    evaluation_only: bool = False,
) -> dict[str, Path]:
    """Write ``report.html`` and ``metrics.json`` into ``out_dir``; return their paths.

    Parameters
    ----------
    model, history : the trained model and its training history (None: evaluation only).
    y_true, y_pred : test labels and the model's predictions.
    mapping : label -> character.
    hyperparameters : everything needed to repeat the run (optimizer, lr, batch size, ...).
    source : the data's provenance (``nnlib.data.DataSource``), shown at the top of the report.
    x_test : test images, to show a grid of misclassified examples.
    n_train_used : how many images of the training part the run actually used (training plus
        validation split), e.g. fewer than ``source.n_train`` after ``--limit``. ``None``: all
        ``source.n_train`` of them.
    evaluation_only : the report evaluates a model trained elsewhere, so only the test part
        was used: the data counts as complete if the test part is, whatever the training part.

    The report is labelled *partial* unless the data actually used is complete: the whole
    official test set and, unless ``evaluation_only``, all official training images.
    ``metrics.json`` records ``n_train_used`` (as given), ``evaluation_only`` and the verdict,
    ``complete``, next to the source's fields under ``"dataset"``.
    """
    if n_train_used is not None:
        n_train_used = operator.index(
            n_train_used
        )  # a plain int; TypeError for a float
        if n_train_used < 0:
            raise ValueError(f"n_train_used must be >= 0 or None, got {n_train_used}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = evaluation_metrics(np.asarray(y_true), np.asarray(y_pred), mapping)
    names = list(results["per_class"])
    provenance = _jsonable(source)
    partial: list[str] = []
    if isinstance(provenance, dict):
        partial = _partial_parts(
            provenance, n_train_used, evaluation_only, n_test_used=len(y_true)
        )
        provenance = {
            **provenance,
            "n_train_used": n_train_used,
            "evaluation_only": evaluation_only,
            "complete": not partial,
        }
    document = {
        "title": title,
        "dataset": provenance,
        "model": {"summary": model.summary(), "n_parameters": model.n_parameters()},
        "hyperparameters": dict(hyperparameters),
        "history": asdict(history) if history is not None else None,
        "test": results,
    }
    metrics_path = out / "metrics.json"
    atomic_write_text(metrics_path, json.dumps(document, indent=2, default=str))

    per = results["per_class"]
    figures = (
        [("Learning curves", plots.plot_history(history))]
        if history and len(history)
        else []
    )
    figures += [
        (
            "Per-class precision, recall and F1",
            plots.plot_per_class_metrics(
                np.array([per[n]["precision"] for n in names]),
                np.array([per[n]["recall"] for n in names]),
                np.array([per[n]["f1-score"] for n in names]),
                names,
            ),
        ),
        (
            "Confusion matrix",
            plots.plot_confusion_matrix(np.array(results["confusion_matrix"]), names),
        ),
    ]
    if x_test is not None and np.any(np.asarray(y_true) != np.asarray(y_pred)):
        figures.append(
            (
                "Misclassified examples",
                plots.plot_misclassified(
                    x_test, np.asarray(y_true), np.asarray(y_pred), mapping
                ),
            )
        )

    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="big">Test accuracy {results["accuracy"]:.2%} on {results["n_test"]:,} images</p>',
    ]
    if isinstance(provenance, dict):
        if partial:
            parts.append(
                f'<p class="warn">This run used a <b>partial</b> copy of the data set '
                f"({html.escape('; '.join(partial))}): numbers are not comparable with "
                "results on the full data.</p>"
            )
        parts += [
            "<h2>Data</h2>",
            _table([[k, str(v)] for k, v in provenance.items()], ["field", "value"]),
        ]
    parts += [
        "<h2>Model</h2>",
        f"<pre>{html.escape(model.summary())}</pre>",
        "<h2>Hyperparameters</h2>",
        _table([[k, str(v)] for k, v in hyperparameters.items()], ["name", "value"]),
    ]
    summary_rows = [
        [
            label,
            f"{results[key]['precision']:.4f}",
            f"{results[key]['recall']:.4f}",
            f"{results[key]['f1-score']:.4f}",
        ]
        for label, key in (("macro avg", "macro"), ("weighted avg", "weighted"))
    ]
    parts += [
        "<h2>Test metrics</h2>",
        _table(summary_rows, ["average", "precision", "recall", "F1"]),
        "<h3>Per class</h3>",
        _table(
            [
                [
                    n,
                    f"{per[n]['precision']:.3f}",
                    f"{per[n]['recall']:.3f}",
                    f"{per[n]['f1-score']:.3f}",
                    str(per[n]["support"]),
                ]
                for n in names
            ],
            ["class", "precision", "recall", "F1", "support"],
        ),
        "<h3>Most confused pairs</h3>",
        _table(
            [
                [p["true"], p["predicted"], str(p["count"])]
                for p in results["most_confused"]
            ],
            ["true", "predicted as", "count"],
        ),
    ]
    for caption, fig in figures:
        parts += [f"<h2>{html.escape(caption)}</h2>", _figure_to_img(fig, caption)]
    history = history or History()
    history_rows = [
        [
            str(e),
            f"{history.train_loss[i]:.4f}",
            f"{history.val_loss[i]:.4f}" if history.val_loss else "",
            f"{history.train_accuracy[i]:.4f}" if history.train_accuracy else "",
            f"{history.val_accuracy[i]:.4f}" if history.val_accuracy else "",
            f"{history.epoch_time[i]:.1f}",
        ]
        for i, e in enumerate(history.epoch)
    ]
    parts += [
        "<h2>History</h2>",
        _table(
            history_rows,
            ["epoch", "train loss", "val loss", "train acc", "val acc", "seconds"],
        ),
    ]
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    report_path = out / "report.html"
    atomic_write_text(report_path, page)
    return {"html": report_path, "metrics": metrics_path}

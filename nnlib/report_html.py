"""The report page of :mod:`nnlib.report`: its sections, from a ``metrics.json``
document. (How the page looks, :mod:`nnlib.report_style`.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import plots
from .history import History
from .model import Sequential
from .report_style import STYLE, cards, e, facts, figure_html, table_html


def model_line(model: Sequential) -> str:
    """``784 → 512 → 256 → 47 (Dense, ReLU, Dropout), 545,327 parameters``."""
    widths: list[str] = []
    shape: tuple[Any, ...] = (model.n_inputs if model.n_inputs is not None else "?",)
    widths.append(str(shape[-1]))
    kinds: list[str] = []
    for layer in model.layers:
        new = layer.output_shape(shape)
        if new != shape:
            widths.append(str(new[-1]))
        shape = new
        if type(layer).__name__ not in kinds:
            kinds.append(type(layer).__name__)
    return (
        f"{' → '.join(widths)} ({', '.join(kinds)}), "
        f"{model.n_parameters():,} parameters"
    )


# ------------------------------------------------------------------ sections


def _header(document: Mapping[str, Any], model: Sequential) -> str:
    run, data = document["run"], document["dataset"]
    commit = run["commit"]
    items = [
        ("Model", e(model_line(model))),
        ("Data", e(_data_line(data, document["hyperparameters"]))),
        ("Seed", e(run["seed"] if run["seed"] is not None else "not recorded")),
        ("Commit", f"<code>{e(commit)}</code> (nnlib {e(run['nnlib'])})"),
        ("Date", e(run["date"])),
    ]
    if run["command"]:
        items.append(("Reproduce", _command(run["command"])))
    parts = [
        '<p class="kicker">nnlib report</p>',
        f"<h1>{e(document['title'])}</h1>",
        facts(items),
    ]
    if data and data.get("partial_parts"):
        parts.append(
            f'<p class="warn">This run used a <b>partial</b> copy of the data set '
            f"({e('; '.join(data['partial_parts']))}): its numbers are not "
            f"comparable with results on the full data.</p>"
        )
    return "".join(parts)


def _command(command: str) -> str:
    """A command in a box that wraps between options, never inside one."""
    words = command.split(" ")
    groups: list[str] = []
    current: list[str] = []
    for word in words:
        if word.startswith("--") and current:
            groups.append(" ".join(current))
            current = []
        current.append(word)
    groups.append(" ".join(current))
    spans = " ".join(f"<span>{e(g)}</span>" for g in groups)
    return f'<pre class="wrap">{spans}</pre>'


def _data_line(data: Mapping[str, Any] | None, hyper: Mapping[str, Any]) -> str:
    """``EMNIST balanced, emnist.zip (environment): partial, training ... of ...``."""
    if not data:
        return "not recorded"
    if "description" in data:
        return str(data["description"])
    split = f"EMNIST {hyper['split']}, " if "split" in hyper else ""
    where = f"{split}{data.get('file', '?')} ({data.get('origin', '?')})"
    if "complete" not in data:
        return where
    if data["complete"]:
        train = data["n_train_used"] or data["n_train"]
        used = "" if data["evaluation_only"] else f"training {train:,}, "
        return f"{where}: complete, {used}test {data['n_test_used']:,} images"
    return f"{where}: partial, {'; '.join(data['partial_parts'])}"


def _classification(
    test: Mapping[str, Any],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str],
    x_test: np.ndarray | None,
) -> tuple[str, str]:
    """The headline cards, and the per-class and confusion sections."""
    per = test["per_class"]
    names = list(per)
    low, high = test["accuracy_95"]
    headline = cards(
        [
            (f"{test['accuracy']:.2%}", f"test accuracy, {test['n_test']:,} images"),
            (f"{low:.1%} – {high:.1%}", "95% interval of the accuracy"),
            (f"{test['macro']['f1-score']:.3f}", "macro-F1 (classes count equally)"),
        ]
    )
    parts: list[str] = []
    f1 = np.array([per[n]["f1-score"] for n in names])
    worst = [names[i] for i in np.argsort(f1, kind="stable")[:5]]
    parts = [
        "<h2>Per-class scores</h2>",
        f"<p>Weakest classes by F1: {e(', '.join(worst))}. Macro average: "
        f"precision {test['macro']['precision']:.3f}, recall "
        f"{test['macro']['recall']:.3f}; weighted F1 "
        f"{test['weighted']['f1-score']:.3f}.</p>",
        figure_html(
            plots.plot_per_class_metrics(
                np.array([per[n]["precision"] for n in names]),
                np.array([per[n]["recall"] for n in names]),
                f1,
                names,
            ),
            f"Precision, recall and F1 of each of the {len(names)} classes, sorted by "
            f"F1; weakest: {', '.join(worst)}",
            "Bars: F1; dots: precision; triangles: recall. Sorted from the weakest "
            "class.",
        ),
        _per_class_tables(per, float(np.quantile(f1, 0.1))),
    ]
    parts += _confusions(test, y_true, y_pred, mapping, x_test, names)
    return headline, "".join(parts)


def _per_class_tables(per: Mapping[str, Mapping[str, Any]], low: float) -> str:
    """The per-class table, its rows split into up to three side-by-side columns;
    F1 in the lowest tenth is highlighted."""
    rows = [
        [
            name,
            f"{s['precision']:.3f}",
            f"{s['recall']:.3f}",
            (f"{s['f1-score']:.3f}", "low" if s["f1-score"] <= low else ""),
            f"{s['support']:,}",
        ]
        for name, s in per.items()
    ]
    chunks = np.array_split(np.arange(len(rows)), 3 if len(rows) > 15 else 1)
    tables = [
        table_html(
            [rows[i] for i in chunk],
            ["class", "prec.", "recall", "F1", "n"],
            numeric=[False, True, True, True, True],
        )
        for chunk in chunks
    ]
    return '<div class="columns">' + "".join(tables) + "</div>"


def _confusions(
    test: Mapping[str, Any],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str],
    x_test: np.ndarray | None,
    names: list[str],
) -> list[str]:
    cm = np.array(test["confusion_matrix"])
    support = cm.sum(axis=1)
    index = {name: i for i, name in enumerate(names)}
    rows = [
        [
            p["true"],
            p["predicted"],
            f"{p['count']:,}",
            f"{p['count'] / support[index[p['true']]]:.1%}",
        ]
        for p in test["most_confused"]
    ]
    parts = [
        "<h2>Confusions</h2>",
        figure_html(
            plots.plot_confusion_matrix(cm, names),
            f"Confusion matrix of {len(names)} classes, rows normalized"
            + (", correct predictions left out" if len(names) > 10 else ""),
            "Row i, column j: the fraction of class i predicted as j."
            + (
                " The diagonal (correct predictions) is grey so that the colour "
                "scale shows the errors."
                if len(names) > 10
                else ""
            ),
        ),
        "<h3>Most confused pairs</h3>",
        table_html(
            rows,
            ["true", "predicted as", "count", "of true class"],
            numeric=[False, False, True, True],
        )
        if rows
        else "<p>No errors.</p>",
    ]
    if x_test is not None and rows:
        labels = sorted(mapping)
        pairs = [
            (labels[index[p["true"]]], labels[index[p["predicted"]]], p["count"])
            for p in test["most_confused"][:6]
        ]
        parts.append(
            figure_html(
                plots.plot_confused_pairs(x_test, y_true, y_pred, pairs, mapping),
                "Test images of the most confused pairs: "
                + "; ".join(
                    f"{r[0]} taken for {r[1]} ({r[2]} times)" for r in rows[:6]
                ),
                "Each row: a true class and the class it was taken for, with test "
                "images of that mistake.",
            )
        )
    if x_test is not None and np.any(y_true != y_pred):
        parts += [
            "<h2>Misclassified examples</h2>",
            figure_html(
                plots.plot_misclassified(x_test, y_true, y_pred, mapping),
                "A random sample of misclassified test images, each titled with its "
                "true and predicted class",
                "Titles: true class → predicted class.",
            ),
        ]
    return parts


def _regression(
    test: Mapping[str, Any], y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[str, str]:
    """The headline cards, and the predictions section."""
    headline = cards(
        [
            (f"{test['r2']:.3f}", f"R² on {test['n_test']:,} test samples"),
            (f"{test['rmse']:.4g}", "RMSE (root mean squared error)"),
            (f"{test['mae']:.4g}", "MAE (mean absolute error)"),
        ]
    )
    parts = [
        "<h2>Predictions</h2>",
        figure_html(
            plots.plot_regression(y_true, y_pred),
            f"Predicted against true values with the identity line, and residuals "
            f"against predictions; R² {test['r2']:.3f}",
            "Left: points on the dashed line are perfect predictions. Right: "
            "residuals should scatter evenly around zero.",
        ),
    ]
    if "per_output" in test:
        out = test["per_output"]
        rows = [
            [f"output {d}", f"{mse:.4g}", f"{mae:.4g}", f"{r2:.3f}"]
            for d, (mse, mae, r2) in enumerate(
                zip(out["mse"], out["mae"], out["r2"], strict=True)
            )
        ]
        parts.append(
            table_html(
                rows, ["", "MSE", "MAE", "R²"], numeric=[False, True, True, True]
            )
        )
    return headline, "".join(parts)


def _training(history: History | None) -> str:
    if history is None or not len(history):
        return ""
    best = ""
    if history.val_loss:
        epoch = history.best_epoch("val_loss")
        best = f" The lowest validation loss came at epoch {epoch} of {len(history)}."
    return "<h2>Training</h2>" + figure_html(
        plots.plot_history(history),
        f"Learning curves over {len(history)} epochs: loss"
        + (" and accuracy" if history.train_accuracy else "")
        + " on the training and validation data",
        "Solid: training data; dashed: validation data." + best,
    )


def _details(document: Mapping[str, Any], history: History | None) -> str:
    data = document["dataset"] or {}
    data_rows = _data_tables(data)
    hyper = [[k, _short(v)] for k, v in document["hyperparameters"].items()]
    parts = [
        "<h2>Details</h2>",
        '<div class="columns">',
        f"<div><h3>Data</h3>{data_rows}</div>" if data_rows else "",
        "<div><h3>Hyperparameters</h3>"
        + table_html(hyper, ["name", "value"], css="kv")
        + "</div></div>",
        "<h3>Model</h3>",
        f'<div class="scroll"><pre>{e(document["model"]["summary"])}</pre></div>',
    ]
    if history is not None and len(history):
        rows = [
            [
                str(e),
                f"{history.train_loss[i]:.4f}",
                f"{history.val_loss[i]:.4f}" if history.val_loss else "",
                f"{history.train_accuracy[i]:.4f}" if history.train_accuracy else "",
                f"{history.val_accuracy[i]:.4f}" if history.val_accuracy else "",
                f"{history.epoch_time[i]:.1f}" if history.epoch_time else "",
            ]
            for i, e in enumerate(history.epoch)
        ]
        parts.append(
            f"<details><summary>History of all {len(rows)} epochs</summary>"
            '<div class="scroll">'
            + table_html(
                rows,
                ["epoch", "train loss", "val loss", "train acc", "val acc", "seconds"],
                numeric=[True] * 6,
            )
            + "</div></details>"
        )
    return "".join(parts)


def _data_tables(data: Mapping[str, Any]) -> str:
    """Where the data came from (file, checksum), and its counts: used, in the
    file, official, for the training and the test part."""
    if not data:
        return ""
    about = [
        (label, data[key])
        for key, label in (("description", "data"), ("file", "file"),
                           ("origin", "found by"), ("sha256", "SHA-256"))
        if data.get(key) is not None
    ]  # fmt: skip
    if "complete" in data:
        about.append(("complete", "yes" if data["complete"] else "no (partial)"))
    rows = "".join(
        f"<tr><td>{e(label)}</td><td>"
        + (f'<code class="hash">{e(v)}</code>' if label == "SHA-256" else e(v))
        + "</td></tr>"
        for label, v in about
    )
    html_ = f'<table class="kv"><tbody>{rows}</tbody></table>'
    if "official_test" in data:
        train_used = data.get("n_train_used")
        if train_used is None and not data.get("evaluation_only"):
            train_used = data.get("n_train")  # None: all of them
        counts = [
            ["training", _n(train_used), _n(data.get("n_train")),
             _n(data.get("official_train"))],
            ["test", _n(data.get("n_test_used")), _n(data.get("n_test")),
             _n(data.get("official_test"))],
        ]  # fmt: skip
        html_ += table_html(
            counts,
            ["images", "used", "in file", "official"],
            numeric=[False, True, True, True],
        )
    return html_


def _n(value: Any) -> str:
    return (
        f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "–"
    )


def _short(value: Any) -> str:
    """A hyperparameter for display: a path becomes its file name."""
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return value.replace("\\", "/").rsplit("/", 1)[-1]
    if isinstance(value, list | tuple):
        return " ".join(map(str, value))
    return str(value)


def render_page(
    document: Mapping[str, Any],
    model: Sequential,
    history: History | None,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str] | None,
    x_test: np.ndarray | None,
) -> str:
    """The whole report page for a ``metrics.json`` document (see ``write_report``)."""
    test = document["test"]
    if document["task"] == "regression":
        headline, results = _regression(test, y_true, y_pred)
    else:
        assert mapping is not None
        headline, results = _classification(test, y_true, y_pred, mapping, x_test)
    body = (
        _header(document, model)
        + headline
        + _training(history)
        + results
        + _details(document, history)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(document['title'])}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )

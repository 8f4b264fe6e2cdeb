"""Figures for training runs and evaluations (matplotlib; each function returns its Figure).

Every function draws on new axes (or on ``ax`` if given) and returns the ``Figure``, so the same
code serves the chapters (shown with ``plt.show()``) and the HTML report (saved as PNG).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .history import History
from .tuning import TuningResults


def plot_history(history: History) -> Figure:
    """Learning curves: loss (left) and accuracy (right) per epoch, training and validation."""
    has_acc = bool(history.train_accuracy)
    fig, axes = plt.subplots(
        1, 2 if has_acc else 1, figsize=(10 if has_acc else 5.5, 3.6), squeeze=False
    )
    ax_loss = axes[0, 0]
    ax_loss.plot(history.epoch, history.train_loss, "o-", ms=3, label="train")
    if history.val_loss:
        ax_loss.plot(history.epoch, history.val_loss, "s-", ms=3, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_loss.legend()
    if has_acc:
        ax_acc = axes[0, 1]
        ax_acc.plot(history.epoch, history.train_accuracy, "o-", ms=3, label="train")
        if history.val_accuracy:
            ax_acc.plot(
                history.epoch, history.val_accuracy, "s-", ms=3, label="validation"
            )
        ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
        ax_acc.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str] | None = None, *, normalize: bool = True
) -> Figure:
    """Heatmap of a confusion matrix (rows: true class, columns: predicted class).

    With ``normalize`` each row is divided by its total, so cell (i, j) is the fraction of class
    ``i`` predicted as ``j`` and the diagonal is each class's recall.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    n = cm.shape[0]
    size = min(12.0, 3.0 + 0.2 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(
        image,
        ax=ax,
        fraction=0.046,
        pad=0.04,
        label="fraction of true class" if normalize else "count",
    )
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    ticks = np.arange(n)
    ax.set_xticks(ticks, names, fontsize=7 if n > 20 else 9)
    ax.set_yticks(ticks, names, fontsize=7 if n > 20 else 9)
    ax.set(
        xlabel="predicted",
        ylabel="true",
        title="Confusion matrix" + (" (row-normalized)" if normalize else ""),
    )
    ax.grid(False)
    fig.tight_layout()
    return fig


def plot_per_class_metrics(
    precision: np.ndarray,
    recall: np.ndarray,
    f1: np.ndarray,
    class_names: Sequence[str],
) -> Figure:
    """Grouped bars of precision, recall and F1 for every class."""
    n = len(class_names)
    x = np.arange(n)
    width = 0.28
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * n + 2), 3.6))
    ax.bar(x - width, precision, width, label="precision")
    ax.bar(x, recall, width, label="recall")
    ax.bar(x + width, f1, width, label="F1")
    ax.set_xticks(x, list(class_names), fontsize=8 if n > 20 else 10)
    # Bars start at 0, so a legend inside the axes would hide some: put it above them.
    ax.set(ylim=(0, 1.05), ylabel="score")
    ax.set_title("Per-class precision, recall and F1", pad=24)
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return fig


def plot_image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """Show images (``(n, 28, 28)`` or flat ``(n, 784)``) in a grid, each with a short title."""
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("plot_image_grid needs at least one image")
    side = round(np.sqrt(images[0].size))
    ncols = min(ncols, n)
    nrows = -(-n // ncols)  # ceiling division
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.2 * ncols, 1.35 * nrows), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, text in zip(axes.flat, images, titles, strict=False):
        ax.imshow(image.reshape(side, side), cmap="gray_r")
        ax.set_title(text, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str],
    *,
    n: int = 24,
    rng: np.random.Generator | int | None = 0,
) -> Figure:
    """A grid of up to ``n`` misclassified images titled "true → predicted" (a random sample).

    A label missing from ``mapping`` is shown as its number: a model for ``letters`` (labels
    1..26) has an output for the unused label 0 and may predict it.
    """
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    if wrong.size == 0:
        raise ValueError("there are no misclassified examples to show")
    pick = np.sort(
        np.random.default_rng(rng).choice(wrong, size=min(n, wrong.size), replace=False)
    )

    def name(label: int) -> str:
        return mapping.get(int(label), str(label))

    titles = [f"{name(y_true[i])} → {name(y_pred[i])}" for i in pick]
    return plot_image_grid(
        images[pick], titles, title="Misclassified test images (true → predicted)"
    )


def plot_tuning_results(results: TuningResults) -> Figure:
    """Two views of a search: validation accuracy against learning rate (log scale, one color per
    optimizer) and the best accuracy each optimizer reached."""
    trials = results.trials
    optimizers = sorted({t.params.get("optimizer", "adam") for t in trials})
    fig, (ax_lr, ax_opt) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in optimizers:
        mine = [t for t in trials if t.params.get("optimizer", "adam") == name]
        ax_lr.scatter(
            [t.params.get("lr", 1e-3) for t in mine],
            [t.val_accuracy for t in mine],
            label=name,
            alpha=0.8,
        )
    ax_lr.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="validation accuracy",
        title="Learning rate vs score",
    )
    # Label exactly the rates that were tried: log axes spanning less than a decade otherwise
    # get overlapping minor tick labels.
    rates = sorted({t.params.get("lr", 1e-3) for t in trials})
    if len(rates) <= 8:
        ax_lr.set_xticks(rates, [f"{r:.3g}" for r in rates])
        ax_lr.xaxis.set_minor_formatter(NullFormatter())
    ax_lr.legend()
    best = [
        max(t.val_accuracy for t in trials if t.params.get("optimizer", "adam") == name)
        for name in optimizers
    ]
    ax_opt.bar(optimizers, best, color=[f"C{i}" for i in range(len(optimizers))])
    low = min(best)
    ax_opt.set(
        ylim=(max(0.0, low - 0.1), 1.0),
        ylabel="best validation accuracy",
        title="Best trial per optimizer",
    )
    fig.tight_layout()
    return fig

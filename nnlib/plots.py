"""Figures for training runs and evaluations (matplotlib; each returns its Figure).

Every function draws a new figure and returns it, so the same code serves the chapters
(shown with ``plt.show()``) and the HTML report (saved as PNG). All of them follow one
set of rules, so that a figure stays legible where it is shown (a book column of about
7.5 inches, a report page, a phone):

* at most :data:`MAX_WIDTH` = 7.5 inches wide and at most 2 panels across;
* no text smaller than 9 pt (:data:`STYLE`);
* colours from the Okabe-Ito palette (:data:`PALETTE`), which readers with any common
  colour-vision deficiency can tell apart, and sequential colour maps that run from
  light to dark in a single hue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from .history import History

if TYPE_CHECKING:  # only for the annotation: importing tuning would pull in training
    from .tuning import TuningResults

MAX_WIDTH = 7.5
"""The widest figure, in inches: the book's text column (and the report's images)."""

PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe & Ito's colour-blind-safe palette, in the order the figures use it."""

SEQUENTIAL_CMAP = "Blues"
"""One hue from light to dark: the order of the values survives any colour vision."""

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
    "axes.prop_cycle": cycler(color=PALETTE),
    "image.cmap": SEQUENTIAL_CMAP,
}
"""Applied while each figure is drawn: the minimum text sizes and the palette."""

MIN_FONT_SIZE = 9.0
"""The smallest text, in points, that any figure here contains."""


@contextmanager
def _style() -> Iterator[None]:
    with plt.style.context(STYLE):  # on top of the caller's settings, restored after
        yield


# ------------------------------------------------------------------ training


def plot_history(history: History) -> Figure:
    """Learning curves per epoch, training and validation: the loss (left) and the
    loss's metric (right): accuracy for a classifier, the mean absolute error for a
    regression model (a history that records it). Without a metric: the loss only."""
    panels = [("loss", history.train_loss, history.val_loss)]
    mae = getattr(history, "train_mae", []), getattr(history, "val_mae", [])
    if history.train_accuracy:
        panels.append(("accuracy", history.train_accuracy, history.val_accuracy))
    elif mae[0]:  # fit records the mean absolute error for regression losses
        panels.append(("mean absolute error", *mae))
    with _style():
        width = MAX_WIDTH if len(panels) == 2 else 4.5
        fig, axes = plt.subplots(1, len(panels), figsize=(width, 3.2), squeeze=False)
        for ax, (name, train, val) in zip(axes[0], panels, strict=True):
            ax.plot(history.epoch, train, "o-", ms=3, label="train")
            if val:
                ax.plot(history.epoch, val, "s--", ms=3, label="validation")
            ax.set(xlabel="epoch", ylabel=name, title=name.capitalize())
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
            ax.legend()
        fig.tight_layout()
    return fig


# ------------------------------------------------------------------ classification


def plot_confusion_matrix(
    cm: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    normalize: bool = True,
    hide_diagonal: bool | None = None,
) -> Figure:
    """Heatmap of a confusion matrix (rows: true class, columns: predicted class).

    With ``normalize`` each row is divided by its total, so cell (i, j) is the fraction
    of class ``i`` predicted as ``j``. With ``hide_diagonal`` the correct predictions
    are left out (grey) and the colour scale spans the errors alone: with many classes
    the diagonal would otherwise take the whole scale and every confusion would look
    the same pale colour. The default hides it for more than 10 classes.
    """
    cm = np.asarray(cm, dtype=np.float64)
    n = cm.shape[0]
    hide = n > 10 if hide_diagonal is None else hide_diagonal
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    shown = np.ma.masked_array(cm, mask=np.eye(n, dtype=bool) & hide)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    # Room for a number in each cell of a small matrix (0.45 in, about 32 pt); with
    # many classes, about 0.11 in (8 pt) per class still fits a 9-pt label.
    side = min(MAX_WIDTH, 2.4 + (0.45 if n <= 10 else 0.11) * n)
    with _style():
        fig, ax = plt.subplots(figsize=(side, side * 0.9))
        cmap = mpl.colormaps[SEQUENTIAL_CMAP].with_extremes(bad="0.85")
        top = shown.max() if shown.count() and shown.max() > 0 else 1.0
        image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=top if hide else None)
        what = "fraction of true class" if normalize else "count"
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label=what)
        ticks = np.arange(n)
        ax.set_xticks(ticks, names, rotation=0 if max(map(len, names)) < 3 else 90)
        ax.set_yticks(ticks, names)
        if n > 30:  # a tick label every class still fits at 9 pt; keep them apart
            ax.tick_params(length=2, pad=1)
        if n <= 10:
            _annotate_cells(ax, cm, shown.mask, normalize)
        title = "Confusion matrix" + (", errors only" if hide else "")
        ax.set(xlabel="predicted class", ylabel="true class", title=title)
        ax.grid(False)
        fig.tight_layout()
    return fig


def _annotate_cells(ax: Axes, values: np.ndarray, hidden: Any, normalize: bool) -> None:
    """Write each cell's value in it (small matrices only)."""
    top = values.max() or 1.0
    for (i, j), value in np.ndenumerate(values):
        if np.any(hidden) and hidden[i, j]:
            continue
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        colour = "white" if value > 0.6 * top else "black"
        ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)


def plot_per_class_metrics(
    precision: np.ndarray,
    recall: np.ndarray,
    f1: np.ndarray,
    class_names: Sequence[str],
) -> Figure:
    """Precision, recall and F1 of every class, sorted by F1 (worst at the top).

    One row per class: a bar for F1, a dot for precision and a triangle for recall.
    More than 24 classes are split into two panels side by side (the worst half on the
    left), so that 47 class names stay at 9 pt.
    """
    f1 = np.asarray(f1)
    order = np.argsort(f1, kind="stable")
    halves = np.array_split(order, 2) if len(order) > 24 else [order]
    rows = max(len(h) for h in halves)
    with _style():
        fig, axes = plt.subplots(
            1,
            len(halves),
            figsize=(MAX_WIDTH if len(halves) == 2 else 5.0, 1.2 + 0.19 * rows),
            squeeze=False,
        )
        for ax, half in zip(axes[0], halves, strict=True):
            y = np.arange(len(half))
            ax.barh(y, f1[half], height=0.7, color=PALETTE[4], label="F1")
            ax.plot(np.asarray(precision)[half], y, "o", ms=4, label="precision")
            ax.plot(np.asarray(recall)[half], y, "^", ms=4, color=PALETTE[1],
                    label="recall")  # fmt: skip
            ax.set_yticks(y, [class_names[i] for i in half])
            ax.set(xlim=(0, 1.02), ylim=(rows - 0.5, -0.5), xlabel="score")
            ax.grid(axis="y", visible=False)
        axes[0, 0].legend(
            ncols=3, loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False
        )
        fig.suptitle("Per-class scores, sorted by F1", x=0.02, ha="left")
        fig.tight_layout()
    return fig


# ------------------------------------------------------------------ images


def plot_image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """Images (``(n, 28, 28)`` or flat ``(n, 784)``) in a grid, each with a title.

    The figure is at most :data:`MAX_WIDTH` wide, so each image gets
    ``MAX_WIDTH / ncols`` inches; keep ``ncols`` at 8 or fewer when the titles are
    more than a character or two.
    """
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        raise ValueError("plot_image_grid needs at least one image")
    side = round(np.sqrt(images[0].size))
    ncols = min(ncols, n)
    nrows = -(-n // ncols)  # ceiling division
    cell = min(MAX_WIDTH / ncols, 1.0)
    with _style():
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(cell * ncols, (cell + 0.25) * nrows + (0.35 if title else 0)),
            squeeze=False,
        )
        for ax in axes.flat:
            ax.axis("off")
        for ax, image, text in zip(axes.flat, images, titles, strict=False):
            ax.imshow(image.reshape(side, side), cmap="gray_r")
            ax.set_title(text, fontsize=MIN_FONT_SIZE + 1, pad=2)
        if title:
            fig.suptitle(title)
        fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return fig


def _name(mapping: Mapping[int, str], label: int) -> str:
    """A label's character, or its number if the mapping lacks it (``letters``: 0)."""
    return mapping.get(int(label), str(label))


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mapping: Mapping[int, str],
    *,
    n: int = 24,
    rng: np.random.Generator | int | None = 0,
) -> Figure:
    """Up to ``n`` misclassified images (a random sample), 8 across, titled
    "true → predicted".

    A label missing from ``mapping`` is shown as its number: a model for ``letters``
    (labels 1..26) has an output for the unused label 0 and may predict it.
    """
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    if wrong.size == 0:
        raise ValueError("there are no misclassified examples to show")
    generator = np.random.default_rng(rng)
    pick = np.sort(generator.choice(wrong, size=min(n, wrong.size), replace=False))
    titles = [
        f"{_name(mapping, y_true[i])} → {_name(mapping, y_pred[i])}" for i in pick
    ]
    return plot_image_grid(
        images[pick], titles, ncols=8, title="Misclassified (true → predicted)"
    )


def plot_confused_pairs(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    pairs: Sequence[tuple[int, int, int]],
    mapping: Mapping[int, str],
    *,
    per_pair: int = 6,
) -> Figure:
    """Example images of the most confused pairs: one row per ``(true, predicted,
    count)`` pair (e.g. from ``nnlib.report.most_confused_pairs``), the first
    ``per_pair`` test images of that true class predicted as that class."""
    if not pairs:
        raise ValueError("no confused pairs to show")
    per_pair = min(per_pair, 7)  # plus the label column: at most 8 across
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    side = round(np.sqrt(np.asarray(images[0]).size))
    cell = 0.8
    with _style():
        fig, axes = plt.subplots(
            len(pairs),
            per_pair + 1,
            figsize=(cell * (per_pair + 1.6), cell * len(pairs) + 0.4),
            squeeze=False,
            gridspec_kw={"width_ratios": [1.6] + [1] * per_pair},
        )
        for row, (true, pred, count) in zip(axes, pairs, strict=True):
            for ax in row:
                ax.axis("off")
            label = f"{_name(mapping, true)} → {_name(mapping, pred)}\n{count}×"
            row[0].text(0.5, 0.5, label, ha="center", va="center", fontsize=11)
            where = np.flatnonzero((y_true == true) & (y_pred == pred))[:per_pair]
            for ax, i in zip(row[1:], where, strict=False):
                ax.imshow(np.asarray(images[i]).reshape(side, side), cmap="gray_r")
        fig.suptitle("Most confused pairs (true → predicted, count), test images")
        fig.tight_layout(pad=0.3, h_pad=0.3, w_pad=0.2)
    return fig


# ------------------------------------------------------------------ regression


def plot_regression(y_true: np.ndarray, y_pred: np.ndarray) -> Figure:
    """Predicted against true values, with the identity line (left), and residuals
    ``y_true - y_pred`` against the prediction, with the zero line (right).

    Points on the identity line are perfect predictions; residuals should scatter
    evenly around zero, and a pattern (a slope, a funnel) shows what the model misses.
    ``(N, D)`` targets get one colour per output.
    """
    yt = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got "
            f"{np.shape(y_true)} and {np.shape(y_pred)}"
        )
    with _style():
        fig, (ax_fit, ax_res) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.4))
        for d in range(yt.shape[1]):
            label = f"output {d}" if yt.shape[1] > 1 else None
            ax_fit.scatter(yt[:, d], yp[:, d], s=12, alpha=0.7, label=label)
            ax_res.scatter(yp[:, d], yt[:, d] - yp[:, d], s=12, alpha=0.7)
        low, high = min(yt.min(), yp.min()), max(yt.max(), yp.max())
        ax_fit.plot([low, high], [low, high], "k--", lw=1, label="y = ŷ (perfect)")
        ax_fit.set(xlabel="true value y", ylabel="prediction ŷ", title="Predictions")
        ax_fit.set_aspect("equal", adjustable="datalim")
        ax_fit.legend()
        ax_res.axhline(0.0, color="k", ls="--", lw=1)
        ax_res.set(xlabel="prediction ŷ", ylabel="residual y − ŷ", title="Residuals")
        fig.tight_layout()
    return fig


# ------------------------------------------------------------------ tuning


def plot_tuning_results(results: TuningResults) -> Figure:
    """Two views of a search: validation accuracy against learning rate (log scale, one
    colour per optimizer) and the best accuracy each optimizer reached."""
    from .tuning import DEFAULTS  # a trial's value for a key its search left out

    trials = results.trials
    optimizer = np.array(
        [t.params.get("optimizer", DEFAULTS["optimizer"]) for t in trials]
    )
    lr = np.array([t.params.get("lr", DEFAULTS["lr"]) for t in trials], dtype=float)
    accuracy = np.array([t.val_accuracy for t in trials])
    optimizers = sorted(set(optimizer.tolist()))
    with _style():
        fig, (ax_lr, ax_opt) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.2))
        for name in optimizers:
            mine = optimizer == name
            ax_lr.scatter(lr[mine], accuracy[mine], label=name, alpha=0.8)
        ax_lr.set(
            xscale="log",
            xlabel="learning rate",
            ylabel="validation accuracy",
            title="Learning rate vs score",
        )
        # Label exactly the rates that were tried: log axes spanning less than a decade
        # otherwise get overlapping minor tick labels.
        rates = sorted(set(lr.tolist()))
        if len(rates) <= 6:
            ax_lr.set_xticks(rates, [f"{r:.3g}" for r in rates])
            ax_lr.xaxis.set_minor_formatter(NullFormatter())
        ax_lr.legend()
        best = [float(accuracy[optimizer == name].max()) for name in optimizers]
        ax_opt.bar(optimizers, best, color=PALETTE[: len(optimizers)])
        ax_opt.set(
            ylim=(max(0.0, min(best) - 0.1), 1.0),
            ylabel="best validation accuracy",
            title="Best trial per optimizer",
        )
        fig.tight_layout()
    return fig

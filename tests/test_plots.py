"""Tests for nnlib.plots: each function draws what it says, returns its Figure, and
keeps the legibility rules (width, panels across, text size, palette)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # tests draw off-screen

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from nnlib import History
from nnlib.plots import (
    MAX_WIDTH,
    MIN_FONT_SIZE,
    PALETTE,
    plot_confused_pairs,
    plot_confusion_matrix,
    plot_history,
    plot_image_grid,
    plot_misclassified,
    plot_per_class_metrics,
    plot_regression,
    plot_tuning_results,
)

LETTERS47 = [*"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", *"abdefghnqrt"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history() -> History:
    return History(
        epoch=[1, 2, 3],
        train_loss=[3, 2, 1],
        train_accuracy=[0.1, 0.2, 0.3],
        val_loss=[3.5, 2.5, 2],
        val_accuracy=[0.1, 0.15, 0.2],
    )


def _scores(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    p, r = rng.uniform(0.3, 1, n), rng.uniform(0.3, 1, n)
    return p, r, 2 * p * r / (p + r)


def _confusions(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.diag(rng.integers(300, 400, n)) + rng.integers(0, 9, (n, n))


def _tuning() -> SimpleNamespace:
    trial = SimpleNamespace
    return SimpleNamespace(
        trials=[
            trial(params={"optimizer": o, "lr": lr}, val_accuracy=acc)
            for o, lr, acc in [
                ("adam", 1e-3, 0.8),
                ("adam", 1e-2, 0.7),
                ("sgd", 1e-1, 0.75),
                ("rmsprop", 1e-3, 0.78),
            ]
        ]
    )


IMAGES = np.random.default_rng(1).integers(0, 256, (60, 28, 28), dtype=np.uint8)
Y_TRUE = np.arange(60) % 47
Y_PRED = np.where(np.arange(60) % 3 == 0, (Y_TRUE + 1) % 47, Y_TRUE)

EVERY_FIGURE: dict[str, Callable[[], Figure]] = {
    "history": lambda: plot_history(_history()),
    "history-loss-only": lambda: plot_history(History(epoch=[1], train_loss=[1.0])),
    "confusion-5": lambda: plot_confusion_matrix(_confusions(5), list("abcde")),
    "confusion-47": lambda: plot_confusion_matrix(_confusions(47), LETTERS47),
    "per-class-5": lambda: plot_per_class_metrics(*_scores(5), list("abcde")),
    "per-class-47": lambda: plot_per_class_metrics(*_scores(47), LETTERS47),
    "image-grid": lambda: plot_image_grid(IMAGES[:12], ["x"] * 12),
    "misclassified": lambda: plot_misclassified(
        IMAGES, Y_TRUE, Y_PRED, dict(enumerate(LETTERS47))
    ),
    "confused-pairs": lambda: plot_confused_pairs(
        IMAGES, Y_TRUE, Y_PRED, [(0, 1, 3), (3, 4, 2)], dict(enumerate(LETTERS47))
    ),
    "regression": lambda: plot_regression(np.arange(10.0), np.arange(10.0) + 0.5),
    "tuning": lambda: plot_tuning_results(_tuning()),  # type: ignore[arg-type]
}


def _panels(fig: Figure) -> list:
    """The axes that show data (not colour bars, not empty grid cells)."""
    return [
        ax
        for ax in fig.axes
        if ax.get_label() != "<colorbar>"
        and (ax.lines or ax.patches or ax.images or ax.collections)
    ]


def _columns(axes: list) -> int:
    """How many axes stand side by side in the widest row."""
    boxes = [ax.get_position() for ax in axes]
    return max(
        sum(1 for other in boxes if other.y0 < box.y1 and box.y0 < other.y1)
        for box in boxes
    )


@pytest.mark.parametrize("make", EVERY_FIGURE.values(), ids=EVERY_FIGURE.keys())
def test_every_figure_is_legible(make: Callable[[], Figure]) -> None:
    """Issue 10: at most 7.5 in wide, text of at least 9 pt, at most 2 panels across
    (image grids: at most 8 images), colours from the Okabe-Ito palette."""
    fig = make()
    fig.canvas.draw()  # creates every tick label
    assert fig.get_figwidth() <= MAX_WIDTH + 1e-9
    small = [
        (t.get_text(), t.get_fontsize())
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
        and t.get_fontsize() < MIN_FONT_SIZE
    ]  # fmt: skip
    assert not small, f"text below {MIN_FONT_SIZE} pt: {small[:5]}"
    panels = _panels(fig)
    images_only = all(ax.images and not ax.lines for ax in panels)
    assert _columns(panels) <= (8 if images_only else 2)
    palette = {mcolors.to_hex(c) for c in PALETTE}
    for ax in panels:
        colours = [line.get_color() for line in ax.lines]
        colours += [bar.get_facecolor() for bar in ax.patches]
        colours += [c for dots in ax.collections for c in dots.get_facecolor()]
        for colour in {mcolors.to_hex(c) for c in colours} - {"#000000"}:
            assert colour in palette, (ax.get_title(), colour)


def test_plot_history_draws_train_and_validation_curves() -> None:
    fig = plot_history(_history())
    loss_ax, acc_ax = fig.axes
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [
        [3, 2, 1],
        [3.5, 2.5, 2],
    ]
    assert [list(line.get_ydata()) for line in acc_ax.lines] == [
        [0.1, 0.2, 0.3],
        [0.1, 0.15, 0.2],
    ]


def test_plot_history_marks_whole_epochs_only() -> None:
    history = History(epoch=list(range(1, 20)), train_loss=[1.0] * 19)
    fig = plot_history(history)
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 19]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_plot_history_regression_has_only_a_loss_panel() -> None:
    assert len(plot_history(History(epoch=[1], train_loss=[1.0])).axes) == 1


def test_plot_history_shows_a_regression_histories_mean_absolute_error() -> None:
    """``fit`` records ``train_mae``/``val_mae`` for a regression loss."""
    history = SimpleNamespace(
        epoch=[1, 2],
        train_loss=[2.0, 1.0],
        val_loss=[2.5, 1.5],
        train_accuracy=[],
        val_accuracy=[],
        train_mae=[1.2, 0.8],
        val_mae=[1.4, 1.0],
    )
    _, mae_ax = plot_history(history).axes  # type: ignore[arg-type]
    assert mae_ax.get_ylabel() == "mean absolute error"
    assert [list(line.get_ydata()) for line in mae_ax.lines] == [[1.2, 0.8], [1.4, 1.0]]


def test_confusion_matrix_rows_are_normalized() -> None:
    cm = np.array([[8, 2], [0, 0]])  # the second class never occurs: its row is 0
    fig = plot_confusion_matrix(cm, ["a", "b"])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, [[0.8, 0.2], [0.0, 0.0]])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]


def test_many_classes_hide_the_diagonal_and_label_every_class() -> None:
    """With 47 classes the colour scale spans the errors only: the diagonal is masked
    and the largest off-diagonal fraction gets the darkest colour."""
    cm = _confusions(47)
    fig = plot_confusion_matrix(cm, LETTERS47)
    image = fig.axes[0].images[0]
    shown = image.get_array()
    assert np.ma.getmaskarray(shown).sum() == 47 and shown.mask[5, 5]
    fractions = cm / cm.sum(axis=1, keepdims=True)
    np.fill_diagonal(fractions, 0)
    assert image.get_clim() == (0, pytest.approx(fractions.max()))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == LETTERS47
    shown_small = plot_confusion_matrix(_confusions(5)).axes[0].images[0].get_array()
    assert not np.ma.getmaskarray(shown_small).any()  # small: diagonal kept
    hidden = plot_confusion_matrix(_confusions(5), hide_diagonal=True)
    assert np.ma.getmaskarray(hidden.axes[0].images[0].get_array()).sum() == 5


def test_per_class_scores_are_sorted_by_f1() -> None:
    fig = plot_per_class_metrics(
        np.array([0.5, 1]), np.array([0.25, 0.75]), np.array([1 / 3, 6 / 7]), ["x", "y"]
    )
    ax = fig.axes[0]
    np.testing.assert_allclose([bar.get_width() for bar in ax.patches], [1 / 3, 6 / 7])
    precision_dots, recall_dots = ax.lines
    np.testing.assert_allclose(precision_dots.get_xdata(), [0.5, 1])
    np.testing.assert_allclose(recall_dots.get_xdata(), [0.25, 0.75])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]


def test_47_classes_take_two_panels_worst_first() -> None:
    p, r, f = _scores(47)
    fig = plot_per_class_metrics(p, r, f, LETTERS47)
    left, right = _panels(fig)
    widths = [bar.get_width() for ax in (left, right) for bar in ax.patches]
    np.testing.assert_allclose(widths, np.sort(f))
    names = [t.get_text() for ax in (left, right) for t in ax.get_yticklabels()]
    assert sorted(names) == sorted(LETTERS47) and len(names) == 47


def test_image_grid_and_misclassified() -> None:
    images = np.arange(5 * 784, dtype=np.float64).reshape(5, 784) % 255
    fig = plot_image_grid(images, list("abcde"), ncols=3)
    assert sum(bool(ax.images) for ax in fig.axes) == 5
    y_true, y_pred = np.array([0, 1, 1, 0, 1]), np.array([0, 0, 1, 1, 1])
    fig = plot_misclassified(
        images.reshape(5, 28, 28), y_true, y_pred, {0: "O", 1: "0"}
    )
    titles = sorted(ax.get_title() for ax in fig.axes if ax.images)
    assert titles == ["0 → O", "O → 0"]
    with pytest.raises(ValueError, match="no misclassified"):
        plot_misclassified(images, y_true, y_true, {0: "O", 1: "0"})


def test_misclassified_shows_labels_missing_from_the_mapping() -> None:
    """``letters`` has labels 1..26; a model with 27 outputs may predict label 0."""
    letters = {k: chr(64 + k) for k in range(1, 27)}
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    fig = plot_misclassified(images, np.array([1, 2, 26]), np.array([0, 2, 1]), letters)
    titles = sorted(ax.get_title() for ax in fig.axes if ax.images)
    assert titles == ["A → 0", "Z → A"]


def test_confused_pairs_show_images_of_each_pair() -> None:
    y_true = np.array([0, 0, 1, 0, 2, 0])
    y_pred = np.array([1, 1, 1, 2, 0, 1])
    images = np.arange(6)[:, None, None] * np.ones((6, 28, 28))
    fig = plot_confused_pairs(images, y_true, y_pred, [(0, 1, 3), (2, 0, 1)], {})
    rows = fig.axes[:7], fig.axes[7:]
    first = [ax.images[0].get_array()[0, 0] for ax in rows[0] if ax.images]
    assert first == [0, 1, 5]  # the images of true 0 predicted as 1
    assert [ax.images[0].get_array()[0, 0] for ax in rows[1] if ax.images] == [4]
    assert "0 → 1\n3×" in [t.get_text() for t in rows[0][0].texts]


def test_plot_regression_draws_fit_identity_and_residuals() -> None:
    y, y_hat = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    fig = plot_regression(y, y_hat)
    fit, residuals = fig.axes
    np.testing.assert_allclose(fit.collections[0].get_offsets(), np.c_[y, y_hat])
    identity = fit.lines[0]
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())
    np.testing.assert_allclose(
        residuals.collections[0].get_offsets(), np.c_[y_hat, y - y_hat]
    )
    two = plot_regression(np.c_[y, y], np.c_[y_hat, y])
    assert len(two.axes[0].collections) == 2  # one colour per output
    with pytest.raises(ValueError, match="same shape"):
        plot_regression(y, y_hat[:2])


def test_tuning_figure_places_what_a_search_left_out_at_tuning_defaults(
    monkeypatch,
) -> None:
    """A trial whose search set no lr or optimizer ran with ``tuning.DEFAULTS``: the
    figure takes them from there instead of repeating 1e-3 and "adam"."""
    from nnlib import tuning

    monkeypatch.setitem(tuning.DEFAULTS, "lr", 0.05)
    monkeypatch.setitem(tuning.DEFAULTS, "optimizer", "sgd")
    results = SimpleNamespace(trials=[SimpleNamespace(params={}, val_accuracy=0.5)])
    ax_lr = plot_tuning_results(results).axes[0]  # type: ignore[arg-type]
    assert ax_lr.collections[0].get_offsets().tolist() == [[0.05, 0.5]]
    assert [t.get_text() for t in ax_lr.get_legend().get_texts()] == ["sgd"]


def test_importing_plots_does_not_import_tuning() -> None:
    """The plots <-> tuning import circle is gone: ``TuningResults`` is only an
    annotation here, so ``import nnlib.plots`` pulls in neither joblib nor training."""
    code = "import sys, nnlib.plots; print('nnlib.tuning' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_cell_numbers_of_a_10_class_matrix_do_not_overlap() -> None:
    fig = plot_confusion_matrix(_confusions(10))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 100
    for i, box in enumerate(boxes):
        for other in boxes[i + 1 :]:
            assert not box.overlaps(other), "cell numbers overlap"

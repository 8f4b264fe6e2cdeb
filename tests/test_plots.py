"""Tests for nnlib.plots: each function draws what it says and returns its Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests draw off-screen

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnlib import History
from nnlib.plots import (
    plot_confusion_matrix,
    plot_history,
    plot_image_grid,
    plot_misclassified,
    plot_per_class_metrics,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_history_draws_train_and_validation_curves() -> None:
    h = History(
        epoch=[1, 2, 3],
        train_loss=[3, 2, 1],
        train_accuracy=[0.1, 0.2, 0.3],
        val_loss=[3.5, 2.5, 2],
        val_accuracy=[0.1, 0.15, 0.2],
    )
    fig = plot_history(h)
    loss_ax, acc_ax = fig.axes
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [
        [3, 2, 1],
        [3.5, 2.5, 2],
    ]
    assert [list(line.get_ydata()) for line in acc_ax.lines] == [
        [0.1, 0.2, 0.3],
        [0.1, 0.15, 0.2],
    ]


def test_plot_history_regression_has_only_a_loss_panel() -> None:
    assert len(plot_history(History(epoch=[1], train_loss=[1.0])).axes) == 1


def test_confusion_matrix_rows_are_normalized() -> None:
    cm = np.array(
        [[8, 2], [0, 0]]
    )  # the second class never occurs: its row stays 0, no NaN
    fig = plot_confusion_matrix(cm, ["a", "b"])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, [[0.8, 0.2], [0.0, 0.0]])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]


def test_per_class_bars_heights() -> None:
    fig = plot_per_class_metrics(
        np.array([0.5, 1]), np.array([0.25, 0.75]), np.array([1 / 3, 6 / 7]), ["x", "y"]
    )
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    np.testing.assert_allclose(heights, [0.5, 1, 0.25, 0.75, 1 / 3, 6 / 7])


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
    """``letters`` has labels 1..26; a model with 27 outputs may predict the unused label 0."""
    letters = {k: chr(64 + k) for k in range(1, 27)}
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    fig = plot_misclassified(images, np.array([1, 2, 26]), np.array([0, 2, 1]), letters)
    titles = sorted(ax.get_title() for ax in fig.axes if ax.images)
    assert titles == ["A → 0", "Z → A"]

"""Draw the chapter map of the book's introduction: book/figures/chapter_map.png.

Run from anywhere, after editing the chapters below:

    python book/figures/make_chapter_map.py

The PNG is committed (the book build does not run this script). It is drawn in the
book's figure style: 7.2 in wide, text of at least 9 pt, Okabe-Ito colours, 200 dpi.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a file, no window

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from nnlib.booktools import OKABE_ITO, use_book_style

OUT = Path(__file__).with_name("chapter_map.png")

# (number, title, what the reader builds or learns there)
PARTS = [
    (
        "A network, piece by piece",
        OKABE_ITO[0],
        [
            (2, "Data", "EMNIST from its files"),
            (3, "Dense layer", "Y = XW + b, by hand"),
            (4, "Activations", "ReLU, sigmoid, spirals"),
            (5, "Softmax + loss", "cross-entropy, MSE"),
        ],
    ),
    (
        "Learning",
        OKABE_ITO[2],
        [
            (6, "Backpropagation", "a whole network"),
            (7, "Optimizers", "SGD, momentum, Adam"),
            (8, "Dropout", "less overfitting"),
            (9, "Training loop", "fit, early stopping"),
        ],
    ),
    (
        "The real task",
        OKABE_ITO[5],
        [
            (10, "Metrics", "accuracy, F1, confusions"),
            (11, "Training on EMNIST", "47 classes, a report"),
            (12, "Tuning", "grid and random search"),
            (13, "Performance", "faster NumPy"),
        ],
    ),
]

BOX_W, BOX_H = 2.15, 0.62  # inches (the axes are in inches: 1 unit = 1 in)
COL_X = [0.1, 2.55, 5.0]  # left edge of each column
TOP = 3.2  # top edge of the first box of each column
STEP = 0.86  # vertical distance between boxes


def box(ax, x, y, number, title, note, colour):
    """A rounded box with the chapter number and title in bold, and a note below."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            BOX_W,
            BOX_H,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=colour + "26",  # the part's colour at 15% opacity
            edgecolor=colour,
            linewidth=1.2,
        )
    )
    ax.text(x + 0.1, y + BOX_H - 0.2, f"{number}  {title}", fontsize=9.5, weight="bold")
    ax.text(x + 0.1, y + 0.13, note, fontsize=9, color="0.2")


def arrow(ax, start, end, *, rad=0.0):
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=10,
            color="0.35",
            linewidth=1.0,
            connectionstyle=f"arc3,rad={rad}",
        )
    )


def main() -> None:
    use_book_style()
    fig = plt.figure(figsize=(7.3, 4.3))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 7.3)
    ax.set_ylim(0.45, 4.75)
    ax.set_axis_off()

    # Chapter 1 spans the top: everything starts there.
    ax.add_patch(
        FancyBboxPatch(
            (0.1, 4.3),
            7.05,
            0.38,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor="0.94",
            edgecolor="0.5",
            linewidth=1.0,
        )
    )
    ax.text(
        3.625,
        4.49,
        "1  Preface: the network you will build, the notation, how to run the book",
        fontsize=9.5,
        ha="center",
        va="center",
    )

    for (heading, colour, chapters), x in zip(PARTS, COL_X, strict=True):
        ax.text(
            x + BOX_W / 2,
            TOP + BOX_H + 0.12,
            heading,
            fontsize=10,
            weight="bold",
            ha="center",
            color=colour,
        )
        for k, (number, title, note) in enumerate(chapters):
            y = TOP - k * STEP
            box(ax, x, y, number, title, note, colour)
            if k:
                arrow(ax, (x + BOX_W / 2, y + STEP), (x + BOX_W / 2, y + BOX_H))

    # The last chapter of one part leads to the first of the next.
    bottom = TOP - 3 * STEP
    for left, right in itertools.pairwise(COL_X):
        start = (left + BOX_W + 0.03, bottom + 0.1)
        arrow(ax, start, (right - 0.03, TOP + BOX_H - 0.1))
    fig.savefig(OUT, dpi=200)
    print(f"wrote {OUT.name}")


if __name__ == "__main__":
    main()

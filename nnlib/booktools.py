"""Small helpers the book's chapters use to show nnlib's own code and keep figures consistent."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any


class SourceCode:
    """Source code that renders as a highlighted block in Jupyter and in the HTML book.

    Its plain-text form is the code itself, so a notebook test (nbval) compares the displayed
    source with the stored output: if the library changes, the chapter's stored output no longer
    matches and the test fails until the chapter is re-run (and its prose re-read).
    """

    def __init__(self, code: str, title: str) -> None:
        self.code = code
        self.title = title

    def _repr_markdown_(self) -> str:
        return f"`{self.title}`\n\n```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return self.code


def show_source(obj: Any) -> SourceCode:
    """Return the real source of an nnlib class, method or function for display in a chapter.

    Example: ``show_source(nnlib.Dense.backward)``.
    """
    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    module = inspect.getmodule(obj)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", "?"))
    title = f"{module.__name__}.{name}" if module else name
    return SourceCode(code, title)


def use_book_style() -> None:
    """One matplotlib style for every figure in the book (size, grid, fonts)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "axes.titlesize": 11,
            "legend.frameon": False,
            "image.cmap": "gray_r",
        }
    )

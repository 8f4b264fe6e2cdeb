"""Helpers for the book's chapters: show nnlib's code, one figure style, the running 2-D
example, and checks for the exercises in which the reader writes code.

Nothing here is needed to use nnlib; the chapters import it so that every chapter
looks the same and every exercise tells the reader *what* is wrong, not only *that* it
is wrong.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Okabe & Ito's eight colours, distinct under every common colour-vision deficiency.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Widest figure the book draws, in inches (at 100 dpi: the column of a 1280 px page).
MAX_FIGURE_WIDTH = 7.5


# ------------------------------------------------------------------------ showing code


class SourceCode:
    """Source code that renders as a highlighted block in Jupyter and in the HTML book.

    Its plain-text form is the code itself, so a notebook test (nbval) compares the
    displayed source with the stored output: if the library changes, the chapter's
    stored output no longer matches and the test fails until the chapter is re-run (and
    its prose re-read).
    """

    def __init__(self, code: str, title: str) -> None:
        self.code = code
        self.title = title

    def _repr_markdown_(self) -> str:
        return f"`{self.title}`\n\n```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return self.code


def show_source(
    obj: Any, *, start: str | None = None, stop: str | None = None
) -> SourceCode:
    """Return the real source of an nnlib class, method or function for a chapter.

    ``start`` and ``stop`` cut out an excerpt: the listing begins at the first line that
    contains ``start`` and ends just before the first later line that contains ``stop``
    (a ``...`` line marks each cut). Example: ``show_source(nnlib.Dense.backward)``.
    """
    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    lines = code.splitlines()
    first = _line_index(lines, start, 0) if start else 0
    last = _line_index(lines, stop, first + 1) if stop else len(lines)
    excerpt = (["..."] if first > 0 else []) + lines[first:last]
    excerpt += ["..."] if last < len(lines) else []
    module = inspect.getmodule(obj)
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", "?"))
    title = f"{module.__name__}.{name}" if module else name
    return SourceCode("\n".join(excerpt), title)


def _line_index(lines: list[str], text: str, begin: int) -> int:
    """Index of the first line at or after ``begin`` that contains ``text``."""
    for i in range(begin, len(lines)):
        if text in lines[i]:
            return i
    raise ValueError(f"no line contains {text!r}")


# ----------------------------------------------------------------------------- figures


def use_book_style() -> None:
    """One matplotlib style for every figure of the book.

    Figures are 6.4 x 3.6 in by default (never wider than :data:`MAX_FIGURE_WIDTH`),
    text is at least 9 pt, lines are drawn in the colour-blind-safe :data:`OKABE_ITO`
    colours, and notebooks show figures as "retina" PNGs: twice the pixels, displayed at
    their logical size, so they stay sharp on high-density screens.
    """
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=OKABE_ITO),
            "font.size": 10,
            "axes.titlesize": 10.5,
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "figure.titlesize": 11,
            "legend.frameon": False,
            "image.cmap": "gray_r",
        }
    )
    try:  # only inside IPython/Jupyter
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover - plain Python has no inline backend
        pass


# --------------------------------------------------------------------- the 2-D example


def make_spirals(
    n_per_class: int = 100, n_classes: int = 3, *, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Points on ``n_classes`` interleaved spiral arms: the book's running 2-D example.

    Arm :math:`k` holds ``n_per_class`` points at radius :math:`r \in [0, 1]` and angle

    .. math:: \theta = \tfrac{4 \pi}{n_{classes}} (k + 2.5\, r) + \varepsilon,
              \qquad \varepsilon \sim \mathcal N(0, \text{noise}^2),

    so every arm winds once around the origin and no straight line separates two arms.

    Returns
    -------
    x : float32 array ``(n_classes * n_per_class, 2)``, points inside the unit disc.
    y : int64 array ``(n_classes * n_per_class,)``, the arm of each point (0, 1, ...).
    """
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes), n_per_class)
    theta = 4 * np.pi / n_classes * (y + 2.5 * r) + noise * rng.standard_normal(r.size)
    x = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return x.astype(np.float32), y.astype(np.int64)


def plot_decision_regions(
    ax: Any,
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    resolution: int = 200,
    title: str | None = None,
) -> float:
    """Colour the plane by the class ``predict`` gives each point; draw the data on top.

    ``predict`` maps an ``(M, 2)`` float32 array to ``M`` integer labels (for instance
    ``model.predict``). Returns the accuracy of ``predict`` on ``(x, y)``.
    """
    from matplotlib.colors import ListedColormap

    n_classes = int(y.max()) + 1
    colours = ListedColormap(OKABE_ITO[:n_classes])
    lo, hi = x.min(axis=0) - 0.1, x.max(axis=0) + 0.1
    g0, g1 = np.meshgrid(*(np.linspace(lo[d], hi[d], resolution) for d in range(2)))
    grid = np.column_stack([g0.ravel(), g1.ravel()]).astype(np.float32)
    regions = predict(grid).reshape(g0.shape)
    ax.contourf(
        g0, g1, regions, levels=np.arange(n_classes + 1) - 0.5, cmap=colours, alpha=0.25
    )
    ax.scatter(
        x[:, 0],
        x[:, 1],
        c=y,
        cmap=colours,
        vmin=-0.5,
        vmax=n_classes - 0.5,
        s=10,
        edgecolors="white",
        linewidths=0.3,
    )
    accuracy = float(np.mean(predict(x.astype(np.float32)) == y))
    ax.set(xticks=[], yticks=[], aspect="equal")
    ax.grid(False)
    ax.set_title(title if title is not None else f"accuracy {accuracy:.0%}")
    return accuracy


# --------------------------------------------------------------------- exercise checks


class CheckFailed(AssertionError):
    """An exercise's code does not do what the exercise asks (the message says how)."""


def check_function(
    candidate: Callable[..., Any],
    cases: Sequence[tuple[tuple[Any, ...], Any]],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> str:
    """Call ``candidate(*args)`` for each ``(args, expected)`` in ``cases``; compare.

    Returns a one-line success message (print it); raises :class:`CheckFailed` naming
    the first case that fails, what was expected and what came back, or saying that
    the function is still a stub (``raise NotImplementedError``).
    """
    name = getattr(candidate, "__name__", "your function")
    for i, (args, expected) in enumerate(cases, start=1):
        shown = ", ".join(_short(a) for a in args)
        try:
            got = candidate(*args)
        except NotImplementedError:
            raise CheckFailed(
                f"{name} is not written yet: replace `raise NotImplementedError` "
                f"with your code"
            ) from None
        if not _close(got, expected, rtol, atol):
            raise CheckFailed(
                f"case {i}: {name}({shown}) returned {_short(got)}, "
                f"expected {_short(expected)}"
            )
    return f"{name}: all {len(cases)} cases pass"


def check_derivative(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
) -> str:
    r"""Check an element-wise derivative ``df`` of ``f`` against central differences.

    .. math:: f'(x) \approx \frac{f(x + \epsilon) - f(x - \epsilon)}{2 \epsilon}

    in float64 at every point of ``x``. Returns a success message; raises
    :class:`CheckFailed` at the worst point (relative error above ``tol``).
    """
    x = np.asarray(x, dtype=np.float64)
    try:
        analytic = np.asarray(df(x), dtype=np.float64)
        numeric = (np.asarray(f(x + eps)) - np.asarray(f(x - eps))) / (2 * eps)
    except NotImplementedError:
        raise CheckFailed(
            "not written yet: replace `raise NotImplementedError` with your code"
        ) from None
    if analytic.shape != x.shape:
        raise CheckFailed(
            f"the derivative has shape {analytic.shape}, expected {x.shape}"
        )
    error = np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric))
    worst = int(np.argmax(error))
    if error.flat[worst] > tol:
        raise CheckFailed(
            f"at x = {x.flat[worst]:.4g} the derivative is {analytic.flat[worst]:.6g}, "
            f"but (f(x+eps) - f(x-eps)) / 2eps = {numeric.flat[worst]:.6g}"
        )
    return f"derivative matches finite differences at all {x.size} points"


def _close(got: Any, expected: Any, rtol: float, atol: float) -> bool:
    """Same shape and values within tolerance (scalars, arrays or tuples of them)."""
    if isinstance(expected, tuple):
        return (
            isinstance(got, tuple)
            and len(got) == len(expected)
            and all(
                _close(g, e, rtol, atol) for g, e in zip(got, expected, strict=True)
            )
        )
    try:
        got_a = np.asarray(got, dtype=np.float64)
        exp_a = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return bool(got == expected)
    return got_a.shape == exp_a.shape and bool(np.allclose(got_a, exp_a, rtol, atol))


def _short(value: Any) -> str:
    """A readable, one-line form of an argument or result."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, threshold=8, separator=", ")
        return " ".join(text.split())
    return repr(value)

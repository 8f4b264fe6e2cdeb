"""What a reader of every chapter can rely on (checked on the committed notebooks).

* **Runs on Colab.** The first code cell installs nnlib when, and only when, it runs
  on Colab (``"google.colab" in sys.modules``), from the repository in ``_config.yml``.
* **Nothing of the build machine.** No absolute path (POSIX or Windows), temporary
  folder or word about where the book was executed, in any source or output.
* **Prose that cannot drift.** A decimal number or a percentage in running text is
  glued from the run (``{glue:text}``) or written as math (``$0.5$``) or code:
  hand-derived numbers go in math, numbers measured by a cell come from the cell.
* **Legible.** Code lines fit the code box (88 columns); figures are at most 7.5 in
  wide, drawn for high-density screens (>= 150 dpi) and have alt text (cell metadata
  ``mystnb.image.alt``).
* **Readable flow.** Cells that only assert are hidden in the HTML; listings of nnlib's
  source longer than 30 lines are collapsed (``hide-output``) or excerpted; exercises
  are referred to with ``{ref}``, never by a typed number.

Each rule has a small synthetic notebook below that breaks it, so the rule can fail.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import struct
from pathlib import Path

import pytest
import yaml
from test_notebooks import ROOT, _source, _tags, find_notebooks, load_notebook

CONFIG = ROOT / "_config.yml"
DISTRIBUTION = "nnlib-from-scratch"
MAX_CODE_COLUMNS = 88
MAX_FIGURE_INCHES = 7.5
MIN_FIGURE_DPI = 150
MAX_LISTING_LINES = 30
HIDDEN = {"remove-input", "hide-input", "remove-cell", "hide-cell"}

# An absolute path: /home/..., /tmp/..., C:\... (not a URL path, nor ~/.cache/...).
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/~-])/(?:home|root|tmp|work|usr|var|opt|mnt|srv|private|Users|etc)/"
    r"|\b[A-Za-z]:\\\\?[\w.-]"
)
WHERE_EXECUTED = re.compile(
    r"\bsandbox\b|\boffline copy\b|\.\./shared\b|\bshared/data\b", re.IGNORECASE
)
# Run-dependent-looking numbers in prose: 0.93, 12.5%, 93 %, 1.23x.
PROSE_NUMBER = re.compile(r"(?<![\w.$])\d+\.\d+(?:\s?%|x\b)?|(?<![\w.$])\d+\s?%")
EXERCISE_BY_NUMBER = re.compile(r"\bexercises?\s+\d", re.IGNORECASE)


def _markdown_prose(text: str) -> str:
    """Markdown without code, math, roles, link targets, directive options, comments."""
    text = re.sub(r"```.*?```|~~~.*?~~~", " ", text, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)  # {glue:text}`x`, {cite:p}`...`
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"(?<!\\)\$[^$\n]+\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # [text](target)
    text = re.sub(r"^\s*:[\w-]+:.*$", " ", text, flags=re.MULTILINE)
    return text


# ------------------------------------------------------------------------- the rules


def colab_problems(nb: dict, repository: str) -> list[str]:
    """The first code cell must install the package on Colab, and only there."""
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if not code:
        return []
    first = _source(code[0])
    wanted = ['"google.colab" in sys.modules', "%pip install", DISTRIBUTION, repository]
    missing = [w for w in wanted if w not in first]
    problems = [f"first code cell lacks {w!r}" for w in missing]
    if not missing and not re.search(r"^if .*google\.colab", first, re.MULTILINE):
        problems.append("first code cell must install only under `if ...google.colab`")
    if "remove-cell" not in _tags(code[0]):
        problems.append("the Colab install cell must be tagged remove-cell")
    return problems


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        texts.append(_joined(out.get("text", "")))
        texts.append("\n".join(out.get("traceback", [])))
        texts.append(_joined(out.get("evalue", "")))
        for mime, value in out.get("data", {}).items():
            if not mime.startswith("image/"):
                texts.append(value if isinstance(value, str) else json.dumps(value))
    return texts


def _joined(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def leak_problems(nb: dict) -> list[str]:
    """Absolute paths and words about the executing machine, in sources and outputs."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        for where, text in [
            ("source", _source(cell)),
            *(("output", t) for t in _output_texts(cell)),
        ]:
            for pattern in (ABSOLUTE_PATH, WHERE_EXECUTED):
                match = pattern.search(text)
                if match:
                    start = max(0, match.start() - 30)
                    problems.append(
                        f"cell {i} {where}: ...{text[start : match.end() + 30]!r}"
                    )
    return problems


def prose_number_problems(nb: dict) -> list[str]:
    """Decimal numbers and percentages typed into markdown prose (glue them)."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for match in PROSE_NUMBER.finditer(_markdown_prose(_source(cell))):
            problems.append(f"cell {i}: {match.group(0)!r} typed in prose")
    return problems


def exercise_reference_problems(nb: dict) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            for match in EXERCISE_BY_NUMBER.finditer(_markdown_prose(_source(cell))):
                problems.append(f"cell {i}: {match.group(0)!r}: use {{ref}}`label`")
    return problems


def code_width_problems(nb: dict) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and "remove-cell" not in _tags(cell):
            for n, line in enumerate(_source(cell).splitlines(), start=1):
                if len(line) > MAX_CODE_COLUMNS:
                    problems.append(f"cell {i} line {n}: {len(line)} columns")
    return problems


def _png_size_and_dpi(png: bytes) -> tuple[int, float]:
    """Pixel width and dots per inch (72 if the PNG does not say) of a PNG."""
    width = struct.unpack(">I", png[16:20])[0]
    at = png.find(b"pHYs")
    if at < 0:
        return width, 72.0
    per_metre, unit = struct.unpack(">I", png[at + 4 : at + 8])[0], png[at + 12]
    return width, per_metre * 0.0254 if unit == 1 else 72.0


def figure_problems(nb: dict) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        images = [
            o["data"]["image/png"]
            for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})
        ]
        if not images:
            continue
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
        if not alt:
            problems.append(f"cell {i}: figure without alt text (mystnb.image.alt)")
        for image in images:
            width, dpi = _png_size_and_dpi(base64.b64decode(image))
            if width / dpi > MAX_FIGURE_INCHES + 0.05:
                problems.append(f"cell {i}: figure {width / dpi:.1f} in wide")
            if dpi < MIN_FIGURE_DPI:
                problems.append(f"cell {i}: figure at {dpi:.0f} dpi (use_book_style)")
    return problems


def _only_asserts(source: str) -> bool:
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics
        return False
    return bool(body) and all(isinstance(node, ast.Assert) for node in body)


def flow_problems(nb: dict) -> list[str]:
    """Assert-only cells must be hidden; long source listings collapsed."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source, tags = _source(cell), set(_tags(cell))
        if _only_asserts(source) and not tags & HIDDEN:
            problems.append(f"cell {i}: only asserts, tag it remove-input")
        if "show_source(" in source and "hide-output" not in tags:
            longest = max((len(t.splitlines()) for t in _output_texts(cell)), default=0)
            if longest > MAX_LISTING_LINES:
                problems.append(
                    f"cell {i}: a {longest}-line listing: excerpt it "
                    f"(show_source(..., start=, stop=)) or tag hide-output"
                )
    return problems


def _asserts(source: str) -> bool:
    """Does ``source`` hold an ``assert`` or call an ``assert_...`` function (NumPy's
    ``np.testing.assert_allclose``, for example)?"""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics
        return "assert" in source
    return any(
        isinstance(node, ast.Assert)
        or (isinstance(node, ast.Attribute) and node.attr.startswith("assert_"))
        for node in ast.walk(tree)
    )


def ignored_output_problems(nb: dict) -> list[str]:
    """A cell whose output nbval ignores is checked by an assert: in the cell itself or
    in a code cell after it, before the prose goes on (the next markdown cell), so a
    wrong result still fails the test. Widget cells are exempt: a static figure beside
    them shows the same idea, checked there."""
    problems = []
    cells = nb.get("cells", [])
    for i, cell in enumerate(cells):
        source = _source(cell) if cell.get("cell_type") == "code" else ""
        if "nbval-ignore-output" not in _tags(cell) or "interact" in source:
            continue
        checked = False
        for later in cells[i:]:
            if later.get("cell_type") != "code":
                break
            checked = checked or _asserts(_source(later))
        if not checked:
            problems.append(
                f"cell {i}: output ignored by nbval and no assert checks it"
            )
    return problems


# ------------------------------------------------------------------------- the tests


def _repository() -> str:
    return yaml.safe_load(CONFIG.read_text())["repository"]["url"]


RULES = {
    "colab": lambda nb: colab_problems(nb, _repository()),
    "build machine": leak_problems,
    "numbers in prose": prose_number_problems,
    "exercise references": exercise_reference_problems,
    "code width": code_width_problems,
    "figures": figure_problems,
    "reading flow": flow_problems,
    "ignored outputs asserted": ignored_output_problems,
}


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("path", find_notebooks(), ids=lambda p: p.name)
def test_chapter_follows_the_rule(path: Path, rule: str) -> None:
    problems = RULES[rule](load_notebook(path))
    assert not problems, f"{path.name}, {rule}:\n" + "\n".join(problems)


# ------------------------------------------------------------- each rule can fail


def _notebook(*cells: dict) -> dict:
    return {"cells": list(cells)}


def _code(source: str, tags: tuple[str, ...] = (), outputs: tuple = (), **meta) -> dict:
    return {
        "cell_type": "code",
        "source": source,
        "outputs": list(outputs),
        "metadata": {"tags": list(tags), **meta},
    }


def _markdown(source: str) -> dict:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def _png(width: int, dpi: float) -> str:
    """A minimal PNG header with a width and a pHYs chunk (enough for the checks)."""
    ihdr = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", width, 10)
    per_metre = round(dpi / 0.0254)
    phys = b"\x00\x00\x00\x09pHYs" + struct.pack(">II", per_metre, per_metre) + b"\x01"
    return base64.b64encode(ihdr + b"\x08\x06\x00\x00\x00" + b"\0" * 4 + phys).decode()


COLAB = (
    'import sys\n\nif "google.colab" in sys.modules:\n'
    '    REPO = "https://example.org/repo"\n'
    '    %pip install -q "nnlib-from-scratch @ git+{REPO}"'
)


def test_colab_rule() -> None:
    good = _notebook(_code(COLAB, ("remove-cell",)))
    assert colab_problems(good, "https://example.org/repo") == []
    assert colab_problems(_notebook(_code(COLAB)), "https://example.org/repo")
    unguarded = COLAB.replace('if "google.colab" in sys.modules:\n', "if True:\n")
    assert colab_problems(
        _notebook(_code(unguarded, ("remove-cell",))), "https://example.org/repo"
    )
    assert colab_problems(_notebook(_code("import nnlib", ("remove-cell",))), "x")


@pytest.mark.parametrize(
    "text",
    [
        "read /home/alice/data.zip",
        "C:\\Users\\alice\\x",
        "in the sandbox",
        "'/tmp/tmpab12/run'",
        "an offline copy of EMNIST",
        "../shared/data/emnist/emnist.zip",
    ],
)
def test_leak_rule_fails(text: str) -> None:
    stream = {"output_type": "stream", "name": "stdout", "text": text}
    assert leak_problems(_notebook(_code("print(x)", outputs=(stream,))))
    assert leak_problems(_notebook(_markdown(text)))


@pytest.mark.parametrize(
    "text",
    [
        "see https://github.com/nnlib-book/x/tmp/y",
        "~/.cache/emnist/emnist.zip",
        "a 2/3 share",
        "the ratio 784/512",
    ],
)
def test_leak_rule_passes(text: str) -> None:
    assert leak_problems(_notebook(_markdown(text))) == []


@pytest.mark.parametrize(
    "text",
    [
        "accuracy is 0.93 here",
        "about 85% of them",
        "it is 1.23x faster",
        "and 93 % recall",
    ],
)
def test_prose_number_rule_fails(text: str) -> None:
    assert prose_number_problems(_notebook(_markdown(text)))


@pytest.mark.parametrize(
    "text",
    [
        "accuracy is {glue:text}`acc:.2%` here",
        "a rate of $0.01$",
        "`lr=1e-3` and `0.5`",
        "$$\nx = 0.25\n$$",
        "784 inputs and 47 classes",
        "(see [v1.2](https://x.org/1.2))",
    ],
)
def test_prose_number_rule_passes(text: str) -> None:
    assert prose_number_problems(_notebook(_markdown(text))) == []


def test_exercise_reference_rule() -> None:
    assert exercise_reference_problems(_notebook(_markdown("see exercise 3 below")))
    ok = _notebook(_markdown("see {ref}`ex-dense-zero-init` below"))
    assert exercise_reference_problems(ok) == []


def test_code_width_rule() -> None:
    assert code_width_problems(_notebook(_code("x = 1" + " " * 84 + "# long")))
    assert code_width_problems(_notebook(_code("x = 1  # short"))) == []


def test_figure_rule() -> None:
    alt = {"mystnb": {"image": {"alt": "a plot"}}}
    good = {"output_type": "display_data", "data": {"image/png": _png(1280, 200)}}
    assert figure_problems(_notebook(_code("plt.show()", outputs=(good,), **alt))) == []
    assert figure_problems(_notebook(_code("plt.show()", outputs=(good,))))  # no alt
    wide = {"output_type": "display_data", "data": {"image/png": _png(1600, 200)}}
    assert figure_problems(_notebook(_code("plt.show()", outputs=(wide,), **alt)))
    blurry = {"output_type": "display_data", "data": {"image/png": _png(640, 100)}}
    assert figure_problems(_notebook(_code("plt.show()", outputs=(blurry,), **alt)))


def test_ignored_output_rule() -> None:
    ignored = ("nbval-ignore-output",)
    assert ignored_output_problems(_notebook(_code("t = f()\nprint(t)", ignored)))
    checked = _code("assert 0 < t < 1", ("remove-input",))
    assert ignored_output_problems(_notebook(_code("t = f()", ignored), checked)) == []
    assert ignored_output_problems(_notebook(_code("t = f()\nassert t", ignored))) == []
    prose = _markdown("The loss falls.")
    assert ignored_output_problems(_notebook(_code("t = f()", ignored), prose, checked))
    widget = _code("interact(draw, width=(1, 9))", ignored)
    assert ignored_output_problems(_notebook(widget)) == []


def test_flow_rule() -> None:
    asserts = "assert x == 1\nassert y"
    assert flow_problems(_notebook(_code(asserts)))
    assert flow_problems(_notebook(_code(asserts, ("remove-input",)))) == []
    assert flow_problems(_notebook(_code("y = f(x)\nassert y"))) == []
    listing = {"output_type": "execute_result", "data": {"text/plain": "x\n" * 40}}
    assert flow_problems(_notebook(_code("show_source(f)", outputs=(listing,))))
    assert (
        flow_problems(
            _notebook(_code("show_source(f)", ("hide-output",), outputs=(listing,)))
        )
        == []
    )

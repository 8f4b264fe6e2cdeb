"""Checks on the book's committed notebooks (structure only; nbval re-runs them).

* every non-empty code cell was executed, top to bottom, in one fresh kernel
  (execution counts are exactly 1..N in cell order);
* no cell has an error output unless it is tagged ``raises-exception``;
* cells whose output the book shows have it stored: a cell tagged
  ``nbval-ignore-output`` (nbval does not compare it, and the HTML build does not
  re-execute), a cell that calls ``plt.show()`` (an image) or ``print(`` (text). An
  executed cell with its outputs cleared would otherwise pass nbval and leave an empty
  spot in the book;
* every notebook under book/ is listed in _toc.yml, and every _toc.yml entry exists.

The helpers take paths so they can be pointed at other folders (e.g. in a scratch test).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TOC = ROOT / "_toc.yml"

SKIP_DIRS = {"_build", ".ipynb_checkpoints", "jupyter_execute"}
PAGE_SUFFIXES = (".ipynb", ".md", ".rst")


def find_notebooks(book_dir: Path = BOOK) -> list[Path]:
    """All .ipynb files under ``book_dir``, skipping build output and checkpoints."""
    if not book_dir.is_dir():
        return []
    return sorted(
        p
        for p in book_dir.rglob("*.ipynb")
        if not SKIP_DIRS.intersection(p.relative_to(book_dir).parts)
    )


def load_notebook(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def execution_problems(nb: dict) -> list[str]:
    """Problems with execution counts: unexecuted cells or counts not 1..N in order."""
    problems = []
    expected = 1
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code" or not _source(cell).strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            problems.append(f"cell {i}: not executed (execution_count is null)")
        elif count != expected:
            problems.append(f"cell {i}: execution_count {count}, expected {expected}")
        expected += 1
    return problems


def error_problems(nb: dict) -> list[str]:
    """Cells with error outputs that are not tagged ``raises-exception``."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code" or "raises-exception" in _tags(cell):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
    return problems


def missing_output_problems(nb: dict) -> list[str]:
    """Cells whose output the book shows but which have none stored (see the module
    docstring)."""
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code" or not _source(cell).strip():
            continue
        source, outputs = _source(cell), cell.get("outputs", [])
        kinds = {out.get("output_type") for out in outputs}
        # a figure, or the widget that draws figures (interact cells; their static
        # fallback figures are separate cells)
        images = any(
            {"image/png", "application/vnd.jupyter.widget-view+json"}
            & set(out.get("data", {}))
            for out in outputs
        )
        if "nbval-ignore-output" in _tags(cell) and not outputs:
            problems.append(
                f"cell {i}: tagged nbval-ignore-output but has no stored output"
            )
        if "plt.show()" in source and not images:
            problems.append(
                f"cell {i}: calls plt.show() but has no stored image or widget"
            )
        if "print(" in source and not kinds & {"stream", "error"}:
            problems.append(f"cell {i}: prints but has no stored text output")
    return problems


def toc_files(toc_path: Path = TOC) -> list[str]:
    """Every ``root``/``file`` entry in a jb-book _toc.yml, as written (no suffix)."""
    with open(toc_path, encoding="utf-8") as f:
        toc = yaml.safe_load(f)

    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def resolve_toc_entry(entry: str, root: Path = ROOT) -> Path | None:
    """The file a TOC entry points to (entries may omit the suffix), or None."""
    path = root / entry
    if path.suffix in PAGE_SUFFIXES and path.is_file():
        return path
    for suffix in PAGE_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def toc_problems(
    root: Path = ROOT, toc_path: Path = TOC, book_dir: Path = BOOK
) -> list[str]:
    problems = []
    listed = set()
    for entry in toc_files(toc_path):
        target = resolve_toc_entry(entry, root)
        if target is None:
            problems.append(f"_toc.yml entry {entry!r} has no file")
        else:
            listed.add(target.resolve())
    for nb in find_notebooks(book_dir):
        if nb.resolve() not in listed:
            problems.append(f"{nb.relative_to(root)} is not listed in _toc.yml")
    return problems


def _collect(check) -> list[str]:
    paths = find_notebooks()
    assert paths, f"no notebooks found under {BOOK}: nothing would be checked"
    problems = []
    for path in paths:
        problems += [
            f"{path.relative_to(ROOT)}: {p}" for p in check(load_notebook(path))
        ]
    return problems


def test_notebooks_executed_in_order():
    problems = _collect(execution_problems)
    assert not problems, "re-run with `jupyter execute --inplace`:\n" + "\n".join(
        problems
    )


def test_notebooks_have_no_unexpected_errors():
    problems = _collect(error_problems)
    assert not problems, (
        "error outputs (tag the cell raises-exception if meant):\n"
        + "\n".join(problems)
    )


def test_shown_outputs_are_stored():
    problems = _collect(missing_output_problems)
    assert not problems, "re-run with `jupyter execute --inplace`:\n" + "\n".join(
        problems
    )


def test_a_cleared_output_is_noticed():
    """The check above on a real chapter with one cell's outputs removed (a copy, in
    memory)."""
    nb = load_notebook(BOOK / "03_dense.ipynb")
    assert not missing_output_problems(nb)
    shown = [
        i
        for i, c in enumerate(nb["cells"])
        if c.get("cell_type") == "code" and c.get("outputs")
    ]
    checked = 0
    for i in shown:
        cleared = json.loads(json.dumps(nb))
        cleared["cells"][i]["outputs"] = []
        source = _source(cleared["cells"][i])
        if (
            "print(" in source
            or "plt.show()" in source
            or "nbval-ignore-output" in _tags(cleared["cells"][i])
        ):
            assert missing_output_problems(cleared), f"clearing cell {i} went unnoticed"
            checked += 1
    assert checked > 0, "no cell of 03_dense prints or plots: pick another chapter"


def test_every_chapter_is_found():
    """The checks in this file and in test_book_conventions.py loop over
    ``find_notebooks()``: if it found nothing (a moved book folder, a wrong skip rule),
    they would all pass, or be skipped as an empty parameter set, without checking a
    single chapter."""
    found = {p.resolve() for p in find_notebooks()}
    listed = {
        target.resolve()
        for target in map(resolve_toc_entry, toc_files())
        if target is not None and target.suffix == ".ipynb"
    }
    assert listed, "_toc.yml lists no notebook"
    assert listed <= found, f"not found: {sorted(str(p) for p in listed - found)}"


def test_toc_matches_files():
    problems = toc_problems()
    assert not problems, "\n".join(problems)

"""Tests for the installed distribution ``nnlib-from-scratch`` (import name ``nnlib``).

They read the metadata of the installed distribution (``importlib.metadata``), so they
also catch a stale install: after editing ``pyproject.toml`` or ``__version__``,
re-run ``pip install -e .`` (``pip install -r requirements.txt`` does it). What the
wheel holds, and a clean install of it, are checked by ``.ci/package_check.sh``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import nnlib
import nnlib.cli

DIST = "nnlib-from-scratch"
ROOT = Path(__file__).resolve().parents[1]

# The lower bounds the package claims (pyproject.toml), tested by .ci/oldest_deps.sh.
LOWER_BOUNDS = {
    "numpy": "1.26",
    "matplotlib": "3.7",
    "joblib": "1.2",
    "tqdm": "4.60",
}


@pytest.fixture(scope="module")
def meta() -> metadata.PackageMetadata:
    return metadata.metadata(DIST)


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def requirements(meta: metadata.PackageMetadata) -> dict[str, Requirement]:
    """The unconditional ``Requires-Dist`` entries, by name."""
    reqs = [Requirement(line) for line in meta.get_all("Requires-Dist") or []]
    return {req.name: req for req in reqs if req.marker is None}


def test_distribution_name_and_import_name(meta) -> None:
    """The distribution is not called ``nnlib`` (an unrelated project on PyPI has that
    name); the import name still is, and it is this distribution that provides it."""
    assert meta["Name"] == DIST
    assert DIST in metadata.packages_distributions()["nnlib"]
    assert Path(nnlib.__file__).parent.name == "nnlib"


def test_version_has_one_source(meta, pyproject) -> None:
    """``nnlib.__version__`` is the only place the version is written: pyproject.toml
    reads it (setuptools' dynamic version), and the installed metadata agrees."""
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "nnlib.__version__"}
    assert metadata.version(DIST) == nnlib.__version__ == meta["Version"]
    assert str(Version(nnlib.__version__)) == nnlib.__version__  # PEP 440, normalized


def test_license_summary_and_python(meta, pyproject) -> None:
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    assert meta["Summary"] == pyproject["project"]["description"]
    assert "NumPy" in meta["Summary"]
    assert meta["Requires-Python"] == ">=3.11"
    assert sys.version_info >= (3, 11)


def test_dependencies_and_their_lower_bounds(meta) -> None:
    """Exactly the four runtime dependencies, each with the lower bound that
    .ci/oldest_deps.sh tests (nothing a test or the book alone needs)."""
    reqs = requirements(meta)
    assert set(reqs) == set(LOWER_BOUNDS)
    for name, bound in LOWER_BOUNDS.items():
        specs = list(reqs[name].specifier)
        assert [(s.operator, s.version) for s in specs] == [(">=", bound)], name


def test_oldest_constraints_pin_the_lower_bounds() -> None:
    """.ci/constraints-oldest.txt installs exactly the claimed lower bounds."""
    pins = {}
    for line in (ROOT / ".ci" / "constraints-oldest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            pins[name.lower()] = version
    for name, bound in LOWER_BOUNDS.items():
        assert Version(pins[name]) == Version(bound), name


def test_console_script_is_the_command_line() -> None:
    """The ``nnlib`` command and ``python -m nnlib`` run the same ``main``."""
    (script,) = metadata.entry_points(group="console_scripts", name="nnlib")
    assert script.value == "nnlib.cli:main"
    assert script.dist is not None and script.dist.name == DIST
    assert script.load() is nnlib.cli.main


def test_console_script_and_module_print_the_same_help() -> None:
    """The same program; each names itself as it was called in its usage line."""
    name = "nnlib.exe" if sys.platform == "win32" else "nnlib"
    command = Path(sysconfig.get_path("scripts")) / name
    via_module = subprocess.run(
        [sys.executable, "-m", "nnlib", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    via_script = subprocess.run(
        [str(command), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert via_module.stdout.startswith("usage: python -m nnlib ")
    assert via_script.stdout.startswith("usage: nnlib ")
    assert "train" in via_module.stdout
    assert via_script.stdout.replace("usage: nnlib ", "usage: python -m nnlib ", 1) == (
        via_module.stdout
    )

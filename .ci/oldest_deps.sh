#!/usr/bin/env bash
# The unit tests on the OLDEST versions the package claims to work with.
#
# pyproject.toml says numpy>=1.26, matplotlib>=3.7, joblib>=1.2, tqdm>=4.60; this script
# makes those lower bounds true claims. In a fresh venv (on `python3`, or $PYTHON) it
# installs the package from this checkout with exactly those versions, plus what the
# tests need (both pinned in .ci/constraints-oldest.txt; the rest is left to pip), and
# runs the unit tests in tests/ (not the notebooks, which stay on requirements.txt's
# pins). When a test fails here, raise the bound in pyproject.toml and the pin in the
# constraints file together (tests/test_package.py checks that they agree).
#
#   bash .ci/oldest_deps.sh                    # all unit tests
#   bash .ci/oldest_deps.sh -x -k metrics      # extra arguments go to pytest
#
# Tests that need EMNIST find it as everywhere else (NNLIB_EMNIST_PATH, the emnist
# cache, the offline copy). On 2 shared cores it took 4 min 47 s (37 s to install with
# a warm pip cache, 3 min 31 s of tests) and, under heavier load, 8 min 40 s: too long
# for .ci/run. GitHub Actions runs it (.github/workflows/tests.yml, job `oldest`).
set -euo pipefail

cd "$(dirname "$0")/.."
start=$SECONDS
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$python" -m venv "$tmp/venv"
# shellcheck disable=SC1091
. "$tmp/venv/bin/activate"
python --version
pip install --quiet --constraint .ci/constraints-oldest.txt \
    --editable . pytest hypothesis scikit-learn scipy pyyaml "dask[distributed]" psutil
echo "::: installed in $((SECONDS - start)) s:"
pip list --format=freeze \
    | grep -iE '^(numpy|matplotlib|joblib|tqdm|pytest|hypothesis|scikit-learn|scipy)=='

# The versions in use are the pins (not, say, a newer numpy left on the path).
python - <<'EOF'
import importlib.metadata as metadata
import re

for line in open(".ci/constraints-oldest.txt"):
    line = line.split("#", 1)[0].strip()
    if line:
        name, pinned = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
        installed = metadata.version(name)
        assert installed == pinned, f"{name} {installed} installed, {pinned} pinned"
EOF

t0=$SECONDS
# addopts="" drops the nbval options that pyproject.toml sets for the notebooks.
pytest tests -o addopts="" -p no:nbval -p no:cacheprovider -rs "$@"
echo "::: unit tests on the oldest versions passed in $((SECONDS - t0)) s" \
    "($((SECONDS - start)) s in all)"

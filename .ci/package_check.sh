#!/usr/bin/env bash
# The distribution as a reader gets it: build, check, install alone, use.
#
#   pip install -r .ci/requirements-tools.txt     # once, in the project's venv
#   bash .ci/package_check.sh
#
# 1. `python -m build` makes the sdist and, from it, the wheel (no build isolation: the
#    pinned setuptools in the current venv builds them, so nothing is downloaded);
# 2. `twine check --strict` checks their metadata and that README.md renders;
# 3. the wheel holds the package and its metadata only (no tests, book, benchmarks,
#    .ci), every module of nnlib/ is in it, and the sdist holds only what MANIFEST.in
#    says; CITATION.cff is valid CFF 1.2.0 (the CFF schema that cffconvert ships);
# 4. a fresh venv installs the wheel alone (no requirements file: pip resolves the
#    declared dependencies), imports every module, runs `python -m nnlib --help` and the
#    `nnlib` command, and trains a tiny model on random data.
# Run from the project's venv, as .ci/run does. About a minute with a warm pip cache.
set -euo pipefail

cd "$(dirname "$0")/.."
start=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python -m build --version >/dev/null 2>&1 || {
    echo "package_check: pip install -r .ci/requirements-tools.txt first" >&2
    exit 1
}

echo "::: build"
python -m build --no-isolation --outdir "$tmp/dist" . >"$tmp/build.log" 2>&1 || {
    cat "$tmp/build.log"
    exit 1
}
ls -l "$tmp/dist"

echo "::: twine check"
twine check --strict "$tmp"/dist/*

echo "::: contents of the wheel and the sdist"
python - "$tmp/dist" <<'EOF'
import sys
import tarfile
import zipfile
from pathlib import Path

dist = Path(sys.argv[1])
(wheel,) = dist.glob("*.whl")
(sdist,) = dist.glob("*.tar.gz")
modules = {p.as_posix() for p in Path("nnlib").rglob("*.py")}  # nnlib/cli/ too
info = wheel.name.split("-py3-")[0] + ".dist-info"  # nnlib_from_scratch-VERSION

names = set(zipfile.ZipFile(wheel).namelist())
package = {n for n in names if n.startswith("nnlib/")}
meta = {n for n in names if n.startswith(info + "/")}
assert names == package | meta, f"wheel holds more: {sorted(names - package - meta)}"
assert package == modules, (
    f"wheel vs nnlib/**/*.py: missing {sorted(modules - package)}, "
    f"extra {sorted(package - modules)}"
)
expected_meta = {"METADATA", "WHEEL", "RECORD", "entry_points.txt", "top_level.txt"}
assert {n.removeprefix(info + "/") for n in meta} == expected_meta | {
    "licenses/LICENSE"
}, sorted(meta)

top = sdist.name.removesuffix(".tar.gz")
with tarfile.open(sdist) as archive:
    files = {m.name.removeprefix(top + "/") for m in archive.getmembers() if m.isfile()}
egg_info = {f for f in files if f.startswith("nnlib_from_scratch.egg-info/")}
extra = files - egg_info - modules
expected = {
    "PKG-INFO", "setup.cfg", "pyproject.toml", "MANIFEST.in",
    "README.md", "LICENSE", "CHANGELOG.md", "CITATION.cff",
}  # fmt: skip
assert extra == expected, f"sdist: extra {extra - expected}, missing {expected - extra}"
assert modules <= files, f"sdist lacks {sorted(modules - files)}"
print(f"{wheel.name}: {len(package)} modules + {len(meta)} metadata files; "
      f"{sdist.name}: {len(files)} files")
EOF

echo "::: CITATION.cff against the CFF 1.2.0 schema"
pip download --quiet --no-deps --dest "$tmp/cff" cffconvert==2.0.0
python -m zipfile -e "$tmp"/cff/cffconvert-*.whl "$tmp/cff/x"
check-jsonschema --schemafile "$tmp/cff/x/cffconvert/schemas/1.2.0/schema.json" \
    CITATION.cff

echo "::: install the wheel alone into a fresh venv"
python3 -m venv "$tmp/clean"
"$tmp/clean/bin/pip" install --quiet "$tmp"/dist/*.whl
"$tmp/clean/bin/pip" check
"$tmp/clean/bin/pip" list --format=freeze | tr '\n' ' '
echo

# Run away from the checkout, so that `import nnlib` can only find the installed copy.
cd "$tmp"
export PATH="$tmp/clean/bin:$PATH"
python -m nnlib --help >/dev/null
nnlib train --help >/dev/null
python - "$tmp/clean" <<'EOF'
import importlib
import importlib.metadata as metadata
import pkgutil
import sys

import numpy as np

import nnlib

assert nnlib.__file__.startswith(sys.argv[1]), nnlib.__file__  # the wheel's copy
assert metadata.version("nnlib-from-scratch") == nnlib.__version__
for module in pkgutil.iter_modules(nnlib.__path__):  # no undeclared dependency
    if module.name != "__main__":  # (importing it would run the command line)
        importlib.import_module(f"nnlib.{module.name}")

# A tiny model on random data: two Gaussian blobs, 2 classes.
rng = np.random.default_rng(0)
y = rng.integers(0, 2, size=400)
X = (rng.standard_normal((400, 5)) + 1.5 * y[:, None]).astype(np.float32)
model = nnlib.mlp(5, [16], 2, rng=0)
loss = nnlib.SoftmaxCrossEntropy()
history = nnlib.fit(
    model, loss, nnlib.Adam(lr=1e-2), X, y,
    epochs=10, batch_size=32, rng=0, progress=False,
)  # fmt: skip
accuracy = float(np.mean(model.predict(X) == y))
first, last = history.train_loss[0], history.train_loss[-1]
print(f"tiny model: loss {first:.3f} -> {last:.3f}, training accuracy {accuracy:.3f}")
assert last < first and accuracy > 0.9
EOF

echo "::: package check passed in $((SECONDS - start)) s"

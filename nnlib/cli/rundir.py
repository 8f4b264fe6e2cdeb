"""Run directories: what ``--out`` may hold before a command writes there, and its lock.

No command replaces a file it did not write. Before a command starts, ``prepare_out``
removes the temporary files of an interrupted save and refuses an ``--out`` holding
files of another run or command; ``run_lock`` gives the lock (``nnlib.runlock``) that
the command holds on ``--out`` while it runs, so no two processes write into one
directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._files import remove_stale_temporaries
from ..runlock import RunLock
from .parser import UsageError

CHECKPOINT = "checkpoint.npz"  # everything --resume needs, in one file


def _visible_files(directory: Path) -> list[str]:
    """The names in ``directory`` that are not hidden (the lock, temporary files)."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def _is_unstarted_run(directory: Path) -> bool:
    """Does ``directory`` hold only train's ``config.json``, nothing else of a run?

    That is what a run stopped during its first epoch leaves: no checkpoint, so
    nothing to resume, and train may start again there.
    """
    path = directory / "config.json"
    if _visible_files(directory) != ["config.json"] or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            config = json.loads(f.read(100_000))  # a config is < 1 kB: read no more
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"hidden", "optimizer", "seed"} <= set(config)


def prepare_out(args: argparse.Namespace) -> None:
    """Tidy ``--out`` and check what it holds: no command replaces others' files.

    Temporary files left by a save that was killed are removed (see ``nnlib._files``).
    ``train`` starts in a new or empty directory (or one holding only the config of
    a run stopped in its first epoch) and continues its own run with ``--resume``;
    ``evaluate`` and ``tune`` write into a new or empty directory. Hidden files (the
    lock, ``.gitignore``) don't count.
    """
    if getattr(args, "out", None) is not None and Path(args.out).is_dir():
        removed = remove_stale_temporaries(args.out)
        if removed:
            print(
                f"Removed {len(removed)} temporary file(s) left in {args.out} by a "
                "save that was interrupted"
            )
    if args.command == "train" and not args.resume:
        out = Path(args.out)
        if (out / CHECKPOINT).exists():
            raise UsageError(
                f"{out} already holds a run: use --resume to continue it or another "
                "--out"
            )
        if not _is_unstarted_run(out):
            _refuse_files(
                out,
                "train starts a run only in a new or empty directory (and continues "
                "its own with --resume)",
            )
    elif args.command == "evaluate" and args.out is not None:
        out = Path(args.out)
        _refuse_files(
            out,
            "evaluate writes report.html and metrics.json only into a new or empty "
            f"directory (e.g. {out / 'evaluation'})",
        )
    elif args.command == "tune" and args.out is not None:
        _refuse_files(
            Path(args.out),
            "tune writes results.json and tuning.png only into a new or empty "
            "directory",
        )


def _refuse_files(out: Path, rule: str) -> None:
    """Raise a ``UsageError`` naming the files in ``out``, if it holds any."""
    names = _visible_files(out)
    if names:
        held = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise UsageError(
            f"{out} is not empty (it holds {held}): {rule}; choose another --out"
        )


def run_lock(
    args: argparse.Namespace, argv: Sequence[str]
) -> contextlib.AbstractContextManager[Any]:
    """The lock of ``--out`` (see ``nnlib.runlock``), held while the command runs.

    Every command that writes into ``--out`` holds it, so no two processes write into
    one directory. ``train --resume`` on a missing directory takes none: there is
    nothing to protect, and the resume code says what is wrong.
    """
    out = getattr(args, "out", None)
    if out is not None and not out.strip():  # "" would mean the current directory
        raise UsageError("--out: must name a directory, got an empty string")
    if out is None or (getattr(args, "resume", False) and not Path(out).is_dir()):
        return contextlib.nullcontext()
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    return RunLock(out, command=f"python -m nnlib {shlex.join(argv)}")

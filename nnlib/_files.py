"""Atomic file writes: a reader (or a crash) never sees a half-written file."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    Linux reports it in /proc/self/status. Elsewhere it can only be read by setting it
    (``os.umask`` returns the previous value), which races with other threads creating files at
    that moment, so the brief placeholder is the common 0o022, never 0 (world-writable files).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _default_mode() -> int:
    """The permissions a newly created file gets: 0o666 minus the process's current umask."""
    return 0o666 & ~_current_umask()


def _mode_for(path: Path) -> int:
    """Permission bits for the new ``path``: those of the file it replaces, if any, else the default."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except FileNotFoundError:
        return _default_mode()


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file next to ``path``, then rename it to ``path``.

    The rename is atomic on POSIX and Windows, so ``path`` always holds either the previous
    complete file or the new complete file. If ``write`` fails, the temporary file is removed
    and the previous file is untouched. A replaced file keeps its permission bits; a new file
    gets the usual ones (``0o666`` minus the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp files are private (0o600): give the usual mode, or keep the replaced file's.
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """``atomic_write`` for a UTF-8 text file."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))

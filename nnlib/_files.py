"""Atomic file writes: a reader (or a crash) never sees a half-written file.

A write goes to a hidden temporary file beside the target,
``.NAME.PID-HOST.XXXXXXXX.tmp`` (the writer's process id, a hash of its host name, a
random part), which is renamed over the target when complete. A process killed during a
write (SIGKILL, a power cut) leaves its temporary file behind; the next write of the
same name, and every command of ``python -m nnlib`` when it starts, remove such files
once they are *stale*: their writer's process is gone (same host), or nothing has been
written to them for ``STALE_AFTER`` seconds. A temporary file that another process is
still writing is never removed, so two processes may write the same target at the same
time (the last rename wins, with a whole file).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: Seconds without a write after which a temporary file is abandoned, whoever wrote it.
#: A live writer touches its file at every write; a save takes seconds.
STALE_AFTER = 15 * 60


def _current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    Linux reports it in /proc/self/status. Elsewhere it can only be read by setting it
    (``os.umask`` returns the previous value), which races with other threads creating
    files at that moment, so the brief placeholder is the common 0o022, never 0
    (world-writable files).
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
    """The permissions a new file gets: 0o666 minus the process's current umask."""
    return 0o666 & ~_current_umask()


def _mode_for(path: Path) -> int:
    """Permission bits for the new ``path``: those of the file it replaces, if any,
    else the default."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except FileNotFoundError:
        return _default_mode()


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it ``path``.

    The rename is atomic on POSIX and Windows, so ``path`` always holds either the
    previous complete file or the new complete file. If ``write`` fails, the temporary
    file is removed and the previous file is untouched. A replaced file keeps its
    permission bits; a new file gets the usual ones (``0o666`` minus the umask). Stale
    temporary files of ``path`` left by killed writers are removed first (see above).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        remove_stale_temporaries(path.parent, path.name)
    except OSError:  # tidying up is a courtesy: it must not stop the save
        pass
    prefix = f".{path.name}.{os.getpid()}-{_host_tag()}."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp files are private (0o600): give the usual mode or the replaced file's.
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """``atomic_write`` for a UTF-8 text file."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _host_tag() -> str:
    """8 hex digits for this machine (a hash: no host name is written to disk)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _temporary_pattern(name: str | None) -> re.Pattern[str]:
    """Names of our temporary files for target ``name`` (None: any target).

    ``.NAME.PID-HOST.XXXXXXXX.tmp``, and ``.NAME.XXXXXXXX.tmp`` from nnlib versions that
    did not record the writer (``XXXXXXXX``: ``tempfile.mkstemp``'s random part).
    """
    target = ".+?" if name is None else re.escape(name)
    return re.compile(
        rf"\.{target}\.(?:(?P<pid>[0-9]{{1,10}})-(?P<host>[0-9a-f]{{8}})\.)?"
        r"[a-z0-9_]{8}\.tmp"
    )


def _process_is_gone(pid: int) -> bool:
    """Does no process ``pid`` run on this machine? (False when unsure.)"""
    if os.name == "nt" or not 0 < pid < 2**31:
        return False  # on Windows os.kill would terminate the process: don't ask
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, and belongs to someone else
        return False
    return False


def remove_stale_temporaries(
    directory: str | Path, name: str | None = None
) -> list[Path]:
    """Delete the stale temporary files of ``atomic_write`` in ``directory``.

    Only files named by ``atomic_write`` (for target ``name``, or for any target if
    None) are considered, and only stale ones are deleted: the process that wrote one
    is gone (and ran on this host), or it was last written ``STALE_AFTER`` seconds ago.
    Returns the paths deleted.
    """
    pattern = _temporary_pattern(name)
    now, host, removed = time.time(), _host_tag(), []
    with os.scandir(directory) as entries:
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if not match or not entry.is_file(follow_symlinks=False):
                continue
            try:
                idle = now - entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:  # its writer renamed it, or someone removed it
                continue
            pid = match["pid"]
            writer_gone = (
                pid is not None and match["host"] == host and _process_is_gone(int(pid))
            )
            if writer_gone or idle > STALE_AFTER:
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:  # another process tidied it up first
                    continue
                removed.append(Path(entry.path))
    return removed


def shown_path(path: str | Path) -> str:
    """``path`` as printed for a reader: relative to the current directory when it is
    inside it, so that no output shows where the files live on this machine."""
    path = Path(path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return str(path.relative_to(Path.cwd()))
    return str(path)

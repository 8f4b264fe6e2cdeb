"""One process per run directory: a lock held while a command writes into it.

Two ``train`` runs started on the same ``--out`` would write their files over each
other's (a config from one, the checkpoint of the other). ``RunLock`` prevents this with
a lock of the operating system on a file in the directory, ``.nnlib.lock``: the first
process gets it, every other one fails at once with ``RunDirectoryBusy``, whose message
names the holder (pid, host, command, start time).

The operating system releases the lock when the holder's process ends, however it ends
(even ``kill -9``), so a crashed run never leaves a stale lock behind. POSIX systems
use ``fcntl.flock``, Windows ``msvcrt.locking``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

LOCK_NAME = ".nnlib.lock"
# Windows locks a range against reading too: lock a byte far from the holder's note.
_WINDOWS_LOCK_OFFSET = 1 << 30

if sys.platform == "win32":  # pragma: no cover - tested on POSIX only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class RunDirectoryBusy(RuntimeError):
    """Another process holds the lock of the run directory."""


class RunLock:
    """Hold ``directory`` for this process: ``with RunLock(out, command="..."): ...``.

    Parameters
    ----------
    directory : the run directory; created if missing.
    command : what this process is doing, shown to a second process that is refused
        (e.g. the command line).

    Raises ``RunDirectoryBusy`` on entry if another process holds the directory. Not
    re-entrant: a second ``RunLock`` on the same directory in the same process is also
    refused (two commands of one program must not share a run either).
    """

    def __init__(self, directory: str | Path, *, command: str = "") -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.command = command
        self._fd: int | None = None
        self._created: list[Path] = []  # directories that acquire() made, leaf last

    def acquire(self) -> None:
        """Take the lock and write the holder's note into the lock file."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        while True:
            self._created += _make_directories(self.directory)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # a failed holder removed the empty directory
                continue
            if not _try_lock(fd):
                os.close(fd)
                raise RunDirectoryBusy(
                    f"{self.directory} is in use by {holder(self.directory)}; "
                    "wait for it to finish or choose another --out"
                )
            # The previous holder deletes the file when it lets go. If it did so between
            # our open and our lock, we hold a file no one else can open: try again.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(note) + "\n").encode("utf-8"))
        self._fd = fd

    def release(self) -> None:
        """Delete the lock file, then let go of the lock (a no-op if not held).

        Directories that ``acquire`` created and that are still empty are removed, so a
        command that fails before writing anything leaves nothing behind.
        """
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if sys.platform != "win32":  # Windows cannot delete a file that is open
                self.path.unlink(missing_ok=True)
            else:  # pragma: no cover
                _unlock(fd)
        finally:
            os.close(fd)  # closing also releases an flock
        for directory in reversed(self._created):
            try:
                directory.rmdir()
            except OSError:  # not empty (or gone): keep it, and its parents
                break
        self._created = []

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _make_directories(directory: Path) -> list[Path]:
    """``mkdir -p directory``; return the directories it created, outermost first."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:  # another process made it: not ours to remove
            continue
        created.append(path)
    return created


def _same_file(fd: int, path: Path) -> bool:
    """Is the open file ``fd`` still the file at ``path``?"""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def holder(directory: str | Path, wait: float = 1.0) -> str:
    """Describe the process holding ``directory``'s lock, from its note.

    The holder writes its note just after taking the lock, so a note read in that
    instant is still empty: read again for up to ``wait`` seconds.
    """
    path = Path(directory) / LOCK_NAME
    deadline = time.monotonic() + wait
    while True:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        if text.endswith("\n") or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    try:
        note = json.loads(text)
        return (
            f"pid {note['pid']} on {note['host']}, started {note['started']} "
            f"({note['command'] or 'no command given'})"
        )
    except (ValueError, TypeError, KeyError):
        return "another process (it has not written its details)"

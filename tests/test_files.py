"""Tests for ``nnlib._files``: temporary files of killed writers are cleaned up, and
only those (issue 13.11). Atomicity and permissions are tested in test_core_fixes.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nnlib import _files
from nnlib._files import STALE_AFTER, atomic_write_text, remove_stale_temporaries

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="writers are stopped with POSIX signals"
)


def slow_writer(path: Path) -> subprocess.Popen:
    """A process in the middle of ``atomic_write(path)``: it has written 1 MB and waits
    for a line on stdin before it finishes (writing ``b"slow"`` and renaming)."""
    code = textwrap.dedent(
        f"""
        import sys
        from nnlib._files import atomic_write

        def write(f):
            f.write(bytes(2**20))
            f.flush()
            print("writing", flush=True)
            sys.stdin.readline()
            f.seek(0)
            f.truncate()
            f.write(b"slow")

        atomic_write({str(path)!r}, write)
        """
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == "writing\n"
    return writer


def temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def dead_pid() -> int:
    """The process id of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_next_save_removes_what_a_killed_save_left(tmp_path: Path) -> None:
    """Regression (issue 13.11): SIGKILL during a save left a hidden ``.NAME.*.tmp``
    (16-23 MB for a checkpoint) that nothing ever removed."""
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(b"old")
    writer = slow_writer(target)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    [left] = temporaries(tmp_path)
    assert left.startswith(f".checkpoint.npz.{writer.pid}-")
    assert target.read_bytes() == b"old"
    atomic_write_text(target, "new")
    assert temporaries(tmp_path) == [] and target.read_text() == "new"


def test_two_processes_writing_one_file_keep_each_others_temporaries(
    tmp_path: Path,
) -> None:
    """The clean-up must not take the temporary file of a writer that is still at
    work: both saves succeed, and the file holds one of them whole."""
    target = tmp_path / "model.npz"
    writer = slow_writer(target)
    try:
        for _ in range(3):
            atomic_write_text(target, "fast")
            assert len(temporaries(tmp_path)) == 1  # the slow writer's
        assert target.read_text() == "fast"
    finally:
        assert writer.stdin is not None
        writer.stdin.write("go on\n")
        writer.stdin.close()
        assert writer.wait() == 0
    assert target.read_bytes() == b"slow" and temporaries(tmp_path) == []


def test_only_stale_temporaries_of_atomic_write_are_removed(tmp_path: Path) -> None:
    """Stale: the writer (on this host) is gone, or the file was last written more than
    STALE_AFTER seconds ago. Everything else stays: live writers (this process is one),
    other hosts' recent files, other targets, and files that are not ours."""
    here, gone = _files._host_tag(), dead_pid()
    long_ago = time.time() - STALE_AFTER - 60
    files = {
        # name: (last written long ago?, removed when cleaning up for m.npz?)
        f".m.npz.{gone}-{here}.abcd_123.tmp": (False, True),
        f".m.npz.{os.getpid()}-{here}.abcd_123.tmp": (False, False),
        f".m.npz.{os.getpid()}-{here}.efgh_456.tmp": (True, True),
        f".m.npz.{gone}-0123abcd.abcd_123.tmp": (False, False),  # another host
        ".m.npz.abcd_123.tmp": (False, False),  # an older nnlib's, writer unknown
        ".m.npz.efgh_456.tmp": (True, True),
        ".m.npz.backup.tmp": (True, False),  # not our pattern
        "m.npz.abcd_123.tmp": (True, False),  # not hidden: not ours
        ".other.npz.abcd_123.tmp": (True, False),  # another target
    }
    for name, (old, _) in files.items():
        (tmp_path / name).write_bytes(b"x")
        if old:
            os.utime(tmp_path / name, (long_ago, long_ago))
    (tmp_path / f".m.npz.{gone}-{here}.dir_1234.tmp").mkdir()  # not a file

    removed = remove_stale_temporaries(tmp_path, "m.npz")
    expected = {name for name, (_, stale) in files.items() if stale}
    assert {p.name for p in removed} == expected
    assert {p.name for p in tmp_path.iterdir()} == (
        set(files) - expected | {f".m.npz.{gone}-{here}.dir_1234.tmp"}
    )
    # Without a target name, every target's stale temporaries go.
    assert [p.name for p in remove_stale_temporaries(tmp_path)] == [
        ".other.npz.abcd_123.tmp"
    ]

"""Tests for ``nnlib.runlock``: one process per run directory, no stale locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnlib import runlock
from nnlib.runlock import LOCK_NAME, RunDirectoryBusy, RunLock

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the holder is killed with SIGKILL"
)


def hold_in_subprocess(directory: Path, command: str) -> subprocess.Popen:
    """Start a process that takes the lock, says so, then sleeps until killed."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from nnlib.runlock import RunLock
        RunLock({str(directory)!r}, command={command!r}).acquire()
        print("locked", flush=True)
        time.sleep(600)
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_a_second_process_is_refused_with_the_holders_details(tmp_path: Path) -> None:
    holder = hold_in_subprocess(tmp_path / "run", "train --out run")
    try:
        with pytest.raises(RunDirectoryBusy) as refused:
            RunLock(tmp_path / "run").acquire()
        message = str(refused.value)
        assert f"pid {holder.pid} on " in message
        assert "(train --out run)" in message and "started 20" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    """SIGKILL runs no clean-up code: the operating system must release the lock."""
    holder = hold_in_subprocess(tmp_path, "train")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / LOCK_NAME).exists()  # the file stays behind, unlocked
    with RunLock(tmp_path, command="next") as lock:
        assert f'"pid": {os.getpid()}' in lock.path.read_text()


def test_release_deletes_the_lock_file_and_lets_the_next_one_in(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        with pytest.raises(RunDirectoryBusy):  # also within one process
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    with RunLock(tmp_path):
        pass


def test_a_lock_on_a_deleted_lock_file_is_taken_again(
    tmp_path: Path, monkeypatch
) -> None:
    """Regression: the holder deletes the lock file as it lets go. A process that opened
    the file just before must not settle for a lock on the deleted file, or it would run
    beside a third process that locks the new file."""
    first = RunLock(tmp_path)
    first.acquire()
    third = RunLock(tmp_path)
    real_try_lock = runlock._try_lock

    def first_lets_go_and_third_comes_in(fd: int) -> bool:
        monkeypatch.setattr(runlock, "_try_lock", real_try_lock)
        first.release()  # deletes the file that `fd` (the second process) opened
        third.acquire()
        return real_try_lock(fd)

    monkeypatch.setattr(runlock, "_try_lock", first_lets_go_and_third_comes_in)
    try:
        with pytest.raises(RunDirectoryBusy):
            RunLock(tmp_path).acquire()
    finally:
        third.release()


def test_a_holder_that_has_not_written_its_note_is_still_named(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("")
    assert "another process" in runlock.holder(tmp_path, wait=0.05)


def test_directories_made_for_the_lock_are_removed_if_left_empty(tmp_path: Path):
    """A command that fails before writing anything must not leave its --out behind;
    a directory that existed, or that holds files, stays."""
    with RunLock(tmp_path / "runs" / "new"):
        pass
    assert list(tmp_path.iterdir()) == []
    with RunLock(tmp_path / "runs" / "new") as lock:
        (lock.directory / "model.npz").write_bytes(b"")
    assert [p.name for p in (tmp_path / "runs" / "new").iterdir()] == ["model.npz"]
    with RunLock(tmp_path):
        pass
    assert tmp_path.is_dir()

"""Tests for :mod:`nnlib._files`: atomic writes keep permissions and the umask.

Moved here from the review-history file ``test_core_fixes.py``; each failed before its
fix.
"""

from __future__ import annotations

import os
import stat

import pytest

from nnlib import _files


def test_atomic_write_does_not_change_the_umask(tmp_path, monkeypatch):
    """Setting the umask to 0 for a moment races with other threads creating files."""

    def no_umask(mask):
        raise AssertionError(f"os.umask({mask:o}) called during a write")

    monkeypatch.setattr(os, "umask", no_umask)
    _files.atomic_write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_replacing_a_file_keeps_its_permissions(tmp_path):
    """A private (0o600) file stays private after being
    rewritten, whatever the umask."""
    path = tmp_path / "secret.json"
    path.write_text("old")
    path.chmod(0o600)
    _files.atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_atomic_write_follows_a_umask_changed_after_import(tmp_path) -> None:
    """The mode of a new file follows the umask in force when it is written."""
    old = os.umask(0o077)
    try:
        _files.atomic_write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "private.txt").st_mode) == 0o600

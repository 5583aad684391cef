"""Files are written whole or not at all, and an unchanged file is left untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.errors import OrchestratorError
from orchestrator.fileio import write_atomic, write_if_changed, write_output_file


def test_write_atomic_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"
    write_atomic(target, "one")
    write_atomic(target, b"two", mode=0o640)
    assert target.read_text() == "two"
    assert (target.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(target, object())  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_write_if_changed_keeps_an_unchanged_file(tmp_path: Path) -> None:
    target = tmp_path / "override.tf.json"
    assert write_if_changed(target, "{}")
    os.utime(target, (1, 1))
    assert not write_if_changed(target, "{}")
    assert target.stat().st_mtime == 1
    assert write_if_changed(target, '{"a": 1}')


def test_an_unwritable_output_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OrchestratorError) as info:
        write_output_file(blocker / "out.json", "x", what="the report", hint="Choose a writable --out path.")
    assert "cannot write the report" in info.value.render()
    assert "Choose a writable --out path." in info.value.render()

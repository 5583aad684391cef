"""Stack locks: exclusive, naming the holder, with the documented stale rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.errors import StateLockError
from orchestrator.locks import StackLocks, process_start


def test_a_held_lock_names_its_holder_and_how_to_clear_it(tmp_path: Path) -> None:
    mine = StackLocks(tmp_path, owner="alice")
    theirs = StackLocks(tmp_path, owner="bob")
    with mine.hold("aws/net", "aws-net", "apply"), pytest.raises(StateLockError) as exc:
        theirs.acquire("aws/net", "aws-net", "plan")
    assert "apply by alice" in exc.value.message and f"pid {os.getpid()}" in exc.value.message
    assert "rm " in (exc.value.hint or "") and "aws-net.lock" in (exc.value.hint or "")
    # Released on exit: the other run gets it now.
    theirs.release("aws-net", theirs.acquire("aws/net", "aws-net", "plan"))
    assert not (tmp_path / ".orchestrate/locks/aws-net.lock").exists()


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    locks = StackLocks(tmp_path)
    path = locks.path("a")
    path.parent.mkdir(parents=True)
    record = {
        "stack": "a",
        "operation": "apply",
        "owner": "ghost",
        "pid": proc.pid,
        "host": locks.host,
        "created_at": "2024-01-01T00:00:00+00:00",
        "created_ts": time.time(),
        "pid_start": None,
    }
    path.write_text(json.dumps(record))
    got = locks.acquire("a", "a", "plan")
    assert got.pid == os.getpid()
    assert any("stale" in n and "ghost" in n for n in locks.notices)


def test_a_reused_pid_does_not_keep_a_lock_alive(tmp_path: Path) -> None:
    locks = StackLocks(tmp_path)
    start = process_start(os.getpid())
    assert start is not None
    path = locks.path("a")
    path.parent.mkdir(parents=True)
    record = {
        "stack": "a",
        "operation": "apply",
        "owner": "old",
        "pid": os.getpid(),
        "host": locks.host,
        "created_at": "x",
        "created_ts": time.time(),
        "pid_start": start - 1,
    }
    path.write_text(json.dumps(record))
    locks.acquire("a", "a", "plan")
    assert any("another process" in n for n in locks.notices)


def test_an_old_lock_from_another_host_is_stale_a_fresh_one_is_not(tmp_path: Path) -> None:
    locks = StackLocks(tmp_path, max_age=3600)
    path = locks.path("a")
    path.parent.mkdir(parents=True)
    base = {
        "stack": "a",
        "operation": "apply",
        "owner": "ci",
        "pid": 1,
        "host": "elsewhere",
        "created_at": "x",
        "pid_start": None,
    }
    path.write_text(json.dumps({**base, "created_ts": time.time() - 60}))
    with pytest.raises(StateLockError, match="ci"):
        locks.acquire("a", "a", "plan")
    path.write_text(json.dumps({**base, "created_ts": time.time() - 7200}))
    locks.acquire("a", "a", "plan")
    assert any("hours old" in n for n in locks.notices)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_fresh_lock_from_another_host_is_live_even_when_its_pid_is_dead_here(tmp_path: Path) -> None:
    # The pid means nothing on this host: a run on another CI runner still holds the stack.
    locks = StackLocks(tmp_path)
    path = locks.path("a")
    path.parent.mkdir(parents=True)
    record = {
        "stack": "a",
        "operation": "apply",
        "owner": "ci",
        "pid": dead_pid(),
        "host": "runner-7",
        "created_at": "x",
        "created_ts": time.time() - 60,
        "pid_start": None,
    }
    path.write_text(json.dumps(record))
    with pytest.raises(StateLockError, match=r"pid \d+ on runner-7"):
        locks.acquire("a", "a", "plan")
    assert json.loads(path.read_text())["host"] == "runner-7", "the foreign lock must stay"


@pytest.mark.parametrize(
    "content",
    [
        "garbage\x00\xff",
        "[1, 2]",
        "null",
        '{"stack": "a"}',
        '{"stack": "a", "operation": "apply", '
        '"owner": "x", "pid": "not-a-pid", "host": "h", "created_at": "x", "created_ts": "soon"}',
    ],
    ids=["bytes", "list", "null", "missing-fields", "wrong-types"],
)
def test_a_garbage_lock_file_is_one_clear_error_and_is_left_alone(tmp_path: Path, content: str) -> None:
    locks = StackLocks(tmp_path)
    path = locks.path("a")
    path.parent.mkdir(parents=True)
    path.write_text(content, errors="surrogateescape")
    with pytest.raises(StateLockError) as info:
        locks.acquire("a", "a", "plan")
    assert "is not a lock orchestrate wrote" in info.value.message
    assert f"rm {path}" in (info.value.hint or "")
    assert path.exists()


def test_an_empty_lock_file_left_by_a_crash_is_recovered(tmp_path: Path) -> None:
    locks = StackLocks(tmp_path)
    path = locks.path("a")
    path.parent.mkdir(parents=True)
    path.write_text("")
    os.utime(path, (time.time() - 60, time.time() - 60))
    locks.acquire("a", "a", "plan")
    assert any("unreadable" in n for n in locks.notices)

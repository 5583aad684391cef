"""Records in git notes: written on the applied commit, pushed, merged when pushes race, read back
from a fresh clone."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.envs.records import Record, StackRecord, new_id, now
from orchestrator.envs.store import NOTES_REF, RecordStore
from tests.conftest import git

pytestmark = pytest.mark.integration


def record(commit: str, stack: str = "app/dev", status: str = "applied") -> Record:
    return Record(
        id=new_id(),
        kind="apply",
        time=now(),
        commit=commit,
        result="applied",
        who="alice",
        run_by="ci",
        approval={"source": "manual", "approver": "alice"},
        pr=None,
        plan_set="ps-1",
        stacks=(StackRecord(stack, status, "dev", "app", "c" * 64),),
    )


@pytest.fixture
def remote(tmp_path: Path, make_repo: Callable[..., Path]) -> tuple[Path, Path]:
    """(bare remote, a clone with one commit pushed)."""
    work = make_repo({"README": "x\n"})
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    return bare, work


def clone(bare: Path, dest: Path) -> Path:
    git(dest.parent, "clone", "-q", str(bare), str(dest))
    return dest


def test_a_record_survives_a_fresh_clone(remote: tuple[Path, Path], tmp_path: Path) -> None:
    bare, work = remote
    head = git(work, "rev-parse", "HEAD")
    rec = record(head)
    out = RecordStore(work).write(rec)
    assert out.pushed and not out.warnings
    assert git(bare, "rev-parse", NOTES_REF)
    fresh = clone(bare, tmp_path / "fresh")
    read = RecordStore(fresh).read()
    assert [r.id for r in read.records] == [rec.id]
    assert read.records[0].stacks[0].content_hash == "c" * 64
    assert RecordStore(fresh).read(fetch=False).records  # now local too


def test_concurrent_writers_in_two_clones_are_all_kept(remote: tuple[Path, Path], tmp_path: Path) -> None:
    bare, work = remote
    head = git(work, "rev-parse", "HEAD")
    clones = [clone(bare, tmp_path / f"c{i}") for i in range(4)]
    written: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(clones))

    def one(path: Path) -> None:
        try:
            start.wait()
            for _ in range(2):
                rec = record(head, stack=f"app/{path.name}")
                res = RecordStore(path).write(rec)
                assert res.pushed, res.warnings
                written.append(rec.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(c,)) for c in clones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = RecordStore(clone(bare, tmp_path / "reader")).read().records
    assert sorted(r.id for r in got) == sorted(written)
    assert len(got) == 8


def test_concurrent_writers_in_one_clone_are_serialised(remote: tuple[Path, Path]) -> None:
    bare, work = remote
    head = git(work, "rev-parse", "HEAD")
    code = (
        "import sys; from pathlib import Path; from tests.envs.test_store import record;"
        "from orchestrator.envs.store import RecordStore;"
        "r = record(sys.argv[1]); RecordStore(Path(sys.argv[2])).write(r); print(r.id)"
    )
    procs = [
        subprocess.Popen(
            ["python", "-c", code, head, str(work)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
        )
        for _ in range(4)
    ]
    ids = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(ids)
    got = RecordStore(work).read().records
    assert sorted(r.id for r in got) == sorted(ids)
    assert git(bare, "rev-parse", NOTES_REF) == git(work, "rev-parse", NOTES_REF)


def test_without_a_remote_the_record_stays_local_with_a_warning(make_repo: Callable[..., Path]) -> None:
    work = make_repo({"README": "x\n"})
    head = git(work, "rev-parse", "HEAD")
    out = RecordStore(work).write(record(head))
    assert not out.pushed
    assert "no remote 'origin'" in out.warnings[0]
    assert len(RecordStore(work).read().records) == 1


def test_unreadable_lines_are_counted_not_trusted(remote: tuple[Path, Path]) -> None:
    _bare, work = remote
    head = git(work, "rev-parse", "HEAD")
    git(work, "notes", "--ref=orchestrate", "add", "-m", "not json", head)
    RecordStore(work).write(record(head))
    read = RecordStore(work).read()
    assert len(read.records) == 1
    assert any("not orchestrate records" in w for w in read.warnings)


def test_history_shows_no_terminal_escapes_from_a_record(
    remote: tuple[Path, Path], cli: Callable[..., Result]
) -> None:
    _bare, work = remote
    head = git(work, "rev-parse", "HEAD")
    rec = record(head)
    evil = Record(**{**rec.__dict__, "who": "mallory\x1b[2J\x1b]0;pwned\x07"})
    RecordStore(work).write(evil)
    res = cli("--repo", str(work), "history")
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout and "mallory?[2J?]0;pwned?" in res.stdout


def test_history_push_sends_records_made_without_a_remote(
    make_repo: Callable[..., Path], tmp_path: Path, cli: Callable[..., Result]
) -> None:
    work = make_repo({"README": "x\n"})
    head = git(work, "rev-parse", "HEAD")
    rec = record(head)
    assert not RecordStore(work).write(rec).pushed  # no remote yet
    bare = tmp_path / "later.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    res = cli("--repo", str(work), "history", "--push", "--format", "json")
    assert res.exit_code == 0, res.output
    assert "records pushed" in res.output
    fresh = clone(bare, tmp_path / "fresh")
    assert [r.id for r in RecordStore(fresh).read().records] == [rec.id]
    res = cli("--repo", str(make_repo({"README": "y\n"})), "history")
    assert res.exit_code == 0 and "no applies on record" in res.stdout


def test_record_pushes_never_wait_for_an_ssh_prompt(
    remote: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.envs.gitops import Repo

    _bare, work = remote
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    monkeypatch.delenv("GIT_SSH", raising=False)
    assert Repo.of(work).batch_env() == {"GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
    git(work, "config", "core.sshCommand", "ssh -i key")
    assert Repo.of(work).batch_env() == {}  # the user's own ssh command is kept
    git(work, "config", "--unset", "core.sshCommand")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -v")
    assert Repo.of(work).batch_env() == {}

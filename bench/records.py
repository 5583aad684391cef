"""How long the durable records take (prints figures).

    python bench/records.py [N]

Writes N records (default 200) through RecordStore into a clone whose origin is a local bare
repository (each write: fetch + merge notes, add the note, push), then with 4 clones writing at
once; then reads 10,000 records spread over 1,000 commits from a fresh clone (fetch + parse),
and evaluates the promotion of 500 stacks against them. Git is real; there is no network.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.envs.records import Passed, Record, StackRecord, add_line, new_id, now  # noqa: E402
from orchestrator.envs.store import NOTES_REF, RecordStore  # noqa: E402


def git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, check=True, capture_output=True, text=True
    ).stdout.strip()


def record(commit: str, i: int) -> Record:
    stacks = tuple(
        StackRecord(
            f"aws/{env}/s{i % 50}", "applied", env, f"aws/s{i % 50}", f"{i:064x}", paths=(f"stacks/{i}",)
        )
        for env in ("dev", "prod")
    )
    return Record(
        new_id(), "apply", now(), commit, "applied", "alice", "ci", {"source": "github"}, 7, "ps-x", stacks
    )


def setup(tmp: Path, commits: int) -> tuple[Path, Path, list[str]]:
    bare = tmp / "remote.git"
    work = tmp / "work"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    git(tmp, "init", "-q", "-b", "main", str(work))
    shas = []
    for i in range(commits):
        (work / "f").write_text(str(i))
        git(work, "add", "f")
        git(work, "commit", "-qm", str(i))
        shas.append(git(work, "rev-parse", "HEAD"))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    return bare, work, shas


def bench_writes(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _bare, work, shas = setup(tmp, 1)
        store = RecordStore(work)
        start = time.perf_counter()
        for i in range(n):
            store.write(record(shas[0], i))
        took = time.perf_counter() - start
        print(f"write + push, one writer: {n} records in {took:.1f} s ({1000 * took / n:.0f} ms each)")

        clones = []
        for k in range(4):
            git(tmp, "clone", "-q", str(tmp / "remote.git"), str(tmp / f"c{k}"))
            clones.append(tmp / f"c{k}")
        per = max(n // 8, 5)

        def one(path: Path) -> None:
            s = RecordStore(path)
            for i in range(per):
                assert s.write(record(shas[0], i)).pushed

        threads = [threading.Thread(target=one, args=(c,)) for c in clones]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - start
        total = len(RecordStore(work).read().records)
        print(
            f"write + push, 4 clones at once: {4 * per} records in {took:.1f} s "
            f"({1000 * took / (4 * per):.0f} ms each); on the remote afterwards: {total} (expected {n + 4 * per})"
        )


def bench_reads() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        commits = 1000
        bare, work, shas = setup(tmp, commits)
        # 10 records per commit, written straight as notes (the write path is measured above).
        lines: dict[str, str] = {}
        for i in range(10 * commits):
            sha = shas[i % commits]
            lines[sha] = add_line(lines.get(sha), record(sha, i).line())
        for sha, text in lines.items():
            blob = git(work, "hash-object", "-w", "--stdin", stdin=text)
            git(work, "notes", "--ref=orchestrate", "add", "-f", "-C", blob, sha)
        git(work, "push", "-q", "origin", f"{NOTES_REF}:{NOTES_REF}")
        fresh = tmp / "fresh"
        git(tmp, "clone", "-q", str(bare), str(fresh))
        start = time.perf_counter()
        read = RecordStore(fresh).read()
        took = time.perf_counter() - start
        print(
            f"read from a fresh clone (fetch + parse): {len(read.records)} records on {commits} commits in {took:.2f} s"
        )
        start = time.perf_counter()
        index = Passed(read.records)
        found = sum(1 for i in range(500) if index.get(f"aws/dev/s{i % 50}", f"{i:064x}") is not None)
        took = time.perf_counter() - start
        print(
            f"promotion lookups: 500 stacks against {len(read.records)} records in {1000 * took:.0f} ms ({found} passed)"
        )


if __name__ == "__main__":
    bench_writes(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    bench_reads()

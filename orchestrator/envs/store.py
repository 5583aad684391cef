"""The durable record store: git notes under refs/notes/orchestrate, pushed to the remote.

Writing adds the record's line to the applied commit's note, then pushes the notes ref. When
the remote moved (another apply pushed first) the remote's notes are fetched and merged (the
union of lines) and the push is tried again, so concurrent applies are all kept. A push that
still fails leaves the record in the local ref, and the next write or ``history`` pushes it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.envs.gitops import Repo
from orchestrator.envs.records import Record, add_line, parse_note
from orchestrator.errors import GitError

NOTES_REF = "refs/notes/orchestrate"
PUSH_ATTEMPTS = 30
MAX_BACKOFF = 2.0  # seconds; full jitter, so racing writers spread out


@dataclass
class WriteResult:
    commit: str
    pushed: bool
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReadResult:
    records: list[Record]
    warnings: list[str] = field(default_factory=list)
    fetched: bool = False


class RecordStore:
    def __init__(self, root: Path, remote: str = "origin", ref: str = NOTES_REF) -> None:
        self.repo = Repo(root, remote)
        self.ref = ref

    def _sync(self, warnings: list[str]) -> bool:
        if not self.repo.has_remote():
            return False
        try:
            return self.repo.fetch_notes(self.ref)
        except GitError as exc:
            warnings.append(f"records: {exc.message}; using this clone's records")
            return False

    def push(self, warnings: list[str]) -> bool:
        """Push the notes ref, merging the remote's first whenever it moved."""
        if not self.repo.has_remote():
            warnings.append(
                f"records: no remote '{self.repo.remote}': the record stays in this clone's {self.ref}"
            )
            return False
        for attempt in range(PUSH_ATTEMPTS):
            try:
                if self.repo.push_notes(self.ref):
                    return True
                self.repo.fetch_notes(self.ref)
            except GitError as exc:
                warnings.append(
                    f"records: {exc.message}; the record is kept in this clone's {self.ref} and pushed "
                    "by the next apply or `orchestrate history --push`"
                )
                return False
            time.sleep(random.uniform(0.0, min(MAX_BACKOFF, 0.05 * 2**attempt)))
        warnings.append(
            f"records: the remote's {self.ref} kept moving; the record is kept in this clone and pushed "
            "by the next apply or `orchestrate history --push`"
        )
        return False

    def write(self, record: Record) -> WriteResult:
        warnings: list[str] = []
        commit = self.repo.rev(record.commit)
        if commit is None:
            raise GitError(f"the applied commit {record.commit[:12]} is not in this clone")
        with self.repo.notes_lock():
            self._sync(warnings)
            note = self.repo.note(self.ref, commit)
            self.repo.set_note(self.ref, commit, add_line(note, record.line()))
            pushed = self.push(warnings)
        return WriteResult(commit, pushed, warnings)

    def read(self, *, fetch: bool = True) -> ReadResult:
        warnings: list[str] = []
        fetched = False
        if fetch:
            with self.repo.notes_lock():
                fetched = self._sync(warnings)
        records: list[Record] = []
        bad = 0
        for commit, text in self.repo.all_notes(self.ref).items():
            got, unreadable = parse_note(text, commit)
            records += got
            bad += unreadable
        if bad:
            warnings.append(f"records: {bad} line(s) in {self.ref} are not orchestrate records; ignored")
        records.sort(key=lambda r: (r.time, r.id))
        return ReadResult(records, warnings, fetched)

"""A readers-writer lock around terraform's shared plugin cache (TF_PLUGIN_CACHE_DIR).

terraform does not make the cache safe for concurrent use: ``init`` (1.4+) may reinstall a
provider package into the cache while another stack's ``plan`` is starting that provider
from it ("fork/exec ...: no such file or directory", measured with 20 parallel stacks).
So an ``init`` that may write the cache takes the lock exclusively and every other command
(an ``init`` that can only link from the cache too: terraform/providercache.py) shares it:
in-process with a writer-preferring condition (so inits are not starved), across processes
with flock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path


class PluginCacheLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    def _flock(self, mode: int) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _unflock(fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            fd = self._flock(fcntl.LOCK_SH)
            try:
                yield
            finally:
                self._unflock(fd)
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting_writers -= 1
            self._writer = True
        try:
            fd = self._flock(fcntl.LOCK_EX)
            try:
                yield
            finally:
                self._unflock(fd)
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

    def for_command(
        self, subcommand: str, writes: bool | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Exclusive for a command that may write the cache (by default ``init``), else shared."""
        exclusive = writes if writes is not None else subcommand == "init"
        return self.exclusive() if exclusive else self.shared()

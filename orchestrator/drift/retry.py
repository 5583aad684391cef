"""Retries with exponential backoff and full jitter, shared by the three cloud readers.

Each reader decides what is worth retrying (throttling, 5xx, dropped connections) and turns
SDK retries off, so every attempt is visible here, counted once and bounded the same way on
every cloud. Full jitter (a delay drawn uniformly from [0, min(cap, base * 2**n)]) spreads
concurrent readers apart, as AWS's architecture blog recommends for throttled APIs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 10  # total tries, the first included
    base: float = 0.1  # seconds
    cap: float = 4.0  # longest single wait
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0-based)."""
        return float(self.jitter()) * min(self.cap, self.base * (2.0**retry))


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    on_retry: Callable[[BaseException, int], None] | None = None,
) -> T:
    """``fn()``, retried on errors ``retryable`` accepts; the last error propagates."""
    retry = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if retry + 1 >= policy.attempts or not retryable(exc):
                raise
            if on_retry is not None:
                on_retry(exc, retry)
            policy.sleep(policy.delay(retry))
            retry += 1

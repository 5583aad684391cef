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
from typing import Literal, TypeVar

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


class AttemptBudget:
    """Whether an error is worth another try: a transient error (throttling, 5xx) while fewer
    than ``policy.attempts`` errors were seen, a dropped connection while fewer than 3 were.

    One budget per call: it counts the errors it is asked about, whatever their kind, so a
    call that hit two throttles has one connection retry left of three.
    """

    def __init__(
        self, classify: Callable[[BaseException], Literal["transient", "connect"] | None], policy: RetryPolicy
    ) -> None:
        self._classify = classify
        self._limits = {"transient": policy.attempts, "connect": min(3, policy.attempts)}
        self.errors = 0

    def __call__(self, exc: BaseException) -> bool:
        kind = self._classify(exc)
        self.errors += 1
        return kind is not None and self.errors < self._limits[kind]

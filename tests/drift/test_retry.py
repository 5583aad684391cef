"""Backoff: exponential, capped, jittered; only what the reader calls retryable is retried."""

from __future__ import annotations

import pytest

from orchestrator.drift.retry import RetryPolicy, call_with_retries


def policy(sleeps: list[float], jitter: float = 1.0, attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base=0.1, cap=0.5, sleep=sleeps.append, jitter=lambda: jitter)


def test_transient_errors_are_retried_with_exponential_capped_delays() -> None:
    sleeps: list[float] = []
    calls = iter([ValueError("503"), ValueError("503"), ValueError("503"), ValueError("503"), "ok"])

    def fn() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retries(fn, policy=policy(sleeps), retryable=lambda e: True) == "ok"
    assert sleeps == pytest.approx([0.1, 0.2, 0.4, 0.5])


def test_jitter_scales_every_delay() -> None:
    sleeps: list[float] = []
    with pytest.raises(ValueError):
        call_with_retries(
            lambda: (_ for _ in ()).throw(ValueError("x")),
            policy=policy(sleeps, jitter=0.5, attempts=3),
            retryable=lambda e: True,
        )
    assert sleeps == pytest.approx([0.05, 0.1])


def test_the_last_error_propagates_after_the_attempts() -> None:
    sleeps: list[float] = []
    seen: list[int] = []

    def fn() -> None:
        seen.append(1)
        raise TimeoutError(str(len(seen)))

    with pytest.raises(TimeoutError, match="5"):
        call_with_retries(fn, policy=policy(sleeps), retryable=lambda e: True)
    assert len(seen) == 5


def test_errors_not_retryable_are_raised_at_once() -> None:
    sleeps: list[float] = []
    with pytest.raises(PermissionError):
        call_with_retries(
            lambda: (_ for _ in ()).throw(PermissionError("denied")),
            policy=policy(sleeps),
            retryable=lambda e: not isinstance(e, PermissionError),
        )
    assert sleeps == []

"""Backoff: exponential, capped, jittered; only what the reader calls retryable is retried."""

from __future__ import annotations

from typing import Literal

import pytest

from orchestrator.drift.retry import AttemptBudget, RetryPolicy, call_with_retries


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


def _kind(exc: BaseException) -> Literal["transient", "connect"] | None:
    return "connect" if str(exc) == "reset" else "transient" if str(exc) == "503" else None


class Flaky:
    """Raises ValueError(each of ``errors``) in turn, then returns "ok"; counts its calls."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise ValueError(self.errors.pop(0))
        return "ok"


def _run(errors: list[str], attempts: int = 5) -> tuple[str, int]:
    fn, retry = Flaky(errors), policy([], attempts=attempts)
    try:
        return call_with_retries(fn, policy=retry, retryable=AttemptBudget(_kind, retry)), fn.calls
    except ValueError as exc:
        return f"raised {exc}", fn.calls


def test_the_budget_retries_transient_errors_up_to_the_policy_attempts() -> None:
    assert _run(["503"] * 4) == ("ok", 5)
    assert _run(["503"] * 5) == ("raised 503", 5)


def test_the_budget_gives_dropped_connections_three_tries_counting_every_error() -> None:
    assert _run(["reset"] * 2) == ("ok", 3)
    assert _run(["reset"] * 3) == ("raised reset", 3)
    # Two throttles already spent: the first dropped connection is the third error, the last try.
    assert _run(["503", "503", "reset"]) == ("raised reset", 3)
    assert _run(["reset", "503", "503"]) == ("ok", 4)
    assert _run(["reset"] * 3, attempts=2) == ("raised reset", 2)


def test_the_budget_never_retries_what_classify_rejects() -> None:
    assert _run(["denied"]) == ("raised denied", 1)

"""Local approval: flags, a terminal yes, or a refusal that says why (pure)."""

from __future__ import annotations

import pytest

from orchestrator.approval import manual_approval, resolve_local_approval
from orchestrator.config import ApprovalSettings
from orchestrator.errors import ApprovalRefused

ALLOW = ApprovalSettings()
DENY_MANUAL = ApprovalSettings(allow_manual=False)


def resolve(
    settings: ApprovalSettings = ALLOW,
    *,
    by: str | None = None,
    reason: str | None = None,
    tty: bool = False,
    yes: bool = True,
):  # type: ignore[no-untyped-def]
    return resolve_local_approval(
        settings, approved_by=by, reason=reason, interactive=tty, confirm=lambda: yes, user="alice"
    )


def test_flags_give_a_manual_approval() -> None:
    a = resolve(by="bob", reason="OPS-1")
    assert (a.source, a.approver, a.reason) == ("manual", "bob", "OPS-1")


def test_no_terminal_and_no_flags_is_refused_saying_how_to_approve() -> None:
    with pytest.raises(ApprovalRefused, match="no approval") as exc:
        resolve()
    assert "--approved-by" in (exc.value.hint or "")


def test_manual_approval_disabled_by_config_is_refused_even_with_flags() -> None:
    with pytest.raises(ApprovalRefused, match="allow_manual"):
        resolve(DENY_MANUAL, by="bob", reason="x")


@pytest.mark.parametrize(
    ("by", "reason", "needs"),
    [
        ("bob", None, "--reason"),
        (None, "x", "--approved-by"),
        ("  ", "x", "--approved-by"),
        ("bob", " ", "--reason"),
    ],
)
def test_half_given_flags_are_refused(by: str | None, reason: str | None, needs: str) -> None:
    with pytest.raises(ApprovalRefused, match=needs):
        manual_approval(ALLOW, by, reason)


def test_terminal_yes_approves_and_anything_else_refuses() -> None:
    assert resolve(tty=True, yes=True).source == "tty"
    with pytest.raises(ApprovalRefused, match="not confirmed"):
        resolve(tty=True, yes=False)

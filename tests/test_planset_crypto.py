"""age encryption of plan files (orchestrator.planset_crypto): interoperable with pyrage's plain
API (the age format of the ``age`` CLI and sops), clear errors that never echo a secret key."""

from __future__ import annotations

import os
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from orchestrator.config import parse_root_config
from orchestrator.engine.workdir import clean_base_env
from orchestrator.errors import ConfigError, PlanSetError
from orchestrator.planset import Encryption, Manifest, StackPlan, read_plan_json
from orchestrator.planset_crypto import (
    IDENTITY_ENV,
    encrypt_into,
    load_identities,
    plain_plan_file,
    read_stored,
    recipient_texts,
)
from orchestrator.rules import BaseRules

IDENTITY = x25519.Identity.generate()
PUBLIC = str(IDENTITY.to_public())


@pytest.fixture
def identity_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IDENTITY_ENV, str(IDENTITY))


def test_what_we_encrypt_decrypts_with_pyrage_plain_api(tmp_path: Path) -> None:
    plain = tmp_path / "plan.json"
    plain.write_bytes(b'{"variables": {"password": {"value": "hunter2"}}}')
    dest = tmp_path / "sealed"
    encrypt_into(plain, dest, [x25519.Recipient.from_str(PUBLIC)])
    data = dest.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n-> X25519 ") and b"hunter2" not in data
    assert pyrage.decrypt(data, [IDENTITY]) == plain.read_bytes()


def test_what_pyrage_encrypts_we_decrypt(tmp_path: Path, identity_env: None) -> None:
    (tmp_path / "s").mkdir()
    path = tmp_path / "s" / "plan.json"
    path.write_bytes(pyrage.encrypt(b'{"a": 1}', [IDENTITY.to_public()]))
    assert read_stored(path, encrypted=True, what="s/plan.json") == b'{"a": 1}'
    assert read_plan_json(tmp_path, "s", encrypted=True) == {"a": 1}


def test_the_identity_may_be_a_file_with_comments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "key.txt"
    other = x25519.Identity.generate()
    key.write_text(f"# created: today\n# public key: {PUBLIC}\n{other}\n{IDENTITY}\n")
    monkeypatch.setenv(IDENTITY_ENV, str(key))
    assert [str(i.to_public()) for i in load_identities()] == [str(other.to_public()), PUBLIC]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is not set"),
        ("/nonexistent/key.txt", "neither an age identity nor a readable identity file"),
        ("AGE-SECRET-KEY-1NOTAKEY", "malformed age identity"),
    ],
)
def test_a_missing_or_bad_identity_is_one_clear_error(
    value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IDENTITY_ENV, value)
    with pytest.raises(PlanSetError) as err:
        load_identities()
    assert message in err.value.message
    assert "NOTAKEY" not in str(err.value.message) + str(err.value.hint)


def test_a_wrong_identity_names_the_file_not_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = x25519.Identity.generate()
    monkeypatch.setenv(IDENTITY_ENV, str(wrong))
    path = tmp_path / "plan.tfplan"
    path.write_bytes(pyrage.encrypt(b"zip", [IDENTITY.to_public()]))
    with pytest.raises(PlanSetError) as err:
        read_stored(path, encrypted=True, what="s/plan.tfplan")
    assert "is not an identity plan.tfplan was encrypted to" in err.value.message
    assert str(wrong) not in err.value.message + (err.value.hint or "")


def test_a_file_in_the_other_form_than_the_manifest_says_is_refused(
    tmp_path: Path, identity_env: None
) -> None:
    clear, sealed = tmp_path / "clear", tmp_path / "sealed"
    clear.write_bytes(b"{}")
    sealed.write_bytes(pyrage.encrypt(b"{}", [IDENTITY.to_public()]))
    with pytest.raises(PlanSetError, match="is not encrypted but the manifest says"):
        read_stored(clear, encrypted=True, what="x")
    with pytest.raises(PlanSetError, match="is an age file but the manifest says the plan set is not"):
        read_stored(sealed, encrypted=False, what="x")
    with (
        pytest.raises(PlanSetError, match="is not encrypted but"),
        plain_plan_file(clear, tmp_path / "work", encrypted=True, what="x"),
    ):
        pass


def test_the_decrypted_plan_file_lives_in_the_work_dir_only_while_used(
    tmp_path: Path, identity_env: None
) -> None:
    sealed = tmp_path / "plan.tfplan"
    sealed.write_bytes(pyrage.encrypt(b"PK-plan", [IDENTITY.to_public()]))
    work = tmp_path / "work"
    with pytest.raises(RuntimeError), plain_plan_file(sealed, work, encrypted=True, what="x") as plain:
        assert plain.read_bytes() == b"PK-plan" and plain.is_relative_to(work)
        assert oct(plain.stat().st_mode & 0o777) == "0o600"
        raise RuntimeError("terraform failed")
    assert [p for p in work.rglob("*") if p.is_file()] == []


def test_recipients_are_checked_and_a_secret_key_is_never_echoed() -> None:
    assert recipient_texts([PUBLIC, f" {PUBLIC} "]) == [PUBLIC]
    with pytest.raises(ConfigError) as err:
        recipient_texts([str(IDENTITY)])
    assert "an age identity (a secret key) is not an age recipient" in err.value.message
    assert str(IDENTITY) not in err.value.message + (err.value.hint or "")
    with pytest.raises(ConfigError) as bad:
        parse_root_config("plan_sets:\n  encrypt_to: [age1nope]\n", "orchestrate.yaml")
    assert "'age1nope' is not an age recipient" in bad.value.message


def test_plan_sets_is_a_rule_read_from_the_base() -> None:
    base = parse_root_config(f"plan_sets:\n  encrypt_to: [{PUBLIC}]\n", "orchestrate.yaml")
    head = parse_root_config("{}\n", "orchestrate.yaml")
    judged = BaseRules("0" * 40, base, (), None).judged(head)
    assert judged.plan_sets.encrypt_to == [PUBLIC]


def test_terraform_never_gets_the_identity() -> None:
    env = clean_base_env({IDENTITY_ENV: str(IDENTITY), "PATH": os.defpath})
    assert IDENTITY_ENV not in env and env["PATH"] == os.defpath


def test_the_encryption_is_part_of_the_manifest_id() -> None:
    stack = StackPlan(stack="a", slug="a", path="stacks/a", status="no-changes")
    clear = Manifest(created_at="2026-01-01T00:00:00+00:00", orchestrate_version="0", stacks=[stack])
    sealed = clear.model_copy(update={"encryption": Encryption(recipients=[PUBLIC])})
    other = clear.model_copy(
        update={"encryption": Encryption(recipients=[str(x25519.Identity.generate().to_public())])}
    )
    assert len({clear.content_id(), sealed.content_id(), other.content_id()}) == 3
    assert "encryption" not in clear.model_dump(mode="json", exclude_none=True)
    # a manifest written before encryption existed (no such key) keeps its id
    body = clear.with_id().model_dump(mode="json", exclude={"encryption"})
    assert Manifest.model_validate(body).content_id() == body["id"]


def test_clear_files_a_killed_process_left_are_removed_by_the_next_use(
    tmp_path: Path, identity_env: None
) -> None:
    import subprocess
    import sys

    from orchestrator.planset_crypto import plain_dir

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    parent = plain_dir(tmp_path / "work")
    left = parent / f"run-{dead.stdout.strip()}-abc"  # its process is gone (kill -9)
    live = parent / f"run-{os.getpid()}-def"  # another run in progress
    for d in (left, live):
        d.mkdir()
        (d / "plan.tfplan").write_bytes(b"clear")
    sealed = tmp_path / "plan.tfplan"
    sealed.write_bytes(pyrage.encrypt(b"PK", [IDENTITY.to_public()]))
    with plain_plan_file(sealed, tmp_path / "work", encrypted=True, what="x") as plain:
        assert plain.parent.name.startswith(f"run-{os.getpid()}-")
    assert not left.exists() and (live / "plan.tfplan").is_file()

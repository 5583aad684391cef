"""Secrets at rest (issue 12 item 6): `plan --encrypt-to` / plan_sets.encrypt_to write plan.tfplan
and plan.json as age files; no file orchestrate leaves holds a planted secret in clear; apply
decrypts only into terraform's work directory, with the right identity, and cleans up."""

from __future__ import annotations

import json
import os
import signal
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from orchestrator.planset import Manifest, read_manifest
from orchestrator.planset_crypto import IDENTITY_ENV
from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

SECRET = "pl4nted-db-p4ssw0rd-7f3a"
IDENTITY = x25519.Identity.generate()
PUBLIC = str(IDENTITY.to_public())

# The password comes from the job's environment (TF_VAR_), as a CI secret would. The state
# keeps only its digest; the plan file and plan JSON keep the variable's value in clear.
DB = """
variable "db_password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" {
  input = sha256(var.db_password)
}
"""

FAILING = """
resource "null_resource" "after" {
  depends_on = [terraform_data.db]
  provisioner "local-exec" {
    command = "exit 1"
  }
}
"""


def holders(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` whose bytes, or any member of it as a zip, contain ``secret``."""
    needle = secret.encode()
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        hit = needle in data
        if not hit and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                hit = any(needle in zf.read(name) for name in zf.namelist())
        if hit:
            found.append(str(path.relative_to(root)))
    return found


def clear_leftovers(repo: Repo) -> list[str]:
    plain = repo.root / ".orchestrate" / "work" / "db" / "plain"
    return [str(p) for p in plain.rglob("*") if p.is_file()] if plain.exists() else []


def db_repo(make: Callable[..., Repo], extra: str = "", config: str = "") -> Repo:
    repo = make({"stacks/db/stack.yaml": "", "stacks/db/main.tf": DB + extra}, config)
    repo.env["TF_VAR_db_password"] = SECRET
    return repo


def approve(repo: Repo, *args: str, identity: str | None = None) -> object:
    env = {**repo.env, **({IDENTITY_ENV: identity} if identity is not None else {})}
    return repo.run(
        "--repo", str(repo.root), "--json", "apply", "--approved-by", "alice", "--reason", "r", *args, env=env
    )


def test_an_encrypted_plan_leaves_the_secret_nowhere_on_disk(newest_repo: Callable[..., Repo]) -> None:
    repo = db_repo(newest_repo)
    res = repo.orchestrate("plan", "--encrypt-to", PUBLIC)
    assert res.exit_code == 2, res.output
    plan_set = repo.latest()
    manifest = read_manifest(plan_set)
    assert manifest.encryption is not None and manifest.encryption.recipients == [PUBLIC]
    (sp,) = manifest.stacks
    assert sp.status == "changes" and sp.counts.add == 1
    for name in ("plan.tfplan", "plan.json"):
        stored = (plan_set / "db" / name).read_bytes()
        assert stored.startswith(b"age-encryption.org/v1\n")
        # the secret was there to find: the age CLI's format, decrypted with pyrage's own API
        plain = pyrage.decrypt(stored, [IDENTITY])
        assert SECRET.encode() in plain or name == "plan.tfplan"
    # the manifest's digests are of what is on disk: the ciphertext
    from orchestrator.planset import sha256_file

    assert sp.plan_sha256 == sha256_file(plan_set / "db" / "plan.tfplan")
    assert sp.plan_json_sha256 == sha256_file(plan_set / "db" / "plan.json")
    assert holders(repo.root / ".orchestrate", SECRET) == []
    assert SECRET not in res.output
    assert clear_leftovers(repo) == []


def test_without_encryption_the_same_plan_holds_the_secret(newest_repo: Callable[..., Repo]) -> None:
    """The scan above can fail: a clear plan set holds the secret in plan.tfplan and plan.json."""
    repo = db_repo(newest_repo)
    assert repo.orchestrate("plan").exit_code == 2
    found = holders(repo.latest(), SECRET)
    assert found == ["db/plan.json", "db/plan.tfplan"]
    assert read_manifest(repo.latest()).encryption is None
    # and a clear plan set applies without any identity
    res = approve(repo)
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]


def test_apply_with_the_identity_applies_and_leaves_nothing_in_clear(
    newest_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = db_repo(newest_repo, config=f"plan_sets:\n  encrypt_to: [{PUBLIC}]\n")
    assert repo.orchestrate("plan").exit_code == 2
    assert read_manifest(repo.latest()).encryption is not None  # from plan_sets.encrypt_to
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# public key: {PUBLIC}\n{IDENTITY}\n")
    res = approve(repo, identity=str(key_file))
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    state = repo.state("db")
    assert state is not None and [r["type"] for r in state["resources"]] == ["terraform_data"]
    assert clear_leftovers(repo) == []
    assert holders(repo.root / ".orchestrate", SECRET) == []
    assert str(IDENTITY) not in res.output  # type: ignore[attr-defined]


@pytest.mark.parametrize("identity", [None, str(x25519.Identity.generate())], ids=["none", "wrong"])
def test_apply_without_the_right_identity_is_refused(
    newest_repo: Callable[..., Repo], identity: str | None
) -> None:
    repo = db_repo(newest_repo)
    assert repo.orchestrate("plan", "--encrypt-to", PUBLIC).exit_code == 2
    res = approve(repo, identity=identity)
    out = res.output  # type: ignore[attr-defined]
    assert res.exit_code == 1, out  # type: ignore[attr-defined]
    assert "Traceback" not in out and "internal error" not in out
    expected = "ORCHESTRATE_AGE_IDENTITY is not set" if identity is None else "is not an identity"
    assert expected in out and "Nothing was applied" in out
    assert identity is None or identity not in out
    assert repo.state("db") is None
    assert clear_leftovers(repo) == []


def test_a_failed_apply_leaves_no_decrypted_plan(newest_repo: Callable[..., Repo]) -> None:
    repo = db_repo(newest_repo, extra=FAILING)
    assert repo.orchestrate("plan", "--encrypt-to", PUBLIC).exit_code == 2
    res = approve(repo, identity=str(IDENTITY))
    assert res.exit_code == 1, res.output  # type: ignore[attr-defined]
    (stack,) = json.loads(res.stdout)["stacks"]  # type: ignore[attr-defined]
    assert stack["status"] == "failed"
    assert clear_leftovers(repo) == []
    assert holders(repo.root / ".orchestrate", SECRET) == []


def forge(plan_set: Path, plan_file: Path) -> None:
    """What a job that ran PR code can do: put another plan file in, and recompute the
    manifest's digest and id."""
    from orchestrator.planset import sha256_file

    target = plan_set / "db" / "plan.tfplan"
    target.write_bytes(plan_file.read_bytes())
    manifest = read_manifest(plan_set)
    stacks = [s.model_copy(update={"plan_sha256": sha256_file(target)}) for s in manifest.stacks]
    forged = manifest.model_copy(update={"stacks": stacks, "id": ""}).with_id()
    body = forged.canonical()
    (plan_set / "manifest.json").write_text(json.dumps(body, indent=2))
    assert Manifest.model_validate(body).content_id() == forged.id


@pytest.mark.parametrize("manifest_says", ["encrypted", "clear"])
def test_a_plan_file_in_the_other_form_than_the_manifest_is_refused(
    newest_repo: Callable[..., Repo], tmp_path: Path, manifest_says: str
) -> None:
    repo = db_repo(newest_repo)
    assert repo.orchestrate("plan", "--encrypt-to", PUBLIC, "--out", str(tmp_path / "sealed")).exit_code == 2
    assert repo.orchestrate("plan", "--out", str(tmp_path / "clear")).exit_code == 2
    if manifest_says == "encrypted":
        target, swapped, message = (
            tmp_path / "sealed",
            tmp_path / "clear",
            "is not encrypted but the manifest",
        )
    else:
        target, swapped, message = tmp_path / "clear", tmp_path / "sealed", "is an age file but the manifest"
    forge(target, swapped / "db" / "plan.tfplan")
    res = approve(repo, "--plan-set", str(target), identity=str(IDENTITY))
    out = res.output  # type: ignore[attr-defined]
    assert res.exit_code == 1, out  # type: ignore[attr-defined]
    assert message in out and "Traceback" not in out
    assert repo.state("db") is None


UPSTREAM = 'output "name" {{ value = "{value}" }}\n'
READER = """
variable "db_password" {
  type      = string
  sensitive = true
}
data "terraform_remote_state" "up" {
  backend = "local"
  config = { path = "../../.orchestrate/state/up/terraform.tfstate" }
}
resource "terraform_data" "r" {
  input = { name = data.terraform_remote_state.up.outputs.name, pw = sha256(var.db_password) }
}
"""


def test_provisional_re_plans_and_new_plan_sets_stay_encrypted(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(
        {
            "stacks/up/stack.yaml": "",
            "stacks/up/main.tf": UPSTREAM.format(value="alpha"),
            "stacks/reader/stack.yaml": "",
            "stacks/reader/main.tf": READER,
        },
        f"plan_sets:\n  encrypt_to: [{PUBLIC}]\n",
    )
    repo.env["TF_VAR_db_password"] = SECRET
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.statuses() == {"up": "changes", "reader": "provisional"}
    # the reader re-plans under .orchestrate/runs once `up` applied; planned against no state
    # it differs from the approved plan: re-approval, and a new plan set
    res = approve(repo, identity=str(IDENTITY))
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    data = json.loads(res.stdout)  # type: ignore[attr-defined]
    runs = repo.root / ".orchestrate" / "runs"
    replans = [*runs.rglob("replan/plan.tfplan"), *runs.rglob("replan/plan.json")]
    assert sorted(p.name for p in replans) == ["plan.json", "plan.tfplan"]
    assert all(p.read_bytes().startswith(b"age-encryption.org/v1\n") for p in replans)
    new = read_manifest(Path(data["new_plan_set_dir"]))
    assert new.encryption is not None and new.encryption.recipients == [PUBLIC]
    assert holders(repo.root / ".orchestrate", SECRET) == []
    res = approve(repo, identity=str(IDENTITY))
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert holders(repo.root / ".orchestrate", SECRET) == []


DENY_DB = """package main

deny contains msg if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	"create" in rc.change.actions
	msg := concat("", [rc.address, ": no new databases"])
}
"""


def test_policies_judge_an_encrypted_plan_at_plan_apply_and_on_demand(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo({"stacks/db/stack.yaml": "", "stacks/db/main.tf": DB, "policies/db.rego": DENY_DB})
    repo.env["TF_VAR_db_password"] = SECRET
    assert repo.orchestrate("plan", "--encrypt-to", PUBLIC).exit_code == 3
    plan_set = repo.latest()
    # apply evaluates the policies on the plan JSON it derives from the decrypted plan file
    res = approve(repo, identity=str(IDENTITY))
    out = res.output  # type: ignore[attr-defined]
    assert res.exit_code == 3, out  # type: ignore[attr-defined]
    assert "policies deny this plan set (db)" in out and repo.state("db") is None
    # `orchestrate policy --plan-set` reads plan.json: decrypted in memory with the identity
    env = {**repo.env, IDENTITY_ENV: str(IDENTITY)}
    found = repo.run("--repo", str(repo.root), "policy", "--plan-set", str(plan_set), env=env)
    assert found.exit_code == 3 and "no new databases" in found.output, found.output
    refused = repo.orchestrate("policy", "--plan-set", str(plan_set))
    assert refused.exit_code == 1 and f"{IDENTITY_ENV} is not set" in refused.output
    assert "Traceback" not in refused.output
    assert holders(repo.root / ".orchestrate", SECRET) == []


def test_sigterm_during_an_encrypted_apply_leaves_no_decrypted_plan(newest_repo: Callable[..., Repo]) -> None:
    from tests.engine.test_faults import FILES, kill_quietly, start, wait_for_sleep

    repo = newest_repo({k: v for k, v in FILES.items() if k.startswith(("stacks/slow", ".gitignore"))})
    assert repo.orchestrate("plan", "--encrypt-to", PUBLIC).exit_code == 2
    (repo.root / "slow.marker").write_text("")
    repo.env[IDENTITY_ENV] = str(IDENTITY)
    proc = start(repo, "apply", "--approved-by", "alice", "--reason", "terminate")
    _, sleeps = wait_for_sleep(proc)
    plain = repo.root / ".orchestrate" / "work" / "slow" / "plain"
    try:
        assert [p.name for p in plain.rglob("*") if p.is_file()] == ["plan.tfplan"]  # in use
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_quietly(sleeps)
    assert proc.returncode == 130, err
    assert [p for p in plain.rglob("*") if p.is_file()] == []


def test_encrypted_shards_merge_into_one_encrypted_plan_set_that_applies(
    newest_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = newest_repo(
        {
            "stacks/db/stack.yaml": "",
            "stacks/db/main.tf": DB,
            "stacks/web/stack.yaml": "",
            "stacks/web/main.tf": 'resource "null_resource" "w" {}\n',
        }
    )
    repo.env["TF_VAR_db_password"] = SECRET
    parts = [tmp_path / "s1", tmp_path / "s2"]
    for i, part in enumerate(parts, start=1):
        res = repo.orchestrate("plan", "--shard", f"{i}/2", "--encrypt-to", PUBLIC, "--out", str(part))
        assert res.exit_code == 2, res.output
    clear = tmp_path / "clear"
    assert repo.orchestrate("plan", "--shard", "2/2", "--out", str(clear)).exit_code == 2
    mixed = repo.orchestrate("planset", "merge", str(parts[0]), str(clear), "--out", str(tmp_path / "x"))
    assert mixed.exit_code == 1 and "differ in encryption" in mixed.output
    merged = tmp_path / "merged"
    res = repo.orchestrate("planset", "merge", *map(str, parts), "--out", str(merged))
    assert res.exit_code == 2, res.output
    manifest = read_manifest(merged)
    assert manifest.encryption is not None and manifest.encryption.recipients == [PUBLIC]
    assert sorted(s.stack for s in manifest.stacks) == ["db", "web"]
    assert holders(merged, SECRET) == [] and holders(repo.root / ".orchestrate", SECRET) == []
    res = approve(repo, "--plan-set", str(merged), identity=str(IDENTITY))
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert repo.state("db") is not None and repo.state("web") is not None

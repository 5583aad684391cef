"""State v4 parsing and local reads: addresses, instances, sensitivity, and every way a state is bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.backends import EffectiveBackend
from orchestrator.drift.state import (
    StateError,
    StateNotFound,
    locate,
    parse_state,
    read_state,
    unflatten,
    values_at,
)
from tests.drift import statefiles as sf


def doc(*instances: sf.Instance, **kwargs: object) -> str:
    return json.dumps(sf.state_document(list(instances), **kwargs))  # type: ignore[arg-type]


def test_addresses_cover_modules_count_and_for_each() -> None:
    text = doc(
        sf.Instance("aws_s3_bucket", "this", {"id": "a"}, module="module.assets"),
        sf.Instance("aws_sqs_queue", "q", {"id": "u0"}, index_key=0),
        sf.Instance("aws_sqs_queue", "q", {"id": "u1"}, index_key=1),
        sf.Instance("aws_iam_role", "r", {"id": "dev"}, index_key="dev", module='module.env["eu.west"]'),
    )
    state = parse_state(text, "s")
    assert [r.address for r in state.resources] == [
        "module.assets.aws_s3_bucket.this",
        "aws_sqs_queue.q[0]",
        "aws_sqs_queue.q[1]",
        'module.env["eu.west"].aws_iam_role.r["dev"]',
    ]
    role = state.resources[-1]
    assert (role.module, role.name, role.index_key, role.id, role.name_with_index) == (
        'module.env["eu.west"]',
        "r",
        "dev",
        "dev",
        'r["dev"]',
    )


def test_data_sources_and_deposed_objects_are_left_out_and_schema_version_kept() -> None:
    data = json.loads(doc(sf.Instance("aws_vpc", "main", {"id": "vpc-1"}, schema_version=1)))
    data["resources"].append(
        {
            "mode": "data",
            "type": "aws_caller_identity",
            "name": "me",
            "provider": "p",
            "instances": [{"attributes": {"id": "1"}}],
        }
    )
    data["resources"][0]["instances"].append(
        {"deposed": "00000001", "schema_version": 1, "attributes": {"id": "vpc-old"}}
    )
    state = parse_state(json.dumps(data), "s")
    assert [(r.address, r.id, r.schema_version) for r in state.resources] == [("aws_vpc.main", "vpc-1", 1)]
    assert state.serial == 3
    assert state.terraform_version == "1.11.4"


def test_sensitive_attribute_values_and_sensitive_outputs_become_secrets() -> None:
    attrs = {"id": "x", "password": "hunter2-very-secret", "nested": [{"token": "tok-12345"}], "short": "ab"}
    inst = sf.Instance(
        "aws_db_instance",
        "db",
        attrs,
        sensitive_attributes=[
            [{"type": "get_attr", "value": "password"}],
            [
                {"type": "get_attr", "value": "nested"},
                {"type": "index", "value": {"value": 0, "type": "number"}},
            ],
            [{"type": "get_attr", "value": "short"}],
        ],
    )
    state = parse_state(
        doc(
            inst,
            outputs={"dsn": {"value": "postgres://u:pw-998877@h/db", "type": "string", "sensitive": True}},
        ),
        "s",
    )
    assert state.secrets == {"hunter2-very-secret", "tok-12345", "postgres://u:pw-998877@h/db"}
    assert state.resources[0].sensitive_paths == (("password",), ("nested", 0), ("short",))


def test_dynamic_values_terraform_data_wraps_are_found() -> None:
    attrs = {"input": {"value": {"password": "s3cr3t-pass"}, "type": ["object", {"password": "string"}]}}
    assert values_at(attrs, ("input", "password")) == ["s3cr3t-pass"]
    assert values_at(attrs, ("input", "missing")) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 4, "resources": [', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"version": 3, "modules": []}', "unsupported state format version 3"),
        ('{"version": 4, "resources": [{"mode": "managed", "name": "x"}]}', "resources[0].type is missing"),
        (
            '{"version": 4, "resources": [{"type": "t", "name": "x", "instances": [{"attributes": [1]}]}]}',
            "resources[0].instances[0].attributes is a list, expected an object",
        ),
        (
            '{"version": 4, "resources": [{"type": "t", "name": "x", "instances": [{"attributes_flat": "x"}]}]}',
            "resources[0].instances[0].attributes_flat is a string, expected an object",
        ),
        (
            '{"version": 4, "resources": [{"type": "t", "name": "x", "instances": [{"attributes": {}, "sensitive_attributes": [[{"type": "?"}]]}]}]}',
            "unknown path step",
        ),
    ],
)
def test_corrupt_states_are_errors_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(StateError) as err:
        parse_state(text, "aws/storage")
    assert not isinstance(err.value, StateNotFound)
    assert message in err.value.message
    assert err.value.where == "aws/storage"
    assert err.value.hint


def test_an_empty_state_file_is_an_error_not_never_applied() -> None:
    # terraform never writes an empty state; a truncated one still stands for live resources.
    with pytest.raises(StateError, match="empty") as err:
        parse_state("  \n", "s")
    assert not isinstance(err.value, StateNotFound)


def test_binary_garbage_is_an_error_not_a_crash() -> None:
    with pytest.raises(StateError, match="not UTF-8"):
        parse_state(b"\xff\xfe\x00garbage", "s")


def test_local_state_paths_resolve_like_terraform(tmp_path: Path) -> None:
    repo, stack_dir = tmp_path / "repo", tmp_path / "repo" / "stacks" / "a"
    stack_dir.mkdir(parents=True)
    default = locate(
        EffectiveBackend("local", {"path": ".orchestrate/state/a/terraform.tfstate"}, "default"),
        stack_dir,
        repo,
    )
    declared = locate(EffectiveBackend("local", {"path": "state/t.tfstate"}, "terraform"), stack_dir, repo)
    assert default.local_path() == repo / ".orchestrate/state/a/terraform.tfstate"
    assert declared.local_path() == stack_dir / "state/t.tfstate"
    with pytest.raises(StateNotFound, match="has not been applied"):
        read_state(default, "a")
    sf.write_state(default.local_path(), [sf.Instance("aws_vpc", "v", {"id": "vpc-1"})])
    assert [r.id for r in read_state(default, "a").resources] == ["vpc-1"]


def test_other_backends_need_terraform_state_pull(tmp_path: Path) -> None:
    gcs = locate(EffectiveBackend("gcs", {"bucket": "b", "prefix": "p"}, "terraform"), tmp_path, tmp_path)
    assert not gcs.direct
    with pytest.raises(StateError, match="terraform state pull"):
        read_state(gcs, "g")
    pulled = read_state(gcs, "g", pull=lambda: doc(sf.Instance("google_folder", "f", {"id": "folders/1"})))
    assert [r.address for r in pulled.resources] == ["google_folder.f"]
    with pytest.raises(StateNotFound):
        read_state(gcs, "g", pull=lambda: "")


# ---------------------------------------------------------------- issue 14 bugs 5 and 11


def test_bug5_a_sensitive_dynamic_value_puts_its_value_not_its_type_on_the_secret_list() -> None:
    text = doc(
        sf.Instance(
            "terraform_data",
            "conn",
            {"id": "x", "input": {"value": "s3cr3t-passw0rd", "type": "string"}},
            sensitive_attributes=[[{"type": "get_attr", "value": "input"}]],
        )
    )
    secrets = parse_state(text, "s").secrets
    assert "s3cr3t-passw0rd" in secrets
    assert "string" not in secrets


def test_bug11_legacy_attributes_flat_are_read() -> None:
    data = sf.state_document([sf.Instance("aws_s3_bucket", "b", {})])
    inst = data["resources"][0]["instances"][0]
    del inst["attributes"]
    inst["attributes_flat"] = {
        "id": "logs",
        "tags.%": "1",
        "tags.Name": "logs",
        "cors.#": "2",
        "cors.0": "a",
        "cors.1": "b",
    }
    (res,) = parse_state(json.dumps(data), "s").resources
    assert res.id == "logs"
    assert res.attributes["tags"] == {"Name": "logs"}
    assert res.attributes["cors"] == ["a", "b"]


def test_bug11_an_opentofu_encrypted_state_is_named_and_pulled_through_tofu(tmp_path: Path) -> None:
    encrypted = {
        "serial": 1,
        "lineage": "l",
        "meta": {"key_provider.pbkdf2.k": "e30="},
        "encrypted_data": "AAAA",
        "encryption_version": "v0",
    }
    with pytest.raises(StateError, match="encrypted with OpenTofu state encryption"):
        parse_state(json.dumps(encrypted), "s")
    (tmp_path / "terraform.tfstate").write_text(json.dumps(encrypted))
    location = locate(EffectiveBackend("local", {}, "terraform"), tmp_path, tmp_path)
    with pytest.raises(StateError, match="encrypted"):
        read_state(location, "s")
    plain = doc(sf.Instance("aws_s3_bucket", "b", {"id": "b"}))
    assert read_state(location, "s", pull=lambda: plain).resources[0].id == "b"


def test_flat_attributes_where_a_key_is_both_a_value_and_a_prefix_do_not_crash() -> None:
    # "a" is a value and "a.b.%" counts a map under it: typed, this was an AttributeError
    # (str.setdefault) that escaped as an internal error.
    assert unflatten({"a": "x", "a.b.%": "1", "a.b.c": "y", "n.#": "1", "n.0": "22"}) == {
        "a": "x",
        "n": ["22"],
    }
    doc = {
        "version": 4,
        "resources": [{"type": "t", "name": "x", "instances": [{"attributes_flat": {"#": "1", "0": "v"}}]}],
    }
    collide = {"attributes_flat": {"id": "i-1", "a": "x", "a.b.%": "1"}}
    state = parse_state(
        json.dumps({"version": 4, "resources": [{"type": "t", "name": "x", "instances": [collide]}]}), "s"
    )
    assert state.resources[0].attributes == {"id": "i-1", "a": "x"}
    with pytest.raises(StateError, match="attributes_flat is a list, not an object"):
        parse_state(json.dumps(doc), "aws/storage")

"""Pure parts of the emulated clouds: rule matching, labels, tags, errors, the mirror's files."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from orchestrate_emulate.mirror import build, cli_config_text, platform_dir
from orchestrate_emulate.providers import STAND_INS
from orchestrate_emulate.providers._runtime import _cert_cache_path, describe_error, merge_tags, own_tags
from orchestrate_emulate.providers.aws.ec2 import _atoms, _flatten, _permissions
from orchestrate_emulate.providers.google import api_root
from orchestrate_emulate.providers.google.project import plan_labels, read_labels


def test_security_group_rules_match_by_meaning_and_keep_the_configured_spelling() -> None:
    configured = [
        {"from_port": 443, "to_port": 443, "protocol": "6", "cidr_blocks": ["10.0.0.0/8"], "description": ""},
        {"from_port": 0, "to_port": 0, "protocol": "all", "cidr_blocks": ["0.0.0.0/0"], "description": None},
    ]
    live = _permissions(_atoms(configured))
    assert {p["IpProtocol"] for p in live} == {"tcp", "-1"}
    assert all("FromPort" not in p for p in live if p["IpProtocol"] == "-1")
    assert _flatten(live, configured) == [configured[1], configured[0]]  # sorted: "-1" before "tcp"
    # A rule added out of band comes back in canonical form, next to the configured ones.
    live.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    extra = [r for r in _flatten(live, configured) if r not in configured]
    assert extra == [
        {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "description": None}
    ]


def test_rules_with_one_description_share_a_block_and_different_ones_do_not() -> None:
    live = [
        {
            "IpProtocol": "tcp",
            "FromPort": 80,
            "ToPort": 80,
            "IpRanges": [
                {"CidrIp": "10.0.0.0/8", "Description": "a"},
                {"CidrIp": "10.1.0.0/16", "Description": "a"},
                {"CidrIp": "10.2.0.0/16", "Description": "b"},
            ],
        }
    ]
    rules = _flatten(live, None)
    assert [(r["description"], r["cidr_blocks"]) for r in rules] == [
        ("a", ["10.0.0.0/8", "10.1.0.0/16"]),
        ("b", ["10.2.0.0/16"]),
    ]


def test_tags_all_merges_default_tags_and_reads_keep_only_the_resources_own() -> None:
    assert merge_tags({"team": "a", "env": "x"}, {"env": "dev"}) == {"team": "a", "env": "dev"}
    assert merge_tags(None, None) == {}
    assert own_tags({"team": "a", "env": "dev"}, {"team": "a"}, {"env": "dev"}) == {"env": "dev"}
    assert own_tags({}, {}, None) is None  # no tags configured, none live: stays null
    assert own_tags({"x": "1"}, {}, None) == {"x": "1"}  # a tag added out of band shows as drift


def test_google_labels_follow_the_5x_provider() -> None:
    planned = plan_labels({"managed_by": "tf"}, None, {"labels": {"env": "dev"}})
    assert planned["terraform_labels"] == planned["effective_labels"] == {"managed_by": "tf", "env": "dev"}
    current = {
        "labels": {"env": "dev"},
        "terraform_labels": {"managed_by": "tf", "env": "dev"},
        "effective_labels": {"managed_by": "tf", "env": "dev", "outside": "1"},
    }
    updated = plan_labels({"managed_by": "tf"}, current, {"labels": {"env": "prod"}})
    assert updated["effective_labels"] == {"managed_by": "tf", "env": "prod", "outside": "1"}
    read = read_labels({"managed_by": "tf", "env": "hacked", "outside": "1"}, current)
    assert read == {
        "labels": {"env": "hacked"},
        "terraform_labels": {"managed_by": "tf", "env": "hacked"},
        "effective_labels": {"managed_by": "tf", "env": "hacked", "outside": "1"},
    }


def test_sdk_errors_read_as_one_line() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    err = ClientError({"Error": {"Code": "BucketAlreadyExists", "Message": "taken"}}, "CreateBucket")
    assert describe_error(err) == "BucketAlreadyExists: taken"
    assert "orchestrate emulate up" in describe_error(
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    )
    import requests
    from azure.core.exceptions import ServiceRequestError
    from google.api_core.exceptions import NotFound

    for down in (requests.ConnectionError("refused"), ServiceRequestError("refused")):
        assert describe_error(down).endswith("(is the emulated cloud running? `orchestrate emulate up`)")

    assert describe_error(NotFound("no such project")) == "NotFound: no such project"


def test_api_root_drops_version_paths() -> None:
    assert api_root("http://127.0.0.1:9/v1/") == "http://127.0.0.1:9"
    assert api_root("http://127.0.0.1:9/v3") == "http://127.0.0.1:9"
    assert api_root("http://127.0.0.1:9") == "http://127.0.0.1:9"


def test_certificate_cache_falls_back_when_home_is_unusable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ORCHESTRATE_EMULATE_CACHE", raising=False)
    monkeypatch.setenv("HOME", "/dev/null/home")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    path = _cert_cache_path()
    assert path.parent == tmp_path / f"orchestrate-emulate-{os.getuid()}"
    monkeypatch.setenv("ORCHESTRATE_EMULATE_CACHE", str(tmp_path / "mine"))
    assert _cert_cache_path() == tmp_path / "mine" / "ssl_cert.json"


def test_mirror_holds_an_executable_launcher_per_provider_and_rebuilds_idempotently(tmp_path: Path) -> None:
    m = build(tmp_path / "e", python="/opt/py/bin/python3")
    for s in STAND_INS:
        launcher = (
            m.root
            / "registry.terraform.io/hashicorp"
            / s.name
            / s.version
            / platform_dir()
            / f"terraform-provider-{s.name}_v{s.version}"
        )
        assert launcher.stat().st_mode & stat.S_IXUSR
        text = launcher.read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f'exec /opt/py/bin/python3 -m {s.module} "$@"' in text
    before = {p: p.stat().st_mtime_ns for p in m.root.rglob("*") if p.is_file()}
    build(tmp_path / "e", python="/opt/py/bin/python3")
    assert {
        p: p.stat().st_mtime_ns for p in m.root.rglob("*") if p.is_file()
    } == before  # lock file hashes stay


def test_cli_config_is_valid_for_terraform(tmp_path: Path, newest_terraform: object) -> None:
    text = cli_config_text(tmp_path / 'we"ird ${dir}', (tmp_path / "other",))
    assert 'path    = "' in text and "$${dir}" in text and '\\"' in text
    config = tmp_path / "rc"
    config.write_text(text)
    work = tmp_path / "w"
    work.mkdir()
    (work / "main.tf").write_text('output "x" { value = 1 }\n')
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
    }
    proc = subprocess.run(
        [newest_terraform.path, "init", "-no-color"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # type: ignore[attr-defined]
    )
    assert proc.returncode == 0, proc.stderr
    assert "Invalid" not in proc.stderr


def test_a_cached_certificate_is_reused_without_importing_cryptography(tmp_path: Path) -> None:
    import json
    import sys

    probe = (
        "import sys\n"
        "from orchestrate_emulate.providers._runtime import _ORIGINAL_CERT, _cached_cert, _cert_cache_path\n"
        "from tf import runner\n"
        "runner._get_cert_cache_path = _cert_cache_path  # as serve() does\n"
        "_ORIGINAL_CERT['fn'] = runner._self_signed_cert\n"
        "chain, creds = _cached_cert()\n"
        "print(len(chain) > 100, 'cryptography.x509' in sys.modules)\n"
    )
    env = {**os.environ, "ORCHESTRATE_EMULATE_CACHE": str(tmp_path)}

    def run() -> str:
        out = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert run() == "True True"  # first start: made and parsed once
    assert "not_after" in json.loads((tmp_path / "ssl_cert.json").read_text())
    assert run() == "True False"  # later starts: no cryptography at all
    (tmp_path / "ssl_cert.json").write_text("{corrupt")
    assert run() == "True True"  # a corrupt cache is replaced
    assert run() == "True False"

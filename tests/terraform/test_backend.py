"""Backend settings per stack and terraform version (pure)."""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest

from orchestrator.backends import EffectiveBackend
from orchestrator.terraform.backend import (
    OVERRIDE_FILE,
    BackendSetup,
    backend_setup,
    override_json,
    render_hcl,
    sync_override,
)

S3 = EffectiveBackend(
    "s3", {"bucket": "tfstate", "key": "a/terraform.tfstate", "region": "eu-west-1"}, "template"
)


def test_default_local_state_is_made_absolute_under_the_repository() -> None:
    eb = EffectiveBackend("local", {"path": ".orchestrate/state/a/terraform.tfstate"}, "default")
    setup = backend_setup(eb, root=Path("/repo"), s3_endpoint=None, new_style_s3=True, declared_in_code=False)
    assert setup.settings == {"path": "/repo/.orchestrate/state/a/terraform.tfstate"}
    assert setup.override


def test_s3_endpoint_for_terraform_1_0_to_1_5_uses_endpoint_and_force_path_style() -> None:
    s = backend_setup(
        S3, root=Path("/r"), s3_endpoint="http://127.0.0.1:5000", new_style_s3=False, declared_in_code=False
    ).settings
    assert s["endpoint"] == s["dynamodb_endpoint"] == "http://127.0.0.1:5000"
    assert s["force_path_style"] is True and s["skip_credentials_validation"] is True
    assert "endpoints" not in s and "use_path_style" not in s and "skip_requesting_account_id" not in s


def test_s3_endpoint_for_terraform_1_6_and_later_uses_endpoints_block() -> None:
    s = backend_setup(
        S3, root=Path("/r"), s3_endpoint="http://127.0.0.1:5000", new_style_s3=True, declared_in_code=False
    ).settings
    assert s["endpoints"]["s3"] == s["endpoints"]["dynamodb"] == "http://127.0.0.1:5000"
    assert s["use_path_style"] is True and s["skip_requesting_account_id"] is True
    assert "endpoint" not in s and "force_path_style" not in s


def test_a_backend_declared_in_code_is_kept_and_gets_no_override() -> None:
    eb = EffectiveBackend("s3", {"bucket": "b", "key": "k"}, "terraform")
    setup = backend_setup(eb, root=Path("/r"), s3_endpoint=None, new_style_s3=True, declared_in_code=True)
    assert setup.settings == {} and not setup.override


def test_an_endpoint_the_user_configured_is_not_overridden() -> None:
    eb = EffectiveBackend("s3", {**S3.config, "endpoint": "https://s3.internal"}, "template")
    s = backend_setup(
        eb, root=Path("/r"), s3_endpoint="http://127.0.0.1:1", new_style_s3=False, declared_in_code=False
    ).settings
    assert s["endpoint"] == "https://s3.internal" and "force_path_style" not in s


def test_rendered_backend_config_is_valid_hcl_with_nested_maps_and_escapes() -> None:
    settings = {
        "bucket": "b",
        "key": "x/${literal}/y",
        "endpoints": {"s3": "http://h:1"},
        "use_path_style": True,
        "n": 3,
    }
    opts = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    parsed = hcl2.loads(render_hcl(settings), serialization_options=opts)
    assert parsed["bucket"] == "b" and parsed["use_path_style"] is True and parsed["n"] == 3
    assert parsed["endpoints"]["s3"] == "http://h:1"
    assert "$${literal}" in render_hcl(settings)


def test_override_file_is_written_and_removed_only_when_it_is_ours(tmp_path: Path) -> None:
    setup = BackendSetup("local", {}, override=True, source="default")
    sync_override(tmp_path, setup)
    assert (tmp_path / OVERRIDE_FILE).read_text() == override_json("local")
    sync_override(tmp_path, BackendSetup("s3", {}, override=False, source="terraform"))
    assert not (tmp_path / OVERRIDE_FILE).exists()
    (tmp_path / OVERRIDE_FILE).write_text('{"terraform": {}}')  # the user's own file
    sync_override(tmp_path, BackendSetup("s3", {}, override=False, source="terraform"))
    assert (tmp_path / OVERRIDE_FILE).exists()


@pytest.mark.parametrize("value", [object()])
def test_unrenderable_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        render_hcl({"x": value})

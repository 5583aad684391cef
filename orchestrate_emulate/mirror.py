"""The provider mirror and CLI config that make Terraform install the stand-in providers.

Layout (a filesystem mirror in Terraform's "unpacked" form)::

    <dir>/mirror/registry.terraform.io/hashicorp/aws/5.0.0/linux_amd64/terraform-provider-aws_v5.0.0
    <dir>/terraformrc

Each provider file is a launcher script that runs the stand-in with this Python. The CLI config
installs hashicorp/aws, google and azurerm from the mirror only, any other provider as before
(direct, or extra filesystem mirrors given to :func:`build`).
"""

from __future__ import annotations

import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrate_emulate._fileio import write_if_changed
from orchestrate_emulate.providers import HOST_NAMESPACE, STAND_INS, StandIn


def platform_dir() -> str:
    """Terraform's name for this OS and architecture: linux_amd64, darwin_arm64, ..."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.replace('win32', 'windows')}_{arch}"


@dataclass(frozen=True)
class Mirror:
    root: Path  # the filesystem mirror directory
    cli_config: Path  # point TF_CLI_CONFIG_FILE here
    cache: Path  # the providers' private cache (TLS certificate)

    def env(self) -> dict[str, str]:
        return {"TF_CLI_CONFIG_FILE": str(self.cli_config)}


def _launcher(stand_in: StandIn, python: str, cache: Path, zygote: tuple[Path, Path] | None) -> str:
    q = shlex.quote
    lines = [
        "#!/bin/sh",
        f"# Stand-in {HOST_NAMESPACE}/{stand_in.name} for the emulated clouds (orchestrate emulate).",
        f"ORCHESTRATE_EMULATE_CACHE={q(str(cache))}",
        "export ORCHESTRATE_EMULATE_CACHE",
    ]
    if zygote is not None:
        socket_path, client = zygote
        lines += [
            "# A warm zygote forks the provider when `orchestrate emulate up` runs one (fast starts).",
            f"if [ -S {q(str(socket_path))} ]; then",
            f"  exec {q(python)} -S -E {q(str(client))} {q(str(socket_path))} {stand_in.name} {q(python)} "
            f'{stand_in.module} "$@"',
            "fi",
        ]
    lines.append(f'exec {q(python)} -m {stand_in.module} "$@"')
    return "\n".join(lines) + "\n"


def cli_config_text(mirror: Path, extra_mirrors: tuple[Path, ...] = ()) -> str:
    names = ", ".join(f'"{HOST_NAMESPACE}/{s.name}"' for s in STAND_INS)
    lines = [
        "# Written by `orchestrate emulate up`: stand-in providers for the emulated clouds.",
        "provider_installation {",
        "  filesystem_mirror {",
        f"    path    = {_hcl_string(str(mirror))}",
        f"    include = [{names}]",
        "  }",
    ]
    for extra in extra_mirrors:
        lines += [
            "  filesystem_mirror {",
            f"    path    = {_hcl_string(str(extra))}",
            f"    exclude = [{names}]",
            "  }",
        ]
    lines += ["  direct {", f"    exclude = [{names}]", "  }", "}", ""]
    return "\n".join(lines)


def _hcl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${") + '"'


def build(
    directory: Path,
    *,
    python: str | None = None,
    extra_mirrors: tuple[Path, ...] = (),
    zygote_socket: Path | None = None,
) -> Mirror:
    """Create (or refresh) the mirror and the CLI config under ``directory``.

    With ``zygote_socket`` the launchers ask the zygote listening there for a provider (and start
    one themselves when none answers).
    """
    from orchestrate_emulate.providers.zygote import LAUNCHER_CLIENT

    python = python or sys.executable
    root = directory / "mirror"
    cache = directory / "cache"
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    zygote = None
    if zygote_socket is not None:
        client = directory / "launch.py"
        write_if_changed(client, LAUNCHER_CLIENT)
        zygote = (zygote_socket, client)
    plat = platform_dir()
    for s in STAND_INS:
        target = (
            root / HOST_NAMESPACE / s.name / s.version / plat / f"terraform-provider-{s.name}_v{s.version}"
        )
        write_if_changed(target, _launcher(s, python, cache, zygote), mode=0o755)
    cli_config = directory / "terraformrc"
    write_if_changed(cli_config, cli_config_text(root, extra_mirrors))
    return Mirror(root=root, cli_config=cli_config, cache=cache)


def plugin(directory: Path) -> dict[str, str]:
    """The stand-in providers as orchestrate's ``plugin:emulate`` provider mirror: their schemas
    need no running emulator, so `orchestrate validate` checks the example estate offline."""
    return build(directory).env()

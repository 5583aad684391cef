"""The provider mirror `orchestrate validate` installs providers from when it cannot reach a registry.

``terraform.provider_mirror`` in orchestrate.yaml names either a directory of the repository in
Terraform's filesystem-mirror layout (``registry.terraform.io/<ns>/<type>/<version>/<os_arch>/...``)
or ``plugin:NAME``, a mirror that an installed package provides through the entry point group
``orchestrate.provider_mirrors`` (``plugin:emulate`` is the stand-in providers of the emulated
clouds). Plugins are chosen from what the operator installed, never from files of a pull request;
a directory must lie inside the repository. The CLI config is written under
``.orchestrate/mirrors/`` and replaces a ``TF_CLI_CONFIG_FILE`` of the environment for validate,
as `orchestrate emulate up` does for every command: the repository's explicit setting is the more
specific one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from pathlib import Path

from orchestrator.errors import ConfigError
from orchestrator.fileio import write_if_changed
from orchestrator.layout import MIRRORS_DIR

PLUGIN_GROUP = "orchestrate.provider_mirrors"
PLUGIN_PREFIX = "plugin:"

MirrorPlugin = Callable[[Path], Mapping[str, str]]


def mirror_env(root: Path, spec: str) -> dict[str, str]:
    """The environment terraform needs to install providers from ``spec``."""
    if spec.startswith(PLUGIN_PREFIX):
        name = spec.removeprefix(PLUGIN_PREFIX)
        env = _plugin(name)(root / MIRRORS_DIR / _safe_name(name))
        return {str(k): str(v) for k, v in env.items()}
    return {"TF_CLI_CONFIG_FILE": str(_directory_config(root, spec))}


def _plugin(name: str) -> MirrorPlugin:
    found = entry_points(group=PLUGIN_GROUP, name=name)
    if not found:
        installed = sorted(ep.name for ep in entry_points(group=PLUGIN_GROUP))
        raise ConfigError(
            f"terraform.provider_mirror: no installed mirror plugin named {name!r}",
            where="orchestrate.yaml",
            hint=(f"installed: {', '.join(installed)}" if installed else "none is installed")
            + "; `plugin:emulate` comes with the emulate extra (pip install 'orchestrate-stacks[emulate]')",
        )
    try:
        plugin: MirrorPlugin = next(iter(found)).load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"terraform.provider_mirror: the mirror plugin {name!r} cannot be loaded ({exc})",
            where="orchestrate.yaml",
            hint="reinstall the package that provides it",
        ) from exc
    return plugin


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "_"


def _directory_config(root: Path, spec: str) -> Path:
    base = root.resolve()
    mirror = (base / spec).resolve()
    if not mirror.is_relative_to(base):
        raise ConfigError(
            f"terraform.provider_mirror {spec!r} lies outside the repository",
            where="orchestrate.yaml",
            hint="keep the mirror in the repository (`terraform providers mirror DIR`) or use plugin:NAME",
        )
    if not mirror.is_dir():
        raise ConfigError(
            f"terraform.provider_mirror {spec!r} is not a directory",
            where="orchestrate.yaml",
            hint="create it with `terraform providers mirror DIR` from a stack, or remove the setting",
        )
    config = root / MIRRORS_DIR / "directory.tfrc"
    write_if_changed(config, cli_config_text(mirror))
    return config


def mirrored_providers(mirror: Path) -> list[str]:
    """``host/namespace/type`` of every provider in a filesystem mirror (packed or unpacked)."""
    found: list[str] = []
    for host in sorted(p for p in mirror.iterdir() if p.is_dir()):
        for namespace in sorted(p for p in host.iterdir() if p.is_dir()):
            found.extend(
                f"{host.name}/{namespace.name}/{t.name}" for t in sorted(namespace.iterdir()) if t.is_dir()
            )
    return found


def cli_config_text(mirror: Path) -> str:
    """Providers found in the mirror come from it only; any other is installed as usual.

    Terraform asks every matching method for versions, so a provider in the mirror must be
    excluded from ``direct`` or an unreachable registry still fails its installation."""
    path = _hcl(str(mirror))
    excluded = ", ".join(_hcl(p) for p in mirrored_providers(mirror))
    return (
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path = {path}\n  }}\n"
        f"  direct {{\n    exclude = [{excluded}]\n  }}\n"
        "}\n"
    )


def _hcl(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${") + '"'

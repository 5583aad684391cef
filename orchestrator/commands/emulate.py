"""orchestrate emulate up | down | env | status: local emulated clouds and stand-in providers.

The only module of the product that imports ``orchestrate_emulate`` (the ``emulate`` extra), and only
inside the commands: the rest of the product sees the emulated clouds as endpoints and environment
in ``.orchestrate/emulate/state.json`` (orchestrator.clouds). A test checks the import graph.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.app import get_app
from orchestrator.discovery import find_repo_root
from orchestrator.errors import EXIT_ERROR, EXIT_OK, CloudError, ConfigError
from orchestrator.ui import emit, info, warn

if TYPE_CHECKING:
    from orchestrate_emulate.manager import Emulation

DESCRIPTIONS = {
    "aws": "moto's server",
    "gcp": "Resource Manager v3",
    "azure": "Azure Resource Manager",
    "providers": "stand-in provider zygote",
}


def _root() -> Path:
    app = get_app()
    return app.repo.resolve() if app.repo is not None else find_repo_root(Path.cwd())


@contextmanager
def _emulation() -> Iterator[Emulation]:
    """The repository's emulation; the emulator's errors become the product's CloudError."""
    try:
        from orchestrate_emulate.errors import EmulateError
        from orchestrate_emulate.manager import Emulation
    except ImportError as exc:
        raise ConfigError(
            f"the emulated clouds are not installed ({exc})",
            hint="Install the emulate extra: pip install 'orchestrate[emulate]'.",
        ) from exc
    try:
        yield Emulation(_root())
    except EmulateError as exc:
        raise CloudError(exc.message, where=exc.where, hint=exc.hint) from exc


@click.group("emulate")
def command() -> None:
    """Local emulated clouds for trying orchestrate and for tests.

    `up` starts moto (AWS) and local GCP and Azure Resource Manager emulators on free loopback
    ports, and builds stand-in hashicorp/aws, google and azurerm providers; while they run, cloud
    targets without an endpoint use them. With real clouds, the real providers are used unchanged.
    """


@command.command("up")
@click.option(
    "--mirror",
    "mirrors",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Another filesystem provider mirror for providers other than aws, google and azurerm (repeatable).",
)
def up(mirrors: tuple[Path, ...]) -> int:
    """Start the emulated clouds (reusing running ones) and write .orchestrate/emulate/state.json."""
    app = get_app()
    with _emulation() as emulation:
        state, services = emulation.up(extra_mirrors=tuple(m.resolve() for m in mirrors) or None)
    for s in services:
        line = f"{s.kind:<6} {DESCRIPTIONS[s.kind]:<24} {s.url:<24} pid {s.pid:<7} {s.status}"
        info(line + (f": {s.note}" if s.note else ""), no_color=app.no_color)
        if s.status == "restarted":
            warn(f"the {s.kind} emulator {s.note}; restarted it", no_color=app.no_color)
    if app.json_output:
        emit(json.dumps(state, indent=2, sort_keys=True))
    else:
        info('Use them from a shell with: eval "$(orchestrate emulate env)"', no_color=app.no_color)
    return EXIT_OK


@command.command("down")
@click.option("--wipe", is_flag=True, help="Also forget the GCP and Azure resources kept across restarts.")
def down(wipe: bool) -> int:
    """Stop exactly the emulators `up` started."""
    app = get_app()
    with _emulation() as emulation:
        stopped = emulation.down(wipe=wipe)
    if not stopped:
        info("the emulated clouds were not up", no_color=app.no_color)
    for s in stopped:
        info(f"{s.kind:<6} pid {s.pid:<7} {s.status}", no_color=app.no_color)
    if app.json_output:
        emit(json.dumps({"stopped": [s.__dict__ for s in stopped], "wiped": wipe}, indent=2))
    return EXIT_OK


@command.command("env")
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of export lines.")
@click.option(
    "--target",
    metavar="NAME",
    help="Add what terraform gets for this cloud target of orchestrate.yaml (region, project, subscription).",
)
def env(as_json: bool, target: str | None) -> int:
    """The environment to export: endpoints, fake credentials, TF_CLI_CONFIG_FILE."""
    app = get_app()
    with _emulation() as emulation:
        variables = emulation.environment()
    if target is not None:
        from orchestrator.clouds import read_emulate_state, resolve_target, terraform_env

        ws = app.workspace()
        emulate = read_emulate_state(ws.root)
        variables.update(terraform_env(resolve_target(ws.config, target, emulate), emulate))
    if as_json or app.json_output:
        emit(json.dumps(variables, indent=2, sort_keys=True))
    else:
        emit("\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(variables.items())))
    return EXIT_OK


@command.command("status")
def status() -> int:
    """Which emulators run, where (exit 1 when one is down)."""
    app = get_app()
    rows = []
    with _emulation() as emulation:
        from orchestrate_emulate.manager import SERVERS

        state = emulation.read_state()
        ok = state is not None
        for kind in SERVERS:
            url = ((state or {}).get("urls") or (state or {}).get("endpoints") or {}).get(kind)
            pid = int((state or {}).get("pids", {}).get(kind) or 0)
            why = emulation.alive(kind, pid, url) if state is not None else "not up"
            ok = ok and why is None
            rows.append({"kind": kind, "url": url, "pid": pid, "status": why or "running"})
            info(f"{kind:<6} {url or '-':<24} pid {pid or '-':<7} {why or 'running'}", no_color=app.no_color)
    if app.json_output:
        emit(json.dumps({"up": ok, "services": rows}, indent=2))
    return EXIT_OK if ok else EXIT_ERROR

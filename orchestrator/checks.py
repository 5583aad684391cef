"""Consistency checks across configuration files that `validate` reports (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.graph import check_inputs, unresolved_remote_states
from orchestrator.workspace import Workspace


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def config_findings(ws: Workspace) -> Findings:
    """Problems that do not stop discovery but make a run fail or surprise later."""
    found = Findings(warnings=list(ws.discovery.warnings))
    clouds = ws.config.clouds
    for sid in ws.graph.order:
        stack = ws.stacks[sid]
        if stack.error is not None:
            found.errors.append(
                stack.error.render().replace("\n  ", " (") + (")" if stack.error.hint else "")
            )
            continue
        if stack.cloud is not None and stack.cloud not in clouds:
            known = ", ".join(sorted(clouds)) or "none are defined"
            found.errors.append(
                f"{stack.config_file}: stack '{sid}' uses cloud '{stack.cloud}', which orchestrate.yaml "
                f"does not define (known: {known})"
            )
        for pattern in stack.config.var_files:
            if not (stack.dir / pattern).is_file():
                found.errors.append(
                    f"{stack.config_file}: var file '{pattern}' does not exist in {stack.path}"
                )
    found.warnings += unresolved_remote_states(ws.discovery)
    found.warnings += check_inputs(ws.graph)
    return found

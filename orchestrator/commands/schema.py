"""orchestrate schema: JSON Schemas of the configuration files."""

from __future__ import annotations

import json

import click

from orchestrator.config import json_schema
from orchestrator.ui import emit


@click.command("schema")
@click.argument("kind", type=click.Choice(["orchestrate", "stack"]), default="orchestrate")
def command(kind: str) -> int:
    """Print the JSON Schema of orchestrate.yaml (orchestrate) or stack.yaml (stack)."""
    emit(json.dumps(json_schema(kind), indent=2, sort_keys=True))  # type: ignore[arg-type]
    return 0

"""Terraform's state JSON (format version 4: ``terraform state pull``, a state file) and
``terraform output -json``, as typed data checked where they are read.

Like terraform.planjson: TypedDicts for the fields orchestrate reads, ``total=False`` where
terraform omits keys; ``state_json_of`` checks a parsed document's shape and only then gives it
its type, so a malformed state is one error naming the field, never a ``KeyError`` in a reader.
The format version and OpenTofu's encrypted states are judged by the callers (they say what
to do about each).
"""

from __future__ import annotations

from typing import TypedDict, cast

from orchestrator.jsontypes import (
    ANY,
    BOOLEAN,
    INTEGER,
    STRING,
    ErrorClass,
    JSONValue,
    check_shape,
    list_of,
    map_of,
    parse_json,
    shape,
)


class StateInstance(TypedDict, total=False):
    index_key: JSONValue  # an int (count) or a string (for_each)
    schema_version: int
    attributes: dict[str, JSONValue]
    attributes_flat: dict[str, JSONValue]  # states older than terraform 0.12 upgraded in place
    sensitive_attributes: list[JSONValue]  # attribute paths, as lists of {type, value} steps
    deposed: str
    status: str
    private: str
    dependencies: list[str]
    create_before_destroy: bool


class _StateResourceKeys(TypedDict):
    type: str
    name: str


class StateResource(_StateResourceKeys, total=False):
    module: str
    mode: str  # managed | data
    provider: str
    each: str
    instances: list[StateInstance]


class StateOutput(TypedDict, total=False):
    """An output in a state, and an entry of ``terraform output -json``."""

    value: JSONValue
    type: JSONValue
    sensitive: bool


class StateJSON(TypedDict, total=False):
    version: int
    terraform_version: str
    serial: int
    lineage: str
    outputs: dict[str, StateOutput]
    resources: list[StateResource]
    check_results: JSONValue


_instance = shape(
    StateInstance,
    {
        "index_key": ANY,
        "schema_version": INTEGER,
        "attributes": map_of(ANY),
        "attributes_flat": map_of(ANY),
        "sensitive_attributes": list_of(ANY),
        "deposed": STRING,
        "status": STRING,
        "private": STRING,
        "dependencies": list_of(STRING),
        "create_before_destroy": BOOLEAN,
    },
)
output_shape = shape(StateOutput, {"value": ANY, "type": ANY, "sensitive": BOOLEAN})
_state = shape(
    StateJSON,
    {
        "version": INTEGER,
        "terraform_version": STRING,
        "serial": INTEGER,
        "lineage": STRING,
        "outputs": map_of(output_shape),
        "resources": list_of(
            shape(
                StateResource,
                {
                    "type": STRING,
                    "name": STRING,
                    "module": STRING,
                    "mode": STRING,
                    "provider": STRING,
                    "each": STRING,
                    "instances": list_of(_instance),
                },
            )
        ),
        "check_results": ANY,
    },
)
_outputs = map_of(output_shape)


def state_json_of(
    data: object, *, what: str, where: str, error: ErrorClass, hint: str | None = None
) -> StateJSON:
    """A parsed document as a state, when it has a state's shape (any format version)."""
    check_shape(_state, data, what=what, where=where, error=error, hint=hint)
    return cast(StateJSON, data)


def outputs_json_of(
    text: str | bytes, *, where: str, error: ErrorClass, hint: str | None = None
) -> dict[str, StateOutput]:
    """What ``terraform output -json`` printed: output name -> value, type, sensitive."""
    what = "`terraform output -json` output"
    data = parse_json(text or "{}", what=what, where=where, error=error, hint=hint)
    check_shape(_outputs, data, what=what, where=where, error=error, hint=hint)
    return cast(dict[str, StateOutput], data)

"""The terraform plan JSON (``terraform show -json plan.tfplan``) as typed data, and the one
place it is read from text.

The TypedDicts name the fields orchestrate reads (terraform's JSON output format, format
version 1.x); terraform omits many keys, so most are optional (``total=False``). Anything
else terraform prints stays in the dictionary untouched: policies see the whole document.

``load_plan_json`` is the boundary: it parses the text, checks the shape of every field
named here (a list where a list is read, strings where strings are read) and only then
gives the document its type. A truncated or malformed plan JSON is one clear error of the
caller's class (a ``TerraformError`` for what terraform printed, a ``PlanSetError`` for a
plan set's ``plan.json``), never a ``KeyError`` deep in a reader.
"""

from __future__ import annotations

from typing import TypedDict, cast

from orchestrator.errors import TerraformError
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
from orchestrator.terraform.statejson import StateOutput, output_shape

# Required keys are declared in a total base class (``Required[...]`` is not seen at run time
# under ``from __future__ import annotations``; jsontypes.shape reads the keys at run time).


class _ChangeKeys(TypedDict):
    actions: list[str]  # no-op | create | read | update | delete | forget, or a pair


class Change(_ChangeKeys, total=False):
    """A resource's or an output's change. The masks (``after_unknown``, ``*_sensitive``)
    mirror the values: ``true`` for a whole value, or the same shape with booleans inside."""

    before: JSONValue
    after: JSONValue
    after_unknown: JSONValue
    before_sensitive: JSONValue
    after_sensitive: JSONValue
    replace_paths: list[JSONValue]  # attribute paths forcing a replacement
    importing: dict[str, JSONValue]  # {"id": ...} when the change imports
    generated_config: str


class _Resource(TypedDict, total=False):
    """What names a resource in every representation."""

    mode: str  # managed | data
    type: str
    name: str


class _ResourceChangeKeys(TypedDict):
    address: str
    change: Change


class ResourceChange(_ResourceChangeKeys, _Resource, total=False):
    """An entry of ``resource_changes`` (and of ``resource_drift``)."""

    previous_address: str
    module_address: str
    index: JSONValue
    deposed: str
    provider_name: str
    action_reason: str


class ValuesResource(_Resource, total=False):
    address: str
    index: JSONValue
    provider_name: str
    schema_version: int
    values: dict[str, JSONValue]
    sensitive_values: JSONValue


class ValuesModule(TypedDict, total=False):
    address: str
    resources: list[ValuesResource]
    child_modules: list[ValuesModule]


class Values(TypedDict, total=False):
    """A values representation: ``planned_values``, ``prior_state.values``."""

    outputs: dict[str, StateOutput]  # the same in a values representation as in a state
    root_module: ValuesModule


class PriorState(TypedDict, total=False):
    format_version: str
    terraform_version: str
    values: Values


class PlanVariable(TypedDict, total=False):
    value: JSONValue


class ConfigVariable(TypedDict, total=False):
    default: JSONValue
    description: str
    sensitive: bool


class ConfigResource(_Resource, total=False):
    address: str
    provider_config_key: str
    expressions: dict[str, JSONValue]
    schema_version: int
    count_expression: JSONValue
    for_each_expression: JSONValue


class ModuleCall(TypedDict, total=False):
    source: str
    expressions: dict[str, JSONValue]
    module: ConfigModule
    version_constraint: str
    count_expression: JSONValue
    for_each_expression: JSONValue


class ConfigModule(TypedDict, total=False):
    outputs: dict[str, JSONValue]
    resources: list[ConfigResource]
    module_calls: dict[str, ModuleCall]
    variables: dict[str, ConfigVariable]


class Configuration(TypedDict, total=False):
    provider_config: dict[str, JSONValue]
    root_module: ConfigModule


class PlanJSON(TypedDict, total=False):
    """``terraform show -json`` of a saved plan."""

    format_version: str
    terraform_version: str
    variables: dict[str, PlanVariable]
    planned_values: Values
    resource_drift: list[ResourceChange]
    resource_changes: list[ResourceChange]
    output_changes: dict[str, Change]
    prior_state: PriorState
    configuration: Configuration
    relevant_attributes: list[JSONValue]
    checks: list[JSONValue]
    timestamp: str
    errored: bool
    applyable: bool
    complete: bool


# ---------------------------------------------------------------- the boundary


_change = shape(
    Change,
    {
        "actions": list_of(STRING),
        "before": ANY,
        "after": ANY,
        "after_unknown": ANY,
        "before_sensitive": ANY,
        "after_sensitive": ANY,
        "replace_paths": list_of(ANY),
        "importing": map_of(ANY),
        "generated_config": STRING,
    },
)
_RESOURCE = {"mode": STRING, "type": STRING, "name": STRING}
_resource_change = shape(
    ResourceChange,
    {
        **_RESOURCE,
        "address": STRING,
        "previous_address": STRING,
        "module_address": STRING,
        "index": ANY,
        "deposed": STRING,
        "provider_name": STRING,
        "change": _change,
        "action_reason": STRING,
    },
)
_values_resource = shape(
    ValuesResource,
    {
        **_RESOURCE,
        "address": STRING,
        "index": ANY,
        "provider_name": STRING,
        "schema_version": INTEGER,
        "values": map_of(ANY),
        "sensitive_values": ANY,
    },
)


def _values_module(value: object, path: str) -> None:
    _values_module_fields(value, path)


_values_module_fields = shape(
    ValuesModule,
    {"address": STRING, "resources": list_of(_values_resource), "child_modules": list_of(_values_module)},
)
_values = shape(
    Values,
    {
        "outputs": map_of(output_shape),
        "root_module": _values_module,
    },
)
_config_resource = shape(
    ConfigResource,
    {
        **_RESOURCE,
        "address": STRING,
        "provider_config_key": STRING,
        "expressions": map_of(ANY),
        "schema_version": INTEGER,
        "count_expression": ANY,
        "for_each_expression": ANY,
    },
)


def _config_module(value: object, path: str) -> None:
    _config_module_fields(value, path)


_module_call = shape(
    ModuleCall,
    {
        "source": STRING,
        "expressions": map_of(ANY),
        "module": _config_module,
        "version_constraint": STRING,
        "count_expression": ANY,
        "for_each_expression": ANY,
    },
)
_config_module_fields = shape(
    ConfigModule,
    {
        "outputs": map_of(ANY),
        "resources": list_of(_config_resource),
        "module_calls": map_of(_module_call),
        "variables": map_of(
            shape(ConfigVariable, {"default": ANY, "description": STRING, "sensitive": BOOLEAN})
        ),
    },
)
_plan = shape(
    PlanJSON,
    {
        "format_version": STRING,
        "terraform_version": STRING,
        "variables": map_of(shape(PlanVariable, {"value": ANY})),
        "planned_values": _values,
        "resource_drift": list_of(_resource_change),
        "resource_changes": list_of(_resource_change),
        "output_changes": map_of(_change),
        "prior_state": shape(
            PriorState, {"format_version": STRING, "terraform_version": STRING, "values": _values}
        ),
        "configuration": shape(
            Configuration, {"provider_config": map_of(ANY), "root_module": _config_module}
        ),
        "relevant_attributes": list_of(ANY),
        "checks": list_of(ANY),
        "timestamp": STRING,
        "errored": BOOLEAN,
        "applyable": BOOLEAN,
        "complete": BOOLEAN,
    },
)


def load_plan_json(
    text: str | bytes, *, what: str, where: str, error: ErrorClass, hint: str | None = None
) -> PlanJSON:
    """Parse and check a plan JSON; ``what`` names it in the message (``terraform show -json``
    output, ``<slug>/plan.json``), ``error`` is the caller's error class."""
    data = parse_json(text, what=what, where=where, error=error, hint=hint)
    return plan_json_of(data, what=what, where=where, error=error, hint=hint)


def plan_from_terraform(text: str | bytes, *, where: str) -> PlanJSON:
    """What ``terraform show -json <plan file>`` printed for stack ``where``."""
    return load_plan_json(
        text,
        what="`terraform show -json` output",
        where=where,
        error=TerraformError,
        hint="Check that terraform.binary runs a supported terraform or OpenTofu, then plan again.",
    )


def plan_json_of(
    data: object, *, what: str, where: str, error: ErrorClass, hint: str | None = None
) -> PlanJSON:
    """A parsed document as a plan JSON, when it has the plan's shape."""
    check_shape(_plan, data, what=what, where=where, error=error, hint=hint)
    return cast(PlanJSON, data)

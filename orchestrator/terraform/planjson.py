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

import json
from collections.abc import Callable, Mapping
from typing import TypedDict, cast

from orchestrator.errors import OrchestratorError, TerraformError
from orchestrator.jsontypes import JSONValue

# Required keys are declared in a total base class (``Required[...]`` is not seen at run time
# under ``from __future__ import annotations``, and the checks below read the keys at run time).


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


class _ResourceChangeKeys(TypedDict):
    address: str
    change: Change


class ResourceChange(_ResourceChangeKeys, total=False):
    """An entry of ``resource_changes`` (and of ``resource_drift``)."""

    previous_address: str
    module_address: str
    mode: str  # managed | data
    type: str
    name: str
    index: JSONValue
    deposed: str
    provider_name: str
    action_reason: str


class ValuesOutput(TypedDict, total=False):
    value: JSONValue
    sensitive: bool
    type: JSONValue


class ValuesResource(TypedDict, total=False):
    address: str
    mode: str
    type: str
    name: str
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

    outputs: dict[str, ValuesOutput]
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


class ConfigResource(TypedDict, total=False):
    address: str
    mode: str
    type: str
    name: str
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


class _Malformed(Exception):
    def __init__(self, path: str, expected: str, got: object) -> None:
        super().__init__(f"{path or 'the document'} is {_kind(got)}, expected {expected}")


class _Missing(_Malformed):
    def __init__(self, path: str) -> None:
        Exception.__init__(self, f"{path} is missing")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "a list"}
    return "an object" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


_Check = Callable[[object, str], None]


def _any(value: object, path: str) -> None:
    del value, path  # json.loads gives JSON values only


def _scalar(kind: type, expected: str) -> _Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _Malformed(path, expected, value)

    return check


_str, _bool, _int = _scalar(str, "a string"), _scalar(bool, "a boolean"), _scalar(int, "an integer")


def _list(item: _Check) -> _Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, list):
            raise _Malformed(path, "a list", value)
        for i, v in enumerate(value):
            item(v, f"{path}[{i}]")

    return check


def _map(item: _Check) -> _Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise _Malformed(path, "an object", value)
        for k, v in value.items():
            item(v, f"{path}.{k}" if path else str(k))

    return check


def _obj(shape: type, fields: Mapping[str, _Check]) -> _Check:
    """A check of a TypedDict's fields (kept equal to its keys: asserted here, at import)."""
    required: frozenset[str] = vars(shape)["__required_keys__"]
    keys = required | vars(shape)["__optional_keys__"]
    assert set(fields) == keys, f"{shape.__name__}: checks for {sorted(set(fields) ^ keys)}"

    def check(value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise _Malformed(path, "an object", value)
        missing = sorted(required - value.keys())
        if missing:
            raise _Missing(f"{path}.{missing[0]}" if path else missing[0])
        for key, field_check in fields.items():
            if key in value:
                field_check(value[key], f"{path}.{key}" if path else key)

    return check


_change = _obj(
    Change,
    {
        "actions": _list(_str),
        "before": _any,
        "after": _any,
        "after_unknown": _any,
        "before_sensitive": _any,
        "after_sensitive": _any,
        "replace_paths": _list(_any),
        "importing": _map(_any),
        "generated_config": _str,
    },
)
_resource_change = _obj(
    ResourceChange,
    {
        "address": _str,
        "previous_address": _str,
        "module_address": _str,
        "mode": _str,
        "type": _str,
        "name": _str,
        "index": _any,
        "deposed": _str,
        "provider_name": _str,
        "change": _change,
        "action_reason": _str,
    },
)
_values_resource = _obj(
    ValuesResource,
    {
        "address": _str,
        "mode": _str,
        "type": _str,
        "name": _str,
        "index": _any,
        "provider_name": _str,
        "schema_version": _int,
        "values": _map(_any),
        "sensitive_values": _any,
    },
)


def _values_module(value: object, path: str) -> None:
    _values_module_fields(value, path)


_values_module_fields = _obj(
    ValuesModule,
    {"address": _str, "resources": _list(_values_resource), "child_modules": _list(_values_module)},
)
_values = _obj(
    Values,
    {
        "outputs": _map(_obj(ValuesOutput, {"value": _any, "sensitive": _bool, "type": _any})),
        "root_module": _values_module,
    },
)
_config_resource = _obj(
    ConfigResource,
    {
        "address": _str,
        "mode": _str,
        "type": _str,
        "name": _str,
        "provider_config_key": _str,
        "expressions": _map(_any),
        "schema_version": _int,
        "count_expression": _any,
        "for_each_expression": _any,
    },
)


def _config_module(value: object, path: str) -> None:
    _config_module_fields(value, path)


_module_call = _obj(
    ModuleCall,
    {
        "source": _str,
        "expressions": _map(_any),
        "module": _config_module,
        "version_constraint": _str,
        "count_expression": _any,
        "for_each_expression": _any,
    },
)
_config_module_fields = _obj(
    ConfigModule,
    {
        "outputs": _map(_any),
        "resources": _list(_config_resource),
        "module_calls": _map(_module_call),
        "variables": _map(_obj(ConfigVariable, {"default": _any, "description": _str, "sensitive": _bool})),
    },
)
_plan = _obj(
    PlanJSON,
    {
        "format_version": _str,
        "terraform_version": _str,
        "variables": _map(_obj(PlanVariable, {"value": _any})),
        "planned_values": _values,
        "resource_drift": _list(_resource_change),
        "resource_changes": _list(_resource_change),
        "output_changes": _map(_change),
        "prior_state": _obj(
            PriorState, {"format_version": _str, "terraform_version": _str, "values": _values}
        ),
        "configuration": _obj(Configuration, {"provider_config": _map(_any), "root_module": _config_module}),
        "relevant_attributes": _list(_any),
        "checks": _list(_any),
        "timestamp": _str,
        "errored": _bool,
        "applyable": _bool,
        "complete": _bool,
    },
)

PlanErrorClass = type[OrchestratorError]


def load_plan_json(
    text: str | bytes, *, what: str, where: str, error: PlanErrorClass, hint: str | None = None
) -> PlanJSON:
    """Parse and check a plan JSON; ``what`` names it in the message (``terraform show -json``
    output, ``<slug>/plan.json``), ``error`` is the caller's error class."""
    try:
        data: object = json.loads(text)
    except ValueError as exc:
        raise error(f"{what} is not valid JSON (truncated?): {exc}", where=where, hint=hint) from exc
    except RecursionError:
        raise error(f"{what} is nested too deeply to be a terraform plan", where=where, hint=hint) from None
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
    data: object, *, what: str, where: str, error: PlanErrorClass, hint: str | None = None
) -> PlanJSON:
    """A parsed document as a plan JSON, when it has the plan's shape."""
    try:
        _plan(data, "")
    except _Malformed as exc:
        raise error(f"{what} is not a terraform plan: {exc}", where=where, hint=hint) from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to be a terraform plan", where=where, hint=hint) from None
    return cast(PlanJSON, data)

"""Names for JSON data at module seams.

``JSONValue`` is any value JSON can hold: what terraform prints (``show -json``, ``output
-json``, ``state pull``), what plan sets and records store. ``JSONData`` is the same for a
function that only reads its argument (read-only containers, so a ``list[str]`` or a
``dict[str, int]`` is accepted). A function that indexes into a known document takes that
document's type instead: the terraform plan JSON is ``terraform.planjson.PlanJSON``, checked
once where it is read (``load_plan_json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

from orchestrator.errors import OrchestratorError

JSONScalar: TypeAlias = "bool | int | float | str | None"
JSONValue: TypeAlias = "JSONScalar | list[JSONValue] | dict[str, JSONValue]"
JSONData: TypeAlias = "JSONScalar | Sequence[JSONData] | Mapping[str, JSONData]"


# ---------------------------------------------------------------- shape checks
# A parsed document is checked against a TypedDict's shape before it is given that type (the
# one ``cast`` of each document lives beside its check: terraform.planjson, terraform.statejson).


class Malformed(Exception):
    """A value of the wrong kind at ``path`` (``resource_changes[0].change``)."""

    def __init__(self, path: str, expected: str, got: object) -> None:
        super().__init__(f"{path or 'the document'} is {_kind(got)}, expected {expected}")


class Missing(Malformed):
    def __init__(self, path: str) -> None:
        Exception.__init__(self, f"{path} is missing")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "a list"}
    return "an object" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


Check = Callable[[object, str], None]


def ANY(value: object, path: str) -> None:
    del value, path  # json.loads gives JSON values only


def _scalar(kind: type, expected: str) -> Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise Malformed(path, expected, value)

    return check


STRING, BOOLEAN, INTEGER = _scalar(str, "a string"), _scalar(bool, "a boolean"), _scalar(int, "an integer")


def list_of(item: Check) -> Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, list):
            raise Malformed(path, "a list", value)
        for i, v in enumerate(value):
            item(v, f"{path}[{i}]")

    return check


def map_of(item: Check) -> Check:
    def check(value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise Malformed(path, "an object", value)
        for k, v in value.items():
            item(v, f"{path}.{k}" if path else str(k))

    return check


def shape(typed: type, fields: Mapping[str, Check]) -> Check:
    """A check of an object with a TypedDict's keys: those declared required are present, and
    each present one passes its check (unknown keys are kept, unchecked). ``fields`` must name
    exactly the TypedDict's keys (asserted at import). Required keys are declared in a total
    base class: ``Required[...]`` is not seen at run time under ``from __future__ import
    annotations``."""
    required: frozenset[str] = vars(typed)["__required_keys__"]
    keys = required | vars(typed)["__optional_keys__"]
    assert set(fields) == keys, f"{typed.__name__}: checks for {sorted(set(fields) ^ keys)}"

    checked = [(key, field_check) for key, field_check in fields.items() if field_check is not ANY]

    def check(value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise Malformed(path, "an object", value)
        if not required <= value.keys():
            missing = sorted(required - value.keys())[0]
            raise Missing(f"{path}.{missing}" if path else missing)
        for key, field_check in checked:
            if key in value:
                field_check(value[key], f"{path}.{key}" if path else key)

    return check


ErrorClass: TypeAlias = "type[OrchestratorError]"


def parse_json(
    text: str | bytes, *, what: str, where: str, error: ErrorClass, hint: str | None = None
) -> object:
    """``text`` parsed; invalid (a truncated file) or too deeply nested JSON is ``error``."""
    try:
        data: object = json.loads(text)
    except ValueError as exc:
        raise error(f"{what} is not valid JSON (truncated?): {exc}", where=where, hint=hint) from exc
    except RecursionError:
        raise error(f"{what} is nested too deeply to read", where=where, hint=hint) from None
    return data


def check_shape(
    check: Check, data: object, *, what: str, where: str, error: ErrorClass, hint: str | None = None
) -> None:
    """Run ``check`` on a parsed document; a mismatch is ``error`` naming the field."""
    try:
        check(data, "")
    except Malformed as exc:
        raise error(f"{what} is malformed: {exc}", where=where, hint=hint) from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to read", where=where, hint=hint) from None

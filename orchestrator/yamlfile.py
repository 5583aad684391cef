"""YAML reading with file:line errors.

Loading is the hot path of discovery (thousands of stack.yaml files), so the fast
libyaml loader is used, and the line of a problem is found only when there is one,
by composing the document again with marks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import ConfigError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A configuration file is small. These bounds keep hostile input (a pull request's
# stack.yaml) from exhausting the runner: a "billion laughs" of nested aliases loads as a
# few shared objects but expands exponentially in everything that walks it.
MAX_YAML_BYTES = 1 << 20
MAX_YAML_VALUES = 100_000


class _StrictLoader(_Base):  # type: ignore[misc]
    """Safe loader that refuses duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _StrictLoader.construct_mapping,
)


def read_text(path: Path, shown: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not valid UTF-8 text (byte {exc.start})", where=shown, hint="Save the file as UTF-8."
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror or exc}",
            where=shown,
            hint="Check that it exists and is readable.",
        ) from exc


class _ExpandedSize:
    """Counts values with aliases expanded, memoised per object; stops past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()  # the containers being counted (a cycle's way back)

    def size(self, v: Any) -> int:
        if not isinstance(v, dict | list):
            return 1
        key = id(v)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.active:
            return self.limit + 1  # a recursive alias expands forever
        self.active.add(key)
        total = 1
        items = [x for kv in v.items() for x in kv] if isinstance(v, dict) else v
        for item in items:
            total += self.size(item)
            if total > self.limit:
                break
        self.active.discard(key)
        self.sizes[key] = min(total, self.limit + 1)
        return self.sizes[key]


def expanded_size(value: Any, limit: int) -> int:
    """How many values ``value`` holds with every shared (aliased) part counted each time it
    is used; counting stops past ``limit``. Linear in the distinct objects (memoised)."""
    return _ExpandedSize(limit).size(value)


def parse_yaml(text: str, shown: str) -> Any:
    """Parse YAML text; syntax errors become a ConfigError at file:line. Files over
    MAX_YAML_BYTES, and aliases expanding to more than MAX_YAML_VALUES values, are refused."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(
            f"the file is {len(text) / (1 << 20):.1f} MiB; configuration files are limited to "
            f"{MAX_YAML_BYTES >> 20} MiB",
            where=shown,
            hint="Keep configuration small; move data into Terraform variables or files.",
        )
    try:
        data = yaml.load(text, Loader=_StrictLoader)
        if "*" in text and expanded_size(data, MAX_YAML_VALUES) > MAX_YAML_VALUES:
            raise ConfigError(
                f"YAML aliases expand to more than {MAX_YAML_VALUES:,} values (an alias bomb?)",
                where=shown,
                hint="Write the values out, or use fewer nested aliases (*name).",
            )
        return data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"invalid YAML: {problem}", where=f"{shown}{line}", hint="Fix the YAML syntax."
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=shown, hint="Fix the YAML syntax.") from exc


def line_of(text: str, loc: Sequence[int | str]) -> int | None:
    """1-based line of the node at ``loc`` (a pydantic error location) in YAML ``text``.

    Location parts that are not keys of the document (such as a union's tag) are skipped;
    the deepest node found wins, so an unknown key points at the key itself.
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    best = node.start_mark.line + 1
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    best = key_node.start_mark.line + 1
                    nxt = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
            best = nxt.start_mark.line + 1
        if nxt is None:
            continue
        node = nxt
    return best

"""Masking of secrets in every text orchestrate writes (comments, logs, reports, PR bodies).

Two sources: values Terraform marks sensitive in plan or state JSON (``before_sensitive``,
``after_sensitive``, sensitive outputs and variables), collected per plan; and the
``redact:`` patterns of orchestrate.yaml. A Redactor is applied at every edge where text
leaves the process, and to structured data before it is serialised.

``redact:`` patterns come from the repository and run over every line terraform prints, so
they run on RE2 (google-re2): linear time whatever the pattern, where Python's backtracking
engine takes minutes on ``(a+)+$`` against one long line. RE2 has no backreferences or
lookaround; such a pattern is refused when the configuration is read.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]

from orchestrator.jsontypes import JSONData, JSONValue
from orchestrator.terraform.planjson import PlanJSON, Values
from orchestrator.terraform.statejson import StateJSON

MASK = "(sensitive)"
# Short values such as "1" or "true" would mask half a plan when masked inside text;
# terraform shows those as "(sensitive value)" in its own text anyway. A whole value equal
# to a secret (a sensitive port of 22 in structured data) is masked whatever its length.
MIN_SECRET_LENGTH = 4
# RE2 refuses a pattern whose compiled program needs more than this (a bounded cost).
PATTERN_MAX_MEM = 8 << 20


class _Pattern(Protocol):
    def sub(self, repl: str, text: str) -> str: ...


def compile_pattern(pattern: str) -> _Pattern:
    """A ``redact:`` pattern compiled for RE2; ValueError (one line) when RE2 cannot run it."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = PATTERN_MAX_MEM
    try:
        compiled: _Pattern = re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise ValueError(
            f"{reason} (patterns run on RE2, in linear time: no backreferences or lookaround)"
        ) from None
    return compiled


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


class Redactor:
    def __init__(self, patterns: Iterable[str] = (), secrets: Iterable[Any] = ()) -> None:
        self._patterns = [compile_pattern(p) for p in patterns]
        self._secrets: set[str] = set()
        self._exact: set[str] = set()
        self._secret_re: re.Pattern[str] | None = None
        self._guard = threading.Lock()  # worker threads add secrets while others redact
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[Any]) -> None:
        """Mask these values from now on: strings, and numbers by their text.

        Safe from several threads: the sets are replaced, never mutated, so readers need no lock."""
        texts = {v for v in (_scalar_text(raw) for raw in values) if v}
        with self._guard:
            if not texts - self._exact:
                return
            self._exact = self._exact | texts
            longer = {v for v in texts if len(v) >= MIN_SECRET_LENGTH} - self._secrets
            if not longer:
                return
            self._secrets = self._secrets | longer
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._secret_re = re.compile("|".join(re.escape(s) for s in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        """Every value masked (the short ones only when they are a whole value)."""
        return frozenset(self._exact)

    def text(self, value: str) -> str:
        if value in self._exact:
            return MASK
        if self._secret_re is not None:
            value = self._secret_re.sub(MASK, value)
        for pattern in self._patterns:
            value = pattern.sub(MASK, value)
        return value

    def data(self, value: JSONData) -> JSONValue:
        """A deep copy of JSON-like data with every string redacted (keys included), and every
        number that is a secret replaced by the mask."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(k): self.data(v) for k, v in value.items()}
        if isinstance(value, Sequence):
            return [self.data(v) for v in value]
        text = _scalar_text(value)
        if text is not None and text in self._exact:
            return MASK
        return value


def leaves(value: JSONData) -> Iterable[str]:
    """Every scalar in JSON-like data, as text (the candidates for masking)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def _masked(value: JSONValue | None, mask: JSONValue | None) -> Iterable[str]:
    """Leaves of ``value`` where the parallel ``mask`` (terraform's *_sensitive) is true."""
    if mask is True:
        yield from leaves(value)
    elif isinstance(mask, dict) and isinstance(value, dict):
        for k, m in mask.items():
            if k in value:
                yield from _masked(value[k], m)
    elif isinstance(mask, list) and isinstance(value, list):
        for v, m in zip(value, mask, strict=False):
            yield from _masked(v, m)


def sensitive_values(plan: PlanJSON, *, min_length: int = MIN_SECRET_LENGTH) -> set[str]:
    """Every value a plan JSON (``terraform show -json``) marks sensitive (numbers as their
    text); ``min_length=1`` keeps short ones for whole-value masking."""
    found: set[str] = set()
    for rc in [*(plan.get("resource_changes") or []), *(plan.get("resource_drift") or [])]:
        change = rc["change"]
        found.update(_masked(change.get("before"), change.get("before_sensitive")))
        found.update(_masked(change.get("after"), change.get("after_sensitive")))
    for oc in (plan.get("output_changes") or {}).values():
        if oc.get("before_sensitive") is True or oc.get("after_sensitive") is True:
            found.update(leaves(oc.get("before")))
            found.update(leaves(oc.get("after")))
        else:
            found.update(_masked(oc.get("before"), oc.get("before_sensitive")))
            found.update(_masked(oc.get("after"), oc.get("after_sensitive")))
    found.update(_sensitive_in_values(plan.get("planned_values") or {}))
    # prior_state is a state representation: its values are one level down.
    found.update(_sensitive_in_values((plan.get("prior_state") or {}).get("values") or {}))
    # Variables declared sensitive appear in configuration.root_module.variables.
    config_vars = ((plan.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    plan_vars = plan.get("variables") or {}
    for name, decl in config_vars.items():
        if decl.get("sensitive") and name in plan_vars:
            found.update(leaves(plan_vars[name].get("value")))
    return {v for v in found if len(v) >= max(1, min_length)}


def state_sensitive_values(state: StateJSON, *, min_length: int = MIN_SECRET_LENGTH) -> set[str]:
    """The outputs a raw state (``terraform state pull``, version 4) marks sensitive; the
    sensitive attributes of its resources are read with the resources (drift.state)."""
    found: set[str] = set()
    for out in (state.get("outputs") or {}).values():
        if out.get("sensitive"):
            found.update(leaves(out.get("value")))
    return {v for v in found if len(v) >= max(1, min_length)}


def _sensitive_in_values(values: Values) -> set[str]:
    found: set[str] = set()
    for out in (values.get("outputs") or {}).values():
        if out.get("sensitive"):
            found.update(leaves(out.get("value")))
    modules = [values.get("root_module") or {}]
    while modules:
        mod = modules.pop()
        for res in mod.get("resources") or []:
            found.update(_masked(res.get("values"), res.get("sensitive_values")))
        modules.extend(mod.get("child_modules") or [])
    return found

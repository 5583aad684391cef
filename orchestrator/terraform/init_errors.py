"""What exactly `terraform init` failed to install, from what it printed (pure).

Terraform words every init failure in its own way: a provider missing from a filesystem
mirror, a provider the registry does not have, a registry host it cannot reach, a module
registry it cannot reach, a git module source it cannot clone, a package whose checksum
does not match the lock file. Each error block becomes one :class:`InitProblem` saying
what failed and why; ``unreachable`` marks the network cases (the thing could not be
*checked*), everything else is a definite configuration error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

InitKind = Literal[
    "provider-not-found",
    "provider-unknown",
    "provider-registry",
    "provider-checksum",
    "provider",
    "module-registry",
    "git-module",
    "module",
]

# Texts of a network failure (Go's resolver and dialer, git and curl), never of a bad config.
_NETWORK = (
    "no such host",
    "could not connect to",
    "connection refused",
    "connection timed out",
    "i/o timeout",
    "network is unreachable",
    "tls handshake timeout",
    "could not resolve host",
    "could not resolve hostname",
    "failed to connect to",
    "temporary failure in name resolution",
)
_BLOCK = re.compile(r"^(?:│\s*)?Error:\s*(.+)$", re.M)
_PROVIDER = re.compile(r"(?:for provider|installing|provider named)\s+([\w.\-]+(?:/[\w.\-]+)+)")
_MODULE = re.compile(r'module "([^"]+)" \(([^)]+)\)')
_REGISTRY_HOST = re.compile(r"(?:could not connect to|from)\s+([\w.\-]+(?::\d+)?):")
_SOURCE = re.compile(r'source code from\s+"([^"]+)"')
_GIT_FATAL = re.compile(r"fatal:\s*(.+?)(?=\s*fatal:|\s*Please make sure|$)", re.S)


@dataclass(frozen=True)
class InitProblem:
    kind: InitKind
    subject: str  # `provider hashicorp/aws`, `module "vpc" (main.tf:1)`
    reason: str
    unreachable: bool

    def describe(self) -> str:
        return f"{self.subject}: {self.reason}"


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def _network(body: str) -> bool:
    low = body.lower()
    return any(s in low for s in _NETWORK)


def _blocks(output: str) -> list[tuple[str, str]]:
    """(title, flattened body) of every `Error:` block, duplicates dropped (1.0 prints some twice)."""
    marks = list(_BLOCK.finditer(output))
    seen: dict[tuple[str, str], None] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(output)
        seen[(m.group(1).strip(), _flat(output[m.end() : end]))] = None
    return list(seen)


def _provider(title: str, body: str) -> InitProblem:
    m = _PROVIDER.search(body)
    subject = f"provider {m.group(1)}" if m else "providers"
    if "was not found in any of the search locations" in body:
        return InitProblem(
            "provider-not-found",
            subject,
            "not found in any configured search location (the provider mirror); check the source "
            "address for a typo, or add the provider to the mirror",
            False,
        )
    if "does not have a provider named" in body:
        return InitProblem(
            "provider-unknown", subject, "the registry has no such provider: check the source", False
        )
    if "checksum" in body.lower():
        return InitProblem(
            "provider-checksum",
            subject,
            "the package does not match the checksums in .terraform.lock.hcl (a tampered mirror or a lock "
            "file for other platforms: `terraform providers lock`)",
            False,
        )
    if _network(body):
        host = _REGISTRY_HOST.search(body)
        where = host.group(1) if host else "the provider registry"
        return InitProblem("provider-registry", subject, f"{where} is unreachable (offline)", True)
    return InitProblem("provider", subject, f"could not be installed: {title}: {body[:200]}", False)


def _module_registry(body: str) -> InitProblem:
    m = _MODULE.search(body)
    subject = f'module "{m.group(1)}" ({m.group(2)})' if m else "module"
    host = _REGISTRY_HOST.search(body)
    where = host.group(1) if host else "the module registry"
    if _network(body):
        return InitProblem(
            "module-registry", subject, f"module registry {where} is unreachable (offline)", True
        )
    return InitProblem("module-registry", subject, f"module registry {where} failed: {body[:200]}", False)


def _module_download(body: str) -> InitProblem:
    m = _MODULE.search(body)
    subject = f'module "{m.group(1)}" ({m.group(2)})' if m else "module"
    src = _SOURCE.search(body)
    source = src.group(1) if src else "its source"
    git = source.startswith("git::") or "git exited" in body or source.endswith(".git")
    fatal = _GIT_FATAL.search(body)
    why = fatal.group(1).strip() if fatal else body[:200]
    kind: InitKind = "git-module" if git else "module"
    what = "git source" if git else "source"
    if _network(body):
        return InitProblem(kind, subject, f"{what} {source} is unreachable (offline): {why}", True)
    return InitProblem(kind, subject, f"{what} {source} could not be fetched: {why}", False)


def init_problems(output: str) -> list[InitProblem]:
    """Every install failure in a failed `terraform init`'s output, in order (pure)."""
    out: list[InitProblem] = []
    for title, body in _blocks(output):
        low = title.lower()
        if "remote module registry" in low or (
            "module" in low and "registry" in body.lower() and "not found" in low
        ):
            out.append(_module_registry(body))
        elif "failed to download module" in low:
            out.append(_module_download(body))
        elif "provider" in low:
            out.append(_provider(title, body))
    return list(dict.fromkeys(out))

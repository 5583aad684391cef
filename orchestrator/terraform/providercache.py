"""Whether a stack's ``terraform init`` may write the shared plugin cache.

terraform (1.4+) links a provider from TF_PLUGIN_CACHE_DIR only when the stack's dependency
lock file lists a hash the cached package matches; otherwise it installs the package again
from its source into the cache, replacing what another stack's ``plan`` may be starting. So
such an ``init`` holds the cache exclusively (terraform/cachelock.py), and one that can only
link may share it: the lock file pins every provider the configuration needs, each pinned
package is in the cache for this platform, and its ``h1:`` hash is among the pinned hashes.
Anything this module cannot see (a remote module's providers, an unknown platform) counts
as a write.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "registry.terraform.io"
BUILTIN = {"terraform"}  # terraform.io/builtin/terraform: never installed
_PROVIDER_BLOCK = re.compile(r'^provider\s+"([^"]+)"\s*\{(.*?)^\}', re.MULTILINE | re.DOTALL)
_VERSION = re.compile(r'^\s*version\s*=\s*"([^"]+)"', re.MULTILINE)
_HASH = re.compile(r'"((?:h1|zh):[^"]+)"')
_CONSTRAINT_CHARS = set("<>=~!,") | set("0123456789")


@dataclass(frozen=True)
class LockedProvider:
    version: str
    hashes: frozenset[str]


def parse_lock_file(text: str) -> dict[str, LockedProvider]:
    """Provider address -> pinned version and hashes of a ``.terraform.lock.hcl`` (pure)."""
    out: dict[str, LockedProvider] = {}
    for match in _PROVIDER_BLOCK.finditer(text):
        body = match.group(2)
        version = _VERSION.search(body)
        if version is None:
            continue
        out[match.group(1).lower()] = LockedProvider(version.group(1), frozenset(_HASH.findall(body)))
    return out


def provider_address(local_name: str, source: str | None) -> str | None:
    """The full address terraform installs for a provider (pure); None for the builtin one.

    ``source`` is the ``required_providers`` source (``hashicorp/aws``, ``example.com/ns/x``);
    None, or a legacy version constraint in its place, means ``hashicorp/<local_name>``."""
    if source is None or not source.strip() or source.strip()[0] in _CONSTRAINT_CHARS:
        source = f"hashicorp/{local_name}"
    parts = source.strip().lower().split("/")
    if len(parts) == 1:
        parts = ["hashicorp", parts[0]]
    if len(parts) == 2:
        parts = [DEFAULT_HOST, *parts]
    address = "/".join(parts)
    return None if address == "terraform.io/builtin/terraform" else address


def needed_providers(required: Mapping[str, str], resource_prefixes: Iterable[str]) -> set[str]:
    """Addresses of the providers a configuration needs (pure): its ``required_providers``
    and the default provider of every resource or data type without one."""
    needed = {a for name, src in required.items() if (a := provider_address(name, src)) is not None}
    for prefix in resource_prefixes:
        if prefix in required or prefix in BUILTIN:
            continue
        address = provider_address(prefix, None)
        if address is not None:
            needed.add(address)
    return needed


def platform_dir() -> str | None:
    """terraform's ``<os>_<arch>`` for this machine; None when unknown."""
    goos = {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform)
    machine = platform.machine().lower()
    goarch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    return f"{goos}_{goarch}" if goos and goarch else None


_hash_memo: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}
_memo_lock = threading.Lock()


def package_hash_v1(directory: Path) -> str:
    """terraform's ``h1:`` hash of an unpacked provider package (Go's dirhash Hash1: the
    sorted ``sha256  path`` lines of its files, symlinks followed). Memoised per process by
    the files' sizes and modification times."""
    files: list[tuple[str, str]] = []
    for root, _dirs, names in os.walk(directory, followlinks=True):
        for name in names:
            path = os.path.join(root, name)
            files.append((os.path.relpath(path, directory).replace(os.sep, "/"), path))
    files.sort()
    signature = []
    for rel, path in files:
        st = os.stat(path)
        signature.append((rel, st.st_size, st.st_mtime_ns))
    key = (os.path.realpath(directory), tuple(signature))
    with _memo_lock:
        if key in _hash_memo:
            return _hash_memo[key]
    summary = hashlib.sha256()
    for rel, path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        summary.update(f"{digest.hexdigest()}  {rel}\n".encode())
    value = "h1:" + base64.b64encode(summary.digest()).decode()
    with _memo_lock:
        _hash_memo[key] = value
    return value


def init_may_write_cache(
    lock_file: Path,
    cache_dir: Path,
    needed: set[str],
    *,
    remote_modules: bool,
    platform_name: str | None = None,
) -> bool:
    """Whether ``terraform init`` of a stack may install into ``cache_dir`` (see the module)."""
    os_arch = platform_name or platform_dir()
    if remote_modules or os_arch is None:
        return True
    try:
        locked = parse_lock_file(lock_file.read_text())
    except (OSError, UnicodeDecodeError):
        return True
    if not needed <= set(locked):
        return True
    for address, pin in locked.items():
        package = cache_dir / address / pin.version / os_arch
        try:
            if not package.is_dir() or package_hash_v1(package) not in pin.hashes:
                return True
        except OSError:
            return True
    return False

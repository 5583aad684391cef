"""Which `terraform init`s may write the shared plugin cache (and so hold it exclusively)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.engine.workdir import init_writes_cache
from orchestrator.terraform.cachelock import PluginCacheLock
from orchestrator.terraform.providercache import (
    init_may_write_cache,
    needed_providers,
    package_hash_v1,
    parse_lock_file,
    provider_address,
)
from orchestrator.workspace import Workspace
from tests.engine.conftest import NULL_STACK, Repo

LOCK = """# This file is maintained automatically by "terraform init".

provider "registry.terraform.io/hashicorp/null" {
  version     = "2.1.2"
  constraints = "~> 2.1"
  hashes = [
    "h1:CFnENdqQu4g3LJNevA32aDxcUz2qGkRGQpFfkI8TCdE=",
    "zh:0b4b8b4c5c3a0d5e4c3c1e2b0f4f1d2b1c3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8",
  ]
}

provider "example.com/acme/widget" {
  version = "0.3.0"
  hashes = ["h1:abc="]
}
"""


def test_parse_lock_file() -> None:
    locked = parse_lock_file(LOCK)
    assert set(locked) == {"registry.terraform.io/hashicorp/null", "example.com/acme/widget"}
    null = locked["registry.terraform.io/hashicorp/null"]
    assert null.version == "2.1.2"
    assert "h1:CFnENdqQu4g3LJNevA32aDxcUz2qGkRGQpFfkI8TCdE=" in null.hashes and len(null.hashes) == 2
    assert locked["example.com/acme/widget"].hashes == frozenset({"h1:abc="})


@pytest.mark.parametrize(
    ("name", "source", "address"),
    [
        ("aws", "hashicorp/aws", "registry.terraform.io/hashicorp/aws"),
        ("aws", None, "registry.terraform.io/hashicorp/aws"),
        ("aws", "~> 5.0", "registry.terraform.io/hashicorp/aws"),  # legacy: a version in its place
        ("w", "Example.com/Acme/Widget", "example.com/acme/widget"),
        ("null", "null", "registry.terraform.io/hashicorp/null"),
        ("terraform", "terraform.io/builtin/terraform", None),
    ],
)
def test_provider_address(name: str, source: str | None, address: str | None) -> None:
    assert provider_address(name, source) == address


def test_needed_providers_from_required_and_resource_types() -> None:
    needed = needed_providers({"w": "example.com/acme/widget"}, ["null", "w", "terraform", "random"])
    assert needed == {
        "example.com/acme/widget",
        "registry.terraform.io/hashicorp/null",
        "registry.terraform.io/hashicorp/random",
    }


def _package(cache: Path, address: str, version: str, content: bytes) -> Path:
    d = cache / address / version / "linux_amd64"
    d.mkdir(parents=True)
    (d / "terraform-provider-x").write_bytes(content)
    return d


def test_init_may_write_unless_every_pinned_package_is_cached_with_its_hash(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    pkg = _package(cache, "registry.terraform.io/hashicorp/null", "2.1.2", b"binary")
    h1 = package_hash_v1(pkg)
    lock = tmp_path / ".terraform.lock.hcl"
    lock.write_text(
        f'provider "registry.terraform.io/hashicorp/null" {{\n  version = "2.1.2"\n  hashes = ["{h1}"]\n}}\n'
    )
    null = {"registry.terraform.io/hashicorp/null"}

    def writes(needed: set[str] = null, remote: bool = False, arch: str = "linux_amd64") -> bool:
        return init_may_write_cache(lock, cache, needed, remote_modules=remote, platform_name=arch)

    assert writes() is False
    assert writes(needed=null | {"registry.terraform.io/hashicorp/aws"}) is True  # not pinned yet
    assert writes(remote=True) is True  # a remote module's providers are unknown
    assert writes(arch="darwin_arm64") is True  # not cached for this platform
    (pkg / "terraform-provider-x").write_bytes(b"other binary")  # the cache no longer matches
    assert writes() is True
    lock.unlink()
    assert writes() is True  # no lock file: terraform installs again


def test_two_inits_that_only_link_share_the_cache(tmp_path: Path) -> None:
    lock = PluginCacheLock(tmp_path / ".lock")
    inside = 0
    most = 0
    guard = threading.Lock()

    def hold(writes: bool | None) -> None:
        nonlocal inside, most
        with lock.for_command("init", writes):
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.2)
            with guard:
                inside -= 1

    for writes, expected in ((False, 2), (None, 1), (True, 1)):
        most = 0
        threads = [threading.Thread(target=hold, args=(writes,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert most == expected, writes


@pytest.mark.integration
def test_terraform_pins_the_hash_computed_here_and_a_second_init_only_links(
    newest_repo: Callable[..., Repo],
) -> None:
    files = {f"stacks/s{i}/stack.yaml": "" for i in range(2)}
    files.update({f"stacks/s{i}/main.tf": NULL_STACK for i in range(2)})
    repo = newest_repo(files)
    assert repo.orchestrate("plan").exit_code == 2
    cache = repo.root / ".orchestrate" / "plugin-cache"
    package = cache / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
    for i in range(2):
        lock = repo.root / f"stacks/s{i}/.terraform.lock.hcl"
        pinned = parse_lock_file(lock.read_text())["registry.terraform.io/hashicorp/null"]
        assert package_hash_v1(package) in pinned.hashes
        assert not init_may_write_cache(
            lock, cache, {"registry.terraform.io/hashicorp/null"}, remote_modules=False
        )
    ws = Workspace.load(repo.root)
    assert init_writes_cache(ws.stacks["s0"], {"TF_PLUGIN_CACHE_DIR": str(cache)}) is False
    assert init_writes_cache(ws.stacks["s0"], {}) is None  # no plugin cache, no lock to take
    (repo.root / "stacks/s1/main.tf").write_text(
        NULL_STACK + 'module "m" {\n  source = "git::https://example.com/m.git"\n}\n'
    )
    ws = Workspace.load(repo.root)
    assert init_writes_cache(ws.stacks["s1"], {"TF_PLUGIN_CACHE_DIR": str(cache)}) is True
    (repo.root / "stacks/s1/main.tf").write_text(NULL_STACK)
    # A fresh init (its data dir gone) with the lock file leaves the cache untouched.
    before = package.lstat().st_ctime_ns
    for work in (repo.root / ".orchestrate" / "work").iterdir():
        (work / "init.json").unlink()
    assert repo.orchestrate("plan").exit_code == 2
    assert package.lstat().st_ctime_ns == before

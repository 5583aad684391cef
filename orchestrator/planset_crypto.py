"""Plan files encrypted at rest with age (issue 12 item 6; docs/engine.md "Secrets at rest").

``plan.tfplan`` and ``plan.json`` hold every value terraform planned, sensitive ones in clear.
With ``plan --encrypt-to age1...`` (or ``plan_sets.encrypt_to``) both are written as age files
(X25519 recipients, the format of the ``age`` CLI and sops): the plan job needs only the public
key. Whoever applies holds the identity in ``ORCHESTRATE_AGE_IDENTITY`` (the
``AGE-SECRET-KEY-1...`` text itself, or the path of an identity file as ``age-keygen -o``
writes it).

Decrypted bytes are kept in memory (plan.json) or written only into the stack's work
directory, terraform's own (``.orchestrate/work/<slug>/plain/``, for ``show -json`` and
``apply``), under a name of their own with mode 0600, and removed when done, errors and
SIGINT/SIGTERM included. The manifest records the recipients; its digests are of the files
as stored (the ciphertext): they are checked before anything is decrypted, and a file whose
form (age or clear) is not the one the manifest records is refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pyrage
from pyrage import x25519

from orchestrator.errors import ConfigError, PlanSetError
from orchestrator.locks import pid_alive

AGE_HEADER = b"age-encryption.org/v1\n"
IDENTITY_ENV = "ORCHESTRATE_AGE_IDENTITY"
PLAIN_DIR = "plain"  # under a stack's work directory: decrypted plans while terraform reads them
_SECRET_PREFIX = "AGE-SECRET-KEY-1"


def parse_recipient(text: str) -> x25519.Recipient:
    """An age X25519 recipient (``age1...``), or one clear error."""
    try:
        return x25519.Recipient.from_str(text.strip())
    except (pyrage.RecipientError, ValueError):
        if text.strip().upper().startswith(_SECRET_PREFIX):
            shown = "an age identity (a secret key)"
            hint = "Pass the public key (age1...) that `age-keygen -y IDENTITY_FILE` prints, never the secret key."
        else:
            shown = repr(text[:80])
            hint = "Pass the public key printed by `age-keygen` (age1...), e.g. --encrypt-to age1ql3z7hjy..."
        raise ConfigError(f"{shown} is not an age recipient (age1...)", hint=hint) from None


def recipients(texts: Sequence[str]) -> list[x25519.Recipient]:
    """Parsed recipients, each once, in the order given."""
    return [parse_recipient(t) for t in dict.fromkeys(t.strip() for t in texts)]


def recipient_texts(texts: Sequence[str]) -> list[str]:
    """The canonical text of each recipient, each once (what the manifest records)."""
    return [str(r) for r in recipients(texts)]


def is_encrypted(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(AGE_HEADER)) == AGE_HEADER
    except OSError:
        return False


def encrypt_into(plain: Path, dest: Path, to: Sequence[x25519.Recipient]) -> None:
    """Write ``plain`` encrypted to ``dest`` (``plain`` is left for the caller to remove)."""
    dest.write_bytes(pyrage.encrypt(plain.read_bytes(), list(to)))


def check_form(path: Path, encrypted: bool, *, what: str) -> None:
    """Refuse a file whose form is not the one the manifest records (``what`` names it)."""
    _refuse_other_form(path, is_encrypted(path), encrypted, what)


def _refuse_other_form(path: Path, actual: bool, encrypted: bool, what: str) -> None:
    if actual == encrypted:
        return
    if encrypted:
        problem = f"{what} is not encrypted but the manifest says the plan set is (age)"
    else:
        problem = f"{what} is an age file but the manifest says the plan set is not encrypted"
    raise PlanSetError(
        problem,
        where=str(path),
        hint="The plan set was altered after planning; never edit a plan set, plan again. Nothing was applied.",
    )


def _identity_text(raw: str, hint: str) -> str:
    if raw.upper().startswith(_SECRET_PREFIX):
        return raw
    try:
        return Path(raw).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as exc:
        # never quote the variable: a mistyped key is still a secret
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable text"
        raise PlanSetError(
            f"{IDENTITY_ENV} is neither an age identity nor a readable identity file ({reason})",
            hint=hint,
        ) from None


def load_identities() -> list[x25519.Identity]:
    """The identities in $ORCHESTRATE_AGE_IDENTITY: the key text itself or an identity file."""
    raw = os.environ.get(IDENTITY_ENV, "").strip()
    hint = (
        f"Set {IDENTITY_ENV} to the AGE-SECRET-KEY-1... line of the identity made with `age-keygen`, "
        "or to the path of that identity file. Nothing was applied."
    )
    if not raw:
        raise PlanSetError(f"the plan set is encrypted and {IDENTITY_ENV} is not set", hint=hint)
    text = _identity_text(raw, hint)
    keys = [line.strip() for line in text.splitlines() if line.strip().upper().startswith(_SECRET_PREFIX)]
    found: list[x25519.Identity] = []
    for key in keys:
        try:
            found.append(x25519.Identity.from_str(key))
        except (pyrage.IdentityError, ValueError):
            raise PlanSetError(f"{IDENTITY_ENV} holds a malformed age identity", hint=hint) from None
    if not found:
        raise PlanSetError(f"{IDENTITY_ENV} holds no age identity (AGE-SECRET-KEY-1...)", hint=hint)
    return found


def identity_available() -> bool:
    """Whether $ORCHESTRATE_AGE_IDENTITY is set (readers that can do without decrypting ask first)."""
    return bool(os.environ.get(IDENTITY_ENV, "").strip())


def decrypt_bytes(data: bytes, where: Path) -> bytes:
    """Decrypt an age file's bytes in memory, or raise one clear PlanSetError."""
    identities = load_identities()
    try:
        plain: bytes = pyrage.decrypt(data, list(identities))
        return plain
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            problem = f"{IDENTITY_ENV} is not an identity {where.name} was encrypted to"
            hint = (
                "Use the identity matching a public key the plan was encrypted to (the manifest's "
                "encryption.recipients). Nothing was applied."
            )
        else:
            problem = f"{where.name} is a damaged age file"
            hint = "The plan set was altered or truncated; plan again. Nothing was applied."
        raise PlanSetError(f"cannot decrypt {where.name}: {problem}", where=str(where), hint=hint) from None


def read_stored(path: Path, *, encrypted: bool, what: str) -> bytes:
    """A plan set file's content in memory, decrypted when the manifest says it is encrypted."""
    data = path.read_bytes()
    _refuse_other_form(path, data.startswith(AGE_HEADER), encrypted, what)
    return decrypt_bytes(data, path) if encrypted else data


def plain_dir(work_dir: Path) -> Path:
    """Where decrypted and not yet encrypted plan files live, inside terraform's work directory."""
    out = work_dir / PLAIN_DIR
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    return out


def sweep_dead(parent: Path) -> list[Path]:
    """Remove ``run-<pid>-*`` directories whose process is gone (a ``kill -9`` of orchestrate
    skips its clean-up); a live process's directory is never touched. Returns what was removed."""
    removed = []
    for entry in parent.glob("run-*-*"):
        pid = entry.name.split("-")[1]
        if entry.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextmanager
def plain_workspace(work_dir: Path) -> Iterator[Path]:
    """A private directory under ``work_dir`` for clear plan files, removed with its content on
    the way out (errors, SIGINT and SIGTERM unwind through here); what a killed orchestrate
    left behind is removed first."""
    parent = plain_dir(work_dir)
    sweep_dead(parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def plain_plan_file(plan_file: Path, work_dir: Path, *, encrypted: bool, what: str) -> Iterator[Path]:
    """The plan file terraform can read: itself when in clear, else decrypted into ``work_dir``
    (the stack's work directory) for the duration of the block and removed afterwards."""
    check_form(plan_file, encrypted, what=what)
    if not encrypted:
        yield plan_file
        return
    plain = decrypt_bytes(plan_file.read_bytes(), plan_file)
    with plain_workspace(work_dir) as tmp:
        out = tmp / plan_file.name
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(plain)
        yield out

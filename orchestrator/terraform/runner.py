"""The one place that runs terraform: argv building (pure) and a single subprocess call site.

Every command runs as ``terraform -chdir=<stack dir> <subcommand> ...`` with an explicit
environment (never by mutating ``os.environ``), its output streamed line by line into a
per-stack log file (redacted), a timeout, and SIGINT/SIGTERM passed on: terraform gets a
SIGINT so it can stop cleanly and release its state lock; if it has not exited after a
grace period it is killed. Failures are classified into the error hierarchy (state lock
held, stale plan, providers not installable, plain failure) by a pure function.

python-terraform was rejected for this job (docs/decisions.md): no per-call environment,
no streaming, no timeout, broken ``apply <planfile>`` and ``destroy``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from orchestrator.errors import Interrupted, StalePlanError, StateLockError, TerraformError
from orchestrator.redact import Redactor
from orchestrator.terraform.binary import TerraformBinary
from orchestrator.terraform.init_errors import InitProblem, init_problems

# Terraform stops cleanly on the first SIGINT (it releases its state lock); a second one
# or SIGKILL can leave the lock behind, so it gets this long before being killed.
GRACE_SECONDS = 20.0

AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}


class InitUnreachable(TerraformError):
    """terraform init could not reach a provider registry, module registry or module source.

    ``problems`` says which and why; nothing in the configuration is known to be wrong.
    """

    def __init__(
        self, message: str, *, problems: tuple[InitProblem, ...], where: str | None, hint: str
    ) -> None:
        super().__init__(message, where=where, hint=hint)
        self.problems = problems


class InitFailed(TerraformError):
    """terraform init failed on the configuration: a provider or module that does not exist, a checksum."""


class TerraformTimeout(TerraformError):
    """A terraform command ran longer than terraform.timeout."""


class InitRequired(TerraformError):
    """terraform says the working directory needs `terraform init` (again)."""


class CorruptStateError(TerraformError):
    """The state cannot be read: not JSON, no version, truncated."""


# Terraform reports an unreadable state inside a state-lock error (it fails to read the
# state while locking it): these come first, or a corrupt state reads as "locked".
_CORRUPT_STATE = (
    "Unsupported state file format",
    "Failed to load state",
    "state snapshot was created by Terraform",
    "Failed to read state file",
)
_STATE_PROBLEM = re.compile(r"^-?\s*Unsupported state file format:\s*(.+?)(?:\n\s*\n|\n-|\Z)", re.M | re.S)


# ---------------------------------------------------------------- argv building (pure)


def chdir(directory: Path) -> str:
    return f"-chdir={directory}"


def init_args(
    directory: Path, *, backend_config: Path | None = None, backend: bool = True, reconfigure: bool = False
) -> list[str]:
    args = [chdir(directory), "init", "-input=false", "-no-color"]
    if not backend:
        args.append("-backend=false")
    else:
        if backend_config is not None:
            args.append(f"-backend-config={backend_config}")
        if reconfigure:
            args.append("-reconfigure")
    return args


def plan_args(
    directory: Path,
    out: Path,
    *,
    var_files: Sequence[str] = (),
    destroy: bool = False,
    refresh_only: bool = False,
    lock_timeout: str | None = None,
    targets: Sequence[str] = (),
) -> list[str]:
    args = [chdir(directory), "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={out}"]
    if destroy:
        args.append("-destroy")
    if refresh_only:
        args.append("-refresh-only")
    if lock_timeout:
        args.append(f"-lock-timeout={lock_timeout}")
    args += [f"-var-file={f}" for f in var_files]
    args += [f"-target={t}" for t in targets]
    return args


def show_json_args(directory: Path, plan: Path) -> list[str]:
    return [chdir(directory), "show", "-json", "-no-color", str(plan)]


def apply_args(directory: Path, plan: Path, *, lock_timeout: str | None = None) -> list[str]:
    # A saved plan is applied without a prompt; -auto-approve is neither needed nor wanted.
    args = [chdir(directory), "apply", "-input=false", "-no-color"]
    if lock_timeout:
        args.append(f"-lock-timeout={lock_timeout}")
    return [*args, str(plan)]


def output_json_args(directory: Path) -> list[str]:
    return [chdir(directory), "output", "-json", "-no-color"]


def validate_json_args(directory: Path) -> list[str]:
    return [chdir(directory), "validate", "-json", "-no-color"]


def state_pull_args(directory: Path) -> list[str]:
    return [chdir(directory), "state", "pull"]


def compose_env(base: Mapping[str, str], *layers: Mapping[str, str]) -> dict[str, str]:
    """A fresh environment: ``base`` (a copy of os.environ), then each layer, then automation flags."""
    env = dict(base)
    for layer in layers:
        env.update(layer)
    env.update(AUTOMATION_ENV)
    return env


# ---------------------------------------------------------------- failure classification (pure)

_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):\s*(.*)$", re.M)
_ERROR_LINE = re.compile(r"^(?:│\s*)?Error:\s*(.+)$", re.M)
# Network failures init_problems did not attribute to a provider or module: still offline.
_OFFLINE = ("could not connect to", "Failed to request discovery document", "no such host")
_OFFLINE_HINT = (
    "Run `orchestrate emulate up` to use the stand-in providers, or configure a provider mirror "
    "(TF_CLI_CONFIG_FILE) and vendor or mirror the modules"
)
_INIT_NEEDED = (
    "Module not installed",
    "Required plugins are not installed",
    "Backend initialization required",
    "Inconsistent dependency lock file",
    "Backend configuration changed",
    "missing or corrupted provider plugins",
    'please run "terraform init"',
    'Run "terraform init"',
    "Module source has changed",
    "Plugin reinitialization required",
)


@dataclass(frozen=True)
class LockInfo:
    id: str | None = None
    path: str | None = None
    operation: str | None = None
    who: str | None = None
    created: str | None = None

    def describe(self) -> str:
        parts = []
        if self.who:
            parts.append(f"held by {self.who}")
        if self.operation:
            parts.append(f"for {self.operation.removeprefix('OperationType').lower()}")
        if self.created:
            parts.append(f"since {self.created}")
        if self.id:
            parts.append(f"lock id {self.id}")
        return ", ".join(parts) or "holder unknown"


def parse_lock_info(text: str) -> LockInfo:
    fields_ = {k.lower(): v.strip() for k, v in _LOCK_FIELD.findall(text)}
    return LockInfo(
        id=fields_.get("id") or None,
        path=fields_.get("path") or None,
        operation=fields_.get("operation") or None,
        who=fields_.get("who") or None,
        created=fields_.get("created") or None,
    )


@dataclass(frozen=True)
class Caller:
    """Who ran the failed terraform command and when (epoch seconds), as terraform's lock names it."""

    who: str
    started: float


def this_caller(duration: float) -> Caller:
    """This process's user@host (terraform's ``Who``) and when a command that took ``duration`` began."""
    import pwd
    import socket

    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = ""
    return Caller(f"{user}@{socket.gethostname()}", time.time() - duration)


def lock_created(created: str) -> float | None:
    """Epoch seconds of terraform's ``Created`` (``2026-12-03 14:35:27.817371378 +0000 UTC``)."""
    from datetime import datetime

    parts = created.split()
    if len(parts) < 3:
        return None
    day, clock, offset = parts[0], parts[1], parts[2]
    whole, _, fraction = clock.partition(".")
    try:
        stamp = datetime.strptime(
            f"{day} {whole}.{(fraction or '0')[:6]:0<6} {offset}", "%Y-%m-%d %H:%M:%S.%f %z"
        )
    except ValueError:
        return None
    return stamp.timestamp()


def is_own_lock(info: LockInfo, caller: Caller) -> bool:
    """True when the lock was taken by this user on this host after the failed command began:
    then it is almost surely that command's own lock, left when terraform retried its lock write
    after the first answer was lost (the write was stored, the retry then found it and waited)."""
    if info.who != caller.who or info.created is None:
        return False
    created = lock_created(info.created)
    return created is not None and created >= caller.started - 1.0


def first_error(text: str) -> str | None:
    m = _ERROR_LINE.search(text)
    return m.group(1).strip() if m else None


def classify_failure(
    subcommand: str,
    output: str,
    *,
    where: str | None,
    log: Path | None,
    unlock_hint: str | None = None,
    caller: Caller | None = None,
) -> TerraformError:
    """The error for a failed terraform command, from what it printed (pure)."""
    # The hint is shown after the message, or in parentheses after it: no nested parentheses.
    see_log = f"log: {log}" if log else "See terraform's output above."
    if any(s in output for s in _CORRUPT_STATE):
        m = _STATE_PROBLEM.search(output)
        problem = " ".join(m.group(1).split()) if m else (first_error(output) or "unreadable")
        return CorruptStateError(
            f"the terraform state is corrupt: {problem}",
            where=where,
            hint="Restore it from a backup (terraform.tfstate.backup beside a local state, or the "
            "backend's object versioning); orchestrate never rewrites a state it cannot read"
            + (f"; {see_log}" if log else "."),
        )
    if "Error acquiring the state lock" in output or "Error locking state" in output:
        info = parse_lock_info(output)
        unlock = unlock_hint.replace("{id}", info.id) if info.id and unlock_hint else None
        if caller is not None and is_own_lock(info, caller):
            hint = (
                "The lock was taken on this machine by this user after this command started: it is "
                "most likely this command's own, left when terraform retried its lock write after "
                "losing the answer. If no other run works on this state"
                + (f", clear it: {unlock}" if unlock else ", clear it with terraform force-unlock")
            )
            return StateLockError(f"the terraform state is locked: {info.describe()}", where=where, hint=hint)
        hint = "Wait for the other run to finish."
        if unlock:
            hint += f" If it is dead, clear the lock: {unlock}"
        return StateLockError(f"the terraform state is locked: {info.describe()}", where=where, hint=hint)
    if "Saved plan is stale" in output:
        return StalePlanError(
            "the state changed since this plan was made (terraform: Saved plan is stale)",
            where=where,
            hint="Plan again and get the new plan approved.",
        )
    if subcommand == "init" and (problems := init_problems(output)):
        return _init_error(problems, where=where, see_log=see_log if log else None)
    if subcommand == "init" and any(s in output for s in _OFFLINE):
        return InitUnreachable(
            "terraform init could not reach the network (offline)",
            problems=(),
            where=where,
            hint=_OFFLINE_HINT + (f"; {see_log}" if log else "."),
        )
    if subcommand != "init" and any(s in output for s in _INIT_NEEDED):
        return InitRequired(
            f"terraform {subcommand} needs init again: {first_error(output) or 'init required'}", where=where
        )
    message = first_error(output) or (output.strip().splitlines() or ["no output"])[-1][:200]
    return TerraformError(f"terraform {subcommand} failed: {message}", where=where, hint=see_log)


def _init_error(problems: list[InitProblem], *, where: str | None, see_log: str | None) -> TerraformError:
    """One error for every install failure of an init: definite ones first, network ones unchecked."""
    definite = [p for p in problems if not p.unreachable]
    text = "; ".join(p.describe() for p in (definite or problems))
    tail = f"; {see_log}" if see_log else "."
    if definite:
        return InitFailed(f"terraform init failed: {text}", where=where, hint="Fix the source address" + tail)
    return InitUnreachable(
        f"could not install: {text}", problems=tuple(problems), where=where, hint=_OFFLINE_HINT + tail
    )


# ---------------------------------------------------------------- running (the one call site)


class CancelToken:
    """Shared by every run of one command: an interrupt reaches every live terraform."""

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.grace = grace
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self.interrupted = threading.Event()
        self.signal_name: str | None = None

    def register(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.add(proc)
            if self.interrupted.is_set():
                _send(proc, signal.SIGINT)

    def unregister(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def interrupt(self, signal_name: str = "SIGINT") -> None:
        """Ask every running terraform to stop (SIGINT); a watchdog kills what outlives the grace."""
        first = not self.interrupted.is_set()
        self.interrupted.set()
        self.signal_name = self.signal_name or signal_name
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _send(proc, signal.SIGINT)
        if first and procs:
            threading.Thread(target=self._kill_after_grace, daemon=True).start()

    def _kill_after_grace(self) -> None:
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            with self._lock:
                if not self._procs:
                    return
            time.sleep(0.1)
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _send(proc, signal.SIGKILL)

    def live(self) -> int:
        with self._lock:
            return len(self._procs)


def _reap_group(pgid: int) -> None:
    """Kill what terraform left behind in its own process group once it has exited.

    A terraform that is killed (SIGKILL, OOM) cannot stop its provider plugins; they would live
    on, holding memory and sometimes its pipes. The group is terraform's alone
    (start_new_session), so nothing else is touched.
    """
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _send(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration: float

    @property
    def output(self) -> str:
        return self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr


class _Output:
    """What terraform printed, collected while it runs: redacted into the log and to on_line."""

    def __init__(self, redactor: Redactor, log_fh: IO[str] | None, on_line: Callable[[str], None] | None):
        self.redactor = redactor
        self.log_fh = log_fh
        self.on_line = on_line
        self.write_lock = threading.Lock()
        self.out: list[str] = []
        self.err: list[str] = []

    def take(self, raw: bytes, sink: list[str], logged: bool) -> None:
        line = raw.decode("utf-8", errors="replace")
        sink.append(line)
        if logged and self.log_fh is not None:
            with self.write_lock:
                self.log_fh.write(self.redactor.text(line))
                self.log_fh.flush()
        if self.on_line is not None:
            self.on_line(self.redactor.text(line.rstrip("\n")))

    def pump(self, stream: IO[bytes], sink: list[str], to_file: IO[bytes] | None, logged: bool) -> None:
        """Read a pipe to its end, into ``to_file`` when given, else line by line into ``sink``."""
        for raw in iter(stream.readline, b""):
            if to_file is not None:
                to_file.write(raw)
            else:
                self.take(raw, sink, logged)
        stream.close()

    def tail(self, path: Path, proc: subprocess.Popen[bytes]) -> None:
        """Follow the file terraform writes until it has exited and the file is read to its end."""
        with path.open("rb") as fh:
            pending = b""
            exited = False
            while True:
                chunk = fh.read(1 << 16)
                if chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    for raw in lines:
                        self.take(raw + b"\n", self.out, True)
                elif exited:  # read once more after the exit: nothing is left behind
                    if pending:
                        self.take(pending, self.out, True)
                    return
                elif proc.poll() is not None:
                    exited = True
                else:
                    time.sleep(0.05)


@dataclass
class Runner:
    """Runs terraform for one command invocation of orchestrate (shared by every stack)."""

    binary: TerraformBinary
    redactor: Redactor = field(default_factory=Redactor)
    cancel: CancelToken = field(default_factory=CancelToken)
    timeout: float | None = None
    # Held around each command (the plugin cache's readers-writer lock): by subcommand, and
    # whether the command may write the cache (None: only ``init`` may).
    guard: Callable[[str, bool | None], AbstractContextManager[None]] | None = None

    def argv(self, args: Sequence[str]) -> list[str]:
        return [self.binary.path, *args]

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        log: Path | None = None,
        stdout_path: Path | None = None,
        ok_codes: Iterable[int] = (0,),
        where: str | None = None,
        on_line: Callable[[str], None] | None = None,
        unlock_hint: str | None = None,
        log_stdout: bool = True,
        output_file: Path | None = None,
        on_start: Callable[[int], None] | None = None,
        cache_write: bool | None = None,
    ) -> Result:
        """Run terraform; raise a classified TerraformError unless the exit code is in ``ok_codes``.

        stdout goes to ``stdout_path`` when given (large JSON), else it is captured; both
        streams are appended to ``log`` (redacted) unless ``log_stdout`` is False.

        With ``output_file`` (apply), terraform writes its output into that file rather than
        into a pipe, and it is read by tailing: a terraform whose orchestrate is killed (kill -9)
        then finishes its work and writes its state instead of dying on its next write to a
        closed pipe. ``on_start`` gets terraform's pid (for the stack lock).
        """
        subcommand = next((a for a in args if not a.startswith("-")), "terraform")
        if self.cancel.interrupted.is_set():
            raise Interrupted(f"interrupted before terraform {subcommand}", where=where)
        with self.guard(subcommand, cache_write) if self.guard is not None else nullcontext():
            return self._run(
                subcommand,
                args,
                env=env,
                log=log,
                stdout_path=stdout_path,
                ok_codes=ok_codes,
                where=where,
                on_line=on_line,
                unlock_hint=unlock_hint,
                log_stdout=log_stdout,
                output_file=output_file,
                on_start=on_start,
            )

    def _run(
        self,
        subcommand: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        log: Path | None,
        stdout_path: Path | None,
        ok_codes: Iterable[int],
        where: str | None,
        on_line: Callable[[str], None] | None,
        unlock_hint: str | None,
        log_stdout: bool,
        output_file: Path | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Result:
        argv = self.argv(args)
        started = time.monotonic()
        log_fh = log.open("a", encoding="utf-8") if log else None
        out_fh = stdout_path.open("wb") if stdout_path else None
        try:
            if log_fh:
                log_fh.write(f"$ terraform {' '.join(args)}\n")
                log_fh.flush()
            proc = self._start(argv, env, output_file, where)
            self.cancel.register(proc)
            if on_start is not None:
                on_start(proc.pid)
            output = _Output(self.redactor, log_fh, on_line)
            if output_file is not None:
                threads = [threading.Thread(target=output.tail, args=(output_file, proc), daemon=True)]
            else:
                assert proc.stdout is not None and proc.stderr is not None
                threads = [
                    threading.Thread(
                        target=output.pump, args=(proc.stdout, output.out, out_fh, log_stdout), daemon=True
                    ),
                    threading.Thread(
                        target=output.pump, args=(proc.stderr, output.err, None, True), daemon=True
                    ),
                ]
            for t in threads:
                t.start()
            timed_out = self._wait(proc)
            _reap_group(proc.pid)
            for t in threads:
                t.join()
            self.cancel.unregister(proc)
            duration = time.monotonic() - started
            result = Result(list(args), proc.returncode, "".join(output.out), "".join(output.err), duration)
            if log_fh:
                log_fh.write(f"# exit {proc.returncode} after {duration:.1f}s\n")
        finally:
            if log_fh:
                log_fh.close()
            if out_fh:
                out_fh.close()
        self._check_result(subcommand, result, timed_out, ok_codes, where, log, unlock_hint)
        return result

    def _start(
        self, argv: list[str], env: Mapping[str, str], output_file: Path | None, where: str | None
    ) -> subprocess.Popen[bytes]:
        """Terraform in its own session, its output piped or written straight to ``output_file``."""
        raw_fh = output_file.open("wb") if output_file is not None else None
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=raw_fh if raw_fh is not None else subprocess.PIPE,
                stderr=subprocess.STDOUT if raw_fh is not None else subprocess.PIPE,
                env=dict(env),
                # Its own session: a Ctrl-C at the terminal reaches orchestrate only, which
                # passes one SIGINT on (two would make terraform abandon its state lock);
                # a killed orchestrate does not take terraform with it.
                start_new_session=True,
            )
        except OSError as exc:
            raise TerraformError(
                f"cannot run {self.binary.path}: {exc.strerror or exc}",
                where=where,
                hint="Check the terraform installation (terraform.binary in orchestrate.yaml).",
            ) from exc
        finally:
            if raw_fh is not None:
                raw_fh.close()  # terraform holds its own descriptor

    def _check_result(
        self,
        subcommand: str,
        result: Result,
        timed_out: bool,
        ok_codes: Iterable[int],
        where: str | None,
        log: Path | None,
        unlock_hint: str | None,
    ) -> None:
        """Raise for a timeout, an interruption, a kill by signal or an exit code not in ``ok_codes``."""
        if timed_out:
            raise TerraformTimeout(
                f"terraform {subcommand} timed out after {self.timeout:.0f}s and was stopped",
                where=where,
                hint="Raise terraform.timeout in orchestrate.yaml, or find what hangs in the log"
                + (f" ({log})" if log else "")
                + ".",
            )
        if self.cancel.interrupted.is_set() and result.returncode not in set(ok_codes):
            raise Interrupted(
                f"terraform {subcommand} was interrupted ({self.cancel.signal_name or 'SIGINT'})", where=where
            )
        if result.returncode < 0:
            name = signal.Signals(-result.returncode).name
            raise TerraformError(
                f"terraform {subcommand} was killed by {name}",
                where=where,
                hint="Run the command again; if the state is locked, the error will name the lock to clear.",
            )
        if result.returncode not in set(ok_codes):
            # What terraform printed goes into error messages, results and the audit log: redacted.
            raise classify_failure(
                subcommand,
                self.redactor.text(result.output),
                where=where,
                log=log,
                unlock_hint=unlock_hint,
                caller=this_caller(result.duration),
            )

    def _wait(self, proc: subprocess.Popen[bytes]) -> bool:
        """Wait for the process; on timeout stop it (SIGINT, then SIGKILL) and return True."""
        if self.timeout is None:
            proc.wait()
            return False
        try:
            proc.wait(timeout=self.timeout)
            return False
        except subprocess.TimeoutExpired:
            _send(proc, signal.SIGINT)
            try:
                proc.wait(timeout=self.cancel.grace)
            except subprocess.TimeoutExpired:
                _send(proc, signal.SIGKILL)
                proc.wait()
            return True


def install_signal_forwarding(cancel: CancelToken) -> Callable[[], None]:
    """While terraform runs, SIGINT/SIGTERM stop it cleanly instead of killing orchestrate.

    Returns a function restoring the previous handlers. Only the main thread may install
    handlers; elsewhere (tests, embedding) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}

    def handler(signum: int, frame: object) -> None:
        del frame
        cancel.interrupt(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore

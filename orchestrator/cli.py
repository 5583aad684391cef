"""The `orchestrate` command line: parses options, runs one command, maps errors to exit codes.

Each command lives in ``orchestrator/commands/<module>.py`` as a click command named
``command`` and is imported only when invoked (``list`` must not pay for boto3).
Exit codes (SPEC §5): 0 done, nothing to change; 2 changes or drift; 1 error;
3 blocked by a policy; 130 interrupted.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from orchestrator import __version__
from orchestrator.app import App
from orchestrator.errors import EXIT_ERROR, EXIT_INTERRUPTED, OrchestratorError

# command name -> module under orchestrator.commands, in the order `--help` lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Scaffold orchestrate.yaml for an existing repository (atlantis.yaml, Terramate)."),
    "list": ("list_stacks", "Stacks in run order with cloud, environment and dependencies."),
    "graph": ("graph", "The dependency graph as Mermaid, DOT or JSON."),
    "validate": ("validate", "Check configuration, the graph and every stack's Terraform."),
    "plan": ("plan", "Plan stacks in dependency order, check policies, write a plan set."),
    "apply": ("apply", "Apply an approved plan set in dependency order."),
    "destroy": ("destroy", "Destroy stacks in reverse dependency order (approval required)."),
    "drift": ("drift", "Scan for drift between state and the live clouds."),
    "policy": ("policy", "Evaluate policies on a plan set."),
    "planset": ("planset", "Work with plan sets: merge the parts of a fanned-out plan (plan --shard)."),
    "matrix": ("matrix", "A GitHub Actions matrix (JSON) for fanning stacks out over jobs."),
    "schema": ("schema", "The JSON Schema of orchestrate.yaml or stack.yaml."),
    "emulate": ("emulate", "Local emulated clouds for trying the tool and for tests."),
    "history": ("history", "Applies on record (git notes), newest first."),
    "envs": ("envs", "Environments: the consistency report (envs diff)."),
    "set-var": ("set_var", "Set a variable in a stack's tfvars, on a branch with a pull request."),
    "status": ("status", "Sync status per stack: applied commit, out of sync, drift, open PRs."),
    "revert": ("revert", "Undo a commit or return stacks to a recorded apply, through a pull request."),
}


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(f"orchestrator.commands.{module}") is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in COMMANDS if _available(n)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(f"orchestrator.commands.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above so `--help` imports no command module.
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository root [the nearest directory with orchestrate.yaml, else the git root, else cwd].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Root configuration file [<repo>/orchestrate.yaml].",
)
@click.option("--json", "json_output", is_flag=True, help="Machine output on stdout; human text on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="More detail, and tracebacks on errors.")
@click.option("--no-color", is_flag=True, help="No colour in human output (NO_COLOR is honoured too).")
@click.version_option(__version__, prog_name="orchestrate")
@click.pass_context
def cli(
    ctx: click.Context,
    repo: Path | None,
    config_file: Path | None,
    json_output: bool,
    verbose: bool,
    no_color: bool,
) -> None:
    """A GitOps loop over Terraform and OpenTofu stacks across AWS, GCP and Azure."""
    if repo is not None and not repo.is_dir():
        raise OrchestratorError(
            f"--repo {repo}: not a directory", hint="Pass the path of the repository that holds your stacks."
        )
    ctx.obj = App(
        repo=repo, config_file=config_file, json_output=json_output, verbose=verbose, no_color=no_color
    )


def _print_error(message: str, no_color: bool) -> None:
    from orchestrator.ui import err_console, safe_for_log

    console = err_console(no_color)
    console.print("error: ", style="bold red", end="", markup=False)
    console.print(safe_for_log(message), markup=False)


def _raise_interrupt(signum: int, frame: object) -> None:
    del signum, frame
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> Callable[[], None]:
    """SIGTERM (a cancelled CI job, a container stop) unwinds like Ctrl-C: locks are released
    and temporary files removed (exit 130). While terraform runs, the engine's own handler
    takes over and stops it cleanly first. Returns a function restoring the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and exit with the code SPEC §5 gives."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a in ("-v", "--verbose") for a in args)
    no_color = "--no-color" in args
    restore = _sigterm_as_interrupt()
    try:
        result = cli.main(args=args, prog_name="orchestrate", standalone_mode=False)
    except OrchestratorError as exc:
        _print_error(exc.render(), no_color)
        if verbose:
            traceback.print_exc()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _print_error("interrupted", no_color)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _print_error("interrupted", no_color)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        _print_error(
            f"internal error: {type(exc).__name__}: {exc}\n  This is a bug in orchestrate; "
            "run again with -v for the traceback and report it.",
            no_color,
        )
        sys.exit(EXIT_ERROR)
    finally:
        restore()
    sys.exit(result if isinstance(result, int) else 0)

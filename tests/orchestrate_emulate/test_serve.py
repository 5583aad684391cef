"""An emulator run as a process (what `orchestrate emulate up` starts) keeps its state across restarts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _start(kind: str, tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    ready = tmp / f"{kind}.ready"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrate_emulate.serve", kind, "--ready-file", str(ready), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(
                f"{kind} did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        time.sleep(0.02)
    return proc, json.loads(ready.read_text())["url"]


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


@pytest.mark.integration
def test_gcp_process_restarts_with_its_projects(tmp_path: Path) -> None:
    data = tmp_path / "gcp.json"
    proc, url = _start("gcp", tmp_path, "--data", str(data))
    body = json.dumps({"projectId": "acme-dev", "labels": {"env": "dev"}}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}/v3/projects", data=body, method="POST"))
    assert _stop(proc) == 0
    port = url.rsplit(":", 1)[1]
    proc, url2 = _start("gcp", tmp_path, "--data", str(data), "--port", port, "--any-port")
    try:
        project = json.loads(urllib.request.urlopen(f"{url2}/v3/projects/acme-dev").read())
        assert project["labels"] == {"env": "dev"}
    finally:
        _stop(proc)


@pytest.mark.integration
def test_a_taken_port_fails_clearly_unless_any_port_is_allowed(tmp_path: Path) -> None:
    proc, url = _start("azure", tmp_path)
    port = url.rsplit(":", 1)[1]
    try:
        taken = subprocess.run(
            [sys.executable, "-m", "orchestrate_emulate.serve", "aws", "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taken.returncode == 1 and "cannot listen" in taken.stderr
        other, other_url = _start("aws", tmp_path, "--port", port, "--any-port")
        assert other_url != url
        assert json.loads(urllib.request.urlopen(f"{url}/_emulator/health").read())["kind"] == "azure"
        _stop(other)
    finally:
        _stop(proc)

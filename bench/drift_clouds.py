"""Drift at cloud scale: 10,000 managed resources across AWS, GCP and Azure (prints figures).

    python bench/drift_clouds.py [--resources 10000] [--stacks 30]

One run builds three estates — GCP buckets and networks in the GCP emulator, Azure storage
accounts and virtual networks in the ARM emulator, AWS VPCs, subnets, security groups and IAM
roles in moto — with state files in the providers' shapes, then per cloud:

- the batched scan (``orchestrate drift --mode api`` in-process: Cloud Asset Inventory,
  Resource Graph, the AWS list calls), its HTTP requests counted by the emulators' request
  logs (and botocore's ``before-send`` for AWS, attempts included);
- one read per resource (GCP ``buckets.get`` / ``networks.get``, ARM ``resources.get_by_id``,
  AWS one describe per resource), 16 threads, counted the same way.

Prints calls per resource and the wall-time ratio per cloud (targets: <= 0.02 calls per
resource on GCP and Azure). The GCP and Azure emulators add ``--latency`` (30 ms) to every
request, a network round trip, so the wall times compare call patterns as on a network; moto
answers at once (its own work per call is the cost there).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drift import BATCHED, Calls, build, naive  # noqa: E402
from orchestrate_emulate.azure_api import AzureEmulator  # noqa: E402
from orchestrate_emulate.gcp_api import GcpEmulator  # noqa: E402
from orchestrator.drift.aws import AwsReader  # noqa: E402
from orchestrator.drift.azure import AzureReader  # noqa: E402
from orchestrator.drift.gcp import GcpReader  # noqa: E402
from orchestrator.drift.scan import ScanIO, ScanOptions, scan  # noqa: E402
from orchestrator.workspace import Workspace  # noqa: E402
from tests.drift import statefiles as sf  # noqa: E402

SUB = "33333333-3333-3333-3333-333333333333"
PROJECT = "acme-bench"
WORKERS = 16


def http(url: str, method: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def stack_dir(repo: Path, sid: str, cloud: str) -> Path:
    d = repo / "stacks" / sid
    d.mkdir(parents=True)
    (d / "stack.yaml").write_text(f"cloud: {cloud}\n")
    (d / "main.tf").write_text("# resources created by bench/drift_clouds.py\n")
    return d


def build_gcp(gcp: GcpEmulator, repo: Path, n: int, stacks: int) -> list[tuple[str, str]]:
    """Buckets (80 %) and networks; returns (type, id) per managed resource."""
    http(f"{gcp.url}/v3/projects", "POST", {"projectId": PROJECT, "displayName": "bench"})
    made: list[tuple[str, str]] = []
    per = n // stacks
    for s in range(stacks):
        sid = f"gcp/s{s:02d}"
        stack_dir(repo, sid, "gcp-bench")
        inst = []
        for i in range(per):
            if i % 5:
                name = f"bench-{s:02d}-{i:05d}"
                labels = {"stack": f"s{s:02d}"}
                http(
                    f"{gcp.url}/storage/v1/b?project={PROJECT}",
                    "POST",
                    {"name": name, "location": "EU", "labels": labels},
                )
                attrs = sf.google_storage_bucket(name, PROJECT, "EU", labels)
                inst.append(
                    sf.Instance(
                        "google_storage_bucket",
                        "b",
                        attrs,
                        index_key=i,
                        schema_version=1,
                        provider=sf.GOOGLE_PROVIDER,
                    )
                )
                made.append(("google_storage_bucket", name))
            else:
                name = f"net-{s:02d}-{i:05d}"
                http(
                    f"{gcp.url}/compute/v1/projects/{PROJECT}/global/networks",
                    "POST",
                    {"name": name, "autoCreateSubnetworks": False},
                )
                attrs = sf.google_compute_network(PROJECT, name)
                inst.append(
                    sf.Instance(
                        "google_compute_network", "n", attrs, index_key=i, provider=sf.GOOGLE_PROVIDER
                    )
                )
                made.append(("google_compute_network", attrs["id"]))
        sf.write_state(repo / ".orchestrate" / "state" / sid / "terraform.tfstate", inst)
    return made


def build_azure(arm: AzureEmulator, repo: Path, n: int, stacks: int) -> list[tuple[str, str]]:
    """Storage accounts and virtual networks (half each), one resource group per stack."""
    made: list[tuple[str, str]] = []
    per = n // stacks
    for s in range(stacks):
        sid = f"azure/s{s:02d}"
        stack_dir(repo, sid, "azure-bench")
        group = f"/subscriptions/{SUB}/resourceGroups/bench-{s:02d}"
        http(f"{arm.url}{group}?api-version=2024-03-01", "PUT", {"location": "westeurope"})
        inst = [
            sf.Instance(
                "azurerm_resource_group",
                "g",
                sf.azurerm_resource_group(group, "westeurope"),
                provider=sf.AZURERM_PROVIDER,
            )
        ]
        made.append(("azurerm_resource_group", group))
        tags = {"stack": f"s{s:02d}"}
        for i in range(per - 1):
            if i % 2:
                rid = f"{group}/providers/Microsoft.Storage/storageAccounts/bench{s:02d}{i:05d}"
                body = {
                    "location": "westeurope",
                    "sku": {"name": "Standard_LRS"},
                    "kind": "StorageV2",
                    "tags": tags,
                    "properties": {"allowBlobPublicAccess": True},
                }
                http(f"{arm.url}{rid}?api-version=2023-01-01", "PUT", body)
                attrs = sf.azurerm_storage_account(
                    rid, "westeurope", "k3y-bench-0000000000000000000000", tags
                )
                inst.append(
                    sf.Instance(
                        "azurerm_storage_account",
                        "a",
                        attrs,
                        index_key=i,
                        schema_version=4,
                        provider=sf.AZURERM_PROVIDER,
                    )
                )
                made.append(("azurerm_storage_account", rid))
            else:
                rid = f"{group}/providers/Microsoft.Network/virtualNetworks/vnet-{i:05d}"
                body = {
                    "location": "westeurope",
                    "tags": tags,
                    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}},
                }
                http(f"{arm.url}{rid}?api-version=2024-01-01", "PUT", body)
                attrs = sf.azurerm_virtual_network(rid, "westeurope", ["10.0.0.0/16"], tags)
                inst.append(
                    sf.Instance(
                        "azurerm_virtual_network", "v", attrs, index_key=i, provider=sf.AZURERM_PROVIDER
                    )
                )
                made.append(("azurerm_virtual_network", rid))
        sf.write_state(repo / ".orchestrate" / "state" / sid / "terraform.tfstate", inst)
    return made


def timed_scan(repo: Path, readers: dict[str, Any]) -> tuple[float, Any]:
    ws = Workspace.load(repo, use_cache=False)
    started = time.perf_counter()
    report, _ = scan(
        ws, list(ws.graph.order), ScanOptions(), ScanIO(readers=readers, commit=lambda root: None)
    )
    return time.perf_counter() - started, report


def per_resource_gcp(gcp: GcpEmulator, made: list[tuple[str, str]]) -> float:
    def read(item: tuple[str, str]) -> None:
        rtype, rid = item
        path = f"/storage/v1/b/{rid}" if rtype == "google_storage_bucket" else f"/compute/v1/{rid}"
        http(gcp.url + path, "GET")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(read, made))
    return time.perf_counter() - started


def per_resource_azure(arm: AzureEmulator, made: list[tuple[str, str]]) -> float:
    from tests.fakes.clouds import arm_client

    client = arm_client(arm.url, SUB)
    versions = {
        "azurerm_resource_group": "2024-03-01",
        "azurerm_storage_account": "2023-01-01",
        "azurerm_virtual_network": "2024-01-01",
    }
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda item: client.resources.get_by_id(item[1], api_version=versions[item[0]]), made))
    return time.perf_counter() - started


def line(
    cloud: str, n: int, scan_s: float, scan_calls: int, base_s: float, base_calls: int, report: Any
) -> None:
    s = report.summary()
    print(f"\n== {cloud}: {n} managed resources; report exit {report.exit_code}, {s['resources']} compared "
          f"(api {s['coverage']['api']}, none {s['coverage']['none']}), {s['changed']} changed, {s['missing']} missing, "
          f"{s['unmanaged']} unmanaged")  # fmt: skip
    print(
        f"   batched scan     : {scan_s:7.2f} s  {scan_calls:6d} calls  {scan_calls / n:.4f} calls/resource"
    )
    print(
        f"   1 read/resource  : {base_s:7.2f} s  {base_calls:6d} calls  {base_calls / n:.4f} calls/resource"
    )
    print(
        f"   wall-time ratio  : {base_s / scan_s:6.1f}x faster; calls ratio {base_calls / max(scan_calls, 1):.0f}x fewer"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--stacks", type=int, default=30, help="stacks per cloud")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.03,
        help="seconds the GCP and Azure emulators add to every request (a network round trip) [0.03]",
    )
    args = parser.parse_args()
    share = {"gcp": round(args.resources * 0.35), "azure": round(args.resources * 0.35)}
    share["aws"] = args.resources - share["gcp"] - share["azure"]
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    aws_endpoint = f"http://127.0.0.1:{moto._server.server_port}"
    with GcpEmulator() as gcp, AzureEmulator() as arm, tempfile.TemporaryDirectory() as tmp:
        try:
            t0 = time.perf_counter()
            results = {}
            for cloud in ("gcp", "azure", "aws"):
                repo = Path(tmp) / cloud
                repo.mkdir()
                clouds = {
                    "gcp": f"  gcp-bench: {{provider: gcp, project: {PROJECT}, endpoint: '{gcp.url}'}}\n",
                    "azure": f"  azure-bench: {{provider: azure, subscription_id: {SUB}, endpoint: '{arm.url}'}}\n",
                }
                if cloud == "aws":
                    aws_stacks = min(args.stacks, 10)  # bench.drift.build numbers VPC CIDRs per stack
                    scale = share["aws"] / (aws_stacks * sum(BATCHED.values()))
                    n = build(aws_endpoint, repo, aws_stacks, BATCHED, scale)
                    results[cloud] = (repo, n)
                    continue
                (repo / "orchestrate.yaml").write_text("version: 1\nclouds:\n" + clouds[cloud])
                made = (build_gcp if cloud == "gcp" else build_azure)(
                    gcp if cloud == "gcp" else arm, repo, share[cloud], args.stacks
                )  # type: ignore[operator]
                results[cloud] = (repo, made)
            print(f"built {args.resources} resources in {time.perf_counter() - t0:.0f} s")
            gcp.latency = arm.latency = args.latency
            print(
                f"GCP and Azure emulators answer each request after {args.latency * 1000:.0f} ms; moto at once"
            )

            repo, made = results["gcp"]
            timed_scan(repo, {"gcp": lambda r: GcpReader(r)})  # warm: SDK modules loaded
            gcp.requests.clear()
            wall, report = timed_scan(repo, {"gcp": lambda r: GcpReader(r)})
            calls = len(gcp.requests)
            gcp.requests.clear()
            base = per_resource_gcp(gcp, made)
            line("GCP (Cloud Asset Inventory)", len(made), wall, calls, base, len(gcp.requests), report)

            repo, made = results["azure"]
            timed_scan(repo, {"azure": lambda r: AzureReader(r)})
            arm.requests.clear()
            wall, report = timed_scan(repo, {"azure": lambda r: AzureReader(r)})
            calls = len(arm.requests)
            arm.requests.clear()
            base = per_resource_azure(arm, made)
            line("Azure (Resource Graph)", len(made), wall, calls, base, len(arm.requests), report)

            repo, n = results["aws"]
            counted = Calls()
            readers = {"aws": lambda r: AwsReader(r, counted.session())}
            timed_scan(repo, readers)
            counted.by_op.clear()
            wall, report = timed_scan(repo, readers)
            base, base_calls = naive(repo, aws_endpoint)
            line("AWS (batched list calls)", n, wall, counted.total, base, base_calls.total, report)
        finally:
            moto.stop()


if __name__ == "__main__":
    main()

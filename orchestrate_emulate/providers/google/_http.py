"""JSON over HTTP to the GCP emulator's Storage and Compute APIs (no client library needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class NotFound(Exception):
    """The API answered 404 (the class name is what the resources test for)."""


def call(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        endpoint + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        if exc.code == 404:
            raise NotFound(detail) from exc
        raise RuntimeError(f"{method} {path}: {exc.code} {detail}") from exc
    return json.loads(raw) if raw else None

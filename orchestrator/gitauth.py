"""The workflow token for orchestrate's own git pushes and fetches, and for nothing else (pure).

The shipped workflows check out with ``persist-credentials: false``, so ``.git/config`` holds
no credentials and nothing a job runs can read them there. orchestrate still has to push what
it writes to the remote (the apply records under refs/notes/orchestrate, drift branches). It
does that with the token it already holds for GitHub's API (GITHUB_TOKEN), given to that one git
subprocess only, as GitHub's own checkout does it: an ``http.<server>/.extraheader`` with basic
auth, passed through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` in that
subprocess's environment. Never written to ``.git/config``, never on a command line (which
``ps`` shows), never in a message. git scopes the header to URLs under the server, so a remote
elsewhere (or an ssh remote) never receives it.

:func:`without_token` is the other half: an environment handed to terraform loses every
``GIT_CONFIG_*`` entry that carries the token (a workflow may still export one for a step).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

DEFAULT_SERVER = "https://github.com"
TOKEN_ENV = "GITHUB_TOKEN"
TOKEN_ENVS = ("GITHUB_TOKEN", "GH_TOKEN")  # orchestrate's GitHub credential, under either name
_BASE64 = re.compile(r"[A-Za-z0-9+/]{8,}")  # a basic-auth credential, quoted or not
_CONFIG_ENTRY = re.compile(r"^GIT_CONFIG_(KEY|VALUE)_(\d+)$")


def server_url(env: Mapping[str, str]) -> str:
    """GITHUB_SERVER_URL (GitHub Enterprise Server has its own), else github.com."""
    return (env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER).rstrip("/")


def header(token: str) -> str:
    """The header actions/checkout configures for the workflow token."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"AUTHORIZATION: basic {basic}"


def serves(remote_url: str, server: str) -> bool:
    """``remote_url`` is a repository on ``server`` over HTTP(S) (not ssh, not another host)."""
    if not server.lower().startswith(("https://", "http://")):
        return False
    return remote_url.lower().startswith(server.lower() + "/")


def auth_env(env: Mapping[str, str], remote_url: str) -> dict[str, str]:
    """The GIT_CONFIG_* variables that authenticate one git command to ``remote_url`` with the
    token in ``env``; empty without a token, for a remote elsewhere, or when ``env`` already
    carries a GIT_CONFIG_COUNT git would refuse. Entries already in ``env`` are kept (appended to)."""
    token = env.get(TOKEN_ENV)
    server = server_url(env)
    if not token or not serves(remote_url, server):
        return {}
    given = env.get("GIT_CONFIG_COUNT", "").strip() or "0"
    if not given.isdigit():
        return {}
    n = int(given)
    return {
        "GIT_CONFIG_COUNT": str(n + 1),
        f"GIT_CONFIG_KEY_{n}": f"http.{server}/.extraheader",
        f"GIT_CONFIG_VALUE_{n}": header(token),
    }


def secrets_of(env: Mapping[str, str]) -> list[str]:
    """The token values in ``env`` and their header forms, for redaction."""
    out: list[str] = []
    for name in TOKEN_ENVS:
        token = env.get(name)
        if token:
            out += [token, header(token).split()[-1]]
    return out


def redact(text: str, env: Mapping[str, str]) -> str:
    for secret in secrets_of(env):
        text = text.replace(secret, "***")
    return text


def _carries(value: str, tokens: list[str]) -> bool:
    if any(t in value for t in tokens):
        return True
    for word in _BASE64.findall(value):
        try:
            decoded = base64.b64decode(word + "=" * (-len(word) % 4), validate=True).decode(
                "utf-8", "replace"
            )
        except (binascii.Error, ValueError):
            continue
        if any(t in decoded for t in tokens):
            return True
    return False


def without_token(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the GIT_CONFIG_* entries (and GIT_CONFIG_PARAMETERS) that carry the
    GitHub token, the other entries renumbered; unchanged when no token is set."""
    tokens = [env[name] for name in TOKEN_ENVS if env.get(name)]
    if not tokens:
        return dict(env)
    out = {k: v for k, v in env.items() if not _CONFIG_ENTRY.match(k) and k != "GIT_CONFIG_COUNT"}
    if _carries(env.get("GIT_CONFIG_PARAMETERS", ""), tokens):
        out.pop("GIT_CONFIG_PARAMETERS", None)
    given = env.get("GIT_CONFIG_COUNT", "").strip()
    if not given.isdigit():
        # git refuses a bogus count, and reads no entry without one: keep what is harmless.
        out.update({k: v for k, v in env.items() if _CONFIG_ENTRY.match(k) and not _carries(v, tokens)})
        if given:
            out["GIT_CONFIG_COUNT"] = given
        return out
    kept = [
        (env.get(f"GIT_CONFIG_KEY_{i}", ""), env.get(f"GIT_CONFIG_VALUE_{i}", ""))
        for i in range(int(given))
        if not _carries(env.get(f"GIT_CONFIG_VALUE_{i}", ""), tokens)
        and not _carries(env.get(f"GIT_CONFIG_KEY_{i}", ""), tokens)
    ]
    for i, (key, value) in enumerate(kept):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    if kept:
        out["GIT_CONFIG_COUNT"] = str(len(kept))
    return out

"""What the stand-in providers share: serving over the plugin protocol, base classes, errors.

Built on the ``tf`` framework (plugin protocol 6). Three things it does not do are done here:

- **plans on create**: ``tf`` never calls ``Resource.plan()`` when a resource is created, so
  attributes the real providers know at plan time (``tags_all``, ``terraform_labels``) would
  stay "(known after apply)"; our servicer calls it.
- **replacement for blocks**: ``requires_replace`` only exists for attributes; a resource lists
  the blocks whose change forces a new resource in ``replace_blocks``.
- **no writable $HOME needed**: ``tf`` caches its TLS certificate under ``$HOME/.cache`` and
  fails when that is not writable; the cache goes to ``$ORCHESTRATE_EMULATE_CACHE`` (the
  launchers set it) or another writable directory of ours.

Errors of the cloud SDKs become Terraform diagnostics ("creating S3 Bucket (x): Code: message"),
never tracebacks. A failed update or delete keeps the prior state, so nothing is lost from state.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from tf import iface
from tf.schema import Schema
from tf.types import Unknown

State = dict[str, Any]
T = TypeVar("T")

HOST = "registry.terraform.io"
NAMESPACE = "hashicorp"

# Objects a warm parent (the zygote) prepared before forking this provider: "botocore_loader".
WARM: dict[str, Any] = {}


class ProviderError(Exception):
    """An error to show the user as it is (no SDK detail to translate)."""


# ---------------------------------------------------------------- errors


# botocore, requests (google-api-core's REST transport) and azure-core names for "nobody answers"
_CONNECTION_ERRORS = {
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ConnectTimeoutError",
    "ConnectionError",
    "ServiceRequestError",
}


def describe_error(exc: BaseException) -> str:
    """One line for a cloud SDK error: its code and message, without a traceback."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:  # botocore ClientError
        err = response["Error"]
        return f"{err.get('Code', type(exc).__name__)}: {err.get('Message', '')}".rstrip(": ")
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if code:  # azure-core HttpResponseError with an ARM error body
        return f"{code}: {getattr(error, 'message', '') or exc}"
    if type(exc).__name__ in _CONNECTION_ERRORS:
        return f"{type(exc).__name__}: {exc} (is the emulated cloud running? `orchestrate emulate up`)"
    if isinstance(exc, ProviderError):
        return str(exc)
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:  # google-api-core
        return f"{type(exc).__name__}: {message}"
    return f"{type(exc).__name__}: {exc}"


def known(state: State) -> State:
    """``state`` with values not known yet (computed attributes of a plan) as None."""
    return {k: None if v is Unknown else v for k, v in state.items()}


# ---------------------------------------------------------------- tags and labels


def merge_tags(defaults: dict[str, Any] | None, tags: Any) -> Any:
    """``tags_all``: the provider's default tags overlaid by the resource's own."""
    if tags is Unknown or defaults is Unknown:
        return Unknown
    merged = dict(defaults or {})
    merged.update(tags or {})
    return merged


def own_tags(live: dict[str, str], defaults: dict[str, Any] | None, prior: Any) -> dict[str, str] | None:
    """``tags`` after a read: the live tags without the default tags they only inherit."""
    own = {
        k: v for k, v in live.items() if not (defaults and defaults.get(k) == v and k not in (prior or {}))
    }
    if not own and prior is None:
        return None
    return own


# ---------------------------------------------------------------- base classes


class _Schemaful:
    """Name and schema (built once per class) shared by resources and data sources."""

    name: ClassVar[str]
    _schema: ClassVar[Schema | None] = None

    def __init__(self, provider: BaseProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.name

    @classmethod
    def build_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def get_schema(cls) -> Schema:
        if cls.__dict__.get("_schema") is None:
            cls._schema = cls.build_schema()
        assert cls._schema is not None
        return cls._schema


class BaseResource(_Schemaful, iface.Resource):  # type: ignore[misc]
    """A resource type: a name, a schema, and do_create/do_read/do_update/do_delete."""

    name: ClassVar[str]  # without the provider prefix: "s3_bucket"
    display: ClassVar[str] = "resource"  # in messages: "S3 Bucket"
    replace_blocks: ClassVar[tuple[str, ...]] = ()

    # -------------------------------------------------- what subclasses implement

    def do_create(self, planned: State) -> State | None:
        raise NotImplementedError

    def do_read(self, current: State) -> State | None:
        """The live state; None when the resource is gone."""
        raise NotImplementedError

    def do_update(self, current: State, planned: State) -> State | None:
        raise NotImplementedError

    def do_delete(self, current: State) -> None:
        raise NotImplementedError

    def do_plan(self, current: State | None, planned: State) -> State:
        """Fill in what is known at plan time (current is None on create)."""
        return planned

    def import_state(self, resource_id: str) -> State:
        """A minimal state for ``terraform import`` (read fills in the rest)."""
        raise ProviderError(f"{self.display} does not support import")

    def label(self, state: State | None) -> str:
        state = state or {}
        for key in ("id", "name", "bucket"):
            value = state.get(key)
            if isinstance(value, str) and value:
                return value
        return "?"

    # -------------------------------------------------- the framework's interface

    def _guard(self, ctx: Any, verb: str, state: State | None, fn: Callable[[], T], fallback: T) -> T:
        try:
            return fn()
        except Exception as exc:
            ctx.diagnostics.add_error(f"{verb} {self.display} ({self.label(state)}): {describe_error(exc)}")
            return fallback

    def create(self, ctx: Any, planned: State) -> State | None:
        return self._guard(ctx, "creating", planned, lambda: self.do_create(known(planned)), None)

    def read(self, ctx: Any, current: State) -> State | None:
        keep: State | None = current
        return self._guard(ctx, "reading", current, lambda: self.do_read(current), keep)

    def update(self, ctx: Any, current: State, planned: State) -> State | None:
        keep: State | None = current
        return self._guard(ctx, "updating", current, lambda: self.do_update(current, known(planned)), keep)

    def delete(self, ctx: Any, current: State) -> State | None:
        def run() -> None:
            self.do_delete(current)

        failed = object()
        result = self._guard(ctx, "deleting", current, run, failed)
        return current if result is failed else None

    def plan(self, ctx: Any, current: State | None, planned: State) -> State:
        return self._guard(ctx, "planning", planned, lambda: self.do_plan(current, planned), planned)

    def import_(self, ctx: Any, id: str) -> State | None:
        return self._guard(ctx, "importing", {"id": id}, lambda: self.do_read(self.import_state(id)), None)

    def upgrade(self, ctx: Any, version: int, old: State) -> State:
        return old


class BaseDataSource(_Schemaful, iface.DataSource):  # type: ignore[misc]
    display: ClassVar[str] = "data source"

    def do_read(self, config: State) -> State | None:
        raise NotImplementedError

    def read(self, ctx: Any, config: State) -> State | None:
        try:
            return self.do_read(config)
        except Exception as exc:
            ctx.diagnostics.add_error(f"reading {self.display}: {describe_error(exc)}")
            return None


class BaseProvider(iface.Provider):  # type: ignore[misc]
    """A stand-in provider under registry.terraform.io/hashicorp/<name>."""

    name: ClassVar[str]  # "aws"
    resources: ClassVar[list[type[BaseResource]]] = []
    data_sources: ClassVar[list[type[BaseDataSource]]] = []

    def __init__(self) -> None:
        self.config: State = {}
        self.configure_error: str | None = None

    def get_model_prefix(self) -> str:
        return f"{self.name}_"

    def full_name(self) -> str:
        return f"{HOST}/{NAMESPACE}/{self.name}"

    def build_schema(self) -> Schema:
        return Schema(version=0)

    def get_provider_schema(self, diags: Any) -> Schema:
        return self.build_schema()

    def validate_config(self, diags: Any, config: State) -> None:
        pass

    def configure(self, config: State) -> None:
        """Read the provider block and the environment; raise ProviderError when unusable."""

    def configure_provider(self, diags: Any, config: State) -> None:
        self.config = config or {}
        try:
            self.configure(self.config)
        except Exception as exc:
            diags.add_error(f"configuring the emulated {self.name} provider: {describe_error(exc)}")

    def get_data_sources(self) -> list[type[BaseDataSource]]:
        return list(self.data_sources)

    def get_resources(self) -> list[type[BaseResource]]:
        return list(self.resources)


# ---------------------------------------------------------------- serving


def _cert_cache_path() -> Path:
    """Where ``tf`` keeps its self-signed certificate: a private directory we can write."""
    candidates: list[Path] = []
    if os.environ.get("ORCHESTRATE_EMULATE_CACHE"):
        candidates.append(Path(os.environ["ORCHESTRATE_EMULATE_CACHE"]))
    try:
        candidates.append(Path.home() / ".cache" / "tf-python-provider")
    except RuntimeError:
        pass
    candidates.append(Path(tempfile.gettempdir()) / f"orchestrate-emulate-{os.getuid()}")
    for d in candidates:
        try:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if d.stat().st_uid == os.getuid() and os.access(d, os.W_OK):
                return d / "ssl_cert.json"
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="orchestrate-emulate-")) / "ssl_cert.json"


def _cached_cert() -> tuple[bytes, Any]:
    """``tf``'s TLS certificate without importing cryptography on every start.

    The framework parses its cached certificate with cryptography (~40 ms of each start, and
    Terraform starts a provider three to five times a plan) to check its expiry. We record the
    expiry beside it once and read only that afterwards; a missing, corrupt or expiring
    certificate goes back to the framework, which makes a new one.
    """
    import base64
    import json
    import time

    path = _cert_cache_path()
    try:
        data = json.loads(path.read_text())
        if float(data["not_after"]) > time.time() + 3600:
            import grpc  # type: ignore[import-untyped]

            creds = grpc.ssl_server_credentials(
                [(data["key_pem"].encode(), data["cert_pem"].encode())], require_client_auth=False
            )
            return base64.b64decode(data["cert_chain"]), creds
    except (OSError, ValueError, KeyError, TypeError):
        pass
    chain, creds = _framework_cert()
    try:
        from cryptography import x509

        data = json.loads(path.read_text())
        cert = x509.load_pem_x509_certificate(data["cert_pem"].encode())
        data["not_after"] = cert.not_valid_after_utc.timestamp()
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        with open(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except (OSError, ValueError, KeyError):
        pass
    return chain, creds


def _framework_cert() -> tuple[bytes, Any]:
    from tf import runner

    make: Callable[[], tuple[bytes, Any]] = _ORIGINAL_CERT.get("fn") or runner._self_signed_cert
    return make()


_ORIGINAL_CERT: dict[str, Callable[[], tuple[bytes, Any]]] = {}


def _servicer_class() -> type:
    """``tf``'s servicer, planning creates through ``Resource.plan`` and replacing on block changes."""
    from tf import provider as tfp
    from tf.gen import tfplugin_pb2 as pb
    from tf.utils import Diagnostics, _to_attribute_path

    class Servicer(tfp.ProviderServicer):  # type: ignore[misc]
        def PlanResourceChange(self, request: Any, context: Any) -> Any:
            type_name = request.type_name
            attrs = self._get_res_attrs(type_name)
            blocks = self._get_res_blocks(type_name)
            diags = Diagnostics()
            _, prior = tfp._decode_state(diags, attrs, blocks, request.prior_state)
            proposed_enc, proposed = tfp._decode_state(diags, attrs, blocks, request.proposed_new_state)
            klass = self._get_res_cls(type_name)
            if diags.has_errors() or proposed is None or prior is not None:
                response = super().PlanResourceChange(request, context)
                if prior is not None and proposed is not None:
                    for name in getattr(klass, "replace_blocks", ()):
                        if not blocks[name].semantically_equal(
                            prior.get(name) or [], proposed.get(name) or []
                        ):
                            response.requires_replace.append(_to_attribute_path([name]))
                return response
            planned: State = {}
            for k, v in proposed.items():
                if k in blocks or v is not None:
                    planned[k] = v
                elif not attrs[k].computed:
                    planned[k] = None
                else:
                    planned[k] = attrs[k].default
            inst = self.app.new_resource(klass)
            planned = inst.plan(
                iface.PlanContext(diags, type_name, changed_fields=set(planned)), None, planned
            )
            return pb.PlanResourceChange.Response(
                planned_state=tfp._encode_state(attrs, blocks, planned, proposed_enc),
                diagnostics=diags.to_pb(),
            )

    return Servicer


def serve(provider: BaseProvider) -> None:
    """Run ``provider`` as a Terraform plugin (the go-plugin handshake goes to stdout)."""
    warnings.simplefilter("ignore")  # nothing but the handshake may reach stdout
    from tf import provider as tfp
    from tf import runner

    runner._get_cert_cache_path = _cert_cache_path
    _ORIGINAL_CERT.setdefault("fn", runner._self_signed_cert)
    runner._self_signed_cert = _cached_cert
    tfp.ProviderServicer = _servicer_class()
    runner.run_provider(provider, sys.argv)

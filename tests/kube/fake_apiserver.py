"""A fake Kubernetes API server that the tests own, driven by the official ``kubernetes`` client.

No kube-apiserver can be installed where the tests run (docs/ARCHITECTURE.md, Tests), so this
module serves the part of the Kubernetes REST API that pac-tui uses, over plain HTTP on 127.0.0.1,
from an aiohttp server in a background thread. The client reaches it through a kubeconfig
(:func:`write_kubeconfig`), exactly as it would reach a kind cluster.

Faithful, because pac-tui depends on it:

- REST paths ``/api/v1/...`` and ``/apis/GROUP/VERSION/...``, namespaced and all-namespaces
  lists, and discovery: ``/version`` (v1.31.0), ``/api``, ``/apis``, ``/api/v1``,
  ``/apis/GROUP[/VERSION]``.
- Resources come from one registry of kinds (group, version, plural, kind, scope): core
  ``namespaces``, ``secrets``, ``configmaps``, ``events``; ``coordination.k8s.io`` ``leases``;
  ``apiextensions.k8s.io`` ``customresourcedefinitions``. A custom resource is served only while
  its CRD is stored (:meth:`FakeApiServer.install_crd`, or a POST of the CRD); otherwise its paths
  answer 404 "the server could not find the requested resource".
- Every error is a ``Status`` with the apiserver's message, reason and details: 401, 403 (the RBAC
  message), 404, 409 AlreadyExists and Conflict, 422 Invalid (with causes), 400, 405, 415.
- ``resourceVersion`` is one global counter, like etcd's revision. Every write bumps it, except a
  write that changes nothing (a no-op update or patch), which the real apiserver does not store
  either. A PUT with a stale ``resourceVersion`` is a 409 Conflict; a PUT without one is
  unconditional for built-in kinds and a 422 for custom resources. A patch that carries
  ``metadata.resourceVersion`` is a precondition.
- PATCH: ``merge-patch+json`` (RFC 7386), ``json-patch+json`` (RFC 6902, all six operations; a
  failed ``test`` is a 422) and ``strategic-merge-patch+json`` for built-in kinds only (custom
  resources answer 415, as the real one).
- Secrets: ``stringData`` is folded into base64 ``data`` and never returned; ``data`` must be
  base64 (400, as the apiserver's decoder answers); data keys are validated; ``type`` defaults to
  ``Opaque`` and is immutable, and so is the data of an ``immutable`` Secret.
- Custom objects get ``generation`` 1, bumped when anything but metadata and status changes. With
  a status subresource the main endpoint keeps the stored ``status`` and ``/status`` changes only
  that. The CRD's openAPIV3Schema prunes unknown fields, applies defaults and checks ``type``,
  ``required``, ``enum``, ``minimum`` and ``maximum``.
- Label selectors (``=``, ``==``, ``!=``, ``in``, ``notin``, ``key``, ``!key``), field selectors on
  ``metadata.name`` and ``metadata.namespace`` (and ``type`` for Secrets), ``limit``/``continue``.
- Bearer tokens (401 otherwise) and RBAC as a deny list (403), or, for a user given rules with
  :meth:`FakeApiServer.grant`, as the allow list a Role's rules make.
- ``dryRun=All`` on create, update and patch: authorized, validated and answered as if written
  (a stale ``resourceVersion`` is still a 409), nothing stored, no ``before_write`` hook; any
  other ``dryRun`` value is a 400.
- Events (``/api/v1/namespaces/NS/events``): ``involvedObject.namespace`` must be the Event's
  namespace; field selectors on ``involvedObject.*``, ``reason``, ``type`` as kubectl describe
  uses them.

Not faithful, on purpose:

- No watch: ``?watch=true`` answers 405 at once instead of streaming.
- No server-side apply (``apply-patch+yaml`` → 415), no ``deletecollection``,
  no ``managedFields``, no finalizers or graceful deletion: deleting a Namespace or a CRD removes
  what it holds at once. A CRD is Established as soon as it is stored.
- Strategic merge patch is merge patch: lists are replaced rather than merged by key, and
  ``$patch``-style directives are refused (400).
- ``continue`` pages show the latest state, not a snapshot at the first page's resourceVersion.
- Authorization allows everything that is not denied (unless the user was given rules); no TLS,
  admission or conversion webhooks (all served versions of a CRD share one storage and differ
  only in ``apiVersion``).
- :meth:`FakeApiServer.silence` makes it accept connections and never answer, as an apiserver
  behind a stuck load balancer does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import os
import random
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from aiohttp import web

Obj = dict[str, Any]

ADMIN_USER = "kubernetes-admin"
ADMIN_TOKEN = "admin-token"

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
WRITE_VERBS = frozenset({"create", "update", "patch", "delete"})

VERSION_INFO: Obj = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "9befa2e0f4d85e8e3ad2b1c3f3c2c0a6d2b4f3e1",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


# --------------------------------------------------------------------------------------------
# The registry of kinds


@dataclass(frozen=True)
class ResourceKind:
    """One REST resource the server serves, and the rules that differ between resources."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    custom: bool = False
    generation: bool = False
    status_subresource: bool = False
    singular: str = ""
    short_names: tuple[str, ...] = ()
    schema: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``secrets``, ``repositories.pipelinesascode.tekton.dev``: how messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        """``Secret``, ``Lease.coordination.k8s.io``: how Invalid messages name it."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


NAMESPACES = ResourceKind(
    "", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",)
)
SECRETS = ResourceKind("", "v1", "secrets", "Secret")
CONFIGMAPS = ResourceKind("", "v1", "configmaps", "ConfigMap", short_names=("cm",))
LEASES = ResourceKind("coordination.k8s.io", "v1", "leases", "Lease")
EVENTS = ResourceKind("", "v1", "events", "Event", short_names=("ev",))
CRDS = ResourceKind(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
    generation=True,
    status_subresource=True,
    short_names=("crd", "crds"),
)
BUILTIN_KINDS = (NAMESPACES, SECRETS, CONFIGMAPS, EVENTS, LEASES, CRDS)


def kinds_from_crd(crd: Mapping[str, Any]) -> tuple[ResourceKind, ...]:
    """The kinds a CustomResourceDefinition serves: one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    return tuple(
        ResourceKind(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            custom=True,
            generation=True,
            status_subresource="status" in (version.get("subresources") or {}),
            singular=names.get("singular") or names["kind"].lower(),
            short_names=tuple(names.get("shortNames") or ()),
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
        )
        for version in spec.get("versions") or ()
        if version.get("served", True)
    )


def load_crd(path: str | os.PathLike[str]) -> Obj:
    """Read a CRD from a YAML file (the first document that is a CustomResourceDefinition)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        for document in yaml.load_all(handle, Loader=loader):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                return document
    raise ValueError(f"{path}: no CustomResourceDefinition in it")


# --------------------------------------------------------------------------------------------
# Status objects


class ApiError(Exception):
    """A failure, answered with a ``Status`` object as the apiserver writes it."""

    def __init__(
        self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = dict(self.details)
        body["code"] = self.code
        return body


REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class Cause(NamedTuple):
    """One field error of a 422 Invalid."""

    reason: str
    field: str
    message: str


def _details(kind: ResourceKind, name: str | None = None, **extra: Any) -> Obj:
    """StatusDetails: empty fields left out (omitempty), ``kind`` is the resource (plural)."""
    details = {"name": name, "group": kind.group, "kind": kind.plural, **extra}
    return {key: value for key, value in details.items() if value}


def not_found(kind: ResourceKind, name: str) -> ApiError:
    message = f'{kind.group_resource} "{name}" not found'
    return ApiError(404, "NotFound", message, _details(kind, name))


def already_exists(kind: ResourceKind, name: str) -> ApiError:
    message = f'{kind.group_resource} "{name}" already exists'
    return ApiError(409, "AlreadyExists", message, _details(kind, name))


def conflict(kind: ResourceKind, name: str, why: str = MODIFIED) -> ApiError:
    message = f'Operation cannot be fulfilled on {kind.group_resource} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(kind, name))


def forbidden(
    kind: ResourceKind,
    name: str | None,
    user: str,
    verb: str,
    namespace: str | None,
    subresource: str | None = None,
) -> ApiError:
    what = f'{kind.group_resource} "{name}"' if name else kind.group_resource
    resource = f"{kind.plural}/{subresource}" if subresource else kind.plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{what} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{kind.group}" {scope}'
    )
    return ApiError(403, "Forbidden", message, _details(kind, name))


def invalid(kind: ResourceKind, name: str, causes: list[Cause]) -> ApiError:
    texts = [f"{cause.field}: {cause.message}" for cause in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = {
        "name": name,
        "group": kind.group,
        "kind": kind.kind,
        "causes": [
            {"reason": cause.reason, "message": cause.message, "field": cause.field}
            for cause in causes
        ],
    }
    message = f'{kind.group_kind} "{name}" is invalid: {summary}'
    return ApiError(
        422, "Invalid", message, {key: value for key, value in details.items() if value}
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    message = "the server does not allow this method on the requested resource"
    return ApiError(405, "MethodNotAllowed", message, {})


def unsupported_media_type(accepted: Iterable[str]) -> ApiError:
    message = (
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted)
    )
    return ApiError(415, "UnsupportedMediaType", message, {})


def internal_error(message: str) -> ApiError:
    return ApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def _go_value(value: Any) -> str:
    """A value as Go's field errors print it: strings quoted, numbers bare."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def _required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))


def _invalid_value(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {_go_value(value)}: {detail}")


# --------------------------------------------------------------------------------------------
# Patches


class PatchError(Exception):
    """A JSON patch that does not apply to the document (the apiserver answers 422)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; `target` is not modified."""
    return _merge(copy.deepcopy(target), patch)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge(target.get(key), value)
    return target


def json_patch(document: Any, operations: list[Any]) -> Any:
    """RFC 6902 JSON patch; `document` is not modified. Raises PatchError."""
    result = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError("an operation is not a JSON object")
        result = _apply_operation(result, operation)
    return result


def _apply_operation(document: Any, operation: Mapping[str, Any]) -> Any:
    op = operation.get("op")
    path = _pointer(operation, "path")
    if op == "add":
        return _add(document, path, copy.deepcopy(_operand(operation)))
    if op == "remove":
        return _remove(document, path)
    if op == "replace":
        return _replace(document, path, copy.deepcopy(_operand(operation)))
    if op == "move":
        source = _pointer(operation, "from")
        value = _get(document, source)
        return _add(_remove(document, source), path, value)
    if op == "copy":
        return _add(document, path, copy.deepcopy(_get(document, _pointer(operation, "from"))))
    if op == "test":
        if not _json_equal(_get(document, path), _operand(operation)):
            raise PatchError(f"testing value {path} failed: test failed")
        return document
    raise PatchError(f"Unexpected kind: {op}")


def _pointer(operation: Mapping[str, Any], key: str) -> str:
    pointer = operation.get(key)
    if not isinstance(pointer, str):
        raise PatchError(f'operation missing "{key}" string')
    if pointer and not pointer.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with a "/": {pointer}')
    return pointer


def _operand(operation: Mapping[str, Any]) -> Any:
    if "value" not in operation:
        raise PatchError(f'{operation.get("op")} operation missing "value"')
    return operation["value"]


def _tokens(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _index(token: str, upper: int, pointer: str) -> int:
    if not re.fullmatch(r"0|[1-9][0-9]*", token) or int(token) > upper:
        raise PatchError(f"index out of bounds: {pointer}")
    return int(token)


def _child(container: Any, token: str, pointer: str) -> Any:
    if isinstance(container, dict) and token in container:
        return container[token]
    if isinstance(container, list):
        return container[_index(token, len(container) - 1, pointer)]
    raise PatchError(f'doc is missing path: "{pointer}": missing value')


def _get(document: Any, pointer: str) -> Any:
    for token in _tokens(pointer):
        document = _child(document, token, pointer)
    return document


def _parent(document: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    container = document
    for token in tokens[:-1]:
        container = _child(container, token, pointer)
    return container, tokens[-1]


def _add(document: Any, pointer: str, value: Any) -> Any:
    if not pointer:
        return value
    container, key = _parent(document, pointer)
    if isinstance(container, dict):
        container[key] = value
    elif isinstance(container, list):
        index = len(container) if key == "-" else _index(key, len(container), pointer)
        container.insert(index, value)
    else:
        raise PatchError(f'doc is missing path: "{pointer}": missing value')
    return document


def _remove(document: Any, pointer: str) -> Any:
    if not pointer:
        raise PatchError("unable to remove the whole document")
    container, key = _parent(document, pointer)
    if isinstance(container, dict) and key in container:
        del container[key]
    elif isinstance(container, list):
        del container[_index(key, len(container) - 1, pointer)]
    else:
        raise PatchError(f'remove operation does not apply: doc is missing path: "{pointer}"')
    return document


def _replace(document: Any, pointer: str, value: Any) -> Any:
    if not pointer:
        return value
    container, key = _parent(document, pointer)
    if isinstance(container, dict) and key in container:
        container[key] = value
    elif isinstance(container, list):
        container[_index(key, len(container) - 1, pointer)] = value
    else:
        raise PatchError(f"replace operation does not apply: doc is missing key: {pointer}")
    return document


def _json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values (Python's `==` would take true for 1)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right


def _has_directive(value: Any) -> bool:
    """Whether a strategic merge patch uses ``$patch``, ``$retainKeys`` and the like."""
    if isinstance(value, dict):
        return any(key.startswith("$") or _has_directive(item) for key, item in value.items())
    if isinstance(value, list):
        return any(map(_has_directive, value))
    return False


# --------------------------------------------------------------------------------------------
# Selectors

_LABEL_KEY = r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_LABEL_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


class Requirement(NamedTuple):
    """One term of a label selector."""

    key: str
    operator: str  # "in" (also = and ==), "notin" (also !=), "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "in":
            return present and labels[self.key] in self.values
        if self.operator == "notin":
            return not present or labels[self.key] not in self.values
        return present if self.operator == "exists" else not present


def _split_terms(text: str) -> list[str]:
    """Split on the commas that are not inside ``in (a,b)``."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    terms.append(current.strip())
    return [term for term in terms if term]


def parse_label_selector(text: str) -> list[Requirement]:
    requirements = []
    for term in _split_terms(text):
        if match := re.fullmatch(rf"!\s*({_LABEL_KEY})", term):
            requirements.append(Requirement(match[1], "!"))
        elif match := re.fullmatch(rf"({_LABEL_KEY})\s+(in|notin)\s+\(([^()]*)\)", term):
            values = frozenset(value.strip() for value in match[3].split(","))
            requirements.append(Requirement(match[1], match[2], values))
        elif match := re.fullmatch(rf"({_LABEL_KEY})\s*(==|=|!=)\s*({_LABEL_VALUE})", term):
            operator = "notin" if match[2] == "!=" else "in"
            requirements.append(Requirement(match[1], operator, frozenset({match[3]})))
        elif re.fullmatch(_LABEL_KEY, term):
            requirements.append(Requirement(term, "exists"))
        else:
            raise bad_request(f"unable to parse requirement: invalid label selector term {term!r}")
    return requirements


def _field_getters(kind: ResourceKind) -> dict[str, Callable[[Obj], str]]:
    getters: dict[str, Callable[[Obj], str]] = {
        "metadata.name": lambda obj: obj["metadata"].get("name", ""),
        "metadata.namespace": lambda obj: obj["metadata"].get("namespace", ""),
    }
    if kind == SECRETS:
        getters["type"] = lambda obj: obj.get("type", "")
    if kind == NAMESPACES:
        getters["status.phase"] = lambda obj: obj.get("status", {}).get("phase", "")
    if kind == EVENTS:
        for key in ("kind", "name", "namespace", "uid", "apiVersion"):
            getters[f"involvedObject.{key}"] = _involved_getter(key)
        for key in ("reason", "type"):
            getters[key] = _field_getter(key)
    return getters


def _involved_getter(key: str) -> Callable[[Obj], str]:
    return lambda obj: str((obj.get("involvedObject") or {}).get(key) or "")


def _field_getter(key: str) -> Callable[[Obj], str]:
    return lambda obj: str(obj.get(key) or "")


def parse_field_selector(kind: ResourceKind, text: str) -> Callable[[Obj], bool]:
    getters = _field_getters(kind)
    tests = []
    for term in _split_terms(text):
        match = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", term)
        if match is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        path, operator, value = match[1].strip(), match[2], match[3]
        if path not in getters:
            raise bad_request(f"field label not supported: {path}")
        tests.append((getters[path], operator == "!=", value))
    return lambda obj: all((get(obj) == value) != negate for get, negate, value in tests)


# --------------------------------------------------------------------------------------------
# Validation and defaulting

_DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_CONFIG_KEY = "[-._a-zA-Z0-9]+"
_BASE64 = re.compile(r"[A-Za-z0-9+/]*")


def _name_causes(kind: ResourceKind, name: str) -> list[Cause]:
    if kind == NAMESPACES:
        limit, pattern = 63, _DNS_LABEL
        rule = (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            f"'123-abc', regex used for validation is '{_DNS_LABEL}')"
        )
    else:
        limit, pattern = 253, _DNS_SUBDOMAIN
        rule = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            f"'example.com', regex used for validation is '{_DNS_SUBDOMAIN}')"
        )
    causes = []
    if len(name) > limit:
        causes.append(
            _invalid_value("metadata.name", name, f"must be no more than {limit} characters")
        )
    if not re.fullmatch(pattern, name):
        causes.append(_invalid_value("metadata.name", name, rule))
    return causes


def _config_key_causes(field_name: str, mapping: Mapping[str, Any]) -> list[Cause]:
    rule = (
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
        f"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '{_CONFIG_KEY}')"
    )
    return [
        _invalid_value(f"{field_name}[{key}]", key, rule)
        for key in mapping
        if not re.fullmatch(_CONFIG_KEY, key)
    ]


def _base64_error(text: str) -> int | None:
    """Where Go's base64 decoder would stop on `text`, or None if it is valid standard base64."""
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        valid_prefix = _BASE64.match(text)
        return valid_prefix.end() if valid_prefix else 0
    return None


def _normalize_secret(secret: Obj) -> None:
    """What decoding a v1 Secret does: base64 ``data``, ``stringData`` folded in, default type."""

    def cannot_handle(why: str) -> ApiError:
        return bad_request(f'Secret in version "v1" cannot be handled as a Secret: {why}')

    data = secret.get("data") or {}
    string_data = secret.pop("stringData", None) or {}
    for name, mapping in (("data", data), ("stringData", string_data)):
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise cannot_handle(f"json: cannot unmarshal {name}: want a map of strings")
    for value in data.values():
        if (offset := _base64_error(value)) is not None:
            raise cannot_handle(f"illegal base64 data at input byte {offset}")
    for key, value in string_data.items():
        data[key] = base64.b64encode(value.encode()).decode()
    if data:
        secret["data"] = data
    else:
        secret.pop("data", None)
    secret["type"] = secret.get("type") or "Opaque"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "unknown")


def _has_type(value: Any, expected: str) -> bool:
    actual = _json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def apply_schema(schema: Mapping[str, Any], value: Any, path: str = "") -> tuple[Any, list[Cause]]:
    """Prune, default and check `value` against a CRD structural schema, as the apiserver does."""
    causes: list[Cause] = []
    expected = schema.get("type")
    if expected and not _has_type(value, expected):
        actual = _json_type(value)
        detail = f'{path} in body must be of type {expected}: "{actual}"'
        return value, [Cause("FieldValueTypeInvalid", path, f'Invalid value: "{actual}": {detail}')]
    if isinstance(value, dict):
        value = dict(value)
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key in list(value):
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            child = f"{path}.{key}" if path else key
            if value[key] is None and not (sub or {}).get("nullable"):
                del value[key]
            elif sub is not None:
                value[key], found = apply_schema(sub, value[key], child)
                causes += found
            elif not keep_unknown:
                del value[key]
        for key in schema.get("required") or ():
            if key not in value:
                causes.append(_required(f"{path}.{key}" if path else key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        value = list(value)
        for index, item in enumerate(value):
            value[index], found = apply_schema(schema["items"], item, f"{path}[{index}]")
            causes += found
    if "enum" in schema and not any(_json_equal(value, option) for option in schema["enum"]):
        supported = ", ".join(_go_value(option) for option in schema["enum"])
        message = f"Unsupported value: {_go_value(value)}: supported values: {supported}"
        causes.append(Cause("FieldValueNotSupported", path, message))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            detail = f"{path} in body should be greater than or equal to {schema['minimum']}"
            causes.append(_invalid_value(path, value, detail))
        if "maximum" in schema and value > schema["maximum"]:
            detail = f"{path} in body should be less than or equal to {schema['maximum']}"
            causes.append(_invalid_value(path, value, detail))
    return value, causes


def _custom_object_causes(kind: ResourceKind, obj: Obj) -> list[Cause]:
    """Apply the CRD schema to everything but the envelope (metadata, apiVersion, kind)."""
    if not kind.schema:
        return []
    outside = ("metadata", "apiVersion", "kind")
    envelope = {key: obj.pop(key) for key in outside if key in obj}
    root = dict(kind.schema)
    properties = kind.schema.get("properties") or {}
    root["properties"] = {key: sub for key, sub in properties.items() if key not in outside}
    root["required"] = [key for key in kind.schema.get("required") or () if key not in outside]
    pruned, causes = apply_schema(root, obj)
    obj.clear()
    obj.update(envelope)
    obj.update(pruned)
    return causes


def _crd_causes(crd: Obj) -> list[Cause]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes = [
        _required(path)
        for path, value in (
            ("spec.group", spec.get("group")),
            ("spec.names.plural", names.get("plural")),
            ("spec.names.kind", names.get("kind")),
            ("spec.versions", spec.get("versions")),
        )
        if not value
    ]
    if causes:
        return causes
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        message = f"Unsupported value: {_go_value(spec.get('scope'))}: supported values: "
        causes.append(
            Cause("FieldValueNotSupported", "spec.scope", message + '"Cluster", "Namespaced"')
        )
    if sum(bool(version.get("storage")) for version in spec["versions"]) != 1:
        causes.append(
            _invalid_value(
                "spec.versions",
                [version.get("name") for version in spec["versions"]],
                "must have exactly one version marked as storage version",
            )
        )
    name = crd["metadata"].get("name", "")
    if name != f"{names['plural']}.{spec['group']}":
        causes.append(
            _invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    return causes


def _event_causes(event: Obj) -> list[Cause]:
    """What the apiserver checks on a core/v1 Event that pac-tui could get wrong."""
    involved = event.get("involvedObject") or {}
    namespace = event["metadata"].get("namespace")
    causes = []
    if involved.get("namespace") not in (None, "", namespace):
        given = involved.get("namespace")
        detail = "does not match event.namespace"
        causes.append(_invalid_value("involvedObject.namespace", given, detail))
    if event.get("type") not in (None, "", "Normal", "Warning"):
        supported = 'supported values: "Normal", "Warning"'
        message = f"Unsupported value: {_go_value(event.get('type'))}: {supported}"
        causes.append(Cause("FieldValueNotSupported", "type", message))
    return causes


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _crd_defaults(crd: Obj, now: str) -> None:
    """What the apiserver and its CRD controllers add: names defaults, Established status."""
    spec = crd["spec"]
    names = spec["names"]
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})
    condition = {"status": "True", "lastTransitionTime": now}
    crd["status"] = {
        "conditions": [
            {
                "type": "NamesAccepted",
                **condition,
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                **condition,
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "acceptedNames": copy.deepcopy(names),
        "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
    }


def _random_suffix() -> str:
    return "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=5))


# --------------------------------------------------------------------------------------------
# The cluster state


class _Store:
    """The stored objects and the apiserver's rules for reading and changing them. Thread-safe."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._lock = threading.RLock()
        self._now = now
        self._revision = 0
        # (group, plural) → (namespace or "", name) → object without apiVersion/kind.
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._custom_kinds: dict[str, tuple[ResourceKind, ...]] = {}  # CRD name → its kinds

    # -- kinds

    def kinds(self) -> list[ResourceKind]:
        with self._lock:
            return [*BUILTIN_KINDS, *(k for kinds in self._custom_kinds.values() for k in kinds)]

    def kind_for(self, group: str, version: str, plural: str) -> ResourceKind | None:
        for kind in self.kinds():
            if (kind.group, kind.version, kind.plural) == (group, version, plural):
                return kind
        return None

    def kind_of(self, api_version: str, kind_name: str) -> ResourceKind:
        for kind in self.kinds():
            if (kind.api_version, kind.kind) == (api_version, kind_name):
                return kind
        raise ValueError(f"no served kind {kind_name} in {api_version}")

    @property
    def revision(self) -> str:
        with self._lock:
            return str(self._revision)

    # -- reads

    def get(self, kind: ResourceKind, namespace: str | None, name: str) -> Obj:
        with self._lock:
            return self._render(kind, self._require(kind, namespace, name))

    def list(self, kind: ResourceKind, namespace: str | None, query: Mapping[str, str]) -> Obj:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(kind, query.get("fieldSelector", ""))
        limit = self._limit(query.get("limit", ""))
        start = self._continue_key(query.get("continue", ""))
        with self._lock:
            revision = str(self._revision)
            matching = [
                (key, obj)
                for key, obj in sorted(self._bucket(kind).items())
                if (namespace is None or key[0] == namespace)
                and key > start
                and all(r.matches(obj["metadata"].get("labels") or {}) for r in labels)
                and fields(obj)
            ]
            page = matching[:limit] if limit else matching
            items = [self._render(kind, obj, in_list=True) for _, obj in page]
        metadata: Obj = {"resourceVersion": revision}
        if len(page) < len(matching):
            last = json.dumps(list(page[-1][0])).encode()
            metadata["continue"] = base64.urlsafe_b64encode(last).decode()
            metadata["remainingItemCount"] = len(matching) - len(page)
        return {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": metadata,
            "items": items,
        }

    @staticmethod
    def _limit(text: str) -> int:
        if not text:
            return 0
        if not text.isdigit():
            raise bad_request(f"invalid limit {text!r}")
        return int(text)

    @staticmethod
    def _continue_key(token: str) -> tuple[str, str]:
        if not token:
            return ("", "")
        try:
            namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        except (ValueError, TypeError) as error:
            raise bad_request(f"continue key is not valid: {error}") from None
        return (namespace, name)

    # -- writes through the API

    def create(
        self, kind: ResourceKind, namespace: str | None, body: Any, dry_run: bool = False
    ) -> Obj:
        obj = self._decode(kind, body)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        self._check_namespace(kind, namespace, meta)
        with self._lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + _random_suffix()
            name = meta.get("name") or ""
            if kind.status_subresource and kind.custom:
                obj.pop("status", None)
            if name:
                causes = _name_causes(kind, name)
            else:
                causes = [_required("metadata.name", "name or generateName is required")]
            self._check_valid(kind, obj, None, causes)
            if namespace is not None and (
                _key(namespace, NAMESPACES) not in self._bucket(NAMESPACES)
            ):
                raise not_found(NAMESPACES, namespace)
            if _key(name, kind, namespace) in self._bucket(kind):
                raise already_exists(kind, name)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _timestamp(self._now())
            if kind.generation:
                meta["generation"] = 1
            self._defaults(kind, obj)
            return self._render(kind, obj if dry_run else self._commit(kind, obj))

    def update(
        self,
        kind: ResourceKind,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None,
        dry_run: bool = False,
    ) -> Obj:
        new = self._decode(kind, body)
        self._check_identity(kind, namespace, name, new["metadata"])
        with self._lock:
            old = self._require(kind, namespace, name)
            updated = self._update(kind, old, new, subresource, require_rv=True, dry_run=dry_run)
            return self._render(kind, updated)

    def patch(
        self,
        kind: ResourceKind,
        namespace: str | None,
        name: str,
        content_type: str,
        raw: bytes,
        subresource: str | None,
        dry_run: bool = False,
    ) -> Obj:
        media = content_type.split(";")[0].strip().lower()
        accepted = [JSON_PATCH, MERGE_PATCH] + ([] if kind.custom else [STRATEGIC_MERGE_PATCH])
        if media not in accepted:
            raise unsupported_media_type(accepted)
        patch = _parse_json(raw)
        if media == JSON_PATCH and not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        if media != JSON_PATCH and not isinstance(patch, dict):
            raise bad_request(
                f"{media} needs a JSON object; a list of operations is a JSON patch: "
                f"send it as {JSON_PATCH} (the client's _content_type=)"
            )
        if media == STRATEGIC_MERGE_PATCH and _has_directive(patch):
            raise bad_request("the fake apiserver does not support strategic merge directives")
        with self._lock:
            old = self._require(kind, namespace, name)
            current = self._render(kind, old)
            if media == JSON_PATCH:
                try:
                    patched = json_patch(current, patch)
                except PatchError:
                    message = "the server rejected our request due to an error in our request"
                    raise ApiError(422, "Invalid", message, {}) from None
            else:
                patched = merge_patch(current, patch)
            new = self._decode(kind, patched)
            self._check_identity(kind, namespace, name, new["metadata"])
            updated = self._update(kind, old, new, subresource, require_rv=False, dry_run=dry_run)
            return self._render(kind, updated)

    def delete(
        self, kind: ResourceKind, namespace: str | None, name: str, options: Mapping[str, Any]
    ) -> Obj:
        preconditions = options.get("preconditions") or {}
        with self._lock:
            old = self._require(kind, namespace, name)
            meta = old["metadata"]
            for key, label in (("resourceVersion", "ResourceVersion"), ("uid", "UID")):
                wanted = preconditions.get(key)
                if wanted is not None and wanted != meta.get(key):
                    why = (
                        f"Precondition failed: {label} in precondition: {wanted}, "
                        f"{label} in object meta: {meta.get(key)}"
                    )
                    raise conflict(kind, name, why)
            self._remove(kind, namespace, name)
            if kind.custom or kind in (NAMESPACES, CRDS):
                shown = self._render(kind, old)
                if kind == NAMESPACES:
                    shown["status"] = {"phase": "Terminating"}
                return shown
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": _details(kind, name, uid=meta["uid"]),
        }

    # -- direct access for tests

    def put(self, source: Mapping[str, Any]) -> Obj:
        kind = self.kind_of(source.get("apiVersion", ""), source.get("kind", ""))
        obj = copy.deepcopy(dict(source))
        obj.pop("apiVersion")
        obj.pop("kind")
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace") if kind.namespaced else None
        if kind.namespaced and not namespace:
            raise ValueError(f"a {kind.kind} needs metadata.namespace")
        if kind == SECRETS:
            _normalize_secret(obj)
        with self._lock:
            old_meta = (self._bucket(kind).get(_key(meta["name"], kind, namespace)) or {}).get(
                "metadata", {}
            )
            meta.setdefault("uid", old_meta.get("uid") or str(uuid.uuid4()))
            created = old_meta.get("creationTimestamp") or _timestamp(self._now())
            meta.setdefault("creationTimestamp", created)
            if kind.generation:
                meta.setdefault("generation", old_meta.get("generation", 1))
            meta.pop("resourceVersion", None)
            self._defaults(kind, obj)
            return self._render(kind, self._commit(kind, obj))

    def snapshot(self, group: str, plural: str, namespace: str | None) -> list[Obj]:
        with self._lock:
            bucket = self._objects.get((group, plural), {})
            return [
                copy.deepcopy(obj)
                for key, obj in sorted(bucket.items())
                if namespace is None or key[0] == namespace
            ]

    def find(self, group: str, plural: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            obj = self._objects.get((group, plural), {}).get((namespace or "", name))
            return copy.deepcopy(obj)

    def drop(self, group: str, plural: str, namespace: str | None, name: str) -> None:
        with self._lock:
            kind = next(k for k in self.kinds() if (k.group, k.plural) == (group, plural))
            self._require(kind, namespace, name)
            self._remove(kind, namespace, name)

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()
            self._custom_kinds.clear()

    # -- the rules

    def _bucket(self, kind: ResourceKind) -> dict[tuple[str, str], Obj]:
        return self._objects.setdefault((kind.group, kind.plural), {})

    def _require(self, kind: ResourceKind, namespace: str | None, name: str) -> Obj:
        obj = self._bucket(kind).get(_key(name, kind, namespace))
        if obj is None:
            raise not_found(kind, name)
        return obj

    def _render(self, kind: ResourceKind, obj: Obj, in_list: bool = False) -> Obj:
        """The object as the API returns it (items of built-in lists carry no kind/apiVersion)."""
        body = copy.deepcopy(obj)
        if in_list and not kind.custom:
            return body
        return {"kind": kind.kind, "apiVersion": kind.api_version, **body}

    @staticmethod
    def _decode(kind: ResourceKind, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise bad_request(
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"json: cannot unmarshal {_json_type(body)} into an object"
            )
        obj = copy.deepcopy(body)
        for key, expected in (("kind", kind.kind), ("apiVersion", kind.api_version)):
            given = obj.pop(key, None)
            if kind.custom and not given:
                shown = "Kind" if key == "kind" else key
                raise bad_request(f"Object '{shown}' is missing in '{json.dumps(body)}'")
            if given and given != expected:
                what = "API version" if key == "apiVersion" else "kind"
                raise bad_request(
                    f"the {what} in the data ({given}) does not match the expected {what} "
                    f"({expected})"
                )
        metadata = obj.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request(f"{kind.kind}.metadata: expected an object")
        if kind == SECRETS:
            _normalize_secret(obj)
        return obj

    @staticmethod
    def _check_namespace(kind: ResourceKind, namespace: str | None, meta: Obj) -> None:
        if not kind.namespaced:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") not in (None, "", namespace):
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = namespace

    def _check_identity(
        self, kind: ResourceKind, namespace: str | None, name: str, meta: Obj
    ) -> None:
        given = meta.get("name", "")
        if given != name:
            raise bad_request(
                f"the name of the object ({given}) does not match the name on the URL ({name})"
            )
        self._check_namespace(kind, namespace, meta)

    def _check_valid(
        self, kind: ResourceKind, obj: Obj, old: Obj | None, causes: list[Cause] | None = None
    ) -> None:
        """Raise 422 Invalid with every cause found, as the apiserver aggregates them."""
        causes = list(causes or [])
        if kind == SECRETS:
            causes += _config_key_causes("data", obj.get("data") or {})
            if old is not None and old.get("type") != obj.get("type"):
                causes.append(_invalid_value("type", obj.get("type"), "field is immutable"))
            frozen = old is not None and old.get("immutable")
            if frozen and (obj.get("data") != old.get("data") or not obj.get("immutable")):
                message = "Forbidden: field is immutable when `immutable` is set"
                causes.append(Cause("FieldValueForbidden", "data", message))
        elif kind == CONFIGMAPS:
            causes += _config_key_causes("data", obj.get("data") or {})
            causes += _config_key_causes("binaryData", obj.get("binaryData") or {})
        elif kind == EVENTS:
            causes += _event_causes(obj)
        elif kind == CRDS:
            causes += _crd_causes(obj)
        elif kind.custom:
            causes += _custom_object_causes(kind, obj)
        if causes:
            raise invalid(kind, obj["metadata"].get("name", ""), causes)

    def _update(
        self,
        kind: ResourceKind,
        old: Obj,
        new: Obj,
        subresource: str | None,
        require_rv: bool,
        dry_run: bool = False,
    ) -> Obj:
        meta, old_meta = new["metadata"], old["metadata"]
        name, current = old_meta["name"], old_meta["resourceVersion"]
        given = meta.get("resourceVersion") or ""
        if not given and require_rv and kind.custom:
            cause = Cause(
                "FieldValueInvalid",
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            )
            raise invalid(kind, name, [cause])
        if given and given != current:
            raise conflict(kind, name)
        if kind.status_subresource and subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            new.pop("status", None)
            if status is not None:
                new["status"] = status
            meta = new["metadata"]
        elif kind.status_subresource:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        for key in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            if key in old_meta:
                meta[key] = old_meta[key]
        self._check_valid(kind, new, old)
        if kind.generation and _spec_of(new) != _spec_of(old):
            meta["generation"] = old_meta.get("generation", 0) + 1
        if kind == CRDS:
            self._defaults(kind, new)
        if new == old or dry_run:
            return new  # a no-op write or a dry run: nothing stored, resourceVersion unchanged
        return self._commit(kind, new)

    def _defaults(self, kind: ResourceKind, obj: Obj) -> None:
        meta = obj["metadata"]
        if kind == NAMESPACES:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        elif kind == SECRETS:
            obj["type"] = obj.get("type") or "Opaque"
        elif kind == CRDS:
            _crd_defaults(obj, meta["creationTimestamp"])

    def _commit(self, kind: ResourceKind, obj: Obj) -> Obj:
        meta = obj["metadata"]
        self._revision += 1
        meta["resourceVersion"] = str(self._revision)
        self._bucket(kind)[_key(meta["name"], kind, meta.get("namespace"))] = obj
        if kind == CRDS:
            self._custom_kinds[meta["name"]] = kinds_from_crd(obj)
        return obj

    def _remove(self, kind: ResourceKind, namespace: str | None, name: str) -> None:
        del self._bucket(kind)[_key(name, kind, namespace)]
        self._revision += 1
        if kind == NAMESPACES:
            for bucket in self._objects.values():
                for key in [key for key in bucket if key[0] == name]:
                    del bucket[key]
        elif kind == CRDS:
            for served in self._custom_kinds.pop(name, ()):
                self._objects.pop((served.group, served.plural), None)


def _key(name: str, kind: ResourceKind, namespace: str | None = None) -> tuple[str, str]:
    return ((namespace or "") if kind.namespaced else "", name)


def _spec_of(obj: Obj) -> Obj:
    """What moves ``metadata.generation``: everything but metadata and status."""
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError as error:
        raise bad_request(f"the body of the request is not valid JSON: {error}") from None


# --------------------------------------------------------------------------------------------
# The HTTP server


class SeenRequest(NamedTuple):
    """A request the server answered; `user` is None when the token was missing or unknown."""

    method: str
    path: str
    user: str | None
    dry_run: bool = False  # ``?dryRun=All``: answered as if written, nothing stored


@dataclass(frozen=True)
class WriteEvent:
    """A write about to be applied: what a :meth:`FakeApiServer.before_write` callback gets."""

    verb: str
    group: str
    plural: str
    namespace: str | None
    name: str | None
    user: str
    body: Any
    content_type: str


@dataclass(frozen=True)
class _Call:
    verb: str
    kind: ResourceKind
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def rbac_namespace(self) -> str | None:
        """The namespace authorization sees: a Namespace's own name for namespaces/NAME."""
        if self.kind == NAMESPACES:
            return self.name
        return self.namespace if self.kind.namespaced else None


@dataclass(frozen=True)
class _Denial:
    user: str
    verb: str
    group: str
    resource: str
    namespace: str | None

    def matches(self, user: str, call: _Call) -> bool:
        resource = call.kind.plural + (f"/{call.subresource}" if call.subresource else "")
        return (
            self.user in ("*", user)
            and self.verb in ("*", call.verb)
            and self.group in ("*", call.kind.group)
            and self.resource in ("*", resource)
            and (self.namespace is None or self.namespace == call.rbac_namespace)
        )


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    status: int
    reason: str | None
    message: str | None
    times: int
    dry_run: bool | None = None  # None: dry runs and real requests alike

    def matches(self, method: str, path: str, dry_run: bool) -> bool:
        return (
            self.method in ("*", method)
            and self.path.search(path) is not None
            and self.dry_run in (None, dry_run)
        )


@dataclass(frozen=True)
class _Grant:
    """One rule of a Role or ClusterRole, as :meth:`FakeApiServer.grant` was given it."""

    api_groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]
    names: frozenset[str]
    namespace: str | None  # a Role's namespace; None for a ClusterRole

    def allows(self, call: _Call) -> bool:
        resource = call.kind.plural + (f"/{call.subresource}" if call.subresource else "")
        return (
            bool(self.api_groups & {"*", call.kind.group})
            and bool(self.resources & {"*", resource})
            and bool(self.verbs & {"*", call.verb})
            and (not self.names or call.name in self.names)
            and (self.namespace is None or self.namespace == call.rbac_namespace)
        )


_VERB_OF = {
    ("GET", False): "list",
    ("GET", True): "get",
    ("POST", False): "create",
    ("PUT", True): "update",
    ("PATCH", True): "patch",
    ("DELETE", True): "delete",
}


class FakeApiServer:
    """A Kubernetes API server on 127.0.0.1 for the official client (see the module docstring).

    ``users`` maps user names to bearer tokens (default: ``kubernetes-admin`` / ``admin-token``).
    The stored objects outlive :meth:`stop`, so ``stop()`` then ``start()`` is a cluster that went
    down and came back on the same port with the same state.

    For the tests: ``requests`` (every ``SeenRequest(method, path, user)``), :meth:`writes`,
    :meth:`objects`, :meth:`get_object`, :meth:`put_object`, :meth:`delete_object`,
    :meth:`install_crd`, :meth:`uninstall_crd`, :meth:`deny`, :meth:`grant`, :meth:`fail_next`,
    :meth:`clear_failures`, :meth:`silence`, :meth:`before_write`, :meth:`call_of`,
    :meth:`reset`; ``internal_errors`` holds any exception the fake itself
    raised while answering (answered as a 500; the ``apiserver`` fixture asserts it stays empty).
    """

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.requests: list[SeenRequest] = []
        self.internal_errors: list[BaseException] = []
        self._users = dict(users if users is not None else {ADMIN_USER: ADMIN_TOKEN})
        self._store = _Store(now or (lambda: datetime.now(UTC)))
        self._settings_lock = threading.Lock()  # users, denials, failures, hook
        self._denials: list[_Denial] = []
        self._failures: list[_Failure] = []
        self._grants: dict[str, list[_Grant]] = {}
        self._silent = False
        self._hook: tuple[Callable[[WriteEvent], object], bool] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> FakeApiServer:
        """Listen (on a free port the first time, on the same port afterwards) and serve."""
        if self._thread is not None:
            raise RuntimeError("the fake apiserver is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve,
            args=(loop, sock, ready, failure),
            name=f"fake-apiserver:{self.port}",
            daemon=True,
        )
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Close the port (clients get "connection refused") and end the server thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=3 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock).start())
        except BaseException as error:
            failure.append(error)
            sock.close()
        ready.set()
        try:
            if not failure:
                loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    # -- identities, authorization, faults

    def add_user(self, name: str, token: str) -> None:
        with self._settings_lock:
            self._users[name] = token

    def deny(self, user: str, verb: str, resource: str, namespace: str | None = None) -> None:
        """Answer 403 to `user` for `verb` on `resource` in `namespace` (None: everywhere).

        `resource` is written as ``kubectl auth can-i`` takes it: ``secrets``,
        ``leases.coordination.k8s.io``, ``repositories/status.pipelinesascode.tekton.dev``; ``*``
        matches any user, verb or resource. A namespace-scoped denial does not cover the
        all-namespaces list (that is the cluster scope, as in RBAC).
        """
        if verb != "*" and verb not in VERBS:
            raise ValueError(f"unknown verb {verb!r}; one of {', '.join(VERBS)} or *")
        plural, _, group = resource.partition(".")
        with self._settings_lock:
            self._denials.append(
                _Denial(user, verb, "*" if resource == "*" else group, plural, namespace)
            )

    def allow_all(self) -> None:
        """Forget every :meth:`deny` and :meth:`grant`."""
        with self._settings_lock:
            self._denials.clear()
            self._grants.clear()

    def grant(
        self, user: str, rules: Iterable[Mapping[str, Any]], namespace: str | None = None
    ) -> None:
        """Authorize `user` by RBAC rules (a Role's in `namespace`, a ClusterRole's with None).

        Once a user has been granted rules, anything no granted rule allows is a 403, as with a
        real RBAC authorizer; other users stay allowed everything not denied.
        """
        grants = [
            _Grant(
                frozenset(rule.get("apiGroups") or ()),
                frozenset(rule.get("resources") or ()),
                frozenset(rule.get("verbs") or ()),
                frozenset(rule.get("resourceNames") or ()),
                namespace,
            )
            for rule in rules
        ]
        with self._settings_lock:
            self._grants.setdefault(user, []).extend(grants)

    def silence(self, silent: bool = True) -> None:
        """Accept connections and read requests but never answer them (until `silence(False)`)."""
        with self._settings_lock:
            self._silent = silent

    def clear_failures(self) -> None:
        """Forget every :meth:`fail_next` not yet used up."""
        with self._settings_lock:
            self._failures.clear()

    def call_of(self, seen: SeenRequest) -> tuple[str, str, str, str | None, str | None] | None:
        """What RBAC sees of a request: (verb, API group, resource, namespace, name); None for
        discovery and paths that serve nothing."""
        segments = [segment for segment in seen.path.split("/") if segment]
        if self._discovery(segments) is not None and seen.method == "GET":
            return None
        try:
            call = self._route(seen.method, segments, {})
        except ApiError:
            return None
        resource = call.kind.plural + (f"/{call.subresource}" if call.subresource else "")
        return (call.verb, call.kind.group, resource, call.rbac_namespace, call.name)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        *,
        reason: str | None = None,
        message: str | None = None,
        times: int = 1,
        dry_run: bool | None = None,
    ) -> None:
        """Answer the next `times` requests matching `method` (or ``*``) and `path_regex`
        (``re.search`` on the path) with a `status` Status, before anything else is checked.

        Without `message`, 403, 404 and 409 get the apiserver's own message for that request.
        `dry_run` True or False limits it to dry runs or to real requests.
        """
        failure = _Failure(
            method.upper(), re.compile(path_regex), status, reason, message, times, dry_run
        )
        with self._settings_lock:
            self._failures.append(failure)

    def before_write(
        self, callback: Callable[[WriteEvent], object] | None, *, once: bool = False
    ) -> None:
        """Call `callback` (in a worker thread, no lock held) just before each create, update,
        patch or delete is applied, e.g. to change the object first and so turn the client's
        write into a 409. ``None`` removes it; `once` removes it after its first call.
        """
        with self._settings_lock:
            self._hook = (callback, once) if callback is not None else None

    def writes(self) -> list[SeenRequest]:
        """The requests that could change state (POST, PUT, PATCH, DELETE; not dry runs)."""
        return [
            r
            for r in self.requests
            if r.method in ("POST", "PUT", "PATCH", "DELETE") and not r.dry_run
        ]

    def reset(self) -> None:
        """Forget every object, CRD, denial, injected failure, hook and seen request."""
        self._store.clear()
        with self._settings_lock:
            self._denials.clear()
            self._failures.clear()
            self._grants.clear()
            self._silent = False
            self._hook = None
        self.requests.clear()
        self.internal_errors.clear()

    # -- state

    def install_crd(self, source: str | os.PathLike[str] | Mapping[str, Any]) -> Obj:
        """Store a CRD (a YAML file or a dict) and serve its resources from now on."""
        crd = load_crd(source) if isinstance(source, str | os.PathLike) else source
        causes = _crd_causes(copy.deepcopy(dict(crd)))
        if causes:
            raise ValueError(f"invalid CRD: {causes}")
        return self.put_object(crd)

    def uninstall_crd(self, name: str) -> None:
        """Delete a CRD and every object of its resources."""
        self._store.drop(CRDS.group, CRDS.plural, None, name)

    def objects(self, group: str, plural: str, namespace: str | None = None) -> list[Obj]:
        """The stored objects (copies, without apiVersion/kind), sorted by namespace and name."""
        return self._store.snapshot(group, plural, namespace)

    def get_object(self, group: str, plural: str, namespace: str | None, name: str) -> Obj | None:
        return self._store.find(group, plural, namespace, name)

    def put_object(self, obj: Mapping[str, Any]) -> Obj:
        """Store `obj` as is (create or overwrite, no validation, no namespace check, no hooks).

        It needs ``apiVersion``, ``kind`` and ``metadata.name`` (and ``namespace`` when
        namespaced); uid and creationTimestamp are kept from a replaced object, and the
        resourceVersion is bumped, as any write would. Returns the object as the API shows it.
        """
        return self._store.put(obj)

    def delete_object(self, group: str, plural: str, namespace: str | None, name: str) -> None:
        self._store.drop(group, plural, namespace, name)

    @property
    def resource_version(self) -> str:
        """The current global resourceVersion (etcd revision)."""
        return self._store.revision

    def kubeconfig(
        self,
        path: str | os.PathLike[str],
        contexts: Mapping[str, tuple[str, str]] | None = None,
        current: str | None = None,
    ) -> Path:
        """:func:`write_kubeconfig` for this server (default: one admin context in ``default``)."""
        contexts = contexts or {"fake": (next(iter(self._users.values())), "default")}
        return write_kubeconfig(path, self.url, contexts, current)

    # -- request handling

    async def _handle(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with self._settings_lock:
            users, denials = list(self._users.items()), list(self._denials)
        user = next((name for name, known in users if token and token == known), None)
        dry_run = "dryRun" in request.query
        self.requests.append(SeenRequest(request.method, request.path, user, dry_run))
        body = await request.read()
        while self._silent:
            await asyncio.sleep(0.05)  # accepted, read, never answered (cancelled on stop)
        try:
            self._raise_injected_failure(request.method, request.path, user, dry_run)
            if user is None:
                raise unauthorized()
            status, payload = await self._serve_request(request, user, denials, body)
        except ApiError as error:
            status, payload = error.code, error.status()
        except Exception as error:
            self.internal_errors.append(error)
            status, payload = 500, internal_error(repr(error)).status()
        if isinstance(payload, str):
            return web.Response(status=status, text=payload)
        return web.Response(
            status=status, text=json.dumps(payload), content_type="application/json"
        )

    async def _serve_request(
        self, request: web.Request, user: str, denials: list[_Denial], body: bytes
    ) -> tuple[int, Any]:
        segments = [segment for segment in request.path.split("/") if segment]
        if request.method == "GET" and (document := self._discovery(segments)) is not None:
            return 200, document
        call = self._route(request.method, segments, request.query)
        with self._settings_lock:
            grants = self._grants.get(user)
        refused = grants is not None and not any(grant.allows(call) for grant in grants)
        if refused or any(denial.matches(user, call) for denial in denials):
            raise forbidden(
                call.kind, call.name, user, call.verb, call.rbac_namespace, call.subresource
            )
        dry_run = _dry_run(request.query, call.verb)
        if call.verb in WRITE_VERBS and not dry_run:
            await self._run_hook(call, user, body, request.content_type)
        store, kind = self._store, call.kind
        if call.verb == "list":
            return 200, store.list(kind, call.namespace, request.query)
        if call.verb == "create":
            return 201, store.create(kind, call.namespace, _parse_json(body), dry_run)
        assert call.name is not None
        if call.verb == "get":
            return 200, store.get(kind, call.namespace, call.name)
        if call.verb == "update":
            return 200, store.update(
                kind, call.namespace, call.name, _parse_json(body), call.subresource, dry_run
            )
        if call.verb == "patch":
            content_type = request.headers.get("Content-Type", "")
            return 200, store.patch(
                kind, call.namespace, call.name, content_type, body, call.subresource, dry_run
            )
        options = _parse_json(body) if body else {}
        return 200, store.delete(kind, call.namespace, call.name, options or {})

    def _route(self, method: str, segments: list[str], query: Mapping[str, str]) -> _Call:
        if len(segments) >= 2 and segments[0] == "api":
            group, version, rest = "", segments[1], segments[2:]
        elif len(segments) >= 3 and segments[0] == "apis":
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise path_not_found()
        watching = rest[:1] == ["watch"] or query.get("watch") in ("true", "1")
        rest = rest[1:] if rest[:1] == ["watch"] else rest
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        kind = self._store.kind_for(group, version, rest[0]) if 1 <= len(rest) <= 3 else None
        if kind is None or (namespace is not None and not kind.namespaced):
            raise path_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if namespace is None and kind.namespaced and name is not None:
            raise path_not_found()
        if subresource is not None and not (subresource == "status" and kind.status_subresource):
            raise path_not_found()
        if watching:
            raise ApiError(
                405,
                "MethodNotAllowed",
                "watch is not supported by the fake apiserver (tests/kube/fake_apiserver.py): "
                "poll with list instead",
                {},
            )
        verb = _VERB_OF.get((method, name is not None))
        if verb is None or (verb == "create" and kind.namespaced and namespace is None):
            raise method_not_allowed()
        return _Call(verb, kind, namespace, name, subresource)

    def _raise_injected_failure(
        self, method: str, path: str, user: str | None, dry_run: bool = False
    ) -> None:
        with self._settings_lock:
            failure = next(
                (f for f in self._failures if f.matches(method, path, dry_run)),
                None,
            )
            if failure is None:
                return
            failure.times -= 1
            if failure.times <= 0:
                self._failures.remove(failure)
        raise self._injected_error(failure, method, path, user or "system:anonymous")

    def _injected_error(self, failure: _Failure, method: str, path: str, user: str) -> ApiError:
        reason = failure.reason or REASONS.get(failure.status, "Unknown")
        if failure.message is not None:
            return ApiError(failure.status, reason, failure.message, {})
        try:
            call: _Call | None = self._route(method, [s for s in path.split("/") if s], {})
        except ApiError:
            call = None
        error = None
        if call is not None and failure.status == 403:
            error = forbidden(
                call.kind, call.name, user, call.verb, call.rbac_namespace, call.subresource
            )
        elif call is not None and call.name and failure.status == 404:
            error = not_found(call.kind, call.name)
        elif call is not None and call.name and failure.status == 409:
            error = conflict(call.kind, call.name)
        elif failure.status == 500:
            error = internal_error("injected failure")
        if error is None:
            message = f"the fake apiserver injected a {failure.status} for {method} {path}"
            return ApiError(failure.status, reason, message, {})
        error.reason = reason
        return error

    async def _run_hook(self, call: _Call, user: str, body: bytes, content_type: str) -> None:
        with self._settings_lock:
            hook = self._hook
            if hook is not None and hook[1]:
                self._hook = None
        if hook is None:
            return
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        kind = call.kind
        event = WriteEvent(
            call.verb,
            kind.group,
            kind.plural,
            call.namespace,
            call.name,
            user,
            parsed,
            content_type,
        )
        await asyncio.to_thread(hook[0], event)

    # -- discovery

    def _discovery(self, segments: list[str]) -> Any:
        kinds = self._store.kinds()
        if segments == ["version"]:
            return VERSION_INFO
        if segments in (["healthz"], ["livez"], ["readyz"]):
            return "ok"
        if segments == ["api"]:
            address = {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [address],
            }
        groups: dict[str, list[str]] = {}
        for kind in kinds:
            if kind.group and kind.version not in groups.setdefault(kind.group, []):
                groups[kind.group].append(kind.version)
        if segments == ["apis"]:
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [_api_group(name, versions) for name, versions in groups.items()],
            }
        if len(segments) == 2 and segments[0] == "apis" and segments[1] in groups:
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **_api_group(segments[1], groups[segments[1]]),
            }
        if segments == ["api", "v1"]:
            group, version = "", "v1"
        elif len(segments) == 3 and segments[0] == "apis":
            group, version = segments[1], segments[2]
        else:
            return None
        served = [kind for kind in kinds if (kind.group, kind.version) == (group, version)]
        if not served:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": served[0].api_version,
            "resources": [entry for kind in served for entry in _api_resources(kind)],
        }


def _dry_run(query: Mapping[str, str], verb: str) -> bool:
    """Whether a request is a dry run; only ``All`` is a valid value, and only on writes."""
    values = query.getall("dryRun", []) if hasattr(query, "getall") else [query.get("dryRun")]
    values = [value for value in values if value is not None]
    if not values:
        return False
    if any(value != "All" for value in values):
        raise bad_request(f"unsupported dry run values: {values}; only All is supported")
    if verb not in ("create", "update", "patch"):
        raise bad_request(f"the fake apiserver does not support dryRun on {verb}")
    return True


def _api_group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def _api_resources(kind: ResourceKind) -> list[Obj]:
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    entry: Obj = {
        "name": kind.plural,
        "singularName": kind.singular or kind.kind.lower(),
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": verbs,
    }
    if kind.short_names:
        entry["shortNames"] = list(kind.short_names)
    entries = [entry]
    if kind.status_subresource:
        status = {
            "name": f"{kind.plural}/status",
            "singularName": "",
            "namespaced": kind.namespaced,
        }
        entries.append({**status, "kind": kind.kind, "verbs": ["get", "patch", "update"]})
    return entries


# --------------------------------------------------------------------------------------------
# Kubeconfig


def write_kubeconfig(
    path: str | os.PathLike[str],
    server_url: str,
    contexts: Mapping[str, tuple[str, str]],
    current: str | None = None,
    *,
    cluster: str = "fake",
) -> Path:
    """Write a kubeconfig for one cluster at `server_url`, file mode 0600 as kubectl writes it.

    `contexts` maps a context name to ``(bearer token, default namespace)``; each context gets its
    own user entry (``<context>-user``). `current` defaults to the first context.
    """
    if not contexts:
        raise ValueError("a kubeconfig needs at least one context")
    current = current or next(iter(contexts))
    if current not in contexts:
        raise ValueError(f"current context {current!r} is not one of {list(contexts)}")
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": {"server": server_url}}],
        "users": [
            {"name": f"{name}-user", "user": {"token": token}}
            for name, (token, _) in contexts.items()
        ],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": cluster, "user": f"{name}-user", "namespace": namespace},
            }
            for name, (_, namespace) in contexts.items()
        ],
        "current-context": current,
    }
    target = Path(path)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        yaml.safe_dump(document, handle, sort_keys=False)
    return target

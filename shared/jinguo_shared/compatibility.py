"""Whether the contracts published now still serve those who coded against the previous ones.

Additions are compatible. An event version, once published, keeps its fields, their types and
whether they are required (a change is a new version); an endpoint keeps its operations and
their response fields, and asks for nothing more than it did."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["event", "response", "request"]
"""Who reads the data: an event's consumers, a response's client, or the server (a request)."""

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
TIGHTER_WHEN_LARGER = ("minLength", "minimum", "exclusiveMinimum", "minItems")
TIGHTER_WHEN_SMALLER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")
PINNED = ("pattern", "format", "const")
"""A change of these is a different type for a reader of it, and narrower for a request."""


def incompatibilities(
    before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]
) -> list[str]:
    """Every incompatible change from `before` to `after`, published documents by path
    (`jinguo_shared.published`): event JSON Schemas (`schemas/`), OpenAPI (`openapi/`) and
    AsyncAPI channels."""
    found: list[str] = []
    for name, previous in before.items():
        current = after.get(name)
        if name.startswith("schemas/"):
            if current is None:
                found.append(f"{previous.get('$id', name)}: event version removed")
            else:
                found += Schemas(previous, current).compare(previous, current, "event", name)
        elif name.startswith("openapi/"):
            found += (
                [f"{name}: service removed"]
                if current is None
                else openapi_incompatibilities(name, previous, current)
            )
        elif "channels" in previous:
            gone = set(previous["channels"]) - set((current or {}).get("channels", {}))
            found += [f"{name}: channel {channel} removed" for channel in sorted(gone)]
    return found


def openapi_incompatibilities(
    name: str, before: dict[str, Any], after: dict[str, Any]
) -> list[str]:
    schemas = Schemas(before, after)
    found: list[str] = []
    for path, operations in before.get("paths", {}).items():
        for method in [m for m in operations if m in HTTP_METHODS]:
            where = f"{name} {method.upper()} {path}"
            current = after.get("paths", {}).get(path, {}).get(method)
            if current is None:
                found.append(f"{where}: operation removed")
            else:
                found += operation_incompatibilities(where, operations[method], current, schemas)
    return found


def operation_incompatibilities(
    where: str, before: dict[str, Any], after: dict[str, Any], schemas: Schemas
) -> list[str]:
    found: list[str] = []
    previous_parameters = {(p["in"], p["name"]): p for p in before.get("parameters", [])}
    for parameter in after.get("parameters", []):
        key = (parameter["in"], parameter["name"])
        label = f"{where} {parameter['in']} parameter {parameter['name']}"
        previous = previous_parameters.get(key)
        if previous is None:
            if parameter.get("required"):
                found.append(f"{label}: new and required")
        else:
            if parameter.get("required") and not previous.get("required"):
                found.append(f"{label}: now required")
            found += schemas.compare(
                previous.get("schema", {}), parameter.get("schema", {}), "request", label
            )
    previous_body, body = before.get("requestBody"), after.get("requestBody")
    if body is not None and body.get("required"):
        if previous_body is None:
            found.append(f"{where} request body: new and required")
        elif not previous_body.get("required"):
            found.append(f"{where} request body: now required")
    if previous_body is not None and body is not None:
        found += schemas.compare(
            json_schema(previous_body), json_schema(body), "request", f"{where} request body"
        )
    for status, response in before.get("responses", {}).items():
        current = after.get("responses", {}).get(status)
        if current is None:
            if str(status).startswith("2"):
                found.append(f"{where} {status} response removed")
        else:
            found += schemas.compare(
                json_schema(response), json_schema(current), "response", f"{where} {status}"
            )
    return found


def json_schema(part: dict[str, Any]) -> dict[str, Any]:
    """The schema of a request body's or a response's JSON content; {} (anything) without."""
    for media, content in part.get("content", {}).items():
        if "json" in media:
            return dict(content.get("schema", {}))
    return {}


@dataclass
class Schemas:
    """JSON Schemas within two documents, whose `$ref`s each resolves in its own."""

    before_root: dict[str, Any]
    after_root: dict[str, Any]

    def compare(
        self, before: dict[str, Any], after: dict[str, Any], role: Role, where: str
    ) -> list[str]:
        return self._compare(before, after, role, where, frozenset())

    def _compare(
        self,
        before: dict[str, Any],
        after: dict[str, Any],
        role: Role,
        where: str,
        seen: frozenset[tuple[str, str]],
    ) -> list[str]:
        refs = (before.get("$ref", ""), after.get("$ref", ""))
        if refs != ("", "") and refs in seen:  # a recursive model, compared once already
            return []
        seen |= {refs}
        before = _resolved(self.before_root, before)
        after = _resolved(self.after_root, after)
        if not before:  # anything before: whatever it is now cannot narrow what was read
            return [f"{where}: now constrained"] if role == "request" and after else []
        found = _values_changed(
            where, "type", _types(self.before_root, before), _types(self.after_root, after), role
        )
        found += _values_changed(where, "value", _enum(before), _enum(after), role)
        before = _resolved(self.before_root, _not_null(before))
        after = _resolved(self.after_root, _not_null(after))
        found += _constraints_changed(where, before, after, role)
        found += self._properties(before, after, role, where, seen)
        if isinstance(before.get("items"), dict) and isinstance(after.get("items"), dict):
            found += self._compare(before["items"], after["items"], role, f"{where}[]", seen)
        return found

    def _properties(
        self,
        before: dict[str, Any],
        after: dict[str, Any],
        role: Role,
        where: str,
        seen: frozenset[tuple[str, str]],
    ) -> list[str]:
        found: list[str] = []
        old, new = before.get("properties", {}), after.get("properties", {})
        old_required, new_required = set(before.get("required", [])), set(after.get("required", []))
        for field in old:
            if field not in new:
                found.append(f"{where}: field {field} removed")
                continue
            label = f"{where}.{field}"
            was, now = field in old_required, field in new_required
            if was and not now and role in ("event", "response"):
                found.append(f"{label}: no longer required")
            if now and not was and role in ("event", "request"):
                found.append(f"{label}: now required")
            found += self._compare(old[field], new[field], role, label, seen)
        for field in new_required - set(old):
            if role in ("event", "request"):
                found.append(f"{where}.{field}: new and required")
        return found


def _resolved(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The one member of `X | None` that is not null (X's fields are compared); else itself."""
    members = schema.get("anyOf") or schema.get("oneOf") or []
    others = [m for m in members if m.get("type") != "null"]
    return dict(others[0]) if len(members) == 2 and len(others) == 1 else schema


def _types(root: dict[str, Any], schema: dict[str, Any]) -> frozenset[str]:
    """The JSON types a value may have; a member of a union contributes its own."""
    members = schema.get("anyOf") or schema.get("oneOf") or []
    own = _own_type(schema)
    return own.union(*(_types(root, _resolved(root, m)) for m in members))


def _own_type(schema: dict[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    if declared is None:
        return frozenset({"object"}) if "properties" in schema else frozenset()
    types = frozenset([declared] if isinstance(declared, str) else declared)
    return types | ({"integer"} if "number" in types else set())  # a number may be whole


def _enum(schema: dict[str, Any]) -> frozenset[str]:
    values = schema.get("enum", [])
    values += [m["const"] for m in schema.get("anyOf", []) if "const" in m]
    return frozenset(repr(v) for v in values)


def _values_changed(
    where: str, what: str, before: frozenset[str], after: frozenset[str], role: Role
) -> list[str]:
    """A reader breaks on values it has not seen; a writer on values no longer taken."""
    if not before or not after or before == after:
        return []
    added, removed = sorted(after - before), sorted(before - after)
    if role == "request":
        return (
            [f"{where}: {what} narrowed, {', '.join(removed)} no longer taken"] if removed else []
        )
    if role == "response":
        return [f"{where}: {what} widened, may now be {', '.join(added)}"] if added else []
    return [
        f"{where}: {what} changed from {', '.join(sorted(before))} to {', '.join(sorted(after))}"
    ]


def _constraints_changed(
    where: str, before: dict[str, Any], after: dict[str, Any], role: Role
) -> list[str]:
    found: list[str] = []
    for key in PINNED:
        if key in after and before.get(key) != after[key] and role != "response":
            found.append(f"{where}: {key} {before.get(key)!r} became {after[key]!r}")
    if role != "request":
        return found
    for key in TIGHTER_WHEN_LARGER + TIGHTER_WHEN_SMALLER:
        if key not in after or before.get(key) == after[key]:
            continue
        old = before.get(key)
        tighter = old is None or (
            after[key] > old if key in TIGHTER_WHEN_LARGER else after[key] < old
        )
        if tighter:
            found.append(f"{where}: {key} narrowed from {old!r} to {after[key]!r}")
    return found

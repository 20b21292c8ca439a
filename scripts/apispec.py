"""Read one OpenAPI operation into flat, comparable facts, and compare two such readings.

Both `make api-diff` (our spec at a git ref against our spec now) and `make check-upstream` (a
provider's published description against our spec) need the same thing: two descriptions of one
operation, reduced to what a caller can observe, and every difference between them. This module
does that once:

- `load_document` parses JSON or YAML, and `coerce_stringly` reads the string-typed numbers and
  booleans some providers publish (Xendit: `"maxLength": "39"`, `"required": "true"`) as what
  they mean, so they compare equal to real numbers and booleans.
- `read_operation` resolves local `$ref`s and flattens the operation into `Field`s keyed by a
  readable location (`request body token`, `response 200 body actions[].type`,
  `request header api-version`), plus its status codes, servers and security schemes.
  `anyOf`/`oneOf` branches merge into one field per location: an enum branch next to a plain
  branch of the same type is an *open* enum (how our specs keep responses tolerant), a `null`
  branch makes the field nullable, a property is required when every branch that has it
  requires it (Solidgate's 200 is a `oneOf` of three bodies).
- `compare` lists every `Delta` between two readings, topmost first: a location missing on one
  side hides its descendants, a status missing on one side hides its body.

Nothing here decides what a delta means; `api_diff.py` and `check_upstream.py` do, each for its
own reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Keywords whose values are numbers, and keywords whose values are booleans, in schemas and
# parameters. Only string values of these keys are rewritten.
NUMERIC_KEYWORDS = frozenset(
    {
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "multipleOf",
    }
)
BOOLEAN_KEYWORDS = frozenset(
    {"required", "nullable", "uniqueItems", "deprecated", "readOnly", "writeOnly", "explode"}
)
# What is compared of a schema beyond its type, enum and structure.
CONSTRAINT_KEYWORDS = (*sorted(NUMERIC_KEYWORDS), "format", "pattern", "uniqueItems")
PRIMITIVE_TYPES = frozenset({"string", "integer", "number", "boolean"})
JSON_TYPE_OF = {str: "string", bool: "boolean", int: "integer", float: "number"}


class SpecError(Exception):
    """A document that cannot be read as the OpenAPI description it claims to be."""


class MissingOperationError(SpecError):
    """The document is readable but does not describe the operation asked for."""


def load_document(text: str, source: str) -> dict[str, Any]:
    """Parse a JSON or YAML document whose top level is a mapping."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise SpecError(f"{source}: neither JSON nor YAML{where}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{source}: the document is not a mapping")
    return document


def coerce_stringly(node: Any) -> Any:
    """Return `node` with numeric and boolean keywords given as strings turned into values."""
    if isinstance(node, list):
        return [coerce_stringly(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, str) and key in NUMERIC_KEYWORDS:
            result[key] = _number(value)
        elif isinstance(value, str) and key in BOOLEAN_KEYWORDS:
            result[key] = {"true": True, "false": False}.get(value.strip().lower(), value)
        else:
            result[key] = coerce_stringly(value)
    return result


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # left as published: it will differ from any real number, visibly


@dataclass(frozen=True)
class Field:
    """What a caller can observe of one location: its types, nullability, enum and limits.

    Attributes:
        types: JSON types other than null (`string`, `integer`, `object`, ...).
        nullable: Whether `null` is allowed.
        required: Whether the location must be present (for a body field: in its parent).
        enum: Known values, each JSON-encoded (`"ACTIVE"`, `"00"`), or None when not an enum.
        open_enum: Whether values beyond `enum` are allowed (an enum beside a plain type).
        constraints: Canonical text of each constraint keyword present, by keyword.
    """

    types: frozenset[str] = frozenset()
    nullable: bool = False
    required: bool = False
    enum: frozenset[str] | None = None
    open_enum: bool = False
    constraints: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """Short text for a report: `string, nullable, required, enum of 3 (open)`."""
        parts = ["|".join(sorted(self.types)) or "any type"]
        if self.nullable:
            parts.append("nullable")
        parts.append("required" if self.required else "optional")
        if self.enum is not None:
            parts.append(f"enum of {len(self.enum)}{' (open)' if self.open_enum else ' (closed)'}")
        parts.extend(f"{key} {value}" for key, value in self.constraints)
        return ", ".join(parts)


@dataclass
class Operation:
    """One operation read from a document: every comparable fact about it.

    Attributes:
        method: Lower-case HTTP method.
        path: Path template, as in the document's `paths`.
        servers: Server URLs that apply to the operation, normalised.
        security: One text per security scheme the operation accepts
            (`http basic`, `apiKey in header "merchant"`, `mutualTLS`).
        statuses: Documented response status codes (`"200"`, `"default"`).
        fields: Every location's facts, by location.
    """

    method: str
    path: str
    servers: tuple[str, ...] = ()
    security: frozenset[str] = frozenset()
    statuses: tuple[str, ...] = ()
    fields: dict[str, Field] = field(default_factory=dict)


def normalise_url(url: str) -> str:
    """Compare server URLs without case in the host or a trailing slash mattering."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


class _Resolver:
    """Follows local `$ref`s (`#/components/...`) in one document."""

    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self.document = document
        self.source = source

    def deref(self, node: Any, trail: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
        """Return the node a chain of `$ref`s ends at, and the refs followed (for cycles)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if not ref.startswith("#/"):
                raise SpecError(f"{self.source}: only local $ref is supported, found {ref!r}")
            if ref in trail:
                return {}, trail  # a recursive schema: stop here, its shape was read above
            trail = (*trail, ref)
            target: Any = self.document
            for raw in ref[2:].split("/"):
                part = raw.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise SpecError(f"{self.source}: $ref {ref!r} points nowhere")
                target = target[part]
            node = target
        return node, trail


@dataclass
class _Shape:
    """A schema reduced to comparable facts, before it is flattened into locations."""

    types: set[str] = field(default_factory=set)
    nullable: bool = False
    enum: set[str] | None = None
    open_enum: bool = False
    constraints: dict[str, set[str]] = field(default_factory=dict)
    props: dict[str, tuple[_Shape, bool]] = field(default_factory=dict)
    items: _Shape | None = None

    def is_plain(self) -> bool:
        """A primitive type with no enum: what makes an enum beside it open."""
        return bool(self.types & PRIMITIVE_TYPES) and self.enum is None


def _canonical(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _shape(resolver: _Resolver, node: Any, trail: tuple[str, ...] = ()) -> _Shape:
    schema, trail = resolver.deref(node, trail)
    shape = _Shape()
    if not isinstance(schema, dict):
        return shape  # `true`, `{}` or garbage: any value, nothing to compare
    _read_type(schema, shape)
    _read_enum(schema, shape)
    for key in CONSTRAINT_KEYWORDS:
        if key in schema:
            shape.constraints[key] = {_canonical(schema[key])}
    for key in ("additionalProperties", "propertyNames"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            shape.constraints[key] = {_summary(_shape(resolver, sub, trail))}
        elif sub is False:
            shape.constraints[key] = {"false"}
    listed = schema.get("required")
    required = set(listed) if isinstance(listed, list) else set()
    for name, sub in (schema.get("properties") or {}).items():
        shape.props[str(name)] = (_shape(resolver, sub, trail), name in required)
    if "items" in schema:
        shape.items = _shape(resolver, schema["items"], trail)
    if not shape.types:
        shape.types |= {"object"} if shape.props else {"array"} if shape.items else set()
    for part in schema.get("allOf") or []:
        _combine(shape, _shape(resolver, part, trail))
    for key in ("anyOf", "oneOf"):
        branches = [_shape(resolver, part, trail) for part in schema.get(key) or []]
        if branches:
            _combine(shape, _alternatives(branches))
    return shape


def _read_type(schema: Mapping[str, Any], shape: _Shape) -> None:
    """`type` (a name or, in 3.1, a list) and 3.0's `nullable`."""
    declared = schema.get("type")
    names = declared if isinstance(declared, list) else [declared] if declared else []
    for name in names:
        if name == "null":
            shape.nullable = True
        else:
            shape.types.add(str(name))
    if schema.get("nullable") is True:
        shape.nullable = True


def _read_enum(schema: Mapping[str, Any], shape: _Shape) -> None:
    """`enum` or `const`; without a `type`, the values' own types are the field's."""
    if "const" in schema:
        values = [schema["const"]]
    elif isinstance(schema.get("enum"), list):
        values = list(schema["enum"])
    else:
        return
    if None in values:
        shape.nullable = True
    known = [value for value in values if value is not None]
    shape.enum = {_canonical(value) for value in known}
    if not shape.types:
        shape.types = {JSON_TYPE_OF.get(type(value), "object") for value in known}


def _combine(into: _Shape, other: _Shape) -> None:
    """Both apply (allOf, or a schema's own keywords beside its anyOf/oneOf)."""
    into.types |= other.types
    into.nullable = into.nullable or other.nullable
    if other.enum is not None:
        into.enum = (into.enum or set()) | other.enum
    into.open_enum = into.open_enum or other.open_enum
    for key, found in other.constraints.items():
        into.constraints.setdefault(key, set()).update(found)
    for name, (sub, required) in other.props.items():
        if name in into.props:
            mine, mine_required = into.props[name]
            _combine(mine, sub)
            into.props[name] = (mine, mine_required or required)
        else:
            into.props[name] = (sub, required)
    if other.items is not None:
        if into.items is None:
            into.items = other.items
        else:
            _combine(into.items, other.items)


def _alternatives(branches: list[_Shape]) -> _Shape:
    """One of the branches applies (anyOf/oneOf): merge what a reader may meet."""
    merged = _Shape()
    enums = [branch for branch in branches if branch.enum is not None]
    for branch in branches:
        merged.types |= branch.types
        merged.nullable = merged.nullable or branch.nullable
        merged.open_enum = merged.open_enum or branch.open_enum
        for key, found in branch.constraints.items():
            merged.constraints.setdefault(key, set()).update(found)
    if enums:
        merged.enum = set().union(*(branch.enum or set() for branch in enums))
        enum_types = set().union(*(branch.types for branch in enums))
        if any(branch.is_plain() and branch.types & enum_types for branch in branches):
            merged.open_enum = True
    names = {name for branch in branches for name in branch.props}
    for name in sorted(names):
        having = [branch.props[name] for branch in branches if name in branch.props]
        sub = _alternatives([shape for shape, _ in having]) if len(having) > 1 else having[0][0]
        merged.props[name] = (sub, all(required for _, required in having))
    items = [branch.items for branch in branches if branch.items is not None]
    if items:
        merged.items = items[0] if len(items) == 1 else _alternatives(items)
    return merged


def _summary(shape: _Shape) -> str:
    """Canonical one-line text of a sub-schema, for constraints such as additionalProperties."""
    parts = ["|".join(sorted(shape.types)) or "any"]
    if shape.nullable:
        parts.append("nullable")
    if shape.enum is not None:
        parts.append("enum " + ",".join(sorted(shape.enum)) + (" open" if shape.open_enum else ""))
    parts.extend(
        f"{key} {'|'.join(sorted(values))}" for key, values in sorted(shape.constraints.items())
    )
    if shape.props:
        parts.append("{" + ",".join(sorted(shape.props)) + "}")
    if shape.items is not None:
        parts.append(f"of ({_summary(shape.items)})")
    return " ".join(parts)


def _field(shape: _Shape, *, required: bool) -> Field:
    return Field(
        types=frozenset(shape.types),
        nullable=shape.nullable,
        required=required,
        enum=frozenset(shape.enum) if shape.enum is not None else None,
        open_enum=shape.open_enum and shape.enum is not None,
        constraints=tuple(
            (key, "|".join(sorted(values))) for key, values in sorted(shape.constraints.items())
        ),
    )


def _flatten(shape: _Shape, location: str, *, required: bool) -> Iterator[tuple[str, Field]]:
    yield location, _field(shape, required=required)
    for name, (sub, sub_required) in sorted(shape.props.items()):
        yield from _flatten(sub, _join(location, name), required=sub_required)
    if shape.items is not None:
        yield from _flatten(shape.items, location + "[]", required=False)


def _join(location: str, name: str) -> str:
    # Roots end in "body"; below them a field path: `response 200 body actions[].type`.
    return f"{location} {name}" if location.endswith(" body") else f"{location}.{name}"


def schema_fields(
    document: Mapping[str, Any], schema: Any, location: str, *, required: bool, source: str
) -> dict[str, Field]:
    """Flatten one schema of `document` into fields under `location`."""
    return dict(_flatten(_shape(_Resolver(document, source), schema), location, required=required))


def _scheme_text(scheme: Mapping[str, Any]) -> str:
    kind = str(scheme.get("type", "?"))
    if kind == "apiKey":
        return f'apiKey in {scheme.get("in", "?")} "{scheme.get("name", "?")}"'
    if kind == "http":
        return f"http {str(scheme.get('scheme', '?')).lower()}"
    return kind


def read_operation(
    document: Mapping[str, Any],
    method: str,
    path: str,
    *,
    source: str,
    fold_security_headers: bool = False,
) -> Operation:
    """Read the operation `method path` of an OpenAPI document into an `Operation`.

    With `fold_security_headers`, each apiKey-in-header scheme also counts as a required request
    header, so a credential declared as a scheme on one side and as a header parameter on the
    other compares equal as a header (the schemes are still compared as security).
    """
    document = coerce_stringly(document)
    resolver = _Resolver(document, source)
    path_item, _ = resolver.deref((document.get("paths") or {}).get(path))
    if not isinstance(path_item, dict) or not isinstance(path_item.get(method), dict):
        raise MissingOperationError(f"{source}: no operation {method.upper()} {path}")
    operation: dict[str, Any] = path_item[method]
    # The most specific server list wins: operation, then path item, then document.
    servers = operation.get("servers") or path_item.get("servers") or document.get("servers") or []
    security, header_schemes = _security(document, operation, resolver)
    fields: dict[str, Field] = {}
    if fold_security_headers:
        for name in sorted(header_schemes):
            fields[f"request header {name}"] = Field(types=frozenset({"string"}), required=True)
    fields.update(_parameters(path_item, operation, resolver))
    body, _ = resolver.deref(operation.get("requestBody"))
    schema = _json_schema(body) if isinstance(body, dict) else None
    if isinstance(body, dict) and schema is not None:
        required = body.get("required") is True
        fields.update(_flatten(_shape(resolver, schema), "request body", required=required))
    statuses, response_fields = _responses(operation, resolver)
    fields.update(response_fields)
    return Operation(
        method=method,
        path=path,
        servers=tuple(
            sorted({normalise_url(str(s.get("url", ""))) for s in servers if isinstance(s, dict)})
        ),
        security=security,
        statuses=statuses,
        fields=fields,
    )


def _security(
    document: Mapping[str, Any], operation: Mapping[str, Any], resolver: _Resolver
) -> tuple[frozenset[str], set[str]]:
    """The schemes the operation accepts, and the header names of its apiKey-in-header ones."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    requirements = operation.get("security", document.get("security")) or []
    security: set[str] = set()
    headers: set[str] = set()
    for requirement in requirements:
        for name in requirement or {}:
            scheme, _ = resolver.deref(schemes.get(name))
            if not isinstance(scheme, dict):
                raise SpecError(f"{resolver.source}: security scheme {name!r} is not defined")
            security.add(_scheme_text(scheme))
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                headers.add(str(scheme.get("name", "")).lower())
    return frozenset(security), headers


def _parameters(
    path_item: Mapping[str, Any], operation: Mapping[str, Any], resolver: _Resolver
) -> Iterator[tuple[str, Field]]:
    for raw in [*(path_item.get("parameters") or []), *(operation.get("parameters") or [])]:
        parameter, _ = resolver.deref(raw)
        if not isinstance(parameter, dict) or "name" not in parameter:
            raise SpecError(f"{resolver.source}: a parameter has no name")
        where = str(parameter.get("in", "?"))
        name = str(parameter["name"])
        # Header names are case-insensitive on the wire.
        location = f"request {where} {name.lower() if where == 'header' else name}"
        required = parameter.get("required") is True or where == "path"
        shape = _shape(resolver, parameter.get("schema", {}))
        yield from _flatten(shape, location, required=required)


def _responses(
    operation: Mapping[str, Any], resolver: _Resolver
) -> tuple[tuple[str, ...], dict[str, Field]]:
    statuses: list[str] = []
    fields: dict[str, Field] = {}
    for status, raw in (operation.get("responses") or {}).items():
        response, _ = resolver.deref(raw)
        statuses.append(str(status))
        if not isinstance(response, dict):
            continue
        for name, raw_header in (response.get("headers") or {}).items():
            header, _ = resolver.deref(raw_header)
            if isinstance(header, dict):
                location = f"response {status} header {str(name).lower()}"
                shape = _shape(resolver, header.get("schema", {}))
                fields.update(_flatten(shape, location, required=header.get("required") is True))
        schema = _json_schema(response)
        if schema is not None:
            location = f"response {status} body"
            fields.update(_flatten(_shape(resolver, schema), location, required=True))
    return tuple(sorted(statuses)), fields


def operations(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(method, path) of every operation in a document, sorted."""
    found: list[tuple[str, str]] = []
    for path, item in (document.get("paths") or {}).items():
        if isinstance(item, dict):
            found.extend(
                (method, str(path)) for method in METHODS if isinstance(item.get(method), dict)
            )
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def _json_schema(holder: Mapping[str, Any]) -> Any:
    """The schema of the JSON media type of a request body or response, if any."""
    content = holder.get("content") or {}
    for media_type in sorted(content):
        if media_type.split(";")[0].strip().endswith("json"):
            entry = content[media_type]
            return entry.get("schema", {}) if isinstance(entry, dict) else {}
    return None


def examples(document: Mapping[str, Any], method: str, path: str) -> Iterator[tuple[str, Any]]:
    """Yield (root location, value) for each example of the operation's JSON bodies."""
    resolver = _Resolver(document, "examples")
    path_item, _ = resolver.deref((document.get("paths") or {}).get(path))
    operation = path_item.get(method) if isinstance(path_item, dict) else None
    if not isinstance(operation, dict):
        return
    holders: list[tuple[str, Any]] = [("request body", operation.get("requestBody"))]
    holders += [
        (f"response {status} body", response)
        for status, response in (operation.get("responses") or {}).items()
    ]
    for root, raw in holders:
        holder, _ = resolver.deref(raw)
        if not isinstance(holder, dict):
            continue
        for media_type, entry in sorted((holder.get("content") or {}).items()):
            if not media_type.split(";")[0].strip().endswith("json") or not isinstance(entry, dict):
                continue
            if "example" in entry:
                yield root, entry["example"]
            for raw_example in (entry.get("examples") or {}).values():
                example, _ = resolver.deref(raw_example)
                if isinstance(example, dict) and "value" in example:
                    yield root, example["value"]


@dataclass(frozen=True, order=True)
class Delta:
    """One difference between two readings, `left` and `right`.

    Attributes:
        aspect: What differs: operation, server, security, status, property, type, nullable,
            required, enum, tolerance, constraint or example.
        where: The location (empty for servers, security, statuses).
        key: What within the aspect: the enum value, constraint keyword, URL, scheme, status.
        left: The value on the left side, None when absent there.
        right: The value on the right side, None when absent there.
    """

    aspect: str
    where: str
    key: str
    left: str | None
    right: str | None


# Everything `compare` can look at; a reader of a format that cannot express an aspect (a
# markdown table has no nullability) compares with fewer.
ALL_ASPECTS = frozenset(
    {
        "server",
        "security",
        "status",
        "roots",
        "type",
        "nullable",
        "request-required",
        "response-required",
        "enum",
        "constraint",
    }
)


def _below(location: str, ancestor: str) -> bool:
    return location.startswith((ancestor + ".", ancestor + "[]", ancestor + " "))


def _is_root(location: str) -> bool:
    return location.endswith(" body")


def compare(left: Operation, right: Operation, aspects: Iterable[str] = ALL_ASPECTS) -> list[Delta]:
    """Every difference between two readings of one operation, sorted."""
    wanted = frozenset(aspects)
    deltas: list[Delta] = []

    def sets(aspect: str, ours: Iterable[str], theirs: Iterable[str]) -> None:
        a, b = set(ours), set(theirs)
        deltas.extend(Delta(aspect, "", key, key, None) for key in sorted(a - b))
        deltas.extend(Delta(aspect, "", key, None, key) for key in sorted(b - a))

    if "server" in wanted:
        sets("server", left.servers, right.servers)
    if "security" in wanted:
        sets("security", left.security, right.security)
    one_sided: set[str] = set()
    if "status" in wanted:
        sets("status", left.statuses, right.statuses)
        one_sided = set(left.statuses) ^ set(right.statuses)

    def relevant(location: str) -> bool:
        if location.startswith("response ") and location.split(" ")[1] in one_sided:
            return False
        return "roots" in wanted or not _is_root(location)

    left_fields = {k: v for k, v in left.fields.items() if relevant(k)}
    right_fields = {k: v for k, v in right.fields.items() if relevant(k)}
    missing: list[str] = []
    for location in sorted(set(left_fields) | set(right_fields)):
        if any(_below(location, gone) for gone in missing):
            continue
        a, b = left_fields.get(location), right_fields.get(location)
        if a is not None and b is not None:
            deltas.extend(_field_deltas(location, a, b, wanted))
            continue
        missing.append(location)
        deltas.append(
            Delta(
                "property", location, "", a.describe() if a else None, b.describe() if b else None
            )
        )
    return sorted(deltas)


def _field_deltas(location: str, a: Field, b: Field, wanted: frozenset[str]) -> Iterator[Delta]:
    if "type" in wanted and a.types != b.types:
        yield Delta(
            "type",
            location,
            "",
            "|".join(sorted(a.types)) or "any type",
            "|".join(sorted(b.types)) or "any type",
        )
    if "nullable" in wanted and a.nullable != b.nullable:
        yield Delta("nullable", location, "", str(a.nullable), str(b.nullable))
    side = "request-required" if location.startswith("request") else "response-required"
    if side in wanted and a.required != b.required and not _is_root(location):
        yield Delta("required", location, "", str(a.required), str(b.required))
    if "enum" in wanted and (a.enum is not None or b.enum is not None):
        a_values, b_values = a.enum or frozenset(), b.enum or frozenset()
        for value in sorted(a_values - b_values):
            yield Delta("enum", location, value, value, None)
        for value in sorted(b_values - a_values):
            yield Delta("enum", location, value, None, value)
        if a.enum is not None and b.enum is not None and a.open_enum != b.open_enum:
            yield Delta(
                "tolerance",
                location,
                "",
                "open" if a.open_enum else "closed",
                "open" if b.open_enum else "closed",
            )
    if "constraint" in wanted:
        a_limits, b_limits = dict(a.constraints), dict(b.constraints)
        for key in sorted(set(a_limits) | set(b_limits)):
            if a_limits.get(key) != b_limits.get(key):
                yield Delta("constraint", location, key, a_limits.get(key), b_limits.get(key))

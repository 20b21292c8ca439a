"""The provider specs, loaded once and compiled into routes and validators.

Every rule the sandbox enforces on a request, and every check it can make of its own answers,
comes from `specs/<provider>.yaml`, the files the clients are generated from: there is no second
copy of the rules. Schemas are compiled once at start with openapi-core's OpenAPI 3.1 schema
validator factory (openapi-core's whole-request validator cannot be used as is: it raises
`KeyError` on KBank's `mutualTLS` security scheme, and it resolves paths on every call), so a
request costs one precompiled jsonschema run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from jsonschema_path import SchemaPath
from openapi_core.validation.schemas import oas31_schema_validators_factory

from tokencancel_sandbox._config import PROVIDERS
from tokencancel_sandbox._errors import SandboxConfigError

__all__ = [
    "BodyRule",
    "Operation",
    "ParameterRule",
    "Problem",
    "ProviderSpec",
    "SpecContentError",
    "SpecNotFoundError",
    "find_spec_dir",
    "load_specs",
    "parse_json",
]


class Validator(Protocol):
    """A compiled jsonschema validator (jsonschema ships no type stubs)."""

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        """Yield a `jsonschema.ValidationError` per way `instance` breaks the schema."""
        ...  # pragma: no cover


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecNotFoundError(FileNotFoundError):
    """The provider specs are neither packaged with the sandbox nor in the repository."""


class SpecContentError(SandboxConfigError):
    """A spec lacks something the sandbox needs (an operation, an answer, a listed value)."""


@dataclass(frozen=True)
class Problem:
    """One way a request breaks its spec, worded without echoing the value sent.

    `location` is `body`, `path`, `header` or `query`; `field` is the dotted path of the
    offending member (`""` for the whole body) or the parameter name.
    """

    location: str
    field: str
    message: str

    def describe(self) -> str:
        """Return `field message`, or the message alone for the whole body."""
        return f"{self.field} {self.message}" if self.field else f"body {self.message}"


@dataclass(frozen=True)
class ParameterRule:
    """A parameter of an operation: where it lives, whether it is required, its schema."""

    name: str
    location: str
    required: bool
    schema_type: str | None
    validator: Validator

    def problems(self, raw: str | None) -> list[Problem]:
        """Check one received value (None when absent)."""
        if raw is None:
            return [Problem(self.location, self.name, "is required")] if self.required else []
        value = _cast_parameter(raw, self.schema_type)
        return [
            Problem(self.location, self.name, _describe_error(error))
            for error in self.validator.iter_errors(value)
        ]


@dataclass(frozen=True)
class BodyRule:
    """The request body of an operation: required or not, media types, schema."""

    required: bool
    media_types: tuple[str, ...]
    validator: Validator


@dataclass(frozen=True)
class ResponseRule:
    """What one documented answer (status and media type) must look like."""

    validator: Validator | None
    headers: Mapping[str, ParameterRule]


@dataclass(frozen=True)
class Operation:
    """One operation of a spec, compiled: how to match it and how to check it."""

    provider: str
    operation_id: str
    method: str
    path_template: str
    pattern: re.Pattern[str]
    parameters: tuple[ParameterRule, ...]
    body: BodyRule | None
    responses: Mapping[tuple[str, str], ResponseRule]
    #: The JSON schema of each documented answer, by status (`200`, `default`), uncompiled:
    #: where the vocabularies (statuses, error codes) are read from.
    answer_schemas: Mapping[str, SchemaPath]

    def match(self, path: str) -> dict[str, str] | None:
        """Return the percent-decoded path parameters if `path` is this operation's path."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}

    def request_problems(
        self,
        path_params: Mapping[str, str],
        headers: Mapping[str, str],
        query: Mapping[str, str],
        content_type: str | None,
        raw_body: bytes,
    ) -> tuple[list[Problem], Any]:
        """Check a request against the spec; return its problems and the parsed body."""
        problems: list[Problem] = []
        sources: dict[str, Mapping[str, str]] = {
            "path": path_params,
            "header": headers,
            "query": query,
        }
        for rule in self.parameters:
            # Header names are case-insensitive: the caller passes them lower-cased.
            name = rule.name.lower() if rule.location == "header" else rule.name
            problems.extend(rule.problems(sources.get(rule.location, {}).get(name)))
        body: Any = None
        if self.body is not None:
            body_problems, body = self._body_problems(content_type, raw_body)
            problems.extend(body_problems)
        return problems, body

    def _body_problems(
        self, content_type: str | None, raw_body: bytes
    ) -> tuple[list[Problem], Any]:
        assert self.body is not None  # noqa: S101 -- only called when the operation has a body
        if not raw_body:
            if self.body.required:
                return [Problem("body", "", "is required")], None
            return [], None
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in self.body.media_types:
            expected = " or ".join(self.body.media_types)
            return [Problem("header", "Content-Type", f"must be {expected}")], None
        parsed, ok = parse_json(raw_body)
        if not ok:
            return [Problem("body", "", "is not valid JSON")], None
        return schema_problems(self.body.validator, parsed, "body"), parsed

    def response_problems(
        self, status: int, content_type: str, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """Check an answer against the spec; return what does not conform."""
        media_type = content_type.split(";", 1)[0].strip().lower()
        rule = self.responses.get((str(status), media_type)) or self.responses.get(
            ("default", media_type)
        )
        if rule is None:
            return [f"no {media_type} answer with status {status} is documented"]
        found: list[str] = []
        lowered = {name.lower(): value for name, value in headers.items()}
        for name, header_rule in rule.headers.items():
            found.extend(p.describe() for p in header_rule.problems(lowered.get(name.lower())))
        if rule.validator is not None:
            parsed, ok = parse_json(body)
            if not ok:
                return [*found, "body is not valid JSON"]
            found.extend(p.describe() for p in schema_problems(rule.validator, parsed, "body"))
        return found


@dataclass(frozen=True)
class ProviderSpec:
    """One provider's spec: the URL prefix standing in for its server, and its operations."""

    provider: str
    path: Path
    prefix: str
    operations: tuple[Operation, ...]
    document: SchemaPath

    def schema_validator(self, *pointer: str) -> Validator:
        """Compile the schema at `pointer` (e.g. `components`, `schemas`, `PaymentToken`)."""
        return _compile(self.document, _walk(self.document, pointer))

    def operation(self, operation_id: str) -> Operation:
        """Return the operation with this `operationId`; SpecContentError if there is none."""
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise SpecContentError(f"{self.path} has no operation {operation_id!r}")

    def answer_schema(self, operation_id: str, status: str) -> SchemaPath:
        """Return the JSON schema of the operation's documented answer with `status`."""
        schema = self.operation(operation_id).answer_schemas.get(status)
        if schema is None:
            raise SpecContentError(
                f"{self.path} documents no JSON answer {status} for {operation_id!r}"
            )
        return schema


def parse_json(raw: bytes) -> tuple[Any, bool]:
    """Parse strict JSON (no NaN or Infinity); return (value, True) or (None, False)."""
    try:
        return json.loads(raw, parse_constant=_reject_constant), True
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8, bad JSON, NaN/Infinity and over-long integers.
        return None, False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def schema_problems(validator: Validator, value: Any, location: str) -> list[Problem]:
    """Return the problems of `value` under `validator`, one per distinct field and message."""
    problems: dict[tuple[str, str], Problem] = {}
    try:
        errors = list(validator.iter_errors(value))
    except RecursionError:
        return [Problem(location, "", "is nested too deeply")]
    for error in errors:
        base = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, Mapping):
            for name in error.validator_value:
                if name not in error.instance:
                    field = f"{base}.{name}" if base else str(name)
                    problems[(field, "required")] = Problem(location, field, "is required")
            continue
        message = _describe_error(error)
        problems.setdefault((base, message), Problem(location, base, message))
    return sorted(problems.values(), key=lambda problem: (problem.field, problem.message))


def _describe_error(error: Any) -> str:
    """Word a schema error without the value that caused it (it may be a secret)."""
    keyword = error.validator
    expected: Any = error.validator_value
    simple = {
        "minLength": f"must be at least {expected} characters long",
        "maxLength": f"must be at most {expected} characters long",
        "minimum": f"must be at least {expected}",
        "maximum": f"must be at most {expected}",
        "exclusiveMinimum": f"must be greater than {expected}",
        "exclusiveMaximum": f"must be less than {expected}",
        "minItems": f"must have at least {expected} items",
        "maxItems": f"must have at most {expected} items",
        "maxProperties": f"must have at most {expected} members",
        "pattern": f"must match the pattern {expected}",
        "format": f"must be a valid {expected}",
        "const": f"must be {json.dumps(expected)}",
    }
    if keyword in simple:
        return simple[keyword]
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        return "must be of type " + " or ".join(str(t) for t in types)
    if keyword == "enum":
        return "must be one of " + ", ".join(json.dumps(v) for v in expected)
    if keyword in {"anyOf", "oneOf"}:
        return "does not match any of the allowed forms"
    return f"is invalid ({keyword})"


def _cast_parameter(raw: str, schema_type: str | None) -> Any:
    """Turn a parameter's text into the type its schema names, when it reads as one."""
    casts: dict[str, Any] = {"integer": int, "number": float}
    if schema_type in casts:
        try:
            return casts[schema_type](raw)
        except ValueError:
            return raw
    if schema_type == "boolean" and raw in {"true", "false"}:
        return raw == "true"
    return raw


def find_spec_dir() -> Path:
    """Locate the specs: packaged beside the sandbox in a wheel, else the repository's specs/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "specs", here.parent.parent / "specs"):
        if all((candidate / f"{provider}.yaml").is_file() for provider in PROVIDERS):
            return candidate
    raise SpecNotFoundError(
        "the provider specs were not found: expected tokencancel_sandbox/specs/ (installed) "
        "or specs/ at the repository root (editable install)"
    )


@lru_cache(maxsize=4)
def load_specs(spec_dir: Path) -> Mapping[str, ProviderSpec]:
    """Load and compile the three specs in `spec_dir` (cached: compiling takes a moment)."""
    return {
        provider: _load_provider(provider, spec_dir / f"{provider}.yaml") for provider in PROVIDERS
    }


def _load_provider(provider: str, path: Path) -> ProviderSpec:
    document = SchemaPath.from_file_path(str(path))
    servers = list(document / "servers")
    server_path = urlsplit((servers[0] / "url").read_str()).path.rstrip("/") if servers else ""
    # The prefix stands in for the provider's first server: /xendit for https://api.xendit.co,
    # /kbank/v1 for https://kbankapi.tech/v1.
    prefix = f"/{provider}{server_path}"
    operations: list[Operation] = []
    for template, path_item in (document / "paths").items():
        for method in _HTTP_METHODS:
            if method in path_item:
                operations.append(
                    _compile_operation(provider, document, str(template), method, path_item)
                )
    return ProviderSpec(provider, path, prefix, tuple(operations), document)


def _compile_operation(
    provider: str, document: SchemaPath, template: str, method: str, path_item: SchemaPath
) -> Operation:
    operation = path_item / method
    parameters: dict[tuple[str, str], ParameterRule] = {}
    # Operation parameters override path-item ones with the same name and location.
    for source in (path_item, operation):
        for parameter in source.get("parameters", SchemaPath.from_dict({})):
            rule = _compile_parameter(document, parameter)
            parameters[(rule.name, rule.location)] = rule
    body: BodyRule | None = None
    if "requestBody" in operation:
        request_body = operation / "requestBody"
        content = request_body / "content"
        media_types = tuple(str(media_type) for media_type, _ in content.items())
        json_types = [m for m in media_types if m == "application/json" or m.endswith("+json")]
        if json_types:
            body = BodyRule(
                required=(request_body / "required").read_bool(default=False),
                media_types=media_types,
                validator=_compile(document, content / json_types[0] / "schema"),
            )
    responses: dict[tuple[str, str], ResponseRule] = {}
    answer_schemas: dict[str, SchemaPath] = {}
    for status, response in (operation / "responses").items():
        headers = {
            str(name): _compile_header(document, str(name), header)
            for name, header in response.get("headers", SchemaPath.from_dict({})).items()
        }
        for media_type, media in response.get("content", SchemaPath.from_dict({})).items():
            validator = _compile(document, media / "schema") if "schema" in media else None
            responses[(str(status), str(media_type))] = ResponseRule(validator, headers)
            if str(media_type) == "application/json" and "schema" in media:
                answer_schemas[str(status)] = media / "schema"
    pattern = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]*)", re.escape(template)))
    return Operation(
        provider=provider,
        operation_id=(operation / "operationId").read_str(),
        method=method.upper(),
        path_template=template,
        pattern=pattern,
        parameters=tuple(parameters.values()),
        body=body,
        responses=responses,
        answer_schemas=answer_schemas,
    )


def _compile_parameter(document: SchemaPath, parameter: SchemaPath) -> ParameterRule:
    with parameter.resolve() as resolved:
        location = str(resolved.contents["in"])
    return _rule(
        document,
        name=(parameter / "name").read_str(),
        location=location,
        required=(parameter / "required").read_bool(default=location == "path"),
        schema=parameter / "schema",
    )


def _compile_header(document: SchemaPath, name: str, header: SchemaPath) -> ParameterRule:
    return _rule(
        document,
        name=name,
        location="header",
        required=(header / "required").read_bool(default=False),
        schema=header / "schema",
    )


def _rule(
    document: SchemaPath, *, name: str, location: str, required: bool, schema: SchemaPath
) -> ParameterRule:
    with schema.resolve() as resolved:
        declared = resolved.contents.get("type") if isinstance(resolved.contents, dict) else None
    return ParameterRule(
        name=name,
        location=location,
        required=required,
        schema_type=declared if isinstance(declared, str) else None,
        validator=_compile(document, schema),
    )


def _compile(document: SchemaPath, schema: SchemaPath) -> Validator:
    validator: Validator = oas31_schema_validators_factory.create(document, schema).validator
    return validator


def _walk(document: SchemaPath, pointer: tuple[str, ...]) -> SchemaPath:
    node = document
    for part in pointer:
        node = node / part
    return node

"""The providers' vocabularies (token statuses, error codes), read from their specs.

The sandbox names no status or code list of its own for what a spec already enumerates: Xendit's
token statuses are the values the spec allows for the payment token's `status`, its error codes
per HTTP status those allowed for `error_code` in that status's answer, KBank's token statuses
those allowed for `tokenList[].status`, Solidgate's cancellation status and error codes those
allowed for `status` and `error.code`. Adding a value to an enum in a spec adds it to the sandbox.

Values are collected from `enum` and `const`, through `$ref`, `anyOf`, `oneOf`, `allOf` and
`items` (never `not`: a value a schema excludes is not part of its vocabulary).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator

from jsonschema_path import SchemaPath

from tokencancel_sandbox._errors import SandboxConfigError

__all__ = ["NovelWords", "enumerated", "property_values", "require_listed"]

# Deeper than any of the specs; stops a (malformed) self-referencing schema from looping.
_MAX_DEPTH = 32
_COMBINATORS = ("anyOf", "oneOf", "allOf")


def enumerated(schema: SchemaPath) -> tuple[str, ...]:
    """Return the strings `schema` enumerates (`enum`, `const`), in spec order, without repeats."""
    return _unique(_enumerated(schema, 0))


def property_values(schema: SchemaPath, name: str) -> tuple[str, ...]:
    """Return the strings enumerated for every property called `name` anywhere in `schema`.

    E.g. `status` in Xendit's 200 answer gives the payment token statuses; `status` in KBank's
    answer finds only `tokenList[].status` (its `statusCode` is another name).
    """
    return _unique(_property_values(schema, name, 0))


def require_listed(
    values: Iterable[str], listed: tuple[str, ...], *, spec: str, what: str, why: str
) -> None:
    """Raise SandboxConfigError unless every value the sandbox sends is listed in the spec."""
    missing = [value for value in values if value not in listed]
    if missing:
        raise SandboxConfigError(
            f"{spec} no longer lists {what} {', '.join(missing)}, which the sandbox answers "
            f"{why}; listed: {', '.join(listed) or 'none'}"
        )


class NovelWords:
    """Codes, statuses and texts no spec lists and no client has seen (the unknown vocabulary).

    Each call returns a fresh random word, never one of `known`, so an answer built from them is
    still valid against a tolerant spec (an open enum takes any string) but means nothing to a
    client: a client must treat it as unknown, never as final.
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known = frozenset(word.casefold() for word in known)

    def code(self) -> str:
        """An upper-case code, e.g. `NOVEL_3F9A1C7E`."""
        return self._fresh(lambda: f"NOVEL_{secrets.token_hex(4).upper()}")

    def status(self, *, upper: bool = True) -> str:
        """A token status, `NOVEL_...` (or `novel_...` for a provider with lower-case words)."""
        word = self.code()
        return word if upper else word.lower()

    def text(self) -> str:
        """A message that names no condition a client could recognise."""
        return self._fresh(lambda: f"unlisted condition {secrets.token_hex(4)}")

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            word = make()
            if word.casefold() not in self._known:
                return word


def _contents(schema: SchemaPath) -> object:
    with schema.resolve() as resolved:
        return resolved.contents


def _enumerated(schema: SchemaPath, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    contents = _contents(schema)
    if not isinstance(contents, dict):
        return
    for value in contents.get("enum") or ():
        if isinstance(value, str):
            yield value
    if isinstance(contents.get("const"), str):
        yield contents["const"]
    for combinator in _COMBINATORS:
        if combinator in contents:
            for branch in schema / combinator:
                yield from _enumerated(branch, depth + 1)


def _property_values(schema: SchemaPath, name: str, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    contents = _contents(schema)
    if not isinstance(contents, dict):
        return
    if isinstance(contents.get("properties"), dict):
        for key, member in (schema / "properties").items():
            if key == name:
                yield from _enumerated(member, depth + 1)
            yield from _property_values(member, name, depth + 1)
    for combinator in _COMBINATORS:
        if combinator in contents:
            for branch in schema / combinator:
                yield from _property_values(branch, name, depth + 1)
    if isinstance(contents.get("items"), dict):
        yield from _property_values(schema / "items", name, depth + 1)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))

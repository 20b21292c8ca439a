"""Fetch each provider's published description of its cancel operation and read it.

Each provider publishes in its own format, and each reader returns the same `Upstream`: the
operation as `apispec.Operation`, the aspects its format can express at all (a markdown table
has no nullability, no enums and no status codes, so those are not compared), and its examples.

- Xendit: a markdown page holding the operation's OpenAPI 3.0 document in one fenced JSON block
  (a plain JSON document is read too). Its string-typed numbers and booleans are read as values.
- Solidgate: the OpenAPI 3.0.3 bundle of its whole API reference; the operation is picked out
  by method and path.
- KBank: an Open API portal markdown page with field tables (request: field, data type,
  mandatory; response: field, data type), a test endpoint and example request and response.

`fetch` reads a local file or an http(s) URL (httpx2, with a timeout and a size cap) and raises
`UpstreamError` with a one-line reason for anything it cannot read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from apispec import (
    ALL_ASPECTS,
    Field,
    MissingOperationError,
    Operation,
    SpecError,
    examples,
    load_document,
    normalise_url,
)
from apispec import read_operation as read_openapi_operation

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024  # Solidgate's bundle holds its whole API reference


class UpstreamError(Exception):
    """An upstream document that cannot be fetched or read; the message is one line."""


class UnpublishedOperationError(UpstreamError):
    """The page is readable but does not describe our operation: a difference, not an error."""


@dataclass
class Upstream:
    """What a provider publishes about one operation, read into comparable facts.

    Attributes:
        operation: The operation's facts.
        aspects: The aspects the format can express (see `apispec.ALL_ASPECTS`).
        examples: (root location, value) for each example body the page shows.
        unreadable_examples: Root locations of examples that could not be parsed.
    """

    operation: Operation
    aspects: frozenset[str]
    examples: list[tuple[str, Any]] = field(default_factory=list)
    unreadable_examples: list[str] = field(default_factory=list)


def fetch(location: str, *, timeout: float, max_bytes: int) -> str:
    """Return the text at a local path or an http(s) URL, refusing more than `max_bytes`."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
        if not location.lower().startswith(("http://", "https://")):
            raise UpstreamError(f"{location}: only http(s) URLs and local files can be read")
        return _fetch_url(location, timeout=timeout, max_bytes=max_bytes)
    path = Path(location)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UpstreamError(f"{location}: {size} bytes, over the {max_bytes}-byte cap")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UpstreamError(f"{location}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UpstreamError(f"{location}: cannot read it ({error.__class__.__name__})") from None


def _fetch_url(url: str, *, timeout: float, max_bytes: int) -> str:
    headers = {"User-Agent": "tokencancel-check-upstream", "Accept": "*/*"}
    try:
        with (
            httpx2.Client(timeout=timeout, follow_redirects=True, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != httpx2.codes.OK:
                raise UpstreamError(f"{url}: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise UpstreamError(f"{url}: {declared} bytes, over the {max_bytes}-byte cap")
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise UpstreamError(f"{url}: more than the {max_bytes}-byte cap")
                chunks.append(chunk)
            encoding = response.charset_encoding or "utf-8"
    except httpx2.TimeoutException:
        raise UpstreamError(f"{url}: no answer within {timeout:g} s") from None
    except httpx2.HTTPError as error:
        raise UpstreamError(f"{url}: {error.__class__.__name__}: {error}") from None
    try:
        return b"".join(chunks).decode(encoding)
    except (LookupError, UnicodeDecodeError):
        raise UpstreamError(f"{url}: the answer is not text in {encoding}") from None


FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*([^\n]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def read_xendit(text: str, source: str, method: str, path: str) -> Upstream:
    """Read Xendit's page: one fenced JSON block holding an OpenAPI 3.0 document."""
    if text.lstrip().startswith("{"):
        body = text
    else:
        blocks = [m.group(3) for m in FENCE.finditer(text) if m.group(2).lower().startswith("json")]
        if len(blocks) != 1:
            raise UpstreamError(f"{source}: expected one fenced JSON block, found {len(blocks)}")
        body = blocks[0]
    try:
        document = json.loads(body)
    except json.JSONDecodeError as error:
        raise UpstreamError(f"{source}: the JSON block does not parse ({error})") from None
    return _read_openapi(document, source, method, path)


def read_solidgate(text: str, source: str, method: str, path: str) -> Upstream:
    """Read Solidgate's API bundle (OpenAPI 3.0.3, JSON or YAML) and pick out the operation."""
    try:
        document = load_document(text, source)
    except SpecError as error:
        raise UpstreamError(str(error)) from None
    return _read_openapi(document, source, method, path)


def _read_openapi(document: Any, source: str, method: str, path: str) -> Upstream:
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise UpstreamError(f"{source}: not an OpenAPI 3 document")
    try:
        operation = read_openapi_operation(
            document, method, path, source=source, fold_security_headers=True
        )
    except MissingOperationError as error:
        raise UnpublishedOperationError(str(error)) from None
    except SpecError as error:
        raise UpstreamError(str(error)) from None
    return Upstream(
        operation=operation,
        aspects=ALL_ASPECTS,
        examples=list(examples(document, method, path)),
    )


# KBank's table types, as the portal writes them, in JSON Schema terms.
KBANK_TYPES = {
    "string": "string",
    "long": "integer",
    "int": "integer",
    "integer": "integer",
    "number": "number",
    "double": "number",
    "decimal": "number",
    "float": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "object": "object",
}
# What a markdown page can say: which fields exist, their types, whether a request field is
# mandatory, and the endpoint. Nothing about null, enums, limits, statuses or auth schemes.
KBANK_ASPECTS = frozenset({"server", "type", "request-required"})
# The media type is the request body's, not a header the caller sets by hand.
KBANK_IGNORED_HEADERS = frozenset({"content-type"})


def read_kbank(text: str, source: str, method: str, path: str) -> Upstream:
    """Read a KBank Open API portal page (markdown field tables) for the operation at `path`."""
    sections = _kbank_sections(text)
    request_rows = _table(sections.get("request parameters", ""))
    response_rows = _table(sections.get("response message", ""))
    if not request_rows or not response_rows:
        raise UpstreamError(
            f"{source}: expected a 'Request Parameters' and a 'Response Message' field table"
        )
    endpoints = _endpoints(text)
    servers = tuple(
        sorted({normalise_url(url[: -len(path)]) for url in endpoints if url.endswith(path)})
    )
    if endpoints and not servers:
        raise UnpublishedOperationError(f"{source}: no endpoint ends with {path}")

    fields: dict[str, Field] = {}
    section = "body"
    for row in request_rows:
        name = row.get("field", "")
        marker = re.match(r"\[colspan=\d+\]\s*(\w+)", name)
        if marker:
            section = "header" if marker.group(1).lower() == "header" else "body"
            continue
        if section == "header":
            if name.lower() in KBANK_IGNORED_HEADERS:
                continue
            location = f"request header {name.lower()}"
        else:
            location = _kbank_location("request body", name, fields)
        mandatory = row.get("mandatory", "").strip().upper() in {"Y", "YES", "M", "TRUE"}
        fields[location] = Field(types=_kbank_type(row, source), required=mandatory)
    for row in response_rows:
        location = _kbank_location("response 200 body", row.get("field", ""), fields)
        fields[location] = Field(types=_kbank_type(row, source))

    upstream = Upstream(
        operation=Operation(method=method, path=path, servers=servers, fields=fields),
        aspects=KBANK_ASPECTS,
    )
    for root, heading in (
        ("request body", "example request"),
        ("response 200 body", "example response"),
    ):
        block = sections.get(heading)
        if block is None:
            continue
        parsed = _example_json(block)
        if parsed is None:
            upstream.unreadable_examples.append(root)
        else:
            upstream.examples.append((root, parsed))
    return upstream


def _kbank_sections(text: str) -> dict[str, str]:
    """Split the page at its bold headings (`**Request Parameters**`), by lower-case title."""
    sections: dict[str, str] = {}
    parts = re.split(r"^\*\*([^*\n]+)\*\*[ \t]*$", text, flags=re.MULTILINE)
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip().lower()] = body
    return sections


def _table(section: str) -> list[dict[str, str]]:
    """The first markdown table of a section, one dict per row keyed by lower-case header."""
    lines = [line.strip() for line in section.splitlines()]
    rows = [line for line in lines if line.startswith("|")]
    if len(rows) < 2:  # noqa: PLR2004 (a header and its separator row at least)
        return []
    header = [cell.strip().lower() for cell in rows[0].strip("|").split("|")]
    table: list[dict[str, str]] = []
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        table.append(dict(zip(header, cells, strict=False)))
    return table


def _kbank_type(row: dict[str, str], source: str) -> frozenset[str]:
    # Portal types may carry a length, as in `string(15)`; the length is not compared.
    written = re.sub(r"\(.*\)$", "", row.get("data type", "")).strip().lower()
    if not written:
        raise UpstreamError(f"{source}: field {row.get('field', '?')!r} has no data type")
    return frozenset({KBANK_TYPES.get(written, written)})


def _kbank_location(root: str, name: str, known: dict[str, Field]) -> str:
    """`tokenList.status` below an array `tokenList` is `tokenList[].status`."""
    location = root
    for index, part in enumerate(name.split(".")):
        location = f"{location} {part}" if index == 0 else f"{location}.{part}"
        parent = known.get(location)
        if parent is not None and parent.types == {"array"} and index < name.count("."):
            location += "[]"
            # The table lists the item's fields, not the item: it is an object holding them.
            known.setdefault(location, Field(types=frozenset({"object"})))
    return location


def _endpoints(text: str) -> list[str]:
    """URLs in the page's endpoint blocks (a fenced block with a `---[... Endpoint]---` line)."""
    urls: list[str] = []
    for match in FENCE.finditer(text):
        block = match.group(3)
        if re.search(r"^---\[[^\]]*endpoint[^\]]*\]---$", block, re.IGNORECASE | re.MULTILINE):
            urls += re.findall(r"^\s*(https?://\S+)\s*$", block, re.MULTILINE)
    return urls


def _example_json(section: str) -> Any | None:
    """The JSON of an example section: a ```json block, or the body of a cURL `-d '...'`."""
    for match in FENCE.finditer(section):
        block = match.group(3)
        if match.group(2).strip().lower().startswith("json"):
            candidate = block
        else:
            found = re.search(r"-d\s+'(.*?)'", block, re.DOTALL)
            if found is None:
                continue
            candidate = found.group(1)
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            return None
    return None


READERS = {"kbank": read_kbank, "solidgate": read_solidgate, "xendit": read_xendit}

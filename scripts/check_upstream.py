"""Compare each provider's published description of its cancel operation with our spec.

    python scripts/check_upstream.py                  # the pinned copies in docs/upstream/
    UPSTREAM_XENDIT=https://docs.xendit.co/apidocs/cancel-payment-token.md python scripts/...
    python scripts/check_upstream.py --only xendit --xendit path/to/page.md

For each provider the published page (a URL or a local file; default: the pinned copy in
docs/upstream/) is read into the same facts as `specs/<provider>.yaml` (see apispec.py and
upstream_readers.py) and every difference is printed, one line each, as
`<category>: <where>: <what>`. A difference recorded in specs/upstream-deviations.yaml is
"accepted" with its reason; any other is NEW; a recorded line that no longer occurs is stale
(the file must stay true). Each provider ends with a one-line verdict.

Exit status: 0 every difference is accepted and none is stale; 1 a NEW or stale difference;
2 bad usage, or an upstream page, spec or deviations file that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apispec import (
    Delta,
    Field,
    SpecError,
    compare,
    load_document,
    operations,
    read_operation,
)
from upstream_readers import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    READERS,
    UnpublishedOperationError,
    Upstream,
    UpstreamError,
    fetch,
)

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ("kbank", "solidgate", "xendit")
PINNED = {
    "kbank": "docs/upstream/kbank-kplus-cancel-token.en.md",
    "solidgate": "docs/upstream/solidgate-api-v1-bundle.json",
    "xendit": "docs/upstream/xendit-cancel-payment-token.md",
}
# The published pages, for the nightly run against what the providers show today.
LIVE = {
    "kbank": "https://raw.githubusercontent.com/mzget/markdown-for-open-api/HEAD/public/Kplus/CancelToken.en.md",
    "solidgate": "https://api-docs.solidgate.com/_bundle/api/@v1/index.json?download",
    "xendit": "https://docs.xendit.co/apidocs/cancel-payment-token.md",
}
DEVIATIONS = "specs/upstream-deviations.yaml"
ERROR_CODE_FIELDS = ("error_code", "error.code", "errorCode")
EXIT_OK, EXIT_CHANGED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable input; the message is one line."""


def env_name(provider: str) -> str:
    """The setting that points a provider's check at another page: `UPSTREAM_XENDIT`."""
    return f"UPSTREAM_{provider.upper()}"


def _side(delta: Delta) -> str:
    return "upstream" if delta.right is None else "ours"


def _category(delta: Delta) -> str:
    if delta.aspect == "enum" and delta.where.endswith(ERROR_CODE_FIELDS):
        return "error-code"
    return delta.aspect


def _required(flag: str | None) -> str:
    return "required" if flag == "True" else "optional"


def _constraint(delta: Delta) -> str:
    if delta.left is None:
        return f"{delta.key} only ours ({delta.right})"
    if delta.right is None:
        return f"{delta.key} only upstream ({delta.left})"
    return f"{delta.key} upstream {delta.left}, ours {delta.right}"


EXAMPLE_WORDING: dict[str, Callable[[Delta], str]] = {
    "": lambda d: "only in the example",
    "unreadable": lambda d: "the example is not readable JSON",
    "type": lambda d: f"the example has {d.left}, ours takes {d.right}",
    "value": lambda d: f"the example has {d.left}, not a value ours lists",
}
# What each aspect's line says after `category: where:`; upstream is left, ours right.
WORDING: dict[str, Callable[[Delta], str]] = {
    "property": lambda d: f"only {_side(d)}",
    "type": lambda d: f"upstream {d.left}, ours {d.right}",
    "nullable": lambda d: f"null allowed only {'ours' if d.right == 'True' else 'upstream'}",
    "required": lambda d: f"{_required(d.left)} upstream, {_required(d.right)} ours",
    "enum": lambda d: f"{d.key} only {_side(d)}",
    "tolerance": lambda d: f"{d.left} enum upstream, {d.right} ours",
    "constraint": _constraint,
    "example": lambda d: EXAMPLE_WORDING[d.key](d),
}


def line(delta: Delta) -> str:
    """The one-line text of a difference (upstream on the left, ours on the right).

    The same text is what specs/upstream-deviations.yaml records, so it must stay stable.
    """
    if delta.aspect in {"server", "security", "status"}:
        return f"{delta.aspect}: {delta.key}: only {_side(delta)}"
    if delta.aspect == "operation":
        return f"operation: {delta.key}: not in the upstream document"
    return f"{_category(delta)}: {delta.where}: {WORDING[delta.aspect](delta)}"


def _declares_properties(location: str, fields: Mapping[str, Field]) -> bool:
    """Whether our spec names the properties below `location` (else its keys are free)."""
    prefix = location + (" " if location.endswith(" body") else ".")
    return any(key.startswith(prefix) for key in fields)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def example_deltas(location: str, value: Any, ours: Mapping[str, Field]) -> Iterator[Delta]:
    """Differences between an upstream example value and our facts at `location`, recursively."""
    field = ours.get(location)
    if field is None:
        yield Delta("example", location, "", "present", None)
        return
    if value is None:
        if not field.nullable:
            yield Delta("example", location, "type", "null", "|".join(sorted(field.types)))
        return
    kind = _json_type(value)
    accepted = set(field.types) | ({"integer"} if "number" in field.types else set())
    if field.types and kind not in accepted:
        yield Delta("example", location, "type", kind, "|".join(sorted(field.types)))
        return
    if field.enum is not None and not field.open_enum:
        text = json.dumps(value, ensure_ascii=False)
        if text not in field.enum:
            yield Delta("example", location, "value", text, None)
    if isinstance(value, dict) and _declares_properties(location, ours):
        for key, sub in value.items():
            child = f"{location} {key}" if location.endswith(" body") else f"{location}.{key}"
            yield from example_deltas(child, sub, ours)
    elif isinstance(value, list):
        for item in value:
            yield from example_deltas(location + "[]", item, ours)


@dataclass(frozen=True)
class Deviation:
    """One recorded difference and why it is accepted."""

    provider: str
    text: str
    reason: str


def load_deviations(path: Path) -> dict[str, dict[str, Deviation]]:
    """Read the deviations file: provider -> [{reason, differences: [line, ...]}, ...]."""
    try:
        document = load_document(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except SpecError as error:
        raise UsageError(str(error)) from None
    recorded: dict[str, dict[str, Deviation]] = {}
    for provider, entries in document.items():
        if provider not in PROVIDERS:
            raise UsageError(
                f"{path}: unknown provider {provider!r} (known: {', '.join(PROVIDERS)})"
            )
        if not isinstance(entries, list):
            raise UsageError(f"{path}: {provider}: expected a list of entries")
        mine = recorded.setdefault(provider, {})
        for number, entry in enumerate(entries, start=1):
            where = f"{path}: {provider} entry {number}"
            if not isinstance(entry, dict) or set(entry) != {"reason", "differences"}:
                raise UsageError(f"{where}: needs exactly 'reason' and 'differences'")
            reason, lines = entry["reason"], entry["differences"]
            if not isinstance(reason, str) or not reason.strip():
                raise UsageError(f"{where}: 'reason' must be a non-empty string")
            if (
                not isinstance(lines, list)
                or not lines
                or not all(isinstance(x, str) for x in lines)
            ):
                raise UsageError(f"{where}: 'differences' must be a non-empty list of strings")
            for text in lines:
                if text in mine:
                    raise UsageError(f"{where}: {text!r} is recorded twice")
                mine[text] = Deviation(provider, text, " ".join(reason.split()))
    return recorded


def provider_deltas(provider: str, source: str, spec_path: Path, text: str) -> list[Delta]:
    """Every difference between the published page `text` and our spec, for one provider."""
    try:
        spec = load_document(spec_path.read_text(encoding="utf-8"), str(spec_path))
    except (OSError, SpecError) as error:
        raise UsageError(f"{spec_path}: cannot read it ({error})") from None
    deltas: list[Delta] = []
    for method, path in operations(spec):
        try:
            upstream: Upstream = READERS[provider](text, source, method, path)
        except UnpublishedOperationError:
            deltas.append(Delta("operation", "", f"{method.upper()} {path}", None, "present"))
            continue
        try:
            ours = read_operation(
                spec, method, path, source=str(spec_path), fold_security_headers=True
            )
        except SpecError as error:
            raise UsageError(str(error)) from None
        deltas += compare(upstream.operation, ours, upstream.aspects)
        only_upstream = set(upstream.operation.statuses) - set(ours.statuses)
        for root, value in upstream.examples:
            if root.startswith("response ") and root.split(" ")[1] in only_upstream:
                continue  # the status itself is the difference
            deltas += example_deltas(root, value, ours.fields)
        deltas += [
            Delta("example", root, "unreadable", None, None)
            for root in upstream.unreadable_examples
        ]
    return sorted(set(deltas))


@dataclass
class Verdict:
    """How one provider's differences stand against the recorded deviations."""

    accepted: list[tuple[str, str]]
    new: list[str]
    stale: list[str]

    @property
    def ok(self) -> bool:
        """Every difference is accepted and every recorded one still occurs."""
        return not self.new and not self.stale


def judge(lines: Sequence[str], recorded: Mapping[str, Deviation]) -> Verdict:
    """Sort differences into accepted (with reason) and NEW; list recorded lines not seen."""
    seen = set(lines)
    return Verdict(
        accepted=[(text, recorded[text].reason) for text in lines if text in recorded],
        new=[text for text in lines if text not in recorded],
        stale=sorted(text for text in recorded if text not in seen),
    )


def report(provider: str, source: str, verdict: Verdict, deviations: str) -> list[str]:
    """The lines printed for one provider: NEW, then stale, then accepted, then the verdict."""
    out = [f"{provider}: {source} against specs/{provider}.yaml"]
    out += [f"  {text} -- NEW" for text in verdict.new]
    out += [
        f"  {text} -- stale: recorded in {deviations} but no longer occurs"
        for text in verdict.stale
    ]
    out += [f"  {text} -- accepted: {reason}" for text, reason in verdict.accepted]
    total = len(verdict.accepted) + len(verdict.new)
    state = "OK" if verdict.ok else "CHANGED"
    out.append(
        f"{provider}: {state}: {total} differences, {len(verdict.accepted)} accepted, "
        f"{len(verdict.new)} new, {len(verdict.stale)} stale"
    )
    return out


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}: expected a positive number, got {raw!r}") from None
    if value <= 0:
        raise UsageError(f"{name}: expected a positive number, got {raw!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    for provider in PROVIDERS:
        parser.add_argument(
            f"--{provider}",
            metavar="URL_OR_PATH",
            help=f"its published page (default: ${env_name(provider)}, else {PINNED[provider]})",
        )
    parser.add_argument(
        "--only", action="append", choices=PROVIDERS, help="check this provider (repeatable)"
    )
    parser.add_argument(
        "--live", action="store_true", help="default to each provider's live page, not the pin"
    )
    parser.add_argument("--deviations", default=str(ROOT / DEVIATIONS), help=DEVIATIONS)
    parser.add_argument("--specs", default=str(ROOT / "specs"), help="folder of our specs")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the check; return the exit status."""
    env = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    failed: list[str] = []
    try:
        timeout = _positive(env, "UPSTREAM_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)
        max_bytes = int(_positive(env, "UPSTREAM_MAX_BYTES", DEFAULT_MAX_BYTES))
        deviations = Path(args.deviations)
        recorded = load_deviations(deviations)
        for provider in args.only or PROVIDERS:
            default = LIVE[provider] if args.live else str(ROOT / PINNED[provider])
            source = getattr(args, provider) or env.get(env_name(provider)) or default
            shown = source if "://" in source else _display(Path(source))
            text = fetch(source, timeout=timeout, max_bytes=max_bytes)
            spec = Path(args.specs) / f"{provider}.yaml"
            lines = [line(delta) for delta in provider_deltas(provider, shown, spec, text)]
            verdict = judge(lines, recorded.get(provider, {}))
            print("\n".join(report(provider, shown, verdict, _display(deviations))), end="\n\n")
            if not verdict.ok:
                failed.append(provider)
    except (UsageError, UpstreamError) as error:
        print(f"check-upstream: {error}", file=sys.stderr)
        return EXIT_USAGE
    if failed:
        print(
            f"check-upstream: {', '.join(failed)} changed. Read each NEW and stale line, then "
            f"fix specs/<provider>.yaml or record the difference and its reason in "
            f"{_display(deviations)} (docs/docs-change-loop.md)."
        )
        return EXIT_CHANGED
    print("check-upstream: every difference from the published pages is a recorded deviation")
    return EXIT_OK


def _display(path: Path) -> str:
    """A path relative to the repository when it is inside it, for stable output."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())

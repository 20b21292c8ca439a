"""What changed for the callers of the generated clients and the overlay since a git ref.

    python scripts/api_diff.py                        # against the merge base with main
    python scripts/api_diff.py --ref v0.1.0           # against any commit, branch or tag
    python scripts/api_diff.py --accept-breaking "Xendit dropped the field (#21)"

Compares the working tree with the ref, in two views, and prints markdown a reviewer can paste
into a changelog:

- **Python API** of `tokencancel_{kbank,solidgate,xendit}_client` and `tokencancel`: every added,
  removed and changed module, class, attribute, enum member, function and parameter. Both trees
  are read statically by griffe (nothing from the ref is imported). griffe's
  `find_breaking_changes` decides what breaks a caller; what it does not cover (additions,
  annotation changes, enum values, attrs constructors) is walked here, with the rules in
  docs/docs-change-loop.md.
- **Spec**, operation by operation: fields, types, nullability, required flags, enum values,
  statuses, constraints, servers and security, each marked breaking or not by direction (a
  caller writes requests and reads responses; see `spec_change`).

Exit status: 0 nothing breaking (or breaking changes accepted, by `--accept-breaking REASON` /
`$ACCEPT_BREAKING` or an `API-Break-Accepted: <reason>` trailer on a commit since the ref);
1 a breaking change not accepted; 2 bad usage (unknown ref, not a git checkout) or an unreadable
spec.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import griffe
from apispec import (
    ALL_ASPECTS,
    Delta,
    Operation,
    SpecError,
    compare,
    load_document,
    operations,
    read_operation,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "tokencancel_kbank_client",
    "tokencancel_solidgate_client",
    "tokencancel_xendit_client",
    "tokencancel",
)
PROVIDERS = ("kbank", "solidgate", "xendit")
TREE_PARTS = ("generated", "overlay", "specs")
TRAILER = "API-Break-Accepted"
ERROR_CODE_FIELDS = ("error_code", "error.code", "errorCode")
EXIT_OK, EXIT_BREAKING, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A ref, checkout or file the diff cannot use; the message is one line."""


@dataclass(frozen=True, order=True)
class Change:
    """One change a caller may notice: where (a package or an operation), whether it breaks."""

    section: str
    breaking: bool
    text: str


# --------------------------------------------------------------------------- git


def git(*args: str, root: Path = ROOT) -> str:
    """Run git in the repository; a failure is a usage error naming the command."""
    result = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"git {' '.join(args)}: {detail}")
    return result.stdout


def resolve_ref(ref: str | None, root: Path = ROOT) -> tuple[str, str]:
    """The commit to compare against and how to name it: the ref, or the merge base with main."""
    if ref:
        try:
            return git(
                "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", root=root
            ).strip(), ref
        except UsageError:
            raise UsageError(f"{ref!r} names no commit, branch or tag in {root}") from None
    for base in ("main", "origin/main"):
        try:
            sha = git("merge-base", "HEAD", base, root=root).strip()
        except UsageError:
            continue
        return sha, f"merge base with {base}"
    raise UsageError("no branch main or origin/main to take the merge base with; pass REF=<commit>")


def export_tree(sha: str, into: Path, root: Path = ROOT) -> None:
    """Write the ref's generated/, overlay/ and specs/ into `into`; the checkout is untouched."""
    present = set(git("ls-tree", "--name-only", sha, root=root).split())
    parts = [part for part in TREE_PARTS if part in present]
    if not parts:
        return
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", sha, "--", *parts],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        detail = archive.stderr.decode(errors="replace").strip().splitlines() or ["failed"]
        raise UsageError(f"git archive {sha[:12]}: {detail[-1]}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse links out of the folder
            tar.extractall(into, filter="data")
        else:  # pragma: no cover (our own repository's archive)
            tar.extractall(into)  # noqa: S202


def accepted_by_trailer(sha: str, root: Path = ROOT) -> list[str]:
    """`<commit> <reason>` for each commit since `sha` carrying an API-Break-Accepted trailer."""
    log = git(
        "log",
        f"--format=%h%x00%(trailers:key={TRAILER},valueonly,separator=; )",
        f"{sha}..HEAD",
        root=root,
    )
    found: list[str] = []
    for entry in log.splitlines():
        commit, _, reason = entry.partition("\x00")
        if reason.strip():
            found.append(f"{reason.strip()} (commit {commit})")
    return found


# --------------------------------------------------------------------------- Python API

ATTRS_DECORATOR = re.compile(r"(^|\.)(_attrs_define|define|frozen|mutable|attrs|s|dataclass)(\(|$)")


@dataclass(frozen=True)
class ApiObject:
    """What a caller can use of one public object.

    Attributes:
        kind: module, class, function, attribute, enum member or export (a re-exported name).
        canonical: Where it is defined.
        annotation: An attribute's annotation.
        value: An attribute's value (an enum member's wire value, a field's default).
        parameters: A function's (name, annotation, default) in order.
        returns: A function's return annotation.
        bases: A class's base classes.
        init: An attrs/dataclass class's constructor arguments: (name, required, from a
            private field).
    """

    kind: str
    canonical: str
    annotation: str | None = None
    value: str | None = None
    parameters: tuple[tuple[str, str | None, str | None], ...] = ()
    returns: str | None = None
    bases: tuple[str, ...] = ()
    init: tuple[tuple[str, bool, bool], ...] | None = None


def load_packages(tree: Path) -> dict[str, griffe.Object]:
    """Load every package present under `tree` (generated/ and overlay/), statically."""
    search = [tree / "generated", tree / "overlay"]
    loader = griffe.GriffeLoader(
        search_paths=[path for path in search if path.is_dir()], allow_inspection=False
    )
    loaded: dict[str, griffe.Object] = {}
    for name in PACKAGES:
        if any((path / name / "__init__.py").is_file() for path in search):
            package = loader.load(name)
            if isinstance(package, griffe.Object):
                loaded[name] = package
    loader.resolve_aliases(implicit=False, external=None)
    return loaded


def _is_private(path: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in path.split("."))


def _is_enum(cls: griffe.Class) -> bool:
    return any(str(base).split(".")[-1].endswith("Enum") for base in cls.bases)


def _init_arguments(cls: griffe.Class) -> tuple[tuple[str, bool, bool], ...] | None:
    """Constructor arguments of an attrs or dataclass class, from its annotated fields."""
    if not any(ATTRS_DECORATOR.search(str(decorator.value)) for decorator in cls.decorators):
        return None
    arguments: list[tuple[str, bool, bool]] = []
    for name, member in cls.members.items():
        if not isinstance(member, griffe.Attribute) or member.annotation is None:
            continue
        if str(member.annotation).startswith("ClassVar"):
            continue
        value = None if member.value is None else str(member.value)
        if value is not None and re.match(
            r"^(_?attrs?_field|attrs?\.field|attr\.ib|field)\(", value
        ):
            if re.search(r"\binit\s*=\s*False\b", value):
                continue
            alias = re.search(r"\balias\s*=\s*['\"](\w+)['\"]", value)
            required = not re.search(r"\b(default|factory)\s*=", value)
            argument = alias.group(1) if alias else name.lstrip("_")
            arguments.append((argument, required, name.startswith("_")))
        else:
            arguments.append((name.lstrip("_"), value is None, name.startswith("_")))
    return tuple(arguments)


def _facts(obj: griffe.Object, parent_is_enum: bool) -> ApiObject | None:
    if isinstance(obj, griffe.Attribute):
        value = None if obj.value is None else str(obj.value)
        if value is not None and value.startswith("TypeVar("):
            return None  # the generator's `T = TypeVar(...)`: no caller uses it
        return ApiObject(
            kind="enum member" if parent_is_enum else "attribute",
            canonical=obj.path,
            annotation=None if obj.annotation is None else str(obj.annotation),
            value=value,
        )
    if isinstance(obj, griffe.Function):
        return ApiObject(
            kind="function",
            canonical=obj.path,
            parameters=tuple(
                (
                    parameter.name,
                    None if parameter.annotation is None else str(parameter.annotation),
                    None if parameter.default is None else str(parameter.default),
                )
                for parameter in obj.parameters
            ),
            returns=None if obj.returns is None else str(obj.returns),
        )
    if isinstance(obj, griffe.Class):
        return ApiObject(
            kind="class",
            canonical=obj.path,
            bases=tuple(str(base) for base in obj.bases),
            init=_init_arguments(obj),
        )
    return ApiObject(kind="module", canonical=obj.path)


def public_api(package: griffe.Object) -> dict[str, ApiObject]:
    """Every public object of a package by the path callers import it from.

    A name re-exported from a public module is an export (the object itself is listed where it
    is defined); one re-exported from a private module (`tokencancel._client`) is listed, with
    its members, under the public name.
    """
    found: dict[str, ApiObject] = {package.path: ApiObject(kind="module", canonical=package.path)}

    def walk(obj: griffe.Object, display: str, seen: frozenset[str]) -> None:
        is_enum = isinstance(obj, griffe.Class) and _is_enum(obj)
        for name, member in sorted(obj.members.items()):
            if not member.is_public:
                continue
            path = f"{display}.{name}"
            target: griffe.Object | griffe.Alias = member
            if isinstance(member, griffe.Alias):
                try:
                    target = member.final_target
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    found[path] = ApiObject(kind="export", canonical=member.target_path)
                    continue
                if not _is_private(target.path) or target.path in seen:
                    found[path] = ApiObject(kind="export", canonical=target.path)
                    continue
            if not isinstance(target, griffe.Object):
                continue
            facts = _facts(target, is_enum)
            if facts is None:
                continue
            found[path] = facts
            if isinstance(target, griffe.Module | griffe.Class):
                walk(target, path, seen | {target.path})

    walk(package, package.path, frozenset({package.path}))
    return found


def _public_name(path: str, api: Mapping[str, ApiObject]) -> str:
    """Show a canonical path (`tokencancel._client.X.y`) by its public name (`tokencancel.X.y`)."""
    aliases = {obj.canonical: public for public, obj in api.items() if obj.kind != "export"}
    head, tail = path, ""
    while head:
        if head in aliases:
            return aliases[head] + tail
        head, dot, last = head.rpartition(".")
        tail = f"{dot}{last}{tail}" if head else tail
    return path


def _union(annotation: str | None) -> frozenset[str]:
    """The members of a `A | B | None` annotation, split at the top level only."""
    if annotation is None:
        return frozenset()
    members, depth, current = [], 0, ""
    for char in annotation:
        depth += 1 if char in "[(" else -1 if char in "])" else 0
        if char == "|" and depth == 0:
            members.append(current.strip())
            current = ""
        else:
            current += char
    members.append(current.strip())
    return frozenset(members)


def _signature(facts: ApiObject) -> str:
    parts = []
    for name, annotation, default in facts.parameters:
        text = name if annotation is None else f"{name}: {annotation}"
        parts.append(text if default is None else f"{text} = {default}")
    returns = f" -> {facts.returns}" if facts.returns else ""
    return f"({', '.join(parts)}){returns}"


def _describe(path: str, facts: ApiObject) -> str:
    if facts.kind in {"attribute", "enum member"}:
        text = path if facts.annotation is None else f"{path}: {facts.annotation}"
        return f"`{text}{'' if facts.value is None else ' = ' + facts.value}`"
    if facts.kind == "function":
        return f"`{path}{_signature(facts)}`"
    if facts.kind == "export":
        return f"`{path}` (from `{facts.canonical}`)"
    return f"`{path}`"


def _was(facts: ApiObject | None) -> str:
    """What a removed object was, for a reader deciding whether they used it."""
    if facts is None or facts.kind in {"module", "class"}:
        return ""
    if facts.kind == "function":
        return f" (was `{_signature(facts)}`)"
    if facts.kind == "export":
        return f" (was `{facts.canonical}`)"
    text = " = ".join(part for part in (facts.annotation, facts.value) if part is not None)
    return f" (was `{text}`)" if text else ""


BREAKAGE_WORDS = {
    griffe.BreakageKind.PARAMETER_MOVED: "parameter moved",
    griffe.BreakageKind.PARAMETER_REMOVED: "parameter removed",
    griffe.BreakageKind.PARAMETER_CHANGED_KIND: "parameter kind changed",
    griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT: "parameter default changed",
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED: "parameter became required",
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED: "required parameter added",
    griffe.BreakageKind.RETURN_CHANGED_TYPE: "return type changed",
    griffe.BreakageKind.OBJECT_CHANGED_KIND: "kind changed",
    griffe.BreakageKind.ATTRIBUTE_CHANGED_TYPE: "attribute type changed",
    griffe.BreakageKind.ATTRIBUTE_CHANGED_VALUE: "attribute value changed",
    griffe.BreakageKind.CLASS_REMOVED_BASE: "base class removed",
}


def _value_text(value: object) -> str:
    if isinstance(value, griffe.Parameter):
        kind = value.kind.value if value.kind is not None else "parameter"
        return kind if value.default is None else f"{kind}, default {value.default}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


def _breakage_text(
    breakage: griffe.Breakage, old: Mapping[str, ApiObject], new: Mapping[str, ApiObject]
) -> str:
    obj = breakage.obj
    if breakage.kind is griffe.BreakageKind.OBJECT_REMOVED:
        path = _public_name(obj.path, old)
        facts = old.get(path)
        kind = facts.kind if facts else obj.kind.value
        return f"{kind} removed: `{path}`{_was(facts)}"
    path = _public_name(obj.path, new)
    words = BREAKAGE_WORDS.get(breakage.kind, breakage.kind.value)
    if isinstance(breakage.old_value, griffe.Parameter) or isinstance(
        breakage.new_value, griffe.Parameter
    ):
        parameter = breakage.old_value if breakage.old_value is not None else breakage.new_value
        name = parameter.name if isinstance(parameter, griffe.Parameter) else "?"
        detail = f": {breakage.details}" if breakage.details else ""
        if breakage.kind in {
            griffe.BreakageKind.PARAMETER_CHANGED_KIND,
            griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT,
        }:
            detail = f": {_value_text(breakage.old_value)} -> {_value_text(breakage.new_value)}"
        return f"{words}: `{path}({name})`{detail}"
    before, after = _value_text(breakage.old_value), _value_text(breakage.new_value)
    return f"{words}: `{path}`: `{before}` -> `{after}`"


def _added(path: str, facts: ApiObject, old: Mapping[str, ApiObject]) -> Change | None:
    parent = path.rpartition(".")[0]
    if parent and parent not in old:
        return None  # shown by its topmost new ancestor
    return Change("", breaking=False, text=f"{facts.kind} added: {_describe(path, facts)}")


def _changed(path: str, was: ApiObject, now: ApiObject) -> Iterator[Change]:
    if was.kind != now.kind or was.kind == "module":
        return  # kind changes are griffe's
    if was.kind in {"attribute", "enum member"}:
        if _union(was.annotation) != _union(now.annotation):
            # Model fields are read from answers and passed to constructors: any change to the
            # set of types breaks one of the two.
            yield Change(
                "", True, f"type changed: `{path}`: `{was.annotation}` -> `{now.annotation}`"
            )
        if was.value != now.value:
            breaking = was.kind == "enum member"  # the value is what goes on the wire
            what = "enum value changed" if breaking else "value changed"
            yield Change("", breaking, f"{what}: `{path}`: `{was.value}` -> `{now.value}`")
    elif was.kind == "function":
        yield from _function_changes(path, was, now)
    elif was.kind == "class":
        for base in sorted(set(now.bases) - set(was.bases)):
            yield Change("", breaking=False, text=f"base class added: `{path}`: `{base}`")
        yield from _constructor_changes(path, was, now)
    elif was.kind == "export" and was.canonical != now.canonical:
        yield Change(
            "",
            False,
            f"export now refers elsewhere: `{path}`: `{was.canonical}` -> `{now.canonical}`",
        )


def _function_changes(path: str, was: ApiObject, now: ApiObject) -> Iterator[Change]:
    before = {name: (annotation, default) for name, annotation, default in was.parameters}
    for name, annotation, default in now.parameters:
        if name not in before:
            if default is not None:  # a required one is griffe's
                yield Change(
                    "",
                    False,
                    f"optional parameter added: `{path}({name})`: `{annotation} = {default}`",
                )
            continue
        old_annotation = before[name][0]
        if _union(old_annotation) != _union(annotation):
            # A caller passes arguments: accepting more types is safe, fewer is not.
            widened = _union(annotation) >= _union(old_annotation) and old_annotation is not None
            yield Change(
                "",
                not widened,
                f"parameter type changed: `{path}({name})`: `{old_annotation}` -> `{annotation}`",
            )
    if was.returns != now.returns and now.returns is not None and was.returns is not None:
        # griffe judges return types (compatible unless the annotation is dropped).
        yield Change(
            "", False, f"return type changed: `{path}`: `{was.returns}` -> `{now.returns}`"
        )


def _constructor_changes(path: str, was: ApiObject, now: ApiObject) -> Iterator[Change]:
    if was.init is None or now.init is None:
        return
    before = {name: required for name, required, _ in was.init}
    after = {name: required for name, required, _ in now.init}
    for name, required, _ in now.init:
        if name not in before:
            if required:
                yield Change("", True, f"required constructor argument added: `{path}({name})`")
        elif required and not before[name]:
            yield Change("", True, f"constructor argument became required: `{path}({name})`")
        elif before[name] and not required:
            yield Change("", False, f"constructor argument became optional: `{path}({name})`")
    for name, _, private in was.init:
        # A public field's removal is reported by griffe, as the attribute's.
        if name not in after and private:
            yield Change("", True, f"constructor argument removed: `{path}({name})`")


def python_changes(
    old_packages: Mapping[str, griffe.Object], new_packages: Mapping[str, griffe.Object]
) -> list[Change]:
    """Every change to the public Python API of each package, breaking ones marked."""
    changes: list[Change] = []
    for name in PACKAGES:
        old, new = old_packages.get(name), new_packages.get(name)
        if old is None and new is None:
            continue
        if old is None or new is None:
            breaking = new is None
            changes.append(
                Change(name, breaking, f"package {'removed' if breaking else 'added'}: `{name}`")
            )
            continue
        old_api, new_api = public_api(old), public_api(new)
        found: list[Change] = [
            Change(name, True, _breakage_text(breakage, old_api, new_api))
            for breakage in griffe.find_breaking_changes(old, new)
        ]
        for path, facts in new_api.items():
            if path not in old_api:
                change = _added(path, facts, old_api)
                if change is not None:
                    found.append(change)
            else:
                found.extend(_changed(path, old_api[path], facts))
        changes += sorted({Change(name, c.breaking, c.text) for c in found}, key=_order)
    return changes


def _order(change: Change) -> tuple[bool, str]:
    return (not change.breaking, change.text)


# --------------------------------------------------------------------------- spec

# Constraint keywords that restrict more when their number grows, and when it shrinks.
LOWER_BOUNDS = frozenset({"minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"})
UPPER_BOUNDS = frozenset({"maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"})


def _tightened(delta: Delta) -> bool:
    """Whether a constraint change lets fewer values through."""
    if delta.right is None:
        return False  # removed: looser
    if delta.left is None:
        return True  # added: stricter
    try:
        old, new = float(delta.left), float(delta.right)
    except ValueError:
        return True  # a changed pattern, format or schema: assume stricter
    if delta.key in LOWER_BOUNDS:
        return new > old
    if delta.key in UPPER_BOUNDS:
        return new < old
    return True


def _breaks_when_added(delta: Delta, *, request: bool) -> bool:
    # A new request field breaks callers only when they must now send it.
    return delta.left is not None or (request and "required" in (delta.right or "").split(", "))


def _type_breaks(delta: Delta, *, request: bool) -> bool:
    old, new = set((delta.left or "").split("|")), set((delta.right or "").split("|"))
    return not (new >= old if request else new <= old)


def _tolerance_breaks(delta: Delta, *, request: bool) -> bool:
    # Requests: closing refuses values callers send. Responses: opening widens the Python type
    # callers read, closing makes values the spec does not list fail to parse.
    return delta.right == "closed" if request else True


def _state(delta: Delta, yes: str, no: str) -> str:
    return yes if delta.right == "True" else no


def _what(delta: Delta) -> str:
    return "error code" if delta.where.endswith(ERROR_CODE_FIELDS) else "enum value"


def _change(delta: Delta) -> str:
    return "removed" if delta.right is None else "added"


# For each aspect: whether the delta breaks a caller (given the direction), and its text.
SPEC_RULES: dict[str, tuple[Callable[[Delta, bool], bool], Callable[[Delta], str]]] = {
    "server": (lambda d, _: d.right is None, lambda d: f"server `{d.key}` {_change(d)}"),
    "security": (lambda d, _: True, lambda d: f"security scheme `{d.key}` {_change(d)}"),
    "status": (lambda d, _: d.right is None, lambda d: f"response status `{d.key}` {_change(d)}"),
    "property": (
        lambda d, request: d.right is None or _breaks_when_added(d, request=request),
        lambda d: (
            f"`{d.where}` removed (was {d.left})"
            if d.right is None
            else f"`{d.where}` added ({d.right})"
        ),
    ),
    "type": (
        lambda d, request: _type_breaks(d, request=request),
        lambda d: f"`{d.where}`: type `{d.left}` -> `{d.right}`",
    ),
    "nullable": (
        lambda d, request: (d.right != "True") if request else d.right == "True",
        lambda d: f"`{d.where}`: {_state(d, 'now nullable', 'no longer nullable')}",
    ),
    "required": (
        lambda d, request: (d.right == "True") if request else d.right != "True",
        lambda d: f"`{d.where}`: {_state(d, 'now required', 'now optional')}",
    ),
    "enum": (
        lambda d, _: d.right is None,
        lambda d: f"`{d.where}`: {_what(d)} `{d.key}` {_change(d)}",
    ),
    "tolerance": (
        lambda d, request: _tolerance_breaks(d, request=request),
        lambda d: f"`{d.where}`: enum now {d.right} (was {d.left})",
    ),
    "constraint": (
        lambda d, request: request and _tightened(d),
        lambda d: f"`{d.where}`: {d.key} `{d.left or 'none'}` -> `{d.right or 'none'}`",
    ),
}


def spec_change(delta: Delta) -> tuple[bool, str]:
    """Whether a spec delta (old on the left, new on the right) breaks a caller, and its text.

    A caller writes requests and reads responses: a request may take more and demand no more;
    a response may carry more and must not drop or widen what callers read.
    """
    breaks, text = SPEC_RULES[delta.aspect]
    return breaks(delta, delta.where.startswith("request")), text(delta)


def _operations(spec: Path) -> dict[tuple[str, str], tuple[Operation, str]]:
    if not spec.is_file():
        return {}
    try:
        document = load_document(spec.read_text(encoding="utf-8"), str(spec))
        return {
            (method, path): (
                read_operation(document, method, path, source=str(spec)),
                str(document["paths"][path][method].get("operationId", "")),
            )
            for method, path in operations(document)
        }
    except (SpecError, OSError) as error:
        raise UsageError(str(error)) from None


def spec_changes(old_tree: Path, new_tree: Path) -> list[Change]:
    """Every change to each spec's operations, breaking ones marked, by operation."""
    changes: list[Change] = []
    for provider in PROVIDERS:
        relative = f"specs/{provider}.yaml"
        old, new = _operations(old_tree / relative), _operations(new_tree / relative)
        for key in sorted(set(old) | set(new), key=lambda pair: (pair[1], pair[0])):
            method, path = key
            section = f"{relative}: {method.upper()} {path}"
            if key not in old or key not in new:
                gone = key not in new
                changes.append(Change(section, gone, f"operation {'removed' if gone else 'added'}"))
                continue
            operation_id = new[key][1]
            if operation_id:
                section += f" ({operation_id})"
            found = [spec_change(delta) for delta in compare(old[key][0], new[key][0], ALL_ASPECTS)]
            changes += sorted(
                (Change(section, breaking, text) for breaking, text in set(found)), key=_order
            )
    return changes


# --------------------------------------------------------------------------- report


def render(changes: Iterable[Change], title: str) -> list[str]:
    """Markdown: a heading per package or operation, a bullet per change, breaking first."""
    lines = [f"# {title}"]
    section = None
    for change in changes:
        if change.section != section:
            section = change.section
            kind = "Spec" if section.startswith("specs/") else "Python API"
            lines += ["", f"## {kind}: {section}"]
        lines.append(f"- {'**Breaking:** ' if change.breaking else ''}{change.text}")
    return lines


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the diff; return the exit status."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--ref", default=env.get("REF") or None, help="default: merge base with main"
    )
    parser.add_argument(
        "--accept-breaking",
        metavar="REASON",
        default=env.get("ACCEPT_BREAKING") or None,
        help="exit 0 despite breaking changes, recording why (also $ACCEPT_BREAKING)",
    )
    args = parser.parse_args(argv)
    try:
        sha, named = resolve_ref(args.ref)
        with tempfile.TemporaryDirectory(prefix="tokencancel-api-diff-") as scratch:
            old_tree = Path(scratch)
            export_tree(sha, old_tree)
            changes = python_changes(load_packages(old_tree), load_packages(ROOT))
            changes += spec_changes(old_tree, ROOT)
        acceptances = accepted_by_trailer(sha)
    except UsageError as error:
        print(f"api-diff: {error}", file=sys.stderr)
        return EXIT_USAGE
    title = f"API changes: working tree against {sha[:12]} ({named})"
    print("\n".join(render(changes, title)))
    breaking = sum(change.breaking for change in changes)
    print()
    summary = f"api-diff: {len(changes)} changes, {breaking} breaking"
    if not changes:
        print("api-diff: no change to the public API or the specs")
        return EXIT_OK
    if not breaking:
        print(f"{summary}.")
        return EXIT_OK
    if args.accept_breaking:
        acceptances.insert(0, f"{args.accept_breaking} (--accept-breaking)")
    if acceptances:
        print(f"{summary}, accepted: {'; '.join(acceptances)}.")
        return EXIT_OK
    print(
        f"{summary}. To accept them knowingly, add an `{TRAILER}: <reason>` trailer to a "
        "commit (or run with ACCEPT_BREAKING=<reason>); see docs/docs-change-loop.md."
    )
    return EXIT_BREAKING


if __name__ == "__main__":
    sys.exit(main())

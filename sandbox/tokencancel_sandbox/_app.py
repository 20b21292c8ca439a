"""The sandbox's request pipeline, independent of the socket: request in, answer out.

Provider calls go: route (from the spec's paths) -> rate limit (if configured) -> provider
authentication -> spec validation -> token fault -> token state change -> answer. Control calls
under `/_sandbox/` are never rate limited and need no credentials.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tokencancel_sandbox._answers import BAD_GATEWAY_HTML, Answer, ResetConnection, json_answer
from tokencancel_sandbox._config import FAULTS, MAX_DELAY_SECONDS, PROVIDERS, SandboxConfig
from tokencancel_sandbox._emulator import Call, Emulator
from tokencancel_sandbox._environment import shell_exports
from tokencancel_sandbox._errors import ControlRequestError
from tokencancel_sandbox._kbank import KBankEmulator
from tokencancel_sandbox._ratelimit import SlidingWindowLimiter
from tokencancel_sandbox._solidgate import SolidgateEmulator
from tokencancel_sandbox._spec import Operation, find_spec_dir, load_specs, parse_json
from tokencancel_sandbox._store import Token, TokenStore
from tokencancel_sandbox._xendit import XenditEmulator

__all__ = ["IncomingRequest", "Reply", "SandboxApp"]

logger = logging.getLogger("tokencancel_sandbox")

Reply = Answer | ResetConnection

CONTROL_PREFIX = "/_sandbox"
_TOKENS_PATH = re.compile(r"/_sandbox/(?P<provider>[^/]+)/tokens")
_TOKEN_PATH = re.compile(r"/_sandbox/(?P<provider>[^/]+)/tokens/(?P<token_id>[^/]+)")
_COMMON_CONTROL_FIELDS = frozenset({"status", "fault", "fault_times", "delay_seconds", "token_id"})
_MAX_TOKEN_ID_LENGTH = 255


@dataclass(frozen=True)
class IncomingRequest:
    """A request as read from the socket. Header names are lower-case."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes


class SandboxApp:
    """Routes, validates and answers requests; owns the token store and the rate limiters."""

    def __init__(self, config: SandboxConfig, spec_dir: Path | None = None) -> None:
        self.config = config
        specs = load_specs(spec_dir or find_spec_dir())
        self.emulators: dict[str, Emulator] = {
            "kbank": KBankEmulator(config, specs["kbank"]),
            "solidgate": SolidgateEmulator(config, specs["solidgate"]),
            "xendit": XenditEmulator(config, specs["xendit"]),
        }
        self.prefixes = {provider: specs[provider].prefix for provider in PROVIDERS}
        self.store = TokenStore()
        self.limiters = {
            provider: SlidingWindowLimiter(limit) for provider, limit in config.rate_limits.items()
        }
        #: Set when the server stops, so `slow` faults stop waiting.
        self.stopping = threading.Event()
        #: The client's environment for this sandbox (set by `Sandbox`, which knows its URLs).
        self.environment: Callable[[], Mapping[str, str]] = dict
        #: The CA certificate (PEM) clients must trust, in the TLS mode.
        self.ca_pem: bytes | None = None
        self.reset()

    # -- state -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every token and rate-limit window; seed the spec examples' tokens again."""
        self.store.clear()
        for limiter in self.limiters.values():
            limiter.reset()
        if self.config.seed_examples:
            now = self.store.now()
            for emulator in self.emulators.values():
                for token_id in emulator.example_token_ids:
                    self.store.add(emulator.new_token(token_id, emulator.default_status, now))

    def create_token(self, provider: str, fields: Mapping[str, Any]) -> Token:
        """Create a token from control-API fields; raise ControlRequestError if they are wrong."""
        emulator = self._emulator(provider)
        unknown = sorted(set(fields) - _COMMON_CONTROL_FIELDS - emulator.extra_fields)
        if unknown:
            accepted = sorted(_COMMON_CONTROL_FIELDS | emulator.extra_fields)
            raise ControlRequestError(
                400,
                f"unknown field(s) {', '.join(unknown)} for {provider}; "
                f"accepted: {', '.join(accepted)}",
            )
        status = _choose_status(emulator, fields.get("status"))
        fault = _choose_fault(fields.get("fault"))
        fault_times = _optional_count(fields.get("fault_times"))
        delay_seconds = _optional_seconds(fields.get("delay_seconds"))
        extras = {name: fields[name] for name in emulator.extra_fields if name in fields}
        problem = emulator.check_extras(extras)
        if problem:
            raise ControlRequestError(400, problem)
        requested_id = fields.get("token_id")
        if requested_id is not None and not (
            isinstance(requested_id, str) and 0 < len(requested_id) <= _MAX_TOKEN_ID_LENGTH
        ):
            raise ControlRequestError(400, "token_id must be a string of 1 to 255 characters")
        reference1 = extras.pop("reference1", None)
        token = emulator.new_token(
            requested_id or emulator.new_token_id(),
            status,
            self.store.now(),
            fault=fault,
            faults_left=fault_times,
            delay_seconds=delay_seconds,
            reference1=reference1,
            details=extras,
        )
        if not self.store.add(token):
            raise ControlRequestError(409, f"a {provider} token with this token_id already exists")
        return token.snapshot()

    def token(self, provider: str, token_id: str) -> Token | None:
        """Return a snapshot of a token, or None."""
        return self.store.get(self._emulator(provider).name, token_id)

    def _emulator(self, provider: str) -> Emulator:
        emulator = self.emulators.get(str(provider))
        if emulator is None:
            raise ControlRequestError(
                404, f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}"
            )
        return emulator

    # -- requests ----------------------------------------------------------------------------

    def handle(self, request: IncomingRequest) -> Reply:
        """Answer one request."""
        path, query_text = _split_target(request.target)
        query = dict(parse_qsl(query_text, keep_blank_values=True))
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(request.method, path, request.body)
        for provider, prefix in self.prefixes.items():
            if path.startswith(prefix + "/"):
                return self._provider(provider, request, path[len(prefix) :], query)
        return _not_found(request.method, path)

    def _provider(
        self, provider: str, request: IncomingRequest, path: str, query: Mapping[str, str]
    ) -> Reply:
        emulator = self.emulators[provider]
        allowed: list[str] = []
        for operation in emulator.spec.operations:
            path_params = operation.match(path)
            if path_params is None:
                continue
            if operation.method != request.method:
                allowed.append(operation.method)
                continue
            call = Call(operation, request.headers, path_params, query, request.body)
            answer = self._call(emulator, call)
            if isinstance(answer, Answer) and answer.documented and self.config.validate_responses:
                return _self_checked(operation, answer)
            return answer
        if allowed:
            return _method_not_allowed(request.method, allowed)
        return _not_found(request.method, self.prefixes[provider] + path)

    def _call(self, emulator: Emulator, call: Call) -> Reply:  # noqa: PLR0911 -- one exit per step
        limiter = self.limiters.get(emulator.name)
        if limiter is not None:
            reset_after = limiter.acquire()
            if reset_after is not None:
                return emulator.rate_limited(call, limiter.limit.requests, reset_after)
        denied = emulator.authenticate(call)
        if denied is not None:
            return denied
        problems, body = call.operation.request_problems(
            call.path_params, call.headers, call.query, call.content_type, call.raw_body
        )
        if not problems:
            problems = emulator.setting_problems(call, body)
        if problems:
            return emulator.invalid_request(call, problems)
        token_id, reference1 = emulator.target(call, body)
        claimed = self.store.claim_fault(emulator.name, token_id, reference1)
        fault, delay = claimed if claimed is not None else (None, None)
        if fault in {"429", "500", "503"}:
            return emulator.server_fault(call, body, str(fault))
        if fault == "502-html":
            return BAD_GATEWAY_HTML
        if fault == "reset":
            return ResetConnection()
        in_flight = fault == "slow"
        if in_flight:
            # The cancel happens after the delay, as at a provider that is merely slow. Until
            # then it is in flight: a retry arriving meanwhile cancels the token (KBank,
            # Xendit; this request then finds it cancelled) or is refused as concurrently
            # processing (Solidgate).
            self.store.begin_cancel(emulator.name, token_id, reference1)
            self.stopping.wait(self.config.slow_seconds if delay is None else delay)
        attempt = self.store.cancel(
            emulator.name, token_id, emulator.transition, reference1, in_flight=in_flight
        )
        answer = emulator.answer(call, body, attempt)
        # `truncated` loses the answer, not the cancel: the provider did the work.
        return answer.truncated() if fault == "truncated" else answer

    # -- control API -------------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        try:
            return self._control_route(method, path, body)
        except ControlRequestError as refused:
            return json_answer(refused.status, {"error": refused.message}, documented=False)

    def _control_route(self, method: str, path: str, body: bytes) -> Answer:
        simple: dict[str, tuple[str, Any]] = {
            "/_sandbox/health": ("GET", lambda: {"status": "ok"}),
            "/_sandbox/credentials": ("GET", self.config.credentials),
            "/_sandbox/reset": ("POST", self._reset_answer),
        }
        if path in simple:
            expected, produce = simple[path]
            _require_method(method, expected)
            return json_answer(200, produce(), documented=False)
        if path == "/_sandbox/env":
            _require_method(method, "GET")
            exports = shell_exports(self.environment()).encode("utf-8")
            return Answer(200, exports, "text/plain; charset=utf-8")
        if path == "/_sandbox/ca.pem":
            _require_method(method, "GET")
            if self.ca_pem is None:
                raise ControlRequestError(404, "no CA certificate: the sandbox is not in TLS mode")
            return Answer(200, self.ca_pem, "application/x-pem-file")
        found = _TOKENS_PATH.fullmatch(path)
        if found:
            _require_method(method, "POST")
            fields = _control_body(body)
            created = self.create_token(unquote(found["provider"]), fields)
            return json_answer(201, _describe_token(created), documented=False)
        found = _TOKEN_PATH.fullmatch(path)
        if found:
            _require_method(method, "GET")
            provider, token_id = unquote(found["provider"]), unquote(found["token_id"])
            token = self.token(provider, token_id)
            if token is None:
                raise ControlRequestError(404, f"no {provider} token with this id")
            return json_answer(200, _describe_token(token), documented=False)
        raise ControlRequestError(404, f"no control endpoint {method} {path}")

    def _reset_answer(self) -> dict[str, str]:
        self.reset()
        return {"status": "reset"}


def _split_target(target: str) -> tuple[str, str]:
    """Split a request target into path and query, whatever its form.

    Origin-form (`/path?query`) is split by hand; absolute-form (`http://host/path`) by
    urlsplit, which raises ValueError on some malformed ones (`http://[x/`): those are taken as
    an origin-form path that matches no route.
    """
    if "://" in target.split("?", 1)[0]:
        try:
            split = urlsplit(target)
        except ValueError:
            pass
        else:
            return split.path or "/", split.query
    path, _, query = target.partition("#")[0].partition("?")
    return path or "/", query


def _describe_token(token: Token) -> dict[str, Any]:
    return {
        "provider": token.provider,
        "token_id": token.token_id,
        "status": token.status,
        "fault": token.fault,
        "faults_left": token.faults_left,
        "cancels_in_flight": token.cancels_in_flight,
    }


def _require_method(method: str, expected: str) -> None:
    if method != expected and not (method == "HEAD" and expected == "GET"):
        raise ControlRequestError(405, f"use {expected} here")


def _control_body(body: bytes) -> Mapping[str, Any]:
    if not body.strip():
        return {}
    parsed, ok = parse_json(body)
    if not ok or not isinstance(parsed, dict):
        raise ControlRequestError(400, "the body must be a JSON object")
    return parsed


def _choose_status(emulator: Emulator, requested: Any) -> str:
    if requested is None:
        return emulator.default_status
    by_folded = {status.casefold(): status for status in emulator.statuses}
    if isinstance(requested, str) and requested.casefold() in by_folded:
        return by_folded[requested.casefold()]
    raise ControlRequestError(
        400, f"status for {emulator.name} must be one of {', '.join(emulator.statuses)}"
    )


def _choose_fault(requested: Any) -> str | None:
    if requested is None:
        return None
    fault = (
        str(requested)
        if isinstance(requested, (str, int)) and not isinstance(requested, bool)
        else ""
    )
    if fault not in FAULTS:
        raise ControlRequestError(400, f"fault must be one of {', '.join(FAULTS)}")
    return fault


def _optional_count(requested: Any) -> int | None:
    if requested is None:
        return None
    if isinstance(requested, int) and not isinstance(requested, bool) and requested >= 1:
        return requested
    raise ControlRequestError(400, "fault_times must be a positive integer")


def _optional_seconds(requested: Any) -> float | None:
    if requested is None:
        return None
    if (
        isinstance(requested, (int, float))
        and not isinstance(requested, bool)
        and math.isfinite(requested)
        and 0 <= requested <= MAX_DELAY_SECONDS
    ):
        return float(requested)
    raise ControlRequestError(
        400, f"delay_seconds must be a number of seconds from 0 to {MAX_DELAY_SECONDS:g}"
    )


def _not_found(method: str, path: str) -> Answer:
    return json_answer(
        404,
        {
            "error_code": "NOT_FOUND",
            "message": f"no sandbox endpoint {method} {path}; provider APIs live under "
            "/kbank/v1, /solidgate/api and /xendit, the control API under /_sandbox",
        },
        documented=False,
    )


def _method_not_allowed(method: str, allowed: list[str]) -> Answer:
    answer = json_answer(
        405,
        {"error_code": "METHOD_NOT_ALLOWED", "message": f"{method} is not allowed here"},
        documented=False,
    )
    return Answer(answer.status, answer.body, answer.content_type, (("Allow", ", ".join(allowed)),))


def _self_checked(operation: Operation, answer: Answer) -> Answer:
    problems = operation.response_problems(
        answer.status, answer.content_type, dict(answer.headers), answer.body
    )
    if not problems:
        return answer
    logger.error("sandbox answer does not conform to the spec: %s", "; ".join(problems))
    return json_answer(
        500,
        {"error": "sandbox answer does not conform to the spec", "problems": problems},
        documented=False,
    )

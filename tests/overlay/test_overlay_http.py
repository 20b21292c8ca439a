"""The overlay's httpx2 clients join request paths to the base URL exactly as httpx2 would."""

from __future__ import annotations

import string

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokencancel._http import JoiningClient, joined_url

BASE_URLS = [
    "https://api.xendit.co",
    "https://gate.solidgate.com/api",
    "https://kbankapi.tech/v1",
    "http://127.0.0.1:8787/xendit",
    "http://127.0.0.1:9",
    "http://127.0.0.1:9/",
    "http://localhost:8787/kbank/v1/",
    "http://[::1]:80/a/b",
    "https://user@example.test:8443/deep/er/path",
]
GENERATED_PATHS = [
    "/v3/payment_tokens/pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1/cancel",
    "/v1/recurring-token/cancel",
    "/kplus/payment/cancel-token",
]


# Building a client loads the CA bundle; one of each kind per base URL keeps the test fast.
_PLAIN = {base_url: httpx2.Client(base_url=base_url) for base_url in BASE_URLS}
_JOINING = {base_url: JoiningClient(base_url=base_url) for base_url in BASE_URLS}


def _merge(base_url: str, url: str) -> str | type[Exception]:
    """The URL httpx2's own merge gives, or the exception it raises."""
    try:
        return str(_PLAIN[base_url].build_request("POST", url).url)
    except httpx2.InvalidURL:
        return httpx2.InvalidURL


def _join(base_url: str, url: str) -> str | type[Exception]:
    """The URL a JoiningClient sends to, or the exception it raises."""
    client = _JOINING[base_url]
    try:
        return str(client.build_request("POST", joined_url(client.base_url, url)).url)
    except httpx2.InvalidURL:
        return httpx2.InvalidURL


@pytest.mark.parametrize("base_url", BASE_URLS)
@pytest.mark.parametrize("path", GENERATED_PATHS)
def test_generated_paths_join_like_httpx(base_url: str, path: str) -> None:
    """Every path the generated clients send lands on the URL httpx2's merge would give."""
    assert _join(base_url, path) == _merge(base_url, path)
    # ...and is joined by the overlay itself (the cheap way), not handed back to httpx2.
    assert isinstance(joined_url(_JOINING[base_url].base_url, path), httpx2.URL)


@settings(max_examples=300, deadline=None)
@given(
    base_url=st.sampled_from(BASE_URLS),
    path=st.text(alphabet=string.printable + "é\x00/%.?#", max_size=40).map(lambda t: "/" + t),
)
def test_any_path_joins_like_httpx(base_url: str, path: str) -> None:
    """Whatever the path (dots, escapes, queries, fragments, odd bytes), the URL is httpx2's."""
    assert _join(base_url, path) == _merge(base_url, path)


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.test/x",
        "//elsewhere.test/x",
        "/x#fragment",
        "relative/without/slash",
        "/caf\u00e9",
        httpx2.URL("/as/a/url/object"),
    ],
)
def test_other_urls_are_left_to_httpx(url: str | httpx2.URL) -> None:
    """Absolute URLs, host references, fragments and URL objects go to httpx2 untouched."""
    assert joined_url(httpx2.URL("https://api.xendit.co/"), url) is url


def test_a_joining_client_sends_where_httpx_would() -> None:
    """A request through JoiningClient reaches the same URL as through a plain httpx2.Client."""
    seen: list[str] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(204)

    path = GENERATED_PATHS[0]
    for client_type in (JoiningClient, httpx2.Client):
        with client_type(base_url=BASE_URLS[0], transport=httpx2.MockTransport(record)) as client:
            client.request("POST", path)
    assert seen == [BASE_URLS[0] + path] * 2

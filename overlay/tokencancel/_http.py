"""httpx2 clients that join the generated clients' request paths to their base URL themselves.

The generated code sends each request as a path relative to the client's `base_url`. httpx2 merges
such a path by parsing it, then parsing the joined URL again, which costs more than a loopback
round trip's worth of the client's own work. Joining the two strings first and parsing once gives
the same URL for every path the generated clients send (tests/overlay/test_overlay_http.py checks
it against httpx2's own merge), and a path seen before is not parsed again at all: KBank's and
Solidgate's paths never change. Any other path, or an absolute URL, goes to httpx2 unchanged.

Only public httpx2 API is used: `base_url` and `request()`, which `get`, `post` and the generated
code all go through.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx2

__all__ = ["JoiningAsyncClient", "JoiningClient", "joined_url"]

# Enough for the constant paths of every provider; Xendit's per-token paths just cycle through.
_JOINED_CACHE_SIZE = 64


def _is_plain_path(path: str) -> bool:
    """Whether httpx2 would merge `path` by plain concatenation (what `joined_url` does).

    A plain path starts with one "/" (two would name a host), carries no fragment (httpx2 drops
    one when merging) and only printable ASCII (httpx2 quotes anything else, and rejects control
    characters with a message that names their position).
    """
    return (
        path.startswith("/")
        and not path.startswith("//")
        and "#" not in path
        and path.isascii()
        and path.isprintable()
    )


@functools.lru_cache(maxsize=8)
def _join_prefix(base: str) -> str | None:
    """The text a plain path is appended to for base URL `base`, or None to leave it to httpx2.

    httpx2 merges a relative path onto the base URL's path made to end in "/" (`raw_path`), so
    for an absolute base without query or fragment the merge is plain concatenation.
    """
    url = httpx2.URL(base)
    if not url.is_absolute_url or url.query or url.fragment:
        return None
    prefix = base if base.endswith("/") else base + "/"
    joined = httpx2.URL(prefix)
    same = (joined.scheme, joined.userinfo, joined.netloc, joined.raw_path) == (
        url.scheme,
        url.userinfo,
        url.netloc,
        url.raw_path,
    )
    return prefix if same and prefix.endswith("/") and not joined.query else None


@functools.lru_cache(maxsize=_JOINED_CACHE_SIZE)
def _join(prefix: str, path: str) -> httpx2.URL:
    # httpx2.URL is immutable, so one parsed URL can serve every request to the same path.
    return httpx2.URL(prefix + path.lstrip("/"))


def joined_url(base_url: httpx2.URL, url: httpx2.URL | str) -> httpx2.URL | str:
    """Return `url` joined to `base_url` as httpx2 would, or `url` itself when httpx2 should."""
    if isinstance(url, str) and _is_plain_path(url):
        prefix = _join_prefix(str(base_url))
        if prefix is not None:
            return _join(prefix, url)
    return url


class JoiningClient(httpx2.Client):
    """An `httpx2.Client` that joins relative request paths to `base_url` once, cheaply."""

    def request(self, method: str, url: httpx2.URL | str, **kwargs: Any) -> httpx2.Response:
        """Send the request as `httpx2.Client.request` does, with the path joined beforehand."""
        return super().request(method, joined_url(self.base_url, url), **kwargs)


class JoiningAsyncClient(httpx2.AsyncClient):
    """An `httpx2.AsyncClient` that joins relative request paths to `base_url` once, cheaply."""

    async def request(self, method: str, url: httpx2.URL | str, **kwargs: Any) -> httpx2.Response:
        """Send the request as `httpx2.AsyncClient.request` does, with the path joined first."""
        return await super().request(method, joined_url(self.base_url, url), **kwargs)

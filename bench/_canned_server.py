"""A minimal, fast loopback HTTP/1.1 server answering every cancel with the provider's success.

For the client throughput figures only: the sandbox checks every request against the spec and
serves each connection from a thread, so at 16 or 64 connections it, not the client, sets the
pace. This server does no checking at all (not even of credentials), keeps connections alive,
and answers from asyncio in one thread, so the client is what gets measured.
Prints its port on stdout, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys

_XENDIT_PREFIX = b"/xendit/v3/payment_tokens/"


def _answer(path: bytes, body: bytes) -> bytes:
    if path.startswith(_XENDIT_PREFIX):
        token_id = path[len(_XENDIT_PREFIX) :].split(b"/", 1)[0].decode()
        payload: dict[str, object] = {
            "payment_token_id": token_id,
            "business_id": "5f27a14a9bf05c73dd040bc8",
            "status": "CANCELED",
            "created": "2029-12-31T23:59:59Z",
            "updated": "2029-12-31T23:59:59Z",
        }
    elif path.startswith(b"/solidgate/"):
        payload = {"status": "processing"}
    else:
        request = json.loads(body)
        payload = {
            "partnerTxnUid": request.get("partnerTxnUid"),
            "partnerId": request.get("partnerId"),
            "statusCode": "00",
            "errorCode": None,
            "errorDesc": None,
            "tokenList": [
                {
                    "tokenId": request.get("tokenId"),
                    "reference1": request.get("reference1"),
                    "status": "CANCELLED",
                }
            ],
        }
    content = json.dumps(payload).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(content)).encode()
        + b"\r\n\r\n"
        + content
    )


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, header_block = head.partition(b"\r\n")
            path = request_line.split(b" ")[1]
            length = 0
            for line in header_block.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            writer.write(_answer(path, body))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main() -> None:
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    async with server:
        await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_main())

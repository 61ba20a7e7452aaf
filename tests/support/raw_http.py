"""HTTP/1.1 spoken over asyncio streams, byte for byte, for the tests of what the listener answers before
aiohttp parses a request (tests/unit/test_shedding.py, tests/e2e/test_overload.py)."""

from __future__ import annotations

import asyncio

from tests.support.webhook import body, signed, text_message


def webhook_post(message_id: str, padding: int = 0) -> bytes:
    """A signed POST /webhook of one text message, whole (head and body)."""
    raw, headers = signed(body([text_message(message_id, "5511987650000", "oi" + " " * padding, 1)]))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST /webhook HTTP/1.1\r\nHost: edge\r\n{head}Content-Length: {len(raw)}\r\n\r\n".encode() + raw


def get(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: edge\r\n{auth}\r\n".encode()


async def answer(reader: asyncio.StreamReader, within: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One response: (status, headers by lower-case name, body); TimeoutError if none comes `within`."""
    async with asyncio.timeout(within):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:] if line)}
        raw = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split()[1]), headers, raw


async def closed(reader: asyncio.StreamReader, within: float = 10.0) -> bool:
    """The server ends the connection (EOF) `within` seconds, with nothing more sent."""
    async with asyncio.timeout(within):
        return await reader.read() == b""

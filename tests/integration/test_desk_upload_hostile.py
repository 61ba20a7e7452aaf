"""Hostile uploads on POST /api/v1/conversations/{id}/media, on a real Redis with a real worker and the fake
Graph API: every malformed multipart body is answered 400/413/415/422 in the JSON error shape (never 500,
never uploaded); a file must be what it says (its bytes match its declared type) and its name is cleaned."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.support.desk_http import add_agent, escalated_and_taken, run

pytestmark = pytest.mark.integration

B = "xYz0b0undary"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def part(headers: str, content: bytes) -> bytes:
    return f"--{B}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"


def file_part(content: bytes = PNG, name: str = "f.png", mime: str = "image/png") -> bytes:
    return part(
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: {mime}', content
    )


def caption_part(text: bytes = b"oi", extra: str = "") -> bytes:
    return part(f'Content-Disposition: form-data; name="caption"{extra}', text)


END = f"--{B}--\r\n".encode()
FORM = f"multipart/form-data; boundary={B}"

# (what is wrong, Content-Type, body, the answers it may get: a caption read leniently may go, as text)
HOSTILE = [
    ("no boundary", "multipart/form-data", file_part() + END, {400, 422}),
    ("empty body", FORM, b"", {400, 422}),
    ("no closing boundary", FORM, file_part(), {400, 422}),
    ("cut inside the file", FORM, file_part()[:40], {400, 422}),
    ("another boundary in the body", "multipart/form-data; boundary=other", file_part() + END, {400, 422}),
    ("no file part", FORM, caption_part() + END, {422}),
    ("two file parts", FORM, file_part() + file_part() + END, {422}),
    ("two captions", FORM, file_part() + caption_part() + caption_part() + END, {422}),
    ("no Content-Disposition", FORM, part("Content-Type: image/png", PNG) + END, {422}),
    ("Content-Disposition garbage", FORM, part('Content-Disposition: =;;"\x01', PNG) + END, {400, 422}),
    (
        "a caption in an unknown charset",
        FORM,
        file_part() + caption_part(extra="\r\nContent-Type: text/plain; charset=x-nope") + END,
        {202, 400, 422},
    ),
    (
        "a caption of bad base64",
        FORM,
        file_part() + caption_part(b"!!*", "\r\nContent-Transfer-Encoding: base64") + END,
        {202, 400, 422},
    ),
    (
        "a caption of bad gzip",
        FORM,
        file_part() + caption_part(b"notgzip", "\r\nContent-Encoding: gzip") + END,
        {202, 400, 422},
    ),
    (
        "a caption in an unknown transfer encoding",
        FORM,
        file_part() + caption_part(b"x", "\r\nContent-Transfer-Encoding: x-rot13") + END,
        {400, 422},
    ),
    (
        "a file of bad base64",
        FORM,
        part(
            'Content-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64',
            b"!!*",
        )
        + END,
        {400, 422},
    ),
    (
        "a nested multipart",
        FORM,
        part(
            'Content-Disposition: form-data; name="file"\r\nContent-Type: multipart/mixed; boundary=in',
            b"--in\r\n\r\nx\r\n--in--",
        )
        + END,
        {400, 422},
    ),
    (
        "a part name not utf-8",
        FORM,
        part(
            'Content-Disposition: form-data; name="file"; filename="\xff\xfe.png"\r\nContent-Type: image/png',
            PNG,
        )
        + END,
        {202, 400, 422},
    ),
    (
        "a boundary of 200 characters",
        "multipart/form-data; boundary=" + "b" * 200,
        b"--" + b"b" * 200 + b"\r\n\r\nx\r\n",
        {400, 422},
    ),
]


@pytest.fixture
def desk(redis_url, world):  # type: ignore[no-untyped-def]
    settings, graph = world
    _, token = add_agent(redis_url, "Ana", "general")
    return settings, graph, token, Store(redis.Redis.from_url(redis_url, decode_responses=True))


def test_every_malformed_multipart_body_is_refused_in_the_json_shape(desk):
    settings, graph, token, store = desk
    answers: dict[str, tuple[int, object]] = {}

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911118888", _bearer(token))
            path = f"/api/v1/conversations/{conversation.id}/media"
            for what, content_type, raw, _ in HOSTILE:
                got = await http.post(
                    path, data=raw, headers={**_bearer(token), "Content-Type": content_type}
                )
                body = await got.json() if got.content_type == "application/json" else await got.text()
                answers[what] = (got.status, body)

    run(scenario())
    wrong = {w: a for (w, _, _, allowed) in HOSTILE if (a := answers[w])[0] not in allowed}
    assert not wrong, wrong
    for what, (status, body) in answers.items():
        if status >= 400:
            assert isinstance(body, dict) and set(body["error"]) == {"code", "message"}, (what, body)
    assert len(graph.uploads) == sum(1 for s, _ in answers.values() if s == 202)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 8


async def _raw_upload(host: str, port: int, path: str, token: str, chunked: bool) -> tuple[int, int]:
    """20 file parts of 15 MB on a socket, sent until the server answers; (status, bytes sent by then)."""
    reader, writer = await asyncio.open_connection(host, port)
    one = file_part(MP4 + b"\x00" * (15 * 1024 * 1024 - len(MP4)), "v.mp4", "video/mp4")
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {20 * len(one) + len(END)}"
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {FORM}\r\n{length}\r\n\r\n".encode()
    )
    sent = 0

    async def send() -> None:
        nonlocal sent
        for _ in range(20):
            for start in range(0, len(one), 1024 * 1024):
                piece = one[start : start + 1024 * 1024]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                await writer.drain()
                sent += len(piece)

    sending = asyncio.create_task(send())
    status_line = await reader.readline()
    sending.cancel()
    writer.close()
    return int(status_line.split()[1]), sent


def test_twenty_parts_of_15_mb_are_refused_early(desk):
    settings, graph, token, store = desk

    async def scenario() -> list[tuple[int, int]]:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911119999", _bearer(token))
            path = f"/api/v1/conversations/{conversation.id}/media"
            host, port = http.server.host, http.server.port
            assert port is not None
            return [await _raw_upload(host, port, path, token, chunked) for chunked in (False, True)]

    declared, chunked = run(scenario())
    assert declared[0] == 413 and declared[1] <= 64 * 1024 * 1024  # refused by its Content-Length
    assert chunked[0] == 422 and chunked[1] <= 64 * 1024 * 1024  # the second file part: 300 MB never read
    assert graph.uploads == []


def test_a_file_is_what_it_says_and_its_name_is_cleaned(desk):
    settings, graph, token, store = desk
    pdf = b"%PDF-1.4 fatura"
    tries = [  # (declared type, file name, bytes, the answer, the name WhatsApp gets)
        ("image/png", "foto.png", b"<html><script>alert(1)</script></html>", 415, None),
        ("text/plain", "nota.txt", b"<!DOCTYPE html><html></html>", 415, None),
        ("application/pdf", "boleto.pdf", b"MZ\x90\x00 an .exe", 415, None),
        ("image/jpeg", "foto.jpg", PNG, 415, None),
        ("application/pdf", "fatura\u202efdp.exe", pdf, 202, "faturafdp.exe.pdf"),
        ("image/png", "a.png; filename*=UTF-8''evil.html", PNG, 202, "a.png_ filename_=UTF-8''evil.html.png"),
        ("application/pdf", "../../etc/\tpasswd\u200b.pdf", pdf, 202, "etc_passwd.pdf"),
        ("application/pdf", "x" * 600 + ".pdf", pdf, 202, "x" * 116 + ".pdf"),
    ]
    answers = []

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911110000", _bearer(token))
            path = f"/api/v1/conversations/{conversation.id}/media"
            for mime, name, content, _, _ in tries:
                raw = file_part(content, name.replace('"', "%22"), mime) + END
                got = await http.post(path, data=raw, headers={**_bearer(token), "Content-Type": FORM})
                answers.append((got.status, (await got.json()).get("error", {}).get("code")))

    run(scenario())
    assert [s for s, _ in answers] == [t[3] for t in tries], answers
    assert {c for s, c in answers if s == 415} == {"content_mismatch"}
    assert [unquote(u["filename"]) for u in graph.uploads] == [t[4] for t in tries if t[3] == 202]

"""Customers' media reach the agent through GET /api/v1/media/{id}, on a real Redis with a real worker and
the fake Graph API: the bytes with their type for who may see the conversation, 403 for others, 410 once
WhatsApp no longer has them; never Meta's URL nor the token."""

from __future__ import annotations

import asyncio
import io
import socket
import time

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from desk import media as desk_media
from handover.store import Store
from tests.support.desk_http import add_agent, escalated_and_taken, run
from tests.support.processes import wait_for
from tests.support.webhook import body, signed

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def media_message(message_id: str, wa_id: str, wa_type: str, media: dict) -> dict:  # type: ignore[type-arg]
    return {
        "from": wa_id,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": wa_type,
        wa_type: media,
    }


def test_the_agent_sees_what_the_customer_sent_and_nobody_else_does(redis_url, world):
    settings, graph = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    wa_id = "5511911116666"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, wa_id, bearer(ana))
            sent = [
                media_message(
                    "wamid.photo",
                    wa_id,
                    "image",
                    {"id": "777001", "mime_type": "image/jpeg", "caption": "quebrou"},
                ),
                media_message(
                    "wamid.doc",
                    wa_id,
                    "document",
                    {"id": "777002", "mime_type": "application/pdf", "filename": "nota fiscal.pdf"},
                ),
                media_message("wamid.gone", wa_id, "image", {"id": "__missing__", "mime_type": "image/jpeg"}),
                media_message(
                    "wamid.voice", wa_id, "audio", {"id": "777003", "mime_type": "audio/ogg; codecs=opus"}
                ),
            ]
            raw, headers = signed(body(sent))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200

            def with_media():  # type: ignore[no-untyped-def]
                entries = store.transcript(conversation.id)
                return [e for e in entries if e.media_id] if len(entries) >= 6 else None

            await asyncio.to_thread(wait_for, with_media, 30, "the media in the transcript")
            detail = await (
                await http.get(f"/api/v1/conversations/{conversation.id}", headers=bearer(ana))
            ).json()
            media = [e["media"] for e in detail["transcript"] if e.get("media")]
            assert media[:2] == [
                {"id": "777001", "mime_type": "image/jpeg", "caption": "quebrou"},
                {"id": "777002", "mime_type": "application/pdf", "filename": "nota fiscal.pdf"},
            ]

            photo = await http.get("/api/v1/media/777001", headers=bearer(ana))
            assert photo.status == 200 and await photo.read() == b"\xff\xd8fake-jpeg"
            assert photo.content_type == "image/jpeg"
            assert photo.headers["Content-Disposition"].startswith("inline")
            assert "sandbox" in photo.headers["Content-Security-Policy"]
            assert graph.downloads[-1]["authorization"] == "Bearer t"  # the token went to Meta only
            assert "fake-jpeg" not in str(photo.headers) and "media-file" not in str(photo.headers)

            voice = await http.get("/api/v1/media/777003", headers=bearer(ana))
            assert voice.status == 200 and voice.content_type == "audio/ogg"  # a player plays it inline
            assert voice.headers["Content-Disposition"].startswith("inline")
            document = await http.get("/api/v1/media/777002", headers=bearer(ana))
            assert document.headers["Content-Disposition"] == "attachment; filename*=UTF-8''nota%20fiscal.pdf"

            again = len(graph.downloads)
            assert (await http.get("/api/v1/media/777001", headers=bearer(ana))).status == 200
            assert len(graph.downloads) == again  # cached: Meta is not asked twice
            scraped = await (await http.get("/metrics")).text()
            assert "handover_media_downloads_total 3.0" in scraped  # the photo, the voice note, the document
            on_disk = next(
                line for line in scraped.splitlines() if line.startswith("handover_media_disk_bytes ")
            )
            assert float(on_disk.split()[1]) > 0

            other = await http.get("/api/v1/media/777001", headers=bearer(carlos))
            assert other.status == 403 and (await other.json())["error"]["code"] == "not_yours"
            gone = await http.get("/api/v1/media/__missing__", headers=bearer(ana))
            assert gone.status == 410 and (await gone.json())["error"]["code"] == "gone"
            unknown = await http.get("/api/v1/media/999999", headers=bearer(ana))
            assert unknown.status == 404

    run(scenario())


def form(content: bytes, mime: str, filename: str, caption: str | None = None) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("file", io.BytesIO(content), filename=filename, content_type=mime)
    if caption is not None:
        data.add_field("caption", caption)
    return data


def test_an_agents_file_is_checked_uploaded_then_sent_by_its_id(redis_url, world):
    settings, graph = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911117777", bearer(ana))
            path = f"/api/v1/conversations/{conversation.id}/media"
            pdf = b"%PDF-1.4 segunda via"
            sent = await http.post(
                path, data=form(pdf, "application/pdf", "boleto.pdf", "Segue o boleto"), headers=bearer(ana)
            )
            assert sent.status == 202, await sent.text()
            [upload] = graph.uploads
            assert (upload["type"], upload["filename"], upload["content"]) == (
                "application/pdf",
                "boleto.pdf",
                pdf,
            )
            assert upload["messaging_product"] == "whatsapp" and upload["authorization"] == "Bearer t"

            def document_sent():  # type: ignore[no-untyped-def]
                return [r["json"] for r in graph.requests if r["json"].get("type") == "document"]

            [body_sent] = await asyncio.to_thread(wait_for, document_sent, 30, "the document at Meta")
            assert body_sent["document"] == {
                "id": "up1",
                "caption": "Segue o boleto",
                "filename": "boleto.pdf",
            }
            entry_id = (await sent.json())["id"]

            def ticked():  # type: ignore[no-untyped-def]
                [entry] = [e for e in store.transcript(conversation.id) if e.id == entry_id]
                return entry if entry.delivery and entry.delivery.status == "sent" else None

            entry = await asyncio.to_thread(wait_for, ticked, 30, "the send recorded")
            assert entry.media == {
                "id": "up1",
                "mime_type": "application/pdf",
                "filename": "boleto.pdf",
                "caption": "Segue o boleto",
            }

            # refused before anything is uploaded: too big for its type, a type WhatsApp does not take
            big = await http.post(
                path, data=form(b"\xff" * (5 * 1024 * 1024 + 1), "image/png", "foto.png"), headers=bearer(ana)
            )
            assert big.status == 413 and (await big.json())["error"]["code"] == "too_large"
            odd = await http.post(path, data=form(b"<svg/>", "image/svg+xml", "x.svg"), headers=bearer(ana))
            assert odd.status == 415 and (await odd.json())["error"]["code"] == "unsupported_media_type"
            voice = await http.post(path, data=form(b"OggS", "audio/ogg", "v.ogg", "oi"), headers=bearer(ana))
            assert voice.status == 422  # a voice message has no caption
            other = await http.post(path, data=form(pdf, "application/pdf", "b.pdf"), headers=bearer(carlos))
            assert other.status == 403
            assert len(graph.uploads) == 1

    run(scenario())


def test_a_media_link_opens_that_media_for_that_agent_while_they_may_see_it(redis_url, world):
    """Players and downloads cannot send the bearer header: a link's ticket stands in for it, on the media
    route only, for the one media it was made for, checked against the conversation on every use."""
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    wa_id = "5511911118888"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, wa_id, bearer(ana))
            sent = [
                media_message("wamid.l1", wa_id, "image", {"id": "888001", "mime_type": "image/jpeg"}),
                media_message("wamid.l2", wa_id, "video", {"id": "888002", "mime_type": "video/mp4"}),
            ]
            raw, headers = signed(body(sent))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            await asyncio.to_thread(
                wait_for, lambda: client.exists("hv:media:888002"), 30, "the media in the transcript"
            )

            made = await http.post("/api/v1/media/888001/link", headers=bearer(ana))
            assert made.status == 200, await made.text()
            link = await made.json()
            assert link["expires_in"] == 300 and link["url"].startswith("/api/v1/media/888001?ticket=")
            ticket = link["url"].rpartition("=")[2]
            assert 0 < client.ttl(f"hv:media-ticket:{ticket}") <= 300

            opened = await http.get(link["url"])  # no Authorization header
            assert opened.status == 200 and await opened.read() == b"\xff\xd8fake-jpeg"
            assert opened.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
            ranged = await http.get(link["url"], headers={"Range": "bytes=2-5"})
            assert ranged.status == 206 and await ranged.read() == b"fake"

            for path in (
                f"/api/v1/media/888002?ticket={ticket}",  # another media
                "/api/v1/media/888001?ticket=not-a-ticket",
                f"/api/v1/conversations/{conversation.id}?ticket={ticket}",  # another route
                f"/api/v1/me?ticket={ticket}",
            ):
                refused = await http.get(path)
                assert refused.status == 401, path
                assert (await refused.json())["error"]["code"] == "unauthorized"

            other = await http.post("/api/v1/media/888001/link", headers=bearer(carlos))
            assert other.status == 403  # a link only for whoever may see the media

            # the conversation is no longer Ana's: her link no longer opens it
            released = await http.post(
                f"/api/v1/conversations/{conversation.id}/release", headers=bearer(ana)
            )
            assert released.status == 200, await released.text()
            assert (await http.get(link["url"])).status == 403

            client.delete(f"hv:media-ticket:{ticket}")  # as its 300 s run out
            assert (await http.get(link["url"])).status == 401

    run(scenario())
    client.close()


def test_a_client_that_stops_reading_a_media_is_cut_off_and_its_request_let_go(
    redis_url, world, tmp_path, monkeypatch
):
    """A media answer is sent within its deadline (a minute and a second per 128 KB; shortened here) or
    its connection closes, so a client that stops reading does not hold the file and the agent's media
    request for ever."""
    settings, graph = world
    monkeypatch.setattr(desk_media, "SEND_GRACE_SECONDS", 1.0)
    monkeypatch.setattr(desk_media, "SEND_BYTES_PER_SECOND", 100 * 1024 * 1024)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"\0" * (20 * 1024 * 1024))
    graph.serve_file("999001", big, "application/pdf")
    one_at_a_time = settings.model_copy(update={"handover_media_per_agent": 1})
    _, ana = add_agent(redis_url, "Ana", "general")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    wa_id = "5511911117070"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(one_at_a_time))) as http:
            await escalated_and_taken(http, Store(client), wa_id, bearer(ana))
            document = {"id": "999001", "mime_type": "application/pdf", "filename": "big.pdf"}
            raw, headers = signed(body([media_message("wamid.big", wa_id, "document", document)]))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            await asyncio.to_thread(wait_for, lambda: client.exists("hv:media:999001"), 30, "the media")

            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # loopback's may grow to 32 MB
            sock.connect((http.server.host, http.server.port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
            writer.write(
                f"GET /api/v1/media/999001 HTTP/1.1\r\nHost: d\r\nAuthorization: Bearer {ana}\r\n\r\n".encode()
            )
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            held = await http.get("/api/v1/media/999001", headers=bearer(ana))  # the stalled one holds it
            assert held.status == 429 and (await held.json())["error"]["code"] == "too_many_requests"

            await asyncio.sleep(2)  # past the answer's deadline (1.2 s here), reading nothing
            async with asyncio.timeout(30):  # closed by the server: what was sent, then the end
                read = 0
                while chunk := await reader.read(1024 * 1024):
                    read += len(chunk)
            assert read < big.stat().st_size
            writer.close()
            again = await http.get("/api/v1/media/999001", headers={**bearer(ana), "Range": "bytes=0-8"})
            assert again.status == 206 and await again.read() == b"%PDF-1.4\n"
            assert graph.downloads_of("999001") == 1

    run(scenario())
    client.close()

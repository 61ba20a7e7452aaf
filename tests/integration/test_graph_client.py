"""The Graph API client against a fake Graph API served over loopback."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest

from graph.client import GraphClient, make_session
from graph.errors import (
    AuthError,
    GraphError,
    GraphTimeout,
    GraphUnreachable,
    InvalidParameter,
    OutsideWindow,
    RateLimited,
    RecipientUnavailable,
    ServerError,
)
from handover.message import Button, OutboundKind, OutboundRequest
from tests.fakes.graph_server import FakeGraph

TOKEN = "EAAG-secret-token"


def text(body: str, to: str = "5511987654321") -> OutboundRequest:
    return OutboundRequest(kind=OutboundKind.TEXT, phone_number_id="123", to=to, text=body)


@pytest.fixture
async def graph():
    async with FakeGraph() as server:
        yield server


@pytest.fixture
async def client(graph):
    session = make_session(8)
    yield GraphClient(session, graph.base_url, TOKEN)
    await session.close()


def assert_no_secret(error: GraphError) -> None:
    for shown in (str(error), repr(error), repr(error.args), repr(vars(error))):
        assert TOKEN not in shown


async def test_send_returns_the_whatsapp_id_and_meta_saw_the_body_and_token(client, graph):
    outcome = await client.send(text("Olá"))
    assert outcome.ok and outcome.wa_message_id == "wamid.fake.1"
    [seen] = graph.requests
    assert seen["path"] == "/v23.0/123/messages"
    assert seen["authorization"] == f"Bearer {TOKEN}"
    assert seen["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "type": "text",
        "text": {"body": "Olá", "preview_url": False},
    }


async def test_buttons_to_a_business_scoped_user_id(client, graph):
    request = OutboundRequest(
        kind=OutboundKind.BUTTONS,
        phone_number_id="123",
        to="BR.1502576394655843",
        text="Resolvido?",
        buttons=[Button(id="sim", title="Sim")],
    )
    outcome = await client.send(request)
    assert outcome.ok and outcome.wa_message_id
    sent = graph.requests[0]["json"]
    assert sent["recipient"] == "BR.1502576394655843" and "to" not in sent


async def test_read_receipt(client, graph):
    outcome = await client.send(
        OutboundRequest(kind=OutboundKind.MARK_READ, phone_number_id="123", to="55", message_id="wamid.IN")
    )
    assert outcome == outcome.model_copy(update={"ok": True, "wa_message_id": None})
    assert graph.requests[0]["json"] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }


@pytest.mark.parametrize(
    ("magic", "cls", "status", "code", "retryable"),
    [
        ("__429__", RateLimited, 429, 130429, True),
        ("__pair__", RateLimited, 400, 131056, True),
        ("__500__", ServerError, 500, 131000, True),
        ("__html__", ServerError, 502, None, True),
        ("__window__", OutsideWindow, 400, 131047, False),
        ("__notuser__", RecipientUnavailable, 400, 131026, False),
        ("__auth__", AuthError, 401, 190, False),
    ],
)
async def test_meta_errors_become_typed_errors_without_the_token(client, magic, cls, status, code, retryable):
    with pytest.raises(cls) as caught:
        await client.send(text(magic))
    error = caught.value
    assert (error.status, error.code, error.retryable) == (status, code, retryable)
    assert (error.method, error.url) == ("POST", client.base_url + "/123/messages")
    assert error.to_outcome().retryable is retryable
    assert_no_secret(error)


async def test_magic_in_the_recipient_too(client):
    with pytest.raises(OutsideWindow):
        await client.send(text("oi", to="__window__"))


async def test_first_sends_fail_with_503_then_succeed(client, graph):
    graph.fail_next(2, status=503)
    for _ in range(2):
        with pytest.raises(ServerError) as caught:
            await client.send(text("de novo"))
        assert (caught.value.status, caught.value.code, caught.value.retryable) == (503, 131016, True)
    assert (await client.send(text("de novo"))).ok
    assert len(graph.requests) == 3


async def test_a_timeout_is_retryable(graph):
    session = make_session(2, timeout=0.3)
    try:
        with pytest.raises(GraphTimeout) as caught:
            await GraphClient(session, graph.base_url, TOKEN).send(text("__slow__"))
    finally:
        await session.close()
    assert caught.value.retryable and caught.value.status == 0
    assert_no_secret(caught.value)


async def test_an_unreachable_api_is_retryable():
    session = make_session(2, timeout=2)
    try:
        with pytest.raises(GraphUnreachable) as caught:
            await GraphClient(session, "http://127.0.0.1:9/v23.0", TOKEN).send(text("x"))
    finally:
        await session.close()
    assert caught.value.retryable and not isinstance(caught.value, GraphTimeout)
    assert_no_secret(caught.value)


async def test_latency_is_applied(client):
    async with FakeGraph(latency=0.2) as slow:
        started = asyncio.get_running_loop().time()
        assert (await GraphClient(client.session, slow.base_url, TOKEN).send(text("oi"))).ok
        assert asyncio.get_running_loop().time() - started >= 0.2


async def test_sends_reuse_one_keep_alive_connection(client, graph):
    for n in range(5):
        assert (await client.send(text(f"mensagem {n}"))).ok
    assert len({r["peer"] for r in graph.requests}) == 1


async def test_media_download_follows_the_url_with_the_token(client, graph):
    sink = io.BytesIO()
    mime = await client.download_media("987654", sink)
    assert sink.getvalue() == b"\xff\xd8fake-jpeg" and mime == "image/jpeg"
    [download] = graph.downloads
    assert download == {"path": "/v23.0/media-file/987654", "authorization": f"Bearer {TOKEN}"}


async def test_unknown_media_is_a_permanent_error(client):
    with pytest.raises(InvalidParameter) as caught:
        await client.download_media("__missing__", io.BytesIO())
    assert caught.value.url == client.base_url + "/__missing__" and not caught.value.retryable


async def test_a_failed_media_download_does_not_show_the_signed_query(graph):
    session = make_session(2)
    try:
        with pytest.raises(AuthError) as caught:
            await GraphClient(session, graph.base_url, "").download_media("987654", io.BytesIO())
    finally:
        await session.close()
    assert caught.value.url == f"{graph.base_url}/media-file/987654"
    assert "hash" not in str(caught.value)


def test_the_threaded_server_serves_synchronous_callers():
    graph = FakeGraph.start_in_thread(latency=0.0)
    try:
        graph.fail_next(1)

        async def send_twice() -> list[bool]:
            async with aiohttp.ClientSession() as session:
                client = GraphClient(session, graph.base_url, TOKEN)
                results = []
                for body in ("um", "dois"):
                    try:
                        results.append((await client.send(text(body))).ok)
                    except ServerError:
                        results.append(False)
                return results

        assert asyncio.run(send_twice()) == [False, True]
        assert graph.count() == 2 and graph.count(kind="text") == 2 and graph.count(kind="read") == 0
    finally:
        graph.stop()

"""The Graph API client against a fake Graph API served over loopback."""

from __future__ import annotations

import pytest

from handover.message import OutboundKind, OutboundRequest
from tests.fakes.graph_server import FakeGraph
from workers.errors import GraphUnreachable, OutsideWindow, RateLimited, RecipientUnavailable, ServerError
from workers.graph import GraphClient, make_session

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


async def test_send_returns_the_whatsapp_id_and_meta_saw_the_body_and_token(client, graph):
    outcome = await client.send(text("Olá"))
    assert outcome.ok and outcome.wa_message_id == "wamid.fake.1"
    [seen] = graph.requests
    assert seen["path"] == "/v23.0/123/messages"
    assert seen["authorization"] == f"Bearer {TOKEN}"
    assert seen["json"]["text"]["body"] == "Olá" and seen["json"]["to"] == "5511987654321"


async def test_read_receipt(client, graph):
    outcome = await client.send(
        OutboundRequest(kind=OutboundKind.MARK_READ, phone_number_id="123", to="55", message_id="wamid.IN")
    )
    assert outcome.ok and outcome.wa_message_id is None
    assert graph.requests[0]["json"] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }


@pytest.mark.parametrize(
    ("magic", "cls", "code"),
    [
        ("__429__", RateLimited, 130429),
        ("__pair__", RateLimited, 131056),
        ("__500__", ServerError, 131000),
        ("__window__", OutsideWindow, 131047),
        ("__notuser__", RecipientUnavailable, 131026),
    ],
)
async def test_meta_errors_become_typed_errors_without_the_token(client, magic, cls, code):
    with pytest.raises(cls) as caught:
        await client.send(text(magic))
    assert caught.value.code == code
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value.__dict__)


async def test_503_then_success(client, graph):
    graph.fail_next(1)
    with pytest.raises(ServerError) as caught:
        await client.send(text("primeira"))
    assert caught.value.retryable
    assert (await client.send(text("segunda"))).ok


async def test_timeout_is_retryable(graph):
    session = make_session(2, timeout=0.3)
    try:
        with pytest.raises(GraphUnreachable) as caught:
            await GraphClient(session, graph.base_url, TOKEN).send(text("__slow__"))
    finally:
        await session.close()
    assert caught.value.retryable


async def test_unreachable_api_is_retryable():
    session = make_session(2, timeout=1)
    try:
        with pytest.raises(GraphUnreachable):
            await GraphClient(session, "http://127.0.0.1:9/v23.0", TOKEN).send(text("x"))
    finally:
        await session.close()


async def test_media_download_follows_the_url_with_the_token(client):
    content, mime = await client.download_media("987654")
    assert content.startswith(b"\xff\xd8") and mime == "image/jpeg"


async def test_sends_reuse_one_keep_alive_connection(client, graph):
    for n in range(5):
        assert (await client.send(text(f"mensagem {n}"))).ok
    assert len({r["peer"] for r in graph.requests}) == 1

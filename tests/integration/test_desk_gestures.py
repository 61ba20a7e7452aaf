"""Agents answer the WhatsApp way, over HTTP on a real Redis with a real worker and the fake Graph API (issue
29, item 2): a reply quoting the customer's message reaches Meta with `context.message_id`, a reaction with
`type: reaction` (and an empty emoji takes it back), and "typing…" rides on a read receipt of the customer's
newest message, at most once per 25 s a conversation."""

from __future__ import annotations

import asyncio

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover import keys
from handover.store import Store
from tests.support.desk_http import add_agent, escalated_and_taken, run
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sent(graph, test) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r["json"] for r in graph.snapshot() if test(r["json"])]


def test_an_agent_quotes_reacts_and_types(redis_url, world):
    settings, graph = world
    _, ana = add_agent(redis_url, "Ana Souza", "general")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    wa = "5511911117777"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, wa, bearer(ana))
            path = f"/api/v1/conversations/{conversation.id}"
            asked = f"wamid.{wa}.1"  # the customer's message, as WhatsApp named it

            quoting = await http.post(
                f"{path}/messages", json={"text": "Sobre isso:", "reply_to": asked}, headers=bearer(ana)
            )
            assert quoting.status == 202
            [quote] = await asyncio.to_thread(
                wait_for, lambda: sent(graph, lambda b: b.get("context")), 30, "the quoting reply"
            )
            assert (quote["context"], quote["text"]["body"]) == ({"message_id": asked}, "Sobre isso:")

            # our own message can be quoted and reacted to once WhatsApp named it
            ours = (await quoting.json())["id"]
            await asyncio.to_thread(
                wait_for,
                lambda: (
                    store.client.hget(keys.delivery_key(conversation.id), ours)
                    and "wamid.fake" in store.client.hget(keys.delivery_key(conversation.id), ours)
                ),
                30,
                "our reply's WhatsApp id",
            )
            for message_id, emoji in ((asked, "👍"), (asked, ""), (ours, "❤️")):
                reacted = await http.post(
                    f"{path}/reactions", json={"message_id": message_id, "emoji": emoji}, headers=bearer(ana)
                )
                assert reacted.status == 202, await reacted.text()
            reactions = await asyncio.to_thread(
                wait_for,
                lambda: (
                    (found := sent(graph, lambda b: b.get("type") == "reaction"))
                    and len(found) == 3
                    and found
                ),
                30,
                "three reactions",
            )
            assert [r["reaction"]["emoji"] for r in reactions] == ["👍", "", "❤️"]
            assert reactions[0]["reaction"]["message_id"] == asked
            assert reactions[2]["reaction"]["message_id"].startswith("wamid.fake.")
            assert all("context" not in r for r in reactions)

            words = await http.post(
                f"{path}/reactions", json={"message_id": asked, "emoji": "ok"}, headers=bearer(ana)
            )
            assert words.status == 422
            unknown = await http.post(
                f"{path}/reactions", json={"message_id": "wamid.nope", "emoji": "👍"}, headers=bearer(ana)
            )
            assert unknown.status == 404

            first = await (await http.post(f"{path}/typing", headers=bearer(ana))).json()
            again = await (await http.post(f"{path}/typing", headers=bearer(ana))).json()
            assert (first, again) == ({"sent": True}, {"sent": False})  # once per 25 s
            [typing] = await asyncio.to_thread(
                wait_for,
                lambda: sent(graph, lambda b: "typing_indicator" in b),
                30,
                "the typing indicator",
            )
            assert typing == {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": asked,
                "typing_indicator": {"type": "text"},
            }
            store.client.delete(keys.typing_key(conversation.id))  # 25 s later
            assert (await (await http.post(f"{path}/typing", headers=bearer(ana))).json()) == {"sent": True}

            seen = await (await http.get(path, headers=bearer(ana))).json()
            mine = [e for e in seen["transcript"] if e["kind"] == "reaction"]
            assert [(e["text"], e["context_id"]) for e in mine][:1] == [("👍", asked)]

    run(scenario())

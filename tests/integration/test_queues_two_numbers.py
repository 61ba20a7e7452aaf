"""Two business numbers on one real Redis: each number's queues are its own. A customer of B is not counted
in A's line; an agent of A takes only A's customers; an agent serving both is one person with one capacity
when the assigner offers them conversations waiting in both numbers' push queues."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
import yaml

from bench.upgrade import seed_old_layout
from handover import keys
from handover.agents import Agent
from handover.assignment.push import Assigner
from handover.conversation import Conversation, ConversationState
from handover.inbox import Filters, Inbox
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.numbers import knowing
from handover.rules.loader import LoadedRules, parse_rules
from handover.traffic.enqueue import InboundItem
from tests.support.cli import handover
from tests.support.world import CONFIG, PNID, World

pytestmark = pytest.mark.integration

A, B = PNID, "2000000000002"  # the World's customers write to A
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()  # queues open
ASK = "quero falar com um atendente"


def push_rules() -> LoadedRules:
    data: dict[str, Any] = yaml.safe_load(Path(CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"] |= {"assignment": "push", "offer_timeout_seconds": 0}
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))


async def says_to(world: World, number: str, wa_id: str, text: str) -> Conversation:
    """A customer writes to business number `number` (the webhook's item, then the worker)."""
    world._said += 1
    customer = CustomerRef(phone_number_id=number, wa_id=wa_id, profile_name="Cliente")
    message = InboundMessage(
        id=f"wamid.{number}.{world._said}",
        customer=customer,
        timestamp=int(world.clock()),
        kind=InboundKind.TEXT,
        wa_type="text",
        text=text,
    )
    await world.deliver(InboundItem(type="message", message=message))
    conversation = world.store.current_conversation(customer)
    assert conversation is not None
    return conversation


def serving(world: World, agent: Agent, numbers: list[str]) -> Agent:
    """The agent scoped to `numbers`, as `agents set --numbers` stores it (a new revision of their JSON)."""
    scoped = agent.model_copy(update={"numbers": numbers})
    world.sync.hset(keys.agent_key(agent.id), "json", scoped.model_dump_json())
    world.sync.hincrby(keys.agent_key(agent.id), "rev", 1)
    return world.agents.get(agent.id)


def told(world: World, conversation: Conversation) -> str:
    return [e.text for e in world.store.transcript(conversation.id) if e.direction == "out"][-1] or ""


@pytest.fixture
async def world(redis_url: str):
    made = World(redis_url=redis_url, now=MONDAY_10H)
    yield made
    await made.close()


async def test_a_customer_of_b_is_first_in_bs_line_whatever_waits_at_a(world):
    for n in range(7):
        world.clock.now += 1
        await says_to(world, A, f"551190000000{n}", ASK)
    world.clock.now += 1
    theirs = await says_to(world, B, "5521900000001", ASK)

    assert theirs.state == ConversationState.QUEUED and theirs.phone_number_id == B
    assert "1º da fila" in told(world, theirs)  # not 8º: A's seven wait in another queue
    assert world.sync.zcard(keys.queue_key(A, "general")) == 7
    assert world.sync.zrange(keys.queue_key(B, "general"), 0, -1) == [theirs.id]
    world.clock.now += 1
    second = await says_to(world, A, "5511900000099", ASK)
    assert "8º da fila" in told(world, second)  # A's own line counts A's


async def test_an_agent_of_a_takes_only_as_customers_and_one_of_both_takes_the_oldest(world):
    world.clock.now += 1
    b_first = await says_to(world, B, "5521900000001", ASK)  # B's waits longest
    world.clock.now += 1
    a_first = await says_to(world, A, "5511900000001", ASK)
    world.clock.now += 1
    a_second = await says_to(world, A, "5511900000002", ASK)
    of_a = serving(world, world.available_agent("Ana", ["general"]), [A])
    of_b = serving(world, world.available_agent("Bia", ["general"]), [B])
    of_both = world.available_agent("Caio", ["general"])  # no numbers: every number

    lifecycle, calls = world.assignments.lifecycle, []
    script = lifecycle._claim

    def recorded(keys: list[str], args: list[Any]) -> Any:
        calls.append({re.sub(r"^hv:\{(.*?)\}:.*", r"\1", k) for k in keys if k.startswith("hv:{")})
        return script(keys=keys, args=args)

    lifecycle._claim = recorded  # type: ignore[assignment]
    taken = world.assignments.claim_next(of_a)
    assert taken is not None and taken.id == a_first.id  # B's older customer is not hers
    taken = world.assignments.claim_next(of_both)
    assert taken is not None and taken.id == b_first.id  # the oldest across both numbers
    taken = world.assignments.claim_next(of_a)
    assert taken is not None and taken.id == a_second.id
    assert world.assignments.claim_next(of_b) is None  # B's line is empty; A's is not B's
    assert calls and all(len(tags) == 1 for tags in calls)  # each script call: one number's queues


async def test_one_of_both_takes_from_the_number_asked_and_lists_it_alone(world):
    """The console's number filter: take-next and the list keep to the number chosen."""
    world.clock.now += 1
    b_first = await says_to(world, B, "5521900000001", ASK)  # B's waits longest
    world.clock.now += 1
    a_first = await says_to(world, A, "5511900000001", ASK)
    of_both = world.available_agent("Caio", ["general"])
    taken = world.assignments.claim_next(of_both, A)
    assert taken is not None and taken.id == a_first.id  # not B's older one: A was asked for
    assert world.assignments.claim_next(of_both, A) is None
    inbox = Inbox(world.store, world.agents, world.loaded, knowing(world.sync))
    listed = inbox.page(of_both, Filters(number=B), 10, None).conversations
    assert [c.id for c in listed] == [b_first.id]


async def test_push_never_offers_a_shared_agent_past_one_capacity_across_numbers(redis_url):
    world = World(redis_url=redis_url, rules=push_rules(), now=MONDAY_10H)
    try:
        for n in range(4):  # four wait in each number's push queue, interleaved
            world.clock.now += 1
            await says_to(world, A, f"551190000000{n}", ASK)
            world.clock.now += 1
            await says_to(world, B, f"552190000000{n}", ASK)
        shared = world.available_agent("Caio", ["general"], capacity=3)
        only_b = serving(world, world.available_agent("Bia", ["general"], capacity=1), [B])
        assigner = Assigner(world.sync, world.loaded, world.clock)

        assert assigner.dispatch() == 4  # three to Caio (his one capacity), one to Bia
        assert assigner.dispatch() == 0  # nobody has room: nothing more, however much waits

        held = {
            agent.id: [
                world.store.conversation(c) for c in world.sync.smembers(keys.agent_load_key(agent.id))
            ]
            for agent in (shared, only_b)
        }
        assert len(held[shared.id]) == 3
        assert {c.phone_number_id for c in held[shared.id] if c} == {A, B}  # from both numbers
        assert [c.phone_number_id for c in held[only_b.id] if c] == [B]
        assert (
            world.sync.zcard(keys.queue_key(A, "general")) + world.sync.zcard(keys.queue_key(B, "general"))
            == 4
        )
    finally:
        await world.close()


def test_handover_upgrade_moves_the_old_queues_once_and_says_so(redis_url, tmp_path):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    seed_old_layout(client, 10)  # bench/upgrade.py's: two numbers, four queues, as the old version kept them

    first = handover(["upgrade"], {"REDIS_URL": redis_url}, tmp_path)
    second = handover(["upgrade"], {"REDIS_URL": redis_url}, tmp_path)

    assert first.returncode == 0, first.stderr
    assert "10 waiting conversations and 10 activity entries moved" in first.stdout
    assert "queues per number: done before" in second.stdout and second.returncode == 0
    assert sum(client.zcard(keys.queue_key(n, "general")) for n in ("1000000000001", "2000000000002")) == 3
    assert not client.exists(keys.old_queue_key("general"))
    client.close()

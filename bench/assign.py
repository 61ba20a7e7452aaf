"""The assigner's decisions with 10,000 customers waiting in a push queue and 50 agents (capacity 3) on a
redis-server started for the run (target: a decision's p99 ≤ 5 ms).

Measured, each over 1,000 rounds: a dispatch when nobody is free (what every desk event costs while the
desk is full); one agent freeing a place, then the dispatch that gives them the oldest waiting
conversation (the decision); the same with offers (assign, then accept). Baselines from the same run: a pull
claim (`POST /queues/next`'s script) and a Redis round trip (PING).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import redis
import yaml

from handover import keys
from handover.agents import AgentStore, Presence, Role
from handover.assignment.push import Assigner
from handover.assignment.queues import enqueue
from handover.conversation import BotState, Conversation, ConversationState
from handover.lifecycle import Lifecycle
from handover.message import CustomerRef
from handover.rules.loader import LoadedRules, parse_rules
from handover.rules.model import Priority
from handover.store import Store
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
WAITING = 10_000
AGENTS = 50
ROUNDS = 1_000


def _rules(offer_timeout: int) -> LoadedRules:
    data = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"] |= {
        "assignment": "push",
        "policy": "least_loaded",
        "offer_timeout_seconds": offer_timeout,
    }
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), str(ROOT / "config" / "rules.yaml"))


def _seed(client: redis.Redis, count: int, start: int, now: float) -> None:
    store = Store(client)
    with client.pipeline(transaction=False) as pipe:
        for n in range(start, start + count):
            since = now - 86_000 + n
            customer = CustomerRef(phone_number_id="PN", wa_id=f"55119{n:08d}")
            conversation = Conversation.start(customer, since)
            conversation.state, conversation.queue, conversation.priority = (
                ConversationState.QUEUED,
                "general",
                "normal",
            )
            conversation.bot = BotState(language="pt" if n % 4 else "en")
            store.save_conversation(pipe, conversation)
            enqueue(
                pipe,
                "PN",
                "general",
                conversation.id,
                Priority.URGENT if n % 50 == 0 else Priority.NORMAL,
                since,
            )
            if n % 1000 == 999:
                pipe.execute()
        pipe.execute()


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _row(name: str, samples: list[float], target: str = "") -> str:
    p99 = statistics.quantiles(samples, n=100)[98]
    return f"  {name:<46} p50 {statistics.median(samples):6.2f} ms   p99 {p99:6.2f} ms   {target}"


def bench_assign(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    now = time.time()
    _seed(client, WAITING + 2 * ROUNDS + AGENTS * 3, 0, now)
    agents = AgentStore(client)
    ids = []
    for n in range(AGENTS):
        created, _ = agents.add(f"Agent {n:02}", ["general"], capacity=3, role=Role.AGENT)
        agents.update(created.id, languages=["pt"] if n % 3 else ["en", "pt"])
        agents.set_status(created.id, Presence.AVAILABLE)
        ids.append(created.id)
    lifecycle = Lifecycle(client)
    pushing, offering_rules = _rules(0), _rules(30)
    direct = Assigner(client, lambda *_: pushing, numbers=lambda: ["PN"])
    offering = Assigner(client, lambda *_: offering_rules, numbers=lambda: ["PN"])

    fill = _timed(direct.dispatch)  # 150 decisions: everyone to capacity
    full = [_timed(direct.dispatch) for _ in range(ROUNDS)]

    def free_a_place(n: int) -> str:
        """The nth round's agent resolves one of theirs; returns who."""
        agent = ids[n % AGENTS]
        lifecycle.finish(
            agent, next(iter(client.smembers(keys.agent_load_key(agent)))), ConversationState.RESOLVED
        )
        return agent

    decisions = []
    for n in range(ROUNDS):
        free_a_place(n)
        decisions.append(_timed(direct.dispatch))

    offers = []
    for n in range(ROUNDS):
        agent = free_a_place(n)
        offers.append(_timed(offering.dispatch))
        (offered,) = direct.offers.offers_to(agent)
        lifecycle.accept_offer(agent, 3, offered, time.time())

    claims = []
    for n in range(ROUNDS):
        agent = free_a_place(n)
        agents.set_status(agent, Presence.AWAY)  # so the assigner's reads do not count here
        claims.append(_timed(lambda agent=agent: lifecycle.claim(agent, 3, [("PN", "general")])))
        agents.set_status(agent, Presence.AVAILABLE)
    pings = [_timed(client.ping) for _ in range(ROUNDS)]

    print(f"assigner: {WAITING:,}+ waiting in a push queue, {AGENTS} agents of capacity 3")
    print(f"  filling every agent (150 decisions in one dispatch): {fill:.0f} ms")
    print(_row("dispatch, nobody free (every desk event)", full))
    print(_row("a place frees -> assigned (one decision)", decisions, "target p99 <= 5 ms"))
    print(_row("a place frees -> offered (one decision)", offers, "target p99 <= 5 ms"))
    print(_row("baseline: pull claim (take next)", claims))
    print(_row("baseline: Redis round trip (PING)", pings))
    ratio = statistics.median(decisions) / statistics.median(claims)
    print(f"  a decision costs {ratio:.2f}x a pull claim (p50)")
    client.close()

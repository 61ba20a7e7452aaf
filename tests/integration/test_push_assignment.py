"""Push queues on a real Redis with a real worker process: conversations arrive through signed webhooks,
the worker's assigner gives them to agents the moment either side is ready (workers/assigner.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover import keys, kpis
from handover.agents import Agent, AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.conversation import ConversationState
from handover.message import CustomerRef
from handover.rules.holder import RulesHolder
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.integration.conftest import start_worker
from tests.support.processes import wait_for
from tests.support.webhook import PNID, RECENT, body, signed, text_message

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "config"
ASK = "quero falar com um atendente"


def rules_file(tmp_path: Path, top: dict[str, Any] | None = None, **queues: dict[str, Any]) -> Path:
    """The shipped rules with every queue open at all hours (the tests run at any time of day), the given
    queues' settings on top, and `top`'s top-level settings."""
    data = yaml.safe_load((CONFIG / "rules.yaml").read_text(encoding="utf-8")) | (top or {})
    for name, queue in data["queues"].items():
        queue.pop("business_hours", None)
        queue.update(queues.get(name, {}))
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for extra in CONFIG.glob("*.yaml"):  # the customer directory the rules point at
        if extra.name != "rules.yaml":
            (tmp_path / extra.name).write_text(extra.read_text(encoding="utf-8"), encoding="utf-8")
    return path


class Web:
    """The web app on its own event loop thread, for the whole test (as Meta's webhooks would find it)."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> TestClient:
            client = TestClient(TestServer(build_app(settings)))
            await client.start_server()
            return client

        self.client = self.run(start())

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        try:
            self.run(self.client.close())
        finally:  # the app's background tasks must not outlive the test, even if closing failed
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)


class Desk:
    """The agents' side, as the desk API would drive it, and the customers' side, as Meta would."""

    def __init__(self, redis_url: str, settings: Settings, rules: Path) -> None:
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.settings = settings
        self.store = Store(self.client)
        self.agents = AgentStore(self.client)
        self.assignments = Assignments(self.store, settings.handover_partitions, RulesHolder(rules))
        self.sent = 0
        self.web = Web(settings)

    def close(self) -> None:
        self.web.close()

    def agent(self, name: str, capacity: int = 3, **extra: list[str]) -> Agent:
        created, _ = self.agents.add(name, ["general"], capacity=capacity, role=Role.AGENT)
        if extra:
            self.agents.update(created.id, **extra)
        self.agents.set_status(created.id, Presence.AVAILABLE)
        return self.agents.get(created.id)

    def customers_ask(self, wa_ids: list[str], text: str = ASK, per_post: int = 10) -> None:
        """Signed webhooks, `per_post` messages a POST, through one web app kept for the whole test."""
        for start in range(0, len(wa_ids), per_post):
            messages = []
            for wa_id in wa_ids[start : start + per_post]:
                self.sent += 1
                messages.append(text_message(f"wamid.p{self.sent}", wa_id, text, RECENT + self.sent))
            raw, headers = signed(body(messages))
            assert self.web.run(self.web.client.post("/webhook", data=raw, headers=headers)).status == 200

    def conversation(self, wa_id: str) -> Any:
        return self.store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))

    def held(self, agent: Agent) -> set[str]:
        return self.client.smembers(keys.agent_load_key(agent.id))

    def resolve_all(self, agents: list[Agent]) -> None:
        for agent in agents:
            for conversation_id in self.held(agent):
                self.assignments.resolve(agent, conversation_id)


class Watch:
    """Samples Redis atomically every 50 ms: a conversation waits in `general` while an available agent of
    that queue has room. Records every stretch of that lasting over a second."""

    def __init__(self, client: redis.Redis, agents: list[Agent]) -> None:
        self.client = client
        self.agents = agents
        self.longest = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        since: float | None = None
        while not self._stop.wait(0.05):
            with self.client.pipeline(transaction=True) as pipe:
                pipe.zcard(keys.queue_key(PNID, "general"))
                for agent in self.agents:
                    pipe.hget(keys.agent_key(agent.id), "status")
                    pipe.scard(keys.agent_load_key(agent.id))
                    pipe.scard(keys.agent_offers_key(agent.id))
                replies = pipe.execute()
            self.samples += 1
            rows = [replies[1 + 3 * n : 4 + 3 * n] for n in range(len(self.agents))]
            room = any(
                status == "available" and int(held) + int(offered) < agent.capacity
                for agent, (status, held, offered) in zip(self.agents, rows, strict=True)
            )
            if replies[0] and room:
                since = since or time.monotonic()
                self.longest = max(self.longest, time.monotonic() - since)
            else:
                since = None


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph.start_in_thread()
    yield fake
    fake.stop()


@pytest.fixture
def desk_with_worker(redis_url, graph, tmp_path):  # type: ignore[no-untyped-def]
    """Makes (the desk, a `handover worker` process) over rules with the given queue settings; both are
    stopped after the test."""
    made: list[tuple[Desk, Any]] = []

    def make(top: dict[str, Any] | None = None, **queues: dict[str, Any]) -> tuple[Desk, Any]:
        rules = rules_file(tmp_path, top, **queues)
        settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", rules=rules)
        made.append((Desk(redis_url, settings, rules), worker))
        return made[-1]

    yield make
    for _, worker in made:
        worker.stop()
    for desk, _ in made:
        desk.close()


def test_a_thousand_conversations_in_bursts_are_spread_evenly_and_never_wait_beside_a_free_agent(
    desk_with_worker,
):
    desk, _ = desk_with_worker(
        general={"assignment": "push", "policy": "least_loaded", "offer_timeout_seconds": 0},
    )
    agents = [desk.agent(f"Agent {n:02}") for n in range(50)]
    bursts = [130] * 7 + [90]  # 1,000: each burst below the pool's 150 places, so least_loaded decides
    customers = iter(f"55119{n:08}" for n in range(sum(bursts)))
    with Watch(desk.client, agents) as watch:
        for size in bursts:
            wa_ids = [next(customers) for _ in range(size)]
            desk.customers_ask(wa_ids)

            def all_taken(wa_ids: list[str] = wa_ids) -> bool:
                found = [desk.conversation(w) for w in wa_ids]
                return all(c is not None and c.state == ConversationState.ASSIGNED for c in found)

            wait_for(all_taken, 60, f"a burst of {size} to be assigned")
            desk.resolve_all(agents)
    assert watch.samples > 20
    assert watch.longest <= 1.0, f"a conversation waited {watch.longest:.2f}s beside a free agent"
    figures = kpis.last_hours(desk.client, 2, time.time())
    totals = [figures.agents[a.id].assigned if a.id in figures.agents else 0 for a in agents]
    assert sum(totals) == 1000
    assert max(totals) - min(totals) <= 1, sorted(totals)


def test_an_agent_who_frees_capacity_gets_the_oldest_waiting_conversation(desk_with_worker):
    desk, _ = desk_with_worker(general={"assignment": "push", "offer_timeout_seconds": 0})
    ana = desk.agent("Ana", capacity=1)
    desk.customers_ask(["5511900000001"])
    first = wait_for(lambda: desk.held(ana), 30, "Ana to get the first conversation")
    for waiting, wa_id in enumerate(("5511900000002", "5511900000003", "5511900000004"), start=1):
        # one by one, each in the queue before the next writes: 2 waits longest (customers in different
        # partitions are processed in parallel, so only this makes the order of their waits certain)
        desk.customers_ask([wa_id])
        wait_for(
            lambda n=waiting: desk.client.zcard(keys.queue_key(PNID, "general")) == n,
            30,
            f"{waiting} to wait",
        )

    desk.assignments.resolve(ana, first.pop())

    oldest = desk.conversation("5511900000002")
    given = wait_for(lambda: desk.held(ana), 30, "Ana to get a waiting conversation")
    assert given == {oldest.id}, "not the one waiting longest"
    assert desk.conversation("5511900000003").state == ConversationState.QUEUED


def test_an_offer_nobody_answers_goes_to_the_next_agent(desk_with_worker):
    desk, _ = desk_with_worker(
        general={"assignment": "push", "policy": "round_robin", "offer_timeout_seconds": 1},
    )
    ana, bia = desk.agent("Ana"), desk.agent("Bia")
    desk.customers_ask(["5511900000001"])
    first = wait_for(lambda: desk.conversation("5511900000001") or None, 30, "the conversation")
    offered = wait_for(lambda: desk.store.conversation(first.id).offer_to, 30, "an offer")
    other = bia if offered == ana.id else ana

    moved = wait_for(
        lambda: desk.store.conversation(first.id).offer_to == other.id, 30, "the offer to move on"
    )
    assert moved
    desk.assignments.accept_offer(desk.agents.get(other.id), first.id)
    taken = desk.store.conversation(first.id)
    assert (taken.state, taken.agent_id) == (ConversationState.ASSIGNED, other.id)
    events = [f for _, f in desk.client.xrange(keys.DESK_EVENTS) if f["type"] == "offer_withdrawn"]
    assert [(e["agent_id"], json.loads(e["data"])) for e in events] == [(offered, {"why": "timeout"})]


def test_the_customers_language_and_their_previous_agent_are_matched(desk_with_worker):
    desk, _ = desk_with_worker(
        top={"reopen_within_seconds": 1},  # a customer who writes again later starts a new conversation
        general={"assignment": "push", "policy": "least_loaded", "offer_timeout_seconds": 0},
    )
    pt = desk.agent("Paula", languages=["pt"])
    en = desk.agent("Ellen", languages=["en"])
    desk.customers_ask(["5511900000001"], "I want to talk to a person")
    english = wait_for(lambda: desk.held(en), 30, "Ellen to get the English speaker")
    assert not desk.held(pt)

    desk.assignments.resolve(en, english.pop())
    desk.agents.set_status(en.id, Presence.AWAY)
    desk.customers_ask(["5511900000002"], ASK)  # Portuguese: Paula
    portuguese = wait_for(lambda: desk.held(pt), 30, "Paula to get the Portuguese speaker")
    desk.assignments.resolve(pt, portuguese.pop())
    desk.agents.set_status(en.id, Presence.AVAILABLE)
    time.sleep(1.5)  # past the reopen window

    # the first customer again, in Portuguese this time: the agent who served them before comes first,
    # ahead of the one who speaks the language (both free, one conversation each today)
    desk.customers_ask(["5511900000001"], "quero falar com um atendente de novo")
    again = wait_for(
        lambda: (c := desk.conversation("5511900000001")) and c.state == "assigned" and c, 30, "assigned"
    )
    assert again.agent_id == en.id and again.previous_agent == en.id


def test_more_capacity_or_coming_back_brings_the_waiting_conversation_at_once(desk_with_worker):
    desk, _ = desk_with_worker(general={"assignment": "push", "offer_timeout_seconds": 0})
    ana = desk.agent("Ana", capacity=1)
    desk.customers_ask(["5511900000001"])
    wait_for(lambda: desk.held(ana), 30, "Ana to get the first conversation")
    desk.customers_ask(["5511900000002"])
    wait_for(lambda: desk.client.zcard(keys.queue_key(PNID, "general")) == 1, 30, "the second to wait")

    desk.agents.update(ana.id, capacity=2)  # as `handover agents set ID --capacity 2` does
    wait_for(lambda: len(desk.held(ana)) == 2, 30, "Ana to get the second once she can hold two")

    desk.agents.set_status(ana.id, Presence.AWAY)
    desk.agents.update(ana.id, capacity=3)
    desk.customers_ask(["5511900000003"])
    wait_for(lambda: desk.client.zcard(keys.queue_key(PNID, "general")) == 1, 30, "the third to wait")
    time.sleep(0.5)
    assert len(desk.held(ana)) == 2  # away: nothing pushed to her

    desk.agents.set_status(ana.id, Presence.AVAILABLE)
    wait_for(lambda: len(desk.held(ana)) == 3, 30, "Ana to get the third when she is back")


def test_when_the_leading_worker_dies_another_one_assigns(desk_with_worker, redis_url, graph, tmp_path):
    desk, first = desk_with_worker(general={"assignment": "push", "offer_timeout_seconds": 0})
    _, second = start_worker(redis_url, graph, tmp_path / "second.log", rules=tmp_path / "rules.yaml")
    try:
        ana = desk.agent("Ana")
        desk.customers_ask(["5511900000001"])
        wait_for(lambda: desk.held(ana), 30, "Ana to get the first conversation")
        leader = desk.client.get(keys.ASSIGNER_LEASE)
        assert leader
        leads_first = wait_for(
            lambda: _said(tmp_path / "worker.log", tmp_path / "second.log", leader), 10, "a log"
        )
        (first if leads_first == "first" else second).kill()

        desk.customers_ask(["5511900000002"])
        wait_for(lambda: len(desk.held(ana)) == 2, 30, "the other worker to take over and assign")
        assert desk.client.get(keys.ASSIGNER_LEASE) not in (None, leader)
    finally:
        second.stop()


def _said(first: Path, second: Path, token: str) -> str | None:
    """Which worker's log says it took the lease `token` (it logs `assigner_leads` with it)."""
    for name, log in (("first", first), ("second", second)):
        if log.exists() and token in log.read_text(encoding="utf-8"):
            return name
    return None


def test_a_queue_that_starts_pushing_pushes_what_already_waits_in_it(desk_with_worker, tmp_path):
    desk, _ = desk_with_worker()  # every queue pulls
    ana = desk.agent("Ana")
    desk.customers_ask(["5511900000001"])
    wait_for(lambda: desk.client.zcard(keys.queue_key(PNID, "general")) == 1, 30, "the customer to wait")
    time.sleep(0.5)
    assert not desk.held(ana)  # a pull queue: it waits for Ana to take it

    rules_file(tmp_path, general={"assignment": "push", "offer_timeout_seconds": 0})  # ops edit the file
    wait_for(lambda: desk.held(ana), 30, "the worker to reload the rules and push it to Ana")

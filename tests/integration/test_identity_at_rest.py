"""No CPF or birth date at rest: after every way the bot's identity questions end, every Redis key (every
type, read as values and as DUMP) is searched for them, on a real redis-server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
import yaml

from handover import keys, upgrades
from handover.abandon import watch_windows
from handover.assignment.queues import RedisQueueView
from handover.clock import FixedClock
from handover.identity import Directory, FileDirectory, VerifierUnavailable
from handover.rules.bot import RuleBot
from handover.rules.loader import LoadedRules, parse_rules
from tests.support.at_rest import BIRTH_DATE, traces
from tests.support.at_rest import CPF as CPF_TRACE
from tests.support.processes import wait_for
from tests.support.world import CONFIG, RULES, T0, World

pytestmark = pytest.mark.integration

ANA = "5511987654321"
CPF, BIRTH = "529.982.247-25", "14/03/1988"
WRONG_BIRTH_DATE = re.compile(rb"01\D{0,2}01\D{0,2}1990|1990\D{0,2}01\D{0,2}01")


@pytest.fixture
async def world(redis_url):
    world = World(redis_url=redis_url)
    yield world
    await world.close()


def pending(world: World, wa_id: str = ANA) -> dict[str, list[str]]:
    """What the scan may find while the bot asks for the birth date: the typed CPF in its own key."""
    return {keys.pending_identity_key(world.current(wa_id).id): ["value", "dump"]}


def inbound(world: World, wa_id: str = ANA) -> list[str | None]:
    return [e.text for e in world.store.transcript(world.current(wa_id).id) if e.direction == "in"]


def last_said(world: World, wa_id: str = ANA) -> str | None:
    return [e.text for e in world.store.transcript(world.current(wa_id).id) if e.direction == "out"][-1]


async def test_the_typed_cpf_waits_in_its_own_expiring_key_never_in_the_conversation(world):
    await world.says(ANA, "cadê meu pedido?")
    conversation = await world.says(ANA, CPF)
    assert conversation.bot.awaiting is not None and conversation.bot.awaiting.field == "birth_date"
    assert traces(world.sync) == pending(world)
    assert 0 < world.sync.ttl(keys.pending_identity_key(conversation.id)) <= keys.PENDING_IDENTITY_TTL_SECONDS
    assert "pending_identity" not in world.sync.hget(keys.conversation_key(conversation.id), "bot")


async def test_asking_for_a_person_after_the_cpf_forgets_it_and_agents_never_see_it(world):
    await world.says(ANA, "cadê meu pedido?")
    await world.says(ANA, CPF)
    conversation = await world.says(ANA, "quero falar com um atendente")
    assert conversation.state == "queued"
    assert traces(world.sync) == {}
    agent = world.available_agent("Bia", ["general"])
    assert world.assignments.claim_next(agent) is not None
    world.assignments.release_to_bot(agent, conversation.id)
    await world.says(ANA, "quero falar com um atendente")
    assert world.assignments.claim_next(agent) is not None
    world.assignments.resolve(agent, conversation.id)
    assert traces(world.sync) == {}


async def test_silence_after_the_cpf_lets_it_expire_and_the_questions_start_again(world, monkeypatch):
    monkeypatch.setattr(keys, "PENDING_IDENTITY_TTL_SECONDS", 1)
    await world.says(ANA, "cadê meu pedido?")
    await world.says(ANA, CPF)
    assert traces(world.sync) == pending(world)
    wait_for(lambda: not traces(world.sync), 10, "the typed CPF to expire")
    conversation = await world.says(ANA, BIRTH)  # too late: the CPF it goes with is gone
    assert conversation.bot.awaiting is not None and conversation.bot.awaiting.field == "cpf"
    assert last_said(world) == "Para sua segurança, qual é o seu CPF?"
    assert inbound(world)[-1] == "[birth_date]"
    assert traces(world.sync) == {}


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        (
            "meu cpf é 529.982.247-25, se não resolver vou no procon",
            "meu cpf é #, se não resolver vou no procon",
        ),
        ("52998224725 quero falar com um atendente", "# quero falar com um atendente"),
    ],
)
async def test_an_answer_that_also_escalates_is_kept_masked(world, said, kept):
    await world.says(ANA, "cadê meu pedido?")
    conversation = await world.says(ANA, said)
    assert conversation.state == "queued"
    assert inbound(world) == ["cadê meu pedido?", kept]
    packet = world.store.packet(conversation.id)
    assert packet is not None and packet.escalation.trigger_message.text == kept
    assert traces(world.sync) == {}


async def test_a_birth_date_with_a_keyword_is_kept_masked(world):
    await world.says(ANA, "cadê meu pedido?")
    await world.says(ANA, CPF)
    conversation = await world.says(ANA, "nasci em 14/03/1988 e quero cancelar tudo")
    assert (conversation.state, conversation.queue) == ("queued", "retention")
    assert inbound(world)[-1] == "nasci em # e quero cancelar tudo"
    assert traces(world.sync) == {}


async def test_edits_of_identity_answers_are_redacted_like_them(world):
    await world.says(ANA, "cadê meu pedido?")  # wamid.1
    await world.says(ANA, CPF)  # wamid.2
    await world.edits(ANA, "wamid.2", "52998224725")  # wamid.3
    assert inbound(world)[-1] == "[cpf]"
    assert traces(world.sync) == pending(world)
    await world.says(ANA, BIRTH)  # wamid.4: verified
    conversation = await world.says(ANA, "4455")  # handed over with the order number
    agent = world.available_agent("Bia", ["general"])
    assert world.assignments.claim_next(agent) is not None
    await world.edits(ANA, "wamid.4", "14.03.1988")  # with the agent now
    assert world.current(ANA).id == conversation.id
    assert inbound(world)[-1] == "[birth_date]"
    assert traces(world.sync) == {}


async def test_an_edit_while_the_cpf_is_asked_for_is_kept_masked(world):
    await world.says(ANA, "cadê meu pedido?")  # wamid.1; the bot asks for the CPF
    await world.edits(ANA, "wamid.1", "cadê meu pedido? cpf 529 982 247 25")
    assert inbound(world)[-1] == "cadê meu pedido? cpf #"
    assert traces(world.sync) == {}
    await world.says(ANA, "obrigado, quero falar com um atendente")  # the masked message's own edit, later
    await world.edits(ANA, "wamid.2", "cpf 52998224725")
    assert inbound(world)[-1] == "cpf #"
    assert traces(world.sync) == {}


async def test_failing_the_questions_keeps_nothing(world):
    await world.says(ANA, "cadê meu pedido?")
    for _ in range(3):
        await world.says(ANA, CPF)
        await world.says(ANA, "01/01/1990")  # not Ana's
    conversation = world.current(ANA)
    assert conversation.state == "queued" and world.store.packet(conversation.id) is not None
    assert traces(world.sync, CPF_TRACE, BIRTH_DATE, WRONG_BIRTH_DATE) == {}


class _Unreachable:
    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        raise VerifierUnavailable("connection refused")


def _bot(world: World, rules: Callable[..., LoadedRules], directory: Directory) -> None:
    world.processor.bot = RuleBot(rules, RedisQueueView(world.sync), directory, clock=world.clock)


async def test_an_unreachable_verifier_keeps_nothing(world):
    _bot(world, lambda *_: RULES, _Unreachable())
    await world.says(ANA, "cadê meu pedido?")
    await world.says(ANA, CPF)
    conversation = await world.says(ANA, BIRTH)
    assert conversation.state == "queued"
    assert traces(world.sync) == {}


def _changed(**change: object) -> LoadedRules:
    data = yaml.safe_load((CONFIG / "rules.yaml").read_text())
    if "drop_intent" in change:
        data["intents"] = [i for i in data["intents"] if i["name"] != change["drop_intent"]]
        for trigger in data["escalation"]:
            named = trigger["when"].get("intents")
            if named and change["drop_intent"] in named:
                named.remove(change["drop_intent"])
    if "fields" in change:
        data["identity"]["fields"] = change["fields"]
        data["identity"]["ask"] = {f: data["identity"]["ask"][f] for f in change["fields"]}
    data["identity"]["directory"]["file"] = str(CONFIG / "customers.yaml")
    return parse_rules(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), str(Path("rules.yaml")))


@pytest.mark.parametrize(
    "change", [{"drop_intent": "order_status"}, {"fields": ["cpf"]}], ids=["intent gone", "field gone"]
)
async def test_a_rules_change_under_the_questions_forgets_what_was_typed(world, change):
    rules = [RULES]
    _bot(world, lambda *_: rules[0], FileDirectory(CONFIG / "customers.yaml"))
    await world.says(ANA, "cadê meu pedido?")
    await world.says(ANA, CPF)
    assert traces(world.sync) == pending(world)
    rules[0] = _changed(**change)
    conversation = await world.says(ANA, BIRTH)
    assert conversation.bot.awaiting is None
    assert inbound(world)[-1] == "[birth_date]"
    assert traces(world.sync) == {}


async def test_abandoned_while_waiting_keeps_nothing(world):
    await world.says(ANA, "cadê meu pedido?")
    await world.says(ANA, CPF)
    conversation = await world.says(ANA, "vou no procon")
    assert watch_windows(world.store, RULES, clock=FixedClock(T0 + 25 * 3600)) == (0, 1)
    assert world.store.conversation(conversation.id).state == "abandoned"
    assert traces(world.sync) == {}


def test_the_scan_finds_what_it_looks_for(redis_url):
    """The scan itself: a CPF in a stream entry already deleted but sharing its node with a live one is at
    rest in the DUMP (what RDB writes), though no read shows it."""
    client = redis.Redis.from_url(redis_url)
    client.xadd("probe", {"d": "cpf 529.982.247-25"}, id="1-1")
    client.xadd("probe", {"d": "other"}, id="1-2")
    client.xdel("probe", "1-1")
    client.sadd("probe:set", "nasci 1988-03-14")
    client.set("probe:str", str(time.time()))
    assert traces(client) == {"probe": ["dump"], "probe:set": ["value", "dump"]}
    client.xdel("probe", "1-2")  # the node's last entry: the node goes, and the CPF with it
    assert traces(client) == {"probe:set": ["value", "dump"]}
    client.close()


def test_an_upgrade_forgets_the_identity_an_earlier_version_kept_in_the_conversation(redis_url):
    """Before hv:identity:<id>, the CPF typed so far sat in the conversation hash with no end: the first
    worker after the upgrade drops it, once, and keeps everything else."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    older = {"language": "pt", "turns": 3, "pending_identity": {"cpf": "52998224725"}}
    client.hset(keys.conversation_key("old1"), mapping={"id": "old1", "bot": json.dumps(older)})
    client.hset(keys.conversation_key("old2"), mapping={"id": "old2", "bot": json.dumps({"turns": 1})})
    assert traces(client)  # as an earlier version left it

    assert upgrades.forget_typed_identity(client) == 1
    assert traces(client) == {}
    assert json.loads(client.hget(keys.conversation_key("old1"), "bot")) == {"language": "pt", "turns": 3}
    client.hset(keys.conversation_key("old3"), "bot", json.dumps(older))
    assert upgrades.forget_typed_identity(client) == 0  # once per Redis: new versions never write it

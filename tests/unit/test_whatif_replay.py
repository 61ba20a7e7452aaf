"""What-if and export-golden over conversations the worker's own code stored (fakeredis): the index,
the replay's fidelity, what counts as a change, that nothing is written, and files `rules test` passes."""

from __future__ import annotations

import re
from pathlib import Path

import fakeredis
import pytest

from handover import keys, store
from handover.rules.loader import LoadedRules, load_rules, parse_rules
from handover.rules.tools.export import UnknownConversation, export_golden
from handover.rules.tools.golden import run_golden
from handover.rules.tools.stored import read_conversations
from handover.rules.tools.whatif import WITH_A_PERSON, Outcome, Replayer, whatif
from handover.store import Store
from tests.support.conversations import Say, conversation_of, everything, store_conversations

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules.yaml"
AT = 1764504000  # Sunday 30 Nov 2025, 09:00 in São Paulo: the store is closed, as it is for many customers
NEW_PHRASE = ('"quero gente", ', '"quero gente", "falar com o dono", ')


@pytest.fixture
def clients():
    server = fakeredis.FakeServer()
    return (
        fakeredis.FakeRedis(server=server, decode_responses=True),
        fakeredis.FakeAsyncRedis(server=server, decode_responses=True),
    )


@pytest.fixture(scope="module")
def current() -> LoadedRules:
    return load_rules(RULES)


@pytest.fixture(scope="module")
def candidate() -> LoadedRules:
    text = RULES.read_text(encoding="utf-8")
    assert NEW_PHRASE[0] in text
    return parse_rules(text.replace(*NEW_PHRASE, 1), str(RULES.parent / "candidate.yaml"))


def script(*turns: Say, start: int = AT) -> list[tuple[int, Say]]:
    return [(start + 30 * n, turn) for n, turn in enumerate(turns)]


SCRIPTS = {
    "5511900000001": script(Say("oi"), Say("Meu pedido", button="menu_pedido")),
    "5511900000002": script(Say("quero falar com o dono da loja"), Say("oi")),  # changes, then a person
    "5511900000003": script(Say("troca"), Say("obrigado"), Say("ok")),
    "5511900000004": script(Say("quero cancelar tudo"), Say("falar com o dono")),  # escalated before it
    "5511900000005": script(Say("blablabla"), Say(media="image"), Say("xyzzy"), Say("qwerty")),
    "5511900000006": script(Say("o dono 12345678900 ana@x.com falar com o dono"), Say("oi")),
}

# Identity answers are stored as "[cpf]": the replay takes them as the bot's decisions say they went.
IDENTITY = {
    "5511900000101": script(Say("cadê meu pedido"), Say("529.982.247-25"), Say("14/03/1988"), Say("4455")),
    "5511900000102": script(
        Say("meu pedido"), Say("111.444.777-35"), Say("01/01/2000"), Say("abc"), Say("111.444.777-35")
    ),
    "5511900000103": script(Say("Meu pedido", button="menu_pedido"), Say("123"), Say("1234")),
}


def test_every_started_conversation_is_indexed_newest_kept(clients, current, monkeypatch) -> None:
    client, aclient = clients
    monkeypatch.setattr(store, "CONVERSATIONS_KEPT", 3)
    for n, wa_id in enumerate(SCRIPTS):
        store_conversations(client, aclient, current, {wa_id: SCRIPTS[wa_id]})
        assert client.zcard(keys.CONVERSATIONS) == min(n + 1, 3)
    newest = [conversation_of(client, w) for w in list(SCRIPTS)[-3:]]
    assert Store(client).newest_conversations(3) == newest
    assert Store(client).newest_conversations(2) == newest[1:]
    assert Store(client).newest_conversations(0) == []


def test_replaying_the_rules_in_force_makes_the_decisions_the_worker_made(clients, current) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, SCRIPTS | IDENTITY)
    ids = Store(client).newest_conversations(100)
    stored = list(read_conversations(client, ids))
    assert len(stored) == len(SCRIPTS) + len(IDENTITY)
    replayer = Replayer(current)
    for conversation in stored:
        made = [(d.rule, d.action, d.how) for d in reversed(Store(client).decisions(conversation.id))]
        replayed = [(o.rule, o.action) for o in replayer.replay(conversation) if o.rule is not None]
        assert replayed == [m[:2] for m in made], conversation.id
    lived = {
        w: [(d.rule, d.how) for d in reversed(Store(client).decisions(conversation_of(client, w)))]
        for w in IDENTITY
    }
    assert lived["5511900000101"][1:3] == [
        ("identity.cpf", "accepted"),
        ("intents.order_status.collect.order_number", "identity verified"),
    ]
    assert ("identity.retry", "no match") in lived["5511900000102"]
    assert ("identity.cpf", "invalid format") in lived["5511900000102"]


def test_only_the_turns_the_candidate_decides_otherwise_are_changes(clients, current, candidate) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, SCRIPTS)
    report = whatif(client, current, candidate, last=100).as_dict()
    dono, masked = conversation_of(client, "5511900000002"), conversation_of(client, "5511900000006")
    assert report["conversations"] == 6
    assert report["turns"] == sum(len(s) for s in SCRIPTS.values())
    # 002: its first turn now hands over, so its second is with a person; 006 likewise; 004 was already
    # with a person when it said the phrase: no change
    assert report["changed"] == 4
    assert sorted((c["from"], c["to"], c["count"]) for c in report["changes"]) == [
        ("intents.greeting", WITH_A_PERSON, 2),
        ("messages.unrecognized", "intents.human_request", 2),
    ]
    # one example per conversation (its first changed turn), with the text masked
    assert sorted(
        (e["conversation_id"], e["text"], e["from"], e["to"]) for e in report["examples"]
    ) == sorted(
        [
            (dono, "quero falar com o dono da loja", "messages.unrecognized", "intents.human_request"),
            (masked, "o dono # <email> falar com o dono", "messages.unrecognized", "intents.human_request"),
        ]
    )
    # handed over now: 004 (cancelar) and 005 (two misses in a row; the image in between does not count)
    assert report["escalation_rate"] == {"current": round(2 / 6, 4), "candidate": round(4 / 6, 4)}
    assert report["containment"] == {"current": round(4 / 6, 4), "candidate": round(2 / 6, 4)}
    assert set(report) == {
        "conversations",
        "turns",
        "changed",
        "escalation_rate",
        "containment",
        "changes",
        "examples",
        "seconds",
    }


def test_the_same_rules_change_nothing_and_nothing_is_written(clients, current) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, SCRIPTS)
    before = everything(client)
    report = whatif(client, current, current, last=100).as_dict()
    assert report["changed"] == 0 and report["changes"] == [] and report["examples"] == []
    assert report["escalation_rate"]["current"] == report["escalation_rate"]["candidate"]
    assert everything(client) == before


def test_last_takes_the_newest_conversations(clients, current, candidate) -> None:
    client, aclient = clients
    for wa_id, turns in SCRIPTS.items():
        store_conversations(client, aclient, current, {wa_id: turns})
    report = whatif(client, current, candidate, last=1).as_dict()
    assert report["conversations"] == 1
    assert [e["conversation_id"] for e in report["examples"]] == [conversation_of(client, "5511900000006")]


def test_an_exported_conversation_passes_rules_test_against_the_rules_in_force(
    clients, current, tmp_path
) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, SCRIPTS)
    ids = [conversation_of(client, w) for w in SCRIPTS]
    golden = tmp_path / "exported.golden.yaml"
    golden.write_text(export_golden(client, current, ids, str(RULES)), encoding="utf-8")
    checked, failures = run_golden(golden)
    assert failures == []
    assert checked == sum(len(s) for s in SCRIPTS.values())
    text = golden.read_text(encoding="utf-8")
    assert "12345678900" not in text and "ana@x.com" not in text and "o dono # <email>" in text
    assert "button: menu_pedido" in text and "media: image" in text
    assert not re.search(r"5511900000\d\d\d", text)  # the customers' numbers stay in Redis


def test_an_exported_file_fails_once_the_rules_decide_otherwise(
    clients, current, candidate, tmp_path
) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, SCRIPTS)
    golden = tmp_path / "exported.golden.yaml"
    ids = [conversation_of(client, "5511900000002")]
    golden.write_text(export_golden(client, current, ids, str(RULES)), encoding="utf-8")
    tmp_rules = tmp_path / "candidate.yaml"
    tmp_rules.write_text(RULES.read_text(encoding="utf-8").replace(*NEW_PHRASE, 1), encoding="utf-8")
    (tmp_path / "customers.yaml").write_text((RULES.parent / "customers.yaml").read_text(encoding="utf-8"))
    _, failures = run_golden(golden, tmp_rules)
    assert len(failures) == 1 and "messages.unrecognized" in failures[0]


def test_an_unknown_conversation_is_named(clients, current) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, SCRIPTS)
    with pytest.raises(UnknownConversation, match="nope"):
        export_golden(client, current, [conversation_of(client, "5511900000001"), "nope"], str(RULES))


# Waiting after the handover, each turn in a batch of its own (as a customer typing after the bot's answer):
# the worker hears leaving the queue and asking how long, and the replay does too.
WAITING = {
    "5511900000301": script(
        Say("quero falar com um atendente"), Say("falta muito?"), Say("obrigada"), Say("vai demorar?")
    ),
    "5511900000302": script(Say("atendente"), Say("deixa pra lá, já resolvi")),
}
NO_ASKING = ('"falta muito", ', "")  # the candidate no longer hears "falta muito" while waiting


def test_a_waiting_customer_is_replayed_as_the_worker_heard_them(clients, current) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, WAITING, batch_size=1)
    stored = {c.customer.wa_id: c for c in read_conversations(client, Store(client).newest_conversations(9))}
    replayer = Replayer(current)
    for wa_id, conversation in stored.items():
        made = [(d.rule, d.action) for d in reversed(Store(client).decisions(conversation.id))]
        replayed = [(o.rule, o.action) for o in replayer.replay(conversation) if o.rule is not None]
        assert replayed == made, wa_id
    assert [o.label(o) for o in replayer.replay(stored["5511900000301"])] == [
        "intents.human_request (escalate)",
        "intents.queue_status (reply)",
        WITH_A_PERSON,  # the thanks waits for the agent
        "intents.queue_status (reply)",
    ]
    assert replayer.replay(stored["5511900000302"])[1] == Outcome("intents.leave_queue", "leave")


def test_a_candidate_that_no_longer_hears_a_waiting_question_changes_that_turn(
    clients, current, tmp_path
) -> None:
    client, aclient = clients
    store_conversations(client, aclient, current, WAITING, batch_size=1)
    text = RULES.read_text(encoding="utf-8")
    assert NO_ASKING[0] in text
    candidate = parse_rules(text.replace(*NO_ASKING, 1), str(RULES.parent / "candidate.yaml"))
    report = whatif(client, current, candidate, last=100).as_dict()
    assert report["changed"] == 1
    assert report["changes"] == [{"from": "intents.queue_status", "to": WITH_A_PERSON, "count": 1}]
    assert report["escalation_rate"] == {"current": 1.0, "candidate": 1.0}

    # exported, the waiting turns keep what the bot said: rules test passes under the rules in force
    golden = tmp_path / "exported.golden.yaml"
    ids = [conversation_of(client, "5511900000301")]
    golden.write_text(export_golden(client, current, ids, str(RULES)), encoding="utf-8")
    assert run_golden(golden) == (4, [])
    assert golden.read_text(encoding="utf-8").count("rule: intents.queue_status") == 2

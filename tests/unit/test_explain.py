"""`handover rules explain`: which rule wins for a sentence, with what it matched and what came next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from handover.clock import FixedClock
from handover.rules.loader import load_rules
from handover.rules.tools.explain import BadState, explain, parse_state

RULES = load_rules(Path(__file__).resolve().parents[2] / "config" / "rules.yaml")
AT = 1_800_000_000.0  # a Friday afternoon in São Paulo: queues open


def test_an_intent_names_its_phrases_and_the_runner_up() -> None:
    e = explain(RULES, "quero trocar o produto do meu pedido", clock=FixedClock(AT))
    assert (e.rule, e.action, e.language) == ("intents.returns", "reply", "pt")
    assert set(e.matched) == {"trocar", "troca"}  # the word, and the phrase it meets by its stem
    assert e.runner_up is not None and e.runner_up.rule == "intents.order_status"
    assert e.score is not None and e.score >= e.runner_up.score


def test_a_trigger_beats_the_topic_and_names_its_keyword() -> None:
    e = explain(RULES, "meu pedido atrasou, vou no procon", clock=FixedClock(AT))
    assert (e.rule, e.action, e.matched) == ("escalation.legal_or_churn", "escalate", ["procon"])
    assert e.escalation is not None and (e.escalation.queue, e.escalation.priority) == ("retention", "urgent")
    assert e.runner_up is not None and e.runner_up.rule == "intents.order_status"


def test_a_typo_and_an_unknown_sentence() -> None:
    assert (
        explain(RULES, "quero falar com um atendemte", clock=FixedClock(AT)).rule == "intents.human_request"
    )
    e = explain(RULES, "xyzzy plugh", clock=FixedClock(AT))
    assert (e.rule, e.action, e.matched, e.runner_up) == ("messages.unrecognized", "unrecognized", [], None)


def test_state_the_bot_waits_for_an_answer_or_a_person_has_it() -> None:
    state, memory = parse_state(
        '{"awaiting": {"kind": "identity", "intent": "order_status", "field": "cpf"}}'
    )
    e = explain(RULES, "529.982.247-25", state, memory, clock=FixedClock(AT))
    assert (e.rule, e.how) == ("identity.cpf", "accepted")
    state, memory = parse_state("assigned")
    assert explain(RULES, "oi", state, memory, clock=FixedClock(AT)).action == "silent"
    with pytest.raises(BadState, match="--state must be one of bot, queued"):
        parse_state("{nope")


def test_a_waiting_customer_is_heard_only_for_leaving_or_asking_how_long(
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, memory = parse_state("queued")
    e = explain(RULES, "deixa pra lá, já resolvi, obrigada", state, memory, clock=FixedClock(AT))
    assert (e.rule, e.action, e.matched) == ("intents.leave_queue", "leave", ["deixa pra lá", "já resolvi"])
    assert e.replies == ["Tudo bem, Cliente, saí da fila. Se precisar, é só chamar de novo."]
    e = explain(RULES, "falta muito?", state, memory, clock=FixedClock(AT))
    assert (e.rule, e.action) == ("intents.queue_status", "reply")
    assert e.replies == ["Atualizando: você agora é o 1º da fila (espera estimada: 1 min)."]
    # an escalation keyword is not heard while waiting: it leaves instead
    assert (
        explain(RULES, "cancela o atendimento", state, memory, clock=FixedClock(AT)).rule
        == "intents.leave_queue"
    )
    e = explain(RULES, "obrigada", state, memory, clock=FixedClock(AT))
    assert (e.rule, e.action, e.replies) == ("with_a_person", "silent", [])
    assert "only leave_queue and queue_status" in (e.how or "")
    # with the bot, the same sentences only reply
    e = explain(RULES, "deixa pra lá, já resolvi, obrigada", clock=FixedClock(AT))
    assert (e.rule, e.action, e.replies) == (
        "intents.leave_queue",
        "reply",
        ["Que bom! Se precisar, é só chamar."],
    )
    assert explain(RULES, "cancela o atendimento", clock=FixedClock(AT)).rule == "escalation.legal_or_churn"
    assert main(["rules", "explain", "deixa pra lá", "--state", "queued"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("intents.leave_queue -> leave")


def test_the_command_prints_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "explain", "quero falar com uma pessoa", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("rule", "action", "matched", "runner_up", "language")} == {
        "rule": "intents.human_request",
        "action": "escalate",
        "matched": ["pessoa"],
        "runner_up": None,
        "language": "pt",
    }
    assert main(["rules", "explain", "vou no procon"]) == 0
    assert capsys.readouterr().out.splitlines()[:1] == [
        "escalation.legal_or_churn -> escalate (retention, urgent, churn_risk)"
    ]
    assert main(["rules", "explain", "oi", "--state", "{nope"]) == 2
    assert "--state must be one of" in capsys.readouterr().err

"""The rule-based bot verifying identity on the shipped rules, with no Redis: asked once, retried, failed, and
what it keeps of what was typed (never past the questions; masked when a message does something else)."""

from __future__ import annotations

import pytest
import yaml

from handover.conversation import ConversationState
from handover.rules.loader import parse_rules
from tests.unit.test_rule_bot import ANA_BIRTH, ANA_CPF, CONFIG, Customer


def test_identity_is_not_asked_twice_in_a_conversation():
    ana = Customer()
    for text in ("meu pedido", ANA_CPF, ANA_BIRTH, "4455"):
        ana.says(text)
    ana.conversation.state = "bot"  # an agent hands it back to the bot
    turn = ana.says("preciso da segunda via do boleto")
    assert (turn.escalation.queue, turn.escalation.reason) == ("billing", "invoice_request")
    assert "CPF" not in " ".join(ana.reads(turn))


def test_wrong_identity_three_times_escalates_unverified():
    ana = Customer()
    ana.says("meu pedido")
    for _ in range(2):
        ana.says("111.444.777-35")
        retry = ana.says("01/01/1990")
        assert ana.reads(retry) == [
            "Os dados não conferem. Vamos tentar de novo.",
            "Para sua segurança, qual é o seu CPF?",
        ]
    ana.says("111.444.777-35")
    failed = ana.says("01/01/1990")
    assert (failed.escalation.reason, failed.escalation.rule) == ("identity_not_verified", "identity.failed")
    assert ana.conversation.identity is None


def test_escalating_while_the_birth_date_is_asked_for_forgets_the_cpf():
    ana = Customer()
    ana.says("meu pedido")
    ana.says(ANA_CPF)
    assert ana.conversation.bot.pending_identity == {"cpf": "52998224725"}
    assert "52998224725" not in ana.conversation.model_dump_json()  # never with the conversation
    turn = ana.says("quero falar com um atendente")
    assert turn.escalation is not None and turn.redact is None  # not taken as the answer
    assert ana.conversation.bot.pending_identity == {} and ana.conversation.bot.awaiting is None


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("vou reclamar no PROCON, cpf 529.982.247-25", "vou reclamar no PROCON, cpf #"),
        ("quero falar com um atendente: 52998224725", "quero falar com um atendente: #"),
        ("vou no procon", "vou no procon"),  # nothing to hide
    ],
)
def test_a_message_that_escalates_while_the_cpf_is_asked_for_is_kept_masked(said, kept):
    ana = Customer()
    ana.says("meu pedido")
    assert ana.says(said).escalation is not None
    assert ana.entries[-1].text == kept
    assert ana.entries[-1].content == ({"masked": "cpf"} if kept != said else {"wa_type": "text"})


def test_identity_values_are_kept_only_while_the_bot_waits_for_the_rest():
    ana = Customer()
    ana.says("meu pedido")
    ana.says(ANA_CPF)
    assert ana.conversation.identity_typed == {"cpf": "52998224725"}
    ana.conversation.state = ConversationState.QUEUED  # however it left the bot
    assert ana.conversation.identity_typed == {}


def test_a_birth_date_whose_cpf_expired_starts_the_questions_again():
    ana = Customer()
    ana.says("meu pedido")
    ana.says(ANA_CPF)
    ana.conversation.bot.pending_identity = {}  # its key expired while the customer was away
    turn = ana.says(ANA_BIRTH)
    assert (turn.decision.how, turn.redact) == ("earlier answers expired", "birth_date")
    assert ana.reads(turn) == ["Para sua segurança, qual é o seu CPF?"]
    assert ana.conversation.bot.pending_identity == {}
    ana.says(ANA_CPF)
    assert ana.says(ANA_BIRTH).redact == "birth_date" and ana.conversation.identity is not None


def test_a_rules_change_that_drops_the_awaited_field_forgets_what_was_typed():
    ana = Customer()
    ana.says("meu pedido")
    ana.says(ANA_CPF)
    data = yaml.safe_load((CONFIG / "rules.yaml").read_text())
    data["identity"]["fields"], data["identity"]["ask"] = ["cpf"], {"cpf": data["identity"]["ask"]["cpf"]}
    changed = parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))
    ana.bot.rules = lambda *_: changed
    turn = ana.says(ANA_BIRTH)
    assert (turn.decision.rule, turn.redact) == ("messages.unrecognized", "birth_date")
    assert ana.conversation.bot.awaiting is None and ana.conversation.bot.pending_identity == {}


def test_an_unavailable_verifier_hands_over_unverified_at_once():
    from handover.identity import VerifierUnavailable

    class Down:
        def verify(self, fields):
            raise VerifierUnavailable("connection refused")

    ana = Customer()
    ana.bot.directory = Down()
    ana.says("meu pedido")
    ana.says(ANA_CPF)
    turn = ana.says(ANA_BIRTH)
    assert (turn.escalation.reason, turn.redact) == ("identity_not_verified", "birth_date")
    assert ana.conversation.identity is None and ana.conversation.bot.pending_identity == {}


def test_an_acknowledgement_while_the_bot_waits_for_a_cpf_keeps_waiting_and_costs_no_attempt():
    ana = Customer()
    assert ana.says("cadê meu pedido?").decision.action == "identity"
    for said in ("ok", "👍", "ta bom"):
        turn = ana.says(said)
        assert (turn.decision.action, turn.decision.rule, turn.replies) == ("silent", "acknowledgements", [])
    assert ana.conversation.bot.awaiting is not None and ana.conversation.bot.awaiting.attempts == 0
    assert ana.says(ANA_CPF).decision.action == "identity"  # the CPF is still taken as the answer

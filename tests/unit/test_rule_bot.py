"""The rule-based bot on the shipped rules, turn by turn, with no Redis: what the customer reads and why."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from handover.conversation import Conversation
from handover.identity import FileDirectory
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.packet import build_packet, summary_of
from handover.rules.bot import RuleBot
from handover.rules.loader import load_rules, parse_rules
from handover.rules.model import Priority
from handover.transcript import TranscriptEntry

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = load_rules(CONFIG / "rules.yaml")
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
SUNDAY_10H = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
ANA_CPF, ANA_BIRTH = "529.982.247-25", "14/03/1988"


class FakeQueues:
    def __init__(self, waiting: int = 2, typical: float | None = 90.0):
        self.waiting, self.typical = waiting, typical

    def position(self, number: str, queue: str, priority: Priority, at: float) -> int:
        return self.waiting + 1

    def typical_wait(self, number, queue, priority=None, hours=None, now=None) -> float | None:
        return self.typical


class Customer:
    """One customer talking to the bot; keeps the conversation between turns like the processor does."""

    def __init__(self, rules=RULES, now=MONDAY_10H, wa_id="5511987654321", name="Ana", queues=None):
        self.bot = RuleBot(
            lambda *_: rules,
            queues or FakeQueues(),
            FileDirectory(CONFIG / "customers.yaml"),
            clock=lambda: now,
        )
        self.customer = CustomerRef(phone_number_id="PN", wa_id=wa_id, profile_name=name)
        self.conversation = Conversation.start(self.customer, now)
        self.entries: list[TranscriptEntry] = []
        self.n = 0

    def says(self, text=None, *, button=None, kind=InboundKind.TEXT):
        self.n += 1
        message = InboundMessage(
            id=f"wamid.{self.n}",
            customer=self.customer,
            timestamp=int(MONDAY_10H) + self.n,
            kind=InboundKind.BUTTON_REPLY if button else kind,
            wa_type="text",
            text=text,
            reply_id=button,
        )
        awaited = self.conversation.bot.awaits_identity
        turn = self.bot.handle(self.conversation, message)
        self.entries.append(TranscriptEntry.from_inbound(message, self.n).kept(turn.redact, awaited))
        return turn

    def reads(self, turn) -> list[str]:
        return [r.text for r in turn.replies]


def test_greeting_answers_with_a_menu_and_the_customers_name():
    ana = Customer()
    turn = ana.says("Oi, boa tarde!")
    assert (turn.decision.action, turn.decision.rule, turn.decision.how) == (
        "reply",
        "intents.greeting",
        'keyword "boa tarde"',  # the longer phrase is the more specific
    )
    assert turn.decision.rules_version == RULES.version
    [menu] = turn.replies
    assert menu.kind == "list" and menu.text.startswith("Olá, Ana! Sou o assistente virtual.")
    assert [r.title for r in menu.sections[0].rows] == [
        "Meu pedido",
        "2ª via de boleto",
        "Trocas e devoluções",
        "Falar com atendente",
    ]


def test_asking_for_a_person_escalates_with_position_and_wait():
    ana = Customer()
    turn = ana.says("quero falar com um ATENDENTE")
    assert turn.escalation is not None
    assert (turn.escalation.queue, turn.escalation.reason, turn.escalation.rule) == (
        "general",
        "customer_asked",
        "intents.human_request",
    )
    assert ana.reads(turn) == [
        "Vou te passar para um atendente. Você é o 3º da fila (espera estimada: 4 min)."
    ]


def test_menu_button_is_matched_by_its_id():
    turn = Customer().says("Falar com atendente", button="menu_atendente")
    assert turn.decision.how == 'button "menu_atendente"' and turn.escalation.reason == "customer_asked"


def test_order_status_verifies_identity_collects_the_order_and_hands_over():
    ana = Customer()
    assert ana.reads(ana.says("cadê meu pedido?")) == ["Para sua segurança, qual é o seu CPF?"]
    bad = ana.says("123.456.789-00")
    assert bad.redact == "cpf" and ana.reads(bad) == ["Para sua segurança, qual é o seu CPF?"]
    good = ana.says(ANA_CPF)
    assert good.redact == "cpf" and ana.reads(good) == ["E a sua data de nascimento (DD/MM/AAAA)?"]
    birth = ana.says(ANA_BIRTH)
    assert birth.redact == "birth_date"
    assert ana.reads(birth) == [
        "Pronto, Ana Souza, identidade confirmada.",
        "Qual é o número do pedido? (só os números)",
    ]
    assert ana.conversation.identity.customer_reference == "CUST-0001"
    assert ana.conversation.bot.pending_identity == {}  # nothing typed to prove it is kept
    assert ana.reads(ana.says("abc")) == ["Não reconheci esse número. Ele tem de 4 a 12 dígitos."]
    done = ana.says("4455")
    assert ana.reads(done)[0] == "Obrigado! Vou passar o pedido 4455 para um atendente conferir com você."
    assert (done.escalation.queue, done.escalation.reason) == ("general", "order_inquiry")
    assert (
        ANA_CPF not in repr(ana.entries)
        and not re.search(
            r"529\D?982", repr(ana.entries)
        )  # any spelling (an entry's random id may hold "529")
        and ANA_BIRTH not in repr(ana.entries)
    )

    packet = build_packet(ana.conversation, done.escalation, ana.entries)
    assert packet.identity.verified and packet.identity.method == "cpf+birth_date"
    assert packet.collected == {"order_number": "4455"}
    assert packet.intent.name == "order_status"
    assert packet.summary == (
        "Assunto: order_status (order_number 4455), identidade verificada por cpf+birth_date, "
        "motivo: order_inquiry"
    )
    assert [e.text for e in packet.transcript][:3] == ["cadê meu pedido?", "[cpf]", "[cpf]"]
    # the same packet in an English reader's words (the desk's ?lang=en); one message not understood
    assert summary_of(packet.model_copy(update={"unrecognized": 1}), "en") == (
        "Asked about order_status (order_number 4455), identity verified by cpf+birth_date, "
        "1 unrecognised message, reason: order_inquiry"
    )


SKILLED = parse_rules(
    (CONFIG / "rules.yaml")
    .read_text()
    .replace(
        "escalate: {queue: general, reason: customer_asked}",
        "escalate: {queue: general, reason: customer_asked, skills: [cards]}",
    )
    .replace(
        "then: {queue: retention, priority: urgent, reason: churn_risk}",
        "then: {queue: retention, priority: urgent, reason: churn_risk, skills: [retention, legal]}",
    ),
    "rules.yaml",
)


@pytest.mark.parametrize(
    ("text", "kind", "rule", "skills"),
    [
        ("quero falar com um atendente", InboundKind.TEXT, "intents.human_request", ["cards"]),
        ("vou no procon", InboundKind.TEXT, "escalation.legal_or_churn", ["retention", "legal"]),
        (None, InboundKind.AUDIO, "escalation.voice_message", []),
    ],
    ids=["intent", "trigger", "none-asked"],
)
def test_the_escalation_carries_the_skills_of_the_rule_that_fired_into_the_packet(text, kind, rule, skills):
    ana = Customer(rules=SKILLED)
    turn = ana.says(text, kind=kind)
    assert turn.escalation is not None and turn.escalation.rule == rule
    assert turn.escalation.skills == skills
    assert build_packet(ana.conversation, turn.escalation, ana.entries).skills == skills


def test_two_unrecognised_messages_in_a_row_escalate():
    ana = Customer()
    first = ana.says("blablabla")
    assert first.decision.action == "unrecognized"
    assert ana.reads(first) == [
        'Desculpe, não entendi. Você pode escolher uma opção ou escrever "atendente".'
    ]
    second = ana.says("xyz qwerty")
    assert (second.escalation.reason, second.decision.rule) == (
        "bot_could_not_help",
        "escalation.bot_could_not_help",
    )


def test_legal_threat_goes_to_retention_urgently_even_mid_question():
    ana = Customer()
    ana.says("meu pedido")  # the bot asks for the CPF
    turn = ana.says("vou reclamar no PROCON")
    assert (turn.escalation.queue, turn.escalation.priority, turn.escalation.reason) == (
        "retention",
        "urgent",
        "churn_risk",
    )
    assert turn.redact is None


def test_audio_offers_a_person():
    turn = Customer().says(kind=InboundKind.AUDIO)
    assert (turn.escalation.reason, turn.decision.rule) == ("audio_received", "escalation.voice_message")


def test_images_get_the_non_text_answer():
    turn = Customer().says(kind=InboundKind.IMAGE)
    assert turn.escalation is None and turn.decision.rule == "messages.non_text"


def test_a_shared_place_or_contact_card_is_not_called_a_file():
    """A location gets messages.location and a contact card messages.contacts ("Recebi seu arquivo" was
    wrong for both); rules without them still answer with non_text."""
    place = Customer().says(kind=InboundKind.LOCATION)
    assert (place.decision.rule, place.replies[0].text) == (
        "messages.location",
        "Recebi sua localização. Para agilizar, me diga em poucas palavras do que precisa.",
    )
    assert Customer().says(kind=InboundKind.CONTACTS).decision.rule == "messages.contacts"
    assert Customer().says(kind=InboundKind.UNSUPPORTED).decision.rule == "messages.unrecognized"
    data = yaml.safe_load((CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    del data["messages"]["location"]  # rules written before there was one
    without = parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))
    assert Customer(rules=without).says(kind=InboundKind.LOCATION).decision.rule == "messages.non_text"


def test_reactions_and_revokes_are_silent():
    turn = Customer().says(kind=InboundKind.REACTION)
    assert turn.replies == [] and turn.decision.action == "silent"


def test_vip_customers_jump_the_line():
    text = (CONFIG / "rules.yaml").read_text().replace("  vip: []", '  vip: ["5511987654321"]')
    vip = Customer(rules=parse_rules(text, str(CONFIG / "rules.yaml")))
    turn = vip.says("quero trocar um produto")
    assert (turn.escalation.priority, turn.escalation.reason, turn.escalation.rule) == (
        "high",
        "vip",
        "escalation.vip_customer",
    )


def test_outside_business_hours_says_when_people_are_back():
    turn = Customer(now=SUNDAY_10H).says("atendente")
    assert turn.escalation is not None and turn.escalation.business_hours_open is False
    assert Customer(now=SUNDAY_10H).reads(turn) == [
        "Nosso time atende amanhã às 08:00. Sua mensagem está guardada e vamos responder assim que abrirmos."
    ]


def test_english_customers_are_answered_in_english_and_kept_in_it():
    bob = Customer(name="Bob")
    assert bob.reads(bob.says("hi there")) == [
        "Hi, Bob! I'm the virtual assistant. I can help with orders, invoices or returns."
    ]
    assert bob.conversation.bot.language == "en"
    assert bob.reads(bob.says("4455 ?")) == ['Sorry, I didn\'t get that. Pick an option or type "agent".']


def test_a_long_bot_conversation_is_handed_over():
    ana = Customer()
    for _ in range(12):
        turn = ana.says("obrigado")
        assert turn.escalation is None
    assert ana.says("obrigado").escalation.reason == "bot_turn_limit"


@pytest.mark.parametrize(
    ("waiting", "typical", "said"),
    # 120 s a place, 4 ahead: 4½ places (half the one being served) = 9 min; unknown: the SLA (120 s)
    [(0, 30.0, "menos de 1 minuto"), (4, 120.0, "9 min"), (0, None, "2 min")],
)
def test_wait_estimates(waiting, typical, said):
    turn = Customer(queues=FakeQueues(waiting, typical)).says("atendente")
    assert said in turn.replies[0].text


def test_a_decision_records_the_winning_score_and_the_runner_up():
    turn = Customer().says("quero devolver meu pedido")
    assert (turn.decision.rule, turn.decision.score, turn.decision.runner_up) == (
        "intents.returns",
        13,
        "order_status (13)",  # a tie: returns is written first
    )


THREE_LANGUAGES = """version: 1
languages: [pt, en, es]
default_language: pt
intents:
  - name: greeting
    match: {any: ["oi", "hello", "hola", "buenos dias", "bom dia"]}
    reply: {pt: "Olá!", en: "Hi!", es: "¡Hola!"}
  - name: human_request
    match: {any: ["atendente", "agent", "persona", "alguien"]}
    escalate: {queue: general, reason: customer_asked}
queues:
  general: {}
messages:
  unrecognized: {pt: "Não entendi.", en: "Sorry?", es: "No entendí."}
  queued: {pt: "Você é o {position}º.", en: "You are number {position}.", es: "Usted es el número {position}."}
"""


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("hola, buenos dias", "¡Hola!"),
        ("hello there, good morning", "Hi!"),
        ("oi, bom dia", "Olá!"),
        ("necesito hablar con alguien, por favor", "Usted es el número 3."),
    ],
)
def test_every_language_of_the_rules_is_answered_in_its_own(said, read):
    rules = parse_rules(THREE_LANGUAGES, "rules.yaml")
    customer = Customer(rules=rules)
    assert customer.reads(customer.says(said)) == [read]

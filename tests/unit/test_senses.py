"""Issue 30: word forms that mean something else never meet, a real word of a rules language is never a
typo of a keyword, and a topic resting on one word among many the rules do not know is out of scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from handover.clock import FixedClock
from handover.rules.lexicon import STEM, TYPO, Lexicon
from handover.rules.loader import load_rules, parse_rules
from handover.rules.senses import known
from handover.rules.tools.explain import explain

RULES = load_rules(Path(__file__).resolve().parents[2] / "config" / "rules.yaml")
AT = 1_800_000_000.0  # a Friday afternoon in São Paulo: queues open


def level(message_word: str, rules_word: str) -> int:
    lexicon = Lexicon(languages=["pt", "en"])
    lexicon.phrase(rules_word)
    return lexicon.view(message_word).level(0, rules_word)


@pytest.mark.parametrize(
    ("said", "keyword", "meets"),
    [
        # one sense: the forms meet
        ("compras", "compra", True),
        ("comprei", "compra", True),
        ("comprado", "comprei", True),
        ("pedidos", "pedido", True),
        ("contas", "conta", True),
        ("trocar", "troca", True),
        ("orders", "order", True),
        ("returned", "return", True),
        ("comprando", "comprar", True),  # both "to buy"
        # Snowball joins them, the customer does not
        ("comprar", "compra", False),
        ("compro", "comprei", False),
        ("pedir", "pedido", False),
        ("pedindo", "pedido", False),
        ("contar", "conta", False),
        ("notar", "nota", False),
        ("troco", "troca", False),
        ("ordering", "order", False),
        ("funciona", "funcionario", False),
        ("consultar", "consultor", False),
        ("funcionarios", "funcionario", True),
    ],
)
def test_word_forms_meet_only_within_one_sense(said, keyword, meets):
    assert (level(said, keyword) == STEM) is meets


@pytest.mark.parametrize(
    ("said", "keyword", "typo"),
    [
        ("pedio", "pedido", True),
        ("atendemte", "atendente", True),
        ("reembolsso", "reembolso", True),
        ("sale", "salve", False),  # English for a sale, not a Portuguese greeting misspelt
        ("store", "storo", False),
        ("pessoal", "pessoa", False),  # a word of its own
    ],
)
def test_a_real_word_of_a_rules_language_is_not_a_typo(said, keyword, typo):
    assert (level(said, keyword) == TYPO) is typo


def test_the_word_lists_are_shipped_and_folded():
    english, portuguese = known("en"), known("pt")
    assert {"sale", "weekend", "store"} <= english and {"comprar", "pedido", "recibo"} <= portuguese
    assert all(w.isascii() and w.isalpha() and len(w) >= 4 for w in portuguese)
    assert known("xx") == frozenset()


@pytest.mark.parametrize(
    "message",
    [
        "quero comprar um celular novo, vocês têm?",
        "any sale this weekend?",
        "vou pedir uma opinião: qual geladeira é melhor, a frost free ou a duplex?",
        "quero fazer um pedido de 20 cadeiras pra minha empresa, vcs fazem preço de atacado?",
    ],
)
def test_a_pre_sale_question_is_not_taken_for_a_topic(message):
    assert explain(RULES, message, clock=FixedClock(AT)).action == "unrecognized"


def test_out_of_scope_says_why_and_what_it_would_have_been():
    e = explain(
        RULES,
        "quero fazer um pedido de 20 cadeiras pra minha empresa, vcs fazem preço de atacado?",
        clock=FixedClock(AT),
    )
    assert e.how is not None and e.how.startswith(
        'out of scope: order_status rests on keyword "pedido" alone'
    )
    assert "below 0.25" in e.how


@pytest.mark.parametrize(
    "message",
    [
        "cadê meu pedido?",
        "oi, comprei um sofá dia 10 e o pedido até agora não chegou",  # the topic is said more than once
        "quero a segunda via do boleto",
    ],
)
def test_a_message_about_a_topic_is_still_taken_for_it(message):
    assert explain(RULES, message, clock=FixedClock(AT)).action != "unrecognized"


def test_ops_set_the_threshold_and_the_answer():
    text = (Path(__file__).resolve().parents[2] / "config" / "rules.yaml").read_text()
    message = "quero fazer um pedido de 20 cadeiras pra minha empresa, vcs fazem preço de atacado?"
    e = explain(RULES, message, clock=FixedClock(AT))
    assert (e.rule, e.action) == ("messages.out_of_scope", "unrecognized")
    assert any("cuido de pedidos feitos" in reply for reply in e.replies)
    never = parse_rules(text + "\nout_of_scope: {words: 0}\n")
    assert explain(never, message, clock=FixedClock(AT)).rule == "intents.order_status"
    start = text.index("  out_of_scope:")
    without = text[:start] + text[text.index("  queued:", start) :]  # then the answer is `unrecognized`
    assert explain(parse_rules(without), message, clock=FixedClock(AT)).rule == "messages.unrecognized"


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ("n quero cancelar nao, so quero saber onde ta meu pedido", "intents.order_status"),
        ("I don't want to cancel, just tell me where my order is", "intents.order_status"),
        ("nao vou processar ninguem, so quero meu reembolso", "intents.returns"),
        # a condition's "não" is still a threat, and so is a plain one
        ("se nao trocarem meu celular vou processar a loja", "escalation.legal_or_churn"),
        ("if you don't refund me I will call my lawyer", "escalation.legal_or_churn"),
        ("vou cancelar tudo", "escalation.legal_or_churn"),
        ("nunca mais compro aqui", "escalation.legal_or_churn"),  # the negation is the keyword's own
        ("vou reclamar no procom", "escalation.legal_or_churn"),
        ("vou abrir um chargeback no banco", "escalation.legal_or_churn"),
    ],
)
def test_an_escalation_keyword_said_in_the_negative_does_not_fire(message, rule):
    assert explain(RULES, message, clock=FixedClock(AT)).rule == rule


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ("preciso da NF do pedido 48213", "intents.invoice_copy"),
        ("can you send me the receipt for my order?", "intents.invoice_copy"),
        ("a fatura não chegou esse mês", "intents.invoice_copy"),
        ("cadê o pedido 48213?", "intents.order_status"),
    ],
)
def test_a_phrase_naming_the_document_beats_an_order_number(message, rule):
    assert explain(RULES, message, clock=FixedClock(AT)).rule == rule

"""Matching as customers write: case, accents, punctuation, typos, whole words, buttons, languages."""

from __future__ import annotations

import pytest

from handover.rules.language import guess_language
from handover.rules.lexicon import normalize, within_one_edit
from handover.rules.matching import Matcher
from handover.rules.model import Match


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Olá, CADÊ meu pedido?!", "ola cade meu pedido"),
        ("  2ª   via_do boleto ", "2a via do boleto"),
        ("AÇÃO", "acao"),
        ("👍", ""),
    ],
)
def test_normalize(raw, normalized):
    assert normalize(raw) == normalized


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        ("pedido", "pedido", True),
        ("pedio", "pedido", True),
        ("pedidoo", "pedido", True),
        ("pdeido", "pedido", True),
        ("pxdidx", "pedido", False),
        ("ped", "pedido", False),
    ],
)
def test_one_edit(a, b, close):
    assert within_one_edit(a, b) is close


ORDER = Matcher(Match(any=["pedido", "rastrear", "falar com uma pessoa"], buttons=["menu_pedido"]))


@pytest.mark.parametrize(
    ("text", "reply_id", "how"),
    [
        ("Cadê meu PEDIDO???", None, 'keyword "pedido"'),
        ("quero rastreiar", None, 'typo "rastreiar"~"rastrear"'),
        ("quero falar com uma pessoa, por favor", None, 'keyword "falar com uma pessoa"'),
        ("Falar com UMA pessôa", None, 'keyword "falar com uma pessoa"'),
        (None, "menu_pedido", 'button "menu_pedido"'),
        ("Meu pedido", "other_button", 'keyword "pedido"'),
    ],
)
def test_intent_matches_with_the_reason(text, reply_id, how):
    hit = ORDER.match(text, reply_id)
    assert hit is not None and hit.how == how


@pytest.mark.parametrize("text", ["é o pedágio", "boi", "", "ped", "rastelo", "oito", "produto9999"])
def test_no_false_matches(text):
    assert Matcher(Match(any=["pedido", "oi", "rastrear", "produto 999"])).match(text, None) is None


def test_a_plural_is_a_word_form():
    assert Matcher(Match(any=["pedido"])).match("meus pedidos", None).how == 'word form "pedidos"~"pedido"'


def test_short_words_are_not_typo_matched():
    assert Matcher(Match(any=["oi"])).match("os", None) is None
    assert Matcher(Match(any=["oi"])).match("oi!", None) is not None


def test_typos_can_be_turned_off():
    assert Matcher(Match(any=["pedido"], typos=False)).match("pedio", None) is None


def test_all_and_regex():
    both = Matcher(Match(all=["segunda", "via"]))
    assert both.match("preciso da segunda via", None).how == 'all of "segunda", "via"'
    assert both.match("segunda-feira", None) is None
    cpf = Matcher(Match(regex=[r"\b\d{11}\b"]))
    assert cpf.match("meu cpf 12345678909", None).how == r"regex /\b\d{11}\b/"


@pytest.mark.parametrize(
    ("text", "language"),
    [("oi, cadê meu pedido?", "pt"), ("hi, where is my order?", "en"), ("12345", None), ("ok", None)],
)
def test_guess_language(text, language):
    assert guess_language(text, ["pt", "en"]) == language

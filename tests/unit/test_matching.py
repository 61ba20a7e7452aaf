"""Matching as customers write: case, accents, punctuation, typos, whole words, buttons, languages."""

from __future__ import annotations

import pytest

from handover.rules.language import guess_language
from handover.rules.lexicon import Lexicon, normalize, within_one_edit
from handover.rules.matching import IntentIndex, Matcher
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
    [
        ("oi, cadê meu pedido?", "pt"),
        ("hi, where is my order?", "en"),
        ("12345", None),
        ("ok", None),
        ("vou no procon", None),  # "no" is Portuguese too: one ambiguous word never decides
        ("obrigado", "pt"),
        ("hello", "en"),
        ("hola, necesito ayuda con mi pedido", "es"),
    ],
)
def test_guess_language(text, language):
    assert guess_language(text, ["pt", "en", "es"]) == language


def index_of(**intents: Match) -> tuple[list[str], IntentIndex]:
    return list(intents), IntentIndex(list(intents.values()), Lexicon(SYNONYMS, ["pt", "en"]))


SYNONYMS = {"pessoa": ["atendente", "alguem", "someone", "pessoa de verdade"]}


def ranked(text: str, reply_id: str | None = None, **intents: Match) -> list[tuple[str, int]]:
    names, index = index_of(**intents)
    return [(names[i], hit.score) for i, hit in index.ranked(text, reply_id)]


def test_every_intent_is_scored_and_the_more_specific_phrase_wins():
    """'return my order' is about returning, though 'order' alone is the order status's keyword."""
    order, returns = Match(any=["order"]), Match(any=["return my order", "return"])
    assert [name for name, _ in ranked("I want to return my order", order=order, returns=returns)] == [
        "returns",
        "order",
    ]


def test_a_tie_goes_to_the_intent_written_first():
    one, other = Match(any=["pedido"]), Match(any=["devolver"])
    scores = ranked("quero devolver meu pedido", one=one, other=other)
    assert scores[0][1] == scores[1][1] and scores[0][0] == "one"


def test_a_tapped_button_goes_by_its_id_whatever_its_title_says():
    order, returns = Match(any=["pedido"]), Match(buttons=["menu_troca"])
    assert ranked("Trocar meu pedido", "menu_troca", order=order, returns=returns)[0][0] == "returns"


def test_exact_beats_word_form_beats_typo():
    word = Match(any=["pedido"])
    exact, form, typo = (ranked(t, word=word)[0][1] for t in ("pedido", "pedidos", "pedio"))
    assert exact > form > typo


def test_synonyms_meet_the_keyword_in_every_spelling_and_with_typos():
    person = Match(any=["pessoa"])
    for text in ("quero um atendente", "tem alguem ai", "let me talk to someone", "uma pessoa de verdade"):
        assert ranked(text, person=person), text
    assert ranked("atendnte pf", person=person)  # a typo of one of its spellings


def test_a_word_the_rules_know_is_not_a_typo_of_another():
    names, index = index_of(person=Match(any=["pessoa"]), greeting=Match(any=["boa noite pessoal"]))
    assert [names[i] for i, _ in index.ranked("boa noite pessoal")] == ["greeting"]


def test_stretched_letters_fold():
    assert normalize("Oiii, atendenteeee!!") == "oi atendente"
    assert normalize("reembolso") == "reembolso"  # a letter twice is a word's own


def test_an_intent_met_again_gains_a_little():
    """Both best phrases are two words long; the order intent is written first, yet the invoice wins:
    the message comes back to it three times."""
    invoice, order = Match(any=["boleto", "fatura", "segunda via"]), Match(any=["nao chegou"])
    text = "a fatura nao chegou, manda a segunda via do boleto"
    assert [name for name, _ in ranked(text, order=order, invoice=invoice)] == ["invoice", "order"]

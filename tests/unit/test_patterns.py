"""Ops' regular expressions run by RE2: linear time whatever the message, clear refusals for what RE2
cannot run, and the text a pattern sees (as typed, and normalised)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handover.rules.loader import parse_rules
from handover.rules.matching import Matcher
from handover.rules.model import Match
from handover.rules.patterns import MAX_TEXT, pattern
from handover.rules.yamlfile import RulesError

BASE = (Path(__file__).resolve().parents[2] / "tests" / "data" / "rules" / "loader-base.yaml").read_text()


def test_a_catastrophic_pattern_for_backtracking_runs_in_linear_time():
    """Under Python's `re` this search takes longer than the age of the universe; RE2 answers at once."""
    assert not pattern("(a+)+$").search("a" * 40 + "b")
    assert not pattern("(x+x+)+y").search("x" * 5000)
    assert pattern("(a+)+$").search("aaaa")


@pytest.mark.parametrize(
    ("regex", "why"),
    [
        ("(?=pedido)", "lookahead (?=...) is not supported"),
        ("(?!pedido)", "negative lookahead (?!...) is not supported"),
        ("(?<=meu )pedido", "lookbehind (?<=...) is not supported"),
        ("(pedido) \\\\1", "backreference \\1 is not supported"),
    ],
)
def test_rules_check_names_what_re2_cannot_run_where_it_is(regex, why):
    text = BASE.replace(
        '    match: {any: ["obrigado"', f'    match: {{regex: ["{regex}"], any: ["obrigado"', 1
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    [problem] = caught.value.problems
    shown = regex.replace("\\\\", "\\")
    assert str(problem) == (
        f"rules.yaml:61:20 intents[5].match.regex: bad regular expression {shown!r}: {why} (rules regexes "
        "run in linear time, without lookarounds or backreferences)"
    )


def test_a_pattern_sees_the_text_as_typed_and_normalised():
    cep = Matcher(Match(regex=[r"\d{5}-\d{3}"]))
    assert cep.match("meu CEP é 01310-100, obrigado", None) is not None  # the hyphen is kept as typed
    order = Matcher(Match(regex=[r"cade .*pedido"]))
    assert order.match("Cadê o meu PEDIDO?", None) is not None  # written for the normalised form
    assert Matcher(Match(regex=["CPF"])).match("meu cpf", None) is not None  # case does not matter


def test_matching_looks_at_the_first_characters_only():
    """A 100 KB paste costs what 2,000 characters cost; the customer's point is made by then."""
    order = Matcher(Match(any=["pedido"], regex=["rastreio"]))
    filler = "bla " * (MAX_TEXT // 4)
    assert order.match("pedido " + filler, None) is not None
    assert order.match(filler + " pedido rastreio", None) is None

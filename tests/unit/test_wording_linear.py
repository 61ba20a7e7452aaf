"""The bot's wording tidies what it says in time linear in the text: a customer's profile name of 100k
blanks made a backtracking pattern (`\\s*,\\s*([!?.])`) hold a worker 179 s on the GIL."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handover.rules.texts import _EMPTY_BRACKETS, _sub_after_blanks, tidy
from tests.unit.test_rule_bot import Customer

OLD_TIDY = re.compile(r"\s*,\s*([!?.])")  # what wording.py and clockwatch.py ran before
OLD_BRACKETS = re.compile(r"[ \t]*\([ \t]*\)")
HOSTILE = " " * 25_000 + "," + " " * 25_000 + "x"  # the old pattern: ~7 CPU seconds; 100k of them: minutes


@pytest.mark.parametrize(
    ("said", "tidied"),
    [
        ("Olá, !", "Olá!"),
        ("Olá , ! Sou", "Olá! Sou"),
        ("Desculpe a demora, .", "Desculpe a demora."),
        ("a , , !", "a ,!"),
        ("Oi,\n\t?", "Oi?"),
        ("Olá, Ana!", "Olá, Ana!"),
        ("  ,!", "!"),
        ("", ""),
    ],
)
def test_a_comma_left_by_a_blank_name_goes(said, tidied):
    assert tidy(said) == tidied == OLD_TIDY.sub(r"\1", said)


@given(st.text(alphabet=" \t\n,!?.(ax)", max_size=40))
def test_tidying_reads_as_the_old_patterns_did(said):
    assert tidy(said) == OLD_TIDY.sub(r"\1", said)
    assert _sub_after_blanks(_EMPTY_BRACKETS, "", said, " \t") == OLD_BRACKETS.sub("", said)


def test_a_name_of_blanks_costs_the_bot_no_more_than_a_name():
    customer = Customer(name=HOSTILE)
    started = time.process_time()
    [menu] = customer.says("Oi, boa tarde!").replies
    assert time.process_time() - started < 2.0  # CPU seconds, generous: linear takes milliseconds
    assert menu.text.startswith("Olá,") and menu.text.endswith("trocas.")


def test_tidying_a_huge_text_is_linear():
    started = time.process_time()
    assert tidy("Olá, " + HOSTILE * 2 + "!") == "Olá, " + HOSTILE * 2 + "!"
    assert _sub_after_blanks(_EMPTY_BRACKETS, "", " \t" * 50_000 + "x") == " \t" * 50_000 + "x"
    assert time.process_time() - started < 2.0

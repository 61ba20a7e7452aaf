"""What agents say through the rules: the words a moved customer hears (the target and, only if the agent picked one, a reason ops wrote) and canned replies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handover.rules.loader import RulesError, load_rules, parse_rules
from handover.rules.texts import canned, transferred

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = load_rules(ROOT / "config" / "rules.yaml").rules
# an older rules file: `({reason})` in the message, no customer reasons at all
OLDER = parse_rules((ROOT / "tests" / "data" / "rules" / "loader-base.yaml").read_text()).rules


def test_the_customer_hears_the_target_and_the_reason_ops_wrote():
    assert transferred(SHIPPED, "pt", "financeiro", "specialist") == (
        "Vou te transferir para a equipe de financeiro. Essa equipe é especialista no seu caso. "
        "Você não vai precisar repetir nada."
    )
    assert transferred(SHIPPED, "en", "Carlos", "language", person=True) == (
        "I'm passing you to Carlos, who will take it from here. It will be easier in your language. "
        "You won't need to repeat anything."
    )


def test_no_reason_chosen_says_nothing_of_one():
    assert transferred(SHIPPED, "pt", "financeiro", None) == (
        "Vou te transferir para a equipe de financeiro. Você não vai precisar repetir nada."
    )


def test_an_older_file_with_reason_in_brackets_leaves_no_empty_brackets():
    older = yaml.safe_load((ROOT / "tests/data/rules/loader-base.yaml").read_text())
    assert "({reason})" in older["messages"]["transferred"]["pt"]
    assert transferred(OLDER, "pt", "financeiro", None) == (
        "Vou te transferir para a equipe de financeiro. Você não vai precisar repetir nada."
    )


def test_customer_reasons_need_every_language():
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    rules["transfers"]["customer_reasons"]["specialist"].pop("en")
    with pytest.raises(RulesError) as caught:
        parse_rules(yaml.safe_dump(rules, allow_unicode=True))
    assert "transfers.customer_reasons.specialist" in str(caught.value)
    assert "missing the 'en' text" in str(caught.value)


def test_canned_replies_fill_in_what_is_known_and_keep_the_rest():
    known = {"name": "Ana", "agent": "Bia", "order_number": "4455"}
    assert canned(SHIPPED, "order_checking", "en", known) == "I'm checking order 4455, one moment please."
    assert canned(SHIPPED, "greeting", "es", {"agent": "Bia"}) == (  # no such language: the default one
        "Olá, {name}! Aqui é Bia, vou continuar o seu atendimento."
    )


def test_a_canned_variable_nothing_fills_in_is_a_warning():
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    rules["canned"]["greeting"]["pt"] = "Olá {cliente}, seu código de rastreio é {rastreio}"
    loaded = parse_rules(yaml.safe_dump(rules, allow_unicode=True))  # accepted: the agent types over them
    said = [str(w) for w in loaded.warnings if "canned.greeting.pt" in str(w)]
    assert len(said) == 2 and "{cliente} is never filled in" in said[0] and "{rastreio}" in said[1]
    assert "{order_number}" in said[0]  # collected values are filled in
    rules["canned"]["greeting"]["pt"] = "Olá {cliente"
    with pytest.raises(RulesError, match=r"canned\.greeting\.pt: bad braces"):
        parse_rules(yaml.safe_dump(rules, allow_unicode=True))

"""Static checks of a rules file beyond its schema: keys given twice, unknown messages, keywords that can
never match, hours that never open; and the warnings that do not refuse a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from handover.rules.loader import RulesError, parse_rules, parse_yaml


def test_every_key_given_twice_is_named_in_file_order():
    with pytest.raises(RulesError) as caught:
        parse_yaml("a: 1\nb: {x: 1, x: 2}\na: 2\n", "rules.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "rules.yaml:2:11 b.x: defined twice (first at line 2); the second would replace the first",
        "rules.yaml:3:1 a: defined twice (first at line 1); the second would replace the first",
    ]


def test_anchors_merge_keys_and_an_alias_inside_itself_are_not_keys_given_twice():
    """`<<: *base` then a key of base is YAML's way to override: not a mistake."""
    data, _ = parse_yaml("base: &b {c: 1}\nd:\n  <<: *b\n  c: 2\ne: *b\n", "rules.yaml")
    assert data == {"base": {"c": 1}, "d": {"c": 2}, "e": {"c": 1}}
    data, _ = parse_yaml("a: &x [1, *x]\n", "rules.yaml")
    assert data["a"][0] == 1


SHIPPED = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
BASE = SHIPPED.read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_keyword_of_punctuation_or_emoji_in_match_all_can_never_match():
    text = BASE.replace('match: {any: ["obrigado",', 'match: {all: ["", "🙏"], any: ["obrigado",')
    assert problems(text) == [
        "rules.yaml:61:19 intents[5].match.all[0]: keyword '' has no letters or digits: it can never match",
        "rules.yaml:61:23 intents[5].match.all[1]: keyword '🙏' has no letters or digits: it can never match",
    ]


def test_an_empty_list_beside_a_real_one_is_harmless_but_a_match_of_nothing_is_not():
    """Any one list of `match` is enough, so `any: []` beside buttons is fine; with no list at all the
    schema says what to give."""
    assert parse_rules(BASE.replace("buttons: [menu_pedido]}", "buttons: [menu_pedido], all: []}"))
    assert problems(
        BASE.replace(
            'match: {any: ["obrigado", "obrigada", "valeu", "thanks", "thank you"]}', "match: {typos: false}"
        )
    ) == ["rules.yaml:61:12 intents[5].match: give at least one of any, all, regex, buttons"]


def test_an_empty_condition_list_stops_a_trigger_even_beside_others():
    """A trigger's conditions must all hold: `media: []` next to `unrecognized_in_a_row` never fires."""
    text = BASE.replace("when: {unrecognized_in_a_row: 2}", "when: {unrecognized_in_a_row: 2, media: []}")
    assert problems(text) == [
        "rules.yaml:75:45 escalation[3].when.media: an empty list matches nothing: this trigger can never fire"
    ]

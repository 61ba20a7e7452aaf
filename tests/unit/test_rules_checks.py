"""Static checks of a rules file beyond its schema: keys given twice, unknown messages, keywords that can
never match, hours that never open; and the warnings that do not refuse a file."""

from __future__ import annotations

import pytest

from handover.rules.loader import RulesError, parse_yaml


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

"""Static checks of a rules file beyond its schema: keys given twice, unknown messages, keywords that can
never match, hours that never open; and the warnings that do not refuse a file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from app.cli import main
from handover.rules.holder import RulesHolder
from handover.rules.loader import load_rules, parse_rules
from handover.rules.yamlfile import RulesError, parse_yaml

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
# mistakes are made in a frozen copy of the rules, so their positions stay put when the shipped file changes
BASE = (SHIPPED.parents[1] / "tests" / "data" / "rules" / "loader-base.yaml").read_text()


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
    """Any one list of `match` is enough, so `all: []` beside buttons is fine; with no list at all the
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


def warnings(text: str) -> list[str]:
    return [str(w) for w in parse_rules(text, "rules.yaml").warnings]


def test_the_shipped_rules_have_no_warnings():
    assert load_rules(SHIPPED).warnings == []


def test_a_button_or_list_row_no_intent_handles_is_a_warning():
    text = BASE.replace(
        '- {id: menu_pedido, title: {pt: "Ver', '- {id: menu_pedidoo, title: {pt: "Ver'
    ).replace("{id: menu_troca,", "{id: menu_trocas,")
    assert warnings(text) == [
        "rules.yaml:20:16 intents[0].list.rows[2].id: warning: no intent handles list row 'menu_trocas' "
        "(match.buttons)",
        "rules.yaml:57:14 intents[4].buttons[1].id: warning: no intent handles button 'menu_pedidoo' "
        "(match.buttons)",
    ]


def test_csat_options_are_the_surveys_own_buttons():
    assert warnings(BASE.replace("{id: csat_ok,", "{id: csat_okay,")) == []


def test_a_queue_the_bot_never_chooses_is_a_warning_and_the_senior_lane_counts_as_chosen():
    assert warnings(BASE.replace(", senior_queue: senior}", "}")) == [
        "rules.yaml:85:3 queues.senior: warning: queue 'senior' is never chosen by the bot (only by transfers)"
    ]
    # identity.failed chooses a queue too
    text = BASE.replace(
        "{queue: general, reason: identity_not_verified}", "{queue: senior, reason: identity_not_verified}"
    )
    assert warnings(text.replace(", senior_queue: senior}", "}")) == []


def test_rules_check_prints_warnings_after_the_problems_and_passes_with_warnings_only(tmp_path, capsys):
    path = tmp_path / "rules.yaml"
    shutil.copy(SHIPPED.parent / "customers.yaml", tmp_path / "customers.yaml")
    path.write_text(BASE.replace(", senior_queue: senior}", "}"))
    assert main(["rules", "check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "rules.yaml:85:3 queues.senior: warning: queue 'senior' is never chosen by the bot (only by transfers)"
    ]
    assert out.strip().endswith("4 queues); 1 warning")
    path.write_text(path.read_text().replace("Olá, {name}!", "Olá, {nome}!"))
    assert main(["rules", "check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "rules.yaml:13:11 intents[0].reply.pt: unknown variable {nome} (known here: {name})",
        "rules.yaml:85:3 queues.senior: warning: queue 'senior' is never chosen by the bot (only by transfers)",
    ]


def test_a_process_logs_the_warnings_once_per_rules_version(tmp_path):
    path = tmp_path / "rules.yaml"
    shutil.copy(SHIPPED.parent / "customers.yaml", tmp_path / "customers.yaml")
    path.write_text(BASE.replace(", senior_queue: senior}", "}"))
    with capture_logs() as logs:
        holder = RulesHolder(path, check_every=0)
        holder()
    [logged] = [e for e in logs if e["event"] == "rules_warnings"]
    assert logged["log_level"] == "warning" and logged["version"] == holder().version
    assert logged["warnings"] == [
        "rules.yaml:85:3 queues.senior: warning: queue 'senior' is never chosen by the bot (only by transfers)"
    ]
    path.write_text(BASE)
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
    with capture_logs() as logs:
        holder()
    assert [e["event"] for e in logs] == ["rules_reloaded"]  # a clean file: nothing to warn about


def test_a_keyword_another_intent_goes_first_on_is_a_warning():
    """Both list 'pedido'; they tie on it and order_status is written first."""
    text = BASE.replace('match: {any: ["troca", "trocar",', 'match: {any: ["pedido", "troca", "trocar",')
    assert warnings(text) == [
        "rules.yaml:51:19 intents[4].match.any[0]: warning: keyword 'pedido' never wins here: intents[2] "
        "(order_status) goes first"
    ]


def test_an_intent_whose_every_keyword_is_taken_can_never_win():
    """'oi' is the greeting's (written first, same rank) and 'cancelar' fires the legal trigger first."""
    text = BASE.replace(
        '    match: {any: ["obrigado", "obrigada", "valeu", "thanks", "thank you"]}',
        '    match: {any: ["oi", "cancelar"]}',
    )
    assert warnings(text) == [
        "rules.yaml:59:11 intents[5].name: warning: this intent can never win: every keyword is taken first "
        "(intents[0] (greeting) goes first)"
    ]


def test_triggers_an_earlier_trigger_always_fires_before_are_warnings():
    text = BASE.replace("    when: {media: [audio]}", '    when: {keywords: ["procon", "audio"]}').replace(
        "    when: {bot_turns_over: 12}", "    when: {unrecognized_in_a_row: 3}"
    )
    assert warnings(text) == [
        "rules.yaml:72:23 escalation[2].when.keywords[0]: warning: keyword 'procon' never fires this trigger: "
        "escalation[0] (legal_or_churn) has it first",
        "rules.yaml:78:35 escalation[4].when.unrecognized_in_a_row: warning: this trigger never fires: "
        "escalation[3] (bot_could_not_help) fires at 2 misses first",
    ]


# Routing settings of queues (push assignment) and the skills escalations ask for

GENERAL = (
    'general: {label: {pt: "atendimento", en: "customer care"}, sla_seconds: 120, business_hours: store}'
)


def general(settings: str) -> str:
    """The frozen rules with more settings on the general queue, on the lines after it."""
    assert GENERAL in BASE
    return BASE.replace(GENERAL, GENERAL[:-1] + ",\n    " + settings + "}")


def test_queues_pull_by_default_with_the_push_settings_defaults():
    queue = parse_rules(BASE, "rules.yaml").rules.queues["general"]
    assert (queue.assignment, queue.pushes, queue.policy) == ("pull", False, "longest_idle")
    assert (queue.offer_timeout_seconds, queue.away_after_missed_offers) == (30, 3)
    assert (queue.match.language, queue.match.skills) == ("preferred", "preferred")


def test_a_push_queue_takes_every_routing_setting_and_escalations_ask_for_skills():
    text = general(
        "assignment: push, policy: least_loaded, offer_timeout_seconds: 0, away_after_missed_offers: 1,\n"
        "    match: {language: required, skills: required}"
    ).replace(
        "then: {queue: general, reason: audio_received}",
        "then: {queue: general, reason: audio_received, skills: [audio, cards]}",
    )
    rules = parse_rules(text, "rules.yaml").rules
    queue = rules.queues["general"]
    assert queue.pushes and (queue.policy, queue.offer_timeout_seconds) == ("least_loaded", 0)
    assert (queue.match.language, queue.match.skills, queue.away_after_missed_offers) == (
        "required",
        "required",
        1,
    )
    assert rules.escalation[2].then.skills == ["audio", "cards"]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        (
            "policy: round_robin",
            "rules.yaml:83:5 queues.general.policy: policy is for push queues; add `assignment: push` or "
            "remove it",
        ),
        (
            "assignment: pull, offer_timeout_seconds: 10, away_after_missed_offers: 2",
            "rules.yaml:83:23 queues.general.offer_timeout_seconds: offer_timeout_seconds is for push queues; "
            "add `assignment: push` or remove it\n"
            "rules.yaml:83:50 queues.general.away_after_missed_offers: away_after_missed_offers is for push "
            "queues; add `assignment: push` or remove it",
        ),
        (
            "match: {language: required}",
            "rules.yaml:83:5 queues.general.match: match is for push queues; add `assignment: push` or remove it",
        ),
        (
            "assignment: shove",
            "rules.yaml:83:17 queues.general.assignment: Input should be 'pull' or 'push'",
        ),
        (
            "assignment: push, policy: fastest",
            "rules.yaml:83:31 queues.general.policy: Input should be 'longest_idle', 'least_loaded' or "
            "'round_robin'",
        ),
        (
            "assignment: push, offer_timeout_seconds: 601",
            "rules.yaml:83:46 queues.general.offer_timeout_seconds: Input should be less than or equal to 600",
        ),
        (
            "assignment: push, away_after_missed_offers: 0",
            "rules.yaml:83:49 queues.general.away_after_missed_offers: Input should be greater than or equal "
            "to 1",
        ),
        (
            "assignment: push, match: {skills: always}",
            "rules.yaml:83:39 queues.general.match.skills: Input should be 'preferred' or 'required'",
        ),
    ],
    ids=[
        "policy-on-pull",
        "two-on-explicit-pull",
        "match-on-pull",
        "assignment",
        "policy",
        "timeout",
        "missed-offers",
        "match-mode",
    ],
)
def test_routing_settings_that_cannot_work_are_named_where_they_are(settings, error):
    with pytest.raises(RulesError) as caught:
        parse_rules(general(settings), "rules.yaml")
    assert str(caught.value) == error


def test_a_skill_that_is_not_a_name_is_refused():
    text = BASE.replace(
        "then: {queue: general, reason: audio_received}",
        "then: {queue: general, reason: audio_received, skills: [Cards]}",
    )
    assert problems(text) == [
        "rules.yaml:73:61 escalation[2].then.skills[0]: String should match pattern '^[a-z][a-z0-9_]*$'"
    ]


def test_required_skills_on_a_queue_its_escalations_ask_none_of_is_a_warning():
    """retention is reached only by legal_or_churn: once it asks for a skill, the warning goes."""
    retention = 'retention: {label: {pt: "relacionamento", en: "customer relations"}, sla_seconds: 60, '
    text = BASE.replace(retention, retention + "assignment: push, match: {skills: required}, ")
    assert warnings(text) == [
        "rules.yaml:84:123 queues.retention.match.skills: warning: skills are required, but escalations here "
        "ask for none (escalation.legal_or_churn): any agent of the queue takes their conversations"
    ]
    asking = text.replace(
        "then: {queue: retention, priority: urgent, reason: churn_risk}",
        "then: {queue: retention, priority: urgent, reason: churn_risk, skills: [retention]}",
    )
    assert warnings(asking) == []
    assert warnings(text.replace("skills: required", "skills: preferred")) == []


def test_the_rules_schema_shows_the_routing_settings(capsys):
    assert main(["rules", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)["$defs"]
    assert {"assignment", "policy", "offer_timeout_seconds", "match", "away_after_missed_offers"} <= set(
        schema["Queue"]["properties"]
    )
    assert schema["QueueMatch"]["additionalProperties"] is False
    assert schema["Escalate"]["properties"]["skills"]["type"] == "array"

"""The rules file: the shipped one loads; each kind of mistake is named with file, line, column and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.cli import main
from handover.rules.loader import MESSAGES, load_rules, parse_rules
from handover.rules.texts import render
from handover.rules.yamlfile import RulesError, Unreadable

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
# the mistakes below are made in a frozen copy, so their positions do not move when the shipped file changes
BASE = (SHIPPED.parents[1] / "tests" / "data" / "rules" / "loader-base.yaml").read_text()


def test_shipped_rules_load_with_a_content_version():
    loaded = load_rules(SHIPPED)
    assert [i.name for i in loaded.rules.intents][:3] == ["greeting", "human_request", "invoice_copy"]
    assert len(loaded.version) == 12 and loaded.version == load_rules(SHIPPED).version
    assert parse_rules(BASE + "\n# a comment\n").version != loaded.version


BROKEN = [
    (
        "then: {queue: general, reason: bot_could_not_help}",
        "then: {queue: biling, reason: bot_could_not_help}",
        "rules.yaml:76:19 escalation[3].then.queue: unknown queue 'biling' (known: billing, general, retention, senior)",
    ),
    (
        '    match: {any: ["obrigado"',
        '    matches: {any: ["obrigado"',
        "rules.yaml:59:5 intents[5].match: required\nrules.yaml:61:5 intents[5].matches: unknown key",
    ),
    (
        '{pt: "Sim, atendente"',
        '{pt: "Sim, quero falar com um atendente"',
        "rules.yaml:56:47 intents[4].buttons[0].title.pt: 33 characters; WhatsApp allows 20",
    ),
    (
        "Olá, {name}!",
        "Olá, {nome}!",
        "rules.yaml:13:11 intents[0].reply.pt: unknown variable {nome} (known here: {name})",
    ),
    (
        "languages: [pt, en]",
        "languages: [pt, en",
        "rules.yaml:6:17 (file): not valid YAML: expected ',' or ']', but got ':'",
    ),
    (
        'timezone: America/Sao_Paulo\n    days: {mon-fri: "09:00-18:00"}',
        'timezone: America/Sao_Polo\n    days: {mon-fri: "09:00-18:00"}',
        "rules.yaml:95:15 business_hours.office.timezone: unknown time zone 'America/Sao_Polo' (e.g. America/Sao_Paulo)",
    ),
    (
        'sat: "09:00-13:00"',
        'sat: "9h-13h"',
        "rules.yaml:92:11 business_hours.store.days: sat: '9h-13h' is not HH:MM-HH:MM",
    ),
    (
        'sat: "09:00-13:00"',
        'sat: "09:00-09:00"',
        "rules.yaml:92:11 business_hours.store.days: sat: '09:00-09:00' never opens (it closes when it opens); "
        "for the whole day write 00:00-24:00",
    ),
    (
        "default_language: pt",
        "default_language: es",
        "rules.yaml:6:19 default_language: 'es' is not one of languages ['en', 'pt']",
    ),
    (
        "when: {media: [audio]}",
        "when: {media: [hologram]}",
        "rules.yaml:72:20 escalation[2].when.media[0]: Input should be 'audio', 'image', 'video', 'document', "
        "'sticker', 'location', 'contacts' or 'unknown'",
    ),
    (
        "customer_tags: [vip], intents:",
        "customer_tags: [gold], intents:",
        "rules.yaml:69:27 escalation[1].when.customer_tags: unknown customer tag 'gold'",
    ),
    (
        "business_hours: office}",
        "business_hours: offce}",
        "rules.yaml:83:89 queues.billing.business_hours: unknown hours 'offce' (known: office, store)",
    ),
    (
        "  - name: thanks\n",
        "  - name: greeting\n",
        "rules.yaml:59:11 intents[5].name: intent 'greeting' is defined twice",
    ),
    (
        '    pattern: "^\\\\d{4,12}$"',
        '    pattern: "^(\\\\d{4,12}$"',
        "rules.yaml:35:18 intents[2].collect[0].pattern: bad regular expression '^(\\\\d{4,12}$': "
        "missing ): ^(\\d{4,12}$",
    ),
    (
        "O pedido {{2}} foi atualizado: {{3}}.",
        "O pedido {{2}} foi atualizado: {{4}}.",
        "rules.yaml:175:14 templates.pedido_atualizado.languages.pt_BR: placeholders must be {{1}}, {{2}}... "
        "in order, got [1, 2, 4]",
    ),
    (
        '      en_US: "Hi {{1}}! This',
        '      english: "Hi {{1}}! This',
        "rules.yaml:169:16 templates.retomar_atendimento.languages.english: 'english' is not a WhatsApp "
        "language code (e.g. pt_BR, en_US, es)",
    ),
    (
        '      en: "Pick the conversation up after 24 hours"\n',
        "",
        "rules.yaml:165:7 templates.retomar_atendimento.description: missing the 'en' text (every text needs "
        "en, pt)",
    ),
    (
        "reopen_within_seconds: 1800\n",
        "reopen_within_seconds: 1800\nintents: []\n",
        "rules.yaml:159:1 intents: defined twice (first at line 8); the second would replace the first",
    ),
    (
        '{any: ["obrigado", "obrigada",',
        '{any: ["obrigado"], any: ["obrigada",',
        "rules.yaml:61:32 intents[5].match.any: defined twice (first at line 61); the second would replace the "
        "first",
    ),
    (
        "  outside_hours:\n",
        "  outside_hour:\n",
        "rules.yaml:131:3 messages.outside_hour: unknown message 'outside_hour'; did you mean 'outside_hours'?",
    ),
    (
        "  identity_retry:\n",
        "  try_again:\n",
        "rules.yaml:149:3 messages.try_again: unknown message 'try_again' (known: agent_changed, contacts, "
        "identity_retry, identity_verified, idle_closed, idle_reminder, leave_details, left_queue, location, "
        "non_text, out_of_scope, outside_hours, queue_update, queued, transferred, transferred_to_person, unrecognized)",
    ),
    (
        '"Atualizando: você',
        '"Atualizando, {name}: você',
        "rules.yaml:138:9 messages.queue_update.pt: unknown variable {name} (known here: {position}, {wait})",
    ),
    (
        '"bom dia"',
        '"!!"',
        "rules.yaml:11:39 intents[0].match.any[3]: keyword '!!' has no letters or digits: it can never match",
    ),
    (
        '{keywords: ["procon",',
        '{keywords: ["  ",',
        "rules.yaml:66:23 escalation[0].when.keywords[0]: keyword '  ' has no letters or digits: it can never "
        "match",
    ),
    (
        'match: {any: ["obrigado", "obrigada", "valeu", "thanks", "thank you"]}',
        "match: {any: []}",
        "rules.yaml:61:18 intents[5].match.any: an empty list matches nothing",
    ),
    (
        'when: {keywords: ["procon", "advogado", "processo", "cancelar", "reclame aqui", "lawyer", "cancel"]}',
        "when: {keywords: []}",
        "rules.yaml:66:22 escalation[0].when.keywords: an empty list matches nothing: this trigger can never fire",
    ),
]


# only plain {name} placeholders: `{wait:x}` dead-lettered every escalation, `{position:>5000000}` hung a
# worker, `{0}` in a canned reply made GET /canned 500 for everyone (issue 28)
BROKEN += [
    (
        "(cerca de {wait}).",
        "(cerca de {wait:x}).",
        "rules.yaml:129:9 messages.queued.pt: {wait:x}: only plain {name} placeholders are filled in (no "
        "format, index or conversion); write {{ and }} for braces",
    ),
    (
        "o {position}º da fila (cerca",
        "o {position:>5000000}º da fila (cerca",
        "rules.yaml:129:9 messages.queued.pt: {position:>5000000}: only plain {name} placeholders are filled "
        "in (no format, index or conversion); write {{ and }} for braces",
    ),
    (
        'pt: "Olá, {name}!',
        'pt: "Olá, {0}{name.upper}{name!r}{name[0]}!',
        "\n".join(
            f"rules.yaml:13:11 intents[0].reply.pt: {shown}: only plain {{name}} placeholders are filled in "
            "(no format, index or conversion); write {{ and }} for braces"
            for shown in ("{0}", "{name.upper}", "{name!r}", "{name[0]}")
        ),
    ),
]


@pytest.mark.parametrize(("old", "new", "error"), BROKEN, ids=[e.split(" ", 2)[1] for *_, e in BROKEN])
def test_each_mistake_is_named_where_it_is(old, new, error):
    assert old in BASE
    with pytest.raises(RulesError) as caught:
        parse_rules(BASE.replace(old, new, 1), "config/rules.yaml")
    assert str(caught.value) == error


def test_the_shipped_rules_give_every_message_the_code_says():
    assert sorted(load_rules(SHIPPED).rules.messages) == sorted(MESSAGES)


def test_templates_count_their_parameters_and_render_them():
    template = load_rules(SHIPPED).rules.templates["pedido_atualizado"]
    assert template.params("pt_BR") == 3
    assert template.render("en_US", ["Ana", "4455", "shipped"]) == (
        "Hi Ana! Order 4455 was updated: shipped. Reply to this message if you need help."
    )


def test_every_problem_is_listed_not_just_the_first():
    text = BASE.replace("Olá, {name}!", "Olá, {nome}!").replace(
        "then: {queue: general, reason: bot_could_not_help}",
        "then: {queue: biling, reason: bot_could_not_help}",
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    assert [p.loc for p in caught.value.problems] == [
        ("intents", 0, "reply", "pt"),
        ("escalation", 3, "then", "queue"),
    ]


def test_missing_file_directory_empty_and_non_mapping(tmp_path):
    with pytest.raises(Unreadable, match=r"^nope.yaml: cannot read: No such file or directory$"):
        load_rules("nope.yaml")
    with pytest.raises(Unreadable, match=r": cannot read: it is a directory, not a file$"):
        load_rules(tmp_path)
    with pytest.raises(RulesError, match=r"^rules.yaml:1:1 \(file\): the file must be a mapping"):
        parse_rules("- just\n- a list\n")
    with pytest.raises(
        RulesError, match=r"^rules.yaml:1:1 \(file\): the file is empty; it must be a mapping"
    ):
        parse_rules("")


def test_a_file_saved_in_another_encoding_names_the_byte_and_where_it_is(tmp_path):
    """An old editor saved it as Latin-1: the first 'ê' (line 10, column 59) is the byte 0xea."""
    path = tmp_path / "rules.yaml"
    path.write_bytes(BASE.encode("latin-1", errors="replace"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert not isinstance(caught.value, Unreadable)
    assert str(caught.value) == f"{path}: not UTF-8 (byte 0xea at line 10, col 59); save it as UTF-8"


def test_schema_and_reference_problems_are_reported_in_one_pass():
    """A value of the wrong type and an unknown queue elsewhere: both, with the positions in the file."""
    text = BASE.replace("    weak: true  # only", "    weak: sometimes  # only").replace(
        "then: {queue: general, reason: bot_could_not_help}",
        "then: {queue: biling, reason: bot_could_not_help}",
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    assert str(caught.value).splitlines() == [
        "rules.yaml:10:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
        "rules.yaml:76:19 escalation[3].then.queue: unknown queue 'biling' (known: billing, general, retention, "
        "senior)",
    ]


def test_a_broken_item_still_counts_as_known_to_the_references():
    """The billing queue has a schema error: the intent that routes to it is not also told 'unknown
    queue'. The first intent is broken too: the problems of the intents after it keep their positions."""
    text = (
        BASE.replace("sla_seconds: 300", "sla_seconds: soon")
        .replace("    weak: true  # only", "    weak: sometimes  # only")
        .replace('{pt: "Sim, atendente"', '{pt: "Sim, quero falar com um atendente"')
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "rules.yaml:10:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
        "rules.yaml:83:68 queues.billing.sla_seconds: Input should be a valid integer, unable to parse string "
        "as an integer",
        "rules.yaml:56:47 intents[4].buttons[0].title.pt: 33 characters; WhatsApp allows 20",
    ]


def test_a_broken_foundation_stops_at_the_schema_problems():
    """With `languages` itself wrong, every text would look wrong: only the real problem is shown."""
    with pytest.raises(RulesError) as caught:
        parse_rules(BASE.replace("languages: [pt, en]", "languages: pt"), "rules.yaml")
    assert [p.loc for p in caught.value.problems] == [("languages",)]


def test_rules_check_command(tmp_path, capsys):
    assert main(["rules", "check", str(SHIPPED)]) == 0
    assert "ok" in capsys.readouterr().out
    broken = tmp_path / "rules.yaml"
    broken.write_text(BASE.replace("Olá, {name}!", "Olá, {nome}!"))
    assert main(["rules", "check", str(broken)]) == 1
    assert capsys.readouterr().err.strip() == (
        "rules.yaml:13:11 intents[0].reply.pt: unknown variable {nome} (known here: {name})"
    )


def test_rules_schema_command_prints_json_schema(capsys):
    assert main(["rules", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Rules" and "intents" in schema["properties"]
    assert schema["$defs"]["Intent"]["additionalProperties"] is False


def test_packet_schema_command(capsys):
    assert main(["packet", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "ContextPacket"
    assert {"identity", "escalation", "transcript", "transfers", "summary"} <= set(schema["properties"])


def laughs(levels: int = 9) -> str:
    """A rules file of aliases of aliases: 10 values, each list of the next level ten of the last."""
    lines = ["version: 1", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_that_expand_past_the_budget_are_refused_where_they_pass_it():
    with pytest.raises(RulesError) as caught:  # was: 122 s and 1.77 GB for a 44 KB file
        parse_rules(laughs(), "rules.yaml")
    assert (
        str(caught.value) == "rules.yaml:6:45 (file): more than 100,000 values once its aliases are expanded"
    )


def test_nesting_past_64_levels_is_refused_at_the_level_that_passes_it():
    with pytest.raises(RulesError) as caught:  # was: RecursionError, no file or line
        parse_rules("version: 1\nintents:\n  - " + "[" * 100_000 + "]" * 100_000 + "\n", "rules.yaml")
    assert str(caught.value) == "rules.yaml:3:67 (file): nested deeper than 64 levels"


def test_a_canned_reply_with_a_format_spec_is_refused():
    rules = yaml.safe_load(SHIPPED.read_text())
    rules["canned"]["greeting"]["pt"] = "Olá {0}, pedido {order_number:>9}"
    with pytest.raises(RulesError) as caught:
        parse_rules(yaml.safe_dump(rules, allow_unicode=True), "rules.yaml")
    assert "canned.greeting.pt: {0}: only plain {name} placeholders" in str(caught.value)
    assert "canned.greeting.pt: {order_number:>9}: only plain {name} placeholders" in str(caught.value)


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("Olá, {name}! {{chaves}}", "Olá, Ana! {chaves}"),
        ("espera {wait:x}", "espera {wait:x}"),
        ("{position:>5000000}º", "{position:>5000000}º"),
        ("{0} {name.upper} {name!r} {name[0]}", "{0} {name.upper} {name!r} {name[0]}"),
        ("{desconhecido}", ""),
        ("aberta {", "aberta {"),
    ],
)
def test_texts_fill_only_plain_placeholders_and_never_fail(template, said):
    # a rules version stored before `rules check` refused these still cannot fail a turn or grow a text
    assert render(template, {"name": "Ana", "wait": "2 min", "position": 3}) == said


def test_a_message_longer_than_whatsapp_takes_is_refused():
    long = "Pronto, {name}, " + "identidade confirmada. " * 200
    with pytest.raises(RulesError) as caught:
        parse_rules(BASE.replace("Pronto, {name}, identidade confirmada.", long, 1), "rules.yaml")
    assert (
        str(caught.value)
        == f"rules.yaml:147:9 messages.identity_verified.pt: {len(long)} characters; WhatsApp allows 4096"
    )

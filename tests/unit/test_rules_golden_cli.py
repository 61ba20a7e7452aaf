"""`handover rules test`: golden conversations (scripted customer turns and what the bot should do at
each) pass on the shipped rules; a failure shows a diff; a broken golden file, or a broken rules file
under it, is named where it is wrong."""

from __future__ import annotations

from app.cli import main
from tests.unit.test_rules_loader import BASE, SHIPPED

GOLDEN = SHIPPED.parents[1] / "tests" / "data" / "golden" / "shipped.yaml"


def test_shipped_golden_conversations_pass(capsys):
    assert main(["rules", "test", str(GOLDEN)]) == 0
    assert "0 conversations failed" in capsys.readouterr().out


def test_golden_failure_shows_a_diff(tmp_path, capsys):
    golden = tmp_path / "golden.yaml"
    golden.write_text(
        GOLDEN.read_text()
        .replace("reason: customer_asked, priority: normal}", "reason: customer_asked, priority: urgent}")
        .replace("rules: ../../../config/rules.yaml", f"rules: {SHIPPED}")
    )
    assert main(["rules", "test", str(golden)]) == 1
    err = capsys.readouterr().err
    assert "FAIL greeting, then a person, turn 2 ('menu_atendente'):" in err
    assert "-  priority: urgent" in err and "+  priority: normal" in err


def test_a_broken_golden_file_names_each_problem_where_it_is(tmp_path, capsys):
    golden = tmp_path / "golden.yaml"
    golden.write_text(
        f"rules: {SHIPPED}\nat: 2026-11-23T10:00:00-03:00\nconversations:\n"
        "  - name: hello\n    turns:\n      - say: oi\n        expect: {intnet: greeting}\n"
    )
    assert main(["rules", "test", str(golden)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "golden.yaml:7:18 conversations[0].turns[0].expect.intnet: unknown key"
    )
    assert main(["rules", "test", str(tmp_path / "nope.yaml")]) == 2
    assert (
        capsys.readouterr().err.splitlines()[-1].endswith("nope.yaml: cannot read: No such file or directory")
    )


def test_a_key_given_twice_in_a_golden_file_is_named_too(tmp_path, capsys):
    golden = tmp_path / "golden.yaml"
    golden.write_text(
        f"rules: {SHIPPED}\nat: 2026-11-23T10:00:00-03:00\nconversations:\n"
        "  - name: hello\n    turns:\n      - say: oi\n        expect: {intent: greeting}\n"
        "        say: ola\n"
    )
    assert main(["rules", "test", str(golden)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "golden.yaml:8:9 conversations[0].turns[0].say: defined twice (first at line 6); the second would "
        "replace the first"
    )


def test_rules_test_against_a_broken_rules_file_names_the_problem(tmp_path, capsys):
    broken = tmp_path / "rules.yaml"
    broken.write_text(BASE.replace("Olá, {name}!", "Olá, {nome}!"))
    assert main(["rules", "test", str(GOLDEN), "--rules", str(broken)]) == 1
    assert "unknown variable {nome}" in capsys.readouterr().err

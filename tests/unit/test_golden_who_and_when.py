"""Golden files test the rules that depend on who and when (handover/rules/tools/golden.py): a customer's
`tags`, a turn's `at`, media turns with a caption; mistakes in them are named file:line:col, and a wrong
expectation fails with a diff that says which turn, and when."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
HEAD = f"rules: {SHIPPED}\nat: 2026-11-23T10:00:00-03:00   # Monday 10:00: open\nqueue_position: 3\nconversations:\n"


def golden(tmp_path: Path, conversations: str) -> str:
    path = tmp_path / "golden.yaml"
    path.write_text(HEAD + conversations)
    return str(path)


def test_a_tagged_customer_meets_the_rules_for_the_tag(tmp_path, capsys):
    vip = """  - name: vip
    customer: {wa_id: "5511955554444", tags: [vip]}
    turns:
      - say: "cadê meu pedido?"
        expect: {escalate: {queue: general, priority: high, reason: vip}, reply_contains: "3º da fila"}
"""
    assert main(["rules", "test", golden(tmp_path, vip)]) == 0
    assert "1 turns checked, 0 conversations failed" in capsys.readouterr().out

    untagged = vip.replace(", tags: [vip]", "")  # the rules' customer_tags.vip lists nobody
    assert main(["rules", "test", golden(tmp_path, untagged)]) == 1
    err = capsys.readouterr().err
    assert "FAIL vip, turn 1 ('cadê meu pedido?'):" in err
    assert "-escalate:" in err and "+escalate: null" in err


def test_a_turn_at_night_is_told_when_the_store_opens(tmp_path, capsys):
    night = """  - name: late
    turns:
      - say: "oi"
        expect: {intent: greeting}
      - say: "atendente"
        at: 2026-11-27T22:30:00-03:00
        expect: {reply_contains: "3º da fila"}
"""
    assert main(["rules", "test", golden(tmp_path, night)]) == 1
    err = capsys.readouterr().err
    assert "FAIL late, turn 2 ('atendente' at 2026-11-27T22:30:00-03:00):" in err
    # Friday night: the store (mon-fri 08-20, sat 09-13) is back on Saturday
    assert "-reply_contains: 3º da fila" in err
    assert "+reply_contains: Nosso time atende amanhã às 09:00." in err

    day = night.replace("22:30", "10:30")
    assert main(["rules", "test", golden(tmp_path, day)]) == 0


def test_media_turns_with_and_without_a_caption(tmp_path, capsys):
    media = """  - name: media
    turns:
      - media: image
        caption: "olha o print"
        expect: {rule: messages.non_text}
      - media: document
        expect: {rule: messages.non_text}
      - media: audio
        expect: {escalate: {queue: general, reason: audio_received}}
"""
    assert main(["rules", "test", golden(tmp_path, media)]) == 0
    assert "3 turns checked" in capsys.readouterr().out

    wrong = media.replace(
        "expect: {rule: messages.non_text}\n      - media: document",
        "expect: {silent: true}\n      - media: document",
    )
    assert main(["rules", "test", golden(tmp_path, wrong)]) == 1
    err = capsys.readouterr().err
    assert "FAIL media, turn 1 (image 'olha o print'):" in err
    assert "-silent: true" in err and "+silent: false" in err


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        (
            '      - media: audio\n        caption: "oi"\n        expect: {silent: true}\n',
            "golden.yaml:8:9 conversations[0].turns[0]: a caption goes with media: image, video, document",
        ),
        (
            '      - media: image\n        say: "oi"\n        expect: {silent: true}\n',
            "golden.yaml:8:9 conversations[0].turns[0]: a media turn has no say or button: give an image, "
            "video or document a caption",
        ),
        (
            "      - say: oi\n        at: 2026-11-23T22:30:00\n        expect: {silent: true}\n",
            "golden.yaml:9:13 conversations[0].turns[0].at: Input should have timezone info",
        ),
        (
            "      - say: oi\n        at: 2026-11-23T22:30:00-03:00\n        expect: {silent: true}\n"
            "      - say: oi\n        at: 2026-11-23T22:00:00-03:00\n        expect: {silent: true}\n",
            "golden.yaml:5:5 conversations[0]: turn 2's at (2026-11-23T22:00:00-03:00) is before the time "
            "before it",
        ),
        (
            "      - say: oi\n        expect: {silent: true}\n",
            None,
        ),
    ],
    ids=["caption on audio", "say with media", "at without offset", "time going back", "fine"],
)
def test_a_wrong_turn_is_named_where_it_is(tmp_path, capsys, turns, problem):
    path = golden(tmp_path, "  - name: x\n    customer: {tags: [vip]}\n    turns:\n" + turns)
    if problem is None:
        main(["rules", "test", path])
        assert "golden.yaml:" not in capsys.readouterr().err
        return
    assert main(["rules", "test", path]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == problem

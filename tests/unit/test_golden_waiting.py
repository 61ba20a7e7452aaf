"""Golden files test what a waiting customer is told (handover/rules/tools/golden.py, rules/replay.py): after a
handover, leaving the queue and asking how long are answered as the worker answers them (the file's
queue_position and typical wait, or when people are back while closed), anything else stays silent, and
after leaving the next turn starts a new conversation with the bot; a wrong expectation fails with a diff."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.cli import main
from handover.message import CustomerRef
from handover.rules.loader import load_rules
from handover.rules.tools.golden import Turn, _FixedQueues, play

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
HEAD = (
    f"rules: {SHIPPED}\nat: 2026-11-23T10:00:00-03:00   # Monday 10:00: open\n"
    "queue_position: 5\ntypical_wait_seconds: 120\nconversations:\n"
)
ASK = '      - say: "quero falar com um atendente"\n        expect: {escalate: {queue: general}}\n'
ANA = CustomerRef(phone_number_id="golden", wa_id="5511987654321", profile_name="Ana")


def golden(tmp_path: Path, turns: str, name: str = "waits") -> str:
    path = tmp_path / "golden.yaml"
    path.write_text(HEAD + f"  - name: {name}\n    customer: {{name: Ana}}\n    turns:\n" + ASK + turns)
    return str(path)


def test_leaving_while_waiting_is_told_and_the_next_turn_starts_anew_with_the_bot(tmp_path, capsys):
    turns = """      - say: "deixa pra lá, já resolvi"
        expect: {rule: intents.leave_queue, action: leave, state: abandoned, reply_contains: "saí da fila"}
      - say: "oi"
        expect: {intent: greeting, state: bot, reply_contains: "Olá, Ana!"}
      - say: "atendente"
        expect: {escalate: {queue: general}, state: queued}
"""
    assert main(["rules", "test", golden(tmp_path, turns)]) == 0
    assert "4 turns checked, 0 conversations failed" in capsys.readouterr().out

    # as before waiting turns were heard: the turn taken for silence fails, and says what happened
    silent = turns.replace(
        '{rule: intents.leave_queue, action: leave, state: abandoned, reply_contains: "saí da fila"}',
        "{silent: true, state: queued}",
    )
    assert main(["rules", "test", golden(tmp_path, silent)]) == 1
    err = capsys.readouterr().err
    assert "FAIL waits, turn 2 ('deixa pra lá, já resolvi'):" in err
    assert "-silent: true\n-state: queued\n+silent: false\n+state: abandoned" in err


def test_asking_how_long_is_told_the_files_place_and_estimate(tmp_path, capsys):
    # fifth in line, two minutes a place: 5 places of 120 s less half of one = 9 minutes
    turns = """      - say: "falta muito?"
        expect: {rule: intents.queue_status, action: reply, state: queued,
                 reply_contains: "você agora é o 5º da fila (espera estimada: 9 min)"}
"""
    assert main(["rules", "test", golden(tmp_path, turns)]) == 0
    capsys.readouterr()

    wrong = turns.replace("5º da fila (espera estimada: 9 min)", "2º da fila")
    assert main(["rules", "test", golden(tmp_path, wrong)]) == 1
    err = capsys.readouterr().err
    assert "FAIL waits, turn 2 ('falta muito?'):" in err
    assert "-reply_contains: você agora é o 2º da fila" in err
    assert "+reply_contains: 'Atualizando: você agora é o 5º da fila (espera estimada: 9 min).'" in err


def test_asking_how_long_when_the_queue_is_closed_is_told_when_people_are_back(tmp_path, capsys):
    turns = """      - say: "falta muito?"
        at: 2026-11-27T22:30:00-03:00
        expect: {rule: intents.queue_status, state: queued, reply_contains: "da fila"}
"""
    assert main(["rules", "test", golden(tmp_path, turns)]) == 1
    err = capsys.readouterr().err
    assert "FAIL waits, turn 2 ('falta muito?' at 2026-11-27T22:30:00-03:00):" in err
    # Friday night: the store (mon-fri 08-20, sat 09-13) is back on Saturday
    assert "+reply_contains: Nosso time atende amanhã às 09:00." in err


def test_a_queue_closed_with_leave_details_asks_for_them_again(tmp_path, capsys):
    path = tmp_path / "golden.yaml"
    path.write_text(
        HEAD
        + """  - name: billing
    at: 2026-11-27T17:55:00-03:00   # Friday; billing's office closes at 18:00
    turns:
      - say: "preciso da segunda via do boleto"
        expect: {identity: cpf}
      - say: "111.444.777-35"
        expect: {identity: birth_date}
      - say: "02/11/1975"
        expect: {escalate: {queue: billing}, reply_contains: "5º da fila"}
      - say: "vai demorar?"
        at: 2026-11-27T18:10:00-03:00
        expect: {rule: intents.queue_status, reply_contains: "Estamos fora do horário (segunda-feira às 09:00)"}
"""
    )
    assert main(["rules", "test", str(path)]) == 0, capsys.readouterr().err


def test_what_no_waiting_intent_hears_stays_silent(tmp_path, capsys):
    turns = """      - say: "obrigada"
        expect: {silent: true, action: silent, state: queued}
      - say: "cancela o atendimento, vou no procon"
        expect: {rule: intents.leave_queue, state: abandoned}
"""
    assert main(["rules", "test", golden(tmp_path, turns)]) == 0
    capsys.readouterr()

    wrong = turns.replace("{silent: true, action: silent, state: queued}", "{intent: thanks}")
    assert main(["rules", "test", golden(tmp_path, wrong)]) == 1
    err = capsys.readouterr().err
    assert "FAIL waits, turn 2 ('obrigada'):" in err
    assert "-intent: thanks\n+intent: null" in err


def test_play_gives_each_turn_the_conversation_it_went_to() -> None:
    loaded = load_rules(SHIPPED)
    at = datetime.fromisoformat("2026-11-23T10:00:00-03:00").timestamp()
    said = ["atendente", "falta muito?", "obrigada", "deixa pra lá", "obrigada", "atendente"]
    turns = [Turn.model_validate({"say": s, "expect": {}}) for s in said]
    played = [actual for _, actual in play(loaded, turns, at, ANA, _FixedQueues(3, 120.0))]
    assert [(p["state"], p["action"], p.get("rule")) for p in played] == [
        ("queued", "escalate", "intents.human_request"),
        ("queued", "reply", "intents.queue_status"),
        ("queued", "silent", None),
        ("abandoned", "leave", "intents.leave_queue"),
        ("bot", "reply", "intents.thanks"),  # a new conversation: the bot answers the thanks
        ("queued", "escalate", "intents.human_request"),
    ]
    assert "3º da fila (espera estimada: 5 min)" in played[1]["reply_contains"]
    assert played[3]["reply_contains"] == "Tudo bem, Ana, saí da fila. Se precisar, é só chamar de novo."


def test_an_action_or_state_no_turn_can_have_is_named_where_it_is(tmp_path, capsys):
    turns = '      - say: "deixa pra lá"\n        expect: {action: left, state: waiting}\n'
    assert main(["rules", "test", golden(tmp_path, turns)]) == 1
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "golden.yaml:12:26 conversations[0].turns[1].expect.action: Input should be 'reply', 'ask', "
        "'identity', 'escalate', 'unrecognized', 'silent' or 'leave'",
        "golden.yaml:12:39 conversations[0].turns[1].expect.state: Input should be 'bot', 'queued' or "
        "'abandoned'",
    ]

"""Business hours: open or not at a moment, and when people are back, including spans past midnight."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.cli import main
from handover.hours import describe_opening, is_open
from handover.rules.model import Hours

CONFIG = Path(__file__).resolve().parents[2] / "config"
NIGHTS = Hours(days={"mon-fri": "22:00-06:00"})  # 2026-11-23 is a Monday


def at(moment: str) -> float:
    return datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-23T21:59", False),
        ("2026-11-23T22:00", True),
        ("2026-11-24T00:00", True),  # Monday's night goes on into Tuesday
        ("2026-11-24T05:59", True),
        ("2026-11-24T06:00", False),
        ("2026-11-23T03:00", False),  # Sunday is not listed: no night runs into Monday
        ("2026-11-28T03:00", True),  # Friday's night runs into Saturday
        ("2026-11-29T03:00", False),
    ],
)
def test_a_span_past_midnight_opens_on_its_day_and_closes_the_next_morning(moment, open_):
    assert is_open(NIGHTS, at(moment)) is open_


def test_a_sunday_night_runs_into_monday_and_a_day_overrides_its_group():
    hours = Hours(days={"mon-fri": "22:00-06:00", "fri": "09:00-17:00", "sun": "20:00-02:00"})
    assert is_open(hours, at("2026-11-23T01:00"))  # Sunday's night, on Monday
    assert not is_open(hours, at("2026-11-28T03:00"))  # Friday is a day shift: no night into Saturday
    assert is_open(hours, at("2026-11-27T10:00"))


def test_a_span_to_midnight_is_open_until_midnight():
    hours = Hours(days={"mon": "18:00-00:00"})
    assert is_open(hours, at("2026-11-23T23:59"))
    assert not is_open(hours, at("2026-11-24T00:00"))
    assert is_open(Hours(days={"mon": "00:00-24:00"}), at("2026-11-23T23:59"))


@pytest.mark.parametrize(
    ("moment", "language", "told"),
    [
        ("2026-11-24T10:00", "pt", "hoje às 22:00"),
        ("2026-11-23T03:00", "en", "today at 22:00"),
        ("2026-11-28T07:00", "pt", "segunda-feira às 22:00"),
        ("2026-11-27T06:30", "en", "today at 22:00"),
    ],
)
def test_customers_outside_a_night_shift_are_told_when_it_opens(moment, language, told):
    assert describe_opening(NIGHTS, at(moment), language) == told


def test_the_bot_hands_over_at_night_and_says_when_the_night_shift_is_back(tmp_path, capsys):
    shutil.copy(CONFIG / "customers.yaml", tmp_path / "customers.yaml")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        (CONFIG / "rules.yaml")
        .read_text()
        .replace('days: {mon-fri: "08:00-20:00", sat: "09:00-13:00"}', 'days: {mon-fri: "22:00-06:00"}')
    )
    golden = tmp_path / "golden.yaml"
    golden.write_text(
        "rules: rules.yaml\nat: 2026-11-24T02:00:00-03:00\nqueue_position: 2\nconversations:\n"
        "  - name: Monday night, at 2 on Tuesday\n    turns:\n"
        "      - {say: atendente, expect: {escalate: {queue: general}, reply_contains: '2º da fila'}}\n"
        "  - name: Tuesday morning\n    at: 2026-11-24T10:00:00-03:00\n    turns:\n"
        "      - {say: atendente, expect: {escalate: {queue: general}, reply_contains: 'atende hoje às 22:00'}}\n"
    )
    assert main(["rules", "test", str(golden)]) == 0, capsys.readouterr().err

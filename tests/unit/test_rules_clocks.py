"""The clocks' settings in the rules file (queues' agent_reply_seconds, on_agent_silence,
requeue_after_seconds, customer_idle; csat.on_idle_close): each mistake named with file, line, column and
key, as `handover rules check` prints it; the shipped file sets them and loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from handover.rules.loader import load_rules, parse_rules
from handover.rules.model import AgentSilence
from handover.rules.yamlfile import RulesError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
BASE = (SHIPPED.parents[1] / "tests" / "data" / "rules" / "loader-base.yaml").read_text()
GENERAL = (
    'general: {label: {pt: "atendimento", en: "customer care"}, sla_seconds: 120, business_hours: store}'
)


def with_general(settings: str) -> str:
    assert GENERAL in BASE
    return BASE.replace(GENERAL, f"{GENERAL[:-1]}, {settings}}}", 1)


BROKEN = [
    (
        "agent_reply_seconds: 5",
        "82:124 queues.general.agent_reply_seconds: Input should be greater than or equal to 10",
    ),
    (
        "on_agent_silence: requeue",
        "82:12 queues.general: on_agent_silence and requeue_after_seconds need agent_reply_seconds",
    ),
    (
        "agent_reply_seconds: 180, on_agent_silence: shout",
        "82:147 queues.general.on_agent_silence: Input should be 'alert' or 'requeue'",
    ),
    (
        "agent_reply_seconds: 180, requeue_after_seconds: 300",
        "82:12 queues.general: requeue_after_seconds is for on_agent_silence: requeue",
    ),
    (
        "agent_reply_seconds: 180, on_agent_silence: requeue, requeue_after_seconds: 60",
        "82:12 queues.general: requeue_after_seconds must be at least agent_reply_seconds",
    ),
    (
        "customer_idle: {remind_after_minutes: 30, close_after_minutes: 20}",
        "82:118 queues.general.customer_idle: remind_after_minutes must come before close_after_minutes",
    ),
    (
        "customer_idle: {remind_after_minutes: 10}",
        "82:118 queues.general.customer_idle.close_after_minutes: required",
    ),
    (
        "customer_idle: {close_after_minutes: 20, remind_after: 5}",
        "82:144 queues.general.customer_idle.remind_after: unknown key",
    ),
]


@pytest.mark.parametrize(
    ("settings", "error"), BROKEN, ids=[s.split(":")[0] + str(n) for n, (s, _) in enumerate(BROKEN)]
)
def test_each_clock_mistake_is_named_where_it_is(settings: str, error: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(with_general(settings), "config/rules.yaml")
    assert str(caught.value) == f"rules.yaml:{error}"


def test_csat_on_idle_close_is_a_yes_or_no() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(BASE.replace("csat:\n", "csat:\n  on_idle_close: maybe\n", 1), "config/rules.yaml")
    assert str(caught.value).startswith(
        "rules.yaml:113:18 csat.on_idle_close: Input should be a valid boolean"
    )


def test_a_queue_with_every_clock_loads() -> None:
    settings = (
        "agent_reply_seconds: 180, on_agent_silence: requeue, requeue_after_seconds: 400, "
        "customer_idle: {remind_after_minutes: 10, close_after_minutes: 30}"
    )
    general = parse_rules(with_general(settings), "config/rules.yaml").rules.queues["general"]
    assert (general.agent_reply_seconds, general.requeue_seconds) == (180, 400)
    assert general.customer_idle is not None and general.customer_idle.close_after_minutes == 30


def test_the_shipped_rules_set_the_clocks() -> None:
    queues = load_rules(SHIPPED).rules.queues
    assert (queues["general"].agent_reply_seconds, queues["general"].on_agent_silence) == (
        180,
        AgentSilence.ALERT,
    )
    assert queues["retention"].requeue_seconds == 300
    assert queues["general"].customer_idle is not None and queues["retention"].customer_idle is not None
    assert queues["billing"].agent_reply_seconds is None  # no clock unless ops set one

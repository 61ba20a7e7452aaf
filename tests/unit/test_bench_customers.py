"""The mixed bench's customers (bench/customers.py): their CPFs are valid, and every script, sent as webhook
bodies and played through the rule bot on the rules the bench serves, gets the replies the customer waits
for and reaches a person exactly when it says it does."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.customers import cpf_digits, identities, message, scripts, write_rules
from handover.conversation import Conversation
from handover.identity import is_valid_cpf
from handover.rules.bot import RuleBot
from handover.rules.directory import RulesDirectory
from handover.rules.loader import load_rules
from tests.support.webhook import body
from tests.unit.test_rule_bot import FakeQueues
from webhooks.normalize import normalize

MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
PEOPLE = identities(40)


def test_cpf_check_digits_match_known_cpfs():
    assert cpf_digits(529982247) == "52998224725"
    assert cpf_digits(111444777) == "11144477735"
    assert all(is_valid_cpf(p.cpf) for p in identities())


@pytest.mark.parametrize("index", range(len(scripts(PEOPLE[0], "1234"))))
def test_each_script_gets_the_replies_its_customer_waits_for(tmp_path: Path, index: int):
    loaded = load_rules(write_rules(tmp_path, PEOPLE))
    bot = RuleBot(lambda *_: loaded, FakeQueues(), RulesDirectory(lambda: loaded), clock=lambda: MONDAY_10H)
    rng = random.Random(index)
    person = rng.choice(PEOPLE)
    script = scripts(person, "48151623")[index]
    [first] = normalize(body([message(script.turns[0], "5511900000001", "wamid.0", 1)])).messages
    conversation = Conversation.start(first.customer, MONDAY_10H)
    escalated = False
    for n, turn in enumerate(script.turns):
        [said] = normalize(body([message(turn, "5511900000001", f"wamid.{n}", int(MONDAY_10H) + n)])).messages
        assert not escalated, f"{script.name}: turn {n} comes after the handover"
        answer = bot.handle(conversation, said)
        assert len(answer.replies) == turn.replies, f"{script.name}: turn {n} ({turn.text!r})"
        escalated = answer.escalation is not None
    assert escalated == script.escalates
    proves = any(turn.text == person.cpf for turn in script.turns)
    assert (conversation.identity is not None) == proves, "the directory confirms the customer"

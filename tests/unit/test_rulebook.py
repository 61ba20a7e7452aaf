"""Rules per number (handover/rules/holder.py Rulebook, app/wiring.py rules_holder): each number numbers.yaml
lists answers by its own file; a bad file for one number keeps it on its last good rules and never touches
the others; each process reports, and each number keeps, the versions it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import fakeredis
import pytest

from app.wiring import rules_holder
from config.settings import Settings
from handover import keys
from handover.rules import versions
from handover.rules.holder import Rulebook, RulesHolder
from handover.rules.tools.stored import newest_of
from handover.rules.yamlfile import RulesError
from tests.unit.test_rules_reload import Clock, bump

NUMBERS = Path(__file__).resolve().parents[1] / "data" / "numbers"
LOJA, VENDAS = "106540352242922", "106540352242923"
UNLISTED = "555000111"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(NUMBERS, copy)
    return copy


def greeting(loaded: object) -> str:
    rules = loaded.rules  # type: ignore[attr-defined]
    return next(i for i in rules.intents if i.name == "greeting").reply["pt"]


def test_a_bad_file_for_one_number_keeps_it_on_its_last_good_rules_and_never_touches_the_others(folder):
    clock = Clock()
    loja = RulesHolder(folder / "loja.yaml", check_every=1.0, clock=clock)
    vendas = RulesHolder(folder / "vendas.yaml", check_every=1.0, clock=clock)
    book = Rulebook(loja, {LOJA: loja, VENDAS: vendas})
    kept = book(VENDAS)
    bump(folder / "vendas.yaml", "queues: [not, a, mapping\n")  # broken after load
    bump(folder / "loja.yaml", (folder / "loja.yaml").read_text().replace("suporte da loja", "SAC da loja"))
    clock.now = 2.0
    assert book(VENDAS) is kept  # the sales number stays on what it ran
    assert vendas.last_error is not None and "vendas.yaml" in str(vendas.last_error.problems[0])
    assert "SAC da loja" in greeting(book(LOJA))  # the other number's edit still goes through
    assert loja.last_error is None
    assert book(UNLISTED) is book(LOJA) is book()  # not listed, or no number: the default rules


def test_the_process_builds_one_holder_per_listed_number(folder):
    client = fakeredis.FakeRedis(decode_responses=True)
    book = rules_holder(Settings(handover_rules=folder), client, "worker")
    assert list(book.holders()) == [None, LOJA, VENDAS]
    assert "suporte da loja" in greeting(book(LOJA))
    assert "time de vendas" in greeting(book(VENDAS))
    assert "vendas" in book(VENDAS).rules.queues and "vendas" not in book(LOJA).rules.queues
    assert greeting(book(UNLISTED)) == greeting(book(LOJA))  # the default is loja.yaml
    # each listed number keeps its own history; every version is kept once for all
    assert client.zrange(keys.rules_version_index_key(VENDAS), 0, -1) == [book(VENDAS).version]
    assert set(client.zrange(keys.RULES_VERSION_INDEX, 0, -1)) == {book(LOJA).version, book(VENDAS).version}
    assert [v.version for v in versions.history(client, VENDAS)] == [book(VENDAS).version]


def test_one_rules_file_answers_every_number_as_before(folder):
    client = fakeredis.FakeRedis(decode_responses=True)
    book = rules_holder(Settings(handover_rules=folder / "vendas.yaml"), client, "web")
    assert list(book.holders()) == [None]
    assert book(LOJA) is book(VENDAS) is book()
    assert client.keys("hv:{*") == []  # no number's history: one file's versions are everyone's


def test_a_bad_numbers_file_fails_the_start_loudly(folder):
    listing = 'default: loja.yaml\nnumbers:\n  "106540352242922": {name: Loja, rules: gone.yaml}\n'
    (folder / "numbers.yaml").write_text(listing)
    with pytest.raises(RulesError) as raised:
        rules_holder(Settings(handover_rules=folder), fakeredis.FakeRedis(), "worker")
    assert str(raised.value.problems[0]).startswith(f"{folder / 'numbers.yaml'}:3:")
    assert "numbers.106540352242922.rules: no such file" in str(raised.value.problems[0])


def test_a_bad_rules_file_of_one_number_fails_the_start_loudly(folder):
    (folder / "vendas.yaml").write_text("version: 1\n")
    with pytest.raises(RulesError):
        rules_holder(Settings(handover_rules=folder), fakeredis.FakeRedis(), "worker")


def test_each_process_reports_the_version_it_runs_per_number_and_reload_confirms_per_number(folder):
    client = fakeredis.FakeRedis(decode_responses=True)
    clock = Clock()
    loja = RulesHolder(folder / "loja.yaml", check_every=1.0, clock=clock)
    vendas = RulesHolder(folder / "vendas.yaml", check_every=1.0, clock=clock)
    reporter = versions.Reporter(client, Rulebook(loja, {LOJA: loja, VENDAS: vendas}), "worker")
    old = vendas().version
    bump(folder / "vendas.yaml", "queues: [broken\n")
    process = reporter()
    assert (process.version, process.versions) == (loja().version, {LOJA: loja().version, VENDAS: old})
    assert process.error is None and "vendas.yaml" in process.errors[VENDAS]
    [seen] = versions.live(client)
    assert seen.runs(VENDAS) == old and seen.refusal(VENDAS) == process.errors[VENDAS]
    assert seen.runs(UNLISTED) == seen.runs() == loja().version
    state = versions.Confirmation(old, [seen], 0.0, VENDAS)
    assert state.summary() == f"1/1 processes on {old} for {VENDAS}"
    state = versions.Confirmation("ffffffffffff", [seen], 0.0, VENDAS)
    assert state.refused == [seen]  # it said why: waiting will not help
    assert state.reasons()[0].startswith(f"{seen.id} still on {old}: refused the file: ")
    assert versions.current_version(client, [seen], VENDAS) == old
    assert versions.current_version(client, [seen]) == loja().version


def test_a_report_of_a_process_from_before_numbers_reads_as_every_numbers():
    # a process still on the old code reports no `versions`: it runs its one file for every number
    old = versions.ProcessReport("worker:h:1", "worker", "h", 1, "0123456789ab", 0.0)
    assert old.runs(VENDAS) == "0123456789ab" and old.refusal(VENDAS) is None


def test_whatif_of_one_number_replays_the_newest_conversations_of_that_number_only():
    client = fakeredis.FakeRedis(decode_responses=True)
    for at, (conversation, number) in enumerate([("a", LOJA), ("b", VENDAS), ("c", LOJA), ("d", VENDAS)]):
        client.zadd(keys.CONVERSATIONS, {conversation: at})
        client.hset(keys.conversation_key(conversation), "phone_number_id", number)
    assert newest_of(client, VENDAS, 1) == ["d"]
    assert newest_of(client, LOJA, 5) == ["a", "c"]  # oldest of them first, as the replay reads them

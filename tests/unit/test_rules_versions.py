"""Rules versions kept in Redis, references to them (prefixes, `current`), their diff, and the reports each
process makes of the version it runs, as `rules reload` reads them to confirm."""

from __future__ import annotations

import hashlib

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from handover import keys
from handover.clock import FixedClock
from handover.rules import versions
from handover.rules.holder import RulesHolder
from handover.rules.loader import parse_rules
from handover.rules.versions import (
    AmbiguousVersion,
    Confirmation,
    ProcessReport,
    Reporter,
    UnknownVersion,
)
from tests.unit.test_rules_reload import bump, copy_rules

BASE = """version: 1
languages: [pt]
default_language: pt
intents:
  - name: hello
    match: {any: [oi]}
    reply: {pt: Olá}
queues:
  general: {}
messages:
  unrecognized: {pt: Não entendi}
  queued: {pt: "Você é o {position}º (~{wait})"}
"""


def rules_text(reply: str) -> str:
    return BASE.replace("reply: {pt: Olá}", f"reply: {{pt: {reply}}}")


@pytest.fixture
def client() -> redis.Redis:
    return fakeredis.FakeRedis(decode_responses=True)


def kept(
    client: redis.Redis, reply: str, by: str = "ana@laptop", at: float = 1000.0
) -> versions.RulesVersion:
    loaded = parse_rules(rules_text(reply))
    versions.record(client, loaded, by, clock=FixedClock(at))
    found = versions.get(client, loaded.version)
    assert found is not None
    return found


def process(pid: int, version: str, seen_at: float, error: str | None = None) -> ProcessReport:
    return ProcessReport(f"worker:h:{pid}", "worker", "h", pid, version, seen_at, error)


def test_a_version_is_kept_whole_and_the_first_writer_names_who_brought_it(client):
    loaded = parse_rules(rules_text("Olá"))
    assert versions.record(client, loaded, "ana@laptop", clock=FixedClock(1000.0)) is True
    # the processes load it after the CLI announced it: the CLI's attribution and time stay
    assert versions.record(client, loaded, "process worker on h", clock=FixedClock(1005.0)) is False
    found = versions.get(client, loaded.version)
    assert found is not None
    assert found.by == "ana@laptop" and found.first_loaded_at == 1000.0
    assert found.content == rules_text("Olá")
    assert found.hash == hashlib.sha256(rules_text("Olá").encode()).hexdigest()
    assert found.hash.startswith(found.version) and len(found.version) == 12


def test_history_is_newest_first_and_capped(client, monkeypatch):
    monkeypatch.setattr(versions, "VERSIONS_KEPT", 3)
    made = [kept(client, f"Olá {i}", at=1000.0 + i) for i in range(5)]
    assert [v.version for v in versions.history(client)] == [v.version for v in reversed(made[2:])]
    assert versions.get(client, made[0].version) is None  # the oldest went, content and all
    assert client.hlen(keys.RULES_VERSIONS) == client.hlen(keys.RULES_CONTENTS) == 3


def test_a_prefix_or_the_full_hash_names_one_version(client):
    one, other = kept(client, "Olá", at=1.0), kept(client, "Oi!", at=2.0)
    assert versions.resolve(client, one.version[:6]) == one
    assert versions.resolve(client, other.hash) == other
    assert versions.resolve(client, one.version.upper()) == one
    # longer than a version: checked against the full hash
    wrong = one.hash[:12] + ("1" if one.hash[12] == "0" else "0")
    with pytest.raises(UnknownVersion, match=f"no kept rules version starts with '{wrong}'"):
        versions.resolve(client, wrong)
    unused = next(d for d in "0123456789abcdef" if d not in (one.version[0], other.version[0]))
    with pytest.raises(UnknownVersion, match="see handover rules history"):
        versions.resolve(client, unused)
    with pytest.raises(UnknownVersion, match="is not a rules version"):
        versions.resolve(client, "main~1")


def test_a_prefix_of_several_versions_is_ambiguous(client):
    made = [kept(client, f"Olá {i}", at=float(i)) for i in range(40)]
    firsts = [v.version[0] for v in made]
    shared = max(set(firsts), key=firsts.count)  # 40 versions over 16 hex digits: some first digit repeats
    with pytest.raises(AmbiguousVersion, match=f"'{shared}' starts {firsts.count(shared)} versions"):
        versions.resolve(client, shared)


def test_current_is_what_most_live_processes_run(client):
    old, new = kept(client, "Olá", at=1.0), kept(client, "Oi!", at=2.0)
    with pytest.raises(UnknownVersion, match="no process reports"):
        versions.resolve(client, "current", clock=FixedClock(100.0))
    for pid, version in [(1, old.version), (2, new.version), (3, new.version)]:
        versions.report(client, process(pid, version, 100.0))
    assert versions.resolve(client, "current", clock=FixedClock(101.0)) == new
    versions.report(client, process(4, old.version, 100.0))  # a tie: the version first loaded last
    assert versions.current_version(client, versions.live(client, clock=FixedClock(101.0))) == new.version


def test_the_diff_is_unified_yaml_from_a_to_b(client):
    old, new = kept(client, "Olá"), kept(client, "Oi tudo bem")
    text = versions.diff(old, new)
    assert text.splitlines()[:2] == [f"--- rules {old.version}", f"+++ rules {new.version}"]
    assert "-    reply: {pt: Olá}" in text.splitlines()
    assert "+    reply: {pt: Oi tudo bem}" in text.splitlines()
    assert versions.diff(old, old) == ""


def test_a_report_lapses_so_a_dead_process_drops_out(client):
    versions.report(client, process(1, "aaaaaaaaaaaa", 100.0))
    versions.report(client, process(2, "aaaaaaaaaaaa", 104.0))
    assert 0 < client.ttl(keys.process_key("worker:h:1")) <= versions.REPORT_TTL_SECONDS
    assert [p.id for p in versions.live(client, clock=FixedClock(105.0))] == ["worker:h:1", "worker:h:2"]
    # process 1 stopped reporting: past the TTL it no longer counts, whether or not Redis expired its key
    assert [
        p.id for p in versions.live(client, clock=FixedClock(100.0 + versions.REPORT_TTL_SECONDS + 1))
    ] == ["worker:h:2"]
    client.delete(keys.process_key("worker:h:2"))  # what Redis does when the TTL runs out
    assert versions.live(client, clock=FixedClock(105.0)) == [process(1, "aaaaaaaaaaaa", 100.0)]
    versions.withdraw(client, "worker:h:1")  # a clean stop leaves at once
    assert versions.live(client, clock=FixedClock(105.0)) == []


def test_the_reporter_checks_the_file_so_an_idle_process_notices_a_reload(tmp_path, client):
    path = copy_rules(tmp_path)
    holder = RulesHolder(path, check_every=3600.0, on_load=versions.recorder(client, "worker"))
    reporter = Reporter(client, holder, "worker")
    first = reporter()
    assert (first.kind, first.version, first.error) == ("worker", holder().version, None)
    bump(path, path.read_text().replace("Por nada!", "Imagina!"))
    second = reporter()  # nobody used the rules meanwhile: the report itself looked at the file
    assert second.version != first.version
    assert versions.live(client)[0].version == second.version
    # both versions kept, attributed to the process (no CLI announced them)
    assert [v.version for v in versions.history(client)] == [second.version, first.version]
    assert versions.history(client)[0].by.startswith("process worker on ")


def test_the_reporter_says_why_a_process_refused_the_file(tmp_path, client):
    path = copy_rules(tmp_path)
    holder = RulesHolder(path)
    reporter = Reporter(client, holder, "web")
    good = reporter().version
    bump(path, path.read_text().replace("queue: general, reason: customer_asked", "queue: geral, reason: x"))
    refused = reporter()
    assert refused.version == good
    assert refused.error is not None and "unknown queue 'geral'" in refused.error


def test_a_redis_failure_while_recording_never_stops_the_rules_loading(tmp_path):
    path = copy_rules(tmp_path)
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    holder = RulesHolder(path, on_load=versions.recorder(dead, "worker"))
    assert holder().rules.intents

    def broken(loaded: object) -> None:
        raise RuntimeError("hook bug")

    holder = RulesHolder(path, on_load=broken)
    bump(path, path.read_text().replace("Por nada!", "Imagina!"))
    assert holder.refresh().rules.intents[-1].reply["pt"].startswith("Imagina!")


@pytest.mark.parametrize(
    ("reports", "confirmed", "settled", "summary", "reasons"),
    [
        ([process(1, "new", 20.0), process(2, "new", 20.0)], True, True, "2/2 processes on new", []),
        (
            [process(1, "new", 20.0), process(2, "old", 20.0)],
            False,
            False,
            "1/2 processes on new",
            ["worker:h:2 still on old (it has not loaded the file yet)"],
        ),
        (  # refused after the announcement: waiting will not help
            [process(1, "new", 20.0), process(2, "old", 20.0, "rules.yaml:3:1 x: bad")],
            False,
            True,
            "1/2 processes on new",
            ["worker:h:2 still on old: refused the file: rules.yaml:3:1 x: bad"],
        ),
        (  # an error from before the announcement is stale: it may still load the new file
            [process(2, "old", 5.0, "rules.yaml:3:1 x: bad")],
            False,
            False,
            "0/1 processes on new",
            ["worker:h:2 still on old: refused the file: rules.yaml:3:1 x: bad"],
        ),
        ([], True, True, "0/0 processes on new", []),
    ],
)
def test_confirmation(reports, confirmed, settled, summary, reasons):
    state = Confirmation("new", reports, since=10.0)
    assert (state.confirmed, state.settled, state.summary(), state.reasons()) == (
        confirmed,
        settled,
        summary,
        reasons,
    )


def test_confirm_waits_for_the_processes_then_gives_up_naming_them(client):
    clock = [100.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if clock[0] >= 101.0:  # a second later process 1 has loaded the new version
            versions.report(client, process(1, "new", clock[0]))

    versions.report(client, process(1, "old", 100.0))
    versions.report(client, process(2, "old", 100.0))
    state = versions.confirm(client, "new", 99.0, 5.0, clock=lambda: clock[0], sleep=sleep)
    assert clock[0] >= 105.0  # process 2 never came: it waited the whole time
    assert state.summary() == "1/2 processes on new"
    assert state.reasons() == ["worker:h:2 still on old (it has not loaded the file yet)"]


def test_an_announcement_names_who_even_when_a_process_loaded_the_version_first(client):
    loaded = parse_rules(rules_text("Olá"))
    versions.record(client, loaded, "process worker on h", clock=FixedClock(1000.0))
    versions.record(client, loaded, "ana@laptop", clock=FixedClock(1003.0), announced=True)
    # a person's name stays
    versions.record(client, loaded, "bia@laptop", clock=FixedClock(1009.0), announced=True)
    found = versions.get(client, loaded.version)
    assert found is not None and (found.by, found.first_loaded_at) == ("ana@laptop", 1000.0)

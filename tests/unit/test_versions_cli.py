"""`handover rules reload|history|diff|rollback` and `handover audit` against an in-memory Redis, with a
process (a thread with its own rules holder, as `serve` and `worker` have) reporting what it runs."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from app.cli import main
from handover import audit
from handover.rules import versions
from handover.rules.holder import RulesHolder
from tests.unit.test_rules_reload import bump, copy_rules


@pytest.fixture
def server(monkeypatch, tmp_path) -> fakeredis.FakeServer:
    shared = fakeredis.FakeServer()
    monkeypatch.setattr("app.wiring.sync_client", lambda settings, server=None: fake(shared))
    monkeypatch.setenv("REDIS_URL", "redis://unused:6379/0")
    for name in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return shared


def fake(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=server, decode_responses=True)


@pytest.fixture
def served(tmp_path, monkeypatch) -> Path:
    path = copy_rules(tmp_path)
    monkeypatch.setenv("HANDOVER_RULES", str(path))
    return path


class Running:
    """A process of the deployment: its rules holder and a report every 0.05 s, on a thread. `holder`
    makes the rules from the process's client (default: one RulesHolder of `path`)."""

    def __init__(
        self,
        server: fakeredis.FakeServer,
        path: Path,
        kind: str = "worker",
        holder: Callable[[fakeredis.FakeRedis], Any] | None = None,
    ) -> None:
        client = fake(server)
        made = holder(client) if holder else RulesHolder(path, on_load=versions.recorder(client, kind))
        self.holder = made
        self.reporter = versions.Reporter(client, self.holder, kind)
        self.reporter.id += f"-{id(self)}"  # two "processes" in one test process
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.reporter()

    def __enter__(self) -> Running:
        self.reporter()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.reporter.withdraw()


@pytest.fixture
def running(server, served) -> Iterator[Running]:
    with Running(server, served) as process:
        yield process


def said(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What the command printed on stdout, without the log lines of the "processes" running in this test."""
    return [line for line in capsys.readouterr().out.splitlines() if not LOG_LINE.match(line)]


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")


def edit(path: Path, reply: str) -> None:
    bump(path, path.read_text().replace("Por nada!", reply))


def test_reload_waits_until_every_process_runs_the_new_version(server, served, running, capsys):
    first = running.holder().version
    with Running(server, served, "web"):
        edit(served, "Imagina!")
        # the processes may notice the edit by themselves first: the announcement still names who
        assert main(["rules", "reload", "--by", "ana@ops-laptop", "--wait", "10"]) == 0
    new = running.holder().version
    assert new != first
    out = said(capsys)
    assert out[-1] == f"2/2 processes on {new}"
    client = fake(server)
    assert versions.get(client, new).by == "ana@ops-laptop"  # type: ignore[union-attr]
    [entry] = audit.since(client, 1)
    assert (entry.who, entry.action, entry.detail["version"]) == ("ana@ops-laptop", "rules.reload", new)
    # what the processes ran when asked, unless they had noticed the edit by themselves already
    assert entry.detail.get("previous", first) == first


def test_reload_names_a_process_that_does_not_run_the_new_version(server, served, capsys):
    stuck = versions.ProcessReport("worker:h:7", "worker", "h", 7, "0123456789ab", 0.0)
    client = fake(server)

    class Stuck(threading.Thread):  # a process that keeps reporting its old version
        def __init__(self) -> None:
            super().__init__(daemon=True)
            self.stop = threading.Event()

        def run(self) -> None:
            while not self.stop.wait(0.05):
                versions.report(client, dataclasses.replace(stuck, seen_at=time.time()))

    versions.report(client, dataclasses.replace(stuck, seen_at=time.time()))
    thread = Stuck()
    thread.start()
    try:
        assert main(["rules", "reload", "--wait", "0.5"]) == 1
    finally:
        thread.stop.set()
        thread.join()
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].startswith("0/1 processes on ")
    assert captured.err.strip() == "worker:h:7 still on 0123456789ab (it has not loaded the file yet)"


def test_reload_of_a_bad_file_announces_nothing(server, served, running, capsys):
    before = running.holder().version
    bump(
        served,
        served.read_text().replace("queue: general, reason: customer_asked", "queue: geral, reason: x"),
    )
    assert main(["rules", "reload"]) == 1
    assert "unknown queue 'geral'" in capsys.readouterr().err
    assert audit.since(fake(server), 1) == []
    assert running.holder().version == before


def test_rollback_rewrites_the_file_with_the_kept_content_and_confirms(server, served, running, capsys):
    old_text, old = served.read_text(), running.holder().version
    edit(served, "Imagina!")
    assert main(["rules", "reload", "--wait", "10"]) == 0
    new = running.holder().version
    assert main(["rules", "rollback", old[:7], "--by", "bia", "--wait", "10"]) == 0
    out = said(capsys)
    assert out[-2:] == [f"{served}: rewritten with version {old} (was {new})", f"1/1 processes on {old}"]
    assert served.read_text() == old_text
    assert [p.name for p in served.parent.iterdir() if "rollback" in p.name] == []  # no temp file left
    rolled = audit.since(fake(server), 1)[0]
    assert (rolled.who, rolled.action, rolled.detail) == (
        "bia",
        "rules.rollback",
        {"version": old, "previous": new},
    )

    assert main(["rules", "history", "--json"]) == 0
    history = json.loads("\n".join(said(capsys)))
    assert [(v["version"], v["current"]) for v in history] == [(new, False), (old, True)]
    assert history[1]["processes"] == [running.reporter.id]


def test_rollback_refuses_a_version_that_no_longer_loads_and_leaves_the_file(server, served, running, capsys):
    # a version that loaded once, but names a directory file that is gone since
    old = running.holder().version
    edit(served, "Imagina!")
    assert main(["rules", "reload", "--wait", "10"]) == 0
    (served.parent / "customers.yaml").unlink()
    text = served.read_text()
    capsys.readouterr()
    assert main(["rules", "rollback", old]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no such file" in err[0]
    assert err[-1] == f"handover: version {old} no longer loads here; {served} was left as it is"
    assert served.read_text() == text
    assert [p.name for p in served.parent.iterdir() if "rollback" in p.name] == []


def test_diff_of_a_version_and_current(server, served, running, capsys):
    old = running.holder().version
    edit(served, "Imagina!")
    assert main(["rules", "reload", "--wait", "10"]) == 0
    capsys.readouterr()
    assert main(["rules", "diff", old[:5], "current"]) == 0
    lines = said(capsys)
    assert lines[0] == f"--- rules {old}"
    assert any("Imagina!" in line for line in lines if line.startswith("+"))
    assert any("Por nada!" in line for line in lines if line.startswith("-"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rules", "diff", "fffffffffffff", "current"], "no kept rules version starts with 'fffffffffffff'"),
        (["rules", "rollback", "zz"], "'zz' is not a rules version"),
        (["audit", "--hours", "0"], "--hours must be from 1 to 720"),
    ],
)
def test_wrong_references_get_one_line_and_exit_2(server, served, running, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("handover: ") and message in err and "\n" not in err


def test_without_redis_reload_says_it_cannot_confirm_and_history_needs_redis(served, monkeypatch, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["rules", "reload"]) == 0
    assert "cannot be confirmed" in capsys.readouterr().out
    assert main(["rules", "history"]) == 2
    assert "set REDIS_URL" in capsys.readouterr().err


def test_audit_lists_agents_added_by_whom(server, served, capsys):
    assert main(["agents", "add", "Carla", "--queues", "general", "--by", "ana@ops", "--json"]) == 0
    agent = json.loads(capsys.readouterr().out)
    assert main(["audit", "--json"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert log["hours"] == 24
    [entry] = log["entries"]
    assert (entry["who"], entry["action"], entry["detail"]["id"]) == ("ana@ops", "agents.add", agent["id"])
    assert main(["agents", "remove", agent["id"]]) == 0
    capsys.readouterr()
    assert main(["audit"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"agents.remove  id={agent['id']} name=Carla" in lines[0]
    assert f"  {audit.cli_user()}  " in lines[0]  # no --by: the OS user and host

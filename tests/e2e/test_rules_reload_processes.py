"""Rules versions across real processes: `handover serve` and `handover worker` on a real Redis report the
version they run; `rules reload` confirms every one took the new file (or names who did not, and why),
`rules rollback` brings them all back, and a killed worker drops out of the count."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from handover.rules import versions
from handover.rules.loader import parse_rules
from tests.support.cli import handover
from tests.support.processes import ROOT, Process, is_up, wait_for
from tests.support.redis_server import free_port

pytestmark = pytest.mark.e2e

OLD_REPLY = "Por nada! Se precisar, é só chamar."


@pytest.fixture
def deployment(redis_url, tmp_path) -> Iterator[dict]:
    """serve + one worker on a copy of the shipped rules; what the CLI needs to reach them."""
    shutil.copy(ROOT / "config" / "customers.yaml", tmp_path / "customers.yaml")
    rules = tmp_path / "rules.yaml"
    rules.write_text((ROOT / "config" / "rules.yaml").read_text())
    port = free_port()
    env = {
        "REDIS_URL": redis_url,
        "HANDOVER_RULES": str(rules),
        "HANDOVER_PORT": str(port),
        "HANDOVER_PARTITIONS": "2",
        "HANDOVER_SANDBOX": "1",
    }
    serve = Process(["serve"], env, tmp_path / "serve.log").start()
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{port}/readyz"), 30, "serve to be ready")
        wait_for(lambda: len(versions.live(client)) == 2, 30, "web and worker to report")
        yield {
            "env": env,
            "rules": rules,
            "client": client,
            "serve": serve,
            "worker": worker,
            "dir": tmp_path,
        }
    finally:
        worker.stop()
        serve.stop()


def cli(deployment: dict, *argv: str) -> subprocess.CompletedProcess[str]:
    return handover(list(argv), deployment["env"], deployment["dir"])


def edited(path: Path, reply: str) -> str:
    """Change one answer of the served file; the new version."""
    text = path.read_text().replace(OLD_REPLY, reply)
    path.write_text(text)
    return parse_rules(text).version


def test_reload_confirms_rollback_brings_every_process_back_and_history_keeps_both(deployment):
    rules = deployment["rules"]
    old_text = rules.read_text()
    old = parse_rules(old_text).version
    assert {p.version for p in versions.live(deployment["client"])} == {old}

    new = edited(rules, "Imagina! Conte comigo.")
    reloaded = cli(deployment, "rules", "reload", "--by", "ana@ops-laptop", "--wait", "30")
    assert reloaded.returncode == 0, reloaded.stderr
    assert reloaded.stdout.splitlines()[-1] == f"2/2 processes on {new}"

    rolled = cli(deployment, "rules", "rollback", old[:8], "--by", "bia@ops", "--wait", "30")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines()[-1] == f"2/2 processes on {old}"
    assert rules.read_text() == old_text
    assert {p.version for p in versions.live(deployment["client"])} == {old}

    listed = cli(deployment, "rules", "history", "--json")
    history = json.loads(listed.stdout)
    assert [(v["version"], v["current"], len(v["processes"])) for v in history] == [
        (new, False, 0),
        (old, True, 2),
    ]
    assert history[0]["by"] == "ana@ops-laptop"
    assert sorted(p.split(":")[0] for p in history[1]["processes"]) == ["web", "worker"]

    audit = json.loads(cli(deployment, "audit", "--json").stdout)
    assert [(e["action"], e["who"], e["detail"]["version"]) for e in audit["entries"]] == [
        ("rules.rollback", "bia@ops", old),
        ("rules.reload", "ana@ops-laptop", new),
    ]

    diff = cli(deployment, "rules", "diff", new, "current")
    assert diff.returncode == 0
    assert '-    reply: {pt: "Imagina! Conte comigo."' in diff.stdout
    assert f'+    reply: {{pt: "{OLD_REPLY}"' in diff.stdout


def test_a_bad_file_is_refused_by_reload_itself(deployment):
    rules = deployment["rules"]
    rules.write_text(rules.read_text().replace("senior_queue: senior", "senior_queue: seniors"))
    refused = cli(deployment, "rules", "reload", "--wait", "5")
    assert refused.returncode == 1
    assert "transfers.senior_queue: unknown queue 'seniors'" in refused.stderr
    assert json.loads(cli(deployment, "audit", "--json").stdout)["entries"] == []  # nothing announced


def test_reload_names_the_processes_that_refused_the_file_and_why(deployment):
    """The file changes between reload's check and the processes loading it: they refuse it, and reload
    says which and why instead of waiting in vain. (The processes are paused so the order is certain.)"""
    rules, client = deployment["rules"], deployment["client"]
    old = parse_rules(rules.read_text()).version
    good = edited(rules, "Imagina!")
    for process in (deployment["serve"], deployment["worker"]):
        process.signal(signal.SIGSTOP)
    try:
        reload = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "rules", "reload", "--wait", "30"],
            cwd=ROOT,
            env=handover_env(deployment),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # reload checked the file and recorded its version: now the file goes bad under it
        wait_for(lambda: versions.get(client, good), 30, "reload to record the checked version")
        rules.write_text(rules.read_text().replace("senior_queue: senior", "senior_queue: seniors"))
    finally:
        for process in (deployment["serve"], deployment["worker"]):
            process.signal(signal.SIGCONT)
    out, err = reload.communicate(timeout=60)
    assert reload.returncode == 1, (out, err)
    assert out.splitlines()[-1] == f"0/2 processes on {good}"
    named = sorted(line for line in err.splitlines() if " still on " in line)
    assert [line.split(":")[0] for line in named] == ["web", "worker"]
    for line in named:
        assert f"still on {old}: refused the file: " in line
        assert "transfers.senior_queue: unknown queue 'seniors'" in line


def test_a_killed_worker_drops_out_of_the_count(deployment):
    client = deployment["client"]
    second = Process(["worker"], deployment["env"], deployment["dir"] / "worker2.log").start()
    try:
        wait_for(lambda: len(versions.live(client)) == 3, 30, "the second worker to report")
        second.kill()
        new = edited(deployment["rules"], "Imagina!")
        # the killed worker still counts until its report lapses; then the two left confirm
        reloaded = cli(deployment, "rules", "reload", "--wait", str(versions.REPORT_TTL_SECONDS * 3))
        assert reloaded.returncode == 0, reloaded.stderr
        assert reloaded.stdout.splitlines()[-1] == f"2/2 processes on {new}"
        assert sorted(p.kind for p in versions.live(client)) == ["web", "worker"]
    finally:
        second.kill()


def handover_env(deployment: dict) -> dict[str, str]:
    """The environment `tests.support.cli.handover` gives the command, for one run in the background."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "WHATSAPP_", "HANDOVER_"))}
    return {**base, "PYTHONPATH": str(ROOT), **deployment["env"]}

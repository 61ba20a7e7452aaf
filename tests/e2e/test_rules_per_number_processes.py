"""Rules per number across real processes: `handover serve` and two `handover worker` on a rules folder
(tests/data/numbers) report the version they run for each number; `rules reload --number N` confirms every
process took that number's new file, and a broken file of one number never moves the other."""

from __future__ import annotations

import shutil

import pytest
import redis

from handover.rules import versions
from handover.rules.loader import parse_rules
from tests.support.cli import handover
from tests.support.processes import ROOT, Process, is_up, wait_for
from tests.support.redis_server import free_port

pytestmark = pytest.mark.e2e

LOJA, VENDAS = "106540352242922", "106540352242923"


def test_reload_of_one_number_confirms_per_number_across_processes(redis_url, tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "tests" / "data" / "numbers", folder)
    port = free_port()
    env = {
        "REDIS_URL": redis_url,
        "HANDOVER_RULES": str(folder),
        "HANDOVER_PORT": str(port),
        "HANDOVER_PARTITIONS": "2",
        "HANDOVER_SANDBOX": "1",
    }
    started = [
        Process(["serve"], env, tmp_path / "serve.log").start(),
        Process(["worker"], env, tmp_path / "worker-1.log").start(),
        Process(["worker"], env, tmp_path / "worker-2.log").start(),
    ]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{port}/readyz"), 30, "serve to be ready")
        wait_for(lambda: len(versions.live(client)) == 3, 30, "web and workers to report")
        loja = parse_rules((folder / "loja.yaml").read_text()).version
        sales = folder / "vendas.yaml"
        text = sales.read_text().replace("Quer um orçamento?", "Posso ajudar?")
        sales.write_text(text)
        new = parse_rules(text).version

        done = handover(["rules", "reload", "--number", VENDAS, "--by", "ana"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == f"3/3 processes on {new} for {VENDAS}"
        assert {(p.runs(VENDAS), p.runs(LOJA)) for p in versions.live(client)} == {(new, loja)}

        # a broken file of the sales number: every process keeps its last good rules, and says why
        sales.write_text("queues: [broken\n")
        refused = handover(["rules", "reload", "--number", VENDAS], env, tmp_path)
        assert refused.returncode == 1 and refused.stdout == ""
        wait_for(
            lambda: all(p.refusal(VENDAS) for p in versions.live(client)), 30, "every process to refuse it"
        )
        assert {(p.runs(VENDAS), p.runs(LOJA), p.error) for p in versions.live(client)} == {(new, loja, None)}
    finally:
        for process in reversed(started):
            process.stop()

"""`handover agents add|set` on a rules folder (issue 32): an agent's queues are checked against the rules
of the numbers they serve, as ops would be told by the command, and a queue of another number is refused."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import handover
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

FOLDER = ROOT / "tests" / "data" / "numbers"
LOJA, VENDAS = "106540352242922", "106540352242923"


def test_queues_are_checked_against_the_numbers_the_agent_serves(redis_url, tmp_path):
    env = {"REDIS_URL": redis_url, "HANDOVER_RULES": str(FOLDER)}

    def add(*argv: str):  # type: ignore[no-untyped-def]
        return handover(["agents", "add", "Ana", "--capacity", "2", "--json", *argv], env, tmp_path)

    seller = add("--queues", "vendas", "--numbers", VENDAS)
    assert seller.returncode == 0, seller.stderr
    refused = add("--queues", "vendas", "--numbers", LOJA)
    assert refused.returncode == 2 and "vendas" in refused.stderr
    both = add("--queues", "general,vendas")  # every number: each queue belongs to one of them
    assert both.returncode == 0, both.stderr
    agent = json.loads(seller.stdout)["id"]
    moved = handover(
        ["agents", "set", agent, "--queues", "general", "--numbers", LOJA, "--json"], env, tmp_path
    )
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["numbers"] == [LOJA]
    wrong = handover(["agents", "set", agent, "--queues", "vendas", "--numbers", LOJA], env, tmp_path)
    assert wrong.returncode == 2 and "vendas" in wrong.stderr

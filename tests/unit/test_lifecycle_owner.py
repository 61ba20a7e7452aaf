"""One way to change a conversation: no module but handover/lifecycle.py writes `state`, and every Lua
script that does says which moves it makes, each one the state machine allows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from handover import lua
from handover.conversation import _MOVES, ConversationState

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("handover", "desk", "webhooks", "graph", "workers", "app")
OWNER = ROOT / "handover" / "lifecycle.py"
WRITES = {"hset", "hmset", "hsetnx"}


def _writes_state(tree: ast.AST) -> list[int]:
    """Lines of calls like client.hset(key, "state", ...) or pipe.hset(key, mapping={"state": ...})."""
    lines = []
    for node in ast.walk(tree):
        is_write = (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES
        )
        if is_write and any(isinstance(n, ast.Constant) and n.value == "state" for n in ast.walk(node)):
            lines.append(node.lineno)
    return lines


def test_no_module_but_lifecycle_writes_a_conversation_state():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != OWNER:
                found += [
                    f"{path.relative_to(ROOT)}:{line}" for line in _writes_state(ast.parse(path.read_text()))
                ]
    assert found == []


def test_the_check_finds_a_raw_state_write():
    sample = (
        'pipe.hset(key, mapping={"state": "queued"})\nclient.hset(key, "state", "bot")\nx.hset(k, "a", 1)'
    )
    assert _writes_state(ast.parse(sample)) == [1, 2]


def _moves(name: str) -> list[tuple[str, str]]:
    header = re.search(r"^-- MOVES:(.*)$", lua.load(name).body, re.MULTILINE)
    if header is None:
        return []
    return [tuple(p.strip() for p in move.split("->")) for move in header.group(1).split(",")]  # type: ignore[misc]


def test_every_script_that_writes_a_state_declares_moves_the_state_machine_allows():
    writers = [n for n in lua.names() if re.search(r"HSET'[^\n]*'state'", lua.load(n).body)]
    assert writers, "the claim and finish scripts write states"
    for name in writers:
        moves = _moves(name)
        assert moves, f"{name}.lua writes a state but has no -- MOVES: line"
        for start, end in moves:
            assert ConversationState(end) in _MOVES[ConversationState(start)], f"{name}.lua: {start} -> {end}"

"""One owner per concept, checked: only handover/keys.py makes a Redis key name (the Lua side is checked
in test_lua_registry.py), only handover/clock.py reads the system clock in the domain, and the desk reaches
Redis through services (handover/readers.py and the rest), never through the store's client."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("handover", "desk", "webhooks", "graph", "workers", "app")
KEYS = ROOT / "handover" / "keys.py"
CLOCK = ROOT / "handover" / "clock.py"


def _sources(packages: tuple[str, ...]) -> list[Path]:
    return [p for package in packages for p in sorted((ROOT / package).rglob("*.py"))]


def key_builders(tree: ast.AST) -> list[int]:
    """Lines that spell the key prefix or reach for keys.PREFIX: a key made outside keys.py (documentation
    strings may name a key)."""
    docs = {
        id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        text = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
        spelled = text and "hv:" in node.value  # type: ignore[attr-defined]
        prefix = isinstance(node, ast.Attribute) and node.attr == "PREFIX" and _named(node.value, "keys")
        if spelled or prefix:
            found.append(node.lineno)
    return found


def system_clock_reads(tree: ast.AST) -> list[int]:
    """Lines that read time.time directly (called or passed as a default clock), or the date and time
    through datetime (datetime.now, datetime.utcnow, date.today)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "time" and _named(node.value, "time"):
            found.append(node.lineno)
        if isinstance(node, ast.Attribute) and (
            (node.attr in ("now", "utcnow", "today") and _named(node.value, "datetime"))
            or (node.attr == "today" and _named(node.value, "date"))
        ):
            found.append(node.lineno)
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "time"
            and any(a.name == "time" for a in node.names)
        ):
            found.append(node.lineno)
    return found


def _named(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def test_only_the_keys_module_builds_a_redis_key():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources(PACKAGES)
        if path != KEYS
        for line in key_builders(ast.parse(path.read_text()))
    ]
    assert found == []


def test_only_the_clock_module_reads_the_system_clock_in_the_domain():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources(("handover",))
        if path != CLOCK
        for line in system_clock_reads(ast.parse(path.read_text()))
    ]
    assert found == []


def test_the_checks_find_what_they_look_for():
    built = '"""A docstring may say hv:conv:<id>."""\na = f"hv:conv:{cid}"\nb = keys.PREFIX + "x"\nc = keys.queue_key(q)'
    assert key_builders(ast.parse(built)) == [2, 3]
    clocks = "import time\nnow = time.time()\nfrom time import time\nclock = time.monotonic"
    assert sorted(system_clock_reads(ast.parse(clocks))) == [2, 3]
    dates = (
        "a = datetime.now(UTC)\nb = date.today()\nc = datetime.fromtimestamp(now, UTC)\nd = datetime.utcnow()"
    )
    assert sorted(system_clock_reads(ast.parse(dates))) == [1, 2, 4]


def store_client_uses(tree: ast.AST) -> list[int]:
    """Lines that reach for `….store.client` outside a `__post_init__` (where DeskContext makes its
    services from it)."""
    composing = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__post_init__"
        for inner in ast.walk(node)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "client"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "store"
        and id(node) not in composing
    ]


def test_the_desk_reaches_redis_through_services_only():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources(("desk",))
        for line in store_client_uses(ast.parse(path.read_text()))
    ]
    assert found == []
    reached = "def __post_init__(self):\n    self.reads = Readers(self.store.client, self.clock)\nx = ctx.store.client"
    assert store_client_uses(ast.parse(reached)) == [3]

"""The Lua scripts as files: each loads with its KEYS/ARGV contract, uses only libraries that exist, mirrors
Python's constants exactly, and builds no key (handover/keys.py builds them all; scripts get them in KEYS)."""

from __future__ import annotations

import re

import pytest

from handover import fcr, keys, kpis, lua
from handover.message import DeliveryStatus

# A key built inside Lua: a quoted string holding ':' joined with `..` on either side, or the prefix itself.
_QUOTED_WITH_COLON = r"""(?:'[^'\n]*:[^'\n]*'|"[^"\n]*:[^"\n]*")"""
_BUILDS_KEY = re.compile(rf"{_QUOTED_WITH_COLON}\s*\.\.|\.\.\s*{_QUOTED_WITH_COLON}")


def builds_a_key(source: str) -> bool:
    code = "\n".join(line.split("--", 1)[0] for line in source.splitlines())  # comments may say anything
    return bool(_BUILDS_KEY.search(code)) or keys.PREFIX in code


def constant(source: str, name: str) -> str:
    found = re.search(rf"^local {name} = (.+)$", source, re.MULTILINE)
    assert found, f"local {name} missing"
    return found.group(1).strip()


@pytest.mark.parametrize("name", lua.names())
def test_every_script_loads_with_its_contract(name):
    script = lua.load(name)
    head = script.body.splitlines()[:12]
    assert any(line.startswith("-- KEYS:") for line in head)
    assert any(line.startswith("-- ARGV:") for line in head)
    assert set(script.uses) <= set(lua.library_names())
    assert script.source.endswith(script.body)


def test_the_folder_holds_the_scripts_the_code_runs():
    assert {
        "ingest",
        "sweep",
        "wake_if_pending",
        "renew",
        "release",
        "append_entry",
        "apply_status",
        "record_send",
        "take_if_stale",
    } <= set(lua.names())
    assert {"bump", "delivery", "wake"} <= set(lua.library_names())


def test_a_script_without_its_contract_or_with_a_missing_library_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(lua, "_HERE", tmp_path)
    (tmp_path / "lib").mkdir()
    (tmp_path / "silent.lua").write_text("return 1\n")
    (tmp_path / "needy.lua").write_text("-- KEYS: none\n-- ARGV: none\n-- USES: nowhere\nreturn 1\n")
    lua.load.cache_clear()
    lua.library.cache_clear()
    try:
        with pytest.raises(lua.BadScript, match="KEYS"):
            lua.load("silent")
        with pytest.raises(lua.BadScript, match="nowhere"):
            lua.load("needy")
    finally:
        lua.load.cache_clear()
        lua.library.cache_clear()


@pytest.mark.parametrize(
    "name, source",
    [(f"lib/{n}", lua.library(n)) for n in lua.library_names()]
    + [(n, lua.load(n).body) for n in lua.names()],
)
def test_no_lua_file_builds_a_key(name, source):
    assert not builds_a_key(source), f"{name}.lua builds a key: pass it in KEYS (handover/keys.py)"


@pytest.mark.parametrize(
    "source",
    [
        "redis.call('EXISTS', prefix .. 'lease:' .. lp)",
        "local dkey = ARGV[1] .. 'txd:' .. conv",
        'redis.call("GET", "hv:wamid:" .. id)',
        "redis.call('LLEN', 'hv:wakeups')",
    ],
)
def test_the_key_check_catches_keys_built_the_old_ways(source):
    assert builds_a_key(source)


def test_the_key_check_lets_values_and_comments_be():
    assert not builds_a_key("local n = a .. b -- 'lane:partition' .. p\nreturn cjson.encode({a = 'x:y'})")


def test_the_kpi_ttl_is_the_python_one():
    assert int(constant(lua.library("bump"), "KPI_TTL")) == kpis.TTL_SECONDS


def test_the_delivery_ranks_are_the_python_ones():
    table = constant(lua.library("delivery"), "RANK")
    ranks = dict(re.findall(r"(\w+) = (\d+)", table))
    assert {status: int(rank) for status, rank in ranks.items()} == {s.value: s.rank for s in DeliveryStatus}


def test_the_desk_events_cap_is_the_python_one():
    assert int(constant(lua.library("delivery"), "EVENTS_KEPT")) == keys.DESK_EVENTS_KEPT


def test_the_fcr_ttl_is_the_python_one():
    assert int(constant(lua.load("finish").body, "FCR_TTL")) == fcr.TTL_SECONDS

"""Hot reload: a changed file is picked up; a bad one is refused and the last good rules stay in force."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from structlog.testing import capture_logs

from app.cli import main
from handover.rules.holder import RulesHolder

CONFIG = Path(__file__).resolve().parents[2] / "tests" / "data" / "rules"  # a frozen copy: positions stay


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def copy_rules(tmp_path: Path) -> Path:
    shutil.copy(CONFIG / "customers.yaml", tmp_path / "customers.yaml")
    rules = tmp_path / "rules.yaml"
    rules.write_text((CONFIG / "loader-base.yaml").read_text())
    return rules


def bump(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))


def test_a_changed_file_is_picked_up_after_the_check_interval(tmp_path):
    path, clock = copy_rules(tmp_path), Clock()
    holder = RulesHolder(path, check_every=2.0, clock=clock)
    first = holder()
    bump(path, path.read_text().replace("Por nada!", "Imagina!"))
    assert holder().version == first.version  # not looked at yet
    clock.now = 2.5
    assert holder().version != first.version
    assert holder().rules.intents[-1].reply["pt"].startswith("Imagina!")


def test_a_bad_file_is_refused_and_the_last_good_rules_stay(tmp_path):
    path, clock = copy_rules(tmp_path), Clock()
    holder = RulesHolder(path, check_every=1.0, clock=clock)
    good = holder()
    bump(
        path,
        path.read_text().replace(
            "queue: general, reason: customer_asked", "queue: geral, reason: customer_asked"
        ),
    )
    clock.now = 5
    with capture_logs() as logs:
        assert holder().version == good.version
    [refused] = [e for e in logs if e["event"] == "rules_refused"]
    assert refused["kept_version"] == good.version
    assert "intents[1].escalate.queue: unknown queue 'geral'" in refused["problems"][0]
    assert "unknown queue 'geral'" in str(holder.last_error)


def test_reload_command_checks_then_touches(tmp_path, capsys, monkeypatch):
    path = copy_rules(tmp_path)
    monkeypatch.setenv("HANDOVER_RULES", str(path))
    before = path.stat().st_mtime
    os.utime(path, (before - 100, before - 100))
    assert main(["rules", "reload", str(path)]) == 0
    assert path.stat().st_mtime > before - 100
    assert "every process loads it" in capsys.readouterr().out
    bump(path, "version: 2\n")
    stamp = path.stat().st_mtime
    assert main(["rules", "reload", str(path)]) == 1
    assert path.stat().st_mtime == stamp  # a bad file is not announced


def test_reload_refuses_a_file_that_is_not_the_served_one(tmp_path, capsys, monkeypatch):
    """Touching another file would reload nothing: say which file the processes load instead."""
    served, other = copy_rules(tmp_path), tmp_path / "candidate.yaml"
    other.write_text(served.read_text())
    monkeypatch.setenv("HANDOVER_RULES", str(served))
    stamp = other.stat().st_mtime_ns
    assert main(["rules", "reload", str(other)]) == 2
    assert capsys.readouterr().err == (
        f"handover: {other} is not the served rules file (HANDOVER_RULES is {served}); edit that one, "
        "or point HANDOVER_RULES at this file and restart the processes\n"
    )
    assert other.stat().st_mtime_ns == stamp


def test_a_file_saved_in_another_encoding_is_refused_with_the_line_rules_check_prints(tmp_path, capsys):
    path, clock = copy_rules(tmp_path), Clock()
    holder = RulesHolder(path, check_every=1.0, clock=clock)
    good = holder()
    # an old editor saves it as Latin-1: the first 'ê' (line 10, column 59) becomes the byte 0xea
    path.write_bytes(path.read_text().encode("latin-1", errors="replace"))
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
    clock.now = 1.5
    with capture_logs() as logs:
        assert holder().version == good.version
    [refused] = [e for e in logs if e["event"] == "rules_refused"]
    expected = f"{path}: not UTF-8 (byte 0xea at line 10, col 59); save it as UTF-8"
    assert refused["problems"] == [expected]
    capsys.readouterr()
    assert main(["rules", "check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == expected

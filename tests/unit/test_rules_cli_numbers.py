"""`handover rules ... --number N` and `rules check` on a rules folder (README "Many numbers"): each command
works on the rules file of that number, reload confirms per number, history keeps each number's own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest

from app.cli import main
from app.wiring import rules_holder
from config.settings import Settings
from handover import audit
from tests.unit.test_rules_reload import bump
from tests.unit.test_versions_cli import Running, fake, said

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = ROOT / "tests" / "data" / "numbers"
LOJA, VENDAS = "106540352242922", "106540352242923"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(NUMBERS, copy)
    monkeypatch.setenv("HANDOVER_RULES", str(copy))
    return copy


def test_check_of_a_folder_checks_numbers_yaml_and_every_file_it_names(folder, capsys):
    assert main(["rules", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{folder / 'numbers.yaml'}: ok (2 numbers: {LOJA} (Loja), {VENDAS} (Vendas))"
    assert out[1].startswith(f"{folder / 'loja.yaml'}: ok (version ")
    assert out[1].endswith(f" for the default rules, {LOJA}")
    assert out[2].startswith(f"{folder / 'vendas.yaml'}: ok (version ") and out[2].endswith(f" for {VENDAS}")


def test_check_of_a_folder_names_the_file_line_and_key_of_each_problem(folder, capsys):
    text = (folder / "vendas.yaml").read_text()
    (folder / "vendas.yaml").write_text(
        text.replace("queue: vendas, reason: customer_asked", "queue: geral, reason: x")
    )
    assert main(["rules", "check", str(folder)]) == 1
    captured = capsys.readouterr()
    [problem] = [line for line in captured.err.splitlines() if "geral" in line]
    assert problem.startswith("vendas.yaml:15:23 intents[1].escalate.queue: unknown queue 'geral'")
    assert f"{folder / 'loja.yaml'}: ok" in captured.out  # the other files are still checked


def test_check_of_the_shipped_example_folder_passes(capsys):
    assert main(["rules", "check", str(ROOT / "config" / "numbers.example")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_check_and_explain_take_a_numbers_rules_file(folder, capsys):
    assert main(["rules", "check", "--number", VENDAS]) == 0
    assert capsys.readouterr().out.startswith(f"{folder / 'vendas.yaml'}: ok (version ")
    assert main(["rules", "explain", "oi", "--number", VENDAS]) == 0
    assert "says: Oi! Aqui é o time de vendas." in capsys.readouterr().out
    assert main(["rules", "explain", "oi"]) == 0  # the default rules
    assert "says: Olá! Aqui é o suporte da loja." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("555000111", "555000111 is not listed in {folder}/numbers.yaml: it answers by the default rules"),
        ("vendas", "--number vendas: a phone_number_id is digits, as Meta sends it"),
    ],
)
def test_a_number_the_folder_does_not_list_is_refused(folder, capsys, number, message):
    assert main(["rules", "explain", "oi", "--number", number]) == 2
    assert message.format(folder=folder) in capsys.readouterr().err


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> fakeredis.FakeServer:
    shared = fakeredis.FakeServer()
    monkeypatch.setattr("app.wiring.sync_client", lambda settings, server=None: fake(shared))
    monkeypatch.setenv("REDIS_URL", "redis://unused:6379/0")
    for name in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return shared


def process(server: fakeredis.FakeServer, folder: Path, kind: str) -> Running:
    """A process of the deployment on the rules folder: its Rulebook (as `holder`) and its reports."""
    return Running(
        server,
        folder,
        kind,
        lambda client: rules_holder(Settings(handover_rules=folder), client, kind, check_every=0.0),
    )


@pytest.fixture
def processes(server, folder) -> Iterator[list[Running]]:
    with process(server, folder, "web") as web, process(server, folder, "worker") as worker:
        yield [web, worker]


def test_reload_of_one_number_confirms_per_number_and_keeps_its_history(server, folder, processes, capsys):
    web, worker = processes
    loja, old = web.holder(LOJA).version, web.holder(VENDAS).version
    path = folder / "vendas.yaml"
    bump(path, path.read_text().replace("Quer um orçamento?", "Posso ajudar?"))
    assert main(["rules", "reload", "--number", VENDAS, "--by", "ana", "--wait", "10"]) == 0
    new = worker.holder(VENDAS).version
    assert new != old and web.holder(VENDAS).version == new
    assert said(capsys)[-1] == f"2/2 processes on {new} for {VENDAS}"
    assert web.holder(LOJA).version == loja  # the other number never noticed
    client = fake(server)
    [entry] = audit.since(client, 1)
    assert (entry.action, entry.detail["version"], entry.detail["number"]) == ("rules.reload", new, VENDAS)

    assert main(["rules", "history", "--number", VENDAS]) == 0
    rows = said(capsys)
    assert [row[2:14] for row in rows] == [new, old]
    assert rows[0].startswith(f"* {new}") and "ana" in rows[0]
    assert main(["rules", "history", "--number", LOJA]) == 0
    assert [row[2:14] for row in said(capsys)] == [loja]

    assert main(["rules", "diff", old, "current", "--number", VENDAS]) == 0
    assert any(line.startswith("+") and "Posso ajudar?" in line for line in said(capsys))


def test_reload_of_another_file_than_the_numbers_is_refused(folder, capsys):
    assert main(["rules", "reload", str(folder / "loja.yaml"), "--number", VENDAS]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'loja.yaml'} is not the served rules file of {VENDAS}" in err


def test_rollback_of_one_number_rewrites_its_file_only(server, folder, processes, capsys):
    web, _ = processes
    path, loja_text = folder / "vendas.yaml", (folder / "loja.yaml").read_text()
    old_text, old = path.read_text(), web.holder(VENDAS).version
    bump(path, old_text.replace("Quer um orçamento?", "Posso ajudar?"))
    assert main(["rules", "reload", "--number", VENDAS, "--wait", "10"]) == 0
    assert main(["rules", "rollback", old[:7], "--number", VENDAS, "--wait", "10"]) == 0
    assert said(capsys)[-1] == f"2/2 processes on {old} for {VENDAS}"
    assert path.read_text() == old_text and (folder / "loja.yaml").read_text() == loja_text

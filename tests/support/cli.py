"""Running `handover` as ops do, as a process, for the tests of what it answers to wrong input: a table
of cases (argv, environment, files, expected exit and stderr lines) and the one way each is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import ROOT

SHIPPED = ROOT / "config" / "rules.yaml"
GOLDEN = ROOT / "tests" / "data" / "golden" / "shipped.yaml"
# A rules file with one problem of each kind: a value of the wrong type (schema) and a name that does
# not exist (reference); both are reported in one pass.
BOTH_KINDS = """version: 1
languages: [pt]
default_language: pt
intents:
  - name: hello
    match: {any: [oi]}
    reply: {pt: Olá}
    weak: sometimes
  - name: person
    match: {any: [atendente]}
    escalate: {queue: geral, reason: customer_asked}
queues:
  general: {}
messages:
  unrecognized: {pt: Não entendi}
  queued: {pt: "Você é o {position}º (~{wait})"}
"""


@dataclass
class Case:
    """argv, extra environment, files to write in the working folder, expected exit and stderr lines."""

    id: str
    argv: list[str]
    expect: list[str]
    exit: int = 2
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


UNREACHABLE = {"REDIS_URL": "redis://127.0.0.1:{dead_port}/0"}


def handover(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "WHATSAPP_", "HANDOVER_"))}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_clear(result: subprocess.CompletedProcess[str], exit_code: int, expect: list[str]) -> None:
    shown = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.returncode == exit_code, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # one line per problem: nothing but the expected lines (and log lines are JSON, not prose)
    prose = [line for line in lines if not line.startswith("{")]
    assert len(prose) == len(expect), shown
    for line, want in zip(prose, expect, strict=True):
        assert want in line, shown


def run_case(case: Case, ports: dict[str, int], workdir: Path) -> None:
    """Write the case's files, run it, and check it answered as expected."""
    for name, content in case.files.items():
        (workdir / name).write_bytes(content)

    def fill(text: str) -> str:
        return text.format(**ports) if "{" in text and "port}" in text else text

    result = handover([fill(a) for a in case.argv], {k: fill(v) for k, v in case.env.items()}, workdir)
    assert_clear(result, case.exit, [fill(e) for e in case.expect])

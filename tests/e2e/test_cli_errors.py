"""Every `handover` subcommand given wrong input answers one clear line and exits 2 (1 where a check
found problems in a file it could read: each problem is a line); never a traceback.

The command runs as ops run it, as a process, so whatever it prints is what they would see."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.support.processes import ROOT
from tests.support.redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e

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


def latin1_rules() -> bytes:
    """A rules file saved as Latin-1 by an old editor: the 'ç' of line 12 is the byte 0xe7."""
    notes = "".join(f"# note {n}\n" for n in range(1, 12))
    return (notes + "#  Atenção: revisado\n" + BOTH_KINDS).encode("latin-1")


UNREACHABLE = {"REDIS_URL": "redis://127.0.0.1:{dead_port}/0"}

CASES = [
    # no subcommand, unknown ones, unknown options
    Case("no-command", [], ["handover: choose a command: serve, worker, rules, agents, packet"]),
    Case("unknown-command", ["frobnicate"], ["handover: unknown command 'frobnicate'"]),
    Case("unknown-option", ["worker", "--turbo"], ["handover worker: unknown argument --turbo"]),
    Case(
        "rules-no-subcommand",
        ["rules"],
        ["handover rules: choose a command: check, schema, test, eval, reload"],
    ),
    Case("packet-extra", ["packet", "schema", "extra"], ["handover packet schema: unknown argument extra"]),
    # environment
    Case("env-port", ["serve"], ["HANDOVER_PORT: must be a whole number"], env={"HANDOVER_PORT": "http"}),
    Case(
        "env-port-range",
        ["serve"],
        ["HANDOVER_PORT: must be from 1 to 65535, got 70000"],
        env={"HANDOVER_PORT": "70000"},
    ),
    Case(
        "env-redis-url",
        ["agents", "list"],
        ["REDIS_URL: must start with redis://, rediss:// or unix:// (got 'localhost:6379')"],
        env={"REDIS_URL": "localhost:6379"},
    ),
    Case(
        "env-log-level",
        ["rules", "check"],
        ["HANDOVER_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR (got 'LOUD')"],
        env={"HANDOVER_LOG_LEVEL": "LOUD"},
    ),
    Case(
        "env-partitions",
        ["worker"],
        ["HANDOVER_PARTITIONS: must be from 1 to 1024, got 0"],
        env={"HANDOVER_PARTITIONS": "0"},
    ),
    Case(
        "env-secret-missing",
        ["serve"],
        ["WHATSAPP_APP_SECRET is required when WHATSAPP_ACCESS_TOKEN is set (outside the sandbox)"],
        env={"WHATSAPP_ACCESS_TOKEN": "x"},
    ),
    # serve
    Case("serve-port-word", ["serve", "--port", "http"], ["handover serve: --port must be a whole number"]),
    Case("serve-port-range", ["serve", "--port", "-1"], ["handover serve: --port must be from 1 to 65535"]),
    Case(
        "serve-bad-rules",
        ["serve"],
        [
            "rules.yaml:8:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
            "rules.yaml:11:23 intents[1].escalate.queue: unknown queue 'geral' (known: general)",
            "handover: rules.yaml has 2 problems; nothing started",
        ],
        env={"HANDOVER_RULES": "rules.yaml"},
        files={"rules.yaml": BOTH_KINDS.encode()},
    ),
    Case(
        "serve-missing-rules",
        ["serve"],
        [
            "nope.yaml: cannot read: No such file or directory",
            "handover: nope.yaml has 1 problem; nothing started",
        ],
        env={"HANDOVER_RULES": "nope.yaml"},
    ),
    Case(
        "serve-port-taken", ["serve", "--port", "{taken_port}"], ["cannot listen on 127.0.0.1:{taken_port}"]
    ),
    Case(
        "serve-host-unknown", ["serve", "--host", "no-such-host.invalid"], ["cannot listen on no-such-host"]
    ),
    # worker
    Case("worker-embedded", ["worker"], ["handover: handover worker needs REDIS_URL"]),
    Case(
        "worker-unreachable",
        ["worker", "--burst"],
        ["handover: cannot reach Redis at redis://127.0.0.1:{dead_port}/0"],
        env=UNREACHABLE,
    ),
    Case(
        "worker-bad-rules",
        ["worker", "--burst"],
        [
            "nope.yaml: cannot read: No such file or directory",
            "handover: nope.yaml has 1 problem; nothing started",
        ],
        env={**UNREACHABLE, "HANDOVER_RULES": "nope.yaml"},
    ),
    # rules
    Case(
        "check-missing",
        ["rules", "check", "nope.yaml"],
        ["nope.yaml: cannot read: No such file or directory"],
    ),
    Case("check-directory", ["rules", "check", "."], [".: cannot read: it is a directory, not a file"]),
    Case(
        "check-not-utf8",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml: not UTF-8 (byte 0xe7 at line 12, col 8); save it as UTF-8"],
        exit=1,
        files={"rules.yaml": latin1_rules()},
    ),
    Case(
        "check-both-kinds",
        ["rules", "check", "rules.yaml"],
        [
            "rules.yaml:8:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
            "rules.yaml:11:23 intents[1].escalate.queue: unknown queue 'geral' (known: general)",
        ],
        exit=1,
        files={"rules.yaml": BOTH_KINDS.encode()},
    ),
    Case(
        "check-not-yaml",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml:3:1 (file): not valid YAML: found character '\\t' that cannot start any token"],
        exit=1,
        files={"rules.yaml": b"version: 1\nintents:\n\t- name: hello\n"},
    ),
    Case(
        "check-empty",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml:1:1 (file): the file is empty; it must be a mapping (version, intents, queues...)"],
        exit=1,
        files={"rules.yaml": b""},
    ),
    Case(
        "test-missing", ["rules", "test", "nope.yaml"], ["nope.yaml: cannot read: No such file or directory"]
    ),
    Case(
        "test-no-file", ["rules", "test"], ["handover rules test: missing FILE (a golden conversations file)"]
    ),
    Case(
        "test-bad-golden",
        ["rules", "test", "golden.yaml"],
        ["golden.yaml:4:5 conversations[0].turns: required"],
        exit=1,
        files={
            "golden.yaml": f"rules: {SHIPPED}\nat: 2026-11-23T10:00:00-03:00\nconversations:\n  - name: x\n".encode()
        },
    ),
    Case(
        "test-rules-missing",
        ["rules", "test", str(GOLDEN), "--rules", "nope.yaml"],
        ["nope.yaml: cannot read: No such file or directory"],
    ),
    Case("eval-missing", ["rules", "eval", "nope"], ["nope: cannot read: No such file or directory"]),
    Case(
        "eval-bad-corpus",
        ["rules", "eval", "corpus.yaml"],
        ["corpus.yaml:3:5 cases[0].say: required"],
        exit=1,
        files={"corpus.yaml": b"category: x\ncases:\n  - expect: {intent: greeting}\n"},
    ),
    Case(
        "eval-min-word",
        ["rules", "eval", "corpus.yaml", "--min", "most"],
        ["handover rules eval: --min must be a number (got 'most')"],
    ),
    Case(
        "reload-other-file",
        ["rules", "reload", "other.yaml"],
        [
            f"handover: other.yaml is not the served rules file (HANDOVER_RULES is {SHIPPED}); edit that "
            "one, or point HANDOVER_RULES at this file and restart the processes"
        ],
        files={"other.yaml": SHIPPED.read_bytes()},
    ),
    Case(
        "reload-broken",
        ["rules", "reload"],
        [
            "rules.yaml:8:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
            "rules.yaml:11:23 intents[1].escalate.queue: unknown queue 'geral' (known: general)",
        ],
        exit=1,
        env={"HANDOVER_RULES": "rules.yaml"},
        files={"rules.yaml": BOTH_KINDS.encode()},
    ),
    # agents
    Case("agents-embedded", ["agents", "list"], ["handover: agents live in Redis: set REDIS_URL"]),
    Case(
        "agents-unreachable",
        ["agents", "list"],
        [
            "handover: cannot reach Redis at redis://127.0.0.1:{dead_port}/0 (connection refused); is it running?"
        ],
        env=UNREACHABLE,
    ),
    Case(
        "agents-unreachable-password-hidden",
        ["agents", "list"],
        ["handover: cannot reach Redis at redis://:***@127.0.0.1:{dead_port}/0"],
        env={"REDIS_URL": "redis://:s3cret@127.0.0.1:{dead_port}/0"},
    ),
    Case(
        "add-capacity-too-high",
        ["agents", "add", "Ana", "--queues", "general", "--capacity", "500"],
        [
            "handover: --capacity is how many conversations the agent holds at once: 1 to 50 "
            "(one person cannot follow more at a time), got 500"
        ],
        env=UNREACHABLE,
    ),
    Case(
        "add-capacity-zero",
        ["agents", "add", "Ana", "--queues", "general", "--capacity", "0"],
        ["handover: --capacity is how many conversations the agent holds at once: 1 to 50"],
        env=UNREACHABLE,
    ),
    Case(
        "add-capacity-word",
        ["agents", "add", "Ana", "--queues", "general", "--capacity", "lots"],
        ["handover agents add: --capacity must be a whole number"],
        env=UNREACHABLE,
    ),
    Case(
        "add-empty-name",
        ["agents", "add", " ", "--queues", "general"],
        ["handover: NAME must not be empty"],
        env=UNREACHABLE,
    ),
    Case(
        "add-long-name",
        ["agents", "add", "A" * 101, "--queues", "general"],
        ["handover: NAME is at most 100 characters, got 101"],
        env=UNREACHABLE,
    ),
    Case(
        "add-no-queues",
        ["agents", "add", "Ana", "--queues", " , "],
        ["handover: --queues names at least one queue (known: billing, general, retention, senior)"],
        env=UNREACHABLE,
    ),
    Case(
        "add-unknown-queue",
        ["agents", "add", "Ana", "--queues", "general,suporte"],
        ["handover: unknown queue 'suporte' in --queues (known: billing, general, retention, senior)"],
        env=UNREACHABLE,
    ),
    Case(
        "add-missing-queues",
        ["agents", "add", "Ana"],
        ["handover agents add: missing --queues (comma-separated queue names)"],
        env=UNREACHABLE,
    ),
    Case(
        "add-bad-role",
        ["agents", "add", "Ana", "--queues", "general", "--role", "boss"],
        ["handover agents add: --role must be one of agent, supervisor (got 'boss')"],
        env=UNREACHABLE,
    ),
    Case(
        "add-broken-rules",
        ["agents", "add", "Ana", "--queues", "general"],
        [
            "nope.yaml: cannot read: No such file or directory",
            "handover: nope.yaml has 1 problem; its queues are unknown, so no agent was added",
        ],
        env={**UNREACHABLE, "HANDOVER_RULES": "nope.yaml"},
    ),
    Case("remove-no-id", ["agents", "remove"], ["handover agents remove: missing ID"], env=UNREACHABLE),
]


@pytest.fixture(scope="module")
def ports():
    """A port nothing listens on, and one that something does."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    yield {"dead_port": free_port(), "taken_port": taken.getsockname()[1]}
    taken.close()


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


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wrong_input_gets_one_clear_line(case: Case, ports, tmp_path):
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content)

    def fill(text: str) -> str:
        return text.format(**ports) if "{" in text and "port}" in text else text

    result = handover([fill(a) for a in case.argv], {k: fill(v) for k, v in case.env.items()}, tmp_path)
    assert_clear(result, case.exit, [fill(e) for e in case.expect])


def test_removing_an_unknown_agent_names_it(redis_url, tmp_path):
    result = handover(["agents", "remove", "ag_nobody"], {"REDIS_URL": redis_url}, tmp_path)
    assert_clear(result, 2, ["handover: no agent 'ag_nobody' (see handover agents list)"])


def test_adding_an_agent_still_works(redis_url, tmp_path):
    added = handover(
        ["agents", "add", "Ana Lima", "--queues", "general,billing", "--json"],
        {"REDIS_URL": redis_url},
        tmp_path,
    )
    assert added.returncode == 0, added.stderr
    listed = handover(["agents", "list"], {"REDIS_URL": redis_url}, tmp_path)
    assert "Ana Lima  queues=general,billing  capacity=3  role=agent" in listed.stdout


def test_a_wrong_redis_password_is_named_as_such(tmp_path):
    server = RedisServer().start()
    try:
        redis.Redis(port=server.port).config_set("requirepass", "right")
        url = f"redis://:wrong@127.0.0.1:{server.port}/0"
        result = handover(["agents", "list"], {"REDIS_URL": url}, tmp_path)
    finally:
        server.stop()
    assert_clear(
        result,
        2,
        [
            f"handover: Redis at redis://:***@127.0.0.1:{server.port}/0 refused us (invalid username-password "
            "pair or user is disabled); check the password in REDIS_URL"
        ],
    )

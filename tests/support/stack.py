"""A whole sandbox deployment as real processes: redis-server, `handover serve`, `handover worker`.

Used by the browser tests and the desk journey end to end: agents are made with `handover agents add`,
exactly as an operator would."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.processes import ROOT, Process, http_json, is_up, wait_for
from tests.support.redis_server import free_port
from tests.support.webhook import SECRET


def always_open_rules(workdir: Path) -> Path:
    """The shipped rules with every queue open around the clock, so what a test sees does not depend on
    the hour it runs at (business hours have their own tests)."""
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    for queue in rules["queues"].values():
        queue.pop("business_hours", None)
    rules["identity"]["directory"]["file"] = str(ROOT / "config" / "customers.yaml")
    path = workdir / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


def add_agent_with_the_cli(
    env: dict[str, str],
    name: str,
    queues: list[str],
    capacity: int = 3,
    role: str = "agent",
    numbers: list[str] | None = None,
) -> dict[str, str]:
    """`handover agents add NAME --queues ... --json`, exactly as ops would; {"id", "token"}."""
    command = ["agents", "add", name, "--queues", ",".join(queues), "--capacity", str(capacity)]
    if numbers:
        command += ["--numbers", ",".join(numbers)]
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", *command, "--role", role, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    agent: dict[str, str] = json.loads(out.stdout)
    return agent


@dataclass
class Stack:
    redis_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    processes: list[Process] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **settings: str) -> Stack:
        self.port = free_port()
        self.env = {
            "REDIS_URL": self.redis_url,
            "WHATSAPP_ACCESS_TOKEN": "",  # sandbox: sends land in the outbox the simulator reads
            "HANDOVER_SANDBOX": "1",  # the simulator's routes on a real Redis are asked for
            "HANDOVER_PORT": str(self.port),
            "HANDOVER_PARTITIONS": "4",
            "HANDOVER_RULES": str(always_open_rules(self.workdir)),
            **settings,
        }
        # an empty variable counts as unset (sandbox unless the test gives a token)
        self.processes.append(Process(["serve"], self.env, self.workdir / "serve.log").start())
        self.processes.append(Process(["worker"], self.env, self.workdir / "worker.log").start())
        wait_for(lambda: is_up(f"{self.base}/readyz"), 30, "serve to be ready")
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.args[0]}\n{p.log()}" for p in self.processes)

    def start_on_line(self, graph_url: str, **settings: str) -> Stack:
        """Started with a WhatsApp token against `graph_url` (the fake Graph API), not the sandbox."""
        return self.start(
            WHATSAPP_ACCESS_TOKEN="test-token",
            WHATSAPP_APP_SECRET=SECRET.decode(),
            WHATSAPP_VERIFY_TOKEN="test-verify",
            WHATSAPP_API_URL=graph_url,
            **settings,
        )

    def add_agent(
        self,
        name: str,
        queues: list[str],
        capacity: int = 3,
        role: str = "agent",
        status: str = "available",
        numbers: list[str] | None = None,
    ) -> dict[str, str]:
        """`handover agents add ... --json`, then the presence the test wants; {"id", "token"}."""
        env = Process([], self.env, self.workdir / "cli.log").env
        agent = add_agent_with_the_cli(env, name, queues, capacity, role, numbers)
        if status:
            self.api("PUT", "/me/status", agent["token"], {"status": status})
        return agent

    def api(self, method: str, path: str, token: str, payload: Any = None) -> tuple[int, Any]:
        return http_json(
            method, f"{self.base}/api/v1{path}", payload, headers={"Authorization": f"Bearer {token}"}
        )

    def listen(self, token: str) -> EventListener:
        return EventListener(f"{self.base}/api/v1/events", token).start()

    def customer_says(self, sender: str, text: str, name: str = "Cliente") -> str:
        status, answer = http_json(
            "POST", f"{self.base}/sandbox/messages", {"from": sender, "name": name, "text": text}
        )
        assert status == 202, answer
        return str(answer["id"])

    def outbox(self, to: str) -> list[dict[str, Any]]:
        return [
            m
            for m in http_json("GET", f"{self.base}/sandbox/outbox?to={to}")[1]["messages"]
            if m["kind"] != "mark_read"
        ]


class EventListener:
    """An agent's live event stream read in a thread, as a desk would hold it open; `close()` drops it."""

    def __init__(self, url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        self.connection.request("GET", parts.path, headers={"Authorization": f"Bearer {token}"})
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> EventListener:
        response = self.connection.getresponse()
        assert response.status == 200, response.read()
        self.response = response
        self.thread.start()
        return self

    def _read(self) -> None:
        kind = ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line[6:])))
        except Exception:  # closed under us: http.client fails in several ways when its socket goes
            pass

    def kinds(self, conversation_id: str) -> list[str]:
        return [kind for kind, data in self.events if data.get("conversation_id") == conversation_id]

    def close(self) -> None:
        if self.connection.sock is not None:
            self.connection.sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()
        self.thread.join(timeout=5)

"""A whole sandbox deployment as real processes: redis-server, `handover serve`, `handover worker`.

Used by the browser tests and the desk journey end to end: agents are made with `handover agents add`,
exactly as an operator would."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT, Process, http_json, is_up, wait_for
from tests.support.redis_server import free_port


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
            "HANDOVER_PORT": str(self.port),
            "HANDOVER_PARTITIONS": "4",
            **settings,
        }
        serve = Process(["serve"], self.env, self.workdir / "serve.log")
        worker = Process(["worker"], self.env, self.workdir / "worker.log")
        for process in (serve, worker):
            process.env.pop("WHATSAPP_ACCESS_TOKEN", None)
            self.processes.append(process.start())
        wait_for(lambda: is_up(f"{self.base}/readyz"), 30, "serve to be ready")
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.args[0]}\n{p.log()}" for p in self.processes)

    def add_agent(
        self, name: str, queues: list[str], capacity: int = 3, role: str = "agent", status: str = "available"
    ) -> dict[str, str]:
        """`handover agents add ... --json`, then the presence the test wants; {"id", "token"}."""
        env = {k: v for k, v in self.env.items() if k != "WHATSAPP_ACCESS_TOKEN"}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "agents",
                "add",
                name,
                "--queues",
                ",".join(queues),
                "--capacity",
                str(capacity),
                "--role",
                role,
                "--json",
            ],
            cwd=ROOT,
            env={**Process([], env, self.workdir / "cli.log").env},
            capture_output=True,
            check=True,
            text=True,
        )
        agent: dict[str, str] = json.loads(out.stdout)
        if status:
            self.api("PUT", "/me/status", agent["token"], {"status": status})
        return agent

    def api(self, method: str, path: str, token: str, payload: Any = None) -> tuple[int, Any]:
        return http_json(
            method, f"{self.base}/api/v1{path}", payload, headers={"Authorization": f"Bearer {token}"}
        )

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

"""Chaos tests' means: customers posting signed webhooks as Meta does (again until a 200), a real
`handover serve` and real workers on a redis-server of their own, and the accounting of what was
acknowledged against what was processed, per message id."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from config.settings import SANDBOX_APP_SECRET
from handover import keys
from handover.keys import Lane
from handover.message import CustomerRef
from handover.store import Store
from handover.transcript import TranscriptEntry
from tests.support.processes import Process, http_json, is_up, wait_for
from tests.support.redis_server import RedisServer, free_port
from tests.support.webhook import PNID, RECENT, body, signed, text_message


@dataclass
class Deployment:
    """redis-server (AOF always), one `handover serve`, `workers` workers; sandbox: replies go to the outbox."""

    workdir: Path
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    redis: RedisServer = field(init=False)
    port: int = field(init=False, default=0)
    processes: list[Process] = field(init=False, default_factory=list)

    def start(self) -> Deployment:
        self.redis = RedisServer(appendonly=True).start()
        self.port = free_port()
        # a sandbox unless the test gives Meta's settings (graph_env)
        env = {
            "REDIS_URL": self.redis.url,
            "HANDOVER_PORT": str(self.port),
            "HANDOVER_SANDBOX": "1",
            **self.env,
        }
        self.processes.append(Process(["serve"], env, self.workdir / "serve.log").start())
        for n in range(self.workers):
            self.processes.append(Process(["worker"], env, self.workdir / f"worker{n}.log").start())
        wait_for(lambda: is_up(f"{self.base}/readyz"), 30, "handover serve")
        for worker in self.processes[1:]:
            wait_for(lambda w=worker: "worker_started" in w.log(), 30, "the workers")
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> list[bool]:
        return [p.popen is not None and p.popen.poll() is None for p in self.processes]

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, decode_responses=True)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.redis.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-1500:]}" for p in self.processes)


@dataclass
class Customers:
    """`count` customers writing `each` messages, one after another, each delivered until acknowledged."""

    count: int
    each: int
    first: int = 0  # the number of each customer's first message here (a second round goes on from there)
    acknowledged: dict[str, list[str]] = field(default_factory=dict)  # wa_id -> message ids, in order
    refused: int = 0  # answers other than 200 (each followed by a redelivery)

    def message(self, i: int, c: int) -> tuple[str, str, bytes, dict[str, str]]:
        """Customer c's message number i: (wa_id, message id, signed body, headers)."""
        wa_id, message_id = f"55119{c:08d}", f"wamid.chaos.{c}.{i}"
        raw, headers = signed(
            body([text_message(message_id, wa_id, f"mensagem {i}", RECENT + i)]), SANDBOX_APP_SECRET
        )
        return wa_id, message_id, raw, headers

    def raw(self, i: int, c: int) -> bytes:
        return self.message(i, c)[2]

    def headers(self, i: int, c: int) -> dict[str, str]:
        return self.message(i, c)[3]

    def write(self, base: str, during: Callable[[int], None] = lambda n: None, give_up: float = 60.0) -> None:
        n = 0
        for i in range(self.first, self.first + self.each):
            for c in range(self.count):
                wa_id, message_id, raw, headers = self.message(i, c)
                deadline = time.monotonic() + give_up
                while True:
                    try:
                        status, _ = http_json("POST", f"{base}/webhook", headers=headers, data=raw)
                    except OSError:
                        status = 0
                    if status == 200:
                        break
                    self.refused += 1
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{message_id} not acknowledged in {give_up}s (last {status})")
                    time.sleep(0.2)
                self.acknowledged.setdefault(wa_id, []).append(message_id)
                during(n)
                n += 1

    @staticmethod
    def say(base: str, wa_id: str, message_id: str, text: str) -> None:
        """One message, delivered once (the test expects the 200)."""
        raw, headers = signed(body([text_message(message_id, wa_id, text, RECENT)]), SANDBOX_APP_SECRET)
        status, _ = http_json("POST", f"{base}/webhook", headers=headers, data=raw)
        assert status == 200, status

    def processed(self, client: redis.Redis) -> dict[str, list[str]]:
        """Each customer's inbound message ids as their transcript holds them (this round's only)."""
        return {
            wa_id: [i for i in transcript_ids(client, wa_id) if i in set(acknowledged)]
            for wa_id, acknowledged in self.acknowledged.items()
        }

    def all_processed(self, client: redis.Redis) -> bool:
        try:
            return self.processed(client) == self.acknowledged
        except redis.ConnectionError:
            return False


def transcript(client: redis.Redis, wa_id: str) -> list[TranscriptEntry]:
    """A customer's current conversation, both ways, in order (empty before they write)."""
    store = Store(client)
    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))
    return store.transcript(conversation.id) if conversation is not None else []


def transcript_ids(client: redis.Redis, wa_id: str) -> list[str]:
    """A customer's inbound message ids, in transcript order."""
    return [e.id for e in transcript(client, wa_id) if e.direction == "in"]


def dead_letters(client: redis.Redis) -> int:
    return int(
        client.xlen(keys.dead_letter_key(Lane.INBOUND)) + client.xlen(keys.dead_letter_key(Lane.OUTBOUND))
    )


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread

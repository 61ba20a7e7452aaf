"""What the mixed bench reads off the processes and Redis: CPU time, commands, memory by key, profiles."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis

from handover import keys
from handover.conversation import ConversationState
from handover.store import Store

TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (as bench/load.py's); math.inf counts as slower than anything."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def cpu_seconds(pid: int) -> float:
    """User and system time of a process and of its children it waited for, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS  # utime stime cutime cstime


@dataclass
class CpuWindow:
    """CPU seconds each named process spent between `start` and `stop`."""

    pids: dict[str, list[int]]
    started: dict[str, float] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}

    def start(self) -> None:
        self.started = self._now()

    def stop(self) -> None:
        self.spent = {name: seconds - self.started[name] for name, seconds in self._now().items()}


def command_calls(client: redis.Redis) -> Counter[str]:
    """Calls per command since the server started (INFO commandstats; a script's own calls count too)."""
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def processed(client: redis.Redis) -> int:
    return int(client.hget(keys.COUNTERS, "messages_processed") or 0)


# A conversation's keys in Redis (handover/keys.py), and the keys its messages leave behind
FAMILIES = {
    "conv": keys.conversation_key,
    "tx": keys.transcript_key,
    "txe": keys.entries_key,
    "txd": keys.delivery_key,
    "packet": keys.packet_key,
    "decisions": keys.decisions_key,
    "identity": keys.pending_identity_key,
    "announced": keys.announced_key,
    "skip": keys.skip_key,
}


def conversation_keys(client: redis.Redis, conversation_id: str) -> dict[str, list[str]]:
    """Every key that is one conversation's: its own, its customer's (one conversation each here), the
    dedupe marks of the messages it got (seen) and where each message sent to it is found (wamid)."""
    found = {family: [build(conversation_id)] for family, build in FAMILIES.items()}
    conv = client.hgetall(keys.conversation_key(conversation_id))
    number, customer = conv.get("phone_number_id"), conv.get("customer_key") or conv.get("wa_id")
    if number and customer:
        found["cust"] = [keys.customer_key(number, customer), keys.history_key(number, customer)]
    entries = client.zrange(keys.transcript_key(conversation_id), 0, -1)
    found["seen"] = [keys.seen_key(e) for e in entries if not str(e).startswith("out.")]
    deliveries = client.hvals(keys.delivery_key(conversation_id))
    wamids = [_wamid(d) for d in deliveries]
    found["wamid"] = [keys.wamid_key(w) for w in wamids if w]
    return found


def _wamid(delivery: str) -> str | None:
    try:
        value = json.loads(delivery).get("wa_message_id")
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


def memory_by_state(
    client: redis.Redis, per_state: int = 200
) -> tuple[dict[str, tuple[int, float]], Counter[str]]:
    """Mean bytes (MEMORY USAGE, exact) of a conversation's keys, over up to `per_state` conversations in
    each state (bot-only, waiting, resolved): {state: (sampled, bytes)}, and bytes per key family over all."""
    store = Store(client)
    ids = [str(i) for i in client.zrange(keys.CONVERSATIONS, 0, -1)]
    states = {"bot-only": ConversationState.BOT, "waiting": ConversationState.QUEUED}
    states["resolved"] = ConversationState.RESOLVED
    chosen: dict[str, list[str]] = {name: [] for name in states}
    for start in range(0, len(ids), 500):
        for conversation in store.conversations(ids[start : start + 500]):
            for name, state in states.items():
                if conversation is not None and conversation.state == state and len(chosen[name]) < per_state:
                    chosen[name].append(conversation.id)
    result, families = {}, Counter[str]()
    for name, picked in chosen.items():
        total = 0
        for conversation_id in picked:
            for family, names in conversation_keys(client, conversation_id).items():
                for key in names:
                    size = int(client.memory_usage(key, samples=0) or 0)
                    total += size
                    families[family] += size
        result[name] = (len(picked), total / len(picked) if picked else math.nan)
    return result, families


class Profiles:
    """py-spy recording each named process while a phase runs (SIGINT makes it write its SVG)."""

    def __init__(self, folder: Path, section: str, pids: dict[str, int]) -> None:
        self.paths = {name: folder / f"{name}-{section}.svg" for name in pids}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.failed: list[str] = []
        beside = Path(sys.executable).parent / "py-spy"  # the venv's, when it is not activated
        binary = str(beside) if beside.exists() else "py-spy"
        for name, pid in pids.items():
            command = [binary, "record", "-o", str(self.paths[name]), "--pid", str(pid), "--rate", "200"]
            try:
                self.procs.append(
                    subprocess.Popen(
                        [*command, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                    )
                )
            except FileNotFoundError:
                self.failed.append("py-spy is not installed (pip install py-spy, or the test extra)")
                return

    def stop(self) -> list[str]:
        """Lines saying where each SVG is, or why it is not."""
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            _, err = proc.communicate(timeout=60)
            if proc.returncode not in (0, -signal.SIGINT):
                self.failed.append(err.decode(errors="replace").strip()[-300:])
        written = [f"    profile: {path}" for path in self.paths.values() if path.exists()]
        return written + [f"    py-spy failed: {why}" for why in self.failed]


# What belongs to one conversation or one message (conversation_keys above): the rest is shared
_OWN = ("conv:", "tx:", "txe:", "txd:", "packet:", "decisions:", "identity:", "announced:", "cust:")
_OWN_PREFIXES = tuple(keys.PREFIX + p for p in (*_OWN, "seen:", "wamid:"))


def shared_keys(client: redis.Redis, top: int = 6) -> tuple[int, list[tuple[str, int]]]:
    """Bytes held in keys that are no one conversation's (indexes, streams, counters): in all, and the
    `top` largest by name."""
    names = [k for k in client.scan_iter(count=5000) if not str(k).startswith(_OWN_PREFIXES)]
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.memory_usage(name, samples=0)
        sizes = [int(s or 0) for s in pipe.execute()]
    ranked = sorted(zip(names, sizes, strict=True), key=lambda pair: -pair[1])
    return sum(sizes), [(str(n), s) for n, s in ranked[:top]]

"""The mixed bench's plan, what its run found, and its table: figures with their targets beside them, then
what shows the run was sound."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from bench.measure import percentile
from bench.scale import RESOLVED_SHARE, Point
from bench.team import AGENTS, Team
from bench.traffic import BATCHED, WAIT_SECONDS, Replies, Tally


@dataclass(frozen=True)
class Plan:
    latency: float = 0.1  # the fake Graph API's answer time
    customers: int = 256  # in the sustained phase, back-to-back
    ramp_seconds: float = 5.0
    window_seconds: float = 20.0
    rates: tuple[int, ...] = (250, 500, 750, 1000, 1250, 1500)  # offered, messages a second
    required: tuple[int, ...] = (500, 1000)  # stepped whatever the step before found
    fallback: tuple[int, ...] = (125, 60, 30)  # when no rate above met the target
    step_seconds: float = 15.0
    think: tuple[float, float] = (0.5, 2.0)  # seconds a customer takes to write again, in the open loop
    target_p99: float = 0.250
    target_rate: int = 1000
    scale_marks: tuple[int, ...] = (25_000, 50_000, 100_000)
    scale_seconds: float = 60.0
    noop_jobs: int = 2000
    drain_seconds: float = 120.0


@dataclass
class Sustained:
    rate: float
    messages: int  # processed in the window
    cpu: dict[str, float]
    commands: Counter[str]
    tally: Tally
    profiles: list[str]


@dataclass
class Step:
    rate: int
    tally: Tally
    drained: float  # seconds after the step until every message was processed

    @property
    def p50(self) -> float:
        return percentile(self.tally.latencies, 0.5)

    @property
    def p99(self) -> float:
        return percentile(self.tally.latencies, 0.99)


@dataclass
class Run:
    """Everything the phases found."""

    plan: Plan
    noop: float = 0.0
    sustained: Sustained | None = None
    steps: list[Step] = field(default_factory=list)
    sent: int = 0  # messages in POSTs answered 200
    processed: int = 0
    escalations: int = 0
    team: Team | None = None
    replies: Replies | None = None
    memory: dict[str, tuple[int, float]] = field(default_factory=dict)
    families: Counter[str] = field(default_factory=Counter)
    shared: tuple[int, list[tuple[str, int]]] = (0, [])  # bytes in keys no conversation owns, the largest
    scale: list[Point] = field(default_factory=list)
    scale_rate: float = 0.0
    seconds: float = 0.0


def owed_messages(run: Run) -> int:
    """What the Graph API should have got: the bot's answers to what was stored, and per conversation the
    agents resolved their two replies and the satisfaction survey."""
    tallies = [*([run.sustained.tally] if run.sustained else []), *(s.tally for s in run.steps)]
    return sum(t.replies for t in tallies) + 3 * sum(run.team.resolved if run.team else [])


def _ms(seconds: float) -> str:
    return f">{WAIT_SECONDS:.0f} s" if math.isinf(seconds) else f"{seconds * 1000:5.0f} ms"


def _kb(size: float) -> str:
    return f"{size / 1024:5.1f} KB"


def print_mixed(run: Run) -> None:
    plan, sustained, noop = run.plan, run.sustained, run.noop
    assert sustained is not None
    target_ms = f"{plan.target_p99 * 1000:.0f} ms"
    print(
        f"(g) mixed workload: multi-turn customers (shipped rules, ~20% reach a person), {AGENTS} agents "
        f"at the desk, Graph API answering in {plan.latency * 1000:.0f} ms, 1 serve + 2 workers logging at "
        f"their default level; {run.seconds:.0f} s"
    )
    print(f"    rq no-op jobs, 2 workers                  {noop:8.0f} jobs/s")
    print(
        f"    sustained, {plan.customers} customers back-to-back   {sustained.rate:8.0f} msg/s   "
        f"ratio {sustained.rate / noop:.2f}x rq no-op  ({sustained.messages:,} processed in "
        f"{plan.window_seconds:.0f} s after {plan.ramp_seconds:.0f} s of ramp)"
    )
    waited = sustained.tally.latencies
    print(
        f"      (saturated: customers waited p50 {_ms(percentile(waited, 0.5))} for a first reply, "
        f"{sustained.tally.refusals:,} POSTs refused; load generator late p99 "
        f"{_ms(percentile(sustained.tally.lag, 0.99))})"
        + ("; py-spy was sampling serve and the workers: figures lower" if sustained.profiles else "")
    )
    print(
        f"    webhook -> first reply, open loop, {plan.step_seconds:.0f} s a step (customers think "
        f"{plan.think[0]}-{plan.think[1]} s; new ones start whenever none is ready):"
    )
    for step in sorted(run.steps, key=lambda s: s.rate):
        t = step.tally
        answered = sum(1 for x in t.latencies if not math.isinf(x))
        target = f"  (target p99 <= {target_ms})" if step.rate == plan.target_rate else ""
        print(
            f"      offered {step.rate:5d} msg/s (sent {t.messages / t.seconds:5.0f})  p50 {_ms(step.p50)}  "
            f"p99 {_ms(step.p99)}{target}"
        )
        print(
            f"        {answered:,} of {t.messages:,} measured ({t.silent:,} silent; "
            f"{t.unanswered} unanswered, {t.failed} never stored: >{WAIT_SECONDS:.0f} s); webhook 200 p50 "
            f"{_ms(percentile(t.acks, 0.5))} p99 {_ms(percentile(t.acks, 0.99))}, {t.refusals:,} POSTs "
            f"refused; drained {step.drained:.1f} s after; load generator late p99 "
            f"{_ms(percentile(t.lag, 0.99))}"
        )
    good = [s.rate for s in run.steps if s.p99 <= plan.target_p99]
    highest = f"{max(good)} msg/s" if good else f"below {min(s.rate for s in run.steps)} msg/s"
    print(f"    highest offered rate with p99 <= {target_ms}: {highest}")
    per = max(sustained.messages, 1)
    total = sum(sustained.commands.values())
    print(
        f"    Redis commands per inbound message (sustained window, the agents' included; commands a script "
        f"runs count too): {total / per:.1f}"
    )
    top = ", ".join(f"{name} {calls / per:.1f}" for name, calls in sustained.commands.most_common(10))
    print(f"      top 10: {top}")
    print("    CPU seconds per 1,000 messages (sustained window):")
    for name, seconds in sustained.cpu.items():
        print(f"      {name:<36} {seconds * 1000 / per:6.2f}")
    for line in sustained.profiles:
        print(line)
    _memory(run)
    _checks(run)


def _memory(run: Run) -> None:
    states = "  ".join(f"{state} {_kb(size)} (mean of {n})" for state, (n, size) in run.memory.items())
    print(
        f"    Redis memory per conversation (MEMORY USAGE of its keys and its messages', sampled from the "
        f"conversations made below): {states}"
    )
    total = sum(run.families.values()) or 1
    shares = ", ".join(f"{f} {v / total:.0%}" for f, v in run.families.most_common())
    print(f"      by key, over all sampled: {shares}")
    base, last = run.scale[0], run.scale[-1]
    if last.conversations == 0:
        print("    used_memory growth: no conversation made in the time given")
        return
    print(
        f"    used_memory as conversations pile up (in this process, through the product's code, at "
        f"{run.scale_rate:.0f} conversations/s; the mix above, {RESOLVED_SHARE:.0%} of handovers resolved):"
    )
    at = {p.conversations: p for p in run.scale[1:]}
    middle = run.scale[len(run.scale) // 2]
    shown = sorted({*(m for m in run.plan.scale_marks if m in at), middle.conversations, last.conversations})
    for point in (at[n] for n in shown if n):
        print(
            f"      {point.conversations:7,} conversations  {point.used_memory / 2**20:7.1f} MB  "
            f"{_kb((point.used_memory - base.used_memory) / point.conversations)}/conversation  "
            f"(measured, {point.seconds:.0f} s)"
        )
    slope = (last.used_memory - base.used_memory) / last.conversations
    for mark in run.plan.scale_marks:
        if mark > last.conversations:
            print(
                f"      {mark:7,} conversations  {(base.used_memory + slope * mark) / 2**20:7.1f} MB  "
                f"{_kb(slope)}/conversation  (extrapolated: only {last.conversations:,} fit in "
                f"{run.plan.scale_seconds:.0f} s)"
            )
    shared, largest = run.shared
    names = ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in largest[:4])
    print(
        f"      in keys no conversation owns (indexes, capped streams): {_kb(shared / last.conversations)}"
        f"/conversation at {last.conversations:,} ({names})"
    )


def _checks(run: Run) -> None:
    assert run.sustained is not None and run.team is not None and run.replies is not None
    tallies = [run.sustained.tally, *(s.tally for s in run.steps)]
    posts = sum(t.posts for t in tallies)
    started = sum(t.started for t in tallies)
    finished = sum(t.finished for t in tallies)
    refusals = sum(t.refusals for t in tallies)
    failed = sum(t.failed for t in tallies)
    unanswered = sum(t.unanswered for t in tallies)
    handed = sum(t.handed_over for t in tallies)
    team = run.team
    busy = sum(1 for n in team.resolved if n)
    print(
        f"    checks: {run.sent:,} messages sent in {posts:,} POSTs ({BATCHED:.0%} of POSTs carry 2-5), "
        f"{run.processed:,} processed; {refusals:,} POSTs refused (then delivered again), {failed} messages "
        f"never stored, {unanswered} answers never came"
    )
    meant = sum(t.meant for t in tallies)
    print(
        f"      {started:,} conversations started ({meant / max(started, 1):.0%} scripted to reach a "
        f"person), {finished:,} played to the end (long scripts less often within a phase), of which "
        f"{handed:,} reached a person; the workers counted {run.escalations:,} handovers"
    )
    owed = owed_messages(run)
    print(
        f"      the Graph API got {run.replies.messages:,} messages ({owed:,} expected: the bot's, and two "
        f"replies and the survey per resolved) and {run.replies.read:,} read receipts"
    )
    print(
        f"      agents: {sum(team.resolved):,} conversations resolved, {busy}/{len(team.resolved)} agents "
        f"resolved some (fewest {min(team.resolved)}, most {max(team.resolved)}); the desk answered "
        f"{team.requests:,} requests, {team.errors} not as expected; {team.seen[0]:,} events on the streams"
    )

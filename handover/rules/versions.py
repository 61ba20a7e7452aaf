"""Every rules version a process loads, kept in Redis with who brought it, and the version each live process
runs (each reports it every few seconds): what `rules history|diff|rollback` and `rules reload` read.

With many numbers (handover/numbers.py) a version is kept once whoever loads it, and each number listed in
numbers.yaml also keeps its own history (the versions loaded for it); a process reports the version it runs
for the default rules (`version`) and for each listed number (`versions`). `number=None` everywhere means
the default rules, which is all a one-file deployment has."""

from __future__ import annotations

import difflib
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import redis
import structlog

from handover import keys
from handover.clock import Clock, system_clock
from handover.errors import Invalid, NotFound
from handover.rules.loader import VERSION_DIGITS, LoadedRules, content_hash
from handover.unit import guarded

if TYPE_CHECKING:
    from handover.rules.holder import Rulebook, RulesHolder

log = structlog.get_logger(__name__)

VERSIONS_KEPT = 500  # a rules file is a few tens of KB: 500 versions is years of edits in a few MB
REPORT_SECONDS = 2.0  # how often each process checks the file and says which version it runs
REPORT_TTL_SECONDS = 10  # a process silent this long (stopped, killed, hung) no longer counts as live
CURRENT = "current"  # the version reference that means "what the live processes run"
PROCESS_BY = "process "  # how a version no CLI announced is attributed: `process worker on host`


@dataclass(frozen=True)
class VersionInfo:
    version: str  # the first 12 hex digits of `hash`: what decisions record
    hash: str  # SHA-256 of the file's text
    first_loaded_at: float
    by: str  # `--by`, user@host of the CLI that announced it, or `process <kind> on <host>`


@dataclass(frozen=True)
class RulesVersion(VersionInfo):
    content: str  # kept apart from the rest, so listing 500 versions does not read 500 files


@dataclass(frozen=True)
class ProcessReport:
    id: str  # <kind>:<host>:<pid>
    kind: str  # web | worker
    host: str
    pid: int
    version: str  # of the default rules (the one rules file of a one-file deployment)
    seen_at: float
    error: str | None = None  # why the process refused the file on disk (it keeps running `version`)
    # each number numbers.yaml lists -> the version it runs, and why it refused its file if it did
    versions: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def runs(self, number: str | None = None) -> str:
        """The version this process runs for `number` (not listed, or None: the default rules)."""
        return self.versions.get(number or "", self.version)

    def refusal(self, number: str | None = None) -> str | None:
        """Why it refused the file of `number` (None: it did not)."""
        return self.errors.get(number, None) if number in self.versions else self.error


class UnknownVersion(NotFound):
    """No kept version starts with the prefix given (404 on the desk, exit 2 in the CLI)."""


class AmbiguousVersion(Invalid):
    """The prefix given starts more than one kept version (422 on the desk, exit 2 in the CLI)."""


# -- versions -------------------------------------------------------------------------------------------


def record(
    client: redis.Redis,
    loaded: LoadedRules,
    by: str,
    announced: bool = False,
    clock: Clock = system_clock,
    number: str | None = None,
) -> bool:
    """Keep a loaded version; the first writer wins, so the CLI that announces a version (and records it
    before touching the file) names who brought it, not the processes that load it after. Processes
    notice an edited file by themselves within seconds, often before ops run `rules reload`: so an
    `announced` record (the CLI's) also replaces a process's attribution, keeping the first time. True if
    the version is new. `number`: a number numbers.yaml lists, whose history the version joins too."""
    now = clock()
    info = VersionInfo(loaded.version, content_hash(loaded.text), now, by)
    with client.pipeline(transaction=True) as pipe:
        pipe.hsetnx(keys.RULES_VERSIONS, loaded.version, json.dumps(asdict(info)))
        pipe.hsetnx(keys.RULES_CONTENTS, loaded.version, loaded.text)
        pipe.zadd(keys.RULES_VERSION_INDEX, {loaded.version: now}, nx=True)
        created = bool(pipe.execute()[0])
    if number is not None:  # the number's own history: a key of its own slot, so a command of its own
        index = keys.rules_version_index_key(number)
        if client.zadd(index, {loaded.version: now}, nx=True):
            client.zremrangebyrank(index, 0, -(VERSIONS_KEPT + 1))
    if created:
        _trim(client)
    elif announced:
        _claim(client, loaded.version, by)
    return created


def _claim(client: redis.Redis, version: str, by: str) -> None:
    """Name who announced a version that a process recorded first (a person's name beats a process's)."""
    try:
        with guarded(client, keys.RULES_VERSIONS) as pipe:
            raw = pipe.hget(keys.RULES_VERSIONS, version)
            if raw is None or not _info(raw).by.startswith(PROCESS_BY):
                return
            pipe.multi()
            pipe.hset(keys.RULES_VERSIONS, version, json.dumps(asdict(replace(_info(raw), by=by))))
    except redis.WatchError:  # another writer meanwhile: theirs stands
        return


def _trim(client: redis.Redis) -> None:
    oldest = [keys.as_text(v) for v in client.zrange(keys.RULES_VERSION_INDEX, 0, -(VERSIONS_KEPT + 1))]
    if oldest:
        with client.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.RULES_VERSIONS, *oldest)
            pipe.hdel(keys.RULES_CONTENTS, *oldest)
            pipe.zrem(keys.RULES_VERSION_INDEX, *oldest)
            pipe.execute()


def history(client: redis.Redis, number: str | None = None) -> list[VersionInfo]:
    """Every kept version (without its content), newest first (by when it was first loaded); with a
    `number`, those loaded for it."""
    index = keys.RULES_VERSION_INDEX if number is None else keys.rules_version_index_key(number)
    names = [keys.as_text(v) for v in client.zrevrange(index, 0, -1)]
    if not names:
        return []
    raw = client.hmget(keys.RULES_VERSIONS, names)
    return [_info(r) for r in raw if r is not None]


def get(client: redis.Redis, version: str) -> RulesVersion | None:
    """One kept version with its content."""
    with client.pipeline(transaction=False) as pipe:
        pipe.hget(keys.RULES_VERSIONS, version)
        pipe.hget(keys.RULES_CONTENTS, version)
        raw, content = pipe.execute()
    if raw is None or content is None:
        return None
    return RulesVersion(**asdict(_info(raw)), content=keys.as_text(content))


def _info(raw: str | bytes) -> VersionInfo:
    return VersionInfo(**json.loads(keys.as_text(raw)))


def resolve(
    client: redis.Redis, ref: str, clock: Clock = system_clock, number: str | None = None
) -> RulesVersion:
    """The kept version a reference names: `current` (what most live processes run for `number`, default
    rules without one), or a prefix of a version or of its full hash (any number's: a version is its
    content). UnknownVersion or AmbiguousVersion otherwise."""
    ref = ref.strip().lower()
    if ref == CURRENT:
        running = current_version(client, live(client, clock), number)
        if running is None:
            raise UnknownVersion("no process reports a rules version, so `current` is unknown")
        found = get(client, running)
        if found is None:
            raise UnknownVersion(f"the processes run {running}, which is not kept")
        return found
    if not ref or any(c not in "0123456789abcdef" for c in ref):
        raise UnknownVersion(f"{ref!r} is not a rules version (hex digits, or `current`)")
    names = [keys.as_text(v) for v in client.zrevrange(keys.RULES_VERSION_INDEX, 0, -1)]
    matches = [n for n in names if n.startswith(ref[:VERSION_DIGITS])]
    if len(ref) > VERSION_DIGITS:  # a longer prefix (up to the full hash) is checked against the hash
        candidates = [get(client, n) for n in matches]
        matches = [v.version for v in candidates if v is not None and v.hash.startswith(ref)]
    if not matches:
        raise UnknownVersion(f"no kept rules version starts with {ref!r} (see handover rules history)")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise AmbiguousVersion(f"{ref!r} starts {len(matches)} versions ({shown}): give more digits")
    found = get(client, matches[0])
    if found is None:
        raise UnknownVersion(f"no kept rules version starts with {ref!r} (see handover rules history)")
    return found


def diff(a: RulesVersion, b: RulesVersion) -> str:
    """A unified diff of two versions' YAML, from `a` to `b` ("" when they are the same)."""
    lines = difflib.unified_diff(
        a.content.splitlines(keepends=True),
        b.content.splitlines(keepends=True),
        fromfile=f"rules {a.version}",
        tofile=f"rules {b.version}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- processes ------------------------------------------------------------------------------------------


def process_id(kind: str, host: str | None = None, pid: int | None = None) -> str:
    return f"{kind}:{host or socket.gethostname()}:{os.getpid() if pid is None else pid}"


def report(client: redis.Redis, process: ProcessReport) -> None:
    """Say which version this process runs; the report lapses after REPORT_TTL_SECONDS without another."""
    with client.pipeline(transaction=True) as pipe:
        pipe.set(keys.process_key(process.id), json.dumps(asdict(process)), ex=REPORT_TTL_SECONDS)
        pipe.zadd(keys.PROCESSES, {process.id: process.seen_at})
        pipe.zremrangebyscore(keys.PROCESSES, "-inf", process.seen_at - REPORT_TTL_SECONDS * 6)
        pipe.execute()


def withdraw(client: redis.Redis, process_id: str) -> None:
    """A process that stops cleanly leaves the count at once, rather than after its report lapses."""
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(keys.process_key(process_id))
        pipe.zrem(keys.PROCESSES, process_id)
        pipe.execute()


def live(client: redis.Redis, clock: Clock = system_clock) -> list[ProcessReport]:
    """The processes whose report has not lapsed, by id."""
    now = clock()
    ids = [keys.as_text(i) for i in client.zrangebyscore(keys.PROCESSES, now - REPORT_TTL_SECONDS, "+inf")]
    if not ids:
        return []
    raw = client.mget([keys.process_key(i) for i in ids])
    reports = [_report(json.loads(keys.as_text(r))) for r in raw if r is not None]
    return sorted(reports, key=lambda r: r.id)


def _report(raw: dict[str, object]) -> ProcessReport:
    """A report as kept; fields a newer process adds are left out, so a rolling upgrade reads both."""
    known = ProcessReport.__dataclass_fields__
    return ProcessReport(**{k: v for k, v in raw.items() if k in known})  # type: ignore[arg-type]


def current_version(
    client: redis.Redis, processes: list[ProcessReport], number: str | None = None
) -> str | None:
    """The version most live processes run (for `number`: default rules without one); a tie goes to the
    version first loaded last."""
    counts = Counter(p.runs(number) for p in processes)
    if not counts:
        return None
    names = list(counts)
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zscore(keys.RULES_VERSION_INDEX, name)
        loaded_at = dict(zip(names, pipe.execute(), strict=True))
    return max(counts, key=lambda v: (counts[v], loaded_at.get(v) or 0.0, v))


class Reporter:
    """What one process does every REPORT_SECONDS: check the rules files (a holder only looks at its file
    when rules are used, and an idle worker would never notice a reload), then report the version it runs
    for each number."""

    def __init__(
        self, client: redis.Redis, holder: Rulebook | RulesHolder, kind: str, clock: Clock = system_clock
    ) -> None:
        from handover.rules.holder import Rulebook

        self.client = client
        self.rulebook = holder if isinstance(holder, Rulebook) else Rulebook(holder)
        self.kind = kind
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = process_id(kind, self.host, self.pid)
        self.clock = clock

    def __call__(self) -> ProcessReport:
        default = self.rulebook.default
        loaded = default.refresh()
        versions, errors = {}, {}
        for number, holder in self.rulebook.per_number.items():
            versions[number] = holder.refresh().version  # one number's bad file never stops the others
            refused = _refusal(holder)
            if refused is not None:
                errors[number] = refused
        now, refused = self.clock(), _refusal(default)
        process = ProcessReport(
            self.id, self.kind, self.host, self.pid, loaded.version, now, refused, versions, errors
        )
        report(self.client, process)
        return process

    def withdraw(self) -> None:
        withdraw(self.client, self.id)


def _refusal(holder: RulesHolder) -> str | None:
    refused = holder.last_error
    if refused is None:
        return None
    error = str(refused.problems[0]) if refused.problems else str(refused)
    if len(refused.problems) > 1:
        error += f" (and {len(refused.problems) - 1} more)"
    return error


def recorder(client: redis.Redis, kind: str, number: str | None = None) -> Callable[[LoadedRules], None]:
    """The RulesHolder hook of a process: keep each version it loads (for `number`, a listed number's
    holder), attributed to the process unless a CLI announced it first. Redis failing here is logged;
    loading the rules goes on."""
    by = f"{PROCESS_BY}{kind} on {socket.gethostname()}"

    def keep(loaded: LoadedRules) -> None:
        try:
            record(client, loaded, by, number=number)
        except Exception as exc:  # the rules in force matter more than their history
            log.warning("rules_version_not_recorded", version=loaded.version, error=type(exc).__name__)

    return keep


@dataclass(frozen=True)
class Confirmation:
    """Where the live processes stand after a version was announced."""

    version: str
    live: list[ProcessReport]
    since: float  # when the file was announced (touched or replaced)
    number: str | None = None  # the number whose rules file it was (None: the default rules)

    @property
    def on_version(self) -> list[ProcessReport]:
        return [p for p in self.live if p.runs(self.number) == self.version]

    @property
    def behind(self) -> list[ProcessReport]:
        return [p for p in self.live if p.runs(self.number) != self.version]

    @property
    def refused(self) -> list[ProcessReport]:
        """Behind, and said why after looking at the file since it was announced: waiting will not help."""
        return [p for p in self.behind if p.refusal(self.number) is not None and p.seen_at > self.since]

    @property
    def confirmed(self) -> bool:
        return not self.behind

    @property
    def settled(self) -> bool:
        """Nothing more will change without someone acting: all on the version, or the rest refused it."""
        return len(self.refused) == len(self.behind)

    def summary(self) -> str:
        of = f" for {self.number}" if self.number is not None else ""
        return f"{len(self.on_version)}/{len(self.live)} processes on {self.version}{of}"

    def reasons(self) -> list[str]:
        """One line per process not on the version: which it still runs, and its refusal if any."""
        lines = []
        for p in self.behind:
            error = p.refusal(self.number)
            why = f": refused the file: {error}" if error else " (it has not loaded the file yet)"
            lines.append(f"{p.id} still on {p.runs(self.number)}{why}")
        return lines


def confirm(
    client: redis.Redis,
    version: str,
    since: float,
    wait: float,
    clock: Clock = system_clock,
    sleep: Callable[[float], None] = time.sleep,
    number: str | None = None,
) -> Confirmation:
    """Wait up to `wait` seconds for every live process to run `version` for `number` (default rules
    without one), or refuse it for good."""
    deadline = clock() + wait
    while True:
        state = Confirmation(version, live(client, clock), since, number)
        if state.confirmed or (state.settled and state.behind) or clock() >= deadline:
            return state
        sleep(0.25)

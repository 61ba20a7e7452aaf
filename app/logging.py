"""structlog, configured once per process: JSON when not a TTY; aiohttp's and rq's logs go through it; a
warning or error repeated many times is written a few times, then counted (RepeatLimit)."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from pydantic import ValidationError

SUPPRESSED = "log_events_suppressed"
Kind = tuple[str, str]  # (logger, event)
_LEVELS = logging.getLevelNamesMapping()


@dataclass
class _Window:
    started: float
    count: int = 0
    suppressed: int = 0


class RepeatLimit:
    """At most `burst` warnings or errors of one kind (logger and event) per `interval` seconds; the rest
    are dropped and counted, and one `log_events_suppressed` line per kind says how many once its interval
    is over (written with the next log event of any kind). A flood of one failure (a client hammering the
    webhook, a descriptor shortage) cannot fill the disk; quieter kinds are not affected."""

    def __init__(
        self,
        burst: int = 20,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        most_kinds: int = 1000,
    ) -> None:
        self.burst, self.interval, self.clock, self.most_kinds = burst, interval, clock, most_kinds
        self._windows: dict[Kind, _Window] = {}
        self._holding: dict[Kind, _Window] = {}  # windows that dropped something, not yet summarised
        self._over: list[tuple[Kind, int]] = []  # ended by allow() before ended() saw them
        self._lock = threading.Lock()

    def allow(self, kind: Kind) -> bool:
        with self._lock:
            now = self.clock()
            window = self._windows.get(kind)
            if window is None or now - window.started >= self.interval:
                if window is None and len(self._windows) >= self.most_kinds:
                    self._forget_quiet(now)
                    if len(self._windows) >= self.most_kinds:
                        return True  # too many kinds to follow: say it rather than grow
                if window is not None and window.suppressed:
                    self._holding.pop(kind, None)
                    self._over.append((kind, window.suppressed))
                window = self._windows[kind] = _Window(now)
            window.count += 1
            if window.count <= self.burst:
                return True
            window.suppressed += 1
            self._holding.setdefault(kind, window)
            return False

    def ended(self) -> list[tuple[Kind, int]]:
        """(kind, how many were dropped) for each interval that is over, each once."""
        if not self._holding and not self._over:  # the usual case, without the lock
            return []
        with self._lock:
            now = self.clock()
            over, self._over = self._over, []
            for kind in [k for k, w in self._holding.items() if now - w.started >= self.interval]:
                window = self._holding.pop(kind)
                over.append((kind, window.suppressed))
                window.suppressed = 0  # said once
            return over

    def _forget_quiet(self, now: float) -> None:
        for kind in [k for k, w in self._windows.items() if now - w.started >= self.interval]:
            if kind not in self._holding:
                del self._windows[kind]

    def summarise(self) -> None:
        for (source, event), count in self.ended():
            structlog.get_logger(__name__).warning(
                SUPPRESSED, of=event, source=source, count=count, seconds=self.interval
            )

    def processor(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        """For structlog's chain (after add_log_level and add_logger_name): DropEvent past the burst."""
        event = event_dict.get("event")
        if event == SUPPRESSED:
            return event_dict
        self.summarise()
        level = _LEVELS.get(str(event_dict.get("level", method_name)).upper(), logging.INFO)
        if level >= logging.WARNING and not self.allow((str(event_dict.get("logger", "")), str(event))):
            raise structlog.DropEvent
        return event_dict

    def filter(self, record: logging.LogRecord) -> bool:
        """For the handler: the standard library's own records (aiohttp, asyncio, rq), by logger and
        message template; structlog's records were limited by the processor already."""
        if isinstance(record.msg, dict):
            return True
        self.summarise()
        return record.levelno < logging.WARNING or self.allow((record.name, str(record.msg)))


def configure_logging(
    level: str = "INFO", json_logs: bool | None = None, repeats: RepeatLimit | None = None
) -> None:
    """structlog's own events go straight from its chain to stderr (JSON by orjson when not a terminal):
    no LogRecord, handler or formatter per line, which made the worker's line per message cost a tenth
    of its time. The standard library's records (aiohttp, rq) go through a handler with the same
    processors and renderer, so every line looks alike."""
    if json_logs is None:
        json_logs = not sys.stderr.isatty()
    repeats = repeats or RepeatLimit()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    factory: Callable[..., Any]
    if json_logs:
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = _bytes_logger
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        factory = _text_logger
    structlog.configure(
        processors=[*shared, repeats.processor, format_exc_without_values, renderer],
        logger_factory=factory,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level.upper()]),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            format_exc_without_values,
            _as_text(renderer),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(repeats.filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The access log at INFO costs ~40% of webhook throughput; the webhook's own metrics cover it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def format_exc_without_values(logger: Any, method_name: str, event_dict: Any) -> Any:
    """structlog's format_exc_info, without what a customer sent: a pydantic ValidationError's message
    quotes each `input_value` (names, texts), so it is told by its errors' locations and types only. Every
    exception of the chain (`from`, or raised while handling) is formatted so."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if exc_info and exc_info[1] is not None:
        event_dict["exception"] = _without_values(exc_info[1])
    return event_dict


def _without_values(exc: BaseException) -> str:
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is None:
            break
        exc = cause
    told = []
    for each in reversed(chain):
        frames = "".join(traceback.format_tb(each.__traceback__))
        told.append(f"Traceback (most recent call last):\n{frames}{_told(each)}")
    return "\n\nThe above exception led to:\n\n".join(told)


def _told(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['type']}" for e in errors)
        return f"pydantic ValidationError: {exc.error_count()} errors for {exc.title} ({where})"
    return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()


def _bytes_logger(*args: Any) -> structlog.BytesLogger:
    """structlog.get_logger(__name__) -> a logger writing to stderr that knows its name (add_logger_name)."""
    return structlog.BytesLogger(sys.stderr.buffer, name=args[0] if args else None)


def _text_logger(*args: Any) -> structlog.WriteLogger:
    logger = structlog.WriteLogger(sys.stderr)
    logger.name = args[0] if args else None  # type: ignore[attr-defined]
    return logger


def _as_text(renderer: structlog.types.Processor) -> structlog.types.Processor:
    """The handler's formatter wants text; orjson gives bytes."""

    def render(logger: Any, method_name: str, event_dict: Any) -> Any:
        line = renderer(logger, method_name, event_dict)
        return line.decode() if isinstance(line, bytes) else line

    return render

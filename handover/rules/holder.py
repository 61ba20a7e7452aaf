"""The rules in force in a process: reloaded when the file changes; a bad file never replaces good rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from handover.rules.loader import LoadedRules, load_rules
from handover.rules.yamlfile import Problem, RulesError

log = structlog.get_logger(__name__)


class RulesHolder:
    """Call it to get the current rules. It looks at the file at most every `check_every` seconds.

    `on_load` is called with every version it loads (rules/versions.py keeps them); it failing never
    stops the rules from loading."""

    def __init__(
        self,
        path: str | Path,
        check_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_load: Callable[[LoadedRules], None] | None = None,
    ):
        self.path = Path(path)
        self.check_every = check_every
        self.clock = clock
        self.on_load = on_load
        self._lock = threading.Lock()
        self._current = load_rules(self.path)  # at start there is nothing to fall back on: fail loudly
        self._stamp = self._file_stamp()
        self._checked = clock()
        self.last_error: RulesError | None = None
        log.info("rules_loaded", version=self._current.version, path=str(self.path))
        _log_warnings(self._current)
        self._announce(self._current)

    def __call__(self, number: str | None = None) -> LoadedRules:
        """The rules in force; `number` is taken and ignored, so one holder stands in for a Rulebook."""
        if self.clock() - self._checked >= self.check_every:
            self.refresh()
        return self._current

    def refresh(self) -> LoadedRules:
        """Load the file again if it changed; keep the rules in force if the new file is bad."""
        with self._lock:
            self._checked = self.clock()
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return self._current
            self._stamp = stamp
            try:
                loaded = load_rules(self.path)
            except Exception as exc:  # whatever is wrong with the new file, the rules in force stay
                refused = exc if isinstance(exc, RulesError) else _unexpected(self.path, exc)
                self.last_error = refused
                log.error(
                    "rules_refused",
                    path=str(self.path),
                    kept_version=self._current.version,
                    problems=[str(p) for p in refused.problems][:20],
                )
                return self._current
            self.last_error = None
            if loaded.version != self._current.version:
                log.info("rules_reloaded", version=loaded.version, previous=self._current.version)
                _log_warnings(loaded)
            self._current = loaded
            self._announce(loaded)
            return loaded

    def _announce(self, loaded: LoadedRules) -> None:
        if self.on_load is None:
            return
        try:
            self.on_load(loaded)
        except Exception:  # keeping the history must never cost the rules in force
            log.exception("rules_load_hook_failed", version=loaded.version)

    def _file_stamp(self) -> tuple[float, int]:
        try:
            stat = self.path.stat()
        except OSError:
            return (0.0, -1)
        return (stat.st_mtime, stat.st_size)


def _log_warnings(loaded: LoadedRules) -> None:
    """Once per rules version: likely mistakes that did not stop the file (`rules check` lists them)."""
    if loaded.warnings:
        log.warning(
            "rules_warnings",
            version=loaded.version,
            path=loaded.path,
            warnings=[str(w) for w in loaded.warnings][:20],
        )


def _unexpected(path: Path, exc: Exception) -> RulesError:
    """A failure the loader did not foresee still refuses the file with a line, never a crash."""
    return RulesError([Problem(str(path), 0, 0, (), f"cannot be loaded: {type(exc).__name__}: {exc}")])


class Rulebook:
    """The rules of every number a deployment serves: one RulesHolder per number numbers.yaml lists, and
    one for every other number (handover/numbers.py). Call it with a conversation's phone_number_id;
    without one (or for a number not listed) it gives the default rules, so a one-file deployment works
    exactly as before. A bad file for one number keeps that number on its last good rules; the others
    never notice."""

    def __init__(self, default: RulesHolder, per_number: dict[str, RulesHolder] | None = None) -> None:
        self.default = default
        self.per_number = dict(per_number or {})

    def __call__(self, number: str | None = None) -> LoadedRules:
        holder = self.per_number.get(number) if number is not None else None
        return (holder or self.default)()

    def holders(self) -> dict[str | None, RulesHolder]:
        """Every holder, the default under None first, then the listed numbers in numbers.yaml's order."""
        every: dict[str | None, RulesHolder] = {None: self.default}
        every.update(self.per_number)
        return every

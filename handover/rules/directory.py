"""The identity directory the rules in force name: a file beside the rules, or an HTTP verifier."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from handover.identity import Directory, FileDirectory, HttpDirectory, VerifierUnavailable
from handover.rules.loader import LoadedRules


class RulesDirectory:
    """Follows the rules: when they change the directory they name, the next check uses the new one."""

    def __init__(self, rules: Callable[[], LoadedRules]) -> None:
        self.rules = rules
        self._built: tuple[str, Directory | None] | None = None

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        try:
            directory = self._current()
        except (OSError, ValueError) as exc:  # the file went missing or bad since the rules loaded
            raise VerifierUnavailable(f"directory unreadable: {exc}") from exc
        return directory.verify(fields) if directory is not None else None

    def _current(self) -> Directory | None:
        loaded = self.rules()
        if self._built is None or self._built[0] != loaded.version:
            self._built = (loaded.version, _build(loaded))
        return self._built[1]


def _build(loaded: LoadedRules) -> Directory | None:
    identity = loaded.rules.identity
    if identity is None:
        return None
    spec = identity.directory
    if spec.url:
        return HttpDirectory(spec.url, spec.timeout_seconds)
    assert spec.file is not None
    path = Path(spec.file)
    return FileDirectory(path if path.is_absolute() else Path(loaded.path).parent / path)

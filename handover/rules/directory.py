"""The identity directory the rules in force name: a file beside the rules, or an HTTP verifier. Each
number's rules may name their own (the bot asks `following(loaded)` with the rules of the turn)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from handover.identity import Directory, FileDirectory, HttpDirectory, VerifierUnavailable
from handover.rules.loader import LoadedRules


class RulesDirectory:
    """Follows the rules: when they change the directory they name, the next check uses the new one."""

    def __init__(self, rules: Callable[..., LoadedRules]) -> None:
        self.rules = rules
        # by rules file and version: each number's rules name their directory
        self._built: dict[tuple[str, str], Directory | None] = {}

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        """Verify against the directory of the default rules (of the one rules file)."""
        return self.following(self.rules()).verify(fields)

    def following(self, loaded: LoadedRules) -> Directory:
        """The directory `loaded` names (verify answers None when they name none)."""
        return _Named(self, loaded)

    def _current(self, loaded: LoadedRules) -> Directory | None:
        key = (loaded.path, loaded.version)
        if key not in self._built:
            if len(self._built) > 64:  # versions come and go; the ones in force are few
                self._built.clear()
            self._built[key] = _build(loaded)
        return self._built[key]


class _Named:
    """The directory one rules version names, built once and shared through the RulesDirectory."""

    def __init__(self, directories: RulesDirectory, loaded: LoadedRules) -> None:
        self.directories = directories
        self.loaded = loaded

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        try:
            directory = self.directories._current(self.loaded)
        except (OSError, ValueError) as exc:  # the file went missing or bad since the rules loaded
            raise VerifierUnavailable(f"directory unreadable: {exc}") from exc
        return directory.verify(fields) if directory is not None else None


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

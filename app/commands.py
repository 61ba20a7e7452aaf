"""What the `handover` command's parts share: exit codes, the rules a command needs, who runs it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import CommandError

if TYPE_CHECKING:
    from handover.rules.loader import LoadedRules

EXIT_PROBLEMS = 1  # a check read the file and found problems: one line each
EXIT_USAGE = 2  # the command could not do what was asked: one line saying why


def checked_rules(path: str | Path, consequence: str = "nothing started") -> LoadedRules:
    """The rules a command needs; every problem printed and exit 2 if there is any."""
    from handover.rules.loader import load_rules
    from handover.rules.yamlfile import RulesError

    try:
        return load_rules(path)
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        raise CommandError(f"{path} has {count} problem{'s' if count != 1 else ''}; {consequence}") from exc


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def who(by: str | None) -> str:
    """Who runs a command, for the audit log: `--by`, else the OS user and host."""
    from handover.audit import cli_user

    return by or cli_user()

"""What the `handover` command's parts share: exit codes, the rules a command needs, who runs it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import CommandError

if TYPE_CHECKING:
    from config.settings import Settings
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


def rules_file(settings: Settings, number: str | None = None) -> Path:
    """The rules file `number` answers by (None: the default rules): HANDOVER_RULES itself, or the file its
    folder's numbers.yaml names. In a folder, a number numbers.yaml does not list is refused: it answers
    by the default rules, and a mistyped id must not quietly edit or test those."""
    from handover.numbers import NUMBER_ID, NUMBERS_FILE, load_numbers
    from handover.rules.yamlfile import RulesError

    if number is not None and not NUMBER_ID.match(number):
        raise CommandError(f"--number {number}: a phone_number_id is digits, as Meta sends it")
    served = Path(settings.handover_rules)
    try:
        numbers = load_numbers(served)
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise CommandError(f"{served / NUMBERS_FILE} has {plural(len(exc.problems), 'problem')}") from exc
    if number is not None and served.is_dir() and number not in numbers.listed:
        raise CommandError(
            f"{number} is not listed in {served / NUMBERS_FILE}: it answers by the default rules "
            f"({numbers.default_rules}); leave --number out for those"
        )
    return numbers.rules_path(number)


def checked_rulebook(settings: Settings, consequence: str = "nothing started") -> Callable[..., LoadedRules]:
    """numbers.yaml (in a rules folder) and every rules file it names, loaded once (at a process's start,
    or for a command); every problem printed and exit 2 if any, as for a bad rules file. Returns the
    rules by number, as a Rulebook answers (a number not listed, or None: the default rules)."""
    from handover.numbers import load_numbers
    from handover.rules.yamlfile import RulesError

    try:
        numbers = load_numbers(settings.handover_rules)
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = plural(len(exc.problems), "problem")
        raise CommandError(f"{settings.handover_rules} has {count}; {consequence}") from exc
    files = {
        path: checked_rules(path, consequence) for path in map(numbers.rules_path, [None, *numbers.listed])
    }
    by_number = {number: files[numbers.rules_path(number)] for number in numbers.listed}
    default = files[numbers.rules_path(None)]
    return lambda number=None: by_number.get(number or "", default)

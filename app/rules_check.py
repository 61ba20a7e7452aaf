"""`handover rules check` on a rules folder: its numbers.yaml, then every rules file it names, each problem
with its file, line and key (one file is checked by app/rules_cli.py, as it always was)."""

from __future__ import annotations

import sys
from pathlib import Path

from app.commands import EXIT_PROBLEMS, plural
from config.settings import Settings


def is_folder(settings: Settings, file: str | None, number: str | None) -> bool:
    """Whether `rules check` checks a folder: FILE is one, or no FILE and no --number while HANDOVER_RULES
    is one (with --number the number's own file is checked, as any file)."""
    if file is not None:
        return Path(file).is_dir()
    return number is None and Path(settings.handover_rules).is_dir()


def check_folder(folder: Path, number: str | None = None) -> int:
    """Check numbers.yaml, then the default rules file and each number's (`number`: only its file); print
    one ok line per file, or every problem; exit 1 if anything is wrong."""
    from handover.numbers import NUMBERS_FILE, load_numbers
    from handover.rules.loader import load_rules
    from handover.rules.yamlfile import RulesError

    try:
        numbers = load_numbers(folder)
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    listed = numbers.listed
    named = ", ".join(f"{n} ({numbers.describe(n).name})" for n in listed) or "none listed"
    print(f"{folder / NUMBERS_FILE}: ok ({plural(len(listed), 'number')}: {named})")
    users: dict[Path, list[str]] = {}  # each file once, with who answers by it
    chosen = [number] if number is not None else [None, *listed]
    for each in chosen:
        users.setdefault(numbers.rules_path(each), []).append(each or "the default rules")
    failed = False
    for path, who in users.items():
        try:
            loaded = load_rules(path)
        except RulesError as exc:
            for problem in [*exc.problems, *exc.warnings]:
                print(problem, file=sys.stderr)
            failed = True
            continue
        for warning in loaded.warnings:  # likely mistakes: they never fail the check
            print(warning, file=sys.stderr)
        rules = loaded.rules
        warned = f"; {plural(len(loaded.warnings), 'warning')}" if loaded.warnings else ""
        print(
            f"{path}: ok (version {loaded.version}; {len(rules.intents)} intents, {len(rules.escalation)} "
            f"escalation rules, {len(rules.queues)} queues{warned}) for {', '.join(who)}"
        )
    return EXIT_PROBLEMS if failed else 0

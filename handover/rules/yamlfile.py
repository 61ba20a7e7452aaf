"""Files ops write in YAML (rules, golden conversations, the evaluation corpus): read as UTF-8, parsed with
the position of every key, validated into a model, and every problem named `file:line:col key: message`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class AtKey(str):
    """A message about a key itself (unknown, misspelt): shown at the key, not at its value."""


UNKNOWN_KEY = AtKey("unknown key")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    loc: Loc
    message: str
    warning: bool = False

    def __str__(self) -> str:
        message = f"warning: {self.message}" if self.warning else self.message
        if self.line == 0:  # about the file as a whole (it cannot be read): no position to give
            return f"{self.path}: {message}"
        return f"{self.path}:{self.line}:{self.column} {format_loc(self.loc) or '(file)'}: {message}"


class RulesError(Exception):
    """A rules file that cannot be used; `problems` lists every one found, each with its position, and
    `warnings` what else looks wrong (shown after the problems; only found once the schema holds)."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.problems = problems
        self.warnings = warnings or []
        super().__init__("\n".join(str(p) for p in problems))


class Unreadable(RulesError):
    """The file is not there, is a directory, or may not be read: nothing in it could be checked."""


def read_text(path: str | Path) -> str:
    """A YAML file ops wrote, as text; Unreadable if it cannot be read, RulesError if it is not UTF-8."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        why = "it is a directory, not a file" if isinstance(exc, IsADirectoryError) else exc.strerror or exc
        raise Unreadable([Problem(str(path), 0, 0, (), f"cannot read: {why}")]) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        where = f"byte 0x{raw[exc.start]:02x} at line {line}, col {column}"
        raise RulesError([Problem(str(path), 0, 0, (), f"not UTF-8 ({where}); save it as UTF-8")]) from exc


MAX_DEPTH = 64  # lists and mappings inside each other; the shipped rules nest 7 deep
MAX_VALUES = 100_000  # values once every alias is expanded; the shipped rules hold about 1,000


def parse_yaml(text: str, name: str) -> tuple[Any, Positions]:
    """The data of a YAML document and where each of its keys stands; RulesError if it is not YAML, or
    if it nests or expands past the bounds (read event by event first, so neither costs more than the
    text: 100k levels ran the parser out of stack, and aliases of aliases grew a 44 KB file to 1.77 GB)."""
    try:
        _within_bounds(text, name)
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RulesError(
            [Problem(name, line, column, (), f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from exc
    twice = duplicate_keys(node, name)
    if twice:  # the data holds only the last of each; checking it would report on what ops did not mean
        raise RulesError(twice)
    return data, Positions(node)


def _within_bounds(text: str, name: str) -> None:
    """RulesError at the first value nested deeper than MAX_DEPTH, or past which the document, aliases
    expanded, would hold more than MAX_VALUES values. Reads the parser's events: no recursion, no data."""
    sizes: dict[str, int] = {}  # an anchor's value: how many values it stands for
    open_: list[list[Any]] = [[None, 0]]  # [anchor, values so far] of every collection not yet ended
    total = 0
    for event in yaml.parse(text):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_) > MAX_DEPTH:
                _refuse(name, event, f"nested deeper than {MAX_DEPTH} levels")
            open_.append([event.anchor, 1])
            total += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, values = open_.pop()
            open_[-1][1] += values
            if anchor is not None:
                sizes[anchor] = values
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            values = sizes.get(event.anchor or "", 1) if isinstance(event, yaml.AliasEvent) else 1
            if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                sizes[event.anchor] = 1
            open_[-1][1] += values
            total += values
        if total > MAX_VALUES:
            _refuse(name, event, f"more than {MAX_VALUES:,} values once its aliases are expanded")


def _refuse(name: str, event: yaml.Event, message: str) -> None:
    mark = event.start_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    raise RulesError([Problem(name, line, column, (), message)])


def duplicate_keys(root: yaml.Node | None, name: str) -> list[Problem]:
    """Keys given twice in one mapping, each at its second occurrence. YAML keeps the last one without a
    word, so a second `intents:` at the end of a file would silently replace the whole list."""
    found: list[Problem] = []
    seen: set[int] = set()  # anchors and aliases share nodes, and may even nest one in itself

    def walk(node: yaml.Node, loc: Loc) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index))
        if not isinstance(node, yaml.MappingNode):
            return
        first: dict[tuple[str, str], yaml.Node] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            at = (*loc, key.value)
            earlier = first.setdefault((key.tag, key.value), key)
            if earlier is not key:
                mark, line = key.start_mark, earlier.start_mark.line + 1
                message = f"defined twice (first at line {line}); the second would replace the first"
                found.append(Problem(name, mark.line + 1, mark.column + 1, at, message))
            walk(value, at)

    if root is not None:
        walk(root, ())
    return sorted(found, key=lambda p: (p.line, p.column))


def load_model(path: str | Path, model: type[M]) -> M:
    """A YAML file ops wrote, validated as `model`; Unreadable, or RulesError naming every problem where
    it is (for files other than the rules: golden conversations, the evaluation corpus)."""
    path = Path(path)
    data, positions = parse_yaml(read_text(path), path.name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [positions.problem(path.name, tuple(e["loc"]), problem_message(e)) for e in exc.errors()]
        raise RulesError(problems) from exc


def problem_message(error: Any) -> str:
    """A pydantic error's message, as ops read it."""
    if error["type"] == "extra_forbidden":
        return UNKNOWN_KEY
    if error["type"] == "missing":
        return "required"
    return str(error["msg"]).removeprefix("Value error, ")


class Positions:
    """Line and column of every key path in a YAML document."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def problem(self, path: str, loc: Loc, message: str, warning: bool = False) -> Problem:
        node = self.root
        for index, part in enumerate(loc):
            # an unknown key is best shown at the key itself; anything else at its value
            at_key = isinstance(message, AtKey) and index == len(loc) - 1
            child = _child(node, part, at_key) if node is not None else None
            if child is None:
                break
            node = child
        mark = node.start_mark if node is not None else None
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Problem(path, line, column, loc, message, warning)


def _child(node: yaml.Node, part: str | int, at_key: bool) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                found: yaml.Node = key if at_key else value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

"""`handover rules ...` given files that are missing, not UTF-8, not YAML, or wrong in schema and references
answers one line per problem (exit 1 for problems in a file it could read, 2 when it could not read it);
never a traceback."""

from __future__ import annotations

import pytest

from tests.support.cli import BOTH_KINDS, GOLDEN, SHIPPED, UNREACHABLE, Case, run_case

pytestmark = pytest.mark.e2e


def latin1_rules() -> bytes:
    """A rules file saved as Latin-1 by an old editor: the 'ç' of line 12 is the byte 0xe7."""
    notes = "".join(f"# note {n}\n" for n in range(1, 12))
    return (notes + "#  Atenção: revisado\n" + BOTH_KINDS).encode("latin-1")


CASES = [
    # rules
    Case(
        "check-missing",
        ["rules", "check", "nope.yaml"],
        ["nope.yaml: cannot read: No such file or directory"],
    ),
    Case(
        "check-directory",
        ["rules", "check", "."],
        ["numbers.yaml: a rules folder needs numbers.yaml (see the README)"],
        exit=1,
    ),
    Case(
        "check-not-utf8",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml: not UTF-8 (byte 0xe7 at line 12, col 8); save it as UTF-8"],
        exit=1,
        files={"rules.yaml": latin1_rules()},
    ),
    Case(
        "check-both-kinds",
        ["rules", "check", "rules.yaml"],
        [
            "rules.yaml:8:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
            "rules.yaml:11:23 intents[1].escalate.queue: unknown queue 'geral' (known: general)",
        ],
        exit=1,
        files={"rules.yaml": BOTH_KINDS.encode()},
    ),
    Case(
        "check-not-yaml",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml:3:1 (file): not valid YAML: found character '\\t' that cannot start any token"],
        exit=1,
        files={"rules.yaml": b"version: 1\nintents:\n\t- name: hello\n"},
    ),
    Case(
        "check-empty",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml:1:1 (file): the file is empty; it must be a mapping (version, intents, queues...)"],
        exit=1,
        files={"rules.yaml": b""},
    ),
    Case(
        "test-missing", ["rules", "test", "nope.yaml"], ["nope.yaml: cannot read: No such file or directory"]
    ),
    Case(
        "test-no-file", ["rules", "test"], ["handover rules test: missing FILE (a golden conversations file)"]
    ),
    Case(
        "test-bad-golden",
        ["rules", "test", "golden.yaml"],
        ["golden.yaml:4:5 conversations[0].turns: required"],
        exit=1,
        files={
            "golden.yaml": f"rules: {SHIPPED}\nat: 2026-11-23T10:00:00-03:00\nconversations:\n  - name: x\n".encode()
        },
    ),
    Case(
        "test-rules-missing",
        ["rules", "test", str(GOLDEN), "--rules", "nope.yaml"],
        ["nope.yaml: cannot read: No such file or directory"],
    ),
    Case("eval-missing", ["rules", "eval", "nope"], ["nope: cannot read: No such file or directory"]),
    Case(
        "eval-bad-corpus",
        ["rules", "eval", "corpus.yaml"],
        ["corpus.yaml:3:5 cases[0].say: required"],
        exit=1,
        files={"corpus.yaml": b"category: x\ncases:\n  - expect: {intent: greeting}\n"},
    ),
    Case(
        "eval-min-word",
        ["rules", "eval", "corpus.yaml", "--min", "most"],
        ["handover rules eval: --min must be a number (got 'most')"],
    ),
    Case(
        "reload-other-file",
        ["rules", "reload", "other.yaml"],
        [
            f"handover: other.yaml is not the served rules file (HANDOVER_RULES is {SHIPPED}); edit that "
            "one, or point HANDOVER_RULES at this file and restart the processes"
        ],
        files={"other.yaml": SHIPPED.read_bytes()},
    ),
    Case(
        "reload-broken",
        ["rules", "reload"],
        [
            "rules.yaml:8:11 intents[0].weak: Input should be a valid boolean, unable to interpret input",
            "rules.yaml:11:23 intents[1].escalate.queue: unknown queue 'geral' (known: general)",
        ],
        exit=1,
        env={"HANDOVER_RULES": "rules.yaml"},
        files={"rules.yaml": BOTH_KINDS.encode()},
    ),
    # what-if and export: the candidate is checked before Redis is asked anything
    Case(
        "whatif-problems",
        ["rules", "whatif", "candidate.yaml"],
        [
            "candidate.yaml:8:11 intents[0].weak: Input should be a valid boolean",
            "candidate.yaml:11:23 intents[1].escalate.queue: unknown queue 'geral' (known: general)",
        ],
        exit=1,
        env=UNREACHABLE,
        files={"candidate.yaml": BOTH_KINDS.encode()},
    ),
    Case(
        "whatif-missing",
        ["rules", "whatif", "nope.yaml"],
        ["nope.yaml: cannot read: No such file or directory"],
        env=UNREACHABLE,
    ),
    Case(
        "whatif-unreachable",
        ["rules", "whatif", str(SHIPPED)],
        ["handover: cannot reach Redis at redis://127.0.0.1:{dead_port}/0 (connection refused)"],
        env=UNREACHABLE,
    ),
    Case(
        "whatif-last",
        ["rules", "whatif", str(SHIPPED), "--last", "0"],
        ["handover: --last is how many conversations to replay: 1 or more, got 0"],
        env=UNREACHABLE,
    ),
    Case(
        "whatif-embedded",
        ["rules", "whatif", str(SHIPPED)],
        ["handover: whatif reads the conversations stored in Redis: set REDIS_URL"],
    ),
    Case(
        "export-embedded",
        ["rules", "export-golden", "abc"],
        ["handover: export-golden reads the conversations stored in Redis: set REDIS_URL"],
    ),
    Case(
        "export-unreachable",
        ["rules", "export-golden", "abc"],
        ["handover: cannot reach Redis at redis://127.0.0.1:{dead_port}/0 (connection refused)"],
        env=UNREACHABLE,
    ),
    # rules that passed `rules check` and then broke every process (issue 28)
    Case(
        "check-format-spec",
        ["rules", "check", "rules.yaml"],
        [
            "rules.yaml:15:16 messages.queued.pt: {position:>5000000}: only plain {name} placeholders are "
            "filled in (no format, index or conversion); write {{ and }} for braces",
            "rules.yaml:15:16 messages.queued.pt: {wait:x}: only plain {name} placeholders are filled in (no "
            "format, index or conversion); write {{ and }} for braces",
        ],
        exit=1,
        files={
            "rules.yaml": BOTH_KINDS.replace("    weak: sometimes\n", "")
            .replace("geral", "general")
            .replace("{position}º (~{wait})", "{position:>5000000}º (~{wait:x})")
            .encode()
        },
    ),
    Case(
        "check-aliases",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml:6:45 (file): more than 100,000 values once its aliases are expanded"],
        exit=1,
        files={
            "rules.yaml": (
                "version: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
                + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
            ).encode()
        },
    ),
    Case(
        "check-deep",
        ["rules", "check", "rules.yaml"],
        ["rules.yaml:2:73 (file): nested deeper than 64 levels"],
        exit=1,
        files={"rules.yaml": ("version: 1\nintents: " + "[" * 100_000 + "]" * 100_000 + "\n").encode()},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wrong_rules_input_gets_one_clear_line_per_problem(case: Case, ports, tmp_path):
    run_case(case, ports, tmp_path)

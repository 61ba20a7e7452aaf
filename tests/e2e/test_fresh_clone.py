"""A fresh clone with nothing beside it passes the unit tests: no test reads outside the repository.

It clones the committed HEAD (uncommitted changes are not in it) into an empty temporary folder, with no
sibling folder of any kind, and runs `pytest tests/unit` there with this interpreter (the project's
dependencies are installed; the clone's own code is what gets imported)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture
def lonely_clone(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("this check needs git and a git checkout of the project")
    home = tmp_path / "alone"
    home.mkdir()
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(home / "repo")],
        check=True,
        capture_output=True,
    )
    assert os.listdir(home) == ["repo"]
    return home / "repo"


def test_a_fresh_clone_with_nothing_beside_it_passes_the_unit_tests(lonely_clone):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYWA"))}
    where = subprocess.run(
        [sys.executable, "-c", "import handover, tests; print(handover.__file__, tests.__file__)"],
        cwd=lonely_clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(path.startswith(str(lonely_clone)) for path in where.stdout.split()), where.stdout
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=lonely_clone,
        env=env,
        capture_output=True,
        text=True,
    )
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    assert " passed" in run.stdout and " failed" not in run.stdout, tail

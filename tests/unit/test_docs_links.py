"""The README and docs/ link to each other and to the repository's files by relative links: every one
resolves, to a file that exists and, with a #fragment, to a heading of that Markdown file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    text = FENCE.sub("", page.read_text())
    titles = re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", t.strip().lower().replace("`", "")).replace(" ", "-") for t in titles}


def broken(page: Path) -> list[str]:
    found = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            found.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            found.append(f"{target}: no such heading")
    return found


def test_every_relative_link_of_the_docs_resolves():
    assert len(PAGES) >= 7  # the README and a page per audience
    assert {page.name: broken(page) for page in PAGES if broken(page)} == {}


def test_the_readme_stays_a_front_page():
    """What it is, the two commands, configuration, how ops edit rules, how to deploy, where to read next."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 260
    for heading in ("## Quick start", "## Configuration", "## Rules: how ops edit them", "## Deploy"):
        assert heading in readme
    assert "make run" in readme and "make test" in readme

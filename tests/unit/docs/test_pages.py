"""The hand-written pages and README keep their promises: short README, links that resolve, diagrams."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.docs.conftest import REPO
from tflmake import kinds

README = REPO / "README.md"
QUICKSTART = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && doit",
    'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]" && python -m pytest',
)


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", markdown.read_text("utf-8"), flags=re.DOTALL)
    return {_slug(heading) for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_readme_fits_on_a_screen() -> None:
    """README.md has at most 200 lines."""
    assert len(README.read_text("utf-8").splitlines()) <= 200


def test_readme_keeps_the_quickstart_commands_ci_runs() -> None:
    """The two Quickstart commands .ci/run follows are in README word for word."""
    text = README.read_text("utf-8")
    for command in QUICKSTART:
        assert f"```sh\n{command}\n```" in text


def test_every_relative_link_in_readme_resolves() -> None:
    """Each relative link in README names an existing file, and its #anchor a heading there."""
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text("utf-8"))
    relative = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert len(relative) > 20
    for link in relative:
        path, _, anchor = link.partition("#")
        target = (README.parent / path) if path else README
        assert target.is_file(), f"README links to {link}, which does not exist"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target), f"README links to {link}: no such heading"


def test_readme_links_every_page_of_the_site() -> None:
    """Every hand-written page under docs/ is reachable from README."""
    text = README.read_text("utf-8")
    pages = {page.relative_to(REPO).as_posix() for page in (REPO / "docs").rglob("*.md")
             if "gen" not in page.parts and page.name != "benchmarks.md" and page.parent.name != "contributing"}
    missing = sorted(page for page in pages if f"({page}" not in text)
    assert missing == []


def test_the_task_graph_diagram_names_every_task_kind() -> None:
    """The Mermaid task graph (or the text beside it) covers every task kind of kinds.py."""
    page = (REPO / "docs" / "concepts" / "tasks.md").read_text("utf-8")
    diagram = re.search(r"```mermaid\n(.*?)```", page, flags=re.DOTALL)
    assert diagram is not None
    for kind in kinds.TASK_KINDS:
        if kind == "spec":  # a broken spec's task, not part of a good spec's graph
            continue
        assert re.search(rf"\b{kind}\b", diagram.group(1)) or f"`{kind}:" in page, kind


def test_every_data_set_and_source_type_has_a_page() -> None:
    """docs/datasets/<type>.md and docs/sources/<type>.md exist for every kind."""
    for name in kinds.DATASET_KINDS:
        assert (REPO / "docs" / "datasets" / f"{name}.md").is_file(), name
    for name in kinds.SOURCE_KINDS:
        assert (REPO / "docs" / "sources" / f"{name}.md").is_file(), name


def test_every_code_block_is_closed() -> None:
    """Each page (and README) opens and closes its fenced code blocks in pairs."""
    for page in [README, *(REPO / "docs").rglob("*.md")]:
        fences = re.findall(r"^\s*```", page.read_text("utf-8"), flags=re.MULTILINE)
        assert len(fences) % 2 == 0, f"{page.relative_to(REPO)}: a code block is not closed"

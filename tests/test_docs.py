"""The README is for users and short; docs/ holds the rest, and every link stays inside the repository."""

import re
from pathlib import Path

import pytest

from mmdemo.config import REPO_ROOT

README_MAX_BYTES = 6 * 1024  # about 5 KB: what it does, the two commands, the tabs, links
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.S | re.M)
CODE_SPAN = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](target "title")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", flags=re.M)  # [label]: target
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bmailto:|\bwww\.", flags=re.I)


def pages() -> list[Path]:
    found = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    return found + [path for path in [REPO_ROOT / "benchmarks" / "README.md"] if path.exists()]


def prose(path: Path) -> str:
    """The page without code blocks and code spans: what a reader sees as text and links."""
    return CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))


def links(path: Path) -> list[str]:
    text = prose(path)
    return LINK.findall(text) + REFERENCE.findall(text)


def anchors(path: Path) -> set[str]:
    """GitHub's ids for the page's headings: lower case, punctuation dropped, spaces to hyphens."""
    ids: set[str] = set()
    text = FENCE.sub("", path.read_text(encoding="utf-8"))  # a heading's code spans keep their words
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        ids.add(slug if slug not in ids else next(f"{slug}-{n}" for n in range(1, 100) if f"{slug}-{n}" not in ids))
    return ids


@pytest.mark.parametrize("page", pages(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_link_resolves_inside_the_repository(page: Path):
    assert not URL.findall(prose(page)), f"{page.name} points outside the repository"
    for target in links(page):
        file_part, _, fragment = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        assert resolved.is_relative_to(REPO_ROOT.resolve()), f"{page.name}: {target} leaves the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if fragment and resolved.suffix == ".md":
            assert fragment in anchors(resolved), f"{page.name}: {target} names no heading of {resolved.name}"


def test_docs_link_checker_sees_what_it_must_refuse(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("see [paper](https://example.org/x) and <http://example.org>\n\n```bash\ncurl https://ok\n```\n"
                    "[up](../../elsewhere.md) `https://in-code.example`\n\n## A heading's `code`\n", encoding="utf-8")
    assert len(URL.findall(prose(page))) == 2  # the link and the autolink; never code
    assert links(page) == ["https://example.org/x", "../../elsewhere.md"]
    assert anchors(page) == {"a-headings-code"}


def test_readme_is_short_and_points_at_the_docs():
    readme = REPO_ROOT / "README.md"
    assert readme.stat().st_size < README_MAX_BYTES, f"README.md is {readme.stat().st_size} bytes; move detail to docs/"
    linked = {(REPO_ROOT / target.partition("#")[0]).resolve() for target in links(readme)}
    for name in ("architecture", "training", "evaluation", "benchmarks", "contributing"):
        assert (REPO_ROOT / "docs" / f"{name}.md").resolve() in linked
    assert all(page.resolve() in linked for page in (REPO_ROOT / "docs" / "capabilities").glob("*.md"))


def test_architecture_names_each_capabilitys_parts():
    """Issue 13: a reader finds each capability's config, model, pipeline, task and tab by one name."""
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    header = "| capability | config | model | pipeline | training task | tab |"
    assert header in text
    rows = text.split(header, 1)[1].split("\n\n", 1)[0].strip().splitlines()[1:]
    for capability in ("answer localization", "audio-text retrieval", "scene classification", "MELTR",
                       "extractive QA", "segmentation", "speech recognition"):
        assert any(capability in row for row in rows), capability
    for row in rows:
        assert len(row.strip("|").split("|")) == 6 and "|  |" not in row, row

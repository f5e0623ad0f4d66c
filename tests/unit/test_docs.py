"""The design the code cites lives in the repository, so a clone has all of it.

No file cites a document that a clone lacks (the design notes once kept beside the checkout, or
any path outside it), every ``docs/<page>.md`` that a docstring, a comment or a README names
exists, with the section it names, and the links of the docs pages resolve inside the checkout.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()
SCANNED = ("proxy/", "reward_service/", "safethink_eval/", "bench/", "tests/", "eval/", "docs/",
           "README.md")
TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".jinja", ".sh"}
SKIPPED_DIRS = {".git", ".venv", ".venv-bench", "__pycache__", "node_modules"}

# What a clone does not have. Built from parts so that this file does not match itself.
OUTSIDE = tuple("".join(parts) for parts in (("DESIGN", ".md"), ("PAPER", ".md"),
                                             ("..", "/shared")))
# ``docs/design.md`` or ``docs/design.md, "The request's way"`` (quotes may be escaped).
CITATION = re.compile(r'(?<![\w./-])docs/([\w.-]+\.md)(?:#([\w-]+)|,\s*\\?"([^"\\\n]+)\\?")?')
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def _listed() -> list[str]:
    """The files of the checkout that git tracks or would track (new files included)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return [
            str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
            if path.is_file() and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
        ]
    return out.splitlines()


def _scanned() -> Iterator[tuple[str, str]]:
    """(path, text) of every text file under the scanned paths, this file left out."""
    for name in sorted(set(_listed())):
        path = ROOT / name
        if not name.startswith(SCANNED) or path.suffix not in TEXT_SUFFIXES:
            continue
        if path.resolve() == THIS or not path.is_file():
            continue
        try:
            yield name, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def _lines(text: str) -> Iterator[tuple[int, str]]:
    yield from enumerate(text.splitlines(), start=1)


def _headings(page: Path) -> list[str]:
    """The headings of a markdown page, outside code blocks."""
    headings: list[str] = []
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            headings.append(match.group(1).replace("`", ""))
    return headings


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of the page's headings (lower case, punctuation dropped, a repeated
    heading numbered)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in _headings(page):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _has_section(page: Path, section: str) -> bool:
    wanted = section.replace("`", "").strip().lower()
    return any(heading.lower().startswith(wanted) for heading in _headings(page))


def test_no_file_cites_a_document_outside_the_repository() -> None:
    offenders = [
        f"{name}:{number}: {line.strip()}"
        for name, text in _scanned()
        for number, line in _lines(text)
        if any(outside in line for outside in OUTSIDE)
    ]
    assert not offenders, (
        "these lines cite documents a clone does not have; cite docs/method.md or "
        "docs/design.md (with the section) instead:\n" + "\n".join(offenders)
    )


def test_every_cited_docs_page_and_section_exists() -> None:
    cited: set[str] = set()
    missing: list[str] = []
    for name, text in _scanned():
        for number, line in _lines(text):
            for match in CITATION.finditer(line):
                page_name, anchor, section = match.groups()
                page = ROOT / "docs" / page_name
                cited.add(page_name)
                where = f"{name}:{number}: {match.group(0)}"
                if not page.is_file():
                    missing.append(f"{where} (no such page)")
                elif anchor and anchor not in _anchors(page):
                    missing.append(f"{where} (no heading with that anchor)")
                elif section and not _has_section(page, section):
                    missing.append(f"{where} (no heading that starts so)")
    assert not missing, "citations of docs/ that do not resolve:\n" + "\n".join(missing)
    assert cited, "nothing cites docs/: the README at least points at it"


def test_links_of_the_docs_pages_resolve_inside_the_repository() -> None:
    broken: list[str] = []
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert pages, "docs/ has no pages"
    for page in pages:
        for number, line in _lines(page.read_text(encoding="utf-8")):
            for target in LINK.findall(line):
                if re.match(r"[a-z][a-z0-9+.-]*:", target):
                    continue  # a URL
                path_part, _, anchor = target.partition("#")
                resolved = (page.parent / path_part).resolve() if path_part else page
                where = f"docs/{page.name}:{number}: {target}"
                if not resolved.is_relative_to(ROOT):
                    broken.append(f"{where} (outside the repository)")
                elif not resolved.exists():
                    broken.append(f"{where} (no such file)")
                elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                    broken.append(f"{where} (no heading with that anchor)")
    assert not broken, "links in docs/ that do not resolve:\n" + "\n".join(broken)


def test_the_docs_index_lists_every_page() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    listed = {target.partition("#")[0] for target in LINK.findall(index)}
    pages = {page.name for page in (ROOT / "docs").glob("*.md")} - {"README.md"}
    assert pages <= listed, f"docs/README.md does not link {sorted(pages - listed)}"

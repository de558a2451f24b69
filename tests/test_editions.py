"""The two editions of the book: full (`make book`, _build/html) and student (`make student`,
_build/student/html).

What an exercise and a solution are is read from the chapters' MyST sources, independently of
sphinx-exercise and of _ext/student_edition.py: ``{exercise}``/``{exercise-start}`` with a
``:label:``, and ``{solution-start} <label>`` … ``{solution-end}`` regions (or ``{solution}``
blocks), with the code cells inside them.

* full edition: every exercise is on its page with a solution pointing to it; each solution is
  folded (a dropdown) and holds exactly its code cells, so no solution output is outside the fold;
* student edition: every exercise is there, no solution element anywhere, and no solution code
  or prose in any page, downloadable source (.md, .ipynb), or the search index; every image it
  ships is used by a page.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
FULL = Path(os.environ.get("BOOK_FULL_HTML", ROOT / "_build" / "html"))
STUDENT = Path(os.environ.get("BOOK_STUDENT_HTML", ROOT / "_build" / "student" / "html"))

FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w-]+)\}\s*(?P<arg>.*)$")


@dataclass
class Solution:
    target: str
    code_cells: list[list[str]] = field(default_factory=list)  # lines of each rendered code cell
    hidden_input: list[int] = field(default_factory=list)  # indices of cells rendered without their code
    prose: list[str] = field(default_factory=list)


@dataclass
class Chapter:
    docname: str
    exercises: list[str] = field(default_factory=list)
    solutions: list[Solution] = field(default_factory=list)
    outside_text: str = ""  # everything not inside a solution


def toc_docnames() -> list[str]:
    toc_text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return [yaml.safe_load(toc_text)["root"], *re.findall(r"file:\s*(\S+)", toc_text)]


def parse_chapter(docname: str) -> Chapter:
    lines = (ROOT / f"{docname}.md").read_text(encoding="utf-8").splitlines()
    chapter = Chapter(docname)
    current: Solution | None = None
    gated = False
    i = 0
    outside = []
    while i < len(lines):
        line = lines[i]
        match = FENCE_OPEN.match(line)
        name = match["name"] if match else None
        if name in ("exercise", "exercise-start"):
            # the :label: option is in the directive's option block
            j = i + 1
            while j < len(lines) and lines[j].startswith(":") and not FENCE_OPEN.match(lines[j]):
                label = re.match(r":label:\s*(\S+)", lines[j])
                if label:
                    chapter.exercises.append(label[1])
                j += 1
        if current is None and name in ("solution", "solution-start"):
            current, gated = Solution(match["arg"].strip()), name == "solution-start"
            fence = match["fence"]
            i += 1
            # skip the option block, and for a gated start its closing fence
            while i < len(lines) and lines[i].startswith(":") and not FENCE_OPEN.match(lines[i]):
                i += 1
            if gated and i < len(lines) and lines[i].strip() == fence:
                i += 1
            continue
        if current is not None:
            end = (gated and name == "solution-end") or (not gated and line.strip() == fence)
            if end:
                chapter.solutions.append(current)
                current = None
                i += 2 if gated else 1  # gated end: its own closing fence
                continue
            if name == "code-cell":
                j, options = i + 1, []
                if j < len(lines) and lines[j].strip() == "---":  # cell metadata (YAML)
                    end_meta = lines.index("---", j + 1)
                    options, j = lines[j + 1:end_meta], end_meta + 1
                while j < len(lines) and lines[j].startswith(":"):  # short options (:tags: [...])
                    options.append(lines[j])
                    j += 1
                cell = []
                while not lines[j].startswith("```"):
                    cell.append(lines[j])
                    j += 1
                tags = " ".join(options)
                if "remove-cell" not in tags:  # never rendered, in either edition
                    current.code_cells.append(cell)
                    if "remove-input" in tags or "remove-cell" in tags:
                        current.hidden_input.append(len(current.code_cells) - 1)
                i = j + 1
                continue
            current.prose.append(line)
        else:
            outside.append(line)
        i += 1
    assert current is None, f"{docname}: unterminated solution for {current.target}"
    chapter.outside_text = "\n".join(outside)
    return chapter


CHAPTERS = [parse_chapter(d) for d in toc_docnames() if (ROOT / f"{d}.md").is_file()]
WITH_EXERCISES = [c for c in CHAPTERS if c.exercises or c.solutions]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def markers(sol: Solution) -> list[str]:
    """Text a reader would see of a solution: long code lines, and prose lines without markup."""
    out = [ln.strip() for cell in sol.code_cells for ln in cell
           if len(ln.strip()) >= 20 and not ln.strip().startswith("#")]
    out += [norm(ln) for ln in sol.prose
            if len(ln.strip()) >= 40 and not re.search(r"[$`{}*_\\\[\]<>|]", ln)]
    return out


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def site(path: Path, what: str) -> Path:
    if not (path / "index.html").is_file():
        skip_or_fail(f"{what} not built at {path}; run `make {'student' if 'student' in what else 'book'}`")
    return path


def test_the_book_has_exercises_with_solutions():
    """Guards the tests below against passing vacuously."""
    assert WITH_EXERCISES, "no chapter has an exercise"
    for chapter in WITH_EXERCISES:
        targets = [s.target for s in chapter.solutions]
        assert set(targets) <= set(chapter.exercises), f"{chapter.docname}: solutions to unknown exercises"
    assert any(s.code_cells for c in WITH_EXERCISES for s in c.solutions), "no solution has code"


@pytest.mark.parametrize("chapter", WITH_EXERCISES, ids=lambda c: c.docname)
def test_full_edition_folds_each_solution_with_its_output(chapter):
    page = soup(site(FULL, "full edition") / f"{chapter.docname}.html")
    solution_divs = page.select("div.solution")
    for label in chapter.exercises:
        node = page.find(id=label)
        classes = [c for n in (node, *node.parents) if n is not None and hasattr(n, "get")
                   for c in (n.get("class") or [])] if node is not None else []
        assert "exercise" in classes, f"{chapter.docname}: exercise {label} missing"
        linked = [d for d in solution_divs if d.select_one(f'a[href$="#{label}"]')]
        assert linked, f"{chapter.docname}: no solution for exercise {label}"
    assert len(solution_divs) == len(chapter.solutions), (
        f"{chapter.docname}: {len(solution_divs)} solutions on the page, {len(chapter.solutions)} in the source")
    for sol in chapter.solutions:
        div = next((d for d in solution_divs if d.select_one(f'a[href$="#{sol.target}"]')), None)
        assert div is not None, f"{chapter.docname}: solution to {sol.target} not on the page"
        assert "dropdown" in div.get("class", []), f"{chapter.docname}: solution to {sol.target} not folded"
        cells = div.select("div.cell")
        assert len(cells) == len(sol.code_cells), (
            f"{chapter.docname}: solution to {sol.target} holds {len(cells)} code cells, source has "
            f"{len(sol.code_cells)} (the others are outside the fold)")
        for k, (cell, source) in enumerate(zip(cells, sol.code_cells)):
            if k in sol.hidden_input:
                continue
            first = next(ln for ln in source if ln.strip())
            assert first.strip() in cell.get_text(), f"{chapter.docname}: {first!r} not in its solution"
    # and no code cell of any solution appears outside a solution
    firsts = {next(ln for ln in cell if ln.strip()).strip()
              for s in chapter.solutions for cell in s.code_cells if any(ln.strip() for ln in cell)}
    for cell in page.select("div.cell"):
        code = cell.select_one("div.cell_input")
        if code is not None and any(f in code.get_text() for f in firsts):
            assert cell.find_parent("div", class_="solution") is not None, (
                f"{chapter.docname}: solution cell outside its fold: {code.get_text()[:80]!r}")


@pytest.mark.parametrize("chapter", WITH_EXERCISES, ids=lambda c: c.docname)
def test_student_edition_has_every_exercise_and_no_solution(chapter):
    page_path = site(STUDENT, "student edition") / f"{chapter.docname}.html"
    page = soup(page_path)
    for label in chapter.exercises:
        assert page.find(id=label) is not None, f"{chapter.docname}: exercise {label} missing"
    assert not page.select(".solution, .solution-start, .solution-end"), f"{chapter.docname}: a solution is shown"
    text = norm(page.get_text())
    for sol in chapter.solutions:
        for marker in markers(sol):
            if marker not in chapter.outside_text:
                assert norm(marker) not in text, f"{chapter.docname}: solution text on the page: {marker!r}"


def _solution_only_markers() -> list[str]:
    everything_else = "\n".join(c.outside_text for c in CHAPTERS)
    return sorted({m for c in WITH_EXERCISES for s in c.solutions for m in markers(s)
                   if m not in everything_else})


def test_student_edition_files_contain_no_solution():
    """Pages, downloadable .md/.ipynb sources, _downloads and the search index."""
    student = site(STUDENT, "student edition")
    wanted = _solution_only_markers()
    assert wanted, "no solution text to look for"
    leaks = []
    for path in sorted(student.rglob("*")):
        if not path.is_file() or "_static" in path.relative_to(student).parts:
            continue
        if path.suffix not in (".html", ".md", ".ipynb", ".txt", ".js", ".py", ".json"):
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            raw = "\n".join("".join(c.get("source", "")) for c in json.loads(raw).get("cells", []))
        elif path.suffix == ".html":
            raw = BeautifulSoup(raw, "html.parser").get_text()
        text = norm(raw)
        leaks += [f"{path.relative_to(student)}: {m!r}" for m in wanted if norm(m) in text]
        if re.search(r"\{solution(-start|-end)?\}", raw):
            leaks.append(f"{path.relative_to(student)}: a solution directive")
    assert not leaks, "solutions in the student edition:\n" + "\n".join(leaks[:20])


def test_student_search_index_has_no_solution_words():
    """A word of a solution may be indexed only if a student page shows it (from elsewhere)."""
    from sphinx.search.en import SearchEnglish

    student = site(STUDENT, "student edition")
    index_js = (student / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(index_js[index_js.index("(") + 1: index_js.rindex(")")])
    # a term that finds a page (Sphinx keeps pruned terms with an empty list when it reuses an index)
    terms = {t for key in ("terms", "titleterms") for t, docs in index.get(key, {}).items()
             if docs not in ([], {}, None)}
    stem = SearchEnglish({}).stem
    shown = set()
    for page in student.rglob("*.html"):
        if "_static" not in page.relative_to(student).parts:
            shown |= {stem(w) for w in re.findall(r"[a-z]+", soup(page).get_text().lower())}
    solution_words = {w for c in WITH_EXERCISES for s in c.solutions
                      for w in re.findall(r"[a-z]{5,}", "\n".join(s.prose).lower())}
    assert solution_words, "no solution prose to look for"
    leaked = sorted(w for w in solution_words if stem(w) in terms and stem(w) not in shown)
    assert not leaked, f"words of solutions in the student search index but on no student page: {leaked}"


def test_student_edition_ships_only_used_images():
    student = site(STUDENT, "student edition")
    used = set()
    for page in student.rglob("*.html"):
        for img in soup(page).find_all("img"):
            used.add((page.parent / img.get("src", "")).resolve())
    images = sorted(p.resolve() for p in (student / "_images").glob("*")) if (student / "_images").is_dir() else []
    unused = [p.name for p in images if p not in used]
    assert not unused, f"images in the student edition that no page shows (solution figures?): {unused}"


def test_student_edition_offers_no_launch_or_repository_links():
    """They lead to the full sources, solutions included."""
    student = site(STUDENT, "student edition")
    for chapter in WITH_EXERCISES:
        html = (student / f"{chapter.docname}.html").read_text(encoding="utf-8")
        assert "mybinder.org/v2" not in html, f"{chapter.docname}: Binder launch link"
        assert "repository-button" not in html and "github.com/nearopt-book" not in html, (
            f"{chapter.docname}: repository link")


def test_student_edition_links_resolve_and_stay_local():
    """Removing solutions leaves no dangling link, and the student site is as offline as the full one."""
    import test_links

    student = site(STUDENT, "student edition")
    test_links.test_internal_links_resolve(student)
    test_links.test_no_external_assets(student)
    test_links.test_no_thebe_button(student)

"""environment.yml (Binder) must list every third-party package the library and chapters import.

Imports are read with `ast` from lib/nearopt/**/*.py, from the chapters' helper modules
(chapters/*.py, e.g. booktools), from the code cells of chapters/*.md and from the dashboard
(app/*.ipynb) (benchmarks/ is deliberately not scanned). Standard-library modules
(`sys.stdlib_module_names`), `nearopt` itself and the local modules in chapters/ are ignored.
Pins must agree with requirements.txt. The packages that open the chapters live on Binder
(JupyterLab, Notebook, jupytext, jupyterlab-myst, Voilà) must be listed too.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# import name -> distribution name, where they differ beyond '_' vs '-'.
IMPORT_TO_DIST = {
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "mpl_toolkits": "matplotlib",
    "IPython": "ipython",
    "jupyter_client": "jupyter-client",
    "google": "protobuf",
}
# nearopt, and the chapters' local helper modules (chapters/booktools.py: `from booktools import ...`
# works because cells run with the chapter's folder as the working directory)
FIRST_PARTY = {"nearopt"} | {p.stem for p in (ROOT / "chapters").glob("*.py")}
# Not imported by any cell, but needed on Binder to open and run the chapters and the dashboard.
LIVE_READING = {"jupyterlab", "notebook", "jupytext", "jupyterlab-myst", "voila", "ipykernel"}
# Optional accelerator backends: imported lazily, only when present (e.g. nearopt's
# CuPy backend, NEAROPT_BACKEND=cupy). Not installable on Binder's CPU machines, so
# they are deliberately not in environment.yml.
OPTIONAL = {"cupy", "cupyx", "cupy_backends"}


def normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def dist_for(module: str) -> str:
    return normalise(IMPORT_TO_DIST.get(module, module))


def imports_in(source: str, origin: str) -> set[str]:
    # IPython syntax (magics, shell escapes, `x?`) is not Python: blank those lines.
    lines = [
        "" if re.match(r"\s*[%!]", line) or re.search(r"\?\s*$", line) else line
        for line in source.splitlines()
    ]
    try:
        tree = ast.parse("\n".join(lines), filename=origin)
    except SyntaxError as exc:  # pragma: no cover - reported as a test failure
        pytest.fail(f"cannot parse {origin}: {exc}")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def code_cells(markdown: str) -> list[str]:
    cells = re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", markdown, flags=re.S | re.M)
    # drop cell options: a `---` YAML block or `:key: value` lines at the top
    return [re.sub(r"\A(?:---\n.*?\n---\n|(?::[\w-]+:.*\n)+)", "", c, flags=re.S) for c in cells]


def third_party_imports() -> dict[str, set[str]]:
    """distribution name -> files importing it."""
    sources: list[tuple[str, str]] = []
    for path in sorted((ROOT / "lib" / "nearopt").rglob("*.py")):
        sources.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "chapters").glob("*.py")):
        sources.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "chapters").glob("*.md")):
        for i, cell in enumerate(code_cells(path.read_text(encoding="utf-8"))):
            sources.append((f"{path.relative_to(ROOT)} cell {i}", cell))
    for path in sorted((ROOT / "app").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
            sources.append((f"{path.relative_to(ROOT)} cell {i}", "".join(cell["source"])))
    needed: dict[str, set[str]] = {}
    for origin, text in sources:
        for module in imports_in(text, origin):
            if (module in sys.stdlib_module_names or module in FIRST_PARTY
                    or module in OPTIONAL or module == "__future__"):
                continue
            needed.setdefault(dist_for(module), set()).add(origin)
    return needed


def environment_pins() -> dict[str, str | None]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins: dict[str, str | None] = {}
    for dep in env.get("dependencies", []):
        entries = dep.get("pip", []) if isinstance(dep, dict) else [dep]
        for entry in entries:
            match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(?:={1,2}\s*([^\s;#]+))?", str(entry))
            if match and not str(entry).lstrip().startswith("-"):
                pins[normalise(match.group(1))] = match.group(2)
    return pins


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def test_scanner_sees_the_library():
    assert list((ROOT / "lib" / "nearopt").rglob("*.py")), "lib/nearopt has no Python files"


def test_every_import_is_in_environment_yml():
    listed = environment_pins()
    missing = {dist: sorted(files) for dist, files in third_party_imports().items() if dist not in listed}
    assert not missing, (
        "imported but not listed in environment.yml (add them, pinned as in requirements.txt):\n"
        + "\n".join(f"  {d}: {', '.join(f)}" for d, f in sorted(missing.items()))
    )


def test_environment_pins_match_requirements():
    req = requirement_pins()
    mismatched = [
        f"{name}: environment.yml {version} vs requirements.txt {req.get(name)}"
        for name, version in environment_pins().items()
        if name not in ("python", "pip") and name in req and version != req[name]
    ]
    unpinned = [name for name, v in environment_pins().items() if name not in ("python", "pip") and not v]
    assert not mismatched, "\n".join(mismatched)
    assert not unpinned, f"unpinned in environment.yml: {unpinned}"


def test_environment_installs_the_library():
    """Binder must install nearopt itself: `-e .` in the pip section or a postBuild doing it."""
    env_text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    post_build = ROOT / "postBuild"
    via_pip = re.search(r"^\s*-\s*(-e\s+)?\.\s*$", env_text, flags=re.M)
    via_post = post_build.is_file() and re.search(r"pip install .*(-e )?\.", post_build.read_text())
    assert via_pip or via_post, "environment.yml/postBuild do not install the library"


def test_scanner_sees_the_chapter_helpers():
    """booktools (chapters/) is local, and what it imports (threadpoolctl) must be listed."""
    needed = third_party_imports()
    assert "booktools" not in needed
    if (ROOT / "chapters" / "booktools.py").is_file():
        assert any("booktools.py" in f for files in needed.values() for f in files)


def test_environment_has_the_live_reading_packages():
    missing = LIVE_READING - set(environment_pins())
    assert not missing, f"environment.yml lacks what Binder needs to open the chapters: {sorted(missing)}"


def test_post_build_installs_the_jupyter_settings():
    """On Binder the .md chapters must open as notebooks: postBuild installs the settings override."""
    post_build = (ROOT / "postBuild").read_text(encoding="utf-8")
    assert "jupyter/labconfig/default_setting_overrides.json" in post_build
    assert re.search(r"etc/jupyter/labconfig/default_setting_overrides\.json", post_build)
    assert (ROOT / "jupyter" / "labconfig" / "default_setting_overrides.json").is_file()

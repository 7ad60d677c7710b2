"""The README stays short and true: every path the documents name exists, and the settings
table names only what the code reads (and every setting the code reads is documented)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 350

#: Where a path named in backticks may start: top-level folders and files of the repository.
TOP = ("portal/", "bench/", "docs/", "deploy/", "tests/", "jobs/", "migrations/", "scripts/")
TOP_FILES = {
    "Procfile",
    "Dockerfile",
    "Makefile",
    "wsgi.py",
    "gunicorn.conf.py",
    "pyproject.toml",
    ".ci/run",
    ".dockerignore",
    "README.md",
}
#: Paths the documents abbreviate inside the package (`live/hub.py` is `portal/live/hub.py`).
IN_PACKAGE = tuple(
    f"{p.name}/" for p in (ROOT / "portal").iterdir() if p.is_dir() and p.name != "__pycache__"
)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)|<img src=\"([^\"]+)\"")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


#: What a named file ends with; anything else after a dot is a name inside a module.
SUFFIXES = {"py", "html", "js", "css", "md", "png", "txt", "conf", "service", "sh", "yaml"}


def _candidate(span):
    """The repository path a code span names, or None (commands keep their first word)."""
    # The first word, without what may follow a path: `:line`, `::test`, `: function`.
    text = span.split()[0].split(":")[0].rstrip(",;") if span.split() else ""
    if any(mark in text for mark in ("*", "…", "<", "$", "|")):
        return None
    if text in TOP_FILES or text.startswith(TOP):
        return text
    folder, _, name = text.rpartition("/")
    if text.startswith(IN_PACKAGE) and "." in name:
        stem, _, rest = name.partition(".")
        if rest.split(".")[-1] not in SUFFIXES:  # `infra/offload.offload`: a module's name
            name = f"{stem}.py"
        return f"portal/{folder}/{name}"
    return None


def _code_spans(text):
    return CODE_SPAN.findall(text)


def _map_block_paths(text):
    """First words of the lines in fenced blocks without a language (the README's map)."""
    paths, fence = [], None  # the open fence's language, or None outside a fence
    for line in text.splitlines():
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
        elif fence == "" and line and not line[0].isspace():
            paths.append(line.split()[0])
    return paths


def named_paths(document):
    text = document.read_text()
    found = {(c, ROOT / c) for c in map(_candidate, _code_spans(text)) if c}
    found |= {(p, ROOT / p) for p in _map_block_paths(text)}
    for link, image in LINK.findall(text):
        target = (link or image).split("#", 1)[0]
        if target and "://" not in target and not target.startswith("mailto:"):
            found.add((target, (document.parent / target).resolve()))
    return sorted(found)


def test_readme_is_short():
    lines = README.read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_named_path_exists(document):
    paths = named_paths(document)
    assert paths, f"{document.name} names no path: is the parser still right?"
    missing = [name for name, path in paths if not path.exists()]
    assert not missing, f"{document.name} names paths that do not exist: {missing}"


def readme_settings():
    """The environment variables in the README's settings table."""
    section = README.read_text().split("\n## Settings", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in section.splitlines():
        if row.startswith("|"):
            first_cell = row.split("|")[1]
            names |= {s for s in _code_spans(first_cell) if ENV_NAME.match(s)}
    return names


def _read_in_code():
    """Quoted names in the package's Python files, and `${NAME` in the Procfile."""
    text = "\n".join(p.read_text() for p in (ROOT / "portal").rglob("*.py"))
    quoted = set(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", text))
    procfile = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", (ROOT / "Procfile").read_text()))
    return quoted | procfile


def test_settings_table_names_what_the_code_reads():
    documented = readme_settings()
    assert len(documented) > 40, "the settings table was not found"
    unread = sorted(documented - _read_in_code())
    assert not unread, f"README settings nobody reads (portal/ or the Procfile): {unread}"


def test_every_setting_the_code_reads_is_documented():
    config = (ROOT / "portal" / "config.py").read_text()
    read = set(re.findall(r"(?:environ\.get|environ\[|_int|_bool)\(?\s*[\"']([A-Z0-9_]+)", config))
    assert len(read) > 40, "no settings found in portal/config.py"
    documents = "\n".join(d.read_text() for d in DOCUMENTS)
    undocumented = sorted(name for name in read if f"`{name}`" not in documents)
    assert not undocumented, f"portal/config.py reads settings no document names: {undocumented}"

"""The docs cannot silently drift from the code.

docs/cli.md must name every command, option, option choice and environment variable that click
knows (walking the real command tree), and must not list options that do not exist. Links in
README.md and docs/ must point at files (and headings) inside the repository. The module map of
docs/architecture.md must list every module under src/portcullis, and no other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from portcullis.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
CLI_MD = DOCS / "cli.md"
HEADING = re.compile(r"^(#+)\s+(.*?)\s*$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def commands(command: click.Command, path: tuple[str, ...] = ("portcullis",)
             ) -> Iterator[tuple[str, click.Command]]:
    """Every command of the tree, as ("portcullis base add", command), root first."""
    yield " ".join(path), command
    if isinstance(command, click.Group):  # list/get: subcommands imported on demand count too
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{' '.join(path)} lists {name} but cannot load it"
            yield from commands(sub, (*path, name))


def sections(text: str) -> dict[str, str]:
    """Heading text → the lines under it, up to the next heading of any level."""
    out: dict[str, str] = {}
    current: str | None = None
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else HEADING.match(line)
        if m:
            current = m.group(2)
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def section_of(name: str) -> str:
    found = sections(CLI_MD.read_text(encoding="utf-8"))
    heading = f"`{name}`"
    assert heading in found, f"docs/cli.md has no section '## {heading}'"
    return found[heading]


def is_help(param: click.Parameter) -> bool:
    return param.name == "help"


def options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option)]


def mentioned(token: str, text: str) -> bool:
    """``--scanners`` is mentioned as `--scanners` or `--scanners LIST`."""
    return re.search(r"`" + re.escape(token) + r"[` ]", text) is not None


ALL = list(commands(cli))


def test_the_tree_walk_sees_every_command() -> None:
    # Guards the walk itself: if it stopped descending, every other test would pass vacuously.
    names = {name for name, _ in ALL}
    assert {"portcullis", "portcullis scan", "portcullis version", "portcullis base",
            "portcullis base add"} <= names


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_command_has_a_section(name: str, command: click.Command) -> None:
    section_of(name)


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_option_of_a_command_is_in_its_section(name: str, command: click.Command) -> None:
    text = section_of(name)
    root = name == "portcullis"
    missing = [opt for param in options(command) if root or not is_help(param)
               for opt in (*param.opts, *param.secondary_opts) if not mentioned(opt, text)]
    assert not missing, f"docs/cli.md section `{name}` does not mention {missing}"


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_choice_and_argument_is_documented(name: str, command: click.Command) -> None:
    text = section_of(name)
    for param in command.params:
        if isinstance(param.type, click.Choice):
            missing = [c for c in param.type.choices if f"`{c}`" not in text]
            assert not missing, f"`{name}` {param.opts[0]}: choices {missing} not documented"
        if isinstance(param, click.Argument):
            assert param.human_readable_name in text, (name, param.human_readable_name)


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_environment_variable_is_documented(name: str, command: click.Command) -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    for param in command.params:
        envvars = param.envvar if isinstance(param.envvar, (list, tuple)) else [param.envvar]
        for var in filter(None, envvars):
            assert f"`{var}`" in text, f"{name} {param.opts[0]}: ${var} not in docs/cli.md"


def test_every_portcullis_variable_the_code_reads_is_documented() -> None:
    """Variables read with os.environ outside click (PORTCULLIS_PASSWORD, ...) count too."""
    env_section = sections(CLI_MD.read_text(encoding="utf-8"))["Environment variables"]
    names = {m for path in (REPO / "src" / "portcullis").rglob("*.py")
             for m in re.findall(r"\b(PORTCULLIS_[A-Z_]+)\b", path.read_text(encoding="utf-8"))}
    assert "PORTCULLIS_PASSWORD" in names  # the search itself works
    missing = sorted(n for n in names if f"`{n}`" not in env_section)
    assert not missing, f"docs/cli.md 'Environment variables' lacks {missing}"


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_no_documented_option_is_unknown_to_click(name: str, command: click.Command) -> None:
    known = {opt for p in options(command) for opt in (*p.opts, *p.secondary_opts)}
    known |= {"-h", "--help"}
    for line in section_of(name).splitlines():
        if not line.startswith("| `-"):
            continue
        first_cell = line.split("|")[1]
        for token in re.findall(r"`(-{1,2}[A-Za-z][\w-]*)", first_cell):
            assert token in known, f"docs/cli.md `{name}` documents {token}, which click lacks"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: p.name)
def test_links_stay_inside_the_repository_and_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert "shared/docs" not in text, f"{doc.name} points at the team's internal docs"
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # an external URL
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        assert path.is_relative_to(REPO), f"{doc.name}: {target} leaves the repository"
        assert path.exists(), f"{doc.name}: {target} does not exist"
        if anchor and path.suffix == ".md":
            anchors = {slug(h) for h in sections(path.read_text(encoding="utf-8"))}
            assert anchor in anchors, f"{doc.name}: no heading #{anchor} in {path.name}"


def test_readme_links_every_doc() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("architecture.md", "analyzers.md", "cli.md", "report.md",
                 "report.schema.json"):
        assert (DOCS / name).exists(), name
        assert f"docs/{name}" in readme, f"README.md does not link docs/{name}"


def module_map_rows() -> set[str]:
    """The first cell of every row of architecture.md's module map, e.g. `model/blob.py`."""
    text = sections((DOCS / "architecture.md").read_text(encoding="utf-8"))["Module map"]
    return set(re.findall(r"^\| `([\w/]+\.py)` \|", text, flags=re.MULTILINE))


def test_the_module_map_lists_every_module() -> None:
    package = REPO / "src" / "portcullis"
    modules = {p.relative_to(package).as_posix() for p in package.rglob("*.py")}
    assert {"scan.py", "vulndb/match.py", "analyze/os/rpmdb/bdb.py"} <= modules  # the walk works
    listed = module_map_rows()
    missing = sorted(modules - listed)
    assert not missing, f"docs/architecture.md's module map lacks {missing}"
    gone = sorted(listed - modules)
    assert not gone, f"docs/architecture.md's module map lists modules that do not exist: {gone}"

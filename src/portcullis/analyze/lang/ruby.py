"""Ruby gems: installed gem specifications (``specifications/*.gemspec``, the Ruby files
rubygems writes on install) and the ``Gemfile.lock`` of applications. Both are read with
regular expressions: no Ruby is ever executed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalyzerSpec,
)
from portcullis.analyze.lang.package_files import Found, Origin, PackageFiles, ParseError, Parser

# Gem::Specification#to_ruby: ``s.name = "rack".freeze``; older rubygems: ``s.name = %q{rack}``
_ASSIGN = re.compile(r"^\s*\w+\.(?P<field>name|version|licenses?|platform)\s*=\s*(?P<value>.+?)"
                     r"(?:\s+if\s+\w+\.respond_to\?.*)?\s*$")
_STRING = re.compile(r"""%q\{([^}]*)\}|%q<([^>]*)>|%q\(([^)]*)\)|"((?:[^"\\]|\\.)*)"|'([^']*)'""")
# Bundler's LockfileParser::NAME_VERSION, for the 4-space spec lines only: the version is
# everything up to the first "-", the rest is the platform.
_SPEC_LINE = re.compile(
    r"^ {4}(?! )(?P<name>\S+?)(?: \((?P<version>[^-)]*)(?:-(?P<platform>[^)]*))?\))?$")
# Sections of a Gemfile.lock that list gems (one per Bundler source type).
_SOURCES = {"GEM": "rubygems", "GIT": "git", "PATH": "path", "PLUGIN SOURCE": "plugin"}
_SECTION = re.compile(r"^[A-Z][A-Z ]*$")
# Sources of installed gems (``<GEM_HOME>/gems/<name>-<version>/``, bundler git checkouts)
# ship their own Gemfile.lock, which describes the gem's development, not the image.
_INSTALLED_GEM_DIR = re.compile(r"/gems/[^/]+-\d[^/]*/")


def purl_of(name: str, version: str) -> str:
    return str(PackageURL(type="gem", name=name, version=version).to_string())


# installed gem specifications -----------------------------------------------------------------


def _strings(value: str) -> list[str]:
    """The Ruby string literals in ``value``: "x", 'x', %q{x}, with ``.freeze`` ignored."""
    return [next(g for g in match.groups() if g is not None)
            for match in _STRING.finditer(value)]


def parse_gemspec(data: bytes) -> list[Found]:
    text = data.decode("utf-8", "replace")
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _ASSIGN.match(line)
        if match is None or match["field"] in fields:
            continue  # the first assignment wins (later ones sit in respond_to? branches)
        fields[match["field"]] = _strings(match["value"])
    names, versions = fields.get("name") or [], fields.get("version") or []
    name = names[0].strip() if names else ""
    version = versions[0].strip() if versions else ""
    if not name or not version:
        raise ParseError("gem specification without name or version")
    licenses = tuple(lic for lic in (fields.get("licenses") or fields.get("license") or [])
                     if lic.strip())
    platform = (fields.get("platform") or [""])[0]
    properties = (("platform", platform),) if platform and platform != "ruby" else ()
    return [Found(name, version, licenses, properties=properties)]


# Gemfile.lock ---------------------------------------------------------------------------------


def parse_gemfile_lock(data: bytes) -> list[Found]:
    text = data.decode("utf-8")
    found: dict[tuple[str, str], Found] = {}
    platforms: dict[tuple[str, str], list[str]] = {}
    source: str | None = None
    sections = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if line and not line[0].isspace():
            source = _SOURCES.get(line.strip())
            sections += bool(_SECTION.match(line))
            continue
        if source is None:
            continue
        match = _SPEC_LINE.match(line)
        if match is None or not match["version"]:
            continue
        key = (match["name"], match["version"])
        if key not in found:
            found[key] = Found(match["name"], match["version"], line=number,
                               properties=(("source", source),))
            platforms[key] = []
        if match["platform"] and match["platform"] not in platforms[key]:
            platforms[key].append(match["platform"])
    if text.strip() and not sections:
        raise ParseError("no Gemfile.lock sections (GEM, PLATFORMS, DEPENDENCIES, ...)")
    out: list[Found] = []
    for key, item in found.items():
        props = item.properties
        if platforms[key]:
            props = (*props, ("platform", ",".join(platforms[key])))
        out.append(Found(item.name, item.version, line=item.line, properties=props))
    return out


# the analyzer ---------------------------------------------------------------------------------


_GEMSPEC_ORIGIN = Origin("ruby-gemspec")
# each gem says its source (rubygems, git, path)
_LOCK_ORIGIN = Origin("ruby-lockfile", declared=True)


class RubyGems(PackageFiles):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="ruby",
        version=1,
        scanners=frozenset({"packages"}),
        paths=("*/specifications/*.gemspec", "*/Gemfile.lock"),
        stage=STAGE_INVENTORY,
    )
    describes = "Ruby package file"
    package_type = "gem"

    def parser(self, path: str) -> Callable[[bytes], list[Found]] | None:
        return _parser(path)

    def origin(self, parse: Parser) -> Origin:
        return _LOCK_ORIGIN if parse is parse_gemfile_lock else _GEMSPEC_ORIGIN

    def purl(self, name: str, version: str) -> str:
        return purl_of(name, version)


def _parser(path: str) -> Callable[[bytes], list[Found]] | None:
    if path.endswith(".gemspec") and "/specifications/" in path:
        return parse_gemspec
    if path.endswith("/Gemfile.lock") and not _INSTALLED_GEM_DIR.search(path):
        return parse_gemfile_lock
    return None

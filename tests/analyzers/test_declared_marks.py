"""Every language analyzer marks what it read from a lock file as declared, and what an
installer left behind as installed; merged, each ecosystem's package is one entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portcullis.analyze.declared import merge_declared
from portcullis.analyze.lang.dotnet import DotnetDeps
from portcullis.analyze.lang.npm import NpmPackages
from portcullis.analyze.lang.php import ComposerPackages
from portcullis.analyze.lang.python import PythonPackages
from portcullis.analyze.lang.ruby import RubyGems
from portcullis.analyze.lang.rust import CargoLock
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

GEMSPEC = """\
# -*- encoding: utf-8 -*-
Gem::Specification.new do |s|
  s.name = "rack".freeze
  s.version = "3.0.8"
  s.licenses = ["MIT".freeze]
end
"""
GEMFILE_LOCK = """\
GEM
  remote: https://rubygems.org/
  specs:
    rack (3.0.8)

PLATFORMS
  ruby

DEPENDENCIES
  rack
"""
CARGO_LOCK = """\
version = 3

[[package]]
name = "itoa"
version = "1.0.9"
source = "registry+https://github.com/rust-lang/crates.io-index"
"""


def _json(doc: Any) -> str:
    return json.dumps(doc)


# analyzer, installed file, lock file, (name, version) both describe
CASES: dict[str, tuple[Any, kit.Entry, kit.Entry]] = {
    "python": (
        PythonPackages(),
        kit.file("/usr/local/lib/python3.11/site-packages/Django-2.2.dist-info/METADATA",
                 "Metadata-Version: 2.1\nName: Django\nVersion: 2.2\nLicense: BSD\n"),
        kit.file("/app/requirements.txt", "django==2.2.0\n"),
    ),
    "npm": (
        NpmPackages(),
        kit.file("/app/node_modules/ms/package.json",
                 _json({"name": "ms", "version": "2.1.3", "license": "MIT"})),
        kit.file("/app/package-lock.json", _json({
            "name": "app", "lockfileVersion": 3,
            "packages": {"": {"name": "app"}, "node_modules/ms": {"version": "2.1.3"}}})),
    ),
    "php-composer": (
        ComposerPackages(),
        kit.file("/app/vendor/composer/installed.json", _json({
            "packages": [{"name": "monolog/monolog", "version": "2.9.1"}]})),
        kit.file("/app/composer.lock", _json({
            "packages": [{"name": "Monolog/Monolog", "version": "v2.9.1"}]})),
    ),
    "gem": (
        RubyGems(),
        kit.file("/usr/local/bundle/specifications/rack-3.0.8.gemspec", GEMSPEC),
        kit.file("/app/Gemfile.lock", GEMFILE_LOCK),
    ),
    "dotnet": (
        DotnetDeps(),
        kit.file("/app/app.deps.json", _json({
            "libraries": {"Newtonsoft.Json/13.0.3": {"type": "package"}}})),
        kit.file("/src/app/packages.lock.json", _json({"version": 1, "dependencies": {
            "net8.0": {"newtonsoft.json": {"type": "Direct", "resolved": "13.0.3"}}}})),
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_lock_file_entries_are_declared_and_merge_into_the_installed(kind: str) -> None:
    analyzer, installed, locked = CASES[kind]
    view = view_of([kit.Layer([installed]), kit.Layer([locked])])
    result = analyzer.analyze(view, analysis_context())
    assert result.warnings == []
    installed_path, locked_path = ("/" + e.name.lstrip("/") for e in (installed, locked))
    marks = {p.locations[0].path: p.declared for p in result.packages}
    assert marks == {installed_path: False, locked_path: True}

    [merged] = merge_declared(result.packages)
    assert merged.type == kind
    assert not merged.declared
    assert [loc.path for loc in merged.locations] == [installed_path, locked_path]
    assert merged.introduced_in == 0  # the installed file's layer, not the lock file's


def test_cargo_lock_entries_are_declared() -> None:
    view = view_of([kit.Layer([kit.file("/src/Cargo.lock", CARGO_LOCK)])])
    result = CargoLock().analyze(view, analysis_context())
    assert [(p.name, p.declared) for p in result.packages] == [("itoa", True)]
    [kept] = merge_declared(result.packages)
    assert kept.properties["declared"] == "true"

"""Declared entries (lock files, pinned requirements) folded into installed packages."""

from __future__ import annotations

import itertools

import pytest

from portcullis.analyze.declared import DECLARED_PROPERTY, identity, merge_declared
from portcullis.model.files import Location
from portcullis.model.package import Package

SITE = "/usr/local/lib/python3.11/site-packages"


def _pkg(name: str, version: str, path: str, *, type: str = "python", declared: bool = False,
         layer: int = 1, line: int | None = None, licenses: tuple[str, ...] = ()) -> Package:
    return Package(name=name, version=version, type=type, declared=declared,
                   purl=f"pkg:{type}/{name}@{version}",
                   locations=(Location(path=path, layer=layer, line=line),),
                   introduced_in=layer, licenses=licenses,
                   found_by=f"{type}-lockfile" if declared else f"{type}-installed")


def _paths(package: Package) -> list[str]:
    return [loc.path for loc in package.locations]


def test_equal_versions_merge_into_the_installed_package() -> None:
    installed = _pkg("express", "4.18.2", "/app/node_modules/express/package.json", type="npm",
                     layer=4, licenses=("MIT",))
    locked = _pkg("express", "4.18.2", "/app/package-lock.json", type="npm", declared=True,
                  layer=5)
    [merged] = merge_declared([locked, installed])
    assert _paths(merged) == ["/app/node_modules/express/package.json", "/app/package-lock.json"]
    assert merged.introduced_in == 4  # the installed one's layer
    assert merged.locations[1].layer == 5
    assert merged.found_by == "npm-installed"
    assert not merged.declared
    assert DECLARED_PROPERTY not in merged.properties
    assert merged.licenses == ("MIT",)


def test_pep440_equal_versions_merge() -> None:
    installed = _pkg("Django", "2.2", f"{SITE}/Django-2.2.dist-info/METADATA")
    declared = _pkg("Django", "2.2.0", "/app/requirements.txt", declared=True, line=3)
    [merged] = merge_declared([installed, declared])
    assert merged.version == "2.2"
    assert merged.locations[1] == Location(path="/app/requirements.txt", layer=1, line=3)


@pytest.mark.parametrize(("installed", "declared"), [
    ("1.0.post1", "1.0-post1"),
    ("1.0rc1", "1.0c1"),
    ("1!2.0", "1!2.0.0"),
    ("2.0.0", "v2"),
])
def test_pep440_spellings_of_one_version(installed: str, declared: str) -> None:
    packages = [_pkg("attrs", installed, f"{SITE}/attrs.dist-info/METADATA"),
                _pkg("attrs", declared, "/app/poetry.lock", declared=True)]
    assert len(merge_declared(packages)) == 1


@pytest.mark.parametrize("declared_name", ["charset_normalizer", "Charset.Normalizer",
                                           "CHARSET-NORMALIZER"])
def test_python_names_are_pep503_normalised(declared_name: str) -> None:
    packages = [_pkg("charset-normalizer", "3.3.2", f"{SITE}/charset_normalizer.dist-info/METADATA"),
                _pkg(declared_name, "3.3.2", "/app/requirements.txt", declared=True)]
    [merged] = merge_declared(packages)
    assert merged.name == "charset-normalizer"


def test_unequal_versions_stay_separate_and_the_declared_one_is_marked() -> None:
    installed = _pkg("requests", "2.31.0", f"{SITE}/requests.dist-info/METADATA")
    declared = _pkg("requests", "2.30.0", "/app/requirements.txt", declared=True)
    out = merge_declared([installed, declared])
    assert out[0] == installed
    assert out[1].version == "2.30.0"
    assert out[1].declared
    assert out[1].properties == {DECLARED_PROPERTY: "true"}


def test_declared_only_entries_are_kept_and_marked() -> None:
    locked = Package(name="flask", version="2.0.1", type="python", declared=True,
                     locations=(Location(path="/app/Pipfile.lock", layer=2),),
                     properties={"source": "lockfile"})
    [kept] = merge_declared([locked])
    assert kept.properties == {"source": "lockfile", DECLARED_PROPERTY: "true"}
    assert _paths(kept) == ["/app/Pipfile.lock"]
    assert kept.to_dict()["declared"] is True


def test_an_unreadable_version_equals_only_itself() -> None:
    installed = _pkg("weird", "not a version", f"{SITE}/weird.dist-info/METADATA")
    same = _pkg("weird", "not a version", "/app/requirements.txt", declared=True)
    other = _pkg("weird", "not-a-version", "/srv/requirements.txt", declared=True)
    out = merge_declared([installed, same, other])
    assert [_paths(p) for p in out] == [
        [f"{SITE}/weird.dist-info/METADATA", "/app/requirements.txt"],
        ["/srv/requirements.txt"],
    ]


def test_a_version_too_long_for_int_does_not_sink_the_step() -> None:
    huge = "1." + "9" * 5000  # int() refuses more than 4300 digits: a real ValueError
    installed = _pkg("rack", huge, "/usr/lib/ruby/specifications/rack.gemspec", type="gem")
    locked = _pkg("rack", huge + ".0", "/app/Gemfile.lock", type="gem", declared=True)
    out = merge_declared([installed, locked])
    assert len(out) == 2
    assert out[1].properties[DECLARED_PROPERTY] == "true"


def test_other_ecosystems_and_types_never_merge() -> None:
    npm = _pkg("semver", "7.5.4", "/app/node_modules/semver/package.json", type="npm")
    python = _pkg("semver", "7.5.4", "/app/requirements.txt", declared=True)
    out = merge_declared([npm, python])
    assert out == [npm, merge_declared([python])[0]]


def test_npm_names_are_case_sensitive() -> None:
    installed = _pkg("JSONStream", "1.3.5", "/app/node_modules/JSONStream/package.json",
                     type="npm")
    locked = _pkg("jsonstream", "1.3.5", "/app/package-lock.json", type="npm", declared=True)
    assert len(merge_declared([installed, locked])) == 2


@pytest.mark.parametrize(("type", "name_a", "a", "name_b", "b", "same"), [
    ("npm", "ms", "2.1.3", "ms", "v2.1.3", True),
    ("npm", "ms", "2.1.3", "ms", "2.1.3+build.7", True),
    ("npm", "ms", "2.1.3", "ms", "2.1.3-beta.1", False),
    ("npm", "ms", "2.1.3", "ms", "2.1", False),
    ("rust-crate", "serde", "1.0.190", "serde", "1.0.190", True),
    ("rust-crate", "serde", "1.0.190", "serde", "1.0.191", False),
    ("gem", "rack", "3.0", "rack", "3.0.0", True),
    ("gem", "rack", "3", "rack", "3.0.0.0", True),
    ("gem", "rack", "3.0.1", "rack", "3.0", False),
    ("gem", "Rack", "3.0", "rack", "3.0", False),
    ("php-composer", "Monolog/Monolog", "v2.9.1", "monolog/monolog", "2.9.1.0", True),
    ("php-composer", "monolog/monolog", "3.0.0-RC1", "monolog/monolog", "v3.0.0-rc1", True),
    ("php-composer", "monolog/monolog", "dev-main", "monolog/monolog", "dev-main", True),
    ("php-composer", "monolog/monolog", "2.9.1", "monolog/monolog", "2.9.2", False),
    ("dotnet", "Newtonsoft.Json", "13.0", "newtonsoft.json", "13.0.0.0", True),
    ("dotnet", "AutoMapper", "12.0.1-Beta", "automapper", "12.0.1-beta+sha.1", True),
    ("dotnet", "AutoMapper", "12.0.1", "AutoMapper", "12.0.1-beta", False),
    ("deb", "curl", "7.88.1-10", "curl", "7.88.1-10", True),
    ("deb", "curl", "1:7.88.1-10", "curl", "7.88.1-10", False),
    ("go-module", "golang.org/x/net", "v0.17.0", "golang.org/x/net", "0.17.0", False),
])
def test_identity_follows_each_ecosystem(type: str, name_a: str, a: str, name_b: str, b: str,
                                         same: bool) -> None:
    first = Package(name=name_a, version=a, type=type)
    second = Package(name=name_b, version=b, type=type)
    assert (identity(first) == identity(second)) is same


def test_the_closest_installed_package_gets_the_lock_file() -> None:
    system = _pkg("ms", "2.1.3", "/usr/lib/node_modules/ms/package.json", type="npm", layer=1)
    app = _pkg("ms", "2.1.3", "/app/node_modules/ms/package.json", type="npm", layer=3)
    locked = _pkg("ms", "2.1.3", "/app/package-lock.json", type="npm", declared=True, layer=3)
    out = merge_declared([system, app, locked])
    assert [_paths(p) for p in out] == [
        ["/usr/lib/node_modules/ms/package.json"],
        ["/app/node_modules/ms/package.json", "/app/package-lock.json"],
    ]


def test_several_declarations_of_one_installed_package() -> None:
    installed = _pkg("idna", "3.4", f"{SITE}/idna-3.4.dist-info/METADATA")
    poetry = _pkg("idna", "3.4", "/app/poetry.lock", declared=True)
    pinned = _pkg("idna", "3.4.0", "/app/requirements.txt", declared=True, line=2)
    [merged] = merge_declared([pinned, installed, poetry])
    assert _paths(merged) == [f"{SITE}/idna-3.4.dist-info/METADATA", "/app/poetry.lock",
                              "/app/requirements.txt"]


def test_licenses_of_a_declaration_fill_in_when_the_installed_has_none() -> None:
    installed = _pkg("monolog/monolog", "2.9.1", "/app/vendor/composer/installed.json",
                     type="php-composer")
    locked = _pkg("monolog/monolog", "2.9.1", "/app/composer.lock", type="php-composer",
                  declared=True, licenses=("MIT",))
    [merged] = merge_declared([installed, locked])
    assert merged.licenses == ("MIT",)


def test_what_is_merged_into_what_does_not_depend_on_input_order() -> None:
    packages = [
        _pkg("idna", "3.4", f"{SITE}/idna-3.4.dist-info/METADATA"),
        _pkg("idna", "3.4", "/opt/venv/lib/python3.11/site-packages/idna.dist-info/METADATA"),
        _pkg("idna", "3.4.0", "/app/requirements.txt", declared=True),
        _pkg("idna", "3.4", "/opt/venv/requirements.txt", declared=True),
        _pkg("idna", "3.5", "/srv/requirements.txt", declared=True),
        _pkg("certifi", "2023.7.22", "/app/requirements.txt", declared=True),
    ]
    expected = sorted(merge_declared(packages), key=Package.sort_key)
    assert len(expected) == 4
    for order in itertools.permutations(packages):
        assert sorted(merge_declared(order), key=Package.sort_key) == expected
    # the input order is kept for what is not merged away
    assert [p.name for p in merge_declared(packages)] == ["idna", "idna", "idna", "certifi"]


def test_packages_without_declared_entries_pass_unchanged() -> None:
    packages = [_pkg("curl", "7.88.1-10", "/var/lib/dpkg/status", type="deb"),
                _pkg("idna", "3.4", f"{SITE}/idna-3.4.dist-info/METADATA")]
    assert merge_declared(packages) == packages
    assert merge_declared([]) == []

"""Each version scheme on the edge cases its ecosystem documents.

Chains are strictly ascending; groups are equal under the scheme. Sources: deb-version(7) and
Debian Policy 5.6.12 (dpkg), rpm's rpmvercmp and its tilde/caret docs, apk-tools'
version.c grammar, the Maven POM reference's version order, Go's module reference
(pseudo-versions), PEP 440, SemVer 2.0 section 11, Gem::Version docs, Composer's versions docs
and PHP version_compare, NuGet's package versioning docs.
"""

from __future__ import annotations

import pytest

from portcullis.vulndb.versions import (
    InvalidVersion,
    Scheme,
    UnknownEcosystem,
    known_ecosystems,
    scheme_for,
)

ASCENDING: dict[str, list[list[str]]] = {
    "Debian": [
        ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"],  # deb-version(7)'s own example
        ["1.0~rc1", "1.0", "1.0+b1", "1.0.1", "1:0.9"],
        ["1.0-1", "1.0-1ubuntu1", "1.0-1+deb12u1", "1.0-2", "1.0-10"],
        ["2.38.1-5", "2.38.1-5+b1", "2.38.1-5+deb12u1"],
        ["1.0", "1.0a", "1.0+", "1.0.", "1.0.1"],  # letters sort before other characters
    ],
    "Red Hat": [
        ["1.0~rc1", "1.0", "1.0^git1", "1.0.1"],  # rpm's tilde and caret
        ["1.0~~", "1.0~", "1.0", "1.0a", "1.0.1"],
        ["1.a", "1.1"],  # a number beats letters
        ["1.0", "1.0-1", "1.0-1.el8", "1.0-1.el9", "1.0-2", "1.0-10"],
        ["2.0", "1:0.9", "2:0.1"],
        ["3.0.7-16.el9", "3.0.7-16.el9_2", "3.0.7-17.el9"],
    ],
    "Alpine": [
        ["1.2.3_alpha1", "1.2.3_beta1", "1.2.3_pre1", "1.2.3_rc1", "1.2.3_rc2", "1.2.3",
         "1.2.3-r1", "1.2.3-r2", "1.2.3_git20200101", "1.2.3_p1", "1.2.3a", "1.2.4"],
        ["1.01", "1.1"],  # apk-tools: leading zeros sort low
        ["1.0", "1.0-r1", "1.0.0", "1.0.1"],
        ["3.1.0-r4", "3.1.1-r0", "3.1.4-r5"],
    ],
    "Maven": [
        # The order maven-artifact 3.8.7's ComparableVersion prints for these.
        ["1.0.0.x1", "1.0.0-x2"],
        ["1.0-alpha", "1.0-m1", "1.0-rc1", "1.0-cr2", "1.0-rc3", "1.0-SNAPSHOT", "1.0",
         "1.0-sp", "1.0-foo", "1.0-1", "1.0.1"],
        ["1.0-alpha", "1.0-beta", "1.0-rc", "1.0-SNAPSHOT", "1.0", "1.0-sp1"],
        ["1.0-alpha9", "1.0-alpha10"],
        ["1-1", "1.1"],
        ["2.12.6.1", "2.12.7", "2.13.2", "2.13.2.1", "2.13.3"],
        ["31.1-jre", "32.0.0-android", "32.0.0-jre", "32.0.1-jre"],
        ["2.0-beta9", "2.0", "2.15.0-rc1", "2.15.0"],
        ["1-ga-rc", "1"],
        # Hypothesis's falsifying triple for the old nested-list comparator (not transitive).
        ["0ga0alpha", "0", "0a"],
        # The Version Order Specification's own examples.
        ["1-alpha", "1", "1-sp"],
        ["1.0-RC1", "1.0"],
        ["1-snapshot", "1", "1-sp"],
        ["1-foo2", "1-foo10"],
        ["1-foo", "1-1", "1.1"],
        ["1-ga.1", "1-sp.1"],
        ["1-sp-1", "1-ga-1"],
        ["2-1", "2final10", "2.1"],  # the null "final" part goes: 2-10
    ],
    "Go": [
        ["v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-000000000000",
         "v0.1.0", "v1.2.3-pre", "v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4",
         "v2.0.0+incompatible", "v2.1.0"],
        ["go1.21rc2", "go1.21.0", "go1.21.3", "1.22.0"],
    ],
    "PyPI": [
        ["1.0.dev1", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0+local", "1.0.post1",
         "1.1", "1!0.1"],
    ],
    "npm": [
        # SemVer 2.0 section 11's example.
        ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
         "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"],
        ["4.17.11", "4.17.12", "4.17.21"],
    ],
    "RubyGems": [
        ["1.0.a", "1.0.a9", "1.0.a10", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.1"],
        ["1.0-1", "1.0"],  # a hyphen makes a pre-release
        ["1.13.5", "1.13.6"],
    ],
    "Packagist": [
        ["1.0.0-dev", "1.0.0-alpha1", "1.0.0-beta1", "1.0.0-beta2", "1.0.0-RC1", "1.0.0",
         "1.0.0-p1", "1.0.1"],
        ["2010.01.01", "2010.01.02"],
    ],
    "NuGet": [
        ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.0.1",
         "1.0.1", "1.1", "13.0.1"],
        ["1.0.0-beta.2", "1.0.0-BETA.11"],
    ],
}

EQUAL: dict[str, list[list[str]]] = {
    "Debian": [["1.0", "1.0-0", "0:1.0"], ["1.01", "1.1"]],
    "Red Hat": [["1.0", "1_0", "1..0", "0:1.0"], ["1.0a", "1.0.a"], ["1.01", "1.1"]],
    "Alpine": [["1.2.3", "01.2.3"]],
    "Maven": [["1", "1.0", "1.0.0", "1-ga", "1.0.0-final", "1.0-RELEASE"],
              ["1.0-alpha-1", "1.0a1"], ["1.0-cr1", "1.0-RC1"],
              # The Version Order Specification's own examples.
              ["1.foo", "1-foo"], ["1.ga", "1-ga", "1-0", "1.0", "1"], ["1-ga-1", "1-1"],
              ["1-a1", "1-alpha-1"], ["1-0-2", "1-2"], ["0ga0alpha", "0-alpha", "0.0.alpha"]],
    "Go": [["v1.2", "v1.2.0", "1.2.0"], ["v2.0.0+incompatible", "v2.0.0"],
           ["go1.21", "1.21.0"], ["go1.22rc1", "1.22.0-rc.1"]],
    "PyPI": [["1.0", "1.0.0", "1.0.0.0"], ["1.0RC1", "1.0rc1", "1.0-rc.1"]],
    "npm": [["1.0.0", "v1.0.0", "=1.0.0", "1.0.0+build.5"]],
    "RubyGems": [["1", "1.0", "1.0.0"], ["1.0.a", "1.a"]],
    "Packagist": [["1.0", "1.0.0", "v1.0.0.0", "1.0.0-stable"], ["1.0-b1", "1.0.0-beta1"]],
    "NuGet": [["1.0", "1.0.0", "1.0.0.0", "01.0.0"], ["1.0.0-BETA", "1.0.0-beta"],
              ["1.0.0+meta", "1.0.0"]],
}

INVALID: dict[str, list[str]] = {
    "Debian": ["", "1.0-", "a:1.0", ":1.0", "1:", "1.0 2", "1.0_1", "1.0\n"],
    "Red Hat": ["", "x:1.0", "-1", "1.0 2"],
    "Alpine": ["", "1.2.3-1", "1.2.3_foo", "v1.2.3", "1.2.3-r", "1.2.3-r1-r2", "1.2.3A"],
    "Maven": ["", " "],
    "Go": ["", "1.2.3.4", "latest", "v1.2.3-"],
    "PyPI": ["", "1.0-foo-bar", "not a version"],
    "npm": ["", "1.0", "1.0.0-", "1.0.0+", "latest", "1.0.0-a..b"],
    "RubyGems": ["", "a.1", "1..0", "1.0 beta", "1.0-"],
    "Packagist": ["", "dev-main", "1.0.0-foo", "abc"],
    "NuGet": ["", "1.0.0.0.0", "1.0.0-", "a.b", "1.0.0-beta..1"],
}


def _scheme(ecosystem: str) -> Scheme:
    return scheme_for(ecosystem)


@pytest.mark.parametrize(("ecosystem", "chain"),
                         [(e, c) for e, chains in ASCENDING.items() for c in chains])
def test_chain_is_strictly_ascending(ecosystem: str, chain: list[str]) -> None:
    scheme = _scheme(ecosystem)
    keys = [scheme.key(v) for v in chain]
    for i in range(len(chain) - 1):
        a, b, ka, kb = chain[i], chain[i + 1], keys[i], keys[i + 1]
        assert ka < kb, f"{ecosystem}: expected {a} < {b}"
        assert not kb < ka and ka != kb
    assert [v for _, v in sorted(zip(keys, chain, strict=True), key=lambda p: p[0])] == chain


@pytest.mark.parametrize(("ecosystem", "group"),
                         [(e, g) for e, groups in EQUAL.items() for g in groups])
def test_group_is_equal(ecosystem: str, group: list[str]) -> None:
    scheme = _scheme(ecosystem)
    first = scheme.key(group[0])
    for other in group[1:]:
        key = scheme.key(other)
        assert key == first, f"{ecosystem}: expected {group[0]} == {other}"
        assert not key < first and not first < key


@pytest.mark.parametrize(("ecosystem", "version"),
                         [(e, v) for e, versions in INVALID.items() for v in versions])
def test_invalid_version_is_refused_with_its_text(ecosystem: str, version: str) -> None:
    scheme = _scheme(ecosystem)
    with pytest.raises(InvalidVersion) as info:
        scheme.key(version)
    assert isinstance(info.value, ValueError)
    assert repr(version) in str(info.value) and scheme.name in str(info.value)


@pytest.mark.parametrize(("ecosystem", "scheme_name"), [
    ("Debian", "dpkg"), ("Debian:12", "dpkg"), ("Ubuntu:22.04:LTS", "dpkg"),
    ("Ubuntu:Pro:18.04:LTS", "dpkg"), ("Alpine:v3.18", "apk"), ("Wolfi", "apk"),
    ("Chainguard", "apk"), ("Red Hat", "rpm"), ("Red Hat:enterprise_linux:9::appstream", "rpm"),
    ("AlmaLinux:9", "rpm"), ("Rocky Linux:8", "rpm"), ("SUSE:Linux Enterprise Server 15", "rpm"),
    ("openSUSE:Tumbleweed", "rpm"), ("Mageia:9", "rpm"), ("Azure Linux", "rpm"),
    ("PyPI", "pep440"), ("npm", "semver"), ("crates.io", "semver"), ("Maven", "maven"),
    ("Go", "go"), ("RubyGems", "rubygems"), ("Packagist", "composer"), ("NuGet", "nuget"),
    ("pypi", "pep440"),
])
def test_scheme_for_osv_ecosystem(ecosystem: str, scheme_name: str) -> None:
    assert scheme_for(ecosystem).name == scheme_name


@pytest.mark.parametrize("ecosystem", ["", "Gentoo", "CRAN", "Linux", ":12"])
def test_unknown_ecosystem_is_a_lookup_error(ecosystem: str) -> None:
    with pytest.raises(UnknownEcosystem, match="no version scheme"):
        scheme_for(ecosystem)


def test_every_claimed_ecosystem_resolves_to_one_scheme() -> None:
    names = known_ecosystems()
    assert len(names) == len({n.casefold() for n in names}) > 25
    assert {scheme_for(n).name for n in names} == {
        "dpkg", "rpm", "apk", "pep440", "semver", "maven", "go", "rubygems", "composer", "nuget"}

"""OSV range evaluation on real records from tests/data/osv (and the algorithm's corner cases).

Every expectation on a record is read off that record's own events: a version equal to an
``introduced`` is affected, one equal to a ``fixed`` is not, one equal to ``last_affected``
is, and ``versions`` lists hit by themselves.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from portcullis.vulndb.ranges import Verdict, evaluate, evaluate_entry
from portcullis.vulndb.versions import scheme_for
from tests.fixtures import DATA, read_fixture


def _record(path: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(read_fixture(DATA / "osv" / path))
    return record


def _verdict(path: str, ecosystem: str, name: str, version: str) -> Verdict:
    """All entries of the record for this package, combined as a matcher would."""
    entries = [a for a in _record(path)["affected"]
               if a["package"]["ecosystem"] == ecosystem and a["package"]["name"] == name]
    assert entries, f"{path} has no entry for {ecosystem}/{name}"
    verdicts = [evaluate_entry(version, entry) for entry in entries]
    return Verdict(
        affected=any(v.affected for v in verdicts),
        fixed=tuple(f for v in verdicts for f in v.fixed),
        problems=tuple(p for v in verdicts for p in v.problems),
    )


RECORDS = [
    # requests: introduced 2.3.0, fixed 2.31.0
    ("PyPI/GHSA-j8r2-6x86-q33q.json", "PyPI", "requests", "2.2.1", False, ()),
    ("PyPI/GHSA-j8r2-6x86-q33q.json", "PyPI", "requests", "2.3.0", True, ("2.31.0",)),
    ("PyPI/GHSA-j8r2-6x86-q33q.json", "PyPI", "requests", "2.30.0", True, ("2.31.0",)),
    ("PyPI/GHSA-j8r2-6x86-q33q.json", "PyPI", "requests", "2.31.0", False, ()),
    ("PyPI/GHSA-j8r2-6x86-q33q.json", "PyPI", "requests", "2.31.0rc1", True, ("2.31.0",)),
    # the same vulnerability from PyPA: a GIT range (ignored) beside the ECOSYSTEM one
    ("PyPI/PYSEC-2023-74.json", "PyPI", "requests", "2.9.1", True, ("2.31.0",)),
    ("PyPI/PYSEC-2023-74.json", "PyPI", "requests", "2.31.0", False, ()),
    # py: introduced 0, last_affected 1.11.0 (and a versions list)
    ("PyPI/PYSEC-2022-42969.json", "PyPI", "py", "1.4.0", True, ()),
    ("PyPI/PYSEC-2022-42969.json", "PyPI", "py", "1.11.0", True, ()),
    ("PyPI/PYSEC-2022-42969.json", "PyPI", "py", "1.11.1", False, ()),
    # lodash: introduced 0, fixed 4.17.12
    ("npm/GHSA-jf85-cpcp-j695.json", "npm", "lodash", "4.17.11", True, ("4.17.12",)),
    ("npm/GHSA-jf85-cpcp-j695.json", "npm", "lodash", "0.1.0", True, ("4.17.12",)),
    ("npm/GHSA-jf85-cpcp-j695.json", "npm", "lodash", "4.17.12", False, ()),
    ("npm/GHSA-jf85-cpcp-j695.json", "npm", "lodash", "4.17.21", False, ()),
    ("npm/GHSA-jf85-cpcp-j695.json", "npm", "lodash-es", "4.17.13", True, ("4.17.14",)),
    # minimist: two entries, [1.0.0, 1.2.6) and [0, 0.2.4)
    ("npm/GHSA-xvch-5gv4-984h.json", "npm", "minimist", "0.2.3", True, ("0.2.4",)),
    ("npm/GHSA-xvch-5gv4-984h.json", "npm", "minimist", "0.2.4", False, ()),
    ("npm/GHSA-xvch-5gv4-984h.json", "npm", "minimist", "1.0.0", True, ("1.2.6",)),
    ("npm/GHSA-xvch-5gv4-984h.json", "npm", "minimist", "1.2.5", True, ("1.2.6",)),
    ("npm/GHSA-xvch-5gv4-984h.json", "npm", "minimist", "1.2.6", False, ()),
    # docker/distribution: SEMVER, fixed 2.7.0-rc.0+incompatible
    ("Go/GO-2021-0072.json", "Go", "github.com/docker/distribution", "v2.6.2+incompatible",
     True, ("2.7.0-rc.0+incompatible",)),
    ("Go/GO-2021-0072.json", "Go", "github.com/docker/distribution",
     "v2.7.0-rc.0+incompatible", False, ()),
    ("Go/GO-2021-0072.json", "Go", "github.com/docker/distribution", "v2.7.1+incompatible",
     False, ()),
    # pseudo-versions on both ends
    ("Go/GO-2020-0004.json", "Go", "github.com/nanobox-io/golang-nanoauth",
     "v0.0.0-20160722212129-ac0cc4484ad4", True, ("0.0.0-20200131131040-063a3fb69896",)),
    ("Go/GO-2020-0004.json", "Go", "github.com/nanobox-io/golang-nanoauth",
     "v0.0.0-20160722212128-000000000000", False, ()),
    ("Go/GO-2020-0004.json", "Go", "github.com/nanobox-io/golang-nanoauth",
     "v0.0.0-20200131131040-063a3fb69896", False, ()),
    # stdlib: three intervals in one range, pre-release introduced events
    ("Go/GO-2026-6091.json", "Go", "stdlib", "go1.25.12", True, ("1.25.13",)),
    ("Go/GO-2026-6091.json", "Go", "stdlib", "1.25.13", False, ()),
    ("Go/GO-2026-6091.json", "Go", "stdlib", "go1.26rc1", True, ("1.26.6",)),
    ("Go/GO-2026-6091.json", "Go", "stdlib", "v1.26.5", True, ("1.26.6",)),
    ("Go/GO-2026-6091.json", "Go", "stdlib", "go1.26.6", False, ()),
    ("Go/GO-2026-6091.json", "Go", "stdlib", "1.27.0-rc.2", True, ("1.27.0-rc.3",)),
    ("Go/GO-2026-6091.json", "Go", "stdlib", "go1.27.0", False, ()),
    # time: eight intervals, several of them a single pre-release wide
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.1.44", True, ("0.2.0",)),
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.2.0", False, ()),
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.2.1", False, ()),
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.2.7", True, ("0.2.23",)),
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.2.22", True, ("0.2.23",)),
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.2.23", False, ()),
    ("crates.io/RUSTSEC-2020-0071.json", "crates.io", "time", "0.3.0", False, ()),
    # log4j-core: [2.13.0, 2.15.0), [0, 2.3.1), [2.4, 2.12.2)
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.14.1", True, ("2.15.0",)),
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.15.0", False, ()),
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.0-beta9", True, ("2.3.1",)),
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.3.1", False, ()),
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.4", True, ("2.12.2",)),
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.12.2", False, ()),
    ("Maven/GHSA-jfh8-c2jp-5v3q.json", "Maven", "org.apache.logging.log4j:log4j-core",
     "2.15.0-rc1", True, ("2.15.0",)),
    # jackson-databind: four-part fixes
    ("Maven/GHSA-57j2-w4cx-62h2.json", "Maven", "com.fasterxml.jackson.core:jackson-databind",
     "2.13.2", True, ("2.13.2.1",)),
    ("Maven/GHSA-57j2-w4cx-62h2.json", "Maven", "com.fasterxml.jackson.core:jackson-databind",
     "2.13.2.1", False, ()),
    ("Maven/GHSA-57j2-w4cx-62h2.json", "Maven", "com.fasterxml.jackson.core:jackson-databind",
     "2.12.6", True, ("2.12.6.1",)),
    ("Maven/GHSA-57j2-w4cx-62h2.json", "Maven", "com.fasterxml.jackson.core:jackson-databind",
     "2.12.6.1", False, ()),
    ("Maven/GHSA-57j2-w4cx-62h2.json", "Maven", "com.fasterxml.jackson.core:jackson-databind",
     "2.12.7", False, ()),
    # nokogiri, Newtonsoft.Json
    ("RubyGems/GHSA-crjr-9rc5-ghw8.json", "RubyGems", "nokogiri", "1.13.3", True, ("1.13.4",)),
    ("RubyGems/GHSA-crjr-9rc5-ghw8.json", "RubyGems", "nokogiri", "1.13.4.rc1", True,
     ("1.13.4",)),
    ("RubyGems/GHSA-crjr-9rc5-ghw8.json", "RubyGems", "nokogiri", "1.13.4", False, ()),
    ("NuGet/GHSA-5crp-9r3c-p9vr.json", "NuGet", "Newtonsoft.Json", "12.0.3", True, ("13.0.1",)),
    ("NuGet/GHSA-5crp-9r3c-p9vr.json", "NuGet", "Newtonsoft.Json", "13.0.1-beta1", True,
     ("13.0.1",)),
    ("NuGet/GHSA-5crp-9r3c-p9vr.json", "NuGet", "Newtonsoft.Json", "13.0.1", False, ()),
    ("NuGet/GHSA-5crp-9r3c-p9vr.json", "NuGet", "Newtonsoft.Json", "13.0.1.0", False, ()),
    # curl on Ubuntu releases: each release has its own fix
    ("Ubuntu/UBUNTU-CVE-2023-38545.json", "Ubuntu:22.04:LTS", "curl", "7.81.0-1ubuntu1.13",
     True, ("7.81.0-1ubuntu1.14",)),
    ("Ubuntu/UBUNTU-CVE-2023-38545.json", "Ubuntu:22.04:LTS", "curl", "7.81.0-1ubuntu1.14",
     False, ()),
    ("Ubuntu/UBUNTU-CVE-2023-38545.json", "Ubuntu:22.04:LTS", "curl", "7.81.0-1ubuntu1.15",
     False, ()),
    ("Ubuntu/UBUNTU-CVE-2023-38545.json", "Ubuntu:20.04:LTS", "curl", "7.68.0-1ubuntu2.18",
     True, ("7.68.0-1ubuntu2.19",)),
    ("Ubuntu/UBUNTU-CVE-2023-38545.json", "Ubuntu:24.04:LTS", "curl", "8.2.1-1ubuntu3",
     True, ("8.2.1-1ubuntu3.1",)),
    # avahi on AlmaLinux 9
    ("AlmaLinux/ALSA-2024:2433.json", "AlmaLinux:9", "avahi", "0.8-12.el9", True,
     ("0.8-20.el9",)),
    ("AlmaLinux/ALSA-2024:2433.json", "AlmaLinux:9", "avahi", "0.8-12.el9_2.1", True,
     ("0.8-20.el9",)),
    ("AlmaLinux/ALSA-2024:2433.json", "AlmaLinux:9", "avahi", "0.8-20.el9", False, ()),
    ("AlmaLinux/ALSA-2024:2433.json", "AlmaLinux:9", "avahi", "0.8-20.el9_4.1", False, ()),
]


@pytest.mark.parametrize(("path", "ecosystem", "name", "version", "affected", "fixed"), RECORDS)
def test_real_record(path: str, ecosystem: str, name: str, version: str, affected: bool,
                     fixed: tuple[str, ...]) -> None:
    verdict = _verdict(path, ecosystem, name, version)
    assert verdict == Verdict(affected, fixed, ())


def test_versions_list_hits_without_ranges() -> None:
    entry = _record("PyPI/PYSEC-2022-42969.json")["affected"][0]
    listed = entry["versions"]
    assert "1.9.0" in listed
    verdict = evaluate("1.9.0", [], listed, scheme_for("PyPI"))
    assert verdict == Verdict(True, (), ())
    # equal under PEP 440, spelled differently
    assert evaluate("1.9", [], listed, scheme_for("PyPI")).affected
    assert not evaluate("1.11.1", [], listed, scheme_for("PyPI")).affected


def test_ubuntu_versions_list_agrees_with_its_range() -> None:
    entry = next(a for a in _record("Ubuntu/UBUNTU-CVE-2023-38545.json")["affected"]
                 if a["package"]["ecosystem"] == "Ubuntu:22.04:LTS")
    scheme = scheme_for("Ubuntu:22.04:LTS")
    for version in entry["versions"]:
        assert evaluate(version, entry["ranges"], [], scheme).affected, version


def test_git_ranges_are_ignored_silently() -> None:
    entry = _record("PyPI/PYSEC-2023-74.json")["affected"][0]
    git_only = [r for r in entry["ranges"] if r["type"] == "GIT"]
    assert git_only
    assert evaluate("2.9.1", git_only, [], scheme_for("PyPI")) == Verdict(False, (), ())


def test_unparsable_installed_version_is_reported_not_raised() -> None:
    entry = _record("npm/GHSA-jf85-cpcp-j695.json")["affected"][0]
    verdict = evaluate_entry("not-a-version", entry)
    assert not verdict.affected and verdict.fixed == ()
    assert len(verdict.problems) == 1 and "'not-a-version'" in verdict.problems[0]


def test_unparsable_installed_version_still_hits_its_exact_string_in_versions() -> None:
    verdict = evaluate("1.0 beta", [], ["1.0 beta"], scheme_for("PyPI"))
    assert verdict.affected and verdict.problems


def test_unknown_ecosystem_is_reported() -> None:
    entry = {"package": {"ecosystem": "Gentoo", "name": "x"}, "ranges": []}
    verdict = evaluate_entry("1.0", entry)
    assert not verdict.affected and "Gentoo" in verdict.problems[0]


@pytest.mark.parametrize("events", [
    [{"introduced": "0", "fixed": "1.0.0"}],
    [{"introduced": "0"}, {"fixed": "not.a.version"}],
    [{"introduced": 0}],
    [],
    None,
])
def test_malformed_range_is_skipped_and_reported(events: Any) -> None:
    ranges = [{"type": "ECOSYSTEM", "events": events}]
    verdict = evaluate("0.5.0", ranges, [], scheme_for("npm"))
    assert not verdict.affected
    assert len(verdict.problems) == 1 and verdict.problems[0].startswith("range 0:")


def test_unknown_range_type_is_reported() -> None:
    verdict = evaluate("1.0.0", [{"type": "CALVER", "events": [{"introduced": "0"}]}], [],
                       scheme_for("npm"))
    assert verdict == Verdict(False, (), ("range 0: unknown range type 'CALVER'",))


def test_unsorted_events_are_sorted_by_the_scheme() -> None:
    # The log4j intervals shuffled into one range: order of events must not matter, and the
    # scheme's order (Maven), not string order, decides (2.4 < 2.12.2).
    ranges = [{"type": "ECOSYSTEM", "events": [
        {"fixed": "2.12.2"}, {"introduced": "2.13.0"}, {"fixed": "2.3.1"}, {"introduced": "2.4"},
        {"fixed": "2.15.0"}, {"introduced": "0"}]}]
    maven = scheme_for("Maven")
    assert evaluate("2.10.0", ranges, [], maven) == Verdict(True, ("2.12.2",), ())
    assert evaluate("2.12.4", ranges, [], maven) == Verdict(False, (), ())
    assert evaluate("2.3.2", ranges, [], maven) == Verdict(False, (), ())


def test_limit_bounds_the_range() -> None:
    ranges = [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "2.0.0"}]}]
    semver = scheme_for("npm")
    assert evaluate("1.5.0", ranges, [], semver).affected
    assert not evaluate("2.0.0", ranges, [], semver).affected
    assert not evaluate("3.0.0", ranges, [], semver).affected
    star = [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "*"}]}]
    assert evaluate("9.0.0", star, [], semver).affected


def test_semver_range_uses_semver_order_whatever_the_ecosystem() -> None:
    # Under PEP 440 1.0.0-rc.1 would be 1.0.0rc1; under SemVer it is also below 1.0.0, but
    # 1.0.0-alpha.beta vs 1.0.0-alpha.1 only orders under SemVer.
    ranges = [{"type": "SEMVER", "events": [{"introduced": "1.0.0-alpha.beta"}]}]
    verdict = evaluate("1.0.0-alpha.1", ranges, [], scheme_for("PyPI"))
    assert verdict == Verdict(False, (), ())
    assert evaluate("1.0.0", ranges, [], scheme_for("PyPI")).affected


def test_fix_is_the_event_that_ends_the_interval_not_the_next_introduced() -> None:
    # introduced 1.0.0, introduced 1.3.0, fixed 1.5.0: 1.2.0 stays affected until 1.5.0.
    ranges = [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"introduced": "1.3.0"},
                                            {"fixed": "1.5.0"}]}]
    assert evaluate("1.2.0", ranges, [], scheme_for("npm")) == Verdict(True, ("1.5.0",), ())


def test_fixed_versions_of_several_ranges_come_oldest_first_once_each() -> None:
    ranges = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.0"}]},
              {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "2.9.0"}]},
              {"type": "ECOSYSTEM", "events": [{"introduced": "1.0.0"}, {"fixed": "2.10"}]}]
    verdict = evaluate("1.5", ranges, [], scheme_for("PyPI"))
    assert verdict == Verdict(True, ("2.9.0", "2.10.0"), ())

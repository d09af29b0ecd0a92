"""The matcher on real OSV records (tests/data/osv, built into a real database by the session
fixture in tests/conftest.py): what is affected, what is not, aliases merged, withdrawn records
ignored, releases kept apart, severities from the right source."""

from __future__ import annotations

from pathlib import Path

import pytest

from portcullis.model.distro import Distro
from portcullis.model.files import Location
from portcullis.model.finding import Finding, Severity
from portcullis.model.package import Package
from portcullis.vulndb.match import match_packages, target_of
from portcullis.vulndb.store import VulnStore


@pytest.fixture(scope="module")
def store(test_vuln_db: Path) -> VulnStore:
    return VulnStore(test_vuln_db)


def _pkg(type_: str, name: str, version: str, **kw: str) -> Package:
    return Package(name=name, version=version, type=type_, purl=f"pkg:{type_}/{name}@{version}",
                   locations=(Location(path=f"/app/{name}", layer=1),), introduced_in=1, **kw)


def _found(store: VulnStore, *packages: Package,
           distro: Distro | None = None) -> dict[tuple[str, str], Finding]:
    result = match_packages(list(packages), distro, store)
    return {(f.extra["package_name"], f.id): f for f in result.findings}


def test_python_records_that_alias_each_other_are_one_finding(store: VulnStore) -> None:
    found = _found(store, _pkg("python", "requests", "2.30.0"))
    assert list(found) == [("requests", "CVE-2023-32681")]
    finding = found[("requests", "CVE-2023-32681")]
    assert finding.extra["aliases"] == ["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"]
    assert finding.extra["fixed_versions"] == ["2.31.0"]
    assert finding.extra["status"] == "fixed"
    assert finding.severity is Severity.MEDIUM  # CVSS 6.1 from the GHSA vector
    assert (finding.path, finding.layer, finding.kind) == ("/app/requests", 1, "vulnerability")


def test_python_versions_outside_the_ranges_are_clean(store: VulnStore) -> None:
    assert _found(store, _pkg("python", "Requests", "2.31.0")) == {}  # fixed
    # Before CVE-2023-32681's introduced 2.3.0, but in the older records' ranges (< 2.3.0).
    older = _found(store, _pkg("python", "Requests", "2.2.1"))
    assert sorted(k[1] for k in older) == ["CVE-2014-1829", "CVE-2014-1830", "CVE-2015-2296",
                                           "CVE-2018-18074"]


def test_npm_every_record_for_the_version(store: VulnStore) -> None:
    old = _found(store, _pkg("npm", "lodash", "4.17.11"))
    assert {k[1]: f.extra["fixed_versions"] for k, f in old.items()} == {
        "CVE-2019-10744": ["4.17.12"], "CVE-2021-23337": ["4.17.21"]}
    assert old[("lodash", "CVE-2019-10744")].severity is Severity.CRITICAL
    middle = _found(store, _pkg("npm", "lodash", "4.17.20"))
    assert [k[1] for k in middle] == ["CVE-2021-23337"]
    assert _found(store, _pkg("npm", "lodash", "4.17.21")) == {}


def test_maven_log4shell(store: VulnStore) -> None:
    name = "org.apache.logging.log4j:log4j-core"
    assert [k[1] for k in _found(store, _pkg("java-archive", name, "2.14.1"))] == [
        "CVE-2021-44228"]
    assert _found(store, _pkg("java-archive", name, "2.17.1")) == {}


def test_withdrawn_records_never_match(store: VulnStore) -> None:
    assert _found(store, _pkg("go-module", "github.com/gravitational/teleport", "v1.0.0")) == {}


def test_os_packages_match_by_source_name_and_release(store: VulnStore) -> None:
    jammy = Distro(family="ubuntu", name="Ubuntu", version="22.04")
    focal = Distro(family="ubuntu", name="Ubuntu", version="20.04")
    curl = _pkg("deb", "libcurl4", "7.81.0-1ubuntu1.13", source_name="curl",
                source_version="7.81.0-1ubuntu1.13")
    found = _found(store, curl, distro=jammy)
    cve = found[("libcurl4", "CVE-2023-38545")]
    assert cve.extra["fixed_versions"] == ["7.81.0-1ubuntu1.14"]
    assert cve.extra["severity_source"] == "distro"
    fixed = _pkg("deb", "libcurl4", "7.81.0-1ubuntu1.14", source_name="curl",
                 source_version="7.81.0-1ubuntu1.14")
    assert ("libcurl4", "CVE-2023-38545") not in _found(store, fixed, distro=jammy)
    # focal's range never applies to a jammy package (and this version is above its fix)
    assert ("libcurl4", "CVE-2023-38545") not in _found(store, fixed, distro=focal)


def test_an_unreadable_installed_version_is_a_located_warning(store: VulnStore) -> None:
    result = match_packages([_pkg("npm", "lodash", "not a version!")], None, store)
    assert result.findings == []
    assert result.warnings
    assert all(w.path == "/app/lodash" and w.analyzer == "vuln" for w in result.warnings)


ALMA9 = Distro(family="alma", name="AlmaLinux", version="9.3")  # as os_release names it
ALMA8 = Distro(family="alma", name="AlmaLinux", version="8.9")


def test_rpm_packages_match_alma_records_of_their_release(store: VulnStore) -> None:
    # ALSA-2024:2433 names binary rpms (avahi-compat-howl) in AlmaLinux:9, fixed in 0.8-20.el9.
    old = _pkg("rpm", "avahi-compat-howl", "0.8-12.el9", source_name="avahi")
    found = _found(store, old, distro=ALMA9)
    assert list(found) == [("avahi-compat-howl", "ALSA-2024:2433")]
    finding = found[("avahi-compat-howl", "ALSA-2024:2433")]
    assert finding.extra["fixed_versions"] == ["0.8-20.el9"]
    assert finding.extra["ecosystem"] == "AlmaLinux:9"
    assert (finding.path, finding.layer) == ("/app/avahi-compat-howl", 1)
    assert _found(store, _pkg("rpm", "avahi-compat-howl", "0.8-20.el9"), distro=ALMA9) == {}
    assert _found(store, _pkg("rpm", "avahi-compat-howl", "0.8-20.el9_4.1"), distro=ALMA9) == {}
    # The same old package on AlmaLinux 8: the AlmaLinux:9 record never applies.
    assert _found(store, old, distro=ALMA8) == {}


def test_alma8_records_never_apply_to_alma9(store: VulnStore) -> None:
    # ALSA-2023:4520: python3-requests in AlmaLinux:8, fixed in 2.20.0-3.el8_8.
    requests = _pkg("rpm", "python3-requests", "2.20.0-2.1.el8_1")
    found = _found(store, requests, distro=ALMA8)
    assert list(found) == [("python3-requests", "CVE-2023-32681")]
    assert found[("python3-requests", "CVE-2023-32681")].extra["records"] == ["ALSA-2023:4520"]
    assert _found(store, requests, distro=ALMA9) == {}


def test_rpm_epochs_decide_the_match(store: VulnStore) -> None:
    # ALSA-2023:5259: mariadb fixed in 3:10.3.39-1.module_el8.8.0+3609+204d4ab0 (epoch 3).
    fix = "3:10.3.39-1.module_el8.8.0+3609+204d4ab0"
    old = _found(store, _pkg("rpm", "mariadb", "3:10.3.35-1.module_el8.6.0+2867+72759d2f"),
                 distro=ALMA8)
    assert [f.extra["fixed_versions"] for f in old.values()] == [[fix]]
    assert _found(store, _pkg("rpm", "mariadb", fix), distro=ALMA8) == {}
    # Without its epoch a higher version-release is still older than 3:10.3.39.
    assert len(_found(store, _pkg("rpm", "mariadb", "10.5.0-1.el8"), distro=ALMA8)) == 1
    # A newer epoch beats any version-release.
    assert _found(store, _pkg("rpm", "mariadb", "4:10.3.0-1.el8"), distro=ALMA8) == {}


@pytest.mark.parametrize(("family", "version", "ecosystem"), [
    ("alma", "9.3", "AlmaLinux:9"),  # os_release's family for ID=almalinux
    ("alma", "8.10", "AlmaLinux:8"),
    ("rocky", "9.4", "Rocky Linux:9"),
    ("redhat", "9.4", "Red Hat:enterprise_linux:9"),  # prefix of ...:9::appstream, ::baseos
    ("redhat", "8.9", "Red Hat:enterprise_linux:8"),
    ("redhat", None, None),  # no VERSION_ID: no release to pick, so not matched
    ("suse", "15.5", None),
    ("opensuse", "15.5", None),
    ("amazon", "2023", None),
    ("azurelinux", "3.0", None),
])
def test_rpm_distributions_pick_one_release(family: str, version: str | None,
                                            ecosystem: str | None) -> None:
    distro = Distro(family=family, name=family, version=version)
    target = target_of(_pkg("rpm", "openssl-libs", "1:3.0.7-25.el9", source_name="openssl"),
                       distro)
    assert (target.ecosystem if target else None) == ecosystem
    if target:  # the binary rpm's name, as the records of all three name it
        assert (target.name, target.version) == ("openssl-libs", "1:3.0.7-25.el9")


def test_unsupported_distributions_are_counted_not_silent(store: VulnStore) -> None:
    sles = Distro(family="suse", name="SLES", version="15.5")
    result = match_packages([_pkg("rpm", "curl", "8.0.1-1")], sles, store)
    assert [w.message for w in result.warnings] == [
        "1 OS packages not checked for vulnerabilities: no advisory source is mapped for the "
        "suse distribution yet (SUSE records name product streams and modules that os-release "
        "does not identify)"]
    amazon = Distro(family="amazon", name="Amazon Linux", version="2023")
    result = match_packages([_pkg("rpm", "curl", "8.0.1-1")], amazon, store)
    assert [w.message for w in result.warnings] == [
        "1 OS packages not checked for vulnerabilities: no advisory source is mapped for the "
        "amazon distribution yet (Amazon Linux is not among the OSV exports `db update` "
        "fetches)"]
    # AlmaLinux packages are matched: no such warning for them.
    assert match_packages([_pkg("rpm", "curl", "8.0.1-1")], ALMA9, store).warnings == []


def test_package_types_without_an_ecosystem_are_counted_not_silent(store: VulnStore) -> None:
    result = match_packages([_pkg("conda", "numpy", "1.0"), _pkg("conda", "scipy", "1.0")],
                            None, store)
    assert [w.message for w in result.warnings] == [
        "2 packages of type conda not checked for vulnerabilities: no advisory ecosystem is "
        "mapped for that type"]

"""The compliance analyzer on a view and a hand-made inventory: runtimes from image
variables and Go binaries, executables in images without a package database, version ranges
that cannot be checked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from msgspec.structs import replace

from portcullis.analyze.base import AnalysisContext, TreeAnalyzer
from portcullis.analyze.compliance.analyzer import Compliance
from portcullis.analyze.discovery import analyzer_classes
from portcullis.model.compliance import BannedRule, CompliancePolicy, ComplianceSettings
from portcullis.model.compliance import parse_versions as versions
from portcullis.model.distro import Distro
from portcullis.model.files import Location
from portcullis.model.finding import Severity
from portcullis.model.image import ImageConfig, ImageInfo, LayerRef
from portcullis.model.package import Package
from portcullis.vulndb.order import compare_versions
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _ctx(env: tuple[str, ...] = (), packages: list[Package] | None = None,
         settings: ComplianceSettings | None = None, layers: int = 2) -> AnalysisContext:
    info = ImageInfo(reference="t", source="test", manifest_digest=None, config_digest=None,
                     config=ImageConfig(env=env),
                     layers=tuple(LayerRef(index=i, diff_id=f"sha256:{i:064x}",
                                           created_by=f"step {i}") for i in range(layers)))
    ctx = analysis_context(image=info)
    ctx.now = NOW
    ctx.packages = list(packages or [])
    ctx.compliance = settings
    return ctx


def test_discovered_as_a_checks_stage_tree_analyzer() -> None:
    assert Compliance in analyzer_classes()
    assert isinstance(Compliance(), TreeAnalyzer)
    assert Compliance.spec.scanners == frozenset({"compliance"})


def test_runtime_of_an_official_image_variable_is_dated_by_its_binary() -> None:
    view = view_of([kit.Layer([kit.file("etc/hostname", "x")]),
                    kit.Layer([kit.file("usr/local/bin/python3.8", b"\x7fELF", mode=0o755),
                               kit.symlink("usr/local/bin/python3", "python3.8")])])
    result = Compliance().analyze(view, _ctx(env=("PATH=/usr/bin", "PYTHON_VERSION=3.8.18",
                                                  "NODE_VERSION=24.1.0")))
    [finding] = result.findings  # node's binary is not there: no claim about it
    assert (finding.id, finding.layer, finding.path) == (
        "runtime-end-of-life", 1, "/usr/local/bin/python3")
    assert finding.extra["evidence"] == "PYTHON_VERSION=3.8.18 in the image config"
    assert finding.extra["instruction"] == "step 1"
    assert finding.title == "Python 3.8 reached end of life on 2024-10-07"


def test_go_binary_toolchain() -> None:
    stdlib = Package(name="stdlib", version="1.20.14", type="go-module",
                     locations=(Location(path="/app/server", layer=1),), introduced_in=1)
    result = Compliance().analyze(view_of([kit.Layer([])]), _ctx(packages=[stdlib]))
    [finding] = result.findings
    assert (finding.id, finding.path, finding.layer) == ("runtime-end-of-life", "/app/server", 1)
    assert finding.extra["package"] == "go@1.20"


def test_executables_without_a_package_manager() -> None:
    view = view_of([kit.Layer([kit.file("bin/busybox", b"\x7fELF", mode=0o755),
                               kit.symlink("usr/bin/nc", "/bin/busybox"),
                               kit.file("usr/bin/socat", b"\x7fELF", mode=0o755),
                               kit.file("usr/local/sbin/masscan", b"\x7fELF", mode=0o755)])])
    result = Compliance().analyze(view, _ctx())
    found = {(f.path, f.extra["category"]) for f in result.findings}
    # no package database: the system bin directories count; a symlink (BusyBox) never does
    assert found == {("/usr/bin/socat", "remote-access"), ("/usr/local/sbin/masscan", "scanner")}
    with_dpkg = _ctx(packages=[Package(name="libc6", version="2.36-9", type="deb")])
    result = Compliance().analyze(view, with_dpkg)
    # with one, /usr/bin is the package manager's (its packages are judged by name)
    assert {f.path for f in result.findings} == {"/usr/local/sbin/masscan"}


def test_version_ranges() -> None:
    openssl = Package(name="openssl", version="1.1.1n-0+deb11u5", type="deb",
                      locations=(Location(path="/var/lib/dpkg/status", layer=0),),
                      introduced_in=0)
    rule = BannedRule(name="openssl", versions=versions(">= 1.1, < 3.0", "t"), reason="old")
    policy = CompliancePolicy(banned=(rule,))
    view = view_of([kit.Layer([])])
    ordered = ComplianceSettings(policy=policy, version_order=compare_versions)
    [hit] = Compliance().analyze(view, _ctx(packages=[openssl], settings=ordered)).findings
    assert (hit.id, hit.extra["versions"], hit.layer) == ("banned-software", ">= 1.1, < 3.0", 0)
    newer = replace(openssl, version="3.0.15-1~deb12u1")
    assert Compliance().analyze(view, _ctx(packages=[newer], settings=ordered)).findings == []
    # a version the scheme cannot read: banned all the same, and said
    odd = replace(openssl, version="not a version")
    result = Compliance().analyze(view, _ctx(packages=[odd], settings=ordered))
    assert [f.id for f in result.findings] == ["banned-software"]
    [warning] = result.warnings
    assert "openssl" in warning.message and "could not be ordered" in warning.message


def test_an_os_older_than_every_dated_release() -> None:
    squeeze = Distro(family="debian", name="Debian GNU/Linux", version="6.0.10",
                     source_path="/etc/debian_version", layer=0)
    ctx = _ctx()
    ctx.distro = squeeze
    result = Compliance().analyze(view_of([kit.Layer([])]), ctx)
    [finding] = result.findings
    assert finding.id == "os-end-of-life" and finding.layer == 0
    assert finding.title == ("Debian 6.0.10 is older than Debian 7, which reached end of life "
                             "on 2018-05-31")
    assert finding.extra["package"] == "debian@6.0.10" and finding.extra["cycle"] is None
    assert result.os_eol is True
    ctx.distro = replace(squeeze, version="15")  # newer than the table: nothing is claimed
    result = Compliance().analyze(view_of([kit.Layer([])]), ctx)
    assert result.findings == [] and result.os_eol is None


def test_the_policy_rule_wins_over_the_shipped_list() -> None:
    nmap = Package(name="nmap", version="7.93+dfsg1-1", type="deb",
                   locations=(Location(path="/var/lib/dpkg/status", layer=1, line=40),),
                   introduced_in=1)
    rule = BannedRule(name="NMAP", reason="no scanners here", severity=Severity.CRITICAL)
    settings = ComplianceSettings(policy=CompliancePolicy(banned=(rule,)))
    [finding] = Compliance().analyze(view_of([kit.Layer([])]),
                                     _ctx(packages=[nmap], settings=settings)).findings
    assert (finding.severity, finding.extra["category"], finding.line) == (
        Severity.CRITICAL, "policy", 40)
    assert finding.title == "banned policy: nmap 7.93+dfsg1-1 (no scanners here)"


def test_a_damaged_refreshed_eol_file_falls_back_to_the_shipped_dates(tmp_path: Path) -> None:
    broken = tmp_path / "eol.json"
    broken.write_text('{"schema": 1, "products": ')
    ctx = _ctx(settings=ComplianceSettings(eol_file=broken))
    ctx.distro = Distro(family="debian", name="Debian GNU/Linux", version="10", layer=0,
                        source_path="/etc/os-release")
    result = Compliance().analyze(view_of([kit.Layer([])]), ctx)
    assert [f.id for f in result.findings] == ["os-end-of-life"]
    [warning] = result.warnings
    assert str(broken) in warning.message
    assert warning.message.endswith("the end-of-life dates shipped with portcullis were used")


def test_a_runtime_the_supported_os_packages_is_low() -> None:
    nodejs = Package(name="nodejs", version="18.19.0+dfsg-6~deb12u2", type="deb",
                     locations=(Location(path="/var/lib/dpkg/status", layer=1, line=7),),
                     introduced_in=1)
    ctx = _ctx(packages=[nodejs])
    ctx.distro = Distro(family="debian", name="Debian GNU/Linux", version="12", layer=0)
    ids = {f.id: f for f in Compliance().analyze(view_of([kit.Layer([])]), ctx).findings}
    node = ids["runtime-end-of-life"]  # Node.js 18 ended 2025-04-30; bookworm is in LTS
    assert node.severity == Severity.LOW and node.layer == 1
    assert node.title.endswith("(an OS package: the OS release is supported and may patch it)")
    ctx.distro = replace(ctx.distro, version="10")  # buster: past LTS, nobody patches it
    ids = {f.id: f for f in Compliance().analyze(view_of([kit.Layer([])]), ctx).findings}
    assert ids["runtime-end-of-life"].severity == Severity.MEDIUM
    assert ids["runtime-end-of-life"].title == "Node.js 18 reached end of life on 2025-04-30"

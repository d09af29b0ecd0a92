"""The compliance policy, license categories and end-of-life data, without an image."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from portcullis.analyze.compliance import banned
from portcullis.analyze.compliance.data import EOL, shipped
from portcullis.analyze.compliance.eol import judge, load_table, upstream
from portcullis.analyze.compliance.licenses import Categorizer
from portcullis.analyze.compliance.policy import load_policy
from portcullis.errors import ConfigError
from portcullis.model.compliance import DEFAULT_BANNED_CATEGORIES, CompliancePolicy, Constraint
from portcullis.model.eol import EolTable, parse_date
from portcullis.model.finding import Severity
from portcullis.vulndb.order import compare_versions


@pytest.mark.parametrize(("expression", "category"), [
    ("MIT", "notice"),
    ("AGPL-3.0-or-later", "forbidden"),
    ("AGPL-3.0-only", "forbidden"),
    ("SSPL-1.0", "forbidden"),
    ("GPL-2.0-or-later", "restricted"),
    ("GPL-2.0+", "restricted"),
    ("MPL-2.0", "reciprocal"),
    ("CC0-1.0", "permissive"),
    ("MIT OR AGPL-3.0-or-later", "notice"),  # a choice: the least strict option
    ("MIT AND AGPL-3.0-only", "forbidden"),  # every term applies: the strictest
    ("(MIT OR GPL-2.0-only) AND MPL-2.0", "reciprocal"),
    ("GPL-2.0-only WITH Classpath-exception-2.0", "restricted"),
    ("Apache-2.0 OR MIT", "notice"),
    ("mit", "notice"),  # ids are matched without regard to case
])
def test_expression_categories(expression: str, category: str) -> None:
    judged = Categorizer().of_expression(expression)
    assert judged.category == category
    assert judged.unknown == frozenset()


def test_unknown_names_are_listed_unless_an_or_offers_a_known_choice() -> None:
    c = Categorizer()
    assert c.of_expression("NPSL").category == "unknown"
    assert c.of_expression("NPSL").unknown == {"NPSL"}
    assert c.of_expression("NPSL OR MIT").unknown == frozenset()
    both = c.of_expression("NPSL AND GPL-2.0-only")
    assert (both.category, both.unknown) == ("restricted", {"NPSL"})
    # text that is no expression at all is one unknown name, never an exception
    assert c.of_expression("MIT AND").category == "unknown"
    assert c.of_expression("see LICENSE file").category == "unknown"
    # several licenses of one package: their AND
    assert c.of_licenses(["MIT", "AGPL-3.0-or-later"]).category == "forbidden"


def test_policy_overrides_a_license() -> None:
    c = Categorizer({"AGPL-3.0-or-later": "notice", "NPSL": "restricted"})
    assert c.of_expression("AGPL-3.0-or-later").category == "notice"
    assert c.of_expression("AGPL-3.0-only").category == "forbidden"  # only the id named
    assert c.of_expression("NPSL").category == "restricted"


def test_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("""
[gate]
other = "sections are left to their readers"

[compliance]
banned-categories = ["miner", "debugger"]
allow = ["gdbserver"]
count-extended-support = false

[compliance.licenses]
"LGPL-2.1-only" = "notice"

[compliance.packages]
ghostscript = "Permissive"

[compliance.severity]
unknown = "none"
restricted = "medium"

[[compliance.banned]]
name = "openssl"
versions = ">= 1.0, < 3.0"
reason = "1.1 is out of support"
severity = "critical"

[[compliance.banned]]
name = "telnet"
""")
    policy = load_policy(path)
    assert policy.banned_categories == {"miner", "debugger"}
    assert policy.allow == {"gdbserver"}
    assert policy.count_extended_support is False
    assert policy.licenses == {"LGPL-2.1-only": "notice"}
    assert policy.packages == {"ghostscript": "permissive"}
    assert policy.severities["unknown"] is None
    assert policy.severities["restricted"] == Severity.MEDIUM
    assert policy.severities["forbidden"] == Severity.HIGH  # untouched default
    ssl, telnet = policy.banned
    assert ssl.versions == (Constraint(">=", "1.0"), Constraint("<", "3.0"))
    assert ssl.versions_text == ">= 1.0, < 3.0"
    assert ssl.severity == Severity.CRITICAL
    assert (telnet.versions, telnet.reason, telnet.severity) == ((), "banned by policy",
                                                                 Severity.HIGH)
    kept = {item.name: item for item in banned.active(policy)}
    assert set(kept) == {"xmrig", "cpuminer", "cgminer", "ethminer", "gdb", "strace", "ltrace"}
    assert "gdbserver" not in kept["gdb"].packages and "gdb" in kept["gdb"].packages


def test_default_policy_and_list() -> None:
    policy = CompliancePolicy()
    assert policy.banned_categories == DEFAULT_BANNED_CATEGORIES
    names = {item.name for item in banned.active(policy)}
    assert {"nmap", "netcat", "hydra", "john", "xmrig", "sqlmap", "masscan"} <= names
    assert "gdb" not in names and "gcc" not in names  # only when a policy asks
    assert policy.severities["forbidden"] == Severity.HIGH
    assert policy.severities["restricted"] is None


@pytest.mark.parametrize(("text", "message"), [
    ("[other]\n", "no [compliance] table"),
    ("[compliance]\nbanned-categories = ['nope']\n", "unknown banned-categories nope"),
    ("[compliance]\ntypo = 1\n", "unknown key(s) in [compliance]: typo"),
    ("[compliance.licenses]\nMIT = 'fine'\n", "unknown license category 'fine'"),
    ("[compliance.severity]\nunknown = 'loud'\n", "unknown severity 'loud'"),
    ("[[compliance.banned]]\nreason = 'x'\n", "#1: needs a name"),
    ("[[compliance.banned]]\nname = 'x'\nversions = '>> 2'\n", "cannot read versions '>> 2'"),
    ("[compliance\n", "not valid TOML"),
])
def test_bad_policy_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"p\.toml") as raised:
        load_policy(path)
    assert message in str(raised.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_policy(tmp_path / "absent.toml")


def test_version_order_of_package_types() -> None:
    assert compare_versions("deb", "1.1.1n-0+deb11u5", "3.0") < 0
    assert compare_versions("deb", "1:1.0", "2.0") > 0  # the epoch wins
    assert compare_versions("apk", "3.1.4-r0", "3.1.4-r0") == 0
    assert compare_versions("python", "2.0", "10.0") < 0
    with pytest.raises(ValueError, match="no version order"):
        compare_versions("unknown-type", "1", "2")


def test_shipped_eol_data_names_a_source_for_every_product() -> None:
    table = EolTable.from_document(shipped(EOL), "shipped")
    for name in ("debian", "ubuntu", "alpine", "redhat", "centos", "rocky", "alma", "amazon",
                 "python", "nodejs", "java", "go", "ruby", "php"):
        assert table.products[name].source.startswith("https://"), name
    debian = table.products["debian"]
    buster = debian.cycle_of("10.13")
    assert buster is not None and buster.codename == "buster"
    assert buster.eol == date(2022, 9, 10) and buster.extended == date(2024, 6, 30)
    python = table.products["python"]
    assert python.cycle_of("3.1") is None  # 3.1 is not 3.10 or 3.11
    cycle = python.cycle_of("3.11.2")
    assert cycle is not None and cycle.cycle == "3.11"


def test_judge_counts_extended_support_when_the_policy_does() -> None:
    debian = load_table(None).products["debian"]
    during_lts = date(2023, 1, 1)  # buster: regular support over, LTS on
    verdict = judge(debian, "10", during_lts, count_extended=True)
    assert verdict is not None and verdict.ended is None and verdict.reduced == date(2022, 9, 10)
    verdict = judge(debian, "10", during_lts, count_extended=False)
    assert verdict is not None and verdict.ended == date(2022, 9, 10)
    assert judge(debian, "12", date(2024, 1, 1), count_extended=True) is None
    assert judge(debian, "99", date(2024, 1, 1), count_extended=True) is None


def test_dates_and_versions() -> None:
    assert parse_date("2027-10", "x") == date(2027, 10, 31)
    assert parse_date("2024-02", "x") == date(2024, 2, 29)
    with pytest.raises(ConfigError, match="not YYYY-MM-DD"):
        parse_date("soon", "x")
    with pytest.raises(ConfigError, match="2024-13-01"):
        parse_date("2024-13-01", "x")
    assert upstream("1:18.19.0+dfsg-6~deb12u2") == "18.19.0"
    assert upstream("jdk-17.0.9+9") == "17.0.9"
    assert upstream("devel") is None


def test_refreshed_eol_file_wins_and_a_broken_one_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "eol.json"
    path.write_text(json.dumps({"schema": 1, "products": {"debian": {
        "kind": "os", "source": "https://example.test/debian",
        "cycles": [{"cycle": "12", "eol": "2024-01-01"}]}}}))
    table = load_table(path)
    assert table.origin == str(path)
    assert set(table.products) == {"debian"}
    assert load_table(tmp_path / "absent.json").origin.endswith("data/eol.json")
    path.write_text('{"schema": 1, "products": {"debian": {"kind": "os"}}}')
    with pytest.raises(ConfigError, match="needs a source URL"):
        load_table(path)


def test_releases_older_than_the_table_have_ended() -> None:
    table = load_table(None)
    debian, alpine, python = (table.products[n] for n in ("debian", "alpine", "python"))
    assert debian.predated("6.0.10") is not None
    assert debian.predated("6.0.10").cycle == "7"  # type: ignore[union-attr]
    assert alpine.predated("3.9.6") is not None
    assert alpine.predated("3.100") is None  # newer than the table: nothing known
    assert python.predated("2.6") is not None
    assert debian.predated("bookworm/sid") is None
    verdict = judge(debian, "6.0.10", date(2026, 1, 1), count_extended=True)
    assert verdict is not None and verdict.predates and verdict.ended == date(2018, 5, 31)
    assert judge(debian, "14", date(2026, 1, 1), count_extended=True) is None


def test_the_documented_example_policy_loads(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "analyzers.md").read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "policy.toml"
    path.write_text(block)
    policy = load_policy(path)
    assert "debugger" in policy.banned_categories and policy.allow == {"netcat-openbsd"}
    assert policy.banned[0].versions_text == ">= 1.0, < 3.0"

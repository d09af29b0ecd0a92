"""Policy files: what parses, and errors that name the file, the line and the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from portcullis.errors import PolicyError
from portcullis.model.finding import Severity
from portcullis.policy.load import load_policy, parse_policy

FULL = """\
version: 1
name: production
blocking: false
rules:
  vulnerability:
    - severity: CRITICAL
    - severity: HIGH
      only_fixable: true
    - kev_only: true
    - epss_above: 0.5
  malware: true
  secret: {severity: MEDIUM}
  compliance:
    categories: [forbidden, banned]
  baseline: {severity: HIGH, where: {check: [root-user, ssh-root-login]}}
base_image:
  rules:
    vulnerability: {severity: CRITICAL, only_fixable: true}
suppressions:
  - id: CVE-2023-32681
    package: requests
    reason: proxies are not used
    expires: 2026-12-31
  - path: /opt/test/*
    kind: [secret, sensitive-file]
    image: "registry:*/app:*"
    reason: test fixtures
allow:
  vulnerabilities: [CVE-2019-10744, {id: "GHSA-*", reason: triaged upstream}]
  images: ["registry:127.0.0.1:5000/base/*"]
deny:
  vulnerabilities: [CVE-2021-44228]
compliance:
  allow: [netcat-openbsd]
"""


def test_a_full_policy_parses() -> None:
    policy = parse_policy(FULL, "p.yaml")
    assert policy.name == "production" and policy.blocking is False
    kinds = [(r.kind, r.name) for r in policy.rules]
    assert kinds == [
        ("vulnerability", "rules.vulnerability[0] (p.yaml:6)"),
        ("vulnerability", "rules.vulnerability[1] (p.yaml:7)"),
        ("vulnerability", "rules.vulnerability[2] (p.yaml:9)"),
        ("vulnerability", "rules.vulnerability[3] (p.yaml:10)"),
        ("malware", "rules.malware (p.yaml:11)"),
        ("secret", "rules.secret (p.yaml:12)"),
        ("compliance", "rules.compliance (p.yaml:14)"),
        ("baseline", "rules.baseline (p.yaml:15)"),
    ]
    high = policy.rules[1]
    assert high.severity is Severity.HIGH and high.only_fixable and not high.kev_only
    assert policy.rules[2].kev_only and policy.rules[3].epss_above == 0.5
    assert policy.rules[6].categories == ("forbidden", "banned")
    assert policy.rules[7].where == (("check", ("root-user", "ssh-root-login")),)
    assert policy.base_image == "separate" and policy.base_rules[0].only_fixable
    first, second = policy.suppressions
    assert first.ids == ("CVE-2023-32681",) and first.packages == ("requests",)
    assert first.expires == date(2026, 12, 31) and first.source == "p.yaml:20"
    assert second.kinds == ("secret", "sensitive-file") and second.expires is None
    assert [(e.pattern, e.reason, e.source) for e in policy.allow_vulnerabilities] == [
        ("CVE-2019-10744", None, "p.yaml:29"), ("GHSA-*", "triaged upstream", "p.yaml:29")]
    assert policy.allow_images[0].pattern == "registry:127.0.0.1:5000/base/*"
    assert policy.deny_vulnerabilities[0].pattern == "CVE-2021-44228"
    assert policy.compliance == {"allow": ["netcat-openbsd"]}


def test_the_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("version: 1\nbase_image: ignore\n")
    policy = load_policy(path)
    assert policy.name == "strict" and policy.blocking and policy.base_image == "ignore"
    assert policy.rules == ()


@pytest.mark.parametrize(("text", "message"), [
    ("", "p.yaml:1: the policy is empty"),
    ("name: x\n", "p.yaml:1: missing 'version'"),
    ("# comment\nversion: 2\n", "p.yaml:2: version: unsupported policy version 2"),
    ("- version: 1\n", "p.yaml:1: expected a mapping, got a list"),
    ("version: 1\nrules:\n  virus: true\n", "p.yaml:3: rules.virus: unknown finding kind"),
    ("version: 1\nrules:\n  secret:\n    severity: HUGE\n",
     "p.yaml:4: rules.secret.severity: unknown severity 'HUGE'"),
    ("version: 1\nrules:\n  vulnerability:\n    - severity: HIGH\n    - severty: LOW\n",
     "p.yaml:5: rules.vulnerability[1].severty: unknown key"),
    ("version: 1\nrules:\n  vulnerability: {epss_above: 3}\n",
     "p.yaml:3: rules.vulnerability.epss_above: an EPSS probability is 0 to 1, got 3"),
    ("version: 1\nrules:\n  vulnerability: {only_fixable: yes please}\n",
     "p.yaml:3: rules.vulnerability.only_fixable: expected true or false, got a string"),
    ("version: 1\nsuppressions:\n  - id: CVE-1\n    expires: 2026-01-01\n",
     "p.yaml:3: suppressions[0]: a suppression needs a reason"),
    ("version: 1\nsuppressions:\n  - id: CVE-1\n    reason: ok\n    expires: soon\n",
     "p.yaml:5: suppressions[0].expires: expected a date (YYYY-MM-DD), got 'soon'"),
    ("version: 1\nsuppressions:\n  - image: app\n    reason: ok\n",
     "p.yaml:3: suppressions[0]: a suppression must name what it suppresses"),
    ("version: 1\nblocking: true\nblocking: false\n", "p.yaml:3: duplicate key 'blocking'"),
    ("version: 1\nrules: [\n", "p.yaml:3: not valid YAML"),
    ("version: 1\nbase_image: sometimes\n", "p.yaml:2: base_image: expected one of same"),
    ("version: 1\nallow:\n  images:\n    - {id: x}\n",
     "p.yaml:4: allow.images[0]: expected a string or a mapping with 'image'"),
    ("version: 1\nrules: &loop\n  any: *loop\n", "p.yaml:2: nested deeper than 64"),
    ("version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
     "p.yaml:2: more than 100000 values"),
])
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_an_unreadable_policy_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read policy .*missing.yaml"):
        load_policy(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\n\xff\xfe")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(binary)

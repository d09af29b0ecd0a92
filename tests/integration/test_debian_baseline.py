"""Baseline checks on the real Debian bookworm test image (minbase + apps): its defaults are
not unsafe settings. Every check's outcome on it is pinned, so a false positive (or a check
that stops looking) shows up here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.images.debian import DebianImage

pytestmark = pytest.mark.slow

# Each check's status on the Debian image, and why.
EXPECTED = {
    # USER 1000, HEALTHCHECK, `ADD rootfs.tar /` (an archive), apt lists cleaned in the
    # install RUN, EXPOSE 8080 only, PATH the only ENV.
    "docker-root-user": "passed",
    "docker-no-healthcheck": "passed",
    "docker-add-instead-of-copy": "passed",
    "docker-add-remote-url": "passed",
    "docker-apt-update-alone": "passed",  # update and install in one RUN
    "docker-dist-upgrade": "passed",
    "docker-package-cache": "passed",
    "docker-apk-add-cache": "passed",
    "docker-sudo-in-run": "passed",
    "docker-secret-in-env": "passed",
    "docker-sensitive-port": "passed",
    "docker-system-volume": "passed",
    "docker-pipe-to-shell": "passed",
    "docker-chmod-777": "passed",
    "docker-latest-tag": "passed",
    "docker-oci-labels": "failed",  # title only: no source or version label (LOW)
    # Debian's accounts are all locked (`*`): nothing to crack, no weak hash.
    "accounts-empty-password": "passed",
    "accounts-uid0": "passed",
    "accounts-duplicate-name": "passed",
    "accounts-duplicate-uid": "passed",
    "accounts-duplicate-gid": "passed",
    "accounts-legacy-plus": "passed",
    "accounts-missing-group": "passed",
    "accounts-weak-hash": "not-applicable",
    "accounts-weak-password": "not-applicable",
    "accounts-password-future": "passed",
    # Ageing and complexity rules matter only when some account can log in with a password.
    "accounts-no-expiry": "not-applicable",
    "policy-max-days": "not-applicable",
    "policy-min-length": "not-applicable",
    "policy-char-classes": "not-applicable",
    # minbase has no openssh-server and no sudo.
    "ssh-permit-root-login": "not-applicable",
    "ssh-password-authentication": "not-applicable",
    "ssh-permit-empty-passwords": "not-applicable",
    "ssh-protocol-1": "not-applicable",
    "ssh-weak-ciphers": "not-applicable",
    "ssh-weak-macs": "not-applicable",
    "ssh-host-keys": "not-applicable",
    "sudo-nopasswd-all": "not-applicable",
    "privileged-group-members": "passed",  # Debian's sudo/adm/disk groups have no members
    "path-world-writable": "passed",
    "cron-writable": "passed",  # /etc/cron.daily/apt-compat and dpkg are 0755 root
    "setuid-shell": "passed",
}


@pytest.fixture(scope="module")
def report(debian: DebianImage) -> dict[str, Any]:
    result = run_cli("scan", debian.oci_ref, "--scanners", "baseline", "--format", "json",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_every_check_outcome_on_debian(report: dict[str, Any]) -> None:
    statuses = {c["id"]: c["status"] for b in report["baselines"] for c in b["checks"]}
    assert statuses == EXPECTED


def test_no_high_os_findings_on_debian(report: dict[str, Any]) -> None:
    findings = [f for f in report["findings"] if f["kind"] == "baseline"]
    assert [(f["id"], f["severity"]) for f in findings] == [("docker-oci-labels", "LOW")]
    assert not [w for w in report["warnings"] if w["analyzer"] == "baseline"]
    assert report["scanners"]["baseline"]["status"] == "ok"

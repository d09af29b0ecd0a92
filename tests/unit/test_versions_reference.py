"""The hand-written schemes against the tools they imitate.

dpkg: live, against ``dpkg --compare-versions`` on generated versions (dpkg is installed by
scripts/test). Maven: against the comparisons maven-artifact 3.8.7's ``ComparableVersion``
printed (``java -cp maven-artifact-3.x.jar org.apache.maven.artifact.versioning.
ComparableVersion V1 V2 ...`` from Debian's maven 3.8.7 package), recorded below because a
JVM is not part of the test machine's setup.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, assume, given, settings

from portcullis.vulndb.versions import InvalidVersion, scheme_for
from tests.property.version_strings import dpkg as dpkg_versions

MAVEN_3_8_7 = [
    ('1SNAPSHOTSNAPSHOTfinalsp', '>', '0final'), ('0final', '<', '1foo-10SNAPSHOTbeta'),
    ('1foo-10SNAPSHOTbeta', '>', '0'), ('0', '<', '2jre1foorcSNAPSHOT'),
    ('2jre1foorcSNAPSHOT', '>', '2foojre-foo0'), ('2foojre-foo0', '>', '2'), ('2', '>', '0'),
    ('0', '<', '0foo'), ('0foo', '<', '0mSNAPSHOTsp'), ('0mSNAPSHOTsp', '>', '0ajrebetaga'),
    ('0ajrebetaga', '<', '02SNAPSHOTjrebcr'), ('02SNAPSHOTjrebcr', '>', '2'), ('2', '<', '2ma'),
    ('2ma', '<', '202'), ('202', '>', '2'), ('2', '>', '1'), ('1', '<', '120.0'),
    ('120.0', '>', '0alpha'), ('0alpha', '<', '0rc-0rc'), ('0rc-0rc', '<', '1'),
    ('1', '<', '2alpha.0bm2'), ('2alpha.0bm2', '<', '10cr'), ('10cr', '>', '0a'), ('0a', '<', '2'),
    ('2', '>', '0'), ('0', '<', '1-.0release'), ('1-.0release', '>', '0finalalpha-1'),
    ('0finalalpha-1', '<', '0jrerc10'), ('0jrerc10', '<', '1alpha0b'),
    ('1alpha0b', '<', '20alpha'), ('20alpha', '>', '0foojresp'), ('0foojresp', '>', '0'),
    ('0', '>', '0SNAPSHOT'), ('0SNAPSHOT', '<', '1'), ('1', '<', '2betarc'), ('2betarc', '>', '0'),
    ('0', '<', '0sp'), ('0sp', '<', '20'), ('20', '>', '2milestonefoo'),
    ('2milestonefoo', '>', '1sp'), ('1sp', '>', '1.rc-jre'), ('1.rc-jre', '>', '0afoo'),
    ('0afoo', '>', '0alpha--1jrerelease'), ('0alpha--1jrerelease', '<', '0rcgafoo2cr'),
    ('0rcgafoo2cr', '>', '0'), ('0', '==', '0'), ('0', '<', '2a-1'), ('2a-1', '<', '2bcrfoo'),
    ('2bcrfoo', '>', '1final-'), ('1final-', '<', '2'), ('2', '>', '0ga'),
    ('0ga', '<', '2foofoo2balpha'), ('2foofoo2balpha', '>', '002bcrSNAPSHOT'),
    ('002bcrSNAPSHOT', '>', '0'), ('0', '>', '0beta'), ('0beta', '<', '1sp.2milestone'),
    ('1sp.2milestone', '>', '0m.0-1'), ('0m.0-1', '<', '2sp.sp1'),
    ('2sp.sp1', '>', '0milestone-0beta'), ('0milestone-0beta', '<', '0'),
    ('0', '<', '22ga2-1beta'), ('22ga2-1beta', '>', '12'), ('12', '>', '0releasemilestone-1'),
    ('0releasemilestone-1', '<', '0-1-0.mmilestone'), ('0-1-0.mmilestone', '>', '0ga2cr0ga'),
    ('0ga2cr0ga', '<', '2'), ('2', '<', '2rcrcsp0foo'), ('2rcrcsp0foo', '>', '0'),
    ('0', '<', '010bcr-1m'), ('010bcr-1m', '>', '1-0spSNAPSHOTSNAPSHOTSNAPSHOT'),
    ('1-0spSNAPSHOTSNAPSHOTSNAPSHOT', '<', '2'), ('2', '<', '20betafoo2'),
    ('20betafoo2', '>', '1'), ('1', '<', '010gafoo.0ga'), ('010gafoo.0ga', '>', '1'),
    ('1', '==', '1..0'), ('1..0', '<', '2final'), ('2final', '>', '0.0SNAPSHOT'),
    ('0.0SNAPSHOT', '<', '1m'), ('1m', '>', '1balphajrecralpha'),
    ('1balphajrecralpha', '>', '0aspm'), ('0aspm', '>', '0.'), ('0.', '<', '11-0'),
    ('11-0', '>', '0-10'), ('0-10', '<', '1balphacr'), ('1balphacr', '<', '1finalga.0m-0'),
    ('1finalga.0m-0', '<', '2m21'), ('2m21', '<', '11.0-0b'), ('11.0-0b', '>', '2betajre'),
    ('2betajre', '>', '2'), ('2', '>', '2rc'), ('2rc', '<', '10'), ('10', '>', '1.'),
    ('1.', '<', '010SNAPSHOT10jrerelease'),
    ('010SNAPSHOT10jrerelease', '>', '2milestone2.0alphaalpha'),
    ('2milestone2.0alphaalpha', '>', '1--0'), ('1--0', '>', '0release-01'),
    ('0release-01', '>', '0b'), ('0b', '<', '1-0finalfinalfoo'),
]


def _dpkg_says(a: str, b: str) -> int:
    def holds(op: str) -> bool:
        run = subprocess.run(["dpkg", "--compare-versions", a, op, b], capture_output=True,
                             check=False)
        return run.returncode == 0
    return -1 if holds("lt") else 0 if holds("eq") else 1


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(dpkg_versions, dpkg_versions)
def test_dpkg_scheme_agrees_with_dpkg(a: str, b: str) -> None:
    scheme = scheme_for("Debian")
    try:
        ka, kb = scheme.key(a), scheme.key(b)
    except InvalidVersion:
        assume(False)
        return
    mine = (ka > kb) - (ka < kb)
    assert mine == _dpkg_says(a, b), (a, b)


@pytest.mark.parametrize("version", ["1.0-", "a:1.0", "1:"])
def test_dpkg_refuses_what_dpkg_refuses(version: str) -> None:
    with pytest.raises(InvalidVersion):
        scheme_for("Debian").key(version)
    if shutil.which("dpkg"):
        run = subprocess.run(["dpkg", "--compare-versions", version, "eq", "1.0"],
                             capture_output=True, check=False)
        assert run.returncode != 0 and run.stderr


@pytest.mark.parametrize(("a", "op", "b"), MAVEN_3_8_7)
def test_maven_scheme_agrees_with_maven_artifact(a: str, op: str, b: str) -> None:
    scheme = scheme_for("Maven")
    ka, kb = scheme.key(a), scheme.key(b)
    mine = "<" if ka < kb else "==" if ka == kb else ">"
    assert mine == op

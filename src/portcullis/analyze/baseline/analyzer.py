"""The ``baseline`` analyzer: runs every check on the squashed view and the image config,
makes a finding per failed place and the per-baseline pass/fail counts."""

from __future__ import annotations

import logging
from typing import ClassVar

from portcullis.analyze.base import STAGE_CHECKS, AnalysisContext, AnalysisResult, AnalyzerSpec
from portcullis.analyze.base_catalog import load_catalog
from portcullis.analyze.base_image import identify
from portcullis.analyze.baseline import accounts, image_config, privileges, ssh, weak_password
from portcullis.analyze.baseline.checks import Hit, Outcome, Rule, finding, summarize
from portcullis.analyze.baseline.subject import Subject
from portcullis.errors import ConfigError
from portcullis.layers.view import Filesystem
from portcullis.model.finding import Warning

log = logging.getLogger(__name__)

RULES: tuple[Rule, ...] = (*image_config.rules.rules, *accounts.rules.rules,
                           *weak_password.rules.rules, *ssh.rules.rules,
                           *privileges.rules.rules)


class Baseline:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="baseline",
        version=1,
        scanners=frozenset({"baseline"}),
        paths=("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/login.defs",
               "/etc/security/pwquality.conf", "/etc/ssh/sshd_config",
               "/etc/ssh/sshd_config.d/*", "/etc/sudoers", "/etc/sudoers.d/*"),
        stage=STAGE_CHECKS,
    )

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        subject = Subject(fs=fs, ctx=ctx, base_last_layer=_base_last_layer(ctx))
        result = AnalysisResult()
        outcomes = []
        for rule in RULES:
            hits = self._run(rule, subject, result)
            outcomes.append(Outcome(check=rule.check, hits=hits))
            result.findings.extend(finding(rule.check, hit) for hit in hits or ())
        result.warnings.extend(subject.warnings)
        result.baselines.extend(summarize(outcomes))
        return result

    def _run(self, rule: Rule, subject: Subject, result: AnalysisResult) -> list[Hit] | None:
        """One check's failure is a warning and that check not applicable; the others run."""
        try:
            return rule.run(subject)
        except Exception as e:
            log.debug("check %s crashed", rule.check.id, exc_info=True)
            result.warnings.append(Warning(message=f"check {rule.check.id} failed: {e!r}",
                                           analyzer=self.spec.name))
            return None


def _base_last_layer(ctx: AnalysisContext) -> int | None:
    """The base image's last layer, found as the base-image analyzer finds it."""
    try:
        catalog = load_catalog()
    except ConfigError:
        catalog = []  # the base-image analyzer reports the broken catalog
    found = identify(ctx, catalog)
    return found.last_layer if found else None

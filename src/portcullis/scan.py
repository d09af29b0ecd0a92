"""The Scanner façade: resolve → engine → (match) → policy → Report."""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from portcullis import __version__
from portcullis.analyze.base import SCANNERS, AnalysisResult, expand_scanners
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.engine import EngineOptions, EngineResult, run
from portcullis.errors import ConfigError
from portcullis.layers.view import SquashedView
from portcullis.model.finding import Finding, Severity
from portcullis.model.image import ImageInfo
from portcullis.model.report import FileStats, Report, ScannerResult, Verdict, Violation
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image

log = logging.getLogger(__name__)

LARGEST_FILES = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    scanners: frozenset[str] = frozenset(SCANNERS)
    source: SourceOptions = field(default_factory=SourceOptions)
    fail_on: Severity | None = None
    verify_diff_ids: bool = True
    now: datetime | None = None


def parse_scanners(text: str) -> frozenset[str]:
    """``vuln,secret`` → names; ``all`` or "" → every scanner; ``none`` → only the layer read."""
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    if not names or names == {"all"}:
        return frozenset(SCANNERS)
    if names == {"none"}:
        return frozenset()
    unknown = names - set(SCANNERS)
    if unknown:
        raise ConfigError(
            f"unknown scanner(s): {', '.join(sorted(unknown))} (known: {', '.join(SCANNERS)})"
        )
    return frozenset(names)


def _selected_analyzers(scanners: frozenset[str]) -> list[object]:
    out: list[object] = []
    scanners = expand_scanners(scanners)
    for cls in analyzer_classes():
        serves: frozenset[str] = cls.spec.scanners  # type: ignore[attr-defined]
        if not serves or serves & scanners:
            out.append(cls())
    return out


def scan(reference: str, options: ScanOptions | None = None) -> Report:
    options = options or ScanOptions()
    now = options.now or datetime.now().astimezone()
    with options.source.make_temp_dir(prefix="portcullis-scan-") as tmp:
        # Everything the scan spools (inflated archives, captured files) lives below tmp.
        source = replace(options.source, temp_dir=Path(tmp))
        with open_image(reference, source) as image:
            engine = run(
                image,
                _selected_analyzers(options.scanners),
                EngineOptions(limits=source.limits, verify_diff_ids=options.verify_diff_ids,
                              temp_dir=tmp, progress=source.progress, now=now),
            )
            info = image.info
        try:
            return _report(info, engine, options, now)
        finally:
            engine.view.close()


def _file_stats(view: SquashedView, result: AnalysisResult) -> FileStats:
    """Totals over the visible files; per-layer and wasted totals come from the "files"
    analyzer when it ran."""
    count = 0
    total = 0
    sizes: list[tuple[int, str, int]] = []
    for entry in view.walk():
        if not entry.meta.is_file:
            continue
        count += 1
        total += entry.meta.size
        item = (entry.meta.size, entry.path, entry.layer)
        if len(sizes) < LARGEST_FILES:
            heapq.heappush(sizes, item)
        else:
            heapq.heappushpop(sizes, item)
    largest = tuple((p, s, layer) for s, p, layer in sorted(sizes, key=lambda t: (-t[0], t[1])))
    return FileStats(count=count, total_size=total, largest=largest,
                     per_layer=result.layer_totals or (),
                     wasted_bytes=result.wasted_bytes or 0)


def _statuses(engine: EngineResult, requested: frozenset[str]) -> dict[str, ScannerResult]:
    out: dict[str, ScannerResult] = {}
    for name in SCANNERS:
        if name not in requested:
            out[name] = ScannerResult(status="skipped", message="not requested")
            continue
        status = engine.statuses.get(name)
        if status is None:
            out[name] = ScannerResult(status="skipped",
                                      message="not available in this version of portcullis")
        else:
            out[name] = ScannerResult(status=status.status, message=status.message,
                                      seconds=status.seconds)
    return out


def evaluate(findings: list[Finding], fail_on: Severity | None) -> Verdict:
    if fail_on is None:
        return Verdict(passed=True, policy="fail-on none")
    violations = tuple(
        Violation(fingerprint=f.fingerprint,
                  reason=f"{f.severity.name} {f.kind} {f.id} is at or above {fail_on.name}")
        for f in sorted(findings, key=Finding.sort_key) if f.severity >= fail_on
    )
    return Verdict(passed=not violations, policy=f"fail-on {fail_on.name}",
                   violations=violations)


def _report(info: ImageInfo, engine: EngineResult, options: ScanOptions,
            now: datetime) -> Report:
    result = engine.result
    return Report(
        tool_version=__version__,
        created_at=now,
        image=info,
        distro=result.distro,
        packages=tuple(result.packages),
        findings=tuple(result.findings),
        warnings=tuple(result.warnings),
        files=_file_stats(engine.view, result),
        scanners=_statuses(engine, options.scanners),
        base_image=result.base_image,
        verdict=evaluate(result.findings, options.fail_on),
    )

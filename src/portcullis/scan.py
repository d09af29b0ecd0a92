"""The Scanner façade: resolve → engine → (match) → policy → Report."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from portcullis import __version__
from portcullis.analyze.base import (
    SCANNERS,
    AnalysisResult,
    AnalyzerSettings,
    CheckSettings,
    expand_scanners,
)
from portcullis.analyze.blob_hashes import HashAhead
from portcullis.analyze.caps import cap_warnings
from portcullis.analyze.malware.settings import MalwareSettings
from portcullis.errors import ConfigError, VulnDBError
from portcullis.model.finding import Severity, Warning
from portcullis.model.image import ImageConfig, ImageInfo
from portcullis.model.report import Report, ScannerResult
from portcullis.policy.verdict import Gate, apply_gate
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image

# The engine, the analyzers and the secret rules are imported inside scan(), once the image
# is open and its blobs are being hashed (HashAhead): those imports then overlap the ~70 ms
# of hashing a rescan must do before it can use the layer cache.
if TYPE_CHECKING:
    from portcullis.analyze.engine import EngineResult
    from portcullis.analyze.layer_cache import LayerCache
    from portcullis.model.blob import Image
    from portcullis.model.compliance import CompliancePolicy, ComplianceSettings
    from portcullis.vulndb.match_cache import CachedMatch
    from portcullis.vulndb.store import VulnStore

log = logging.getLogger(__name__)

# sbom_input.SCHEME: the SBOM reader (its typed records) is imported only for an SBOM.
SBOM_SCHEME = "sbom:"


class ScanOptions(msgspec.Struct, frozen=True, kw_only=True):
    scanners: frozenset[str] = frozenset(SCANNERS)
    source: SourceOptions = msgspec.field(default_factory=SourceOptions)
    fail_on: Severity | None = None
    gate: Gate | None = None  # policy, VEX, baseline; None: only fail_on
    verify_diff_ids: bool = True
    now: datetime | None = None
    db: Path | None = None  # the vulnerability database (default: vulndb.location.default_db_path)
    db_max_age: timedelta = timedelta(days=7)  # an older database is named in a warning
    checks: CheckSettings = msgspec.field(default_factory=CheckSettings)  # baseline check settings
    compliance: CompliancePolicy | None = None  # None: the default policy
    malware: MalwareSettings = msgspec.field(default_factory=MalwareSettings)
    secret_config: Path | None = None  # extra secret rules and allow rules (TOML)
    cache_dir: Path | None = None  # the layer cache (portcullis.cache); None: no cache
    cache_max_bytes: int | None = None  # its size bound (default: cache.DEFAULT_MAX_BYTES)
    workers: int = 1  # processes analysing layers at once (the CLI: default_workers())
    # Called once the engine, the analyzers and their rules are loaded, before any layer is
    # read: the CLI ends its start-up pause of the garbage collector there (cli/main.py).
    on_loaded: Callable[[], None] | None = None


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
    from portcullis.analyze.discovery import analyzer_classes

    out: list[object] = []
    scanners = expand_scanners(scanners)
    for cls in analyzer_classes(scanners):  # imports only the packages these scanners need
        serves: frozenset[str] = cls.spec.scanners  # type: ignore[attr-defined]
        if not serves or serves & scanners:
            out.append(cls())
    return out


def scan(reference: str, options: ScanOptions | None = None) -> Report:
    options = options or ScanOptions()
    now = options.now or datetime.now().astimezone()
    if reference.startswith(SBOM_SCHEME):
        return _scan_sbom(reference, options, now)
    with options.source.make_temp_dir(prefix="portcullis-scan-") as tmp:
        # Everything the scan spools (inflated archives, captured files) lives below tmp.
        source = replace(options.source, temp_dir=Path(tmp))
        with open_image(reference, source) as image:
            cache, unusable = _layer_cache(options)
            # A cached layer is served only for a blob hashed in this scan: begin hashing now,
            # while the engine and the analyzers are imported and their rules loaded.
            ahead = HashAhead.start(image, source.progress) \
                if cache is not None and image.info.source != "dir" else None
            try:
                engine, info = _analyze(image, options, source, tmp, now, cache, ahead)
            finally:
                if ahead is not None:
                    ahead.stop()
            if unusable is not None:
                engine.result.warnings.append(unusable)
        try:
            vuln, db = _vulnerabilities(engine.result, options, now, cache)
            return _judge(replace(_report(info, engine, options, now, vuln), db=db), options,
                          now)
        finally:
            engine.close()


def _analyze(image: Image, options: ScanOptions, source: SourceOptions, tmp: str,
             now: datetime, cache: LayerCache | None,
             ahead: HashAhead | None) -> tuple[EngineResult, ImageInfo]:
    """The engine over the open image, and the image's description with secrets masked."""
    with _collector_paused():
        from portcullis.analyze.engine import EngineOptions, run
        from portcullis.analyze.secrets.image_config import redact_image
        from portcullis.analyze.secrets.matcher import matcher as secret_matcher

        # Loaded (and checked: a bad file is a ConfigError) before any layer is read; it also
        # masks secrets in the report's copy of the image config, whichever scanners run.
        secrets = secret_matcher(options.secret_config)
        analyzers = _selected_analyzers(options.scanners)
    if options.on_loaded is not None:
        options.on_loaded()
    engine = run(
        image,
        analyzers,
        EngineOptions(limits=source.limits, verify_diff_ids=options.verify_diff_ids,
                      temp_dir=tmp, progress=source.progress, now=now,
                      checks=options.checks, compliance=_compliance(options),
                      malware=_malware(options, cache),
                      settings=AnalyzerSettings(secret_config=options.secret_config),
                      cache=cache, workers=options.workers, hashes=ahead),
    )
    return engine, redact_image(image.info, secrets)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while modules, analyzers and rules load: they make
    thousands of objects that live as long as the process and no garbage, which the collector
    would only walk again and again (~40 collections, ~10 ms of a rescan). The CLI keeps it
    off from its start to ``on_loaded`` and freezes what was made by then."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _layer_cache(options: ScanOptions) -> tuple[LayerCache | None, Warning | None]:
    """The layer cache, or why there is none: a cache folder that cannot be made (a read-only
    home in a CI container) costs speed, not the scan."""
    if options.cache_dir is None:
        return None, None
    from portcullis.cache import DEFAULT_MAX_BYTES, LayerCacheDir

    try:
        return LayerCacheDir(options.cache_dir,
                             options.cache_max_bytes or DEFAULT_MAX_BYTES), None
    except ConfigError as e:
        return None, Warning(message=f"{e}; scanned without the layer cache")


def _malware(options: ScanOptions, cache: LayerCache | None) -> MalwareSettings:
    """The malware settings, with the layer cache's folder for compiled rule sets (none
    without a cache: ``--no-cache`` writes nothing)."""
    if cache is None:
        return options.malware
    from portcullis.cache import LayerCacheDir

    if not isinstance(cache, LayerCacheDir):
        return options.malware
    return replace(options.malware, compiled_rules=cache.compiled_rules)


def _scan_sbom(reference: str, options: ScanOptions, now: datetime) -> Report:
    """An SBOM instead of an image: its packages against today's database. No layers, so
    every scanner but ``vuln`` (and ``packages``, the list as read) is not applicable."""
    from portcullis.sbom_input import read_sbom

    if options.on_loaded is not None:
        options.on_loaded()
    inventory = read_sbom(Path(reference.removeprefix(SBOM_SCHEME)))
    result = AnalysisResult(packages=list(inventory.packages), distro=inventory.distro)
    vuln, db = _vulnerabilities(result, options, now)
    scanners: dict[str, ScannerResult] = {}
    requested = expand_scanners(options.scanners)
    for name in SCANNERS:
        if name not in requested:
            scanners[name] = ScannerResult(status="skipped", message="not requested")
        elif name == "vuln" and vuln is not None:
            scanners[name] = vuln
        elif name == "packages":  # the list as read
            scanners[name] = ScannerResult(status="ok")
        else:
            scanners[name] = ScannerResult(status="skipped",
                                           message="not applicable to an SBOM")
    info = ImageInfo(reference=reference, source="sbom", manifest_digest=None,
                     config_digest=None, config=ImageConfig(), layers=())
    return _judge(Report(
        tool_version=__version__, created_at=now, image=info, distro=result.distro,
        packages=tuple(result.packages), findings=tuple(result.findings),
        warnings=tuple(result.warnings), scanners=scanners, db=db,
    ), options, now)


def _compliance(options: ScanOptions) -> ComplianceSettings | None:
    """The policy, where ``db update --eol-source`` left newer end-of-life dates (beside the
    database), and the version order of package ecosystems for the policy's version ranges."""
    if "compliance" not in options.scanners:
        return None
    from portcullis.model.compliance import CompliancePolicy, ComplianceSettings
    from portcullis.vulndb.eol import eol_path
    from portcullis.vulndb.location import default_db_path

    return ComplianceSettings(policy=options.compliance or CompliancePolicy(),
                              eol_file=eol_path(options.db or default_db_path()),
                              version_order=_compare_versions)


def _compare_versions(package_type: str, a: str, b: str) -> int:
    """``vulndb.order.compare_versions``, imported on first use: every version scheme comes
    with it, and only a banned-software rule with a version range that meets its package
    needs one."""
    from portcullis.vulndb.order import compare_versions

    return compare_versions(package_type, a, b)


def _vulnerabilities(result: AnalysisResult, options: ScanOptions, now: datetime,
                     cache: LayerCache | None = None,
                     ) -> tuple[ScannerResult | None, dict[str, Any] | None]:
    """The match stage: the final inventory against the vulnerability database. A missing or
    unreadable database fails the ``vuln`` scanner (and says why); it never ends the scan.
    Also returns the report's ``db`` object: which database answered, and how old it is.
    With a layer cache, an earlier answer for the same packages and database is reused
    (vulndb/match_cache.py)."""
    if "vuln" not in options.scanners:
        return None, None
    # Imported here: a scan without the vuln scanner does not pay for the matcher's imports.
    from portcullis.vulndb.location import default_db_path
    from portcullis.vulndb.store import VulnStore

    started = time.perf_counter()
    path = options.db or default_db_path()
    try:
        with VulnStore(path) as store:
            meta = store.meta()
            found = _match(result, store, path, cache)
    except VulnDBError as e:
        result.warnings.append(Warning(message=str(e), analyzer="vuln"))
        return ScannerResult(status="failed", message=str(e),
                             seconds=time.perf_counter() - started), None
    result.findings.extend(found.findings)
    result.warnings.extend(cap_warnings(found.warnings))
    stale = _stale(meta.built_at, now, options.db_max_age)
    if stale is not None:
        result.warnings.append(Warning(
            message=f"the vulnerability database at {path} was built {stale} days ago "
                    f"(older than {options.db_max_age.days} days): run `portcullis db update`",
            analyzer="vuln"))
    db = {"path": str(path), "built_at": meta.built_at, "schema": meta.schema,
          "sources": sorted({s.url for s in meta.sources}), "age_days": stale}
    return ScannerResult(status="ok", seconds=time.perf_counter() - started), db


def _match(result: AnalysisResult, store: VulnStore, path: Path,
           cache: LayerCache | None) -> CachedMatch:
    from portcullis.cache import LayerCacheDir
    from portcullis.vulndb.match_cache import CachedMatch, match_key

    where = cache if isinstance(cache, LayerCacheDir) else None
    key = match_key(path, store.meta(), result.packages, result.distro) \
        if where is not None else None
    if where is not None and key is not None:
        kept = where.get_match(key)
        if kept is not None:
            log.debug("vulnerability matches reused from the layer cache")
            return kept
    from portcullis.vulndb.match import match_packages  # the matcher's imports: ~20 ms

    found = match_packages(result.packages, result.distro, store)
    answer = CachedMatch(findings=found.findings, warnings=found.warnings)
    if where is not None and key is not None:
        where.put_match(key, answer)
    return answer


def _stale(built_at: str, now: datetime, most: timedelta) -> int | None:
    """Whole days since ``built_at`` when that is more than ``most``, else None."""
    # fromisoformat, not strptime: strptime imports and compiles its format regexes (~5 ms).
    if len(built_at) != 20 or built_at[10] != "T" or not built_at.endswith("Z"):
        return None
    try:
        built = datetime.fromisoformat(built_at[:-1]).replace(tzinfo=UTC)
    except ValueError:
        return None
    age = now - built
    return age.days if age > most else None


def _statuses(engine: EngineResult, requested: frozenset[str],
              vuln: ScannerResult | None) -> dict[str, ScannerResult]:
    out: dict[str, ScannerResult] = {}
    for name in SCANNERS:
        if name not in requested:
            out[name] = ScannerResult(status="skipped", message="not requested")
            continue
        if name == "vuln" and vuln is not None:
            out[name] = vuln
            continue
        status = engine.statuses.get(name)
        if status is None:
            out[name] = ScannerResult(status="skipped",
                                      message="not available in this version of portcullis")
        else:
            out[name] = ScannerResult(status=status.status, message=status.message,
                                      seconds=status.seconds)
    return out


def _judge(report: Report, options: ScanOptions, now: datetime) -> Report:
    """The gate over the finished report: marks, violations, the verdict (policy/)."""
    gate = options.gate or Gate()
    if options.fail_on is not None and gate.fail_on is None:
        gate = replace(gate, fail_on=options.fail_on)
    return apply_gate(report, gate, now.date())


def _report(info: ImageInfo, engine: EngineResult, options: ScanOptions,
            now: datetime, vuln: ScannerResult | None) -> Report:
    result = engine.result
    return Report(
        tool_version=__version__,
        created_at=now,
        image=info,
        distro=(replace(result.distro, eol=result.os_eol)
                if result.distro is not None and result.os_eol is not None else result.distro),
        packages=tuple(result.packages),
        findings=tuple(result.findings),
        warnings=tuple(result.warnings),
        files=engine.files,
        scanners=_statuses(engine, options.scanners, vuln),
        base_image=result.base_image,
        baselines=tuple(result.baselines),
    )

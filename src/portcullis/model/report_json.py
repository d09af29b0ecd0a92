"""A Report rebuilt from its JSON form (CONTRACT.md §5): the inverse of ``Report.to_dict()``.

The console stores the JSON reports pipelines upload and writes them again in other formats
(SARIF, CycloneDX, SPDX, HTML, ...) from this. ``read_report(r.to_dict()).to_dict()`` equals
``r.to_dict()``. What the JSON does not carry cannot come back: a package's ``found_by``,
``source_version``, ``properties`` and locations after the first, the distro's source file and
layer, the image's annotations and config history. The SBOM writers print some of these, so
their output from a stored report lacks those details (docs/console.md).

The documents were validated against docs/report.schema.json when they were stored; a field of
the wrong shape here is still a one-line ``DocumentError`` naming it, never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portcullis.errors import DocumentError
from portcullis.model.baseline import BaselineResult, CheckResult
from portcullis.model.distro import Distro
from portcullis.model.files import Location
from portcullis.model.finding import Finding, Severity, Warning
from portcullis.model.image import ImageConfig, ImageInfo, LayerRef
from portcullis.model.package import Package
from portcullis.model.report import (
    BaseImageInfo,
    ExpiredSuppression,
    FileStats,
    LayerTotals,
    Mark,
    Report,
    ScannerResult,
    Suppression,
    Verdict,
    Violation,
)

# Keys finding_dict() writes around a finding's own extra fields.
_FINDING_FIELDS = ("kind", "id", "fingerprint", "severity", "title", "path", "line", "layer",
                   "visible", "from_base_image", "suppressed", "new")


def read_report(doc: dict[str, Any], where: str = "report") -> Report:
    """The Report whose ``to_dict()`` is ``doc``."""
    try:
        return _report(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DocumentError(f"{where}: not a Portcullis JSON report ({_what(e)})") from e


def _what(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _report(doc: dict[str, Any]) -> Report:
    artifact = doc["artifact"]
    findings, marks = _findings(doc.get("findings") or [])
    return Report(
        tool_version=str(doc["tool"]["version"]),
        created_at=datetime.strptime(doc["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        image=_image(artifact),
        distro=_distro(artifact.get("os")),
        packages=tuple(_package(p) for p in doc.get("packages") or []),
        findings=findings,
        warnings=tuple(Warning(message=w["message"], path=w.get("path"), layer=w.get("layer"),
                               analyzer=w.get("analyzer")) for w in doc.get("warnings") or []),
        files=_files(doc.get("files") or {}),
        scanners={name: ScannerResult(status=s["status"], message=s.get("message"),
                                      seconds=float(s.get("seconds") or 0.0))
                  for name, s in (doc.get("scanners") or {}).items()},
        base_image=BaseImageInfo(**doc["base_image"]) if doc.get("base_image") else None,
        baselines=tuple(_baseline(b) for b in doc.get("baselines") or []),
        db=doc.get("db"),
        verdict=_verdict(doc["verdict"]),
        marks=marks,
    )


def _image(artifact: dict[str, Any]) -> ImageInfo:
    platform = artifact.get("platform") or {}
    config = artifact.get("config") or {}
    layers = tuple(LayerRef(index=layer["index"], diff_id=layer["diff_id"],
                            digest=layer.get("digest"), size=layer.get("size"),
                            created_by=layer.get("created_by") or "")
                   for layer in artifact.get("layers") or [])
    return ImageInfo(
        reference=artifact["reference"],
        source=artifact["source"],
        manifest_digest=artifact.get("manifest_digest"),
        config_digest=artifact.get("config_digest"),
        config=ImageConfig(
            user=config.get("user") or "",
            env=tuple(config.get("env") or ()),
            entrypoint=tuple(config.get("entrypoint") or ()),
            cmd=tuple(config.get("cmd") or ()),
            exposed_ports=tuple(config.get("exposed_ports") or ()),
            labels=dict(config.get("labels") or {}),
            healthcheck=config.get("healthcheck"),
            working_dir=config.get("working_dir") or "",
            os=platform.get("os") or "linux",
            architecture=platform.get("architecture") or "amd64",
            variant=platform.get("variant"),
            diff_ids=tuple(layer.diff_id for layer in layers),
        ),
        layers=layers,
        repo_tags=tuple(artifact.get("repo_tags") or ()),
    )


def _distro(os_doc: dict[str, Any] | None) -> Distro | None:
    if not os_doc:
        return None
    return Distro(family=os_doc["family"], name=os_doc["name"], version=os_doc.get("version"),
                  version_codename=os_doc.get("codename"),
                  pretty_name=os_doc.get("pretty_name"), eol=os_doc.get("eol"))


def _package(doc: dict[str, Any]) -> Package:
    path = doc.get("path")
    layer = doc.get("layer")
    return Package(
        name=doc["name"], version=doc["version"], type=doc["type"], purl=doc.get("purl"),
        source_name=doc.get("source_name"), licenses=tuple(doc.get("licenses") or ()),
        locations=(Location(path=path, layer=layer),) if path is not None else (),
        introduced_in=layer, declared=bool(doc.get("declared")),
    )


def _findings(docs: list[dict[str, Any]]) -> tuple[tuple[Finding, ...], dict[str, Mark]]:
    findings: list[Finding] = []
    marks: dict[str, Mark] = {}
    for doc in docs:
        finding = Finding(
            kind=doc["kind"], id=doc["id"], severity=Severity.parse(doc["severity"]),
            title=doc["title"], path=doc.get("path"), line=doc.get("line"),
            layer=doc.get("layer"), visible=bool(doc.get("visible", True)),
            extra={k: v for k, v in doc.items() if k not in _FINDING_FIELDS},
        )
        findings.append(finding)
        suppressed = doc.get("suppressed")
        if suppressed or doc.get("new") is not None:
            # Keyed by the rebuilt finding's fingerprint: the mark belongs to this finding.
            marks[finding.fingerprint] = Mark(
                suppressed=Suppression(**suppressed) if suppressed else None,
                new=doc.get("new"))
    return tuple(findings), marks


def _files(doc: dict[str, Any]) -> FileStats:
    return FileStats(
        count=doc.get("count") or 0,
        total_size=doc.get("total_size") or 0,
        largest=tuple((x["path"], x["size"], x["layer"]) for x in doc.get("largest") or []),
        per_layer=tuple(LayerTotals(**x) for x in doc.get("per_layer") or []),
        wasted_bytes=doc.get("wasted_bytes") or 0,
    )


def _baseline(doc: dict[str, Any]) -> BaselineResult:
    checks = tuple(CheckResult(id=c["id"], title=c["title"],
                               severity=Severity.parse(c["severity"]), status=c["status"],
                               findings=c.get("findings") or 0, reference=c.get("reference"))
                   for c in doc.get("checks") or [])
    return BaselineResult(name=doc["name"], checks=checks)


def _verdict(doc: dict[str, Any]) -> Verdict:
    return Verdict(
        passed=bool(doc["passed"]),
        policy=doc["policy"],
        violations=tuple(Violation(fingerprint=v["fingerprint"], reason=v["reason"],
                                   rule=v.get("rule") or "fail-on")
                         for v in doc.get("violations") or []),
        blocking=bool(doc.get("blocking", True)),
        suppressed=doc.get("suppressed") or 0,
        expired_suppressions=tuple(ExpiredSuppression(**e)
                                   for e in doc.get("expired_suppressions") or []),
        baseline=doc.get("baseline"),
        image_allowed=doc.get("image_allowed"),
    )

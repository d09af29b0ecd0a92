"""The ``secret`` scanner: text files during the layer pass, and the image config after it.

``secret-files`` streams every text file of every layer (hidden versions too: their bytes
ship; the engine marks them ``visible: false``) through the keyword prefilter and the rules.
A file whose first bytes hold a NUL is binary and is not searched; files are searched up to
``max_file_size`` (10 MiB unless the secret config says otherwise), and a longer text file
gets a warning saying so. ``secret-config`` searches the image config: ENV, labels,
entrypoint and cmd, and the history's ``created_by`` (build arguments leak into RUN lines);
a RUN line's finding has the layer that step made.

Findings are of kind ``secret``, id = rule id, with ``match``: the masked secret
(redact.py). Nothing in a finding, warning or log line holds a secret in full.
"""

from __future__ import annotations

import re
from typing import ClassVar

from portcullis.analyze.base import (
    STAGE_CHECKS,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    FileScan,
)
from portcullis.analyze.secrets.matcher import Match, matcher
from portcullis.analyze.secrets.stream import MAX_PER_FILE, FileSearch
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileMeta
from portcullis.model.finding import Finding, Warning
from portcullis.model.image import ImageConfig

KIND = "secret"
SCANNERS = frozenset({"secret"})

# Names that are binary by format: not worth a sniff of their first bytes.
_BINARY_SUFFIXES = tuple(f".{x}" for x in (
    "so", "a", "o", "pyc", "pyo", "mo", "gmo", "png", "jpg", "jpeg", "gif", "ico", "webp", "bmp",
    "tif", "tiff", "woff", "woff2", "ttf", "otf", "eot", "gz", "tgz", "xz", "txz", "bz2", "zst",
    "lz4", "lzma", "zip", "jar", "war", "ear", "whl", "egg", "deb", "rpm", "apk", "7z", "rar",
    "tar", "db", "sqlite", "sqlite3", "pdf", "mp3", "mp4", "ogg", "wav", "class", "dex", "wasm",
    "node", "pack", "idx", "bin", "dat", "cache"))
_SONAME = re.compile(r".*\.so\.[0-9.]+$")


def binary_name(path: str) -> bool:
    lowered = path.lower()
    if lowered.endswith(_BINARY_SUFFIXES):
        return True
    return ".so." in lowered and _SONAME.match(lowered) is not None


def secret_finding(match: Match, *, path: str | None, line: int | None, layer: int | None,
                   **extra: object) -> Finding:
    rule = match.rule
    return Finding(kind=KIND, id=rule.id, severity=rule.severity, title=rule.title, path=path,
                   line=line, layer=layer, visible=True, extra={"match": match.masked, **extra})


class _Scan:
    """One file: a FileSearch, then its findings and warnings."""

    def __init__(self, search: FileSearch, path: str, layer: int) -> None:
        self._search = search
        self._path = path
        self._layer = layer

    def update(self, chunk: bytes) -> None:
        self._search.update(chunk)

    def finish(self) -> AnalysisResult:
        search = self._search
        search.finish()
        result = AnalysisResult(findings=[
            secret_finding(f.match, path=self._path, line=f.line, layer=self._layer)
            for f in search.found])
        if search.truncated:
            result.warnings.append(self._warning(
                f"text file searched for secrets up to {search.limit} bytes only "
                "(max_file_size of the secret config)"))
        if search.dropped:
            result.warnings.append(self._warning(
                f"{search.dropped} more secrets than the {MAX_PER_FILE} listed for this file"))
        return result

    def _warning(self, message: str) -> Warning:
        return Warning(message=message, path=self._path, layer=self._layer,
                       analyzer=SecretFiles.spec.name)


class SecretFiles:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="secret-files", version=1, scanners=SCANNERS, stage=STAGE_CHECKS)

    def accepts(self, meta: FileMeta) -> bool:
        return meta.size > 0 and not binary_name(meta.path)

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        found = matcher(ctx.settings.secret_config)
        path = meta.path
        if found.ruleset.skips(path):
            return None
        search = FileSearch(matcher=found, wanted=found.rules_for(path),
                            limit=found.ruleset.max_file_size, size=meta.size)
        return _Scan(search, path, layer)


def _layer_of_history(config: ImageConfig) -> list[int | None]:
    """For each history entry, the layer it made (None for ENV, LABEL, ... steps)."""
    out: list[int | None] = []
    layer = 0
    for entry in config.history:
        if entry.empty_layer:
            out.append(None)
        else:
            out.append(layer)
            layer += 1
    return out


class SecretConfig:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="secret-config", version=1, scanners=SCANNERS, stage=STAGE_CHECKS)

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        found = matcher(ctx.settings.secret_config)
        config = ctx.image.config
        findings: list[Finding] = []

        def search(text: str, location: str, layer: int | None) -> None:
            for m in found.search(text.encode("utf-8", "surrogateescape")):
                findings.append(secret_finding(m, path=None, line=None, layer=layer,
                                               location=location))

        for entry in config.env:
            search(entry, f"config.env[{entry.partition('=')[0]}]", None)
        for key, value in sorted(config.labels.items()):
            search(f"{key}={value}", f"config.labels[{key}]", None)
        for name, words in (("entrypoint", config.entrypoint), ("cmd", config.cmd)):
            for i, word in enumerate(words):
                search(word, f"config.{name}[{i}]", None)
        for i, (step, layer) in enumerate(zip(config.history, _layer_of_history(config),
                                              strict=True)):
            search(step.created_by, f"history[{i}].created_by", layer)
        return AnalysisResult(findings=findings)

"""``--format table``: a human summary for terminals and CI logs."""

from __future__ import annotations

from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from portcullis.model.report import Report
from portcullis.report.base import WriterSpec

_COLOURS = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "blue",
            "UNKNOWN": "dim"}


def _mb(size: int | None) -> str:
    if size is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def write_table(report: Report, out: TextIO, colour: bool = False) -> None:
    console = Console(file=out, force_terminal=colour, no_color=not colour, width=120,
                      highlight=False)
    doc = report.to_dict()
    art = doc["artifact"]
    os_text = "unknown"
    if art["os"]:
        os_text = f"{art['os']['name']} {art['os']['version'] or ''}".strip()
    console.print(f"[bold]{art['reference']}[/bold] ({art['source']}, {art['platform']['os']}/"
                  f"{art['platform']['architecture']}, {os_text})")
    if art["manifest_digest"] or art["config_digest"]:
        console.print(f"manifest {art['manifest_digest'] or '-'}  config {art['config_digest']}")

    layers = Table(title="Layers", title_justify="left")
    for col in ("#", "size", "created by"):
        layers.add_column(col)
    for layer in art["layers"]:
        layers.add_row(str(layer["index"]), _mb(layer["size"]),
                       (layer["created_by"] or "")[:90])
    console.print(layers)

    scanners = Table(title="Scanners", title_justify="left")
    for col in ("scanner", "status", "note"):
        scanners.add_column(col)
    for name, st in doc["scanners"].items():
        scanners.add_row(name, st["status"], st["message"] or "")
    console.print(scanners)

    if doc["packages"]:
        console.print(_packages_table(doc["packages"]))

    vulns = [f for f in doc["findings"] if f["kind"] == "vulnerability"]
    if vulns:
        console.print(_vulnerabilities_table(vulns))
    others = [f for f in doc["findings"] if f["kind"] != "vulnerability"]
    if others:
        findings = Table(title="Findings", title_justify="left")
        for col in ("severity", "kind", "id", "where", "layer", "title"):
            findings.add_column(col)
        for f in others:
            sev = f["severity"]
            where = f["path"] or f.get("location") or ""  # location: a secret in the config
            if f.get("line"):
                where += f":{f['line']}"
            findings.add_row(f"[{_COLOURS.get(sev, '')}]{sev}[/]", f["kind"], f["id"],
                             escape(where),
                             "" if f["layer"] is None else str(f["layer"]), f["title"][:60])
        console.print(findings)
    summary = doc["summary"]["by_severity"]
    files = doc["files"]
    console.print(
        f"{files['count']} files, {_mb(files['total_size'])}; findings: "
        + ", ".join(f"{k} {v}" for k, v in summary.items())
    )
    for w in doc["warnings"]:
        where = f" {w['path']}" if w["path"] else ""
        layer = f" (layer {w['layer']})" if w["layer"] is not None else ""
        console.print(f"[yellow]warning[/]{where}{layer}: {w['message']}")
    verdict = doc["verdict"]
    state = "[green]PASSED[/]" if verdict["passed"] else "[bold red]FAILED[/]"
    console.print(f"policy {verdict['policy']}: {state}")


def _vulnerabilities_table(vulns: list[dict[str, Any]]) -> Table:
    """Grouped by package (most severe package first), each package's vulnerabilities newest
    id first, with the versions that fix them: what to upgrade, and to what."""
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for f in vulns:
        key = (f.get("package_name", ""), f.get("installed_version", ""), f["path"] or "",
               "" if f["layer"] is None else str(f["layer"]))
        groups.setdefault(key, []).append(f)
    rank = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0}

    def worst(item: tuple[tuple[str, str, str, str], list[dict[str, Any]]]) -> tuple[int, str]:
        return (-max(rank.get(f["severity"], 0) for f in item[1]), item[0][0])

    table = Table(title=f"Vulnerabilities ({len(vulns)} in {len(groups)} packages)",
                  title_justify="left")
    for col in ("package", "installed", "layer", "severity", "id", "fixed in", "title"):
        table.add_column(col)
    for (name, version, _path, layer), found in sorted(groups.items(), key=worst):
        found.sort(key=lambda f: (-rank.get(f["severity"], 0), _newest_first(f["id"])))
        for i, f in enumerate(found):
            sev = f["severity"]
            table.add_row(name if i == 0 else "", version if i == 0 else "",
                          layer if i == 0 else "", f"[{_COLOURS.get(sev, '')}]{sev}[/]", f["id"],
                          ", ".join(f.get("fixed_versions") or []) or "no fix yet",
                          f["title"][:50])
    return table


def _newest_first(vuln_id: str) -> tuple[int, str]:
    """CVE-2024-… before CVE-2019-…: the year (or first number) of an id, descending."""
    for part in vuln_id.split("-"):
        if part.isdigit():
            return (-int(part), vuln_id)
    return (0, vuln_id)


def _packages_table(packages: list[dict[str, Any]]) -> Table:
    """Packages by type: how many, and which layers brought them."""
    counts: dict[str, int] = {}
    layers: dict[str, set[int]] = {}
    for package in packages:
        kind = package["type"]
        counts[kind] = counts.get(kind, 0) + 1
        if package["layer"] is not None:
            layers.setdefault(kind, set()).add(package["layer"])
    table = Table(title=f"Packages ({len(packages)})", title_justify="left")
    for col in ("type", "count", "layers"):
        table.add_column(col)
    for kind in sorted(counts):
        found_in = ", ".join(str(i) for i in sorted(layers.get(kind, ())))
        table.add_row(kind, str(counts[kind]), found_in)
    return table


WRITER = WriterSpec(name="table", description="human-readable summary", write=write_table)

"""The ``table`` report drawn with rich: the default report, for terminals and CI logs alike.

A one-screen summary first (the verdict, and per scan item its status and counts by
severity), then what blocks and why, then sections per scan item. Fits an 80-column CI log:
columns do not wrap, long titles are cut with an ellipsis. Colour only on a terminal; the
verdict is repeated as the last line, where a CI log is read first.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from portcullis.model.finding import SCANNER_OF_KIND
from portcullis.model.report import Report

WIDTH = 80
_COLOURS = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "blue",
            "UNKNOWN": "dim"}
_SHORT = {"CRITICAL": "CRIT", "HIGH": "HIGH", "MEDIUM": "MED", "LOW": "LOW", "UNKNOWN": "UNK"}
_RANK = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0}


def _mb(size: int | None) -> str:
    if size is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _sev(name: str) -> str:
    return f"[{_COLOURS.get(name, '')}]{name}[/]"


def _table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[str]],
           width: int = WIDTH) -> Table:
    """Every column but the last as wide as its widest cell (ids, versions and paths are never
    cut or wrapped); the last is free text that gets what is left of ``width`` and is cut
    with "…"."""
    table = Table(title=escape(title), title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  collapse_padding=True)
    used = 0
    for i, col in enumerate(columns):
        if i == len(columns) - 1:
            table.add_column(col, no_wrap=True, overflow="ellipsis",
                             max_width=max(12, width - used))
            continue
        widest = max([Text.from_markup(row[i]).cell_len for row in rows] + [len(col)])
        table.add_column(col, no_wrap=True, min_width=widest)
        used += widest + 2  # the cell and the gap to the next column
    for row in rows:
        table.add_row(*row)
    return table


def write_table(report: Report, out: TextIO, colour: bool = False) -> None:
    console = Console(file=out, force_terminal=colour, no_color=not colour,
                      width=None if colour else WIDTH, highlight=False, soft_wrap=False)
    doc = report.to_dict()
    _header(console, doc)
    _verdict(console, doc)
    console.print(_summary(doc))
    blocking = {v["fingerprint"]: v for v in doc["verdict"]["violations"]}
    width = console.width
    if blocking:
        console.print(_violations(doc["findings"], blocking, width))
    vulns = [f for f in doc["findings"] if f["kind"] == "vulnerability"]
    if vulns:
        console.print(_vulnerabilities_table(vulns, blocking, width))
    if doc["baselines"]:
        console.print(_baselines_table(doc["baselines"]))
    others = [f for f in doc["findings"] if f["kind"] != "vulnerability"]
    for scanner in dict.fromkeys(SCANNER_OF_KIND.get(f["kind"], f["kind"]) for f in others):
        mine = [f for f in others if SCANNER_OF_KIND.get(f["kind"], f["kind"]) == scanner]
        if scanner == "baseline":
            order = [b["name"] for b in doc["baselines"]]
            console.print(_failed_checks_table(mine, order, blocking, width))
        else:
            console.print(_findings_table(scanner, mine, blocking, width))
    if any(_mark(f, blocking) for f in doc["findings"]):
        console.print("! B: blocks, S: suppressed, K: known since the baseline")
    if doc["packages"]:
        console.print(_packages_table(doc["packages"]))
    console.print(_layers_table(doc["artifact"]["layers"], width))
    for w in doc["warnings"]:
        where = f" {w['path']}" if w["path"] else ""
        layer = f" (layer {w['layer']})" if w["layer"] is not None else ""
        console.print(f"[yellow]warning[/]{escape(where)}{layer}: {escape(w['message'])}")
    files = doc["files"]
    console.print(f"{files['count']} files, {_mb(files['total_size'])}")
    _verdict(console, doc, short=True)


def _header(console: Console, doc: dict[str, Any]) -> None:
    art = doc["artifact"]
    os_text = "unknown OS"
    if art["os"]:
        os_text = f"{art['os']['name']} {art['os']['version'] or ''}".strip()
    console.print(f"[bold]{escape(art['reference'])}[/bold]", soft_wrap=True)
    console.print(f"{art['source']}, {art['platform']['os']}/{art['platform']['architecture']},"
                  f" {os_text}, {len(art['layers'])} layers, {_mb(art['size'])}")
    if art["manifest_digest"]:
        console.print(f"manifest {art['manifest_digest']}", soft_wrap=True)


def _verdict(console: Console, doc: dict[str, Any], short: bool = False) -> None:
    verdict = doc["verdict"]
    if verdict["passed"]:
        state = "[bold green]PASSED[/]"
    elif verdict["blocking"]:
        state = "[bold red]FAILED[/] (blocking)"
    else:
        state = "[bold yellow]FAILED[/] (report only, not blocking)"
    count = len(verdict["violations"])
    line = f"verdict: {state}, {escape(verdict['policy'])}: {count} blocking"
    notes = []
    if verdict["suppressed"]:
        notes.append(f"{verdict['suppressed']} suppressed")
    if verdict["baseline"]:
        base = verdict["baseline"]
        notes.append(f"{base['new']} new, {base['known']} known since the baseline")
    if verdict["expired_suppressions"]:
        notes.append(f"{len(verdict['expired_suppressions'])} expired suppressions")
    if verdict["image_allowed"]:
        notes.append(f"image allowed by {escape(verdict['image_allowed'])}")
    if notes:
        line += "; " + ", ".join(notes)
    console.print(line if short else f"\n{line}", soft_wrap=True)


def _summary(doc: dict[str, Any]) -> Table:
    """Per scan item: its status and its findings by severity (suppressed ones not
    counted), and how many block."""
    counts: dict[str, dict[str, int]] = {}
    blocks: dict[str, int] = {}
    blocking = {v["fingerprint"] for v in doc["verdict"]["violations"]}
    for f in doc["findings"]:
        scanner = SCANNER_OF_KIND.get(f["kind"], f["kind"])
        if f["suppressed"] is None:
            row = counts.setdefault(scanner, {})
            row[f["severity"]] = row.get(f["severity"], 0) + 1
        if f["fingerprint"] in blocking:
            blocks[scanner] = blocks.get(scanner, 0) + 1
    table = Table(title="Summary", title_justify="left", title_style="bold", pad_edge=False,
                  box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("scan item", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in _SHORT.values():
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("blocking", justify="right", no_wrap=True)
    for name, status in doc["scanners"].items():
        row = counts.get(name, {})
        cells = [str(row.get(sev, 0)) if status["status"] != "skipped" else "-"
                 for sev in _SHORT]
        table.add_row(name, status["status"], *cells,
                      str(blocks.get(name, 0)) if status["status"] != "skipped" else "-")
    return table


def _where(f: dict[str, Any]) -> str:
    if f.get("package_name"):
        return f"{f['package_name']} {f.get('installed_version') or ''}".strip()
    where = f["path"] or f.get("location") or ""  # location: a secret in the image config
    if f.get("line"):
        where += f":{f['line']}"
    return where


def _violations(findings: list[dict[str, Any]], blocking: dict[str, Any], width: int) -> Table:
    rows = [(_sev(f["severity"]), escape(f["id"]), escape(_where(f)),
             escape(_short_rule(blocking[f["fingerprint"]]["rule"])))
            for f in findings if f["fingerprint"] in blocking]
    return _table(f"Blocking ({len(blocking)})", ("severity", "id", "where", "rule"), rows,
                  width)


def _short_rule(rule: str) -> str:
    """``rules.file (/long/path/prod.yaml:3)`` → ``rules.file (prod.yaml:3)``: the JSON
    report keeps the full path; a log line needs the rule and the line."""
    name, sep, where = rule.rpartition(" (")
    if not sep or not where.endswith(")"):
        return rule
    return f"{name} ({posixpath.basename(where)}"


def _mark(f: dict[str, Any], blocking: dict[str, Any]) -> str:
    """One letter: B blocks, S suppressed, K known since the baseline."""
    if f["fingerprint"] in blocking:
        return "[bold red]B[/]"
    if f["suppressed"]:
        return "S"
    if f["new"] is False:
        return "K"
    return ""


def _vulnerabilities_table(vulns: list[dict[str, Any]], blocking: dict[str, Any],
                           width: int) -> Table:
    """Grouped by package (most severe package first), each package's vulnerabilities newest
    id first, with the versions that fix them: what to upgrade, and to what."""
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for f in vulns:
        key = (f.get("package_name", ""), f.get("installed_version", ""), f["path"] or "",
               "" if f["layer"] is None else str(f["layer"]))
        groups.setdefault(key, []).append(f)

    def worst(item: tuple[tuple[str, str, str, str], list[dict[str, Any]]]) -> tuple[int, str]:
        return (-max(_RANK.get(f["severity"], 0) for f in item[1]), item[0][0])

    rows = []
    for (name, version, _path, layer), found in sorted(groups.items(), key=worst):
        found.sort(key=lambda f: (-_RANK.get(f["severity"], 0), _newest_first(f["id"])))
        for i, f in enumerate(found):
            rows.append((escape(name) if i == 0 else "", escape(version) if i == 0 else "",
                         layer if i == 0 else "", _sev(f["severity"]), escape(f["id"]),
                         _mark(f, blocking),
                         escape(", ".join(f.get("fixed_versions") or []) or _no_fix(f)),
                         escape(f["title"])))
    return _table(f"Vulnerabilities ({len(vulns)} in {len(groups)} packages)",
                  ("package", "installed", "layer", "severity", "id", "!", "fixed in", "title"),
                  rows, width)


def _findings_table(scanner: str, findings: list[dict[str, Any]],
                    blocking: dict[str, Any], width: int) -> Table:
    rows = [(_sev(f["severity"]), escape(f["id"]), _mark(f, blocking), escape(_where(f)),
             "" if f["layer"] is None else str(f["layer"]), escape(f["title"]))
            for f in findings]
    return _table(f"{scanner} ({len(findings)})",
                  ("severity", "id", "!", "where", "layer", "title"), rows, width)


def _baselines_table(baselines: list[dict[str, Any]]) -> Table:
    """Per named baseline, checks passed and failed (as HSS reports them)."""
    rows = [(escape(b["name"]), str(b["passed"]),
             f"[red]{b['failed']}[/]" if b["failed"] else "0", str(b["not_applicable"]))
            for b in baselines]
    return _table("Baselines", ("baseline", "passed", "failed", "not applicable"), rows)


def _failed_checks_table(findings: list[dict[str, Any]], order: list[str],
                         blocking: dict[str, Any], width: int) -> Table:
    """Each failed place, grouped by baseline, with the layer and Dockerfile instruction that
    caused it; lines of the base image's history are marked "(base)"."""
    rank = {name: i for i, name in enumerate(order)}
    rows: list[tuple[str, ...]] = []
    current = None
    for f in sorted(findings, key=lambda f: rank.get(str(f.get("baseline")), len(rank))):
        if f.get("baseline") != current:
            current = f.get("baseline")
            rows.append(("", f"[bold]{escape(str(current))}[/]", "", "", "", ""))
        where = f["path"] or ("image config" if f.get("instruction") is None else "history")
        if f["path"] and f.get("line"):
            where += f":{f['line']}"
        instruction = (f.get("instruction") or "").removesuffix("# buildkit").strip()
        if f.get("inherited"):
            instruction = "(base) " + instruction
        rows.append((_sev(f["severity"]), escape(f["id"]), _mark(f, blocking), escape(where),
                     "" if f["layer"] is None else str(f["layer"]), escape(instruction)))
    return _table(f"Failed baseline checks ({len(findings)})",
                  ("severity", "id", "!", "where", "layer", "instruction"), rows, width)


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
    rows = [(escape(kind), str(counts[kind]),
             ", ".join(str(i) for i in sorted(layers.get(kind, ())))) for kind in sorted(counts)]
    return _table(f"Packages ({len(packages)})", ("type", "count", "layers"), rows)


def _layers_table(layers: list[dict[str, Any]], width: int) -> Table:
    rows = [(str(layer["index"]), _mb(layer["size"]), escape(layer["created_by"] or ""))
            for layer in layers]
    return _table("Layers", ("#", "size", "created by"), rows, width)



def _no_fix(finding: dict[str, Any]) -> str:
    return "will not fix" if finding.get("status") == "will-not-fix" else "no fix yet"

"""``--format html``: one self-contained, offline page for people (CI artifact, e-mail).

Everything is in the file: CSS, the charts (inline SVG bars: findings by severity and by scan
item) and a few lines of JavaScript that filter the tables (text, severity, scan item). No
network, no external font or script. Every value from the image is HTML-escaped when the page
is written; the script only hides and shows rows, it never builds markup from data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from portcullis.model.finding import SCANNER_OF_KIND
from portcullis.model.report import Report
from portcullis.report.base import WriterSpec


def escape(text: str) -> str:
    """``html.escape(text)`` (quotes too), written out: importing ``html`` loads its table of
    2,000 named entities, and every scan imports this module (the ``--format`` choice lists
    the writers)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
COLOURS = {"CRITICAL": "#7b1020", "HIGH": "#d1242f", "MEDIUM": "#d4a72c", "LOW": "#3572b0",
           "UNKNOWN": "#8c959f"}

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328}
header{background:#24292f;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#d0d7de;word-break:break-all}
main{padding:16px 24px;max-width:1400px}
section{margin:0 0 28px}
h2{font-size:17px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:600;color:#fff}
.passed{background:#1a7f37}.failed{background:#cf222e}.report-only{background:#9a6700}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
td.path{font-family:ui-monospace,monospace;word-break:break-all}
.sev{font-weight:600;color:#fff;padding:1px 6px;border-radius:4px;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:32px}
.chart h3{font-size:14px;margin:0 0 6px}
.filters{display:flex;gap:8px;margin:8px 0}
.filters input{flex:1;padding:4px 8px}
.blocking{color:#cf222e;font-weight:600}
.muted{color:#656d76}
"""

SCRIPT = """
(function () {
  var text = document.getElementById('f-text'), sev = document.getElementById('f-sev'),
      item = document.getElementById('f-item'), count = document.getElementById('f-count');
  function apply() {
    var q = text.value.toLowerCase(), s = sev.value, k = item.value, shown = 0;
    var rows = document.querySelectorAll('#findings tbody tr');
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!s || r.dataset.severity === s) && (!k || r.dataset.item === k) &&
               (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.style.display = ok ? '' : 'none';
      if (ok) { shown++; }
    }
    count.textContent = shown + ' of ' + rows.length;
  }
  [text, sev, item].forEach(function (el) { el.addEventListener('input', apply); });
  apply();
})();
"""


def write_html(report: Report, out: TextIO, colour: bool = False) -> None:
    doc = report.to_dict()
    findings = doc["findings"]
    title = f"Portcullis: {doc['artifact']['reference']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No network: this page may only use what it carries.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        _header(doc),
        "<main>",
        _summary(doc),
        _charts(findings),
        _findings(findings, doc["verdict"]),
        _packages(doc["packages"]),
        _layers(doc["artifact"]["layers"]),
        _warnings(doc["warnings"]),
        "</main>",
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    out.write("\n".join(parts))
    out.write("\n")


def _header(doc: dict[str, Any]) -> str:
    art = doc["artifact"]
    os_info = art.get("os") or {}
    facts = [art["source"], _platform(art.get("platform")),
             " ".join(filter(None, (os_info.get("name"), os_info.get("version")))),
             f"{len(art['layers'])} layers", art.get("manifest_digest") or ""]
    line = " · ".join(escape(str(f)) for f in facts if f)
    return (f"<header><h1>{escape(art['reference'])}</h1><p>{line}</p>"
            f"<p>scanned {escape(doc['created_at'])} by portcullis "
            f"{escape(doc['tool']['version'])}</p></header>")


def _platform(platform: dict[str, Any] | None) -> str:
    if not platform:
        return ""
    return "/".join(str(p) for p in (platform.get("os"), platform.get("architecture"),
                                     platform.get("variant")) if p)


def _summary(doc: dict[str, Any]) -> str:
    verdict = doc["verdict"]
    if verdict["passed"]:
        css, word = "passed", "PASSED"
    elif verdict.get("blocking", True):
        css, word = "failed", "BLOCKED"
    else:
        css, word = "report-only", "FAILED (report only)"
    policy = escape(str(verdict.get("policy") or ""))
    rows = []
    by_item = _count_by(doc["findings"], _item)
    for name, result in sorted(doc["scanners"].items()):
        note = escape(result.get("message") or "")
        rows.append((escape(name), escape(result["status"]), str(by_item.get(name, 0)), note))
    return (f'<section id="summary"><h2>Summary</h2><p><span id="verdict" class="verdict {css}">'
            f"{word}</span> <span class=\"muted\">{policy}; "
            f"{len(verdict['violations'])} blocking</span></p>"
            + _table("scanners", ("scan item", "status", "findings", "note"), rows) + "</section>")


def _charts(findings: list[dict[str, Any]]) -> str:
    by_sev = _count_by(findings, lambda f: f["severity"])
    by_item = _count_by(findings, _item)
    sev_bars = [(s, by_sev.get(s, 0), COLOURS[s]) for s in SEVERITIES]
    item_bars = [(k, n, "#57606a") for k, n in sorted(by_item.items(), key=lambda kv: -kv[1])]
    return ('<section id="charts"><h2>Findings</h2><div class="charts">'
            + _bar_chart("chart-severity", "By severity", sev_bars)
            + _bar_chart("chart-item", "By scan item", item_bars)
            + "</div></section>")


def _bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int, str]]) -> str:
    """Horizontal bars as inline SVG: a label, a bar scaled to the largest, the count."""
    top = max([n for _, n, _ in bars] + [1])
    row_h, label_w, bar_w = 22, 110, 260
    height = row_h * max(len(bars), 1) + 4
    shapes = []
    for i, (label, n, colour) in enumerate(bars):
        y = i * row_h + 2
        width = round(bar_w * n / top)
        shapes.append(
            f'<g data-label="{escape(label)}" data-count="{n}">'
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="15" fill="{colour}"/>'
            f'<text x="{label_w + width + 6}" y="{y + 15}" font-size="12">{n}</text></g>')
    return (f'<div class="chart" id="{chart_id}"><h3>{escape(title)}</h3>'
            f'<svg width="{label_w + bar_w + 60}" height="{height}" role="img" '
            f'aria-label="{escape(title)}">{"".join(shapes)}</svg></div>')


def _findings(findings: list[dict[str, Any]], verdict: dict[str, Any]) -> str:
    blocking = {v["fingerprint"] for v in verdict["violations"]}
    items = sorted({_item(f) for f in findings})
    options = "".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in SEVERITIES)
    item_options = "".join(f'<option value="{escape(k)}">{escape(k)}</option>' for k in items)
    rows = []
    for f in findings:
        block = '<span class="blocking">blocks</span>' if f["fingerprint"] in blocking else ""
        if f.get("suppressed"):
            block = '<span class="muted">suppressed</span>'
        layer = "" if f["layer"] is None else str(f["layer"])
        if not f["visible"]:
            layer += " (hidden)"
        rows.append(
            f'<tr data-severity="{escape(f["severity"])}" data-item="{escape(_item(f))}">'
            f"<td>{_severity(f['severity'])}</td><td>{escape(_item(f))}</td>"
            f"<td>{escape(f['id'])}</td><td class=\"path\">{escape(_where(f))}</td>"
            f"<td>{escape(layer)}</td><td>{block}</td><td>{escape(f['title'])}</td></tr>")
    head = "".join(f"<th>{c}</th>" for c in ("severity", "scan item", "id", "where", "layer",
                                              "", "title"))
    return ('<section id="findings-section"><h2>All findings</h2><div class="filters">'
            '<input id="f-text" type="search" placeholder="filter: id, path, package, title">'
            f'<select id="f-sev"><option value="">every severity</option>{options}</select>'
            f'<select id="f-item"><option value="">every scan item</option>{item_options}'
            '</select><span id="f-count" class="muted"></span></div>'
            f'<table id="findings"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></section>")


def _packages(packages: list[dict[str, Any]]) -> str:
    rows = [(escape(p["type"]), escape(p["name"]), escape(p["version"] or ""),
             escape(", ".join(p.get("licenses") or [])),
             "" if p["layer"] is None else str(p["layer"])) for p in packages]
    return (f'<section id="packages"><h2>Software ({len(packages)} packages)</h2>'
            + _table("package-table", ("type", "name", "version", "licenses", "layer"), rows)
            + "</section>")


def _layers(layers: list[dict[str, Any]]) -> str:
    rows = [(str(layer["index"]), str(layer["size"]), escape(layer["created_by"] or ""))
            for layer in layers]
    return ('<section id="layers"><h2>Layers</h2>'
            + _table("layer-table", ("#", "bytes", "created by"), rows) + "</section>")


def _warnings(warnings: list[dict[str, Any]]) -> str:
    if not warnings:
        return ""
    rows = [(escape(w.get("analyzer") or ""), escape(w.get("path") or ""),
             "" if w.get("layer") is None else str(w["layer"]), escape(w["message"]))
            for w in warnings]
    return (f'<section id="warnings"><h2>Warnings ({len(warnings)})</h2>'
            + _table("warning-table", ("analyzer", "path", "layer", "message"), rows)
            + "</section>")


def _table(table_id: str, columns: Iterable[str], rows: Iterable[Sequence[str]]) -> str:
    """Cells must already be escaped (or be markup this module wrote)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _severity(name: str) -> str:
    return (f'<span class="sev" style="background:{COLOURS.get(name, "#8c959f")}">'
            f"{escape(name)}</span>")


def _item(f: dict[str, Any]) -> str:
    return str(SCANNER_OF_KIND.get(f["kind"], f["kind"]))


def _where(f: dict[str, Any]) -> str:
    if f.get("package_name"):
        return f"{f['package_name']} {f.get('installed_version') or ''}".strip()
    where = f["path"] or f.get("location") or ""
    if f.get("line"):
        where += f":{f['line']}"
    return str(where)


def _count_by(findings: list[dict[str, Any]], key: Any) -> Counter[str]:
    return Counter(key(f) for f in findings)


WRITER = WriterSpec(name="html", description="self-contained HTML page", write=write_html,
                    extension="html")

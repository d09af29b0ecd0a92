"""Bounds on what one scan reports: a hostile image must not turn into a 100 MB report.

A jar with 600,000 broken entries would otherwise give 600,000 warnings. Each source of
warnings (an analyzer, or the layer reader) keeps its first ``limit`` warnings; one more line
then says how many of its warnings were dropped, so nothing disappears without a trace.
"""

from __future__ import annotations

from collections import Counter

from portcullis.model.finding import Warning

WARNINGS_PER_SOURCE = 200


def cap_warnings(warnings: list[Warning], limit: int = WARNINGS_PER_SOURCE) -> list[Warning]:
    kept: list[Warning] = []
    seen: Counter[str | None] = Counter()
    for warning in warnings:
        seen[warning.analyzer] += 1
        if seen[warning.analyzer] <= limit:
            kept.append(warning)
    for source, count in sorted(seen.items(), key=lambda item: item[0] or ""):
        if count > limit:
            who = f"the {source} analyzer" if source else "the layer reader"
            kept.append(Warning(
                message=f"{count - limit} more warnings from {who} were dropped "
                        f"(at most {limit} are listed per source)",
                analyzer=source))
    return kept

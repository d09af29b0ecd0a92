"""A console project's central rules as gate inputs: ``allow`` (a finding id or alias that
never blocks), ``block`` (one that always blocks, whatever its severity) and ``image-allow`` (an
image whose scans never block). The CLI fetches them with ``--upload`` and ``--token`` so every
pipeline of the project gets the same rules; they join the policy's allow and deny lists, so
the gate decides once, with the same order as a policy file (a deny wins over an allow)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from portcullis.policy.load import Listed, Policy
from portcullis.policy.verdict import Gate

SCHEMES = ("registry:", "docker-daemon:", "docker-archive:", "oci-archive:", "oci:", "dir:")


class Rule(msgspec.Struct, frozen=True):
    rule: str
    value: str
    expires_at: datetime | None = None
    reason: str | None = None


def parse_rules(items: list[dict[str, Any]]) -> list[Rule]:
    out = []
    for item in items:
        expires = item.get("expires_at")
        stamp = datetime.fromisoformat(str(expires).replace("Z", "+00:00")) if expires else None
        reason = item.get("reason")
        out.append(Rule(str(item["rule"]), str(item["value"]), stamp,
                        str(reason) if reason else None))
    return out


def image_matches(reference: str, name: str) -> bool:
    """``registry:host/app:1.0`` matches ``host/app`` and ``host/app:1.0``; an archive or
    directory reference matches its path."""
    for scheme in SCHEMES:
        reference = reference.removeprefix(scheme)
    return reference == name or reference.startswith((f"{name}:", f"{name}@"))


def central_gate(gate: Gate, rules: list[Rule], source: str, reference: str,
                 now: datetime | None = None) -> Gate:
    """``gate`` with the live rules added to its policy's lists (a policy named "console"
    when the scan had none). ``reference`` is the scanned image, for ``image-allow``."""
    now = now or datetime.now(UTC)
    live = [r for r in rules if r.expires_at is None or r.expires_at > now]
    if not live:
        return gate

    def listed(kind: str) -> tuple[Listed, ...]:
        return tuple(Listed(pattern=r.value, reason=r.reason or "console project rule",
                            source=source) for r in live if r.rule == kind)

    images = tuple(Listed(pattern=reference, reason=r.reason or "console project rule",
                          source=source)
                   for r in live if r.rule == "image-allow" and image_matches(reference, r.value))
    base = gate.policy or Policy(name=f"console ({len(live)} rule(s))", source=source)
    policy = replace(base,
                     allow_vulnerabilities=base.allow_vulnerabilities + listed("allow"),
                     deny_vulnerabilities=base.deny_vulnerabilities + listed("block"),
                     allow_images=base.allow_images + images)
    return replace(gate, policy=policy)

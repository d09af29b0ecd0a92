"""Policy files (YAML, ``version: 1``): read, validate, and turn into a ``Policy``.

Every error names the file and line and the key path (``policy.yaml:7: rules.vulnerability[0]
.severity: unknown severity 'HUGE' …``); unknown keys are errors too, so a typo never turns a
rule off silently. docs/policy.md is the reference for the format.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path as FilePath
from typing import Any

import msgspec

from portcullis.errors import PolicyError
from portcullis.model.finding import KINDS, Severity
from portcullis.policy.rules import ANY_KIND, Rule
from portcullis.policy.suppressions import SuppressionRule
from portcullis.policy.yaml_lines import Located, Path, dotted, read_yaml

VERSION = 1
MAX_POLICY_BYTES = 4 * 1024 * 1024
BASE_IMAGE_MODES = ("same", "ignore")  # or a mapping with its own rules


class Listed(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of an allow or deny list, with where it was written."""

    pattern: str
    reason: str | None
    source: str


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    source: str  # the file
    blocking: bool = True
    rules: tuple[Rule, ...] = ()
    # What came with the base image: "same" (the rules above), "ignore" (never blocks), or
    # "separate" (base_rules instead).
    base_image: str = "same"
    base_rules: tuple[Rule, ...] = ()
    suppressions: tuple[SuppressionRule, ...] = ()
    allow_vulnerabilities: tuple[Listed, ...] = ()
    deny_vulnerabilities: tuple[Listed, ...] = ()
    allow_images: tuple[Listed, ...] = ()
    compliance: dict[str, Any] = msgspec.field(default_factory=dict)  # for the compliance scanner


def load_policy(path: FilePath) -> Policy:
    name = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_POLICY_BYTES + 1)
    except OSError as e:
        raise PolicyError(f"cannot read policy {name}: {e.strerror}") from e
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {name} is larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(f"policy {name} is not UTF-8 text: {e.reason}") from e
    return parse_policy(text, name)


def parse_policy(text: str, name: str) -> Policy:
    """``name`` is the file (for messages); the policy's own name defaults to its stem."""
    doc = read_yaml(text, name)
    top = _mapping(doc, (), {"version", "name", "blocking", "rules", "base_image",
                             "suppressions", "allow", "deny", "compliance"})
    if "version" not in top:
        raise doc.error((), f"missing 'version' (this Portcullis reads version: {VERSION})")
    if top["version"] != VERSION:
        raise doc.error(("version",), f"unsupported policy version {top['version']!r} "
                                      f"(this Portcullis reads version: {VERSION})")
    base_mode, base_rules = _base_image(doc)
    allow = _mapping(doc, ("allow",), {"vulnerabilities", "images"})
    deny = _mapping(doc, ("deny",), {"vulnerabilities"})
    return Policy(
        name=_string(doc, ("name",)) if "name" in top else FilePath(name).stem,
        source=name,
        blocking=_bool(doc, ("blocking",)) if "blocking" in top else True,
        rules=_rules(doc, ("rules",)),
        base_image=base_mode,
        base_rules=base_rules,
        suppressions=tuple(_suppression(doc, ("suppressions", i))
                           for i in range(len(_list(doc, ("suppressions",))))),
        allow_vulnerabilities=_listed(doc, ("allow", "vulnerabilities"), allow),
        deny_vulnerabilities=_listed(doc, ("deny", "vulnerabilities"), deny),
        allow_images=_listed(doc, ("allow", "images"), allow),
        compliance=_mapping(doc, ("compliance",), None),
    )


# --- the parts -----------------------------------------------------------------------------

def _base_image(doc: Located) -> tuple[str, tuple[Rule, ...]]:
    value = _get(doc, ("base_image",))
    if value is None:
        return "same", ()
    if isinstance(value, str):
        if value not in BASE_IMAGE_MODES:
            raise doc.error(("base_image",), f"expected one of {', '.join(BASE_IMAGE_MODES)} "
                                             f"or a mapping with rules, got {value!r}")
        return value, ()
    _mapping(doc, ("base_image",), {"rules"})
    return "separate", _rules(doc, ("base_image", "rules"))


RULE_KEYS = {"severity", "only_fixable", "kev_only", "epss_above", "ids", "packages", "paths",
             "categories", "from_base_image", "where"}


def _rules(doc: Located, path: Path) -> tuple[Rule, ...]:
    kinds = {*KINDS, ANY_KIND}
    out: list[Rule] = []
    for kind, value in _mapping(doc, path, None).items():
        here = (*path, kind)
        if kind not in kinds:
            raise doc.error(here, f"unknown finding kind {kind!r} "
                                  f"(one of {', '.join(sorted(kinds))})")
        if value is False or value is None:
            continue  # this kind never blocks (written out to say so)
        if value is True or value == "any":
            out.append(Rule(kind=kind, name=_rule_name(doc, here)))
            continue
        items = [(here, value)] if isinstance(value, dict) else None
        if items is None:
            if not isinstance(value, list):
                raise doc.error(here, "expected a rule (a mapping), a list of rules, true "
                                      "or false")
            items = [((*here, i), item) for i, item in enumerate(value)]
        out.extend(_rule(doc, where, kind) for where, _item in items)
    return tuple(out)


def _rule(doc: Located, path: Path, kind: str) -> Rule:
    item = _mapping(doc, path, RULE_KEYS)
    epss = _number(doc, (*path, "epss_above")) if "epss_above" in item else None
    if epss is not None and not 0 <= epss <= 1:
        raise doc.error((*path, "epss_above"), f"an EPSS probability is 0 to 1, got {epss}")
    return Rule(
        kind=kind,
        name=_rule_name(doc, path),
        severity=_severity(doc, (*path, "severity")) if "severity" in item else None,
        only_fixable=_bool(doc, (*path, "only_fixable")) if "only_fixable" in item else False,
        kev_only=_bool(doc, (*path, "kev_only")) if "kev_only" in item else False,
        epss_above=epss,
        ids=_strings(doc, (*path, "ids")),
        packages=_strings(doc, (*path, "packages")),
        paths=_strings(doc, (*path, "paths")),
        categories=_strings(doc, (*path, "categories")),
        from_base_image=(_bool(doc, (*path, "from_base_image"))
                         if "from_base_image" in item else None),
        where=_where(doc, (*path, "where")),
    )


def _rule_name(doc: Located, path: Path) -> str:
    return f"{dotted(path)} ({doc.name}:{doc.line(path)})"


def _where(doc: Located, path: Path) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    out = []
    for key, value in _mapping(doc, path, None).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values):
            raise doc.error((*path, key), "expected a value or a list of values")
        out.append((key, tuple(values)))
    return tuple(out)


SUPPRESSION_KEYS = {"id", "package", "path", "image", "kind", "fingerprint", "reason",
                    "expires"}


def _suppression(doc: Located, path: Path) -> SuppressionRule:
    item = _mapping(doc, path, SUPPRESSION_KEYS)
    if not item.get("reason") or not isinstance(item["reason"], str) or not item[
            "reason"].strip():
        raise doc.error(path, "a suppression needs a reason (why this finding is accepted)")
    rule = SuppressionRule(
        reason=item["reason"].strip(),
        source=f"{doc.name}:{doc.line(path)}",
        ids=_strings(doc, (*path, "id")),
        packages=_strings(doc, (*path, "package")),
        paths=_strings(doc, (*path, "path")),
        images=_strings(doc, (*path, "image")),
        kinds=_strings(doc, (*path, "kind")),
        fingerprints=_strings(doc, (*path, "fingerprint")),
        expires=_date(doc, (*path, "expires")) if "expires" in item else None,
    )
    if not (rule.ids or rule.packages or rule.paths or rule.kinds or rule.fingerprints):
        raise doc.error(path, "a suppression must name what it suppresses: id, package, "
                              "path, kind or fingerprint (image only narrows it; "
                              "allow.images lets a whole image pass)")
    bad = [k for k in rule.kinds if k not in KINDS]
    if bad:
        raise doc.error((*path, "kind"), f"unknown finding kind {bad[0]!r}")
    return rule


def _listed(doc: Located, path: Path, parent: dict[str, Any]) -> tuple[Listed, ...]:
    if path[-1] not in parent:
        return ()
    out = []
    for i, item in enumerate(_list(doc, path)):
        here = (*path, i)
        source = f"{doc.name}:{doc.line(here)}"
        if isinstance(item, str) and item:
            out.append(Listed(pattern=item, reason=None, source=source))
            continue
        entry = _mapping(doc, here, {"id", "image", "reason"})
        key = "image" if path[-1] == "images" else "id"
        if key not in entry:
            raise doc.error(here, f"expected a string or a mapping with {key!r}")
        out.append(Listed(pattern=_string(doc, (*here, key)),
                          reason=_string(doc, (*here, "reason")) if "reason" in entry else None,
                          source=source))
    return tuple(out)


# --- typed access --------------------------------------------------------------------------

def _get(doc: Located, path: Path) -> Any:
    value = doc.value
    for part in path:
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _mapping(doc: Located, path: Path, keys: set[str] | None) -> dict[str, Any]:
    value = _get(doc, path)
    if value is None:
        if not path and doc.value is None:
            raise doc.error((), "the policy is empty (it needs at least version: 1)")
        return {}
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping, got {_type(value)}")
    if keys is not None:
        for key in value:
            if key not in keys:
                raise doc.error((*path, key), f"unknown key (known here: "
                                              f"{', '.join(sorted(keys))})")
    return value


def _list(doc: Located, path: Path) -> list[Any]:
    value = _get(doc, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(path, f"expected a list, got {_type(value)}")
    return value


def _typed(kind: type | tuple[type, ...], label: str) -> Callable[[Located, Path], Any]:
    def get(doc: Located, path: Path) -> Any:
        value = _get(doc, path)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise doc.error(path, f"expected {label}, got {_type(value)}")
        return value
    return get


_bool = _typed(bool, "true or false")
_string = _typed(str, "a string")
_number = _typed((int, float), "a number")


def _strings(doc: Located, path: Path) -> tuple[str, ...]:
    value = _get(doc, path)
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    for i, item in enumerate(values):
        if not isinstance(item, str) or not item:
            where = (*path, i) if isinstance(value, list) else path
            raise doc.error(where, f"expected a non-empty string, got {_type(item)}")
    return tuple(values)


def _severity(doc: Located, path: Path) -> Severity:
    try:
        return Severity.parse(_string(doc, path))
    except ValueError as e:
        raise doc.error(path, str(e)) from e


def _date(doc: Located, path: Path) -> date:
    value = _get(doc, path)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise doc.error(path, f"expected a date (YYYY-MM-DD), got {value!r}")


def _type(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)

"""Secret rules as data: the built-in ``rules.toml`` plus a user's file (``--secret-config``).

A rule is an id, a title, a severity, lower-case keywords (see prefilter.py), a regex over bytes
and optional checks on the secret it captures (entropy, stop words, path globs). The user file
has the same ``[[rule]]`` tables, plus ``[allow]`` (paths, regexes, values that are never
reported), ``disable`` (built-in rule ids to drop) and ``max_file_size``. Every mistake in it is
a ConfigError naming the file and the rule, never a half-loaded rule set.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from portcullis.errors import ConfigError
from portcullis.model.finding import Severity

BUILTIN = "rules.toml"
MAX_WINDOW = 1024  # the chunked search keeps 4 KiB of overlap: a window fits twice
DEFAULT_MAX_FILE_SIZE = 10 << 20  # text files over this are searched up to here, with a warning
_ID = re.compile(r"^[a-z0-9][a-z0-9\-]*$")

# Documentation and test data of well-known packages: full of sample keys on purpose.
DEFAULT_EXCLUDED_PATHS = (
    "/usr/share/doc/*",
    "/usr/share/man/*",
    "/usr/share/info/*",
    "/usr/share/locale/*",
    "/usr/share/common-licenses/*",
    "/usr/lib/python3*/test/*",
    "/usr/local/lib/python3*/test/*",
    "*/site-packages/*/tests/*",
    "*/site-packages/*/test/*",
    "*/site-packages/*/testing/*",
    "*/dist-packages/*/tests/*",
    "*/dist-packages/*/test/*",
    "*/dist-packages/*/testing/*",
    # a wheel's metadata: its README (usage examples with sample tokens) and file lists
    "*.dist-info/*",
    "*.egg-info/*",
    # the AWS API documentation's request/response examples, shipped by botocore (boto3)
    "*/botocore/data/*/examples-*.json",
    "*/node_modules/*/test/*",
    "*/node_modules/*/tests/*",
    "*/node_modules/*/__tests__/*",
    "*/node_modules/*/spec/*",
    "*/node_modules/*/example/*",
    "*/node_modules/*/examples/*",
    "*/node_modules/*/docs/*",
    "*/node_modules/*.md",
    # CI settings of the package's own repository, published by accident (the debug package
    # ships a .coveralls.yml with its repo token): upstream's leak, not the image's.
    "*/node_modules/*/.coveralls.yml",
    "*/node_modules/*/.travis.yml",
    "*/node_modules/*/.github/*",
    "*/node_modules/*/.circleci/*",
    "*/go/pkg/mod/*/testdata/*",
    "*/vendor/*/testdata/*",
    "*/gems/*/test/*",
    "*/gems/*/spec/*",
)

# Placeholders: a secret that contains one of these is an example, not a leak.
STOPWORDS = (
    "example", "sample", "placeholder", "changeme", "change_me", "change-me", "changeit",
    "dummy", "fake", "test", "mock", "xxxx", "****", "....", "your", "redacted", "secret",
    "password", "passwd", "passw0rd", "p@ssw0rd", "token", "insert", "replace", "default",
    "undefined", "null", "none", "true", "false", "localhost", "foobar",
    "qwerty", "letmein", "hunter2", "tiger", "admin", "user", "username", "pass", "env",
    "config", "settings", "value", "string", "lorem",
)

# Values published as examples in specifications, quoted in the docstrings of the libraries
# that implement them (oauthlib ships RFC 6749's and RFC 5849's, CPython its own manual's):
# samples, not leaks.
KNOWN_EXAMPLES = frozenset({
    "2YotnFZFEjr1zCsicMWpAA", "tGzv3JOkF0XG5Qx2TlKWIA",  # RFC 6749 access/refresh token
    "SplxlOBeZQQYbYS6WxSbIA",  # RFC 6749 authorization code
    "h480djs93hd8",  # RFC 6749 bearer token body example
    "ad180jjd733klru7", "0685bd9184jfhq22",  # RFC 5849 oauth_token, oauth_consumer_key
    "kd94hf93k423kf44", "pfkkdhi9sl3r4s00",  # RFC 5849 consumer and token secrets
    "geheim$parole",  # the password in Python's urllib.request documentation
})


class GlobSet:
    """fnmatch globs over image paths, matched fast: each glob's longest literal piece is
    looked for first (a substring test), and only then its regex (one ``.*`` regex per glob
    and path would cost more than the secret search of most files)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        # each glob's regex is compiled when its literal is first seen in a path: every scan
        # loads the rules (they mask the image config), few scans meet most globs
        self._items = [(_literal(p), p) for p in patterns]
        self._any: re.Pattern[str] | None = None  # compiled on the first match (see _prefilter)

    def _prefilter(self) -> re.Pattern[str]:
        """One C-speed search that rejects a path holding none of the literals (most paths);
        compiled when first needed, for the same reason as the globs' regexes."""
        if self._any is None:
            self._any = re.compile("|".join(re.escape(literal) for literal, _ in self._items))
        return self._any

    def match(self, path: str) -> bool:
        if self._prefilter().search(path) is None:
            return False
        candidates = [glob for literal, glob in self._items if literal in path]
        return bool(candidates) and any(_glob_regex(glob).match(path) for glob in candidates)


@cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def _literal(pattern: str) -> str:
    return max(re.split(r"[*?\[\]]", pattern), key=len)


def globs(patterns: Sequence[str]) -> GlobSet | None:
    return GlobSet(patterns) if patterns else None


class Rule(msgspec.Struct, frozen=True):
    id: str
    title: str
    severity: Severity
    keywords: tuple[str, ...]
    pattern: bytes  # compiled on first use (most scans need few rules): see ``regex``
    entropy: float | None = None
    stopwords: bool = False
    paths: GlobSet | None = None
    window: tuple[int, int] | None = None  # bytes before and after a keyword hit to search
    identifiers: bool = True  # False: a secret shaped like a program identifier is not one

    @property
    def regex(self) -> re.Pattern[bytes]:
        return _compiled(self.pattern)

    def secret_span(self, match: re.Match[bytes]) -> tuple[int, int] | None:
        """Where the secret is in ``match``: group "secret", else group 1, else all of it."""
        if "secret" in self.regex.groupindex:
            span = match.span("secret")
        elif self.regex.groups:
            span = match.span(1)
        else:
            span = match.span()
        return None if span[0] < 0 else span


@cache
def _compiled(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)


class Allow(msgspec.Struct, frozen=True):
    """What is never reported: paths (globs), secrets a regex matches, exact known values."""

    paths: GlobSet | None = None
    regexes: tuple[re.Pattern[str], ...] = ()
    values: frozenset[str] = frozenset()

    def allows(self, secret: str) -> bool:
        return secret in self.values or any(r.search(secret) for r in self.regexes)


class RuleSet(msgspec.Struct, frozen=True):
    rules: tuple[Rule, ...]
    allow: Allow = msgspec.field(default_factory=Allow)
    excluded: GlobSet | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE

    def skips(self, path: str) -> bool:
        """True for a path that is excluded by default or allowed by the user."""
        return any(p is not None and p.match(path) for p in (self.excluded, self.allow.paths))


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _strings(doc: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, f"{key!r} must be a list of non-empty strings")
    return tuple(value)


def _text(doc: dict[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key!r} is missing or not a string")
    return value


def parse_rule(doc: Any, where: str, check: bool = True) -> Rule:
    """One ``[[rule]]`` table. ``check`` compiles its regex now, so that a bad one is an
    error before the scan (the built-in rules' are compiled by the tests instead)."""
    if not isinstance(doc, dict):
        raise _fail(where, "a rule must be a table")
    rule_id = _text(doc, "id", where)
    where = f"{where} ({rule_id})"
    if not _ID.match(rule_id):
        raise _fail(where, "id must be lower-case kebab-case")
    unknown = set(doc) - {"id", "title", "severity", "keywords", "regex", "entropy",
                          "stopwords", "paths", "window", "identifiers"}
    if unknown:
        raise _fail(where, f"unknown key(s): {', '.join(sorted(unknown))}")
    pattern = _text(doc, "regex", where).encode()
    try:
        severity = Severity.parse(_text(doc, "severity", where))
        if check:
            _compiled(pattern)
    except (ValueError, re.error) as e:
        raise _fail(where, str(e)) from e
    keywords = tuple(k.lower() for k in _strings(doc, "keywords", where))
    if not keywords:
        raise _fail(where, "at least one keyword is needed (regexes run only near one)")
    entropy = doc.get("entropy")
    if entropy is not None and (isinstance(entropy, bool)
                                or not isinstance(entropy, int | float) or entropy < 0):
        raise _fail(where, "'entropy' must be a non-negative number")
    stopwords = doc.get("stopwords", False)
    if not isinstance(stopwords, bool):
        raise _fail(where, "'stopwords' must be true or false")
    identifiers = doc.get("identifiers", True)
    if not isinstance(identifiers, bool):
        raise _fail(where, "'identifiers' must be true or false")
    return Rule(id=rule_id, title=_text(doc, "title", where), severity=severity,
                keywords=keywords, pattern=pattern,
                entropy=float(entropy) if entropy is not None else None,
                stopwords=stopwords, paths=globs(_strings(doc, "paths", where)),
                window=_window(doc.get("window"), where), identifiers=identifiers)


def _window(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_WINDOW
                       for v in value)):
        raise _fail(where, f"'window' must be [bytes before, bytes after], each 0 to {MAX_WINDOW}")
    return value[0], value[1]


def _rules(doc: dict[str, Any], where: str, check: bool = True) -> list[Rule]:
    tables = doc.get("rule", [])
    if not isinstance(tables, list):
        raise _fail(where, "'rule' must be an array of tables ([[rule]])")
    return [parse_rule(t, f"{where}: rule {i + 1}", check) for i, t in enumerate(tables)]


def _allow(doc: dict[str, Any], where: str) -> Allow:
    table = doc.get("allow", {})
    if not isinstance(table, dict):
        raise _fail(where, "'allow' must be a table")
    unknown = set(table) - {"paths", "regexes", "values"}
    if unknown:
        raise _fail(where, f"[allow]: unknown key(s): {', '.join(sorted(unknown))}")
    try:
        regexes = tuple(re.compile(r) for r in _strings(table, "regexes", f"{where}: [allow]"))
    except re.error as e:
        raise _fail(where, f"[allow] regexes: {e}") from e
    return Allow(paths=globs(_strings(table, "paths", f"{where}: [allow]")),
                 regexes=regexes,
                 values=frozenset(_strings(table, "values", f"{where}: [allow]")))


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _fail(where, f"not valid TOML: {e}") from e


def builtin_rules() -> list[Rule]:
    text = resources.files(__package__).joinpath(BUILTIN).read_text(encoding="utf-8")
    return _rules(_read_toml(text, BUILTIN), BUILTIN, check=False)


@cache
def load_ruleset(user_file: Path | None = None) -> RuleSet:
    """The built-in rules, with a user's file applied. Cached: rules compile once per
    process and file, never once per image file."""
    rules = builtin_rules()
    if user_file is None:
        return RuleSet(rules=tuple(rules), excluded=globs(DEFAULT_EXCLUDED_PATHS))
    where = str(user_file)
    try:
        text = user_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(where, f"cannot read the secret config: {e}") from e
    doc = _read_toml(text, where)
    unknown = set(doc) - {"rule", "allow", "disable", "max_file_size", "default_excludes"}
    if unknown:
        raise _fail(where, f"unknown key(s): {', '.join(sorted(unknown))}")
    disabled = set(_strings(doc, "disable", where))
    known = {r.id for r in rules}
    if disabled - known:
        raise _fail(where, f"disable: no built-in rule {', '.join(sorted(disabled - known))}")
    extra = _rules(doc, where)
    clash = {r.id for r in extra} & known
    if clash:
        raise _fail(where, f"rule id(s) already built in: {', '.join(sorted(clash))} "
                           "(disable the built-in one or pick another id)")
    size = doc.get("max_file_size", DEFAULT_MAX_FILE_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise _fail(where, "'max_file_size' must be a positive number of bytes")
    keep_defaults = doc.get("default_excludes", True)
    if not isinstance(keep_defaults, bool):
        raise _fail(where, "'default_excludes' must be true or false")
    return RuleSet(rules=tuple(r for r in rules if r.id not in disabled) + tuple(extra),
                   allow=_allow(doc, where),
                   excluded=globs(DEFAULT_EXCLUDED_PATHS) if keep_defaults else None,
                   max_file_size=size)

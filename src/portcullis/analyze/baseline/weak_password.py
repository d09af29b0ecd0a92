"""The weak-password rule: password hashes of /etc/shadow (and /etc/passwd) against the
dictionary, within the time budget (see passwords.py). Versions of /etc/shadow that a later
layer deleted or overwrote are tested too: their hashes still ship in the image's layers.
Reports the account, never the password."""

from __future__ import annotations

import msgspec

from portcullis.analyze.baseline.accounts import password_rows, usable_hash
from portcullis.analyze.baseline.checks import ACCOUNTS, Check, Hit, Registry
from portcullis.analyze.baseline.etc_files import Row, parse_rows
from portcullis.analyze.baseline.libcrypt import available
from portcullis.analyze.baseline.passwords import Target, crack, dictionary, user_words
from portcullis.analyze.baseline.subject import Subject
from portcullis.model.files import FileEntry
from portcullis.model.finding import Severity, Warning

rules = Registry()
ANALYZER = "baseline"


class Source(msgspec.Struct, frozen=True):
    """Where a hash to test was found."""

    entry: FileEntry
    row: Row
    visible: bool = True


@rules.add(Check(
    id="accounts-weak-password", title="weak password (dictionary match)",
    severity=Severity.CRITICAL, baseline=ACCOUNTS,
    rationale="A password from the most common passwords is guessed in seconds by anyone who "
              "can try it (su, ssh, a web login backed by PAM).",
    remediation="Lock the account or set a strong password; better, ship no passwords in "
                "images at all (a later layer that changes /etc/shadow does not remove the "
                "old hash from the image)."))
def weak_password(subject: Subject) -> list[Hit] | None:
    sources = _sources(subject)
    if not sources:
        return None
    if not available():
        subject.warnings.append(Warning(
            message="weak-password check not run: no libcrypt on this system", analyzer=ANALYZER))
        return None
    settings = subject.ctx.checks
    words = dictionary(_user_words(subject))
    outcome = crack([Target(account=key, hash=s.row.get(1)) for key, s in sources.items()],
                    words, settings.password_budget)
    for key in sorted(outcome.unsupported):
        source = sources[key]
        subject.warnings.append(Warning(
            message=f"weak-password check: the hash of account {key} is in a format this "
                    "system's libcrypt cannot compute", path=source.entry.path,
            layer=source.entry.layer, analyzer=ANALYZER))
    for key, tried in sorted(outcome.unfinished.items()):
        source = sources[key]
        subject.warnings.append(Warning(
            message=f"weak-password check not finished for account {key}: {tried} of "
                    f"{len(words)} dictionary words tried within the {settings.password_budget:g}"
                    "s budget (--password-budget)", path=source.entry.path,
            layer=source.entry.layer, analyzer=ANALYZER))
    hits = []
    for key in sorted(outcome.cracked):
        source = sources[key]
        hits.append(subject.file_hit(source.entry, line=source.row.line, detail=key,
                                     account=source.row.name, visible=source.visible))
    return hits


def _sources(subject: Subject) -> dict[str, Source]:
    """Each hash to test once, keyed by how it is reported: the account name, with the layer
    for a deleted or overwritten version. Shadow's hash wins over one left in passwd."""
    out: dict[str, Source] = {}
    current: set[str] = set()
    for table, row in password_rows(subject):
        if row.name not in out:
            out[row.name] = Source(table.entry, row)
            current.add(row.get(1))
    for version in subject.fs.versions("/etc/shadow"):
        if version.visible or not version.meta.is_file:
            continue
        data = subject.fs.read_entry(version)
        if data is None:
            continue
        for row in parse_rows(data.decode("utf-8", "replace")):
            value = row.get(1)
            if usable_hash(value) and value not in current:
                current.add(value)
                key = f"{row.name} (hidden version of layer {version.layer})"
                out.setdefault(key, Source(version, row, visible=False))
    return out


def _user_words(subject: Subject) -> list[bytes]:
    path = subject.ctx.checks.password_dictionary
    if path is None:
        return []
    try:
        words, dropped = user_words(path)
    except OSError as e:
        subject.warnings.append(Warning(
            message=f"password dictionary {path} not read: {e}; the built-in list only",
            analyzer=ANALYZER))
        return []
    if dropped:
        subject.warnings.append(Warning(
            message=f"password dictionary {path}: the first {len(words)} words used, "
                    f"{dropped} left off", analyzer=ANALYZER))
    return words

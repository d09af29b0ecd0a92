"""Account checks over /etc/passwd, /etc/shadow and /etc/group, and the password policy of
/etc/login.defs and /etc/security/pwquality.conf."""

from __future__ import annotations

import re
from collections.abc import Iterator

from portcullis.analyze.baseline.checks import ACCOUNTS, PASSWORD_POLICY, Check, Hit, Registry
from portcullis.analyze.baseline.etc_files import Row, Table, read_settings, read_text
from portcullis.analyze.baseline.subject import Subject
from portcullis.model.finding import Severity

rules = Registry()

_DES = re.compile(r"^[./0-9A-Za-z]{13}$")
MAX_DAYS = 365  # longest password life the policy checks accept
MIN_LENGTH = 8


def usable_hash(field: str) -> bool:
    """A password field a login can match: not empty, not locked (``!``/``*``), not ``x``."""
    return bool(field) and field[0] not in "!*" and field != "x"


def password_rows(subject: Subject) -> Iterator[tuple[Table, Row]]:
    """Rows holding a password hash: shadow entries, and passwd entries without ``x``."""
    for table in (subject.shadow, subject.passwd):
        if table is None:
            continue
        for row in table.rows:
            if not row.name.startswith(("+", "-")) and usable_hash(row.get(1)):
                yield table, row


def _row_hit(subject: Subject, table: Table, row: Row, detail: str | None = None) -> Hit:
    return subject.file_hit(table.entry, line=row.line, detail=detail or row.name,
                            account=row.name)


@rules.add(Check(
    id="accounts-empty-password", title="Account with an empty password",
    severity=Severity.CRITICAL, baseline=ACCOUNTS,
    rationale="An empty password field lets anyone log in as that account without a password.",
    remediation="Lock the account (`passwd -l NAME`, or `*` in the password field)."))
def empty_password(subject: Subject) -> list[Hit] | None:
    if subject.passwd is None:
        return None
    shadowed = {r.name for r in subject.shadow.rows} if subject.shadow else set()
    hits = []
    if subject.shadow is not None:
        hits += [_row_hit(subject, subject.shadow, r) for r in subject.shadow.rows
                 if len(r.fields) > 1 and r.get(1) == "" and not r.name.startswith(("+", "-"))]
    hits += [_row_hit(subject, subject.passwd, r) for r in subject.passwd.rows
             if len(r.fields) > 1 and r.get(1) == "" and r.name not in shadowed
             and not r.name.startswith(("+", "-"))]
    return hits


@rules.add(Check(
    id="accounts-uid0", title="Non-root account with UID 0", severity=Severity.HIGH,
    baseline=ACCOUNTS,
    rationale="Every account with UID 0 is root under another name.",
    remediation="Give the account its own UID or remove it."))
def uid0(subject: Subject) -> list[Hit] | None:
    if subject.passwd is None:
        return None
    return [_row_hit(subject, subject.passwd, r) for r in subject.passwd.rows
            if r.get(2).strip() == "0" and r.name != "root"]


def _duplicates(subject: Subject, table: Table | None, column: int, what: str) -> list[Hit]:
    if table is None:
        return []
    seen: dict[str, Row] = {}
    hits = []
    for row in table.rows:
        if row.name.startswith(("+", "-")):
            continue
        value = row.get(column)
        if value in seen:
            hits.append(subject.file_hit(
                table.entry, line=row.line,
                detail=f"{what} {value} ({seen[value].name}, {row.name})", account=row.name))
        else:
            seen[value] = row
    return hits


@rules.add(Check(
    id="accounts-duplicate-name", title="Duplicate account or group name",
    severity=Severity.MEDIUM, baseline=ACCOUNTS,
    rationale="Two entries with one name make which one applies depend on the reader.",
    remediation="Remove or rename the duplicate entry."))
def duplicate_name(subject: Subject) -> list[Hit] | None:
    if subject.passwd is None and subject.group is None:
        return None
    return [*_duplicates(subject, subject.passwd, 0, "name"),
            *_duplicates(subject, subject.shadow, 0, "name"),
            *_duplicates(subject, subject.group, 0, "group")]


@rules.add(Check(
    id="accounts-duplicate-uid", title="Duplicate UID", severity=Severity.MEDIUM,
    baseline=ACCOUNTS,
    rationale="Accounts sharing a UID share every file and process: one is the other.",
    remediation="Give each account its own UID."))
def duplicate_uid(subject: Subject) -> list[Hit] | None:
    if subject.passwd is None:
        return None
    # UID 0 twice is reported by accounts-uid0.
    return [h for h in _duplicates(subject, subject.passwd, 2, "UID")
            if not (h.detail or "").startswith("UID 0 ")]


@rules.add(Check(
    id="accounts-duplicate-gid", title="Duplicate GID", severity=Severity.MEDIUM,
    baseline=ACCOUNTS,
    rationale="Groups sharing a GID share every group permission.",
    remediation="Give each group its own GID."))
def duplicate_gid(subject: Subject) -> list[Hit] | None:
    if subject.group is None:
        return None
    return _duplicates(subject, subject.group, 2, "GID")


@rules.add(Check(
    id="accounts-legacy-plus", title="Legacy '+' entry (NIS include)", severity=Severity.HIGH,
    baseline=ACCOUNTS,
    rationale="A '+' line pulls accounts from NIS; on a system without NIS some tools read it "
              "as an account named '+' with no password.",
    remediation="Remove lines starting with '+'."))
def legacy_plus(subject: Subject) -> list[Hit] | None:
    tables = [t for t in (subject.passwd, subject.shadow, subject.group) if t is not None]
    if not tables:
        return None
    return [subject.file_hit(t.entry, line=r.line, detail=f"{t.path}: {r.name}")
            for t in tables for r in t.rows if r.name.startswith("+")]


@rules.add(Check(
    id="accounts-missing-group", title="Account's primary group does not exist",
    severity=Severity.LOW, baseline=ACCOUNTS,
    rationale="A GID no group names is claimed by whichever group is created with it next.",
    remediation="Create the group or change the account's GID."))
def missing_group(subject: Subject) -> list[Hit] | None:
    if subject.passwd is None or subject.group is None:
        return None
    gids = {r.get(2) for r in subject.group.rows}
    return [_row_hit(subject, subject.passwd, r, f"{r.name} (GID {r.get(3)})")
            for r in subject.passwd.rows
            if not r.name.startswith(("+", "-")) and r.get(3) and r.get(3) not in gids]


@rules.add(Check(
    id="accounts-weak-hash", title="Password hashed with a weak algorithm (DES or MD5)",
    severity=Severity.HIGH, baseline=ACCOUNTS,
    rationale="DES and MD5-crypt hashes fall to a dictionary or brute force in minutes.",
    remediation="Set the password again with yescrypt or sha512-crypt (ENCRYPT_METHOD)."))
def weak_hash(subject: Subject) -> list[Hit] | None:
    rows = list(password_rows(subject))
    if not rows:
        return None
    hits = []
    for table, row in rows:
        value = row.get(1)
        # $1$ md5-crypt, $md5 Sun MD5, $3$ NT hash (MD4); 13-character and _ (BSDi) DES.
        algorithm = "MD5" if value.startswith(("$1$", "$md5", "$3$")) else (
            "DES" if _DES.match(value) or value.startswith("_") else None)
        if algorithm:
            hits.append(_row_hit(subject, table, row, f"{row.name} ({algorithm})"))
    return hits


def _days(subject: Subject) -> int:
    return subject.ctx.now.date().toordinal() - 719163  # days since 1970-01-01


@rules.add(Check(
    id="accounts-password-future", title="Password last changed in the future",
    severity=Severity.MEDIUM, baseline=PASSWORD_POLICY,
    rationale="A change date in the future defeats password ageing (and hints at a forged "
              "entry).",
    remediation="Set the password again, or fix the date with `chage -d`."))
def password_future(subject: Subject) -> list[Hit] | None:
    if subject.shadow is None:
        return None
    today = _days(subject)
    return [_row_hit(subject, subject.shadow, r) for r in subject.shadow.rows
            if r.get(2).isdigit() and int(r.get(2)) > today]


@rules.add(Check(
    id="accounts-no-expiry", title="Password never expires", severity=Severity.LOW,
    baseline=PASSWORD_POLICY,
    rationale="A password that never has to change stays valid as long as it leaks.",
    remediation=f"Set a maximum age (`chage -M {MAX_DAYS} NAME`), or lock the account."))
def no_expiry(subject: Subject) -> list[Hit] | None:
    if subject.shadow is None:
        return None
    rows = [r for r in subject.shadow.rows if usable_hash(r.get(1))]
    if not rows:
        return None  # no account can log in with a password
    return [_row_hit(subject, subject.shadow, r) for r in rows
            if not r.get(4).isdigit() or int(r.get(4)) > MAX_DAYS]


def _policy_applies(subject: Subject) -> bool:
    """Password rules matter only when some account can log in with a password."""
    return any(True for _ in password_rows(subject))


@rules.add(Check(
    id="policy-max-days", title="login.defs lets passwords live too long",
    severity=Severity.LOW, baseline=PASSWORD_POLICY,
    rationale="PASS_MAX_DAYS is the maximum age new accounts get.",
    remediation=f"Set PASS_MAX_DAYS {MAX_DAYS} (or less) in /etc/login.defs."))
def policy_max_days(subject: Subject) -> list[Hit] | None:
    found = read_text(subject.fs, "/etc/login.defs")
    if found is None or not _policy_applies(subject):
        return None
    entry, text = found
    value, line = read_settings(text).get("PASS_MAX_DAYS", ("", 0))
    if value.isdigit() and int(value) <= MAX_DAYS:
        return []
    return [subject.file_hit(entry, line=line or None,
                             detail=f"PASS_MAX_DAYS {value or 'unset'}")]


def _pwquality(subject: Subject) -> tuple[Hit | None, dict[str, tuple[str, int]]] | None:
    found = read_text(subject.fs, "/etc/security/pwquality.conf")
    if found is None:
        return None
    entry, text = found
    return subject.file_hit(entry), read_settings(text, "=")


@rules.add(Check(
    id="policy-min-length", title="No minimum password length of 8", severity=Severity.MEDIUM,
    baseline=PASSWORD_POLICY,
    rationale="Short passwords fall to brute force.",
    remediation=f"Set `minlen = {MIN_LENGTH}` or more in /etc/security/pwquality.conf "
                "(PASS_MIN_LEN in login.defs for shadow's own tools)."))
def policy_min_length(subject: Subject) -> list[Hit] | None:
    if not _policy_applies(subject):
        return None
    quality = _pwquality(subject)
    if quality is not None:
        hit, settings = quality
        value, line = settings.get("minlen", ("9", 0))  # libpwquality's default minlen is 9
        if value.lstrip("-").isdigit() and int(value) >= MIN_LENGTH:
            return []
        assert hit is not None
        return [Hit(detail=f"minlen {value}", path=hit.path, line=line or None,
                    layer=hit.layer, step=hit.step, inherited=hit.inherited)]
    found = read_text(subject.fs, "/etc/login.defs")
    if found is not None:
        entry, text = found
        value, line = read_settings(text).get("PASS_MIN_LEN", ("", 0))
        if value.isdigit() and int(value) >= MIN_LENGTH:
            return []
        if value:
            return [subject.file_hit(entry, line=line, detail=f"PASS_MIN_LEN {value}")]
    return [Hit(detail="no pwquality.conf or PASS_MIN_LEN")]


@rules.add(Check(
    id="policy-char-classes", title="pwquality asks for fewer than 2 character classes",
    severity=Severity.LOW, baseline=PASSWORD_POLICY,
    rationale="Passwords of one character class (digits only, say) are the first a "
              "dictionary tries.",
    remediation="Set `minclass = 3` in /etc/security/pwquality.conf."))
def policy_classes(subject: Subject) -> list[Hit] | None:
    quality = _pwquality(subject)
    if quality is None or not _policy_applies(subject):
        return None
    hit, settings = quality
    value, line = settings.get("minclass", ("0", 0))
    credits = [settings.get(k, ("0", 0))[0] for k in ("dcredit", "ucredit", "lcredit", "ocredit")]
    required = sum(1 for c in credits if c.startswith("-"))  # negative credit: required class
    if (value.isdigit() and int(value) >= 2) or required >= 2:
        return []
    assert hit is not None
    return [Hit(detail=f"minclass {value}", path=hit.path, line=line or None, layer=hit.layer,
                step=hit.step, inherited=hit.inherited)]

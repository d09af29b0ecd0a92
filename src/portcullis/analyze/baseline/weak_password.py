"""The weak-password rule: password hashes of /etc/shadow (and /etc/passwd) against the
dictionary, within the time budget (see passwords.py). Reports the account, never the
password."""

from __future__ import annotations

from portcullis.analyze.baseline.accounts import password_rows
from portcullis.analyze.baseline.checks import ACCOUNTS, Check, Hit, Registry
from portcullis.analyze.baseline.etc_files import Row, Table
from portcullis.analyze.baseline.libcrypt import available
from portcullis.analyze.baseline.passwords import Target, crack, dictionary, user_words
from portcullis.analyze.baseline.subject import Subject
from portcullis.model.finding import Severity, Warning

rules = Registry()
ANALYZER = "baseline"


@rules.add(Check(
    id="accounts-weak-password", title="weak password (dictionary match)",
    severity=Severity.CRITICAL, baseline=ACCOUNTS,
    rationale="A password from the most common passwords is guessed in seconds by anyone who "
              "can try it (su, ssh, a web login backed by PAM).",
    remediation="Lock the account or set a strong password; better, ship no passwords in "
                "images at all."))
def weak_password(subject: Subject) -> list[Hit] | None:
    rows = list(password_rows(subject))
    if not rows:
        return None
    if not available():
        subject.warnings.append(Warning(
            message="weak-password check not run: no libcrypt on this system", analyzer=ANALYZER))
        return None
    settings = subject.ctx.checks
    extra: list[bytes] = []
    if settings.password_dictionary is not None:
        try:
            extra, dropped = user_words(settings.password_dictionary)
        except OSError as e:
            subject.warnings.append(Warning(
                message=f"password dictionary {settings.password_dictionary} not read: {e}; "
                        "the built-in list only", analyzer=ANALYZER))
        else:
            if dropped:
                subject.warnings.append(Warning(
                    message=f"password dictionary {settings.password_dictionary}: the first "
                            f"{len(extra)} words used, {dropped} left off", analyzer=ANALYZER))
    words = dictionary(extra)
    # One target per account: shadow's hash wins over a hash left in passwd.
    chosen: dict[str, tuple[Table, Row]] = {}
    for table, row in rows:
        chosen.setdefault(row.name, (table, row))
    outcome = crack([Target(account=name, hash=row.get(1)) for name, (_, row) in chosen.items()],
                    words, settings.password_budget)
    for account in sorted(outcome.unsupported):
        table, row = chosen[account]
        subject.warnings.append(Warning(
            message=f"weak-password check: the hash of account {account} is in a format this "
                    "system's libcrypt cannot compute", path=table.path, layer=table.entry.layer,
            analyzer=ANALYZER))
    for account, tried in sorted(outcome.unfinished.items()):
        table, _row = chosen[account]
        subject.warnings.append(Warning(
            message=f"weak-password check not finished for account {account}: {tried} of "
                    f"{len(words)} dictionary words tried within the {settings.password_budget:g}"
                    "s budget (--password-budget)", path=table.path, layer=table.entry.layer,
            analyzer=ANALYZER))
    return [subject.file_hit(chosen[a][0].entry, line=chosen[a][1].line, detail=a, account=a)
            for a in sorted(outcome.cracked)]

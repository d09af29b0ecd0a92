"""sshd configuration checks: /etc/ssh/sshd_config with its Include files, and host private
keys baked into the image."""

from __future__ import annotations

import fnmatch

import msgspec

from portcullis.analyze.baseline.checks import SSH, Check, Hit, Registry
from portcullis.analyze.baseline.etc_files import read_text
from portcullis.analyze.baseline.subject import Subject
from portcullis.model.files import FileEntry
from portcullis.model.finding import Severity

rules = Registry()

CONFIG = "/etc/ssh/sshd_config"
MAX_INCLUDES = 64  # Include files read per config (a loop or a glob over /etc stays bounded)
WEAK_CIPHERS = frozenset({
    "3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "arcfour", "arcfour128",
    "arcfour256", "blowfish-cbc", "cast128-cbc", "rijndael-cbc@lysator.liu.se",
})
WEAK_MACS = frozenset({
    "hmac-md5", "hmac-md5-96", "hmac-md5-etm@openssh.com", "hmac-md5-96-etm@openssh.com",
    "hmac-sha1-96", "hmac-sha1-96-etm@openssh.com", "umac-64@openssh.com",
    "umac-64-etm@openssh.com", "hmac-ripemd160", "hmac-ripemd160@openssh.com",
})


class Setting(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    entry: FileEntry
    line: int


def sshd_settings(subject: Subject) -> dict[str, Setting] | None:
    """Keyword (lower case) → its effective setting. sshd keeps the first value it reads;
    ``Include`` files are read in place; ``Match`` blocks are conditional and not read."""
    found = read_text(subject.fs, CONFIG)
    if found is None:
        return None
    out: dict[str, Setting] = {}
    _read(subject, found[0], found[1], out, [0])
    return out


def _read(subject: Subject, entry: FileEntry, text: str, out: dict[str, Setting],
          budget: list[int]) -> None:
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.replace("=", " ", 1).partition(" ")
        key, value = key.lower(), value.strip()
        if key == "match":
            return
        if key == "include":
            for pattern in value.split():
                _include(subject, pattern, out, budget)
            continue
        out.setdefault(key, Setting(value=value, entry=entry, line=n))


def _include(subject: Subject, pattern: str, out: dict[str, Setting], budget: list[int]) -> None:
    if not pattern.startswith("/"):
        pattern = "/etc/ssh/" + pattern
    directory = pattern.rsplit("/", 1)[0]
    paths = sorted(e.path for e in subject.fs.glob(directory + "/*")
                   if fnmatch.fnmatchcase(e.path, pattern))
    for path in paths:
        budget[0] += 1
        if budget[0] > MAX_INCLUDES:
            return
        found = read_text(subject.fs, path)
        if found is not None:
            _read(subject, found[0], found[1], out, budget)


def _setting_hit(subject: Subject, setting: Setting, key: str) -> Hit:
    return subject.file_hit(setting.entry, line=setting.line, detail=f"{key} {setting.value}")


@rules.add(Check(
    id="ssh-permit-root-login", title="sshd allows root to log in with a password",
    severity=Severity.HIGH, baseline=SSH,
    rationale="Root login over SSH with a password invites brute force on the one account "
              "every attacker knows.",
    remediation="Set `PermitRootLogin no` (or `prohibit-password`)."))
def permit_root_login(subject: Subject) -> list[Hit] | None:
    settings = sshd_settings(subject)
    if settings is None:
        return None
    setting = settings.get("permitrootlogin")
    if setting is None or setting.value.lower() != "yes":
        return []  # OpenSSH's default is prohibit-password
    return [_setting_hit(subject, setting, "PermitRootLogin")]


@rules.add(Check(
    id="ssh-password-authentication", title="sshd accepts passwords", severity=Severity.MEDIUM,
    baseline=SSH,
    rationale="Password logins can be guessed; keys cannot.",
    remediation="Set `PasswordAuthentication no` and use keys."))
def password_authentication(subject: Subject) -> list[Hit] | None:
    settings = sshd_settings(subject)
    if settings is None:
        return None
    setting = settings.get("passwordauthentication")
    if setting is None:
        config = subject.fs.resolve(CONFIG)
        assert config is not None  # sshd_settings read it
        return [subject.file_hit(config, detail="PasswordAuthentication unset (default yes)")]
    if setting.value.lower() == "yes":
        return [_setting_hit(subject, setting, "PasswordAuthentication")]
    return []


@rules.add(Check(
    id="ssh-permit-empty-passwords", title="sshd accepts empty passwords",
    severity=Severity.HIGH, baseline=SSH,
    rationale="Any account with an empty password becomes a remote login without one.",
    remediation="Set `PermitEmptyPasswords no` (the default)."))
def permit_empty(subject: Subject) -> list[Hit] | None:
    settings = sshd_settings(subject)
    if settings is None:
        return None
    setting = settings.get("permitemptypasswords")
    if setting is not None and setting.value.lower() == "yes":
        return [_setting_hit(subject, setting, "PermitEmptyPasswords")]
    return []


@rules.add(Check(
    id="ssh-protocol-1", title="sshd allows SSH protocol 1", severity=Severity.HIGH,
    baseline=SSH,
    rationale="SSH-1 is broken (session hijacking, CRC attacks).",
    remediation="Remove the Protocol line (or set `Protocol 2`)."))
def protocol_1(subject: Subject) -> list[Hit] | None:
    settings = sshd_settings(subject)
    if settings is None:
        return None
    setting = settings.get("protocol")
    if setting is not None and "1" in setting.value.replace(" ", "").split(","):
        return [_setting_hit(subject, setting, "Protocol")]
    return []


def _weak_list(subject: Subject, key: str, label: str, weak: frozenset[str]) -> list[Hit] | None:
    settings = sshd_settings(subject)
    if settings is None:
        return None
    setting = settings.get(key)
    if setting is None:
        return []  # OpenSSH's defaults hold none of them
    names = setting.value.lstrip("+^").split(",")
    bad = [n for n in names if n.strip().lower() in weak]
    if not bad or setting.value.startswith("-"):
        return []
    return [subject.file_hit(setting.entry, line=setting.line, detail=f"{label} {','.join(bad)}")]


@rules.add(Check(
    id="ssh-weak-ciphers", title="sshd offers weak ciphers", severity=Severity.MEDIUM,
    baseline=SSH,
    rationale="CBC-mode, RC4, 3DES and Blowfish ciphers have practical attacks.",
    remediation="List only chacha20-poly1305, aes-gcm and aes-ctr ciphers."))
def weak_ciphers(subject: Subject) -> list[Hit] | None:
    return _weak_list(subject, "ciphers", "Ciphers", WEAK_CIPHERS)


@rules.add(Check(
    id="ssh-weak-macs", title="sshd offers weak MACs", severity=Severity.MEDIUM, baseline=SSH,
    rationale="MD5, RIPEMD-160, 96-bit and 64-bit MACs are too weak for integrity.",
    remediation="List only hmac-sha2-256/512 (-etm) and umac-128 MACs."))
def weak_macs(subject: Subject) -> list[Hit] | None:
    return _weak_list(subject, "macs", "MACs", WEAK_MACS)


@rules.add(Check(
    id="ssh-host-keys", title="SSH host private key baked into the image",
    severity=Severity.HIGH, baseline=SSH,
    rationale="Every container of the image shares the key: anyone with the image can "
              "impersonate all of them.",
    remediation="Generate host keys when the container starts (`ssh-keygen -A`) and delete "
                "them in the build."))
def host_keys(subject: Subject) -> list[Hit] | None:
    keys = [e for e in subject.fs.glob("/etc/ssh/ssh_host_*_key") if e.meta.is_file]
    if not keys and subject.fs.resolve(CONFIG) is None:
        return None
    return [subject.file_hit(e) for e in keys]

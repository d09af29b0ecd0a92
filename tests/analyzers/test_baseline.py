"""Baseline checks on real planted images (kit), a hardened image, and unit cases for the
history parser, the sshd and sudoers readers and the weak-password cracker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portcullis.analyze.base import CheckSettings
from portcullis.analyze.baseline.analyzer import Baseline
from portcullis.analyze.baseline.checks import redact
from portcullis.analyze.baseline.history import parse_line
from portcullis.analyze.baseline.passwords import Target, builtin_words, crack
from portcullis.model.image import HistoryEntry, ImageConfig, ImageInfo, LayerRef
from tests.analyzers.crypt_helpers import hash_password
from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.kit import Layer, directory, file
from tests.unit.layer_helpers import analysis_context, view_of

ELF = b"\x7fELF" + b"\0" * 28
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_PASSWD = ("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
BASE_GROUP = "root:x:0:\ndaemon:x:1:\nsudo:x:27:\nnogroup:x:65534:\n"
BASE_SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"
ADD_ROOTFS = "ADD rootfs.tar / # buildkit"
APT_UPDATE = "RUN /bin/sh -c apt-get update # buildkit"
ADD_USERS = "RUN /bin/sh -c useradd -o -u 0 toor && echo root:$PW | chpasswd # buildkit"
INSTALL_SSH = ("RUN /bin/sh -c apt-get install -y openssh-server sudo && "
               "curl -fsSL https://example.com/install.sh | sh # buildkit")
SUID_BASH = "RUN /bin/sh -c chmod u+s /bin/bash && sudo chmod 777 /srv # buildkit"


def planted_spec(root_hash: str, alice_hash: str) -> kit.ImageSpec:
    passwd = BASE_PASSWD + ("toor:x:0:0::/root:/bin/bash\n"
                            "alice:x:1000:1000::/home/alice:/bin/bash\n")
    shadow = (f"root:{root_hash}:19000:0:::::\ndaemon:*:19000:0:99999:7:::\n"
              "nobody:*:19000:0:99999:7:::\ntoor:!:19000::::::\n"
              f"alice:{alice_hash}:19000:0:::::\n")
    group = "root:x:0:\ndaemon:x:1:\nsudo:x:27:alice\nnogroup:x:65534:\nalice:x:1000:\n"
    base = Layer([
        directory("etc"), directory("bin"), directory("srv"),
        file("etc/passwd", BASE_PASSWD), file("etc/group", BASE_GROUP),
        file("etc/shadow", BASE_SHADOW, mode=0o640),
        file("etc/login.defs", "PASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\n"),
        directory("etc/cron.d"), file("etc/cron.d/job", "* * * * * root /bin/true\n", mode=0o666),
        file("bin/bash", ELF, mode=0o755),
    ], created_by=ADD_ROOTFS)
    apt = Layer([directory("var"), directory("var/lib"), directory("var/lib/apt"),
                 directory("var/lib/apt/lists"),
                 file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "x"),
                 file("var/lib/apt/lists/lock", "")], created_by=APT_UPDATE)
    users = Layer([file("etc/passwd", passwd), file("etc/group", group),
                   file("etc/shadow", shadow, mode=0o640)], created_by=ADD_USERS)
    ssh = Layer([
        directory("etc/ssh"), directory("etc/ssh/sshd_config.d"),
        file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n"
                                    "PermitRootLogin no\n"  # sshd keeps the first value
                                    "Match User bob\n    PermitEmptyPasswords yes\n"),
        file("etc/ssh/sshd_config.d/10-weak.conf", "Ciphers aes128-ctr,3des-cbc\n"
                                                   "Ciphers aes256-gcm@openssh.com\n"),
        file("etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", mode=0o600),
        directory("etc/sudoers.d"),
        file("etc/sudoers.d/alice", "# alice may do anything\nalice ALL=(ALL) NOPASSWD: ALL\n",
             mode=0o440),
    ], created_by=INSTALL_SSH)
    suid = Layer([file("bin/bash", ELF, mode=0o4755), directory("srv", mode=0o777)],
                 created_by=SUID_BASH)
    return kit.ImageSpec(
        layers=[base, apt, users, ssh, suid],
        config={"Env": [PATH, "DB_PASSWORD=hunter2"], "ExposedPorts": {"22/tcp": {}},
                "Cmd": ["/usr/sbin/sshd", "-D"]},
        # Before layer 1: the base's closing CMD, then this image's ENV and EXPOSE.
        empty_history=[(1, 'CMD ["bash"]'), (1, "ENV DB_PASSWORD=hunter2"),
                       (1, "EXPOSE map[22/tcp:{}]")],
    )


def hardened_spec() -> kit.ImageSpec:
    passwd = BASE_PASSWD + "app:x:1000:1000::/home/app:/usr/sbin/nologin\n"
    base = Layer([
        directory("etc"), file("etc/passwd", passwd),
        file("etc/group", BASE_GROUP + "app:x:1000:\n"),
        file("etc/shadow", BASE_SHADOW + "app:!:19000:0:99999:7:::\n", mode=0o640),
        file("etc/login.defs", "PASS_MAX_DAYS\t99999\n"),
        directory("bin"), file("bin/bash", ELF, mode=0o755),
    ], created_by=ADD_ROOTFS)
    app = Layer([directory("app"), file("app/server", ELF, mode=0o755)],
                created_by="COPY server /app/server # buildkit")
    labels = {f"org.opencontainers.image.{k}": v
              for k, v in (("title", "app"), ("source", "https://example.com/app"),
                           ("version", "1.0"))}
    return kit.ImageSpec(
        layers=[base, app],
        config={"Env": [PATH], "User": "1000", "Labels": labels,
                "Healthcheck": {"Test": ["CMD", "/app/server", "--health"]}},
        empty_history=[(1, 'CMD ["bash"]'), (2, "USER 1000"),
                       (2, 'HEALTHCHECK &{["CMD" "/app/server" "--health"]}')],
    )


def _scan(tmp_path: Path, spec: kit.ImageSpec, *extra: str) -> dict[str, Any]:
    image = kit.write_oci_archive(tmp_path / "image.tar", spec)
    out = tmp_path / "report.json"
    table = tmp_path / "report.txt"
    result = run_cli("scan", "--scanners", "baseline", "-q", "--format", "json", "-o", str(out),
                     "--report", f"table={table}", *extra, f"oci-archive:{image}")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    doc["_text"] = out.read_text()
    doc["_table"] = table.read_text()
    return doc


def _by_id(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        assert f["kind"] == "baseline"
        found.setdefault(f["id"], []).append(f)
    return found


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = planted_spec(hash_password("123456", "$y$"), hash_password("password", "$6$"))
    return _scan(tmp_path_factory.mktemp("planted"), spec)


def test_planted_image_fires_every_check_with_layer_and_instruction(
        planted: dict[str, Any]) -> None:
    found = _by_id(planted)
    # (id, path, layer, instruction, inherited) of each expected finding
    expected = {
        "docker-root-user": [(None, None, None, None)],
        "docker-no-healthcheck": [(None, None, None, None)],
        "docker-apt-update-alone": [(None, 1, APT_UPDATE, False)],
        "docker-package-cache": [("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
                                  1, APT_UPDATE, False)],
        "docker-secret-in-env": [(None, None, "ENV DB_PASSWORD=***", False)],
        "docker-sensitive-port": [(None, None, "EXPOSE map[22/tcp:{}]", False)],
        "docker-pipe-to-shell": [(None, 3, INSTALL_SSH, False)],
        "docker-chmod-777": [(None, 4, SUID_BASH, False)],
        "docker-sudo-in-run": [(None, 4, SUID_BASH, False)],
        "docker-oci-labels": [(None, None, None, None)],
        "accounts-uid0": [("/etc/passwd", 2, ADD_USERS, False)],
        "accounts-weak-password": [("/etc/shadow", 2, ADD_USERS, False)] * 2,
        "accounts-no-expiry": [("/etc/shadow", 2, ADD_USERS, False)] * 2,
        "policy-max-days": [("/etc/login.defs", 0, ADD_ROOTFS, True)],
        "policy-min-length": [(None, None, None, None)],
        "ssh-permit-root-login": [("/etc/ssh/sshd_config", 3, INSTALL_SSH, False)],
        "ssh-password-authentication": [("/etc/ssh/sshd_config", 3, INSTALL_SSH, False)],
        "ssh-weak-ciphers": [("/etc/ssh/sshd_config.d/10-weak.conf", 3, INSTALL_SSH, False)],
        "ssh-host-keys": [("/etc/ssh/ssh_host_ed25519_key", 3, INSTALL_SSH, False)],
        "sudo-nopasswd-all": [("/etc/sudoers.d/alice", 3, INSTALL_SSH, False)],
        "privileged-group-members": [("/etc/group", 2, ADD_USERS, False)],
        "setuid-shell": [("/bin/bash", 4, SUID_BASH, False)],
        "cron-writable": [("/etc/cron.d/job", 0, ADD_ROOTFS, True)],
    }
    got = {k: sorted(((f["path"], f["layer"], f["instruction"], f["inherited"]) for f in v),
                     key=str) for k, v in found.items()}
    assert got == {k: sorted(v, key=str) for k, v in expected.items()}
    # The base image's own lines are flagged as inherited in from_base_image too.
    assert {f["from_base_image"] for f in found["cron-writable"]} == {True}
    assert {f["from_base_image"] for f in found["setuid-shell"]} == {False}


def test_planted_findings_name_accounts_and_lines(planted: dict[str, Any]) -> None:
    found = _by_id(planted)
    weak = sorted((f["account"], f["line"], f["severity"], f["title"])
                  for f in found["accounts-weak-password"])
    assert weak == [("alice", 5, "CRITICAL", "weak password (dictionary match): alice"),
                    ("root", 1, "CRITICAL", "weak password (dictionary match): root")]
    assert [f["account"] for f in found["accounts-uid0"]] == ["toor"]
    assert [f["line"] for f in found["ssh-permit-root-login"]] == [2]  # first value wins
    assert [f["line"] for f in found["sudo-nopasswd-all"]] == [2]
    assert found["docker-sensitive-port"][0]["title"].endswith("22/tcp (SSH)")
    assert found["docker-secret-in-env"][0]["title"].endswith("ENV DB_PASSWORD")
    # The Match block is conditional: its PermitEmptyPasswords is not the global setting.
    assert "ssh-permit-empty-passwords" not in found
    fingerprints = [f["fingerprint"] for f in planted["findings"]]
    assert len(fingerprints) == len(set(fingerprints))


def test_planted_report_never_shows_passwords_or_secret_values(planted: dict[str, Any]) -> None:
    findings = json.dumps(planted["findings"])
    assert "123456" not in planted["_text"]
    assert "hunter2" not in findings
    assert "123456" not in planted["_table"]
    assert "hunter2" not in planted["_table"]


def test_planted_baselines_counted_and_tabled(planted: dict[str, Any]) -> None:
    baselines = {b["name"]: b for b in planted["baselines"]}
    assert list(baselines) == ["CIS Docker 4", "Linux accounts", "Password policy", "SSH",
                               "Privileges"]
    for b in baselines.values():
        failed = sum(1 for c in b["checks"] if c["status"] == "failed")
        assert b["failed"] == failed
        assert b["passed"] + b["failed"] + b["not_applicable"] == len(b["checks"])
    assert baselines["SSH"]["failed"] == 4
    assert baselines["Privileges"]["failed"] == 4
    assert planted["scanners"]["baseline"]["status"] == "ok"
    table = planted["_table"]
    assert "Baselines" in table and "SSH" in table
    assert "ssh-permit-root-login" in table and "RUN /bin/sh -c apt-get install" in table


def test_hardened_image_passes_config_and_account_checks(tmp_path: Path) -> None:
    doc = _scan(tmp_path, hardened_spec())
    baselines = {b["name"]: b for b in doc["baselines"]}
    assert baselines["CIS Docker 4"]["failed"] == 0
    assert baselines["CIS Docker 4"]["passed"] == len(baselines["CIS Docker 4"]["checks"])
    assert baselines["Linux accounts"]["failed"] == 0
    assert baselines["Linux accounts"]["passed"] >= 7
    assert baselines["Privileges"]["failed"] == 0
    assert doc["findings"] == []


def test_weak_password_budget_reports_unfinished_accounts(tmp_path: Path) -> None:
    strong = hash_password("a long passphrase nobody guesses", "$6$")
    spec = planted_spec(strong, strong)
    doc = _scan(tmp_path, spec, "--password-budget", "0")
    assert "accounts-weak-password" not in _by_id(doc)
    unfinished = sorted(w["message"].split(":")[0] for w in doc["warnings"]
                        if "not finished" in w["message"])
    assert unfinished == ["weak-password check not finished for account alice",
                          "weak-password check not finished for account root"]


def test_user_dictionary_words_are_tried(tmp_path: Path) -> None:
    secret = "Corr3ct-Horse-Battery"
    words = tmp_path / "words.txt"
    words.write_text("first\n" + secret + "\n")
    spec = planted_spec(hash_password(secret, "$y$"), "*")
    doc = _scan(tmp_path, spec, "--password-dictionary", str(words))
    assert [f["account"] for f in _by_id(doc)["accounts-weak-password"]] == ["root"]
    assert secret not in doc["_text"]


@pytest.mark.parametrize("prefix", ["$y$", "$6$", "$5$", "$1$", "$2b$", "des"])
def test_cracker_knows_every_hash_format(prefix: str) -> None:
    words = builtin_words()
    assert len(words) >= 1000
    targets = [Target(account="weak", hash=hash_password(words[40].decode(), prefix)),
               Target(account="strong", hash=hash_password("not in any list 9!", prefix))]
    outcome = crack(targets, words[:60], budget=120)
    assert outcome.cracked == {"weak"}
    assert outcome.unfinished == {}
    assert outcome.unsupported == set()


def test_cracker_names_hashes_libcrypt_cannot_compute() -> None:
    outcome = crack([Target(account="odd", hash="$zz$unknownformat")], [b"x"], budget=10)
    assert outcome.unsupported == {"odd"}
    assert outcome.cracked == set()


@pytest.mark.parametrize(("line", "keyword", "body", "args"), [
    ("RUN /bin/sh -c apt-get update # buildkit", "RUN", "apt-get update", ()),
    ("/bin/sh -c apt-get update", "RUN", "apt-get update", ()),
    ("|2 TOKEN=x MODE=y /bin/sh -c make", "RUN", "make", ("TOKEN", "MODE")),
    ("RUN |1 API_KEY=s /bin/sh -c make # buildkit", "RUN", "make", ("API_KEY",)),
    ("/bin/sh -c #(nop)  EXPOSE 22", "EXPOSE", "22", ()),
    ("/bin/sh -c #(nop) ADD file:abc in / ", "ADD", "file:abc in /", ()),
    ("USER 1000", "USER", "1000", ()),
    ("", "", "", ()),
])
def test_history_lines_parse(line: str, keyword: str, body: str, args: tuple[str, ...]) -> None:
    assert parse_line(line) == (keyword, body, args)


def _analyze(layers: list[Layer], config: ImageConfig | None = None,
             budget: float = 5) -> dict[str, list[str]]:
    view = view_of(layers)
    try:
        info = ImageInfo(reference="t", source="test", manifest_digest=None, config_digest=None,
                         config=config or ImageConfig(),
                         layers=tuple(LayerRef(index=i, diff_id=kit.sha(layer.tar_bytes()))
                                      for i, layer in enumerate(layers)))
        ctx = analysis_context(image=info)
        ctx.checks = CheckSettings(password_budget=budget)
        result = Baseline().analyze(view, ctx)
    finally:
        view.close()
    out: dict[str, list[str]] = {}
    for f in result.findings:
        out.setdefault(f.id, []).append(f.title)
    return out


def test_sshd_weak_macs_protocol_and_empty_passwords() -> None:
    config = ("Protocol 2,1\nPermitEmptyPasswords yes\nPasswordAuthentication no\n"
              "MACs hmac-sha2-256,hmac-md5\nCiphers -3des-cbc\n")
    found = _analyze([Layer([directory("etc"), directory("etc/ssh"),
                             file("etc/ssh/sshd_config", config)])])
    assert found["ssh-protocol-1"] == ["sshd allows SSH protocol 1: Protocol 2,1"]
    assert found["ssh-permit-empty-passwords"]
    assert found["ssh-weak-macs"] == ["sshd offers weak MACs: MACs hmac-md5"]
    assert "ssh-weak-ciphers" not in found  # "-" removes from the default list
    assert "ssh-password-authentication" not in found


def test_accounts_table_checks() -> None:
    passwd = ("root:x:0:0::/root:/bin/sh\nroot:x:0:0::/root:/bin/sh\nbob::1001:1001::/:/bin/sh\n"
              "carol:x:1001:4242::/:/bin/sh\n+::::::\n")
    shadow = "root:ab01FAX.bQRSU:99999:0:99999:7:::\ncarol:$1$salt$hash:1:0:::::\n"
    group = "root:x:0:\nbob:x:1001:\nbob2:x:1001:\n"
    found = _analyze([Layer([directory("etc"), file("etc/passwd", passwd),
                             file("etc/shadow", shadow), file("etc/group", group)])])
    assert found["accounts-duplicate-name"] == ["Duplicate account or group name: name root "
                                                "(root, root)"]
    assert "accounts-duplicate-uid" in found  # bob and carol share 1001
    assert "accounts-duplicate-gid" in found
    assert found["accounts-empty-password"] == ["Account with an empty password: bob"]
    assert found["accounts-legacy-plus"] == ["Legacy '+' entry (NIS include): /etc/passwd: +"]
    assert found["accounts-missing-group"] == [
        "Account's primary group does not exist: carol (GID 4242)"]
    assert sorted(found["accounts-weak-hash"]) == [
        "Password hashed with a weak algorithm (DES or MD5): carol (MD5)",
        "Password hashed with a weak algorithm (DES or MD5): root (DES)"]
    assert found["accounts-password-future"] == ["Password last changed in the future: root"]


def test_weak_password_in_an_overwritten_shadow_is_found() -> None:
    weak = hash_password("letmein", "$6$")
    layers = [Layer([directory("etc"), file("etc/passwd", BASE_PASSWD),
                     file("etc/shadow", f"root:{weak}:19000:0:99999:7:::\n")]),
              Layer([file("etc/shadow", BASE_SHADOW)])]
    view = view_of(layers)
    try:
        info = ImageInfo(reference="t", source="test", manifest_digest=None, config_digest=None,
                         config=ImageConfig(),
                         layers=tuple(LayerRef(index=i, diff_id=kit.sha(layer.tar_bytes()))
                                      for i, layer in enumerate(layers)))
        result = Baseline().analyze(view, analysis_context(image=info))
    finally:
        view.close()
    [found] = [f for f in result.findings if f.id == "accounts-weak-password"]
    assert (found.path, found.line, found.layer, found.visible) == ("/etc/shadow", 1, 0, False)
    assert found.title == ("weak password (dictionary match): root (hidden version of "
                           "layer 0)")
    assert found.extra["account"] == "root"


@pytest.mark.parametrize(("line", "names", "shown"), [
    ("ENV DB_PASSWORD=hunter2 MODE=x", ("DB_PASSWORD",), "ENV DB_PASSWORD=*** MODE=x"),
    ('ENV API_TOKEN="a b" MODE=x', ("API_TOKEN",), "ENV API_TOKEN=*** MODE=x"),
    ("/bin/sh -c #(nop)  ENV SECRET_KEY s3cr3t value", ("SECRET_KEY",),
     "/bin/sh -c #(nop)  ENV SECRET_KEY ***"),
    ("RUN |1 NPM_TOKEN=abc /bin/sh -c npm ci # buildkit", ("NPM_TOKEN",),
     "RUN |1 NPM_TOKEN=*** /bin/sh -c npm ci # buildkit"),
    ("ARG GITHUB_TOKEN", ("GITHUB_TOKEN",), "ARG GITHUB_TOKEN"),
])
def test_secret_values_are_masked_in_instructions(line: str, names: tuple[str, ...],
                                                  shown: str) -> None:
    assert redact(line, names) == shown


def test_missing_password_dictionary_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("scan", "--password-dictionary", str(tmp_path / "nope.txt"), "oci:x")
    assert "--password-dictionary" in one_line_error(result)


def test_hostile_hashes_do_not_stop_the_cracker() -> None:
    targets = [Target(account="nul", hash="$6$ab\0cd"), Target(account="huge", hash="$6$" + "a" * 100000),
               Target(account="weak", hash=hash_password("123456", "$5$"))]
    outcome = crack(targets, builtin_words()[:5], budget=60)
    assert outcome.cracked == {"weak"}
    # libcrypt cuts the long salt and hashes (no match); a NUL cannot reach it at all.
    assert outcome.unsupported == {"nul"}
    assert outcome.unfinished == {}


def test_history_checks_in_classic_and_buildkit_spellings() -> None:
    lines = [
        ("/bin/sh -c #(nop) ADD file:abc in / ", False),  # may be an archive: not judged
        ("ADD https://example.com/tool.tar.gz /opt/ # buildkit", False),
        ("ADD app.py /app/ # buildkit", False),
        ("/bin/sh -c #(nop)  VOLUME [/proc/sys /data]", True),
        ("ARG NPM_TOKEN", True),
        ("|1 NPM_TOKEN=abc /bin/sh -c apk add curl && apt-get dist-upgrade -y", False),
        ("COPY --from=node:latest /usr/local/bin/node /usr/local/bin/ # buildkit", False),
        ("/bin/sh -c apk add --no-cache git && chmod -R a+rwx /data", False),
    ]
    history = tuple(HistoryEntry(created_by=line, empty_layer=empty) for line, empty in lines)
    layers = [Layer([directory(f"d{i}")]) for i in range(sum(not e for _, e in lines))]
    found = _analyze(layers, ImageConfig(user="app", history=history,
                                         healthcheck={"Test": ["CMD", "true"]}))
    assert found["docker-add-instead-of-copy"] == ["ADD used where COPY would do"]
    assert found["docker-add-remote-url"] == ["ADD of a remote URL"]
    assert found["docker-system-volume"] == ["VOLUME over /proc, /sys or /dev: /proc/sys"]
    assert sorted(found["docker-secret-in-env"]) == [
        "Secret-looking name in ENV or build arguments: build argument NPM_TOKEN"] * 2
    assert found["docker-apk-add-cache"] == ["`apk add` without --no-cache"]
    assert found["docker-dist-upgrade"] == ["dist-upgrade in a RUN"]
    assert found["docker-latest-tag"] == ["Image referenced by `latest`: node:latest"]
    assert found["docker-chmod-777"] == ["chmod 777 in RUN"]
    assert "docker-root-user" not in found and "docker-no-healthcheck" not in found


def test_password_policy_from_pwquality_and_login_defs() -> None:
    weak = hash_password("not a dictionary word 42", "$6$")
    accounts = [directory("etc"), file("etc/passwd", BASE_PASSWD),
                file("etc/shadow", f"root:{weak}:19000:0:90:7:::\n")]
    loose = _analyze([Layer([*accounts, directory("etc/security"),
                             file("etc/security/pwquality.conf", "# policy\nminlen = 6\nminclass=1\n"),
                             file("etc/login.defs", "PASS_MAX_DAYS 90\nPASS_MIN_LEN 12\n")])],
                     budget=0)
    assert loose["policy-min-length"] == ["No minimum password length of 8: minlen 6"]
    assert loose["policy-char-classes"] == [
        "pwquality asks for fewer than 2 character classes: minclass 1"]
    assert "policy-max-days" not in loose and "accounts-no-expiry" not in loose
    strict = _analyze([Layer([*accounts, directory("etc/security"),
                              file("etc/security/pwquality.conf", "dcredit=-1\nucredit=-1\n"),
                              file("etc/login.defs", "PASS_MAX_DAYS 99999\n")])], budget=0)
    assert "policy-min-length" not in strict  # libpwquality's default minlen is 9
    assert "policy-char-classes" not in strict  # two required classes by negative credits
    assert strict["policy-max-days"] == ["login.defs lets passwords live too long: "
                                         "PASS_MAX_DAYS 99999"]
    defs_only = _analyze([Layer([*accounts, file("etc/login.defs", "PASS_MIN_LEN 5\n")])],
                         budget=0)
    assert defs_only["policy-min-length"] == ["No minimum password length of 8: PASS_MIN_LEN 5"]
    assert defs_only["policy-max-days"] == ["login.defs lets passwords live too long: "
                                            "PASS_MAX_DAYS unset"]


def test_user_with_uid0_is_root() -> None:
    passwd = BASE_PASSWD + "toor:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n"
    layers = [Layer([directory("etc"), file("etc/passwd", passwd)])]
    assert _analyze(layers, ImageConfig(user="toor"))["docker-root-user"] == [
        "Image runs as root: USER toor"]
    assert "docker-root-user" not in _analyze(layers, ImageConfig(user="app:app"))


def test_sshd_include_loop_is_bounded() -> None:
    config = "Include /etc/ssh/sshd_config\nInclude sshd_config.d/*\nPermitRootLogin yes\n"
    found = _analyze([Layer([directory("etc"), directory("etc/ssh"),
                             directory("etc/ssh/sshd_config.d"),
                             file("etc/ssh/sshd_config.d/a.conf", "Include /etc/ssh/sshd_config\n"),
                             file("etc/ssh/sshd_config", config)])])
    assert found["ssh-permit-root-login"] == [
        "sshd allows root to log in with a password: PermitRootLogin yes"]


def test_privileged_primary_group() -> None:
    passwd = "root:x:0:0::/root:/bin/sh\nops:x:1000:27::/home/ops:/bin/sh\n"
    group = "root:x:0:\nsudo:x:27:\n"
    found = _analyze([Layer([directory("etc"), file("etc/passwd", passwd),
                             file("etc/group", group)])])
    assert found["privileged-group-members"] == [
        "Account in a privileged group: sudo: ops (primary group)"]


def test_world_writable_in_path_and_sudoers_continuation() -> None:
    layers = [Layer([
        directory("usr"), directory("usr/local"), directory("usr/local/bin"),
        file("usr/local/bin/tool", ELF, mode=0o777), file("usr/local/bin/ok", ELF, mode=0o755),
        directory("etc"),
        file("etc/sudoers", "Defaults env_reset\n#includedir /etc/sudoers.d\n"
                            "%admin ALL=(ALL) \\\n   NOPASSWD: ALL\n"),
    ])]
    found = _analyze(layers, ImageConfig(env=("PATH=/usr/local/bin:/bin",)))
    assert found["path-world-writable"] == ["World-writable file or directory in PATH"]
    assert found["sudo-nopasswd-all"] == ["sudoers grants ALL without a password: %admin"]

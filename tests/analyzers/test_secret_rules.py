"""The secret rules on public corpora (Nosey Parker's examples and negative examples,
detect-secrets' test files), the rule loader and user config, masking, and the chunked search.

Nosey Parker's rules are broader in places (it reports `user:secret@localhost`, we treat
`secret` and `user` as placeholders); each example where we differ on purpose is listed in
DIFFERENCES with the reason."""

from __future__ import annotations

import base64
import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from portcullis.analyze.secrets.analyzer import matcher
from portcullis.analyze.secrets.matcher import Matcher, entropy
from portcullis.analyze.secrets.redact import mask
from portcullis.analyze.secrets.rules import (
    DEFAULT_EXCLUDED_PATHS,
    GlobSet,
    builtin_rules,
    load_ruleset,
)
from portcullis.analyze.secrets.stream import OVERLAP, FileSearch
from portcullis.errors import ConfigError
from tests.fixtures import DATA, fixture_path

NP_RULES = DATA / "secrets" / "noseyparker" / "rules"
DS_DATA = DATA / "secrets" / "detect-secrets" / "test_data"

# Nosey Parker rule id → the rule(s) of ours that must report its examples.
EXPECT: dict[str, frozenset[str]] = {np: frozenset(ours.split()) for np, ours in {
    "np.aws.1": "aws-access-key-id", "np.aws.2": "aws-secret-access-key",
    "np.aws.4": "aws-session-token", "np.aws.5": "aws-mws-auth-token",
    "np.aws.6": "aws-credential-pair",
    "np.github.1": "github-personal-access-token", "np.github.2": "github-oauth-token",
    "np.github.4": "github-refresh-token", "np.github.7": "github-fine-grained-token",
    "np.gitlab.1": "gitlab-runner-registration-token",
    "np.gitlab.2": "gitlab-personal-access-token", "np.gitlab.3": "gitlab-pipeline-trigger-token",
    "np.slack.2": "slack-bot-token", "np.slack.4": "slack-user-token",
    "np.slack.5": "slack-app-token", "np.slack.3": "slack-webhook-url",
    "np.stripe.1": "stripe-live-secret-key", "np.stripe.2": "stripe-test-secret-key",
    "np.twilio.1": "twilio-api-key", "np.sendgrid.1": "sendgrid-api-key",
    "np.npm.1": "npm-access-token", "np.pypi.1": "pypi-upload-token",
    "np.dockerhub.1": "dockerhub-access-token", "np.openai.1": "openai-api-key",
    "np.anthropic.1": "anthropic-api-key", "np.jwt.1": "jwt",
    "np.pem.1": "private-key-rsa private-key-openssh private-key-pkcs8 private-key-ec",
    "np.postgres.1": "postgres-uri-password", "np.mongodb.1": "mongodb-uri-password",
    "np.netrc.1": "netrc-password",
    "np.azure.1": "azure-storage-account-key azure-shared-access-key",
    "np.google.2": "gcp-oauth-client-secret", "np.google.4": "gcp-oauth-access-token",
    "np.google.5": "gcp-api-key", "np.bitbucket.1": "bitbucket-app-password",
    "np.huggingface.1": "huggingface-token", "np.age.2": "age-secret-key",
    "np.shopify.3": "shopify-access-token", "np.shopify.4": "shopify-custom-app-token",
    "np.shopify.5": "shopify-private-app-token",
    "np.digitalocean.1": "digitalocean-oauth-token",
    "np.digitalocean.2": "digitalocean-personal-access-token",
    "np.digitalocean.3": "digitalocean-refresh-token", "np.databricks.1": "databricks-token",
    "np.hashicorp.4": "hashicorp-vault-token", "np.hashicorp.5": "hashicorp-vault-batch-token",
    "np.sonarqube.1": "sonarqube-token", "np.grafana.1": "grafana-api-key",
    "np.grafana.2": "grafana-cloud-token", "np.grafana.3": "grafana-service-account-token",
    "np.newrelic.5": "new-relic-insert-key", "np.square.1": "square-access-token",
    "np.square.2": "square-oauth-secret", "np.mailgun.1": "mailgun-api-key",
    "np.mailchimp.1": "mailchimp-api-key", "np.postman.1": "postman-api-key",
    "np.telegram.1": "telegram-bot-token", "np.atlassian.1": "atlassian-api-token",
    "np.doppler.1": "doppler-token", "np.doppler.2": "doppler-token",
    "np.doppler.3": "doppler-token", "np.rubygems.1": "rubygems-api-key",
    "np.nuget.1": "nuget-api-key", "np.artifactory.1": "artifactory-api-key",
    "np.odbc.1": "odbc-connection-string-password",
    "np.generic.5": "generic-password-assignment", "np.groq.1": "groq-api-key",
    "np.sourcegraph.1": "sourcegraph-access-token",
}.items()}

_PLACEHOLDER = "a placeholder value (stop word), not a secret"
_LOW_ENTROPY = "not random enough to be a secret (entropy check)"
_OLD_FORMAT = "a format we do not cover: no prefix, or a retired format"
_BROADER = "we report it: the value looks like a real secret"

# (Nosey Parker rule id, examples|negative_examples, index) → why we differ.
DIFFERENCES: dict[tuple[str, str, int], str] = {
    ("np.aws.1", "examples", 0): _OLD_FORMAT + " (A3T... key ids)",
    ("np.aws.2", "examples", 0): _LOW_ENTROPY,
    ("np.aws.2", "examples", 1): _LOW_ENTROPY,
    ("np.aws.2", "examples", 2): _PLACEHOLDER + " (FakeValues...)",
    ("np.aws.6", "examples", 0): _OLD_FORMAT + " (A3T... key ids)",
    ("np.aws.6", "examples", 1): _OLD_FORMAT + " (A3T... key ids)",
    ("np.azure.1", "examples", 1): "an AccountKey of 70 characters: real keys have 88",
    ("np.generic.5", "examples", 7): _PLACEHOLDER,
    ("np.generic.5", "examples", 8): _PLACEHOLDER,
    ("np.generic.5", "examples", 9): _PLACEHOLDER,
    ("np.generic.5", "examples", 10): "the password is computed, not a literal",
    ("np.generic.5", "negative_examples", 2): _BROADER,
    ("np.generic.5", "negative_examples", 9): _BROADER,
    ("np.mongodb.1", "negative_examples", 0): _BROADER + " (a socket path after the @)",
    ("np.netrc.1", "examples", 1): _PLACEHOLDER + " (pass123)",
    ("np.openai.1", "examples", 0): _OLD_FORMAT + " (no T3BlbkFJ marker)",
    ("np.pem.1", "examples", 1): "a key body split into concatenated string literals",
    ("np.slack.2", "negative_examples", 1): _BROADER + " (a legacy bot token)",
    ("np.slack.2", "negative_examples", 2): _BROADER + " (a legacy bot token)",
    ("np.slack.5", "examples", 0): _OLD_FORMAT + " (not the xapp-N-... layout)",
    ("np.twilio.1", "examples", 1): _OLD_FORMAT + " (an SK id without its secret)",
    **{("np.odbc.1", "examples", i): _PLACEHOLDER for i in (2, 3, 4, 5, 6, 7, 8)},
    ("np.odbc.1", "examples", 0): "an escaped PHP source line, not a connection string",
    ("np.odbc.1", "examples", 1): "an escaped PHP source line, not a connection string",
    **{("np.postgres.1", "examples", i): _PLACEHOLDER + " (user:secret)"
       for i in (0, 1, 2, 3, 4, 5, 7, 8)},
    **{("np.sonarqube.1", "examples", i): _OLD_FORMAT + " (40 hex digits)" for i in (0, 1, 2)},
}


def _cases() -> list[Any]:
    out = []
    for path in sorted(fixture_path(NP_RULES).glob("*.yml")):
        for rule in yaml.safe_load(path.read_text())["rules"]:
            if rule["id"] not in EXPECT:
                continue
            for kind in ("examples", "negative_examples"):
                for i, text in enumerate(rule.get(kind) or []):
                    key = (rule["id"], kind, i)
                    out.append(pytest.param(key, text, id=f"{rule['id']}-{kind}-{i}"))
    return out


def _ids(found: Matcher, text: str | bytes) -> set[str]:
    data = text.encode() if isinstance(text, str) else text
    return {m.rule.id for m in found.search(data)}


@pytest.mark.parametrize(("key", "text"), _cases())
def test_nosey_parker_examples(key: tuple[str, str, int], text: str) -> None:
    found = _ids(matcher(None), text) & EXPECT[key[0]]
    expected = (key[1] == "examples") != (key in DIFFERENCES)
    assert bool(found) == expected, (DIFFERENCES.get(key), text)


def test_enough_examples_are_checked() -> None:
    cases = _cases()
    positives = [c for c in cases if c.values[0][1] == "examples"]
    assert len(positives) >= 120
    assert len(EXPECT) >= 60
    # every difference names an example that exists
    assert set(DIFFERENCES) <= {c.values[0] for c in cases}


@pytest.mark.parametrize(("name", "expected"), [
    ("files/private_key", [("private-key-openssh", 1)]),
    ("config.ini", [("generic-env-secret", 2), ("generic-env-secret", 10),
                    ("generic-env-secret", 32)]),
    ("config.yaml", [("generic-secret-assignment", 12)]),
    ("only_comments.yaml", []),
    ("word_list.txt", []),
    ("performance/long-file.test.json", []),
])
def test_detect_secrets_files(name: str, expected: list[tuple[str, int]]) -> None:
    data = fixture_path(DS_DATA / name).read_bytes()
    search = FileSearch(matcher=matcher(None), wanted=matcher(None).rules_for(f"/x/{name}"),
                        limit=1 << 20)
    search.update(data)
    search.finish()
    assert [(f.match.rule.id, f.line) for f in search.found] == expected


def test_builtin_rule_set() -> None:
    rules = builtin_rules()
    assert len(rules) >= 80
    # compiled on first use in a scan: every one must compile, and name its secret
    assert all("secret" in r.regex.groupindex for r in rules)
    assert len({r.id for r in rules}) == len(rules)
    families = {"aws-access-key-id", "aws-credential-pair", "gcp-service-account-key",
                "azure-storage-account-key", "azure-sas-token", "github-personal-access-token",
                "gitlab-personal-access-token", "bitbucket-app-password", "slack-bot-token",
                "stripe-live-secret-key", "twilio-api-key", "sendgrid-api-key",
                "npm-access-token", "pypi-upload-token", "dockerhub-access-token",
                "openai-api-key", "anthropic-api-key", "jwt", "private-key-rsa",
                "private-key-openssh", "private-key-pgp", "private-key-putty",
                "postgres-uri-password", "mysql-uri-password", "mongodb-uri-password",
                "redis-uri-password", "amqp-uri-password", "generic-password-assignment",
                "htpasswd-hash", "kubeconfig-client-key", "kubeconfig-token", "npmrc-auth-token",
                "pypirc-password", "netrc-password", "docker-config-auth", "git-credentials"}
    assert families <= {r.id for r in rules}


# Planted values: made up for these tests, random-looking like real ones.
AWS_ID = "AKIA4HXMWNQ2ZRBV7LJK"
AWS_SECRET = "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"
GH_TOKEN = "ghp_R8vKq2LmZx7TnWp4YsBd9HcFj3GtQe6UaNo1"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\n"
       "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi1u3PwM5yvWnmMOdcEczt1vb9m\n"
       "x8fBzvGq+AvwRk0wLm6m7AqR2bT1c9ZyW0eLkPnUoH3sJ4dVf6gXa8iCzQ7tNyEb\n"
       "-----END RSA PRIVATE KEY-----\n")


@pytest.mark.parametrize(("text", "rule"), [
    (f"aws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
     "aws-credential-pair"),
    (PEM, "private-key-rsa"),
    ('{"type": "service_account", "project_id": "p", '
     '"private_key_id": "3f1c9a7b2e4d6f8a0b1c3e5d7f9a2b4c6d8e0f1a", "private_key": "x"}',
     "gcp-service-account-key"),
    ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
     + base64.b64encode(bytes(range(7, 71))).decode() + ";EndpointSuffix=core.windows.net",
     "azure-storage-account-key"),
    ("https://acct.blob.core.windows.net/c/b?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01"
     "&sig=Qm9uZXM3aHVudGVyNWdyZWVuMmZpZWxkMXN0b25lOHJp%3D", "azure-sas-token"),
    ("//registry.npmjs.org/:_authToken=npm_Xq7LmP2vRt9KzW4sNb6YcJ8dHf3GuA1eTo5i\n",
     "npm-access-token"),
    ("//registry.example.com/:_authToken=4f1c9a7b-2e4d-6f8a-0b1c-3e5d7f9a2b4c\n",
     "npmrc-auth-token"),
    ('{"auths": {"registry.example.com": {"auth": "dXNlcjpzM2NyM3RQNHNzdzByZA=="}}}',
     "docker-config-auth"),
    ("users:\n- name: admin\n  user:\n    client-key-data: " + "LS0tLS1CRUdJTiBSU0Eg" * 5 + "\n",
     "kubeconfig-client-key"),
    ("admin:$apr1$Wq8aBc1d$K2mLqT9vR4xZpN7sY3wJf0\n", "htpasswd-hash"),
    ("machine example.org login deploy password Zt8qLmW3pXv9\n", "netrc-password"),
    ("DATABASE_URL=postgres://app:Xk9q2LmP7z@db.internal:5432/app\n", "postgres-uri-password"),
    ("mysql://root:Hq7sLw2Pz9@10.0.0.5/shop", "mysql-uri-password"),
    ("mongodb+srv://svc:Rk4tMx8Wq2@cluster0.example.net/db", "mongodb-uri-password"),
    ("REDIS_URL=redis://:Lp3vQz8Kw5@cache:6379/0", "redis-uri-password"),
    ("amqp://bunny:Fz6wRt2Lq9@mq:5672/", "amqp-uri-password"),
    ('db_password = "Tr0ub4dor&3horse"\n', "generic-password-assignment"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB"
     "AAAAMwAAAAtzc2gtZWQyNTUxOQAAACBrZ3Vq\n-----END OPENSSH PRIVATE KEY-----\n",
     "private-key-openssh"),
    ("SLACK=xoxb-2937465012-4820193746-Qm9uZXM3aHVudGVyNWdyZWVu", "slack-bot-token"),
    ("key: sk_live_4eC39HqLyjWDarjtT1zdp7dcQm9uZX", "stripe-live-secret-key"),
    ("SG.Qm9uZXM3aHVudGVyNWdyZW.VuMmZpZWxkMXN0b25lOHJpdmVyNGNsb3VkNnRyZWU5b", "sendgrid-api-key"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "jwt"),
])
def test_planted_examples(text: str, rule: str) -> None:
    assert rule in _ids(matcher(None), text)


@pytest.mark.parametrize("text", [
    'password = "changeme"', "password: ${DB_PASSWORD}", 'api_key = "your-api-key-here"',
    "postgres://user:password@localhost/db", "-----BEGIN RSA PRIVATE KEY-----\n...\n",
    "token = get_token(request)", "AKIAIOSFODNN7EXAMPLE", "import token\nx = token.NAME\n",
    'secret_key = "aaaaaaaaaaaaaaaaaaaaaaaa"',
    # names in source code, as popular packages write them (pygments, markdown_it, webpack,
    # @types/node, CPython's email package), and an RFC's published example token
    "                token = Keyword.Type\n", "        token.info = alert_kind\n",
    'MODULE_REFERENCE_TOKEN = "__WEBPACK_MODULE_REFERENCE__";', "  password: BinaryLike,\n",
    "    obs.token_type = 'invalid-obs-local-part'\n",
    '{"access_token":"2YotnFZFEjr1zCsicMWpAA", "token_type":"bearer"}',
])
def test_placeholders_are_not_secrets(text: str) -> None:
    assert _ids(matcher(None), text) == set()


@pytest.mark.parametrize(("text", "rule"), [
    # a value with a digit is not a name, even in source code
    ("DB_PASSWORD=Tr0ub4dor3horse\n", "generic-env-secret"),
    ("  token = Keyword2.Typ3x9\n", "generic-env-secret"),
    ('AUTH_TOKEN = "Zk3Wq8LmPx2TnRv5YsBd"', "generic-secret-assignment"),
    ('password = "super$ecret"', "generic-password-assignment"),
])
def test_generic_rules_keep_values_with_digits(text: str, rule: str) -> None:
    assert _ids(matcher(None), text) == {rule}


def test_path_rules_apply_only_to_their_files() -> None:
    found = matcher(None)
    text = b"[pypi]\nusername = __token__\npassword = Zt8qLmW3pXv9Kd2\n"
    # elsewhere the generic rule reports it; in a .pypirc the specific rule does
    assert {m.rule.id for m in found.search(text)} == {"generic-env-secret"}
    assert {m.rule.id for m in found.search(text, found.rules_for("/root/.pypirc"))} == {
        "pypirc-password"}
    creds = b"https://deploy:Zt8qLmW3pXv9Kd2@git.example.com\n"
    assert "git-credentials" in {
        m.rule.id for m in found.search(creds, found.rules_for("/root/.git-credentials"))}


def test_mask_never_shows_the_secret() -> None:
    assert mask(AWS_ID) == "AKIA****************"
    assert mask("hunter2x") == "h*******"
    assert len(mask("x" * 500)) == 20
    masked = matcher(None).redact(f"SECRET_TOKEN={GH_TOKEN} OTHER=1")
    assert masked == "SECRET_TOKEN=ghp_**************** OTHER=1"
    assert GH_TOKEN not in masked


def test_entropy() -> None:
    assert entropy("aaaa") == 0
    assert entropy("abcd") == 2
    assert entropy(AWS_SECRET) > 4


def _search_in_chunks(data: bytes, size: int, path: str = "/app/big.txt") -> FileSearch:
    found = matcher(None)
    search = FileSearch(matcher=found, wanted=found.rules_for(path), limit=1 << 30)
    for start in range(0, len(data), size):
        search.update(data[start:start + size])
    search.finish()
    return search


@pytest.mark.parametrize("size", [1, 7, 1000, OVERLAP, OVERLAP + 1, 65536, 1 << 20])
def test_secret_across_chunk_boundaries(size: int) -> None:
    filler = b"lorem ipsum dolor sit amet\n" * 2000
    data = filler + f"token {GH_TOKEN}\n".encode() + filler + PEM.encode() + b"end\n"
    search = _search_in_chunks(data, size)
    lines = filler.count(b"\n")
    assert [(f.match.rule.id, f.line) for f in search.found] == [
        ("github-personal-access-token", lines + 1), ("private-key-rsa", 2 * lines + 2)]


def test_binary_files_and_size_limit() -> None:
    found = matcher(None)
    binary = FileSearch(matcher=found, wanted=found.rules_for("/bin/x"), limit=1 << 20)
    binary.update(b"\x7fELF\0\0" + GH_TOKEN.encode())
    binary.finish()
    assert binary.binary and binary.found == []
    big = FileSearch(matcher=found, wanted=found.rules_for("/x"), limit=10_000)
    big.update(b"a\n" * 10_000 + GH_TOKEN.encode())
    big.finish()
    assert big.truncated and big.found == []


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    return path


def test_user_config(tmp_path: Path) -> None:
    path = _config(tmp_path, f'''
disable = ["jwt"]
max_file_size = 4096

[allow]
paths = ["/app/fixtures/*"]
regexes = ["^ghp_R8vK"]
values = ["{AWS_ID}"]

[[rule]]
id = "acme-token"
title = "ACME token"
severity = "critical"
keywords = ["acme_"]
regex = \'\'\'\\b(?P<secret>acme_[0-9a-f]{{32}})\\b\'\'\'
''')
    ruleset = load_ruleset(path)
    assert ruleset.max_file_size == 4096
    assert "jwt" not in {r.id for r in ruleset.rules}
    assert ruleset.skips("/app/fixtures/a.env") and not ruleset.skips("/app/a.env")
    assert ruleset.skips("/usr/share/doc/x/README")  # default excludes still apply
    found = Matcher(ruleset)
    assert _ids(found, "x = acme_0123456789abcdef0123456789abcdef") == {"acme-token"}
    assert _ids(found, f"{GH_TOKEN} {AWS_ID}") == set()


@pytest.mark.parametrize(("text", "message"), [
    ("[[rule]\n", "not valid TOML"),
    ("colour = 1\n", "unknown key(s): colour"),
    ('disable = ["no-such-rule"]\n', "disable: no built-in rule no-such-rule"),
    ('[[rule]]\nid = "jwt"\ntitle = "t"\nseverity = "LOW"\nkeywords = ["a"]\nregex = "a"\n',
     "already built in: jwt"),
    ('[[rule]]\nid = "x"\ntitle = "t"\nseverity = "bad"\nkeywords = ["a"]\nregex = "a"\n',
     "unknown severity"),
    ('[[rule]]\nid = "x"\ntitle = "t"\nseverity = "LOW"\nkeywords = ["a"]\nregex = "("\n',
     "rule 1 (x)"),
    ('[[rule]]\nid = "x"\ntitle = "t"\nseverity = "LOW"\nkeywords = []\nregex = "a"\n',
     "at least one keyword"),
    ('[allow]\nregexes = ["("]\n', "[allow] regexes"),
    ("max_file_size = -1\n", "max_file_size"),
    ('[[rule]]\nid = "x"\ntitle = "t"\nseverity = "LOW"\nkeywords = ["a"]\nregex = "a"\n'
     "window = [0]\n", "'window' must be"),
])
def test_bad_user_config(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_ruleset(_config(tmp_path, text))
    assert message in str(err.value)
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("path", [
    "/usr/share/doc/curl/README", "/usr/share/docs/x", "/app/node_modules/a/test/x.js",
    "/app/node_modules/a/lib/testing.js", "/app/node_modules/README.md", "/app/x.md",
    "/usr/local/lib/python3.11/dist-packages/requests/tests/t.py",
    "/usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
    "/usr/lib/python3.11/test/x.py", "/srv/go/pkg/mod/x@v1/testdata/key.pem", "/etc/passwd",
    "/app/node_modules/debug/.coveralls.yml", "/root/.npmrc",
])
def test_glob_set_agrees_with_fnmatch(path: str) -> None:
    expected = any(fnmatch.fnmatchcase(path, p) for p in DEFAULT_EXCLUDED_PATHS)
    assert GlobSet(DEFAULT_EXCLUDED_PATHS).match(path) == expected

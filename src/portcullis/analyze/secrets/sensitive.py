"""``sensitive-files`` analyzer: files that should never ship in an image, whatever else they
hold: private keys and keystores, cloud credentials, ``.env`` files, shell and database
histories, ``.git`` folders, kubeconfigs, Terraform state, SSH host keys.

The name decides; where a name alone would be wrong (a ``.pem`` that holds only certificates,
a ``.key`` that is not a key) the content must also show the thing, and it is looked for in
the stream the layer pass reads anyway. Findings are of kind ``sensitive-file`` and serve the
``secret`` scanner (sensitive information). Versions a later layer deleted are reported too,
with ``visible: false`` (the engine settles that after the view is built).
"""

from __future__ import annotations

import re
from typing import ClassVar

import msgspec

from portcullis.analyze.base import AnalysisContext, AnalysisResult, AnalyzerSpec, FileScan
from portcullis.model.files import FileMeta
from portcullis.model.finding import Finding, Severity

NAME = "sensitive-files"
_OVERLAP = 64  # a marker split between two chunks is still seen


class Kind(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of sensitive file: ``path`` (a regex over the absolute path) and, when the name
    is not enough, ``content``: byte regexes that must all occur in the file."""

    id: str
    title: str
    severity: Severity
    path: re.Pattern[str]
    content: tuple[re.Pattern[bytes], ...] = ()


_PRIVATE_KEY = re.compile(
    rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-")
# JKS, JCEKS, PKCS#12 (DER): anchored patterns are tried on the first chunk only
_KEYSTORE_MAGIC = re.compile(rb"\A(?:\xfe\xed\xfe\xed|\xce\xce\xce\xce|\x30)")
_ASSIGNMENT = re.compile(rb"(?m)^[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.]*[ \t]*=")


def _path(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# First match wins: the narrow kinds come before the wide ones.
KINDS: tuple[Kind, ...] = (
    Kind(id="ssh-host-key", title="SSH host private key baked into the image",
         severity=Severity.HIGH, path=_path(r"^/etc/ssh/ssh_host_[a-z0-9]+_key$"),
         content=(_PRIVATE_KEY,)),
    Kind(id="private-key-file", title="private key file", severity=Severity.HIGH,
         path=_path(r"/(?:id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?|[^/]+\.(?:pem|key|ppk))$"),
         content=(_PRIVATE_KEY,)),
    Kind(id="keystore-file", title="keystore file (may hold private keys)",
         severity=Severity.HIGH, path=_path(r"/[^/]+\.(?:p12|pfx|jks|jceks|keystore)$"),
         content=(_KEYSTORE_MAGIC,)),
    Kind(id="aws-credentials", title="AWS credentials file", severity=Severity.HIGH,
         path=_path(r"/\.aws/credentials$")),
    Kind(id="gcloud-credentials", title="Google Cloud SDK credentials",
         severity=Severity.HIGH,
         path=_path(r"/\.config/gcloud/(?:credentials\.db|access_tokens\.db|"
                    r"application_default_credentials\.json|legacy_credentials/.+)$")),
    Kind(id="azure-credentials", title="Azure CLI credentials folder", severity=Severity.HIGH,
         path=_path(r"/\.azure/(?:accessTokens\.json|msal_token_cache\.(?:json|bin)|"
                    r"service_principal_entries\.(?:json|bin)|azureProfile\.json)$")),
    Kind(id="kubeconfig", title="Kubernetes kubeconfig (cluster credentials)",
         severity=Severity.HIGH,
         path=_path(r"(?:/\.kube/config|^/etc/kubernetes/[^/]+\.conf|/kubeconfig|"
                    r"/[^/]+\.kubeconfig)$"),
         content=(re.compile(rb"\bclusters\b"), re.compile(rb"\b(?:users|contexts)\b"))),
    Kind(id="terraform-state", title="Terraform state (holds resource secrets in clear)",
         severity=Severity.HIGH, path=_path(r"/[^/]+\.tfstate(?:\.backup)?$")),
    Kind(id="dotenv-file", title=".env file (environment secrets)", severity=Severity.MEDIUM,
         path=_path(r"/\.env(?:\.(?!(?:example|sample|template|dist|defaults?|schema)$)"
                    r"[A-Za-z0-9_-]+)?$"),
         content=(_ASSIGNMENT,)),
    Kind(id="shell-history", title="shell history file", severity=Severity.MEDIUM,
         path=_path(r"/\.(?:bash|zsh|sh|ash|ksh|fish|python|node_repl)_history$|"
                    r"/\.local/share/fish/fish_history$")),
    Kind(id="database-history", title="database client history file",
         severity=Severity.MEDIUM,
         path=_path(r"/\.(?:mysql|psql|sqlite|rediscli|mongosh|mariadb)_history$|"
                    r"/\.dbshell$|/\.mongodb/mongosh/[^/]+_history$")),
    Kind(id="git-folder", title="git repository folder (source history, maybe credentials)",
         severity=Severity.MEDIUM, path=_path(r"/\.git/HEAD$")),
)

# The engine's pre-filter: cheap globs that every kind's path falls under.
GLOBS = (
    "/etc/ssh/ssh_host_*_key", "*/id_rsa", "*/id_dsa", "*/id_ecdsa", "*/id_ed25519",
    "*/id_ecdsa_sk", "*/id_ed25519_sk", "*.pem", "*.key", "*.ppk", "*.p12", "*.pfx", "*.jks",
    "*.jceks", "*.keystore", "*/.aws/credentials", "*/.config/gcloud/*", "*/.azure/*",
    "*/.kube/config", "/etc/kubernetes/*.conf", "*/kubeconfig", "*.kubeconfig", "*.tfstate",
    "*.tfstate.backup", "*/.env", "*/.env.*", "*_history", "*/.dbshell", "*/.git/HEAD",
)


def classify(path: str) -> Kind | None:
    for kind in KINDS:
        if kind.path.search(path):
            return kind
    return None


class _Sniff:
    """Looks for every content pattern of ``kind`` in the file's chunks."""

    def __init__(self, kind: Kind, meta: FileMeta, layer: int) -> None:
        self._kind = kind
        self._meta = meta
        self._layer = layer
        self._missing = list(kind.content)
        self._tail = b""
        self._first = True

    def update(self, chunk: bytes) -> None:
        if not self._missing:
            return
        window = self._tail + bytes(chunk)
        self._missing = [p for p in self._missing if not self._found(p, window)]
        self._first = False
        self._tail = window[-_OVERLAP:]

    def _found(self, pattern: re.Pattern[bytes], window: bytes) -> bool:
        # An anchored pattern (\A: a magic number) is about the file's first bytes.
        if pattern.pattern.startswith(rb"\A") and not self._first:
            return False
        return pattern.search(window) is not None

    def finish(self) -> AnalysisResult:
        if self._missing:
            return AnalysisResult()
        kind, meta = self._kind, self._meta
        title = kind.title
        if kind.id == "git-folder":
            title = f"{kind.title}: {meta.path.removesuffix('/HEAD')}"
        return AnalysisResult(findings=[Finding(
            kind="sensitive-file", id=kind.id, severity=kind.severity, title=title,
            path=meta.path, layer=self._layer, extra={"size": meta.size})])


class SensitiveFiles:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(name=NAME, version=1,
                                                scanners=frozenset({"secret"}), paths=GLOBS)

    def accepts(self, meta: FileMeta) -> bool:
        return meta.size > 0 and classify(meta.path) is not None

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        kind = classify(meta.path)
        return None if kind is None else _Sniff(kind, meta, layer)

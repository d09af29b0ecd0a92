"""What a pipeline snippet is asked for, and discovery of the CI systems that can print one."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import msgspec

from portcullis import pipeline as _package

SCENARIOS = ("local", "registry")
# Values end up in shell commands, Groovy strings and YAML: only what image references, URLs,
# paths and credential ids are made of (quoting is still applied; this refuses the rest early).
SAFE_VALUE = re.compile(r"^[A-Za-z0-9._/:@+=~-]+$")
DEFAULT_SCANNER_IMAGE = "ghcr.io/portcullis-scanner/portcullis:latest"
# Files the scan leaves in the workspace: CI systems publish or archive them.
REPORT_FILES = {"json": "portcullis-report.json", "junit": "portcullis-junit.xml",
                "sarif": "portcullis-report.sarif"}


# A dataclass, not a msgspec Struct like the other records: __post_init__ fills in
# ``scenario`` on a frozen instance, which a frozen Struct cannot do (and only the
# ``pipeline`` command imports it, never a scan).
@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineRequest:
    """``image`` is NAME[:TAG] as built (scenario ``local``) or as stored in ``registry``."""

    image: str
    scenario: str = ""  # empty: "registry" when a registry is given, else "local"
    registry: str | None = None
    blocking: bool = True
    fail_on: str = "high"
    server: str | None = None
    scanner_image: str = DEFAULT_SCANNER_IMAGE
    policy: str | None = None
    baseline: str | None = None  # an earlier JSON report: only findings new since it block
    insecure_registry: bool = False
    update_db: bool = True
    db_source: str | None = None  # base URL of the OSV exports (a company mirror)
    # Names of the CI system's stored secrets, never the secrets themselves.
    registry_credentials: str = "portcullis-registry"
    token_credentials: str = "portcullis-token"

    def __post_init__(self) -> None:
        if not self.scenario:
            object.__setattr__(self, "scenario", "registry" if self.registry else "local")
        for name in ("image", "registry", "server", "scanner_image", "policy", "baseline",
                     "db_source",
                     "registry_credentials", "token_credentials"):
            value = getattr(self, name)
            if value is not None and not SAFE_VALUE.match(value):
                raise ValueError(f"{name.replace('_', '-')} may only hold letters, digits and "
                                 f"._/:@+=~- (it goes into a shell command): {value!r}")
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r} (one of {', '.join(SCENARIOS)})")
        if self.scenario == "registry" and not self.registry:
            raise ValueError("the registry scenario needs --registry HOST[:PORT]")

    @property
    def target(self) -> str:
        """The image reference the scanner is given."""
        if self.scenario == "local":
            return f"docker-daemon:{self.image}"
        return f"registry:{self.registry}/{self.image}"


def secret_bindings(req: PipelineRequest) -> list[tuple[str, str]]:
    """(environment variable the scanner reads, name of the CI's stored secret) for what the
    request needs: the registry user and password, the console token. A CI system that names
    secrets in capitals (GitHub, GitLab) stores them as ``<ID>_USERNAME``, ``<ID>_PASSWORD``."""
    out: list[tuple[str, str]] = []
    if req.scenario == "registry":
        name = _stored_name(req.registry_credentials)
        out += [("PORTCULLIS_USERNAME", f"{name}_USERNAME"),
                ("PORTCULLIS_PASSWORD", f"{name}_PASSWORD")]
    if req.server:
        out.append(("PORTCULLIS_TOKEN", _stored_name(req.token_credentials)))
    return out


def _stored_name(credentials_id: str) -> str:
    return credentials_id.upper().replace("-", "_").replace(".", "_")


class GeneratorSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the sub-command of ``portcullis pipeline``
    description: str
    render: Callable[[PipelineRequest], str]


@cache
def generators() -> dict[str, GeneratorSpec]:
    found: dict[str, GeneratorSpec] = {}
    for info in pkgutil.iter_modules(_package.__path__, _package.__name__ + "."):
        spec = getattr(importlib.import_module(info.name), "GENERATOR", None)
        if isinstance(spec, GeneratorSpec):
            found[spec.name] = spec
    return dict(sorted(found.items()))

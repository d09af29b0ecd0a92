"""Issue 10: popular packages are not secrets. Their source code is full of assignments such as
``token = Keyword.Type`` (pygments) or ``MODULE_REFERENCE_TOKEN = "__WEBPACK_..."`` (webpack)
that the generic rules once reported. Real corpora, present on the test machine: the test
venv's own site-packages (pip, setuptools, pygments, rich, markdown_it, cryptography,
hypothesis, mypy, ...) and a dozen popular npm packages that scripts/test installs into
``.tools/npm-corpus`` (tests never touch the network)."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import run_cli

NPM_CORPUS = Path(__file__).resolve().parents[2] / ".tools" / "npm-corpus"


def _secret_findings(root: Path) -> list[str]:
    done = run_cli("scan", f"dir:{root}", "--scanners", "secret", "--format", "json", "--quiet")
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)["findings"]
    return [f"{f['id']} {f['path']}:{f.get('line')}" for f in findings if f["kind"] == "secret"]


def test_python_packages_have_no_secrets() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    assert (site / "pygments").is_dir() and (site / "pip").is_dir()  # the corpus is there
    assert _secret_findings(site) == []


def test_npm_packages_have_no_secrets() -> None:
    if not (NPM_CORPUS / "node_modules" / "webpack").is_dir():
        pytest.skip(f"no npm corpus in {NPM_CORPUS} (scripts/test installs it)")
    assert _secret_findings(NPM_CORPUS) == []

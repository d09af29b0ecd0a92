"""The CI=true rule (tests/ci_skips.py): every kind of skip fails with its reason in CI only.

Runs pytest in a child process over a few tiny test files that skip in each way the suite does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SKIPPING = {
    "test_marks.py": '''
import pytest

@pytest.mark.skipif(True, reason="needs the frobnicator binary")
def test_mark() -> None:
    pass

@pytest.fixture
def tool() -> None:
    pytest.skip("fixture found no podman")

def test_fixture(tool: None) -> None:
    pass

def test_body() -> None:
    pytest.skip("body found no script(1)")

def test_runs() -> None:
    pass

@pytest.mark.xfail(reason="known bug", strict=True)
def test_expected_failure() -> None:
    raise AssertionError
''',
    "test_module_skip.py": '''
import pytest

pytest.skip("module needs root", allow_module_level=True)

def test_never() -> None:
    pass
''',
    "test_importorskip.py": '''
import pytest

pytest.importorskip("no_such_module_for_ci_skips")
''',
}


def _pytest(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    for name, text in SKIPPING.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's config
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(REPO)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider",
         "-rA", "--continue-on-collection-errors", "--rootdir", str(tmp_path), "-c", str(tmp_path / "pytest.ini"),
         str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False)


def test_without_ci_skips_stay_skips(tmp_path: Path) -> None:
    result = _pytest(tmp_path, ci=None)
    assert result.returncode == 0, result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert "1 passed, 5 skipped, 1 xfailed" in last, result.stdout


def test_with_ci_every_skip_fails_with_its_reason(tmp_path: Path) -> None:
    result = _pytest(tmp_path, ci="true")
    assert result.returncode == 1, result.stdout
    last = result.stdout.strip().splitlines()[-1]
    # pytest counts a failure at collection or setup (marks, fixtures) as an error
    assert "1 failed, 1 passed, 1 xfailed, 4 errors" in last, result.stdout
    prefix = "skipped under CI=true, which must not skip: "
    for reason in ("needs the frobnicator binary", "fixture found no podman",
                   "body found no script(1)", "module needs root",
                   "could not import 'no_such_module_for_ci_skips'"):
        assert prefix + reason in result.stdout, (reason, result.stdout)
    assert "skipped" not in last


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    result = _pytest(tmp_path, ci="false")
    assert result.returncode == 0, result.stdout

"""Under ``CI=true`` a skipped test is a failed test.

A test skips when the machine lacks something it needs (a registry binary, podman, root for the
Debian image build, ...). On a developer's machine that is a fair excuse; in CI it means the
pipeline silently stopped testing a part, so every skip becomes a failure that keeps the skip's
reason. Covers skips at collection (``pytest.skip(allow_module_level=True)``, ``importorskip``),
``skipif`` marks, and ``pytest.skip()`` in fixtures or test bodies. Expected failures (xfail)
are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

PREFIX = "skipped under CI=true, which must not skip"


def ci_forbids_skips() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_if_skipped(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and ci_forbids_skips():
        report.outcome = "failed"
        report.longrepr = f"{PREFIX}: {_reason(report)}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                    pytest.TestReport]:
    report = yield
    _fail_if_skipped(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
        collector: pytest.Collector) -> Generator[None, pytest.CollectReport,
                                                  pytest.CollectReport]:
    report = yield
    _fail_if_skipped(report)
    return report

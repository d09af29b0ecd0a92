"""Find analyzers: every class with an ``AnalyzerSpec`` in a module under ``analyze/``."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from portcullis import analyze
from portcullis.analyze.base import AnalyzerSpec

_SKIP = {"portcullis.analyze.base", "portcullis.analyze.discovery", "portcullis.analyze.engine"}


def _modules(package: ModuleType) -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if info.name not in _SKIP
    )


@cache
def analyzer_classes() -> tuple[type, ...]:
    found: dict[str, type] = {}
    for name in _modules(analyze):
        module = importlib.import_module(name)
        for obj in vars(module).values():
            spec = getattr(obj, "spec", None)
            if isinstance(obj, type) and isinstance(spec, AnalyzerSpec) and obj.__module__ == name:
                if spec.name in found and found[spec.name] is not obj:
                    raise RuntimeError(f"two analyzers named {spec.name!r}")
                found[spec.name] = obj
    return tuple(found[k] for k in sorted(found))


def available_scanners() -> frozenset[str]:
    """Scanner names that at least one analyzer serves."""
    names: set[str] = set()
    for cls in analyzer_classes():
        names |= cls.spec.scanners  # type: ignore[attr-defined]
    return frozenset(names)

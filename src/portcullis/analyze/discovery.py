"""Find analyzers: every class with an ``AnalyzerSpec`` in a module under ``analyze/``.

A subpackage may say in its ``__init__`` which scanners its analyzers serve
(``SERVES = frozenset({"malware"})``). A scan then imports only the subpackages that serve a
requested scanner: ``--scanners none`` does not load the YARA, secret, baseline, compliance or
language code. A new analyzer is still one new file: discovery finds it in whichever package it
lands. The full discovery (no scanners given, as the tests run it) imports every module and
fails when an analyzer serves a scanner its package does not declare, so a wrong ``SERVES``
cannot silently drop an analyzer from a scan. Modules outside such a package are always
imported (their analyzers' specs are read after the import, as before)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from portcullis import analyze
from portcullis.analyze.base import AnalyzerSpec

_SKIP = {"portcullis.analyze.base", "portcullis.analyze.discovery", "portcullis.analyze.engine"}


def _serves(package: ModuleType) -> frozenset[str] | None:
    declared = getattr(package, "SERVES", None)
    return None if declared is None else frozenset(declared)


def _modules(package: ModuleType, scanners: frozenset[str] | None,
             serves: frozenset[str] | None) -> list[tuple[str, frozenset[str] | None]]:
    """(module name, what its nearest declaring package serves), skipping subpackages that
    serve none of ``scanners`` (None: skip nothing)."""
    out: list[tuple[str, frozenset[str] | None]] = []
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name in _SKIP:
            continue
        if not info.ispkg:
            out.append((info.name, serves))
            continue
        sub = importlib.import_module(info.name)
        declared = _serves(sub)
        if declared is None:
            declared = serves
        if scanners is not None and declared is not None and not declared & scanners:
            continue
        out.append((info.name, declared))
        out.extend(_modules(sub, scanners, declared))
    return sorted(out)


@cache
def analyzer_classes(scanners: frozenset[str] | None = None) -> tuple[type, ...]:
    """Every analyzer (``scanners`` None), or at least those that may serve ``scanners``
    (the caller still checks each spec: modules outside a declaring package come along)."""
    found: dict[str, type] = {}
    for name, serves in _modules(analyze, scanners, None):
        module = importlib.import_module(name)
        for obj in vars(module).values():
            spec = getattr(obj, "spec", None)
            if isinstance(obj, type) and isinstance(spec, AnalyzerSpec) and obj.__module__ == name:
                if spec.name in found and found[spec.name] is not obj:
                    raise RuntimeError(f"two analyzers named {spec.name!r}")
                if serves is not None and not (spec.scanners and spec.scanners <= serves):
                    raise RuntimeError(
                        f"analyzer {spec.name!r} serves {sorted(spec.scanners)}, but its "
                        f"package declares SERVES = {sorted(serves)}")
                found[spec.name] = obj
    return tuple(found[k] for k in sorted(found))


def available_scanners() -> frozenset[str]:
    """Scanner names that at least one analyzer serves."""
    names: set[str] = set()
    for cls in analyzer_classes():
        names |= cls.spec.scanners  # type: ignore[attr-defined]
    return frozenset(names)

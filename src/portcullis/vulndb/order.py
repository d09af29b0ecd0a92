"""Version order of an installed package: its type's version scheme, for policies that name
version ranges (the compliance scanner's banned list)."""

from __future__ import annotations

from portcullis.vulndb.versions import InvalidVersion, UnknownEcosystem, scheme_for

# Package.type → the OSV ecosystem whose scheme orders its versions.
TYPE_ECOSYSTEMS = {
    "deb": "Debian",
    "rpm": "Red Hat",
    "apk": "Alpine",
    "python": "PyPI",
    "npm": "npm",
    "java-archive": "Maven",
    "go-module": "Go",
    "rust-crate": "crates.io",
    "gem": "RubyGems",
    "php-composer": "Packagist",
    "dotnet": "NuGet",
}


def compare_versions(package_type: str, a: str, b: str) -> int:
    """Negative, zero or positive as ``a`` is older than, equal to or newer than ``b``
    under the scheme of ``package_type``; ``ValueError`` when either cannot be ordered."""
    ecosystem = TYPE_ECOSYSTEMS.get(package_type)
    if ecosystem is None:
        raise ValueError(f"no version order for package type {package_type!r}")
    try:
        scheme = scheme_for(ecosystem)
        key_a, key_b = scheme.key(a), scheme.key(b)
    except (InvalidVersion, UnknownEcosystem) as e:
        raise ValueError(str(e)) from e
    return (key_a > key_b) - (key_a < key_b)

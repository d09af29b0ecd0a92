"""Where the OSV data exports live and which ecosystems an update fetches by default.

Kept apart from update.py so that the command line can show these defaults without importing
the download machinery (httpx) on every start.
"""

from __future__ import annotations

# The public OSV data exports: BASE/<Ecosystem>/all.zip.
DEFAULT_SOURCE = "https://osv-vulnerabilities.storage.googleapis.com"

DEFAULT_ECOSYSTEMS = (
    # Operating systems
    "AlmaLinux", "Alpine", "Chainguard", "Debian", "Red Hat", "Rocky Linux", "SUSE",
    "Ubuntu", "Wolfi",
    # Languages
    "crates.io", "Go", "Maven", "npm", "NuGet", "Packagist", "PyPI", "RubyGems",
)

__all__ = ["DEFAULT_ECOSYSTEMS", "DEFAULT_SOURCE"]

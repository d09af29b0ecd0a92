"""License names as packages declare them → SPDX expressions where they map.

Package metadata says "MIT", "mit", "MIT License", "GPLv2+", "Apache Software License" or a
real expression like "(MIT OR Apache-2.0)". Valid expressions are normalised with
license-expression; a short table maps the common free-text names; anything else is kept as
written (a policy can still match it, and SBOM writers turn it into a LicenseRef).
"""

from __future__ import annotations

from functools import cache

from license_expression import get_spdx_licensing

# Free-text names seen in PyPI classifiers, npm and gem metadata, lower-cased. Ambiguous
# family names ("BSD", "GPL") are deliberately absent: guessing a version would be wrong.
ALIASES = {
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit/x11": "MIT",
    "expat": "MIT",
    "apache software license": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache2": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "gplv2": "GPL-2.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gplv3+": "GPL-3.0-or-later",
    "lgplv2": "LGPL-2.0-only",
    "lgplv2+": "LGPL-2.0-or-later",
    "lgplv2.1": "LGPL-2.1-only",
    "lgplv2.1+": "LGPL-2.1-or-later",
    "lgplv3": "LGPL-3.0-only",
    "lgplv3+": "LGPL-3.0-or-later",
    "isc license (iscl)": "ISC",
    "isc license": "ISC",
    "python software foundation license": "PSF-2.0",
    "psf": "PSF-2.0",
    "psfl": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl 2.0": "MPL-2.0",
    "the unlicense (unlicense)": "Unlicense",
    "public domain": "LicenseRef-public-domain",
    "zlib/libpng": "Zlib",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "bsd 2-clause": "BSD-2-Clause",
    "simplified bsd license": "BSD-2-Clause",
}

_LICENSING = get_spdx_licensing()


@cache
def normalize(text: str) -> str:
    """The SPDX form of ``text`` when it is (or names) one, else ``text`` unchanged."""
    name = " ".join(text.split())
    if not name:
        return text
    alias = ALIASES.get(name.lower())
    if alias is not None:
        return alias
    if name.startswith("LicenseRef-"):
        return name
    try:
        info = _LICENSING.validate(name)
    except Exception:  # untrusted text into a third-party parser: "MIT AND" raises AttributeError
        return name
    if info.errors or info.invalid_symbols or not info.normalized_expression:
        return name
    return str(info.normalized_expression)


def normalize_all(licenses: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for text in licenses:
        value = normalize(text)
        if value not in out:
            out.append(value)
    return tuple(out)

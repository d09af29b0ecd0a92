"""License names as packages declare them → SPDX expressions where they map.

Package metadata says "MIT", "mit", "MIT License", "GPLv2+", "Apache Software License", a
DEP-5 short name like "Expat" or "GPL-2+", or a real expression like "(MIT OR Apache-2.0)".
A short table maps the common names, versioned family names are read by pattern, valid
expressions are normalised as license-expression does (a single id, or an id WITH an
exception, from data/spdx-ids.json; compound expressions by its parser); anything else is
kept as written (a policy can still match it, and SBOM writers turn it into a LicenseRef).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from license_expression import Licensing

# Names that are not SPDX ids but name exactly one license, lower-cased: DEP-5 short names
# (Debian copyright files) and free-text names seen in PyPI classifiers, npm and gem metadata.
# Ambiguous family names ("BSD", "GPL") are deliberately absent: guessing a version would be
# wrong. Versioned names ("GPLv2+", "Apache-2") are read by FAMILIES below.
ALIASES = {
    "expat": "MIT",
    "mit": "MIT",
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit/x11": "MIT",
    "isc": "ISC",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "zlib": "Zlib",
    "zlib/libpng": "Zlib",
    "libpng": "Libpng",
    "x11": "X11",
    "openssl": "OpenSSL",
    "w3c": "W3C",
    "curl": "curl",
    "ftl": "FTL",
    "sleepycat": "Sleepycat",
    "unicode-dfs-2016": "Unicode-DFS-2016",
    "apache software license": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd 2-clause": "BSD-2-Clause",
    "simplified bsd license": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause",
    "bsd-4-clause-uc": "BSD-4-Clause-UC",
    "gfdl-niv-1.2": "GFDL-1.2-no-invariants-only",
    "gfdl-niv-1.2+": "GFDL-1.2-no-invariants-or-later",
    "gfdl-niv-1.3": "GFDL-1.3-no-invariants-only",
    "gfdl-niv-1.3+": "GFDL-1.3-no-invariants-or-later",
    "cc0": "CC0-1.0",
    "cc0-1.0": "CC0-1.0",
    "python software foundation license": "PSF-2.0",
    "psfl": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl 2.0": "MPL-2.0",
    "the unlicense (unlicense)": "Unlicense",
    "public domain": "LicenseRef-public-domain",
    "public-domain": "LicenseRef-public-domain",
    # Debian's "Artistic" is the Perl Artistic License 1.0 (/usr/share/common-licenses/Artistic)
    "artistic": "Artistic-1.0-Perl",
    # DEP-5 "Perl": the terms of Perl itself, a choice of two licenses
    "perl": "Artistic-1.0-Perl OR GPL-1.0-or-later",
    "psf": "PSF-2.0",
}

# Versioned families: name → (SPDX family, GNU-style only/or-later, known versions).
FAMILIES: dict[str, tuple[str, bool, frozenset[str]]] = {
    "gpl": ("GPL", True, frozenset({"1.0", "2.0", "3.0"})),
    "lgpl": ("LGPL", True, frozenset({"2.0", "2.1", "3.0"})),
    "agpl": ("AGPL", True, frozenset({"1.0", "3.0"})),
    "gfdl": ("GFDL", True, frozenset({"1.1", "1.2", "1.3"})),
    "apache": ("Apache", False, frozenset({"1.0", "1.1", "2.0"})),
    "mpl": ("MPL", False, frozenset({"1.0", "1.1", "2.0"})),
    "artistic": ("Artistic", False, frozenset({"1.0", "2.0"})),
    "cc-by": ("CC-BY", False, frozenset({"1.0", "2.0", "2.5", "3.0", "4.0"})),
    "cc-by-sa": ("CC-BY-SA", False, frozenset({"1.0", "2.0", "2.5", "3.0", "4.0"})),
    "epl": ("EPL", False, frozenset({"1.0", "2.0"})),
    "cddl": ("CDDL", False, frozenset({"1.0", "1.1"})),
    "ofl": ("OFL", False, frozenset({"1.0", "1.1"})),
    "sil-ofl": ("OFL", False, frozenset({"1.0", "1.1"})),
    "zpl": ("ZPL", False, frozenset({"1.1", "2.0", "2.1"})),
    "zope": ("ZPL", False, frozenset({"1.1", "2.0", "2.1"})),
    "python": ("Python", False, frozenset({"2.0"})),
    "psf": ("PSF", False, frozenset({"2.0"})),
}

_VERSIONED = re.compile(
    r"^(?P<family>[a-z][a-z-]*?)-?v?(?P<version>\d+(?:\.\d+)?)(?P<suffix>\+|-only|-or-later)?$"
)




@cache
def _licensing() -> Licensing:
    """Loaded on first use, and only for an expression the table below cannot answer: building
    the SPDX symbol table costs ~50 ms that a scan should not pay (nor importing the parser)."""
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


# Longer text is kept as written: real expressions are a few hundred characters, and the
# expression parser takes about a second per 100 KB.
MAX_EXPRESSION = 2000


@cache
def normalize(text: str) -> str:
    """The SPDX form of ``text`` when it is (or names) one, else ``text`` unchanged."""
    if len(text) > MAX_EXPRESSION:
        return text
    name = " ".join(text.split())
    if not name:
        return text
    alias = ALIASES.get(name.lower()) or versioned(name)
    if alias is not None:
        return alias
    if name.startswith("LicenseRef-"):
        return name
    answer = from_table(name)
    return answer if answer is not None else parsed(name)


def parsed(name: str) -> str:
    """What license-expression makes of ``name``: its normalised form when it is a valid
    expression of known ids, else ``name``."""
    try:
        info = _licensing().validate(name)
    except Exception:  # untrusted text into a third-party parser: "MIT AND" raises AttributeError
        return name
    if info.errors or info.invalid_symbols or not info.normalized_expression:
        return name
    return str(info.normalized_expression)


# The parser's own words: an expression with parentheses or AND/OR (or more than one WITH)
# goes to the parser.
_COMPOUND_WORDS = frozenset({"and", "or"})


def from_table(name: str) -> str | None:
    """``parsed(name)`` without the parser, for a name that is a single id or alias, ``<id>
    WITH <exception>``, or plain words (kept as written); None for anything else.

    Why this is the parser's answer: its tokenizer splits the lower-cased text into words at
    whitespace and parentheses and matches runs of whole words against the ids and aliases
    (spdx-ids.json: the same symbols). Runs of unknown words become one unknown symbol, and
    an expression is valid only when every symbol is known, two symbols are joined by an
    operator, and WITH has a license on its left and an exception on its right. So text
    without operators is valid only when it is, whole, one id or alias of a license (a lone
    exception is refused too), and ``A WITH B`` only when A is a license and B an exception.
    tests/unit/test_spdx_table.py checks it against the parser."""
    if "(" in name or ")" in name:
        return None
    words = name.lower().split(" ")
    if _COMPOUND_WORDS.intersection(words):
        return None
    withs = words.count("with")
    ids = spdx_ids()
    if withs == 0:
        known = ids.get(" ".join(words))
        return known[0] if known is not None and not known[1] else name
    at = words.index("with")
    if withs > 1 or at == 0 or at == len(words) - 1:
        return None
    license_ = ids.get(" ".join(words[:at]))
    exception = ids.get(" ".join(words[at + 1:]))
    if license_ is None or license_[1] or exception is None or not exception[1]:
        return name
    return f"{license_[0]} WITH {exception[0]}"


@cache
def spdx_ids() -> dict[str, tuple[str, bool]]:
    """Lower-cased SPDX id or alias → (the id, whether it is an exception), as
    license-expression knows them (data/spdx-ids.json, made by scripts/gen_spdx_ids.py)."""
    text = resources.files("portcullis").joinpath("data", SPDX_IDS).read_text(encoding="utf-8")
    data = json.loads(text)
    ids = {key.lower(): (key, False) for key in data["licenses"]}
    ids.update((key.lower(), (key, True)) for key in data["exceptions"])
    ids.update((alias.lower(), ids[key.lower()]) for alias, key in data["aliases"].items())
    return ids


SPDX_IDS = "spdx-ids.json"


def versioned(name: str) -> str | None:
    """``GPL-2+``, ``gplv2``, ``LGPL-2.1-only``, ``Apache-2`` → the SPDX id of that version;
    None for a name outside FAMILIES or a version the family never had."""
    match = _VERSIONED.match(name.strip().lower())
    if match is None or match["family"].rstrip("-") not in FAMILIES:
        return None
    family, gnu, versions = FAMILIES[match["family"].rstrip("-")]
    version = match["version"] if "." in match["version"] else f"{match['version']}.0"
    if version not in versions:
        return None
    later = match["suffix"] in ("+", "-or-later")
    if gnu:
        return f"{family}-{version}-{'or-later' if later else 'only'}"
    return f"{family}-{version}{'+' if later else ''}"


def normalize_all(licenses: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for text in licenses:
        value = normalize(text)
        if value not in out:
            out.append(value)
    return tuple(out)

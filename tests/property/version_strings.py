"""Hypothesis strategies for version strings of each scheme, built from each grammar's pieces.

The pieces are chosen to collide often (shared prefixes, equal numbers spelled differently,
every special character), since order bugs hide where two versions almost tie.
"""

from __future__ import annotations

from hypothesis import strategies as st

_num = st.sampled_from(["0", "1", "2", "9", "10", "01", "00"])


def _joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


def _repeat(piece: st.SearchStrategy[str], most: int) -> st.SearchStrategy[str]:
    return st.lists(piece, max_size=most).map("".join)


dpkg = _joined(
    st.sampled_from(["", "0:", "1:", "2:"]),
    _num,
    _repeat(st.one_of(_num, st.sampled_from([".", "~", "+", "a", "b", "z", "A", "~rc", ".0", "+b"])), 4),
    st.sampled_from(["", "-0", "-1", "-1ubuntu1", "-1+deb12u1", "-2~bpo1", "-a"]),
)

rpm = _joined(
    st.sampled_from(["", "0:", "1:", "2:"]),
    _num,
    _repeat(st.one_of(_num, st.sampled_from([".", "~", "^", "_", "a", "b", "rc", "git"])), 4),
    st.sampled_from(["", "-1", "-2", "-1.el8", "-1.el9_2", "-0~pre"]),
)

apk = _joined(
    _num,
    _repeat(st.sampled_from([".0", ".1", ".2", ".01", ".10"]), 3),
    st.sampled_from(["", "a", "b", "z"]),
    _repeat(st.sampled_from(["_alpha", "_beta", "_pre", "_rc", "_cvs", "_svn", "_git", "_hg",
                             "_p", "_rc1", "_p2", "_alpha10"]), 2),
    st.sampled_from(["", "-r0", "-r1", "-r10"]),
)

pep440 = _joined(
    st.sampled_from(["", "1!"]),
    _num,
    _repeat(st.sampled_from([".0", ".1", ".2", ".10"]), 2),
    st.sampled_from(["", "a1", "b2", "rc1", "a0", "RC1", "-alpha.1"]),
    st.sampled_from(["", ".post1", ".post0", "-1"]),
    st.sampled_from(["", ".dev0", ".dev1"]),
    st.sampled_from(["", "+local", "+local.1", "+1"]),
)

_pre_ident = st.sampled_from(["alpha", "beta", "rc", "0", "1", "2", "11", "x-y", "A"])
semver = _joined(
    st.sampled_from(["", "v"]),
    _num, st.just("."), _num, st.just("."), _num,
    st.one_of(st.just(""), st.lists(_pre_ident, min_size=1, max_size=3).map(
        lambda ids: "-" + ".".join(ids))),
    st.sampled_from(["", "+build", "+1.2"]),
)

go = st.one_of(
    semver.map(lambda v: v if v.startswith("v") else "v" + v),
    _joined(st.sampled_from(["v0.0.0-", "v1.2.4-0.", "v1.2.4-pre.0."]),
            st.sampled_from(["20191109021931", "20200101000000", "20191109021932"]),
            st.sampled_from(["-daa7c04131f5", "-000000000000"]),
            st.sampled_from(["", "+incompatible"])),
    _joined(st.just("go1."), st.sampled_from(["20", "21", "22"]),
            st.sampled_from(["", ".0", ".3", "rc1", "rc2", "beta1"])),
)

_maven_piece = st.sampled_from(["0", "1", "2", "10", ".", "-", "alpha", "a", "b", "beta", "m",
                                "milestone", "rc", "cr", "SNAPSHOT", "ga", "final", "release",
                                "sp", "foo", "jre", ".0", "-0", "-1"])
maven = _joined(st.sampled_from(["0", "1", "2"]), _repeat(_maven_piece, 6))

rubygems = _joined(
    _num,
    _repeat(st.sampled_from([".0", ".1", ".2", ".a", ".b", ".pre", ".rc1", ".10", "a", "b1"]), 4),
    st.sampled_from(["", "-1", "-beta", "-rc.1"]),
)

composer = _joined(
    st.sampled_from(["", "v"]),
    _num,
    _repeat(st.sampled_from([".0", ".1", ".2", ".10"]), 3),
    st.sampled_from(["", "-dev", "-alpha1", "-a2", "-beta", "-b1", "-RC1", "-rc2", "-p1",
                     "-patch2", "-pl1", "-stable", "-beta1-dev", "alpha"]),
)

nuget = _joined(
    _num,
    _repeat(st.sampled_from([".0", ".1", ".2", ".10", ".01"]), 3),
    st.one_of(st.just(""), st.lists(st.sampled_from(["alpha", "Alpha", "BETA", "beta", "rc",
                                                     "0", "1", "11", "x-y"]),
                                    min_size=1, max_size=3).map(lambda ids: "-" + ".".join(ids))),
    st.sampled_from(["", "+meta"]),
)

BY_ECOSYSTEM: dict[str, st.SearchStrategy[str]] = {
    "Debian": dpkg, "Red Hat": rpm, "Alpine": apk, "PyPI": pep440, "npm": semver, "Go": go,
    "Maven": maven, "RubyGems": rubygems, "Packagist": composer, "NuGet": nuget,
}

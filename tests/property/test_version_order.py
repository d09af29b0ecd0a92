"""Every scheme is a total order on the versions it accepts.

For generated triples: exactly one of a < b, a == b, b < a holds (antisymmetry and totality),
a version equals itself, equality is symmetric, and < and == are transitive. Strings the
scheme refuses must be refused with ``InvalidVersion`` only, never another exception.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from portcullis.vulndb.versions import InvalidVersion, SortKey, scheme_for
from tests.property.version_strings import BY_ECOSYSTEM


def _keys(ecosystem: str, versions: tuple[str, ...]) -> list[SortKey]:
    scheme = scheme_for(ecosystem)
    keys = []
    for v in versions:
        try:
            keys.append(scheme.key(v))
        except InvalidVersion:
            assume(False)
    return keys


def _relation(a: SortKey, b: SortKey) -> tuple[bool, bool, bool]:
    return (a < b, a == b, b < a)


@pytest.mark.parametrize("ecosystem", sorted(BY_ECOSYSTEM))
def test_total_order(ecosystem: str) -> None:
    strategy = BY_ECOSYSTEM[ecosystem]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
    @given(st.tuples(strategy, strategy, strategy))
    def check(triple: tuple[str, str, str]) -> None:
        a, b, c = _keys(ecosystem, triple)
        for x, y in ((a, b), (b, c), (a, c)):
            assert sum(_relation(x, y)) == 1, triple
            assert (x == y) == (y == x)
            assert (x < y) == (y > x)
        assert a == a and not a < a  # noqa: PLR0124 - reflexivity is the point
        if a < b < c:
            assert a < c, triple
        if a == b and b == c:
            assert a == c, triple
        if a == b:
            assert (a < c) == (b < c) and (c < a) == (c < b), triple

    check()


@pytest.mark.parametrize("ecosystem", sorted(BY_ECOSYSTEM))
def test_arbitrary_text_parses_or_raises_invalid_version(ecosystem: str) -> None:
    scheme = scheme_for(ecosystem)

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
    def check(text: str) -> None:
        try:
            key = scheme.key(text)
        except InvalidVersion as err:
            assert repr(text) in str(err)
        else:
            assert key == scheme.key(text)

    check()

"""Which SIDs an older consumer would not know; the legacy Exchange store in particular."""

from __future__ import annotations

import pytest

from sidtool.baseline import is_builtin_alias, known_to_legacy_store, unknown_to
from sidtool.security.sid import Sid


@pytest.mark.parametrize("rid", [544, 545, 546, 547, 548, 549, 550, 551, 552, 554])
def test_windows_2000_builtins_are_known_to_the_legacy_store(rid):
    assert known_to_legacy_store(Sid.parse(f"S-1-5-32-{rid}"))


@pytest.mark.parametrize("rid", [555, 556, 557, 558, 559, 560, 561, 562, 568, 573, 580])
def test_later_builtins_are_unknown_to_the_legacy_store(rid):
    assert not known_to_legacy_store(Sid.parse(f"S-1-5-32-{rid}"))


def test_an_uncatalogued_builtin_alias_is_unknown():
    assert not known_to_legacy_store(Sid.parse("S-1-5-32-999"))


@pytest.mark.parametrize(
    "sid", ["S-1-1-0", "S-1-5-11", "S-1-5-21-1-2-3-512", "S-1-5-21-1-2-3-1105", "S-1-5-32", "S-1-5-15"]
)
def test_non_builtin_sids_never_trip_the_legacy_store(sid):
    assert known_to_legacy_store(Sid.parse(sid))


def test_baseline_generalises_to_other_releases():
    rdp = Sid.parse("S-1-5-32-555")
    assert unknown_to(rdp, "2000")
    assert not unknown_to(rdp, "2003")
    assert unknown_to(Sid.parse("S-1-5-32-580"), "2008 R2")
    assert not unknown_to(Sid.parse("S-1-5-32-580"), "2012")
    # Outside BUILTIN the catalog decides: S-1-5-113 (Local account) came after 2003.
    assert unknown_to(Sid.parse("S-1-5-113"), "2003")
    assert not unknown_to(Sid.parse("S-1-5-21-1-2-3-1105"), "NT4")
    with pytest.raises(ValueError):
        unknown_to(rdp, "Vista")


def test_builtin_alias_shape():
    assert is_builtin_alias(Sid.parse("S-1-5-32-555"))
    assert not is_builtin_alias(Sid.parse("S-1-5-32"))
    assert not is_builtin_alias(Sid.parse("S-1-5-32-555-1"))
    assert not is_builtin_alias(Sid.parse("S-1-5-21-1-2-3-555"))

"""The well-known SID catalog: coverage, correctness of pinned facts, and the loader API."""

from __future__ import annotations

import pytest

import wellknown
from wellknown.catalog import CatalogError, parse_catalog

# Facts pinned here were each checked against the source named beside them.
# KB243330 = Microsoft KB 243330 / "Understand security identifiers" (Microsoft Learn);
# MS-DTYP = [MS-DTYP] 2.4.2.4 and 2.5.1.1; AD-groups = "Active Directory security groups".
PINNED = [
    # sid, name, scope, introduced, sddl  -- source
    ("S-1-1-0", "Everyone", "universal", "NT4", "WD"),  # KB243330, MS-DTYP 2.4.2.4
    ("S-1-5-7", "ANONYMOUS LOGON", "universal", "NT4", "AN"),  # KB243330
    ("S-1-5-11", "Authenticated Users", "universal", "NT4", "AU"),  # KB243330
    ("S-1-5-17", "IUSR", "universal", "2008", None),  # KB243330: the IIS anonymous user, not "This Organization"
    ("S-1-5-18", "SYSTEM", "universal", "NT4", "SY"),  # KB243330 (Local System)
    ("S-1-5-19", "LOCAL SERVICE", "universal", "2003", "LS"),  # KB243330: not "NT Authority"; XP/2003 accounts
    ("S-1-5-20", "NETWORK SERVICE", "universal", "2003", "NS"),  # KB243330: not "NT Authority"; XP/2003 accounts
    ("S-1-5-32-544", "Administrators", "builtin", "NT4", "BA"),  # KB243330, MS-DTYP
    ("S-1-5-32-554", "Pre-Windows 2000 Compatible Access", "builtin", "2000", "RU"),  # KB243330
    ("S-1-5-32-555", "Remote Desktop Users", "builtin", "2003", "RD"),  # KB243330, KB870585
    ("S-1-5-32-558", "Performance Monitor Users", "builtin", "2003", "MU"),  # KB243330, KB870585
    ("S-1-5-32-560", "Windows Authorization Access Group", "builtin", "2003", None),  # KB243330, KB870585
    ("S-1-5-32-562", "Distributed COM Users", "builtin", "2003 SP1", None),  # DCOM docs (KB243330 says 2003)
    ("S-1-5-32-568", "IIS_IUSRS", "builtin", "2008", "IS"),  # KB243330, MS-DTYP 2.5.1.1
    ("S-1-5-32-579", "Access Control Assistance Operators", "builtin", "2012", "AA"),  # KB243330, MS-DTYP
    ("S-1-5-32-580", "Remote Management Users", "builtin", "2012", "RM"),  # KB243330: not "Access Control ..."
    ("S-1-5-21-*-*-*-512", "Domain Admins", "domain", "NT4", "DA"),  # KB243330, MS-DTYP
    ("S-1-5-21-*-*-*-519", "Enterprise Admins", "forest-root", "2000", "EA"),  # KB243330, AD-groups
    ("S-1-5-21-*-*-*-525", "Protected Users", "domain", "2012 R2", "AP"),  # AD-groups, MS-DTYP
]

WINDOWS_2000_BUILTIN_RIDS = {544, 545, 546, 547, 548, 549, 550, 551, 552, 554}


@pytest.mark.parametrize(("sid", "name", "scope", "introduced", "sddl"), PINNED)
def test_pinned_entries(sid, name, scope, introduced, sddl):
    entry = wellknown.lookup(sid.replace("*-*-*", "1-2-3"))
    assert entry is not None, sid
    assert name.casefold() in {n.casefold() for n in (entry.name, *entry.aliases)}
    assert entry.scope == scope
    assert entry.introduced == introduced
    assert entry.sddl == sddl


def test_catalog_is_large_and_every_entry_is_sourced():
    entries = wellknown.entries()
    assert len(entries) >= 110
    defined = wellknown.sources()
    for entry in entries:
        assert entry.introduced in (*wellknown.RELEASES, wellknown.UNKNOWN_RELEASE), entry.sid
        assert entry.sources, entry.sid
        assert set(entry.sources) <= set(defined), entry.sid


def test_required_coverage():
    required = [
        "S-1-0-0", "S-1-1-0", "S-1-2-0", "S-1-3-0", "S-1-3-4", "S-1-5-1", "S-1-5-9", "S-1-5-22", "S-1-5-33",
        "S-1-5-64-10", "S-1-5-64-14", "S-1-5-64-21", "S-1-5-65-1", "S-1-5-80-0", "S-1-5-113", "S-1-5-114",
        "S-1-5-1000", "S-1-15-2-1", "S-1-16-4096", "S-1-16-12288", "S-1-18-1", "S-1-18-2",
    ]  # fmt: skip
    for rid in range(1, 21):
        if rid != 16:  # winnt.h defines no S-1-5-16
            required.append(f"S-1-5-{rid}" if rid != 5 else "S-1-5-5-0-999")
    for rid in (498, 500, 501, 502, 512, 513, 514, 515, 516, 517, 518, 519, 520, 521, 553, 571, 572):
        required.append(f"S-1-5-21-11-22-33-{rid}")
    for rid in (*WINDOWS_2000_BUILTIN_RIDS, *range(555, 563), 568, 569, 573, 574, 575, 576, 577, 578, 579, 580):
        required.append(f"S-1-5-32-{rid}")
    missing = [sid for sid in required if wellknown.lookup(sid) is None]
    assert not missing


def test_windows_2000_builtins_are_separated_from_later_ones():
    builtins = [e for e in wellknown.entries() if e.scope == "builtin" and e.sid.startswith("S-1-5-32-")]
    old = {int(e.sid.rsplit("-", 1)[1]) for e in builtins if not e.introduced_after("2000")}
    assert old == WINDOWS_2000_BUILTIN_RIDS
    newer = {int(e.sid.rsplit("-", 1)[1]) for e in wellknown.introduced_after("2000") if e.scope == "builtin"}
    assert set(range(555, 563)) <= newer
    assert newer.isdisjoint(WINDOWS_2000_BUILTIN_RIDS)
    assert all(rid >= 555 for rid in newer)


def test_introduced_after_is_strict_and_ordered():
    after_2003 = {e.sid for e in wellknown.introduced_after("2003")}
    assert "S-1-5-32-555" not in after_2003
    assert "S-1-5-32-562" in after_2003  # 2003 SP1 comes after 2003
    assert {e.sid for e in wellknown.introduced_after("2025")} == set()
    with pytest.raises(ValueError, match="unknown Windows release"):
        wellknown.introduced_after("Windows 95")


def test_sources_disagreement_is_noted():
    entry = wellknown.lookup("S-1-5-32-562")
    assert entry.note and "243330" in entry.note


@pytest.mark.parametrize(
    ("name", "sid"),
    [
        ("Remote Desktop Users", "S-1-5-32-555"),
        ("remote desktop users", "S-1-5-32-555"),
        ("BUILTIN\\Remote Desktop Users", "S-1-5-32-555"),
        ("  builtin\\remote   desktop users ", "S-1-5-32-555"),
        ("RD", "S-1-5-32-555"),
        ("rd", "S-1-5-32-555"),
        ("NT AUTHORITY\\LOCAL SERVICE", "S-1-5-19"),
        ("Windows Authorization Access Group", "S-1-5-32-560"),
        ("CORP\\Domain Admins", "S-1-5-21-*-*-*-512"),
        ("Domain Admins", "S-1-5-21-*-*-*-512"),
    ],
)
def test_find_by_name_and_alias(name, sid):
    assert sid in {e.sid for e in wellknown.find_name(name)}


def test_unknown_names_and_sids():
    assert wellknown.find_name("No Such Group") == ()
    assert wellknown.lookup("S-1-5-32-999") is None
    assert wellknown.lookup("not a sid") is None
    # A domain SID with an ordinary RID is not well-known.
    assert wellknown.lookup("S-1-5-21-1-2-3-1105") is None


def test_domain_rids_need_a_domain_sid_shape():
    assert wellknown.lookup("S-1-5-21-1-2-3-512").name == "Domain Admins"
    assert wellknown.lookup("S-1-5-21-1-2-512") is None


def test_lookup_normalises_case_and_hex_authority():
    assert wellknown.lookup(" s-1-0x5-32-555 ").sid == "S-1-5-32-555"


def test_catalog_file_errors_name_the_line():
    header = "sid,name,aliases,sddl,scope,introduced,sources,winnt,note"
    good = "S-1-5-32-555,Remote Desktop Users,,RD,builtin,2003,K,,"
    with pytest.raises(CatalogError, match=r"sids.csv:3: source 'K' is not defined"):
        parse_catalog(["# comment", header, good])
    with pytest.raises(CatalogError, match=r":4: S-1-5-32-555 is listed twice"):
        parse_catalog(["# source K: a source", header, good, good])
    with pytest.raises(CatalogError, match="introduced 'XP'"):
        parse_catalog(["# source K: s", header, good.replace("2003", "XP")])
    with pytest.raises(CatalogError, match="scope 'galaxy'"):
        parse_catalog(["# source K: s", header, good.replace("builtin", "galaxy")])
    with pytest.raises(CatalogError, match="no header"):
        parse_catalog(["# nothing"])


def test_indexed_pattern_lookup_agrees_with_a_scan_of_every_pattern_row():
    """Patterns are looked up by (parts, last part); the answer must be the first matching row, as a scan gives."""
    import random

    patterns = [entry for entry in wellknown.entries() if entry.is_pattern]
    rng = random.Random("patterns")
    texts = []
    for entry in patterns:  # each pattern filled in, and filled in with its last part changed
        filled = "-".join(str(rng.randrange(1, 2**32)) if part == "*" else part for part in entry.sid.split("-"))
        texts += [filled, filled.rsplit("-", 1)[0] + f"-{rng.randrange(1000, 5000)}"]
    texts += [f"S-1-5-21-{rng.randrange(2**32)}-{rng.randrange(2**32)}-{rng.randrange(2**32)}-{rid}"
              for rid in (500, 512, 513, 553, 1107, 4242)]  # fmt: skip
    matched = 0
    for text in texts:
        scanned = next((entry for entry in patterns if entry.matches(text)), None)
        found = wellknown.lookup(text)
        if found is None or found.is_pattern:  # exact rows answer first; they are not what this checks
            assert found == scanned, text
            matched += scanned is not None
    assert matched >= len(patterns)  # most texts did hit a pattern row

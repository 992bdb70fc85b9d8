"""DirectoryBuilder's memos (objectClass combinations, naming contexts by parent DN, SID domain parts) give what
working each entry out afresh gives; and the strings it shares are shared."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field, fields, replace

from sidtool.dn import dn_key, naming_context
from sidtool.errors import InputError
from sidtool.model import Directory, Principal, PrincipalKind
from sidtool.security.sid import Sid
from sidtool.sources.entries import DirectoryBuilder


@dataclass
class Entry:
    dn: str
    attributes: dict[str, list[bytes]] = field(default_factory=dict)
    line: int = 1


def build(entries: list[Entry]) -> tuple[dict[str, Principal], list[str]]:
    """The principals (by DN) and the problems of one builder given all the entries."""
    problems: list[str] = []
    builder = DirectoryBuilder("f", lambda error: problems.append(str(error)))
    for entry in entries:
        builder.add(entry)
    return {p.dn: p for p in builder.build().principals}, problems


def afresh(entries: list[Entry]) -> tuple[dict[str, Principal], list[str]]:
    """The oracle: each entry given to a builder of its own, so that nothing is remembered between entries."""
    principals: dict[str, Principal] = {}
    problems: list[str] = []
    for entry in entries:
        found, said = build([entry])
        principals.update(found)
        problems += said
    return principals, problems


def test_the_builder_fills_principals_in_the_order_of_their_fields():
    # entries.py builds Principal positionally: a field added or moved must be added there too
    assert [f.name for f in fields(Principal)] == [
        "dn", "sid", "kind", "domain_dn", "name", "display_name", "primary_group_id", "group_type",
        "legacy_exchange_dn", "members", "members_complete", "user_principal_name",
    ]  # fmt: skip
    entry = Entry("CN=a,OU=x,DC=corp,DC=com", {
        "objectclass": [b"top", b"group"], "objectsid": [bytes(Sid.parse("S-1-5-21-1-2-3-1104"))],
        "samaccountname": [b"a"], "displayname": [b"A a"], "primarygroupid": [b"513"], "grouptype": [b"-2147483646"],
        "legacyexchangedn": [b"/o=x/cn=a"], "member": [b"CN=b,DC=corp,DC=com"], "userprincipalname": [b"a@corp"],
    })  # fmt: skip
    (principal,) = build([entry])[0].values()
    assert principal == Principal(
        dn="CN=a,OU=x,DC=corp,DC=com", sid=Sid.parse("S-1-5-21-1-2-3-1104"), kind=PrincipalKind.GROUP,
        domain_dn="DC=corp,DC=com", name="a", display_name="A a", primary_group_id=513, group_type=-2147483646,
        legacy_exchange_dn="/o=x/cn=a", members=("CN=b,DC=corp,DC=com",), user_principal_name="a@corp",
    )  # fmt: skip


def test_object_class_combinations_remembered_classify_as_afresh():
    names = [b"top", b"user", b"User", b"computer", b"group", b"GROUP", b"foreignSecurityPrincipal", b"person",
             b"domainDNS", b"crossRef", b"publicFolder", b"configuration", b"caf\xc3\xa9"]  # fmt: skip
    rng = random.Random("object-classes")
    entries = []
    for number in range(3000):
        classes = [rng.choice(names) for _ in range(rng.randint(0, 4))]
        sid = bytes(Sid.parse(f"S-1-5-21-7-8-9-{1000 + number}"))
        entries.append(Entry(f"CN=p{number},OU=x,DC=corp,DC=com", {"objectclass": classes, "objectsid": [sid]}))
    together, apart = build(entries), afresh(entries)
    assert together == apart
    kinds = {p.kind for p in together[0].values()}
    assert kinds == set(PrincipalKind)


def test_naming_contexts_remembered_by_parent_are_those_of_the_escape_aware_reading():
    parts = ["CN=a", "OU=b ", "DC=corp", "dc=x", "DC=", "O=z", "DC=e\\,x", 'CN="q"', "DC=y\xa0", "CN=b\xa0", "Dc=Ü",
             "CN=M\\C3\\BCller", "CN=a;DC=b", " DC=c", "DCX=1"]  # fmt: skip
    rng = random.Random("naming-contexts")
    entries: dict[str, Entry] = {}  # each DN once (a DN given twice is an error only for a builder that saw both)
    for number in range(5000):
        dn = ",".join(rng.choice(parts) for _ in range(rng.randint(1, 5)))
        dn = f"CN=p{number}," + dn if rng.random() < 0.7 else dn  # many DNs under the same parent
        sid = bytes(Sid.parse(f"S-1-5-21-7-8-9-{1000 + number}"))
        entries.setdefault(dn, Entry(dn, {"objectclass": [b"user"], "objectsid": [sid]}, number))
    principals, problems = build(list(entries.values()))
    assert len(principals) > 3000
    for dn, principal in principals.items():
        assert principal.domain_dn == naming_context(dn), dn
    assert (principals, problems) == afresh(list(entries.values()))


def test_sids_sharing_a_domain_part_read_as_each_on_its_own():
    rng = random.Random("sids")
    domains = [bytes(Sid.parse(text))[:-4] for text in ("S-1-5-21-1-2-3-0", "S-1-5-32-0", "S-1-5-21-9-9-9-9-0")]
    raws = []
    for _ in range(3000):
        raw = rng.choice(domains) + struct.pack("<I", rng.getrandbits(32))
        if rng.random() < 0.2:  # damaged: cut, grown, a count or revision changed, or text
            cut = rng.randrange(len(raw))
            raw = rng.choice([raw[:cut], raw + b"\x00", raw[:1] + bytes([rng.randrange(20)]) + raw[2:],
                              b"\x02" + raw[1:], b"S-1-5-21-4-5-6-7", b"S-1-5-x", b"", raw[:-4]])  # fmt: skip
        raws.append(raw)
    entries = [Entry(f"CN=p{n},DC=x", {"objectclass": [b"user"], "objectsid": [raw]}) for n, raw in enumerate(raws)]
    principals, problems = build(entries)
    assert (principals, problems) == afresh(entries)
    assert 0 < len(problems) < len(raws) / 2
    for raw, entry in zip(raws, entries, strict=True):
        if entry.dn in principals and raw[:2] != b"S-":
            assert principals[entry.dn].sid == Sid.from_bytes(raw)


def test_one_string_per_naming_context_and_for_a_display_name_spelt_as_the_account_name():
    problems: list[InputError] = []
    builder = DirectoryBuilder("f", problems.append)
    domain = "DC=corp,DC=example,DC=com"
    builder.add(Entry(domain, {"objectclass": [b"domainDNS"], "objectsid": [bytes(Sid.parse("S-1-5-21-1-2-3"))]}))
    for number, parent in enumerate(["OU=People", "OU=Groups", "CN=Users", "OU=A\\, B"]):
        sid = bytes(Sid.parse(f"S-1-5-21-1-2-3-{1000 + number}"))
        values = {"objectclass": [b"user"], "objectsid": [sid], "samaccountname": [b"u"], "displayname": [b"u"]}
        builder.add(Entry(f"CN=u{number},{parent},{domain}", values))
    directory = builder.build()
    assert problems == []
    assert len(directory.principals) == 4
    (read,) = directory.domains
    for principal in directory.principals:
        assert principal.domain_dn is read.dn
        assert principal.display_name is principal.name
        assert principal.sid.sub_authorities[1] is read.sid.sub_authorities[1]  # type: ignore[union-attr]


def test_numbers_read_as_before():
    sid = bytes(Sid.parse("S-1-5-21-1-2-3-1000"))
    cases = {b"513": 513, b" 513 ": 513, b"-2147483646": -2147483646, b"1_0": 10, "٣".encode(): 3}
    for raw, number in cases.items():
        principals, problems = build([Entry("CN=a,DC=x", {"objectclass": [b"user"], "objectsid": [sid],
                                                             "primarygroupid": [raw]})])  # fmt: skip
        assert (principals["CN=a,DC=x"].primary_group_id, problems) == (number, [])
    principals, problems = build([Entry("CN=a,DC=x", {"objectclass": [b"user"], "objectsid": [sid],
                                                         "grouptype": [b"12x\xff"]})])  # fmt: skip
    assert (principals, problems) == ({}, ["f:line 1: grouptype '12x\ufffd' is not a number"])


def test_member_lists_share_the_strings_of_the_dns_they_name_read_before_or_after():
    builder = DirectoryBuilder("f", lambda error: None)

    def principal(dn: str, rid: int, classes: list[bytes], **values: list[bytes]) -> None:
        sid = bytes(Sid.parse(f"S-1-5-21-1-2-3-{rid}"))
        builder.add(Entry(dn, {"objectclass": classes, "objectsid": [sid], **values}))

    principal("CN=before,DC=x", 1000, [b"user"], primarygroupid=[b"513"])
    principal("CN=g,DC=x", 1001, [b"group"], member=[b"CN=before,DC=x", b"CN=after,DC=x", b"CN=nobody,DC=x"])
    principal("CN=h,DC=x", 1002, [b"group"], member=[b"CN=before,DC=x"])
    principal("CN=after,DC=x", 1003, [b"user"], primarygroupid=[b"513"])
    builder.add_members("CN=h,DC=x", [b"CN=after,DC=x"], 9)
    by_dn = {p.dn: p for p in builder.build().principals}
    before, after, g, h = (by_dn[f"CN={name},DC=x"] for name in ("before", "after", "g", "h"))
    assert g.members == ("CN=before,DC=x", "CN=after,DC=x", "CN=nobody,DC=x")
    assert h.members == ("CN=before,DC=x", "CN=after,DC=x")
    assert g.members[0] is before.dn and g.members[1] is after.dn
    assert h.members[0] is before.dn and h.members[1] is after.dn
    assert before.primary_group_id is after.primary_group_id == 513


def test_the_memos_keep_no_long_value():
    """A memo holds at most 4096 keys, each short: long objectClass values, DNs or numbers are not remembered."""
    problems: list[InputError] = []
    builder = DirectoryBuilder("f", problems.append)
    long = "x" * 5000
    for number in range(3):
        sid = bytes(Sid.parse(f"S-1-5-21-1-2-3-{1000 + number}"))
        values = {"objectclass": [b"user", long.encode()], "objectsid": [sid], "primarygroupid": [b"0" * 2000 + b"7"]}
        builder.add(Entry(f"CN=u{number},OU={long},DC=x", values))
    principals = builder.build().principals
    assert [(p.domain_dn, p.primary_group_id) for p in principals] == [("DC=x", 7)] * 3
    assert problems == []
    memos = [builder._classes, builder._contexts, builder._texts, builder._numbers, builder._sid_domains]
    assert max(len(key) for memo in memos for key in memo) <= 1024
    assert len(builder._sid_domains) == 1 and len(builder._texts) == 1


def test_the_index_by_dn_the_builder_hands_over_is_the_one_the_model_would_make():
    """build() gives the model its index of principals by dn_key (a plain DN keyed by its case-folded text, any
    other through the full parser); reading into an empty model keeps the principals as they are."""
    builder = DirectoryBuilder("f", lambda error: None)
    spellings = ["CN=Ann,DC=x", "cn=ann,dc=X", "CN=Bob \\, Jr,DC=x", "CN = Bob \\2C Jr , DC=x", "CN=Céline,DC=x",
                 "CN=\\23Hash,DC=x", "CN=Zed+UID=1,DC=x", "OU=A\\,B,CN=Eve,DC=x"]  # fmt: skip
    for rid, dn in enumerate(spellings, 1000):
        builder.add(Entry(dn, {"objectclass": [b"user"], "objectsid": [bytes(Sid.parse(f"S-1-5-21-9-{rid}"))]}))
    directory = builder.build()
    assert directory.by_dn == {dn_key(p.dn): p for p in directory.principals}
    assert len(directory.principals) < len(spellings)  # DNs written two ways are one principal
    assert Directory().merged(directory).principals is directory.principals
    twice = Directory(principals=(*directory.principals, replace(directory.principals[0], dn="cn=ANN,dc=x")))
    assert Directory().merged(twice).principals == directory.principals  # a model without the index: one per DN


def test_an_entry_that_cannot_be_told_apart_is_reported_not_dropped_silently():
    """No objectClass (an export that left it out), or an objectSid on a class sidtool does not read: a record skipped,
    with its line, never a quiet gap. CN=Builtin (objectSid S-1-5-32) and plain containers are not reported."""
    sid = bytes(Sid.parse("S-1-5-21-1-2-3-1105"))
    principals, problems = build(
        [
            Entry("CN=NoClass,CN=Users,DC=corp,DC=example,DC=com", {"objectsid": [sid]}, line=3),
            Entry(
                "CN=Odd,CN=Users,DC=corp,DC=example,DC=com",
                {"objectclass": [b"top", b"msDS-Odd"], "objectsid": [sid]},
                line=9,
            ),
            Entry(
                "CN=Builtin,DC=corp,DC=example,DC=com",
                {"objectclass": [b"top", b"builtinDomain"], "objectsid": [bytes(Sid.parse("S-1-5-32"))]},
            ),
            Entry("OU=Staff,DC=corp,DC=example,DC=com", {"objectclass": [b"top", b"organizationalUnit"]}),
            Entry(
                "CN=Spaced,CN=Users,DC=corp,DC=example,DC=com",
                {"objectclass": [b"top ", b"group "], "objectsid": [sid]},
            ),
        ]
    )
    assert problems == [
        "f:line 3: no objectClass: what this entry is cannot be told; export objectClass too",
        "f:line 9: an entry with an objectSid but none of the classes sidtool reads (user, computer, group, "
        "foreignSecurityPrincipal, domainDNS): not read",
    ]
    assert principals["CN=Spaced,CN=Users,DC=corp,DC=example,DC=com"].kind is PrincipalKind.GROUP


def test_a_cross_ref_read_says_the_forest_s_domains_are_listed_without_the_configuration_object():
    """The README's configuration exports filter for crossRef (and Exchange) objects: the CN=Configuration object
    itself is not in them, yet the crossRefs list the forest's domains, so one domain read is a one-domain forest."""
    from sidtool.risk import multi_domain_condition

    root = "DC=corp,DC=example,DC=com"
    builder = DirectoryBuilder("config.ldif", lambda error: None)
    builder.add(Entry(f"CN=CORP,CN=Partitions,CN=Configuration,{root}", {
        "objectclass": [b"top", b"crossRef"], "ncname": [root.encode()], "dnsroot": [b"corp.example.com"],
        "netbiosname": [b"CORP"], "systemflags": [b"3"]}))  # fmt: skip
    builder.add(Entry(root, {"objectclass": [b"top", b"domainDNS"],
                             "objectsid": [bytes(Sid.parse("S-1-5-21-1-2-3"))]}))  # fmt: skip
    directory = builder.build()
    assert directory.forest_root_dn == root
    assert (multi_domain_condition(directory).holds, multi_domain_condition(directory).basis.value) == (
        False, "one-domain")  # fmt: skip

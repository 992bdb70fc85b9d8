"""Trustee names of store exports resolved to SIDs against directory data; never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidtool.errors import InputError
from sidtool.model import Directory, Domain, Principal, PrincipalKind
from sidtool.security.sid import Sid
from sidtool.sources import _directory_may_follow, ldif, pfdavadmin, read_inputs
from sidtool.sources.folders import link_folders, store_path
from sidtool.sources.trustees import TrusteeError, TrusteeIndex, fold, resolve_trustees, self_evident_sid
from tests.support.cli_runner import REPO
from tests.support.exports import EXAMPLES, read

ROOT_SID = "S-1-5-21-1004336348-1177238915-682003330"
CHILD_SID = "S-1-5-21-3623811015-3361044348-30300820"
LEGACY = "/o=CORP/ou=First Administrative Group/cn=Recipients"


@pytest.fixture(scope="module")
def forest() -> Directory:
    with open(EXAMPLES / "corp-forest.ldif", "rb") as stream:
        return ldif.load(stream, "corp-forest.ldif", _fail)


def _fail(error: InputError) -> None:
    raise AssertionError(str(error))


@pytest.mark.parametrize(
    ("name", "sid"),
    [
        ("Default", "S-1-1-0"),
        ("anonymous", "S-1-5-7"),
        ("CORP\\alice.nguyen", f"{ROOT_SID}-1105"),
        ("corp\\ALICE.NGUYEN", f"{ROOT_SID}-1105"),
        ("corp.example.com\\bob.smith", f"{ROOT_SID}-1106"),
        ("EMEA\\dave.kowalski", f"{CHILD_SID}-1201"),
        (f"{LEGACY}/cn=carol.jones", f"{ROOT_SID}-1107"),
        (f"{LEGACY.upper()}/CN=JMUELLER", f"{ROOT_SID}-1108"),
        ("Müller, Jürgen", f"{ROOT_SID}-1108"),
        ("Sales Managers", f"{ROOT_SID}-1110"),
        ("CORP\\Sales", f"{ROOT_SID}-1111"),
        ("BUILTIN\\Remote Desktop Users", "S-1-5-32-555"),
        ("Remote Desktop Users", "S-1-5-32-555"),  # one alias per domain, one SID
        ("NT AUTHORITY\\Authenticated Users", "S-1-5-11"),
        ("NT User:S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1001"),
        (f"{ROOT_SID}-1114", f"{ROOT_SID}-1114"),
    ],
)
def test_every_name_form_resolves(forest, name, sid):
    assert TrusteeIndex(forest).resolve(name) == Sid.parse(sid)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Carol Jones", "ambiguous display name and account name: 2 principals are called that (CN=Carol Jones,"
         "CN=Users,DC=corp,DC=example,DC=com; CN=Carol Jones,OU=Contractors,DC=corp,DC=example,DC=com)"),
        ("Nobody Known", "no principal in the directory data has this name"),
        ("CORP\\nobody", "no principal in the directory data has this account"),
        ("FABRIKAM\\alice.nguyen", "no principal in the directory data has this account"),
        ("CORP\\Domain Users", None),  # resolves: the domain's own group
        ("FABRIKAM\\Domain Users", "no principal in the directory data has this account"),  # never the pattern
        (f"{LEGACY}/cn=nobody", "no principal in the directory data has this legacyExchangeDN"),
        ("S-1-5-21-x", "sub-authority"),
    ],
)  # fmt: skip
def test_unknown_and_ambiguous_names_are_refused(forest, name, message):
    index = TrusteeIndex(forest)
    if message is None:
        assert index.resolve(name) == Sid.parse(f"{ROOT_SID}-513")
        return
    with pytest.raises(TrusteeError) as raised:
        index.resolve(name)
    assert message in str(raised.value)


def test_resolution_reports_file_and_line_and_leaves_the_entry_unresolved(forest):
    exports, _ = read(pfdavadmin, "pfdavadmin/damaged_records.txt")
    reported: list[str] = []
    directory = resolve_trustees(link_folders(forest.merged(exports)), lambda e: reported.append(str(e)))
    assert reported == [
        "pfdavadmin/damaged_records.txt:line 9: trustee 'CORP\\nobody': no principal in the directory data has "
        "this account; entry left unresolved"
    ]
    entries = {e.trustee: e.trustee_sid for p in directory.permissions for e in p.entries}
    assert entries == {"Default": Sid.parse("S-1-1-0"), "CORP\\Helpdesk": Sid.parse(f"{ROOT_SID}-1114"),
                       "CORP\\nobody": None}  # fmt: skip


def test_without_directory_data_the_message_says_what_is_missing():
    exports, _ = read(pfdavadmin, "pfdavadmin/truncated.txt")
    reported: list[str] = []
    resolve_trustees(Directory().merged(exports), lambda e: reported.append(str(e)))
    assert reported == []  # "Default" needs no directory
    exports, _ = read(pfdavadmin, "pfdavadmin/utf16_without_bom.txt")
    resolve_trustees(exports, lambda e: reported.append(str(e)))
    assert reported[0].endswith(
        "(no directory data was read: add --directory with an LDIF export); entry left unresolved"
    )


def test_store_paths_become_public_folders_of_the_mapi_tree(forest):
    exports, _ = read(pfdavadmin, "pfdavadmin/trustee_forms.txt")
    directory = link_folders(forest.merged(exports))
    by_path = {f.path: f for f in directory.public_folders if f.path}
    assert set(by_path) == {"/Sales Orders", "/Sales Orders/Archive"}
    assert (by_path["/Sales Orders/Archive"].name, by_path["/Sales Orders/Archive"].dn) == ("Archive", None)
    # "/Sales Orders" is the directory's mail-enabled folder of that name: one folder, not two
    assert (
        by_path["/Sales Orders"].dn == "CN=Sales Orders,CN=Microsoft Exchange System Objects,DC=corp,DC=example,DC=com"
    )
    assert len(directory.public_folders) == 7 + 1


@pytest.mark.parametrize(
    ("text", "path"),
    [("\\Sales\\Orders", "/Sales/Orders"), ("Sales/Orders/", "/Sales/Orders"), ("\\", "/"), ("/A  /B", "/A/B")],
)
def test_store_path_spelling(text, path):
    assert store_path(text) == path


# --- names as real exports write them (issue: real exports) -----------------------------------------------


@pytest.mark.parametrize("token", ["NO", "UNKNOWN", "no", "Unknown"])
def test_placeholder_tokens_of_store_exports_name_nobody(forest, token):
    with pytest.raises(TrusteeError, match="placeholder store exports write, not a trustee name"):
        TrusteeIndex(forest).resolve(token)


@pytest.mark.parametrize("alias", ["RD", "AU", "DA", "BA", "WD", "NU"])
def test_sddl_aliases_are_never_trustee_names(forest, alias):
    # "NO" once resolved as Network Configuration Operators and made a false high finding
    with pytest.raises(TrusteeError, match="no principal in the directory data has this name"):
        TrusteeIndex(forest).resolve(alias)


def _directory(*principals: Principal) -> Directory:
    domain = Domain("DC=corp,DC=example,DC=com", Sid.parse(ROOT_SID), "corp.example.com", "CORP")
    return Directory(domains=(domain,), principals=principals)


def _principal(cn: str, rid: int | str, **names) -> Principal:
    sid = Sid.parse(rid if isinstance(rid, str) else f"{ROOT_SID}-{rid}")
    parent = "CN=Builtin" if str(sid).startswith("S-1-5-32-") else "CN=Users"
    return Principal(f"CN={cn},{parent},DC=corp,DC=example,DC=com", sid, PrincipalKind.GROUP,
                     "DC=corp,DC=example,DC=com", **names)  # fmt: skip


def test_a_look_alike_name_is_ambiguous_not_taken():
    index = TrusteeIndex(_directory(_principal("Remote Desktop Users", "S-1-5-32-555", name="Remote Desktop Users")))
    assert index.resolve("Remote Desktop Users") == Sid.parse("S-1-5-32-555")
    assert index.resolve("REMOTE desktop users") == Sid.parse("S-1-5-32-555")  # case is not a look-alike
    with pytest.raises(TrusteeError, match="matches only after folding look-alike characters"):
        index.resolve("Remote De\u017fktop U\u017fers")  # long s
    with pytest.raises(TrusteeError, match="look-alike"):
        index.resolve("Remote\u00a0Desktop Users")  # no-break space


def test_the_exact_spelling_wins_over_a_look_alike_of_another_principal():
    real = _principal("Remote Desktop Users", "S-1-5-32-555", name="Remote Desktop Users")
    decoy = _principal("Decoy", 1500, display_name="Remote De\u017fktop U\u017fers")
    index = TrusteeIndex(_directory(real, decoy))
    assert index.resolve("Remote Desktop Users") == real.sid
    assert index.resolve("Remote De\u017fktop U\u017fers") == decoy.sid


def test_a_name_two_kinds_give_to_two_principals_is_ambiguous():
    group = _principal("Helpdesk", 1501, name="Helpdesk")
    person = _principal("Hal Desk", 1502, name="hdesk", display_name="Helpdesk")
    with pytest.raises(TrusteeError, match="ambiguous display name and account name: 2 principals"):
        TrusteeIndex(_directory(group, person)).resolve("Helpdesk")


def test_upn_and_a_localized_builtin_domain():
    person = _principal("Ann", 1503, name="ann", user_principal_name="ann@corp.example.com")
    german = _principal("Remotedesktopbenutzer", "S-1-5-32-555", name="Remotedesktopbenutzer")
    index = TrusteeIndex(_directory(person, german))
    assert index.resolve("Ann@Corp.Example.com") == person.sid
    assert index.resolve("VORDEFINIERT\\Remotedesktopbenutzer") == Sid.parse("S-1-5-32-555")
    assert index.resolve("NT User:CORP\\ann") == person.sid


def test_a_question_mark_in_an_unresolved_name_suggests_an_ascii_export():
    index = TrusteeIndex(_directory(_principal("Juergen", 1504, display_name="M\u00fcller, J\u00fcrgen")))
    with pytest.raises(TrusteeError, match="-Encoding ASCII"):
        index.resolve("M?ller, J?rgen")


def _answer(index: TrusteeIndex, name: str) -> str:
    try:
        return str(index.resolve(name))
    except TrusteeError as error:
        return f"refused: {error}"


def test_an_index_of_only_the_names_asked_for_answers_as_the_whole_index_does(forest):
    """resolve_trustees indexes only the principals the export's names could mean: the answers must not change,
    look-alikes and ambiguities included."""
    names = ["Default", "Nobody Known", "CORP\\nobody", "S-1-5-21-x", "no", "Carol Jones", "carol jones",
             "Remote De\u017fktop U\u017fers", "FABRIKAM\\Domain Users", "NT User:CORP\\Sales",
             "BUILTIN\\Users"]  # fmt: skip
    for principal in forest.principals:
        for name in (principal.name, principal.display_name, principal.user_principal_name,
                     principal.legacy_exchange_dn, principal.dn.split(",")[0].split("=", 1)[1]):  # fmt: skip
            if name:
                names += [name, name.upper(), f"CORP\\{name}", f"EMEA\\{name}", f"corp.example.com\\{name}"]
    whole = TrusteeIndex(forest)
    for count in (1, 7, len(names)):  # the index of a few names, and of all of them
        for start in range(0, len(names), count):
            asked = names[start : start + count]
            only = TrusteeIndex(forest, asked)
            assert [_answer(only, name) for name in asked] == [_answer(whole, name) for name in asked]
    resolvable = sum(not _answer(whole, name).startswith("refused") for name in names)
    assert resolvable > len(names) // 2  # the names are mostly real ones: the comparison is not of refusals only


@pytest.mark.parametrize(
    ("name", "sid"),
    [("Default", "S-1-1-0"), (" ANONYMOUS ", "S-1-5-7"), ("s-1-5-32-555", "S-1-5-32-555"),
     ("NT User:S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1001"), ("NT User:Default", "S-1-1-0"),
     ("S-1-5-21-x", None), ("Sales", None), ("CORP\\Default", None), ("no", None), ("Domain Users", None)],
)  # fmt: skip
def test_a_name_that_spells_its_sid_needs_no_directory(forest, name, sid):
    expected = Sid.parse(sid) if sid else None
    assert self_evident_sid(name) == expected
    if expected is not None:  # the same answer the directory lookup gives
        assert TrusteeIndex(forest).resolve(name) == expected


STORE_EXPORTS = sorted(
    str(path)
    for folder in (REPO / "tests" / "data" / "pfdavadmin", REPO / "tests" / "data" / "exports", REPO / "examples")
    for path in folder.iterdir()
    if path.suffix == ".txt"
)


def _entries_and_problems(inputs: list[str]) -> tuple[list[tuple[str, str, Sid | None]], list[str]]:
    problems: list[str] = []
    directory = read_inputs(inputs, on_problem=lambda error: problems.append(str(error)))
    entries = [(p.folder, e.trustee, e.trustee_sid) for p in directory.permissions for e in p.entries]
    return entries, sorted(problems)


@pytest.mark.parametrize("export", STORE_EXPORTS, ids=lambda path: Path(path).name)
def test_names_resolved_as_the_export_is_read_are_those_resolved_after_reading(export):
    """With the directory read first, a store export's names are resolved as it is read; read before the
    directory, after reading. The entries and the problems reported must be the same either way."""
    forest = str(EXAMPLES / "corp-forest.ldif")
    as_read = _entries_and_problems([forest, export])
    after = _entries_and_problems([export, forest])
    assert as_read == after
    assert any(sid is not None for _, _, sid in as_read[0]) or not as_read[0]


def test_the_reader_is_given_the_directory_only_when_no_directory_data_can_follow(tmp_path):
    store, forest = str(EXAMPLES / "corp-forest-pfdavadmin.txt"), str(EXAMPLES / "corp-forest.ldif")
    assert not _directory_may_follow([(store, None)])
    assert _directory_may_follow([(store, None), (forest, None)])
    assert _directory_may_follow([("-", None)])  # standard input cannot be looked at first
    assert _directory_may_follow([(str(tmp_path / "missing.txt"), None)])
    assert not _directory_may_follow([(forest, "pfdavadmin")])  # --format says what it is
    calls: list[str] = []
    with open(store, "rb") as stream:
        export = pfdavadmin.load(stream, store, _fail, trustee_sid=lambda name: calls.append(name) or None)
    named = {e.trustee for p in export.permissions for e in p.entries}
    assert sorted(calls) == sorted(name for name in named if self_evident_sid(name) is None)  # each name once


def test_folding_an_ascii_name_by_its_shortcut_is_folding_it_by_nfkc_and_casefold():
    import random
    import string
    import unicodedata

    rng = random.Random(18)
    for _ in range(20000):
        name = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 24)))
        assert fold(name) == " ".join(unicodedata.normalize("NFKC", name).casefold().split()), repr(name)
    assert fold("Stra\u00dfe") == "strasse" and fold("\ufb01le  Server") == "file server"  # the others: NFKC


def _within(seconds: float, work):
    """``work()``'s answer, or a failure (not a hang) when it does not come back in time."""
    import threading

    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert answer, "still waiting: a pipe was opened ahead of its turn"
    return answer[0]


def test_a_pipe_still_to_be_read_is_never_read_ahead(tmp_path):
    """Whether directory data may follow a store export is told from the later inputs' first bytes, but a pipe
    is never opened for that: what would be read of it would be missing when its turn comes."""
    import os
    import threading

    forest = EXAMPLES / "corp-forest.ldif"
    fifo = tmp_path / "forest.ldif"
    os.mkfifo(fifo)
    assert _within(10, lambda: _directory_may_follow([(str(fifo), None)]))  # told without opening it

    def feed() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(forest.read_bytes())

    threading.Thread(target=feed, daemon=True).start()
    store = str(EXAMPLES / "corp-forest-pfdavadmin.txt")
    through_pipe = _within(30, lambda: _entries_and_problems([store, str(fifo)]))
    assert through_pipe == _entries_and_problems([store, str(forest)])  # the whole dump was read, and used


def test_each_later_input_is_looked_at_once_however_many_exports_come_before_it(tmp_path):
    export = tmp_path / "second.txt"
    export.write_bytes((EXAMPLES / "corp-forest-pfdavadmin.txt").read_bytes())
    looked_at: dict = {}
    assert not _directory_may_follow([(str(export), None)], looked_at)
    assert looked_at == {(str(export), None): False}
    export.unlink()  # a second look would now say "may" (it cannot be read): the verdict kept answers
    assert not _directory_may_follow([(str(export), None)], looked_at)

"""A store export's entries held in columns (model.EntryColumns) mean exactly what a tuple of the entries means.

The PFDAVAdmin reader numbers each distinct trustee and rights field of a file once and keeps, per folder, the
numbers of its entries. Everything that reads entries must see the same entries as before: as a sequence, when
names are resolved after reading, and in the risk pass, which reads the numbers without building the entries.
Each differential test here runs the same work on the columns and on the same entries as plain tuples.
"""

from __future__ import annotations

import codecs
import copy
import io
import pickle
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.gen_forest import Options, generate
from sidtool.errors import InputError
from sidtool.model import Directory, EntryColumns, EntryTable, PermissionEntry, RightsKind
from sidtool.risk import assess
from sidtool.security.sid import EVERYONE, Sid
from sidtool.sources import ldif, pfdavadmin, read_inputs
from sidtool.sources.folders import link_folders
from sidtool.sources.trustees import resolve_in_place


def table() -> EntryTable:
    made = EntryTable()
    made.trustees = [("Default", EVERYONE), ("CORP\\ann", None), ("CORP\\bob", Sid.parse("S-1-5-21-1-2-3-1104"))]
    made.rights = [(0x1B, RightsKind.MAPI), (0, RightsKind.UNKNOWN)]
    return made


def test_columns_read_as_the_tuple_of_their_entries():
    columns = EntryColumns(table(), (2, 0, 1), (0, 1, 0), "perms.txt:7")
    entries = (
        PermissionEntry("CORP\\bob", Sid.parse("S-1-5-21-1-2-3-1104"), 0x1B, RightsKind.MAPI, True, "perms.txt:7"),
        PermissionEntry("Default", EVERYONE, 0, RightsKind.UNKNOWN, True, "perms.txt:7"),
        PermissionEntry("CORP\\ann", None, 0x1B, RightsKind.MAPI, True, "perms.txt:7"),
    )
    assert len(columns) == 3 and tuple(columns) == entries and list(columns) == list(entries)
    assert columns == entries and entries == columns and hash(columns) == hash(entries)
    assert columns != entries[:2] and columns != list(entries)  # a list is not a tuple, as for a tuple
    assert columns[0] == entries[0] and columns[-1] == entries[-1] and columns[1:] == entries[1:]
    assert entries[2] in columns and columns.index(entries[1]) == 1
    with pytest.raises(IndexError):
        columns[3]
    with pytest.raises(IndexError):
        columns[-4]
    assert repr(columns) == repr(entries)
    assert not EntryColumns(table(), (), (), None) and EntryColumns(table(), (), (), None) == ()
    with pytest.raises(ValueError):
        EntryColumns(table(), (0, 1), (0,), None)
    with pytest.raises(AttributeError):
        columns.location = "elsewhere"  # frozen, as the model's values are
    assert copy.deepcopy(columns) == columns and pickle.loads(pickle.dumps(columns)) == entries
    assert copy.copy(columns).table is columns.table


def export(lines: list[str]) -> bytes:
    return codecs.BOM_UTF16_LE + "\r\n".join(lines).encode("utf-16-le")


def as_tuples(directory: Directory) -> Directory:
    """The same model, each set's entries a plain tuple."""
    return replace(directory, permissions=tuple(replace(p, entries=tuple(p.entries)) for p in directory.permissions))


@pytest.fixture(scope="module")
def forest(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("forest")
    generate(Options(domains=2, users=400, groups=60, depth=3, fanout=6, at_risk_share=0.05,
                     routes={"direct": 1.0, "nested": 2.0, "primary": 1.0, "foreign": 1.0},
                     servers=["2003sp1", "2000sp3"], folders=120, entries_per_folder=10, mail_enabled_share=0.2,
                     default_post_share=0.1, seed=11), folder)  # fmt: skip
    return folder


def damaged(forest: Path) -> bytes:
    """The forest's export, plus lines the reader must report or keep as unknown: names that resolve to nobody,
    rights it cannot read, rights it does not state (Custom) for trustees that are at risk, a line cut short."""
    lines = (forest / "pfdavadmin.txt").read_text(encoding="utf-16").splitlines()
    setacl = [line.split("\t") for line in lines if line.startswith("SETACL\t")]
    trustees = [fields[position] for fields in setacl for position in range(2, len(fields) - 1, 2)]
    extra = []
    for number, trustee in enumerate(trustees[:: max(1, len(trustees) // 40)]):
        extra.append("\t".join(["SETACL", f"\\Extra\\F{number}", trustee, "Custom", f"CORP\\nobody{number % 3}",
                                "Author", trustee, "Fly" if number % 2 else "Editor", "Default"]))  # fmt: skip
    for number, sid in enumerate(("S-1-5-32-555", "S-1-5-32-544", "S-1-5-32-559", "S-1-5-11", "S-1-5-7", "S-1-1-0")):
        extra.append(f"SETACL\t\\Extra\\S{number}\t{sid}\tAuthor\tNT User:{sid}\tCustom")  # built-ins, broad SIDs
    return export(lines + extra)


def read_forest(forest: Path) -> Directory:
    with open(forest / "forest.ldif", "rb") as stream:
        return ldif.load(stream, "forest.ldif", [].append)


def test_the_risk_pass_finds_the_same_in_columns_as_in_tuples(forest):
    problems: list[InputError] = []
    directory = read_forest(forest)
    store = pfdavadmin.load(io.BytesIO(damaged(forest)), "perms.txt", problems.append)
    assert isinstance(store.permissions[0].entries, EntryColumns)
    sets = list(directory.merged(store).permissions)
    resolve_in_place(directory, sets, problems.append)
    merged = link_folders(replace(directory.merged(store), permissions=tuple(sets)))
    in_columns, in_tuples = assess(merged), assess(as_tuples(merged))
    assert in_columns.findings and in_columns.unchecked  # entries at risk, and some whose rights are unknown
    assert in_columns == in_tuples
    assert {u.kind.value for u in in_columns.unchecked} >= {"rights-unknown"}
    assert {f.entry.trustee for f in in_columns.findings} >= {"S-1-5-32-555", "S-1-5-32-559", "S-1-5-11"}
    assert any("has no rights after it" in str(problem) for problem in problems)


def test_names_resolved_after_reading_are_the_same_in_columns_as_in_tuples(forest):
    store = pfdavadmin.load(io.BytesIO(damaged(forest)), "perms.txt", [].append)  # read before the directory
    directory = read_forest(forest)
    in_columns, in_tuples = list(store.permissions), list(as_tuples(store).permissions)
    columns_problems: list[InputError] = []
    tuples_problems: list[InputError] = []
    resolve_in_place(directory, in_columns, columns_problems.append)
    resolve_in_place(directory, in_tuples, tuples_problems.append)
    assert [str(p) for p in columns_problems] == [str(p) for p in tuples_problems]
    assert any("nobody" in str(problem) for problem in columns_problems)  # each unresolved entry, at its line
    assert [tuple(p.entries) for p in in_columns] == [p.entries for p in in_tuples]
    assert sum(e.trustee_sid is not None for p in in_columns for e in p.entries) > len(in_columns)
    changed = [now for now, before in zip(in_columns, store.permissions, strict=True) if now is not before]
    assert changed and len({id(p.entries.table) for p in changed}) == 1  # one resolved table, for every set changed


def test_two_exports_keep_two_tables_and_read_as_their_tuples_through_read_inputs(forest, tmp_path):
    """Two store exports, one before the directory and one after it: each has its own table; the report's model
    is the one the same entries as tuples give."""
    lines = damaged(forest).decode("utf-16").splitlines()
    half = len(lines) // 2
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_bytes(export(lines[:half]))
    second.write_bytes(export(["PFDAVAdmin 2.8 permissions export", *lines[half:]]))
    problems: list[InputError] = []
    directory = read_inputs([str(first), str(forest / "forest.ldif"), str(second)], on_problem=problems.append)
    tables = {
        name: {id(p.entries.table) for p in directory.permissions if p.origin == str(path)}
        for name, path in (("first", first), ("second", second))
    }
    assert tables["first"] and tables["second"] and tables["first"].isdisjoint(tables["second"])
    assert assess(directory) == assess(as_tuples(directory))
    assert any("nobody" in str(problem) for problem in problems)

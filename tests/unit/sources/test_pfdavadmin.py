"""PFDAVAdmin "Export Permissions" files: SETACL lines, every trustee form, encodings, damage."""

from __future__ import annotations

import codecs
import io

import pytest

from sidtool.errors import InputError
from sidtool.model import AclSource, RightsKind
from sidtool.security.rights import SETACL_UNSTATED, SETACL_WORDS, MapiRight
from sidtool.security.sid import Sid
from sidtool.sources import detect, pfdavadmin
from tests.support.exports import head, read


def test_header_lines_are_skipped_and_every_trustee_form_is_kept_as_written():
    directory, problems = read(pfdavadmin, "pfdavadmin/trustee_forms.txt")
    assert problems == []
    sales, archive = directory.permissions
    assert (sales.folder, sales.source, sales.origin) == (
        "/Sales Orders",
        AclSource.STORE,
        "pfdavadmin/trustee_forms.txt",
    )
    assert [e.trustee for e in sales.entries] == [
        "Default", "Anonymous", "CORP\\Sales",
        "/o=CORP/ou=First Administrative Group/cn=Recipients/cn=alice.nguyen", "EMEA\\dave.kowalski",
    ]  # fmt: skip
    assert [e.rights for e in sales.entries] == [SETACL_WORDS[r] for r in ("Reviewer", "None", "Author", "Owner",
                                                                            "PublishingEditor")]  # fmt: skip
    assert all(e.rights_kind is RightsKind.MAPI for e in sales.entries)
    # The names that spell their SID without a directory are resolved as read; the others wait for the directory.
    assert [e.trustee_sid for e in sales.entries] == [Sid.parse("S-1-1-0"), Sid.parse("S-1-5-7"), None, None, None]
    assert sales.entries[0].location == "pfdavadmin/trustee_forms.txt:4"
    # A subfolder path, a trustee written as a SID (resolved at once), a rights list, a trailing tab.
    assert archive.folder == "/Sales Orders/Archive"
    assert archive.entries[1].trustee_sid == Sid.parse("S-1-5-21-1004336348-1177238915-682003330-1107")
    assert archive.entries[1].rights == MapiRight.ReadItems | MapiRight.CreateItems


def test_ansi_file_and_a_hex_rights_mask():
    directory, problems = read(pfdavadmin, "pfdavadmin/ansi_folder_names.txt")
    assert problems == []
    (folder,) = directory.permissions
    assert folder.folder == "/Bestellungen Köln"
    assert folder.entries[1].rights == 0x1B


def test_utf16_without_bom_is_still_read():
    assert detect(head("pfdavadmin/utf16_without_bom.txt"), "x") == "pfdavadmin"
    directory, problems = read(pfdavadmin, "pfdavadmin/utf16_without_bom.txt")
    assert problems == [] and directory.permissions[0].entries[0].trustee == "CORP\\Helpdesk"


def test_damaged_records_are_reported_by_line_and_skipped():
    directory, problems = read(pfdavadmin, "pfdavadmin/damaged_records.txt")
    name = "pfdavadmin/damaged_records.txt"
    assert problems == [
        f"{name}:line 6: trustee 'CORP\\kiosk01': unknown right 'Superuser'; known: "
        + ", ".join([*SETACL_WORDS, SETACL_UNSTATED])
        + ", or a cmdlet name (ReadItems, ...)",
        f"{name}:line 7: SETACL line without a folder path",
        f"{name}:line 8: folder '/Helpdesk Tickets' is listed again (first at line 4)",
    ]
    folders = {p.folder: p.entries for p in directory.permissions}
    assert list(folders) == ["/Helpdesk Tickets", "/Admin Notices", "/Kiosk Drop", "/Company Announcements"]
    # A bare Custom is kept as an entry whose rights are not known (not reported: the risk engine counts it).
    (custom,) = folders["/Admin Notices"]
    assert (custom.trustee, custom.rights, custom.rights_kind) == ("Default", 0, RightsKind.UNKNOWN)
    assert folders["/Kiosk Drop"] == ()  # its one entry had an unknown word


def test_truncated_file_keeps_the_complete_lines():
    directory, problems = read(pfdavadmin, "pfdavadmin/truncated.txt")
    assert problems == ["pfdavadmin/truncated.txt:line 5: trustee 'CORP\\Sa' has no rights after it (line cut short?)"]
    helpdesk, sales = directory.permissions  # the cut-short entry is lost, the one before it on the line is kept
    assert (helpdesk.folder, sales.folder) == ("/Helpdesk Tickets", "/Sales Orders")
    assert [(e.trustee, e.rights) for e in sales.entries] == [("Default", SETACL_WORDS["Author"])]


@pytest.mark.parametrize("name", ["pfdavadmin/trustee_forms.txt", "pfdavadmin/ansi_folder_names.txt"])
def test_detected_by_content(name):
    assert detect(head(name), name) == "pfdavadmin"


def load_text(text: str, name: str = "perms.txt"):
    problems: list[InputError] = []
    directory = pfdavadmin.load(io.BytesIO(codecs.BOM_UTF16_LE + text.encode("utf-16-le")), name, problems.append)
    return directory, [str(problem) for problem in problems]


def test_a_damaged_entry_costs_that_entry_only_and_an_empty_rights_field_is_unknown():
    line = "\t".join(["SETACL", "\\Sales Orders", "Default", "Visible", "", "Author", "CORP\\kiosk01", "Read Fly",
                      "CORP\\Helpdesk", "", "CORP\\Sales", "Reviewer Create"])  # fmt: skip
    directory, problems = load_text(f"header\r\n{line}\r\n")
    assert problems == [
        "perms.txt:line 2: empty trustee in field 5",
        "perms.txt:line 2: trustee 'CORP\\kiosk01': unknown right 'Fly'; known: "
        + ", ".join([*SETACL_WORDS, SETACL_UNSTATED])
        + ", or a cmdlet name (ReadItems, ...)",
    ]
    (sales,) = directory.permissions
    assert [(e.trustee, e.rights, e.rights_kind) for e in sales.entries] == [
        ("Default", MapiRight.FolderVisible, RightsKind.MAPI),
        ("CORP\\Helpdesk", 0, RightsKind.UNKNOWN),  # an entry is stated, its rights are not
        ("CORP\\Sales", MapiRight.ReadItems | MapiRight.CreateItems | MapiRight.FolderVisible, RightsKind.MAPI),
    ]


def test_mailbox_lines_among_public_folder_lines_are_reported_once_with_the_first_line_and_the_count():
    lines = ["SETACL\t\\Sales Orders\tDefault\tAuthor"] + [
        f"SETACL\t\\User {n}\\Top of Information Store\\Inbox\tDefault\tNone" for n in range(5)
    ]
    directory, problems = load_text("\r\n".join(lines) + "\r\n")
    assert problems == [
        "perms.txt:line 2: this file is (or contains) a mailbox export: 5 SETACL line(s) name mailbox folders "
        "('\\<mailbox>\\Top of Information Store\\...'), which are not public folders"
    ]
    assert [p.folder for p in directory.permissions] == ["/Sales Orders"]


def test_the_memo_of_rights_fields_is_bounded_and_every_field_still_read(monkeypatch):
    monkeypatch.setattr(pfdavadmin, "_RIGHTS_SEEN", {})
    monkeypatch.setattr(pfdavadmin, "_RIGHTS_MEMO_SIZE", 10)
    lines = [f"SETACL\t\\F{n}\tDefault\t{n}" for n in range(50)]  # 50 distinct rights fields (decimal masks)
    directory, problems = load_text("\r\n".join(lines))
    assert problems == [] and len(pfdavadmin._RIGHTS_SEEN) == 10
    assert [p.entries[0].rights for p in directory.permissions] == list(range(50))


def test_a_trustee_named_on_many_lines_is_one_string_and_the_sharing_is_bounded(monkeypatch):
    lines = [f"SETACL\t\\F{n}\tCORP\\user{n % 3}\tAuthor" for n in range(30)]
    directory, problems = load_text("\r\n".join(lines))
    assert problems == []
    trustees = [p.entries[0].trustee for p in directory.permissions]
    assert trustees == [f"CORP\\user{n % 3}" for n in range(30)]
    assert len({id(trustee) for trustee in trustees}) == 3  # one string per name, whatever the line
    assert len(directory.permissions[0].entries.table.trustees) == 3  # one row of the file's table each
    monkeypatch.setattr(pfdavadmin, "_MEMO_KEPT", 2)
    directory, problems = load_text("\r\n".join(lines))
    trustees = [p.entries[0].trustee for p in directory.permissions]
    assert problems == [] and trustees == [f"CORP\\user{n % 3}" for n in range(30)]
    assert len({id(trustee) for trustee in trustees if trustee.endswith("user2")}) == 10  # past the bound: copies
    assert len(directory.permissions[0].entries.table.trustees) == 2 + 10  # a row for each name past the bound


def test_two_exports_joined_lose_no_setacl_line_and_their_second_header_is_named():
    """``copy /b a.txt+b.txt`` (or ``cat``): the second file's byte-order mark and header land among the SETACL
    lines. The SETACL lines are read however they start; a header line there is a skipped record with its line."""
    first = "PFDAVAdmin permissions export\r\n\r\nSETACL\t\\Drop\tDefault\tNone\r\n"
    second = "\ufeffHeader of the second export\r\nSETACL\t\\Drop2\tCORP\\carol\tAuthor\r\n"
    more = "\ufeffSETACL\t\\Drop3\tDefault\tNone\r\n setacl\t\\Drop4\tDefault\tNone\r\n\r\n"
    problems: list[InputError] = []
    directory = pfdavadmin.load(io.BytesIO(("\ufeff" + first + second + more).encode()), "joined.txt", problems.append)
    assert [p.folder for p in directory.permissions] == ["/Drop", "/Drop2", "/Drop3", "/Drop4"]
    assert [str(p) for p in problems] == [
        "joined.txt:line 4: not a SETACL line, among them (two exports joined?): '\\ufeffHeader of the second export'"
    ]

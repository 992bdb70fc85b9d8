"""CSV from Get-PublicFolderClientPermission | Select Identity,User,AccessRights | Export-Csv."""

from __future__ import annotations

import codecs
import io

import pytest

from sidtool.errors import InputError
from sidtool.security.rights import ROLES, MapiRight
from sidtool.sources import detect, permcsv
from sidtool.sources.permcsv import EXPORT_RECIPE
from tests.support.exports import head, read

R = MapiRight


def test_type_line_utf8_bom_and_joined_rights():
    directory, problems = read(permcsv, "permcsv/type_line_utf8_bom.csv")
    assert problems == []
    sales, announcements = directory.permissions
    assert sales.folder == "/Sales Orders"
    assert [(e.trustee, e.rights) for e in sales.entries] == [
        ("Default", ROLES["Reviewer"]), ("CORP\\Sales", ROLES["Author"]),
        ("Alice Nguyen", R.ReadItems | R.CreateItems | R.FolderVisible),
    ]  # fmt: skip
    assert [e.trustee for e in announcements.entries] == ["Müller, Jürgen", "Anonymous"]
    assert sales.entries[0].location == "permcsv/type_line_utf8_bom.csv:3"


def test_no_type_line_utf16_space_separated_rights_and_unresolved_sid_users():
    directory, problems = read(permcsv, "permcsv/no_type_line_utf16.csv")
    assert problems == []
    (helpdesk,) = directory.permissions
    assert helpdesk.entries[0].rights == R.ReadItems | R.CreateItems | R.FolderVisible
    assert helpdesk.entries[1].trustee == "NT User:S-1-5-21-1004336348-1177238915-682003330-1114"


def test_ansi_display_name_with_a_comma():
    directory, problems = read(permcsv, "permcsv/ansi_display_name.csv")
    assert problems == [] and directory.permissions[0].entries[0].trustee == "Müller, Jürgen"


def test_type_names_instead_of_rights_are_reported_with_the_export_that_keeps_them():
    directory, problems = read(permcsv, "permcsv/type_names.csv")
    assert len(problems) == 2
    assert problems[0].startswith("permcsv/type_names.csv:line 3: AccessRights holds a type name ('System.Collections")
    assert problems[1].startswith("permcsv/type_names.csv:line 4: AccessRights holds a type name ('Microsoft.Exchange")
    assert all("$_.AccessRights -join ','" in problem for problem in problems)
    assert [e.trustee for e in directory.permissions[0].entries] == ["CORP\\Sales"]


def test_expand_property_export_is_refused_with_a_reason():
    with pytest.raises(InputError) as raised:
        read(permcsv, "permcsv/expand_property.csv")
    assert str(raised.value) == (
        "permcsv/expand_property.csv:line 2: expected the columns Identity, User, AccessRights; "
        "found Permission, IsRole (exported with -ExpandProperty AccessRights?)"
    )


def test_a_short_row_is_reported_and_the_rest_read():
    directory, problems = read(permcsv, "permcsv/damaged_rows.csv")
    assert problems == ["permcsv/damaged_rows.csv:line 5: expected 3 fields, got 2 (row cut short, or a stray quote?)"]
    assert len(directory.permissions[0].entries) == 3


@pytest.mark.parametrize(
    "name", ["permcsv/type_line_utf8_bom.csv", "permcsv/no_type_line_utf16.csv", "permcsv/ansi_display_name.csv"]
)
def test_detected_by_content(name):
    assert detect(head(name), name) == "permcsv"


def load_bytes(data: bytes, name: str = "perms.csv"):
    problems: list[InputError] = []
    directory = permcsv.load(io.BytesIO(data), name, problems.append)
    return directory, [str(problem) for problem in problems]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_read_from_the_header_row(delimiter):
    rows = [["Identity", "User", "AccessRights"], ["\\Sales Orders", "Müller, Jürgen", "ReadItems,CreateItems"],
            ["\\Sales Orders", "CORP\\Sales", "Author"]]  # fmt: skip
    text = "\r\n".join(delimiter.join(f'"{field}"' for field in row) for row in rows) + "\r\n"
    data = codecs.BOM_UTF8 + text.encode("utf-8")
    assert detect(data, "x") == "permcsv"
    directory, problems = load_bytes(data)
    assert problems == []
    assert [(e.trustee, e.rights) for e in directory.permissions[0].entries] == [
        ("Müller, Jürgen", R.ReadItems | R.CreateItems), ("CORP\\Sales", ROLES["Author"])
    ]  # fmt: skip


def test_excel_resaved_semicolon_file_without_quotes_or_type_line():
    data = "Identity;User;AccessRights\r\n\\Sales Orders;CORP\\Sales;Author\r\n".encode("cp1252")
    assert detect(data, "x") == "permcsv"
    directory, problems = load_bytes(data)
    assert problems == [] and directory.permissions[0].entries[0].rights == ROLES["Author"]


def test_one_right_a_row_is_or_ed_into_one_entry_at_its_first_row_and_a_bad_row_costs_that_row_only():
    text = (
        '"Identity","User","Permission"\n"\\Sales Orders","CORP\\Sales","ReadItems"\n'
        '"\\Sales Orders","Default","Reviewer"\n"\\Sales Orders","corp\\sales","CreateItems"\n'
        '"\\Sales Orders","CORP\\Sales","Superuser"\n"\\Sales Orders","CORP\\Sales","FolderVisible"\n'
    )
    directory, problems = load_bytes(text.encode())
    assert len(problems) == 1 and problems[0].startswith("perms.csv:line 5: unknown folder right or role 'Superuser'")
    (sales,) = directory.permissions
    assert [(e.trustee, e.rights, e.location) for e in sales.entries] == [
        ("CORP\\Sales", R.ReadItems | R.CreateItems | R.FolderVisible, "perms.csv:2"),
        ("Default", ROLES["Reviewer"], "perms.csv:3"),
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"FolderName","User","AccessRights"', "the Exchange 2013 and later layout"),
        ('"Identity","User","AccessRights","IsInherited","Deny"', "mailbox or Active Directory permissions"),
        ('"User","AccessRights","ExtendedRights","Deny","InheritanceType"', "mailbox or Active Directory permissions"),
    ],
)
def test_recognised_layouts_that_cannot_be_used_are_refused_with_the_export_that_works(header, expected):
    with pytest.raises(InputError) as raised:
        load_bytes(f'{header}\n"\\Sales Orders","Default","Author"\n'.encode())
    message = str(raised.value)
    assert message.startswith("perms.csv:line 1: found ") and expected in message
    assert message.endswith(EXPORT_RECIPE)


def test_rows_keep_their_line_numbers_after_a_type_line_and_blank_lines():
    text = '#TYPE x\n\n"Identity";"User";"AccessRights"\n"\\A";"Default";"Author"\n"\\A";"CORP\\Sales"\n'
    directory, problems = load_bytes(text.encode())
    assert problems == ["perms.csv:line 5: expected 3 fields, got 2 (row cut short, or a stray quote?)"]
    assert directory.permissions[0].entries[0].location == "perms.csv:4"


def test_a_header_line_that_is_not_csv_is_an_input_error_not_a_crash():
    data = b'"Identity","Us\rer","AccessRights"\n"\\A","Default","Author"\n'
    assert permcsv.sniff(data) is False
    with pytest.raises(InputError, match="expected the columns Identity, User, AccessRights"):
        load_bytes(data)


def _load(text: str) -> tuple[list[tuple[str, str, int]], list[str]]:
    problems: list[InputError] = []
    directory = permcsv.load(io.BytesIO(text.encode()), "perms.csv", problems.append)
    found = [(p.folder, e.trustee, int(e.location.rsplit(":", 1)[1])) for p in directory.permissions for e in p.entries]
    return found, [str(problem) for problem in problems]


def test_a_quote_left_open_costs_its_row_and_the_rows_it_ran_over_are_read():
    header = '"Identity","User","AccessRights"\n'
    rows = '"\\Drop","CORP\\alice","Author\n"\\Drop2","CORP\\bob","Author"\n"\\Drop3","CORP\\carol","Author"\n'
    found, problems = _load(header + rows)
    assert found == [("/Drop2", "CORP\\bob", 3), ("/Drop3", "CORP\\carol", 4)]
    assert problems == ["perms.csv:line 2: expected 3 fields, got 5: a quote left open ran over lines 2-3, read again "
                        "one by one"]  # fmt: skip
    # never closed: csv reads to its field limit (128 KiB) and stops; the lines it held are read again
    filler = "".join(f'"\\F{n}","CORP\\user{n}","Author"\n' for n in range(5000))
    found, problems = _load(header + '"\\Open","CORP\\x","Author\n' + filler)
    assert len(found) == 5000 and found[0] == ("/F0", "CORP\\user0", 3)
    assert problems[0].startswith("perms.csv:line 2: ") and len(problems) == 1
    # a quote left open in the first field: the rows it swallowed could add up to the right count
    rows = '"\\A","Bob","Owner"\n"\\B,Carol,Owner\n"\\C","Dave","Owner"\n"\\D","Eve","Owner"\n'
    found, problems = _load(header + rows)
    assert found == [("/A", "Bob", 2), ("/C", "Dave", 4), ("/D", "Eve", 5)] and len(problems) == 1
    # a quoted line break in the first column is no damage, even where its last line has the right field count
    found, problems = _load(header + '"\\Sales\nOrders","Default","Reviewer"\n"\\B","CORP\\bob","Author"\n')
    assert (found, problems) == ([("/SalesOrders", "Default", 2), ("/B", "CORP\\bob", 4)], [])
    # ... also where the next line of the name starts with a quote (a name quoting a word)
    found, problems = _load(header + '"\\Sales\n""Q1"" report","Default","Reviewer"\n')
    assert (found, problems) == ([('/Sales"Q1" report', "Default", 2)], [])
    # a row whose quoted newline is real (a display name over two lines) is still one row
    found, problems = _load(header + '"\\Drop","Jones,\nCarol","Author"\n"\\Drop2","CORP\\bob","Author"\n')
    assert (found, problems) == ([("/Drop", "Jones,Carol", 2), ("/Drop2", "CORP\\bob", 4)], [])

"""CSV from Get-PublicFolderClientPermission | Select Identity,User,AccessRights | Export-Csv."""

from __future__ import annotations

import pytest
from exports import head, read

from sidtool.errors import InputError
from sidtool.security.rights import ROLES, MapiRight
from sidtool.sources import detect, permcsv

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

"""Plain descriptor lists: '<folder or DN><TAB><SDDL>' and '<DN>: <base64>' lines."""

from __future__ import annotations

import pytest

from sidtool.security.descriptor import decode_descriptor
from sidtool.security.sid import Sid
from sidtool.sources import detect, sddl_list
from tests.support.exports import head, read

ROOT_SID = "S-1-5-21-1004336348-1177238915-682003330"
SYSTEM_OBJECTS = "CN=Microsoft Exchange System Objects,DC=corp,DC=example,DC=com"


def _trustees(folder) -> list[str]:
    return [str(ace.sid) for ace in decode_descriptor(folder.descriptor).dacl]


def test_base64_lines_become_folders_by_dn():
    directory, problems = read(sddl_list, "sddl_list/base64_by_dn.txt")
    assert problems == []
    sales, kiosk = directory.public_folders
    assert (sales.name, sales.dn, sales.path) == ("Sales Orders", f"CN=Sales Orders,{SYSTEM_OBJECTS}", None)
    assert _trustees(sales) == [f"{ROOT_SID}-512", "S-1-1-0"]
    assert _trustees(kiosk) == [f"{ROOT_SID}-1109"]


def test_domain_sid_header_makes_domain_aliases_readable_and_paths_are_kept():
    directory, problems = read(sddl_list, "sddl_list/sddl_with_domain_sid.txt")
    assert problems == []
    helpdesk, reports = directory.public_folders
    assert _trustees(helpdesk) == [f"{ROOT_SID}-512", f"{ROOT_SID}-1114"]
    assert decode_descriptor(helpdesk.descriptor).owner == Sid.parse(f"{ROOT_SID}-512")
    assert (reports.name, reports.dn, reports.path) == ("Performance Reports", None, "/Performance Reports")


def test_domain_aliases_without_a_domain_sid_are_reported_never_guessed():
    directory, problems = read(sddl_list, "sddl_list/sddl_without_domain_sid.txt")
    assert problems == [
        "sddl_list/sddl_without_domain_sid.txt:line 1: SDDL uses the domain-relative alias DA, and no "
        "'# domain-sid: S-1-5-21-...' line came before it: its SID is unknown"
    ]
    assert [f.name for f in directory.public_folders] == ["Company Announcements"]


def test_damaged_lines_are_reported_by_line():
    directory, problems = read(sddl_list, "sddl_list/damaged_lines.txt")
    name = "sddl_list/damaged_lines.txt"
    assert problems == [
        f"{name}:line 2: descriptor is not valid base64",
        f"{name}:line 3: descriptor: security descriptor truncated: header needs 20 bytes, 8 present"
        " (at byte offset 0)",
        f"{name}:line 4: cn=sales orders,{SYSTEM_OBJECTS.lower()} is listed again (first at line 1)",
        f"{name}:line 5: SDDL: unknown SID alias 'XYZ' (at character 19)",
    ]
    assert [f.name for f in directory.public_folders] == ["Sales Orders"]


@pytest.mark.parametrize("name", ["sddl_list/base64_by_dn.txt", "sddl_list/sddl_with_domain_sid.txt",
                                  "sddl_list/sddl_without_domain_sid.txt"])  # fmt: skip
def test_detected_by_content(name):
    assert detect(head(name), name) == "sddl-list"

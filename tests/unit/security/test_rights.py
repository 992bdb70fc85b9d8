"""Rights vocabularies: AD ([MS-ADTS] 5.1.3.2), the Exchange store (edkmdb.h), MAPI ([MS-OXCPERM] 2.2.7)."""

from __future__ import annotations

import uuid

import pytest

from sidtool.security import Ace, Sid
from sidtool.security.rights import (
    KNOWN_GUIDS,
    ROLES,
    SETACL_WORDS,
    MapiRight,
    StoreRight,
    ad_right_names,
    can_post_items,
    format_access_rights,
    guid_name,
    parse_access_rights,
    parse_setacl_rights,
    right_names,
    role_of,
    store_right_names,
)
from sidtool.security.sddl import parse_sddl

EVERYONE = Sid.parse("S-1-1-0")


def test_ad_names():
    assert ad_right_names(0x20094) == ["ListChildren", "ReadProperty", "ListObject", "ReadControl"]
    assert ad_right_names(0xF01FF) == ["FullControl"]
    assert ad_right_names(0x10000000 | 0x100) == ["ExtendedRight", "GenericAll"]
    assert ad_right_names(0x00200000) == ["0x00200000"]


def test_store_names_use_folder_meanings():
    assert store_right_names(0x2 | 0x800 | 0x4000) == ["CreateItem", "ViewItem", "Owner"]
    assert StoreRight.Contact == 0x8000 and StoreRight.WriteSD == 0x40000


@pytest.mark.parametrize(
    ("role", "mask"),
    [
        ("Owner", 0x7FB),
        ("PublishingEditor", 0x4FB),
        ("Editor", 0x47B),
        ("PublishingAuthor", 0x49B),
        ("Author", 0x41B),
        ("NonEditingAuthor", 0x413),
        ("Reviewer", 0x401),
        ("Contributor", 0x402),
        ("None", 0x400),
    ],
)
def test_roles(role, mask):
    assert ROLES[role] == mask
    assert parse_access_rights(role.upper()) == mask
    assert role_of(mask) == role
    assert format_access_rights(mask) == role


def test_rights_lists_as_the_cmdlets_print_them():
    assert parse_access_rights("ReadItems, CreateItems, FolderVisible") == 0x403
    assert parse_access_rights("{ReadItems, CreateItems}") == 0x3
    assert parse_access_rights(["readany", "Create"]) == 0x3
    assert format_access_rights(0x3) == "ReadItems, CreateItems"
    assert format_access_rights(0x3 | 0x8000) == "ReadItems, CreateItems, 0x00008000"
    assert format_access_rights(0) == "NoRights"
    assert MapiRight.FolderVisible == 0x400
    with pytest.raises(ValueError, match="unknown folder right or role 'Publisher'"):
        parse_access_rights("Publisher")


def test_known_guids_cover_the_rights_the_risk_engine_needs():
    assert guid_name(uuid.UUID("ab721a54-1e2f-11d0-9819-00aa0040529b")) == "Send-As"
    assert guid_name(uuid.UUID("ab721a56-1e2f-11d0-9819-00aa0040529b")) == "Receive-As"
    assert guid_name(uuid.UUID("00299570-246d-11d0-a768-00aa006e0529")) == "User-Force-Change-Password"
    assert guid_name(uuid.UUID("bf9679c0-0de6-11d0-a285-00aa003049e2")) == "Self-Membership"
    assert guid_name(uuid.UUID("46a9b11d-60ae-405a-b7e8-ff8a58d456d2")) == "Token-Groups-Global-And-Universal"
    assert {"Validated-DNS-Host-Name", "Validated-SPN"} <= set(KNOWN_GUIDS.values())
    assert guid_name(None) is None


def test_right_names_vocabulary():
    ace = Ace(0, 0, 0x2, EVERYONE)
    assert right_names(ace, "ad") == ["DeleteChild"]
    assert right_names(ace, "exchange") == ["CreateItem"]
    with pytest.raises(ValueError):
        right_names(ace, "nfs")


@pytest.mark.parametrize(
    ("sddl", "expected"),
    [
        ("D:(A;;0x2;;;WD)", True),  # fsdrightCreateItem
        ("D:(A;;GW;;;WD)", True),  # the store maps GENERIC_WRITE to include it
        ("D:(A;;GA;;;WD)", True),
        ("D:(A;;0x801;;;WD)", False),  # read and view only
        ("D:(D;;0x2;;;WD)", False),  # a deny never lets anyone post
        ("D:(A;CIIO;0x2;;;WD)", False),  # inherit-only: not this folder
        ("D:(A;CI;0x2;;;WD)", True),
        ("D:(OA;;0x2;;;WD)", True),
        ("D:(OA;;0x2;ab721a54-1e2f-11d0-9819-00aa0040529b;;WD)", False),
        ("S:(AU;SA;0x2;;;WD)", False),
    ],
)
def test_can_post_items_for_store_aces(sddl, expected):
    descriptor = parse_sddl(sddl)
    ace = (descriptor.dacl or descriptor.sacl).aces[0]
    assert can_post_items(ace) is expected


def test_can_post_items_for_mapi_rights_and_roles():
    assert can_post_items(0x2) and can_post_items(0x41B)
    assert not can_post_items(0x401)
    assert can_post_items("Contributor") and can_post_items("ReadItems, CreateItems")
    assert not can_post_items("Reviewer") and not can_post_items("None")
    raw = Ace(0x44, 0, None, None, body=b"\x02\0\0\0")
    assert not can_post_items(raw)
    with pytest.raises(TypeError):
        can_post_items(True)
    with pytest.raises(TypeError):
        can_post_items(2.0)  # type: ignore[arg-type]


# The SETACL words of PFDAVAdmin, ExFolders and MAPIFolders, each with its exact PidTagMemberRights mask
# (bits from [MS-OXCPERM] 2.2.7; the role masks of mapidefs.h as MAPIFolders' writer uses them).
SETACL_MASKS = {
    "All": 0x7FB,  # Owner with FolderContact
    "Owner": 0x5FB,  # ROLE_OWNER: no FolderContact
    "PublishingEditor": 0x4FB,
    "Editor": 0x47B,
    "PublishingAuthor": 0x49B,
    "Author": 0x41B,
    "NonEditingAuthor": 0x413,
    "Reviewer": 0x401,
    "Contributor": 0x402,
    "None": 0x0,  # RIGHTS_NONE, unlike the cmdlets' None (FolderVisible)
    "Visible": 0x400,
    "Read": 0x1,
    "Create": 0x2,
    "CreateSubfolder": 0x80,
    "CreateSubfolders": 0x80,
    "Write": 0x20,
    "WriteOwn": 0x8,
    "Delete": 0x40,
    "DeleteOwn": 0x10,
    "o": 0x100,
    "Contact": 0x200,
    "FreeBusyBasic": 0x800,
    "FreeBusyDetails": 0x1000,
}


@pytest.mark.parametrize(("word", "mask"), SETACL_MASKS.items())
def test_setacl_word(word, mask):
    assert SETACL_WORDS[word] == mask
    assert parse_setacl_rights([word]) == mask
    assert parse_setacl_rights([word.upper()]) == mask
    assert parse_setacl_rights(["Custom", word]) == mask  # Custom with the rights listed: the rights


def test_setacl_vocabulary_is_exactly_the_tested_one():
    assert SETACL_WORDS == SETACL_MASKS


def test_setacl_role_then_leftover_rights_as_the_writers_spell_them():
    assert parse_setacl_rights(["Reviewer", "Create"]) == 0x403
    assert parse_setacl_rights(["None", "Visible"]) == 0x400
    assert parse_setacl_rights(["Visible", "o"]) == 0x500
    assert parse_setacl_rights(["Author", "FreeBusyDetails", "FreeBusyBasic"]) == 0x41B | 0x1800
    assert parse_setacl_rights(["ReadItems", "CreateItems"]) == 0x3  # the cmdlets' names, after the writers'
    assert parse_setacl_rights(["readany"]) == 0x1  # and [MS-OXCPERM]'s


def test_setacl_custom_alone_does_not_say_and_unknown_words_are_named():
    assert parse_setacl_rights(["Custom"]) is None
    assert parse_setacl_rights(["custom"]) is None
    assert parse_setacl_rights([]) is None
    with pytest.raises(ValueError, match=r"^unknown right 'Superuser'; known: All, Owner, .*FreeBusyDetails, Custom"):
        parse_setacl_rights(["Reviewer", "Superuser"])


@pytest.mark.parametrize(("role", "mask"), [("AvailabilityOnly", 0x800), ("LimitedDetails", 0x1800)])
def test_calendar_roles_of_the_cmdlets(role, mask):
    assert ROLES[role] == mask
    assert parse_access_rights(role) == mask
    assert role_of(mask) == role and format_access_rights(mask) == role
    assert not can_post_items(role)

"""Access rights named the way their owner reads them: Active Directory, the Exchange store, MAPI.

Three vocabularies share the 32-bit ACCESS_MASK of [MS-DTYP] 2.4.3:

* Active Directory object rights ([MS-ADTS] 5.1.3.2, [MS-DTYP] 2.4.3 and the
  SDDL right codes of [MS-DTYP] 2.5.1.1): RP, WP, CC, DC, LC, LO, SW, DT, CR in
  the low 16 bits, then the standard rights SD, RC, WD, WO and the generic
  rights GA, GX, GW, GR in the top four bits;
* Exchange store folder and message rights, the ``fsdright*`` constants of the
  Exchange SDK header edkmdb.h, used in the DACL of a public folder's
  PR_NT_SECURITY_DESCRIPTOR. Several bits have one meaning on folders and
  another on messages (0x2 is CreateItem on a folder, WriteBody on a message);
* MAPI folder permissions, PidTagMemberRights ([MS-OXCPERM] 2.2.7, the
  ``frights*`` constants of edkmdb.h) as Outlook and the Exchange cmdlets show
  them: individual rights (ReadItems, CreateItems, ...) and roles (Author,
  Editor, ...) from the Add-PublicFolderClientPermission documentation;
* the same bits as the PFDAVAdmin, ExFolders and MAPIFolders exports spell
  them in SETACL lines (``All``, ``Reviewer Create``, ``o``, ``FreeBusyBasic``):
  :data:`SETACL_WORDS`, :func:`parse_setacl_rights`.

:func:`can_post_items` is the one question the risk engine asks of an entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from enum import IntFlag
from functools import lru_cache

from sidtool.security.descriptor import ALLOW_ACE_TYPES, OBJECT_ACE_TYPES, Ace, AceFlag

# -- the generic and standard bits, [MS-DTYP] 2.4.3 ------------------------------

GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
GENERIC_EXECUTE = 0x20000000
GENERIC_ALL = 0x10000000
MAXIMUM_ALLOWED = 0x02000000
ACCESS_SYSTEM_SECURITY = 0x01000000
SYNCHRONIZE = 0x00100000
WRITE_OWNER = 0x00080000
WRITE_DAC = 0x00040000
READ_CONTROL = 0x00020000
DELETE = 0x00010000


class AdRight(IntFlag):
    """Active Directory object access rights, [MS-ADTS] 5.1.3.2 (names as .NET's ActiveDirectoryRights)."""

    CreateChild = 0x00000001  # CC, ADS_RIGHT_DS_CREATE_CHILD
    DeleteChild = 0x00000002  # DC
    ListChildren = 0x00000004  # LC
    Self = 0x00000008  # SW: validated write
    ReadProperty = 0x00000010  # RP
    WriteProperty = 0x00000020  # WP
    DeleteTree = 0x00000040  # DT
    ListObject = 0x00000080  # LO
    ExtendedRight = 0x00000100  # CR: control access
    Delete = DELETE  # SD
    ReadControl = READ_CONTROL  # RC
    WriteDacl = WRITE_DAC  # WD
    WriteOwner = WRITE_OWNER  # WO
    Synchronize = SYNCHRONIZE
    AccessSystemSecurity = ACCESS_SYSTEM_SECURITY
    MaximumAllowed = MAXIMUM_ALLOWED
    GenericAll = GENERIC_ALL  # GA
    GenericExecute = GENERIC_EXECUTE  # GX
    GenericWrite = GENERIC_WRITE  # GW
    GenericRead = GENERIC_READ  # GR


# Every specific and standard AD right but Synchronize: what "Full control" grants.
AD_FULL_CONTROL = 0x000F01FF

# SDDL two-letter right codes for AD objects, [MS-DTYP] 2.5.1.1, lowest bit first
# (the order Windows prints them in).
AD_SDDL_CODES: tuple[tuple[str, int], ...] = (
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    ("SD", DELETE),
    ("RC", READ_CONTROL),
    ("WD", WRITE_DAC),
    ("WO", WRITE_OWNER),
    ("GA", GENERIC_ALL),
    ("GX", GENERIC_EXECUTE),
    ("GW", GENERIC_WRITE),
    ("GR", GENERIC_READ),
)

# File and registry composites, [MS-DTYP] 2.5.1.1 (values from winnt.h:
# FILE_ALL_ACCESS, FILE_GENERIC_READ/WRITE/EXECUTE, KEY_ALL_ACCESS, KEY_READ,
# KEY_WRITE, KEY_EXECUTE; KX equals KR).
COMPOSITE_SDDL_CODES: tuple[tuple[str, int], ...] = (
    ("FA", 0x001F01FF),
    ("FR", 0x00120089),
    ("FW", 0x00120116),
    ("FX", 0x001200A0),
    ("KA", 0x000F003F),
    ("KR", 0x00020019),
    ("KW", 0x00020006),
    ("KX", 0x00020019),
)

# Mandatory label rights, [MS-DTYP] 2.4.4.13 (SYSTEM_MANDATORY_LABEL_NO_*_UP).
LABEL_SDDL_CODES: tuple[tuple[str, int], ...] = (("NW", 0x1), ("NR", 0x2), ("NX", 0x4))


def ad_right_names(mask: int) -> list[str]:
    """The AD rights in ``mask``, lowest bit first; full control reads "FullControl"; leftovers as hex."""
    if mask & AD_FULL_CONTROL == AD_FULL_CONTROL:
        return ["FullControl", *_flag_names(AdRight, mask & ~AD_FULL_CONTROL)]
    return _flag_names(AdRight, mask)


def _flag_names(flags: type[IntFlag], mask: int) -> list[str]:
    """The names of the ``flags`` members set in ``mask``, lowest bit first; bits no member names, as hex."""
    names = []
    for right in flags:
        if mask & right.value:
            names.append(str(right.name))
            mask &= ~right.value
    if mask:
        names.append(f"0x{mask:08X}")
    return names


# -- the Exchange store, edkmdb.h fsdright* ----------------------------------------------


class StoreRight(IntFlag):
    """Exchange store rights on folders (message meanings of shared bits in comments), edkmdb.h."""

    ListContents = 0x00000001  # fsdrightListContents; ReadBody on messages
    CreateItem = 0x00000002  # fsdrightCreateItem; WriteBody on messages
    CreateContainer = 0x00000004  # fsdrightCreateContainer; AppendMsg on messages
    ReadProperty = 0x00000008  # fsdrightReadProperty
    WriteProperty = 0x00000010  # fsdrightWriteProperty
    Execute = 0x00000020  # fsdrightExecute
    Reserved1 = 0x00000040  # fsdrightReserved1 (FILE_DELETE_CHILD), unused
    ReadAttributes = 0x00000080  # fsdrightReadAttributes
    WriteAttributes = 0x00000100  # fsdrightWriteAttributes
    WriteOwnProperty = 0x00000200  # fsdrightWriteOwnProperty (messages)
    DeleteOwnItem = 0x00000400  # fsdrightDeleteOwnItem (messages)
    ViewItem = 0x00000800  # fsdrightViewItem
    Owner = 0x00004000  # fsdrightOwner (folders)
    Contact = 0x00008000  # fsdrightContact (folders)
    Delete = DELETE  # fsdrightDelete
    ReadControl = READ_CONTROL  # fsdrightReadControl
    WriteSD = WRITE_DAC  # fsdrightWriteSD
    WriteOwner = WRITE_OWNER  # fsdrightWriteOwner
    Synchronize = SYNCHRONIZE  # fsdrightSynchronize
    AccessSystemSecurity = ACCESS_SYSTEM_SECURITY
    GenericAll = GENERIC_ALL
    GenericExecute = GENERIC_EXECUTE
    GenericWrite = GENERIC_WRITE
    GenericRead = GENERIC_READ


# Generic rights that, mapped by the store, include fsdrightCreateItem
# (edkmdb.h: sdrightsGenericWrite and sdrightsGenericAll both contain it).
_STORE_CREATE_ITEM = StoreRight.CreateItem | GENERIC_WRITE | GENERIC_ALL


def store_right_names(mask: int) -> list[str]:
    """The Exchange store folder rights in ``mask``, lowest bit first; unknown bits as hex."""
    return _flag_names(StoreRight, mask)


# -- MAPI folder permissions, [MS-OXCPERM] 2.2.7 -----------------------------------------


class MapiRight(IntFlag):
    """PidTagMemberRights bits, named as the Exchange cmdlets print AccessRights."""

    ReadItems = 0x00000001  # ReadAny, frightsReadAny
    CreateItems = 0x00000002  # Create, frightsCreate
    EditOwnedItems = 0x00000008  # EditOwned
    DeleteOwnedItems = 0x00000010  # DeleteOwned
    EditAllItems = 0x00000020  # EditAny
    DeleteAllItems = 0x00000040  # DeleteAny
    CreateSubfolders = 0x00000080  # CreateSubFolder
    FolderOwner = 0x00000100  # FolderOwner, frightsOwner
    FolderContact = 0x00000200  # FolderContact, frightsContact
    FolderVisible = 0x00000400  # FolderVisible, frightsVisible
    FreeBusySimple = 0x00000800  # [MS-OXCPERM] 2.2.7; calendar folders only
    FreeBusyDetailed = 0x00001000  # [MS-OXCPERM] 2.2.7; calendar folders only


# The protocol names of [MS-OXCPERM] for the same bits, accepted when parsing.
_MAPI_PROTOCOL_NAMES = {
    "readany": MapiRight.ReadItems,
    "create": MapiRight.CreateItems,
    "editowned": MapiRight.EditOwnedItems,
    "deleteowned": MapiRight.DeleteOwnedItems,
    "editany": MapiRight.EditAllItems,
    "deleteany": MapiRight.DeleteAllItems,
    "createsubfolder": MapiRight.CreateSubfolders,
}

_R = MapiRight
# Roles and their rights, from the Add-PublicFolderClientPermission documentation.
ROLES: dict[str, int] = {
    "Owner": _R.CreateItems
    | _R.CreateSubfolders
    | _R.DeleteAllItems
    | _R.DeleteOwnedItems
    | _R.EditAllItems
    | _R.EditOwnedItems
    | _R.FolderContact
    | _R.FolderOwner
    | _R.FolderVisible
    | _R.ReadItems,
    "PublishingEditor": _R.CreateItems
    | _R.CreateSubfolders
    | _R.DeleteAllItems
    | _R.DeleteOwnedItems
    | _R.EditAllItems
    | _R.EditOwnedItems
    | _R.FolderVisible
    | _R.ReadItems,
    "Editor": _R.CreateItems
    | _R.DeleteAllItems
    | _R.DeleteOwnedItems
    | _R.EditAllItems
    | _R.EditOwnedItems
    | _R.FolderVisible
    | _R.ReadItems,
    "PublishingAuthor": _R.CreateItems
    | _R.CreateSubfolders
    | _R.DeleteOwnedItems
    | _R.EditOwnedItems
    | _R.FolderVisible
    | _R.ReadItems,
    "Author": _R.CreateItems | _R.DeleteOwnedItems | _R.EditOwnedItems | _R.FolderVisible | _R.ReadItems,
    "NonEditingAuthor": _R.CreateItems | _R.DeleteOwnedItems | _R.FolderVisible | _R.ReadItems,
    "Reviewer": _R.FolderVisible | _R.ReadItems,
    "Contributor": _R.CreateItems | _R.FolderVisible,
    "None": _R.FolderVisible,
    # The calendar roles of the cmdlets (Exchange 2010 and later; Add-MailboxFolderPermission and
    # Get-PublicFolderClientPermission on a calendar folder): free/busy only, then free/busy with
    # subject and location. Bits from [MS-OXCPERM] 2.2.7 (FreeBusySimple 0x800, FreeBusyDetailed 0x1000).
    "AvailabilityOnly": _R.FreeBusySimple,
    "LimitedDetails": _R.FreeBusySimple | _R.FreeBusyDetailed,
}
_ROLE_KEYS = {name.casefold(): value for name, value in ROLES.items()}
_RIGHT_KEYS = {str(right.name).casefold(): right.value for right in MapiRight}


def parse_access_rights(text: str | Iterable[str]) -> int:
    """PidTagMemberRights from cmdlet text: "ReadItems, CreateItems, FolderVisible", "Author", "{Editor}".

    Roles and rights mix freely; case is ignored; the [MS-OXCPERM] protocol
    names (ReadAny, Create, ...) are accepted too. Raises ValueError for an
    unknown word.
    """
    words = text.strip().strip("{}").replace(";", ",").split(",") if isinstance(text, str) else list(text)
    mask = 0
    for word in words:
        key = word.strip().casefold()
        if not key:
            continue
        if key in _ROLE_KEYS:
            mask |= _ROLE_KEYS[key]
        elif key in _RIGHT_KEYS:
            mask |= _RIGHT_KEYS[key]
        elif key in _MAPI_PROTOCOL_NAMES:
            mask |= _MAPI_PROTOCOL_NAMES[key]
        else:
            known = ", ".join([*ROLES, *(str(r.name) for r in MapiRight)])
            raise ValueError(f"unknown folder right or role {word.strip()!r}; known: {known}")
    return mask


# -- the SETACL rights words of PFDAVAdmin, ExFolders and MAPIFolders exports ------------
#
# The export writers spell a PidTagMemberRights mask as a role word, then a word for each right the
# role leaves out, space-separated ("Reviewer Create", "None Visible"). MAPIFolders' SETACL writer
# (github.com/bill-long/mapifolders, ExportFolderPermissionsOperation.cpp, by PFDAVAdmin's author)
# shows the words and their order; its roles are the ROLE_* masks of mapidefs.h, in which Owner
# (0x5FB) lacks FolderContact: "All" is Owner with FolderContact, and "None" is no right at all,
# while the bare FolderVisible role is written "Visible". The ExFolders readme adds FreeBusyBasic
# and FreeBusyDetails for calendar folders. Bit values: [MS-OXCPERM] 2.2.7. A role that contains
# EditAny or DeleteAny stands for the EditOwned and DeleteOwned bits too (the writer drops them after
# the role word; [MS-OXCPERM] 2.2.7 requires them with EditAny and DeleteAny), so the masks below are
# the cmdlets' masks for the same roles.
SETACL_WORDS: dict[str, int] = {
    # roles
    "All": ROLES["Owner"],  # Owner and FolderContact
    "Owner": ROLES["Owner"] & ~_R.FolderContact,  # mapidefs.h ROLE_OWNER 0x5FB
    "PublishingEditor": ROLES["PublishingEditor"],
    "Editor": ROLES["Editor"],
    "PublishingAuthor": ROLES["PublishingAuthor"],
    "Author": ROLES["Author"],
    "NonEditingAuthor": ROLES["NonEditingAuthor"],
    "Reviewer": ROLES["Reviewer"],
    "Contributor": ROLES["Contributor"],
    "None": 0,  # RIGHTS_NONE: not even FolderVisible (unlike the cmdlets' role None)
    # rights left over after the role
    "Visible": _R.FolderVisible,  # also the role ROLE_NONE
    "Read": _R.ReadItems,
    "Create": _R.CreateItems,
    "CreateSubfolder": _R.CreateSubfolders,  # MAPIFolders' spelling
    "CreateSubfolders": _R.CreateSubfolders,
    "Write": _R.EditAllItems,
    "WriteOwn": _R.EditOwnedItems,
    "Delete": _R.DeleteAllItems,
    "DeleteOwn": _R.DeleteOwnedItems,
    "o": _R.FolderOwner,  # the folder-owner right without the role
    "Contact": _R.FolderContact,
    "FreeBusyBasic": _R.FreeBusySimple,  # ExFolders, calendar folders
    "FreeBusyDetails": _R.FreeBusyDetailed,  # ExFolders, calendar folders
}
# The word PFDAVAdmin shows for rights that match no role; alone, it does not say which rights they are.
SETACL_UNSTATED = "Custom"
_SETACL_KEYS = {word.casefold(): int(value) for word, value in SETACL_WORDS.items()}


def parse_setacl_rights(words: Iterable[str]) -> int | None:
    """The mask the words of a SETACL rights field spell, or None when they do not say ("Custom" alone).

    Case is ignored. The writers' words come first; the cmdlet names (ReadItems, ...) and the
    [MS-OXCPERM] names are accepted after them, since hand-edited exports use them. Raises ValueError
    naming the first unknown word.
    """
    mask = 0
    stated = False
    for word in words:
        key = word.casefold()
        if key == SETACL_UNSTATED.casefold():
            continue
        stated = True
        value = _SETACL_KEYS.get(key)
        if value is None:
            value = _RIGHT_KEYS.get(key, _MAPI_PROTOCOL_NAMES.get(key))
        if value is None:
            known = ", ".join([*SETACL_WORDS, SETACL_UNSTATED])
            raise ValueError(f"unknown right {word!r}; known: {known}, or a cmdlet name (ReadItems, ...)")
        mask |= value
    return mask if stated else None


def role_of(mask: int) -> str | None:
    """The role whose rights are exactly ``mask``, or None (a custom set)."""
    return next((name for name, value in ROLES.items() if value == mask), None)


@lru_cache(maxsize=4096)
def format_access_rights(mask: int) -> str:
    """``mask`` as the cmdlets print AccessRights: a role when one matches exactly, else the rights."""
    role = role_of(mask)
    if role is not None:
        return role
    names = [str(right.name) for right in MapiRight if mask & right.value]
    rest = mask & ~sum(right.value for right in MapiRight)
    if rest:
        names.append(f"0x{rest:08X}")
    return ", ".join(names) if names else "NoRights"


# -- extended rights, validated writes, property sets, classes ([MS-ADTS] 5.1.3.2.1, 5.1.3.2.2) --

KNOWN_GUIDS: dict[uuid.UUID, str] = {
    uuid.UUID(text): name
    for text, name in (
        # Extended rights (controlAccessRight objects, rightsGuid).
        ("ab721a53-1e2f-11d0-9819-00aa0040529b", "User-Change-Password"),
        ("ab721a54-1e2f-11d0-9819-00aa0040529b", "Send-As"),
        ("ab721a55-1e2f-11d0-9819-00aa0040529b", "Send-To"),
        ("ab721a56-1e2f-11d0-9819-00aa0040529b", "Receive-As"),
        ("00299570-246d-11d0-a768-00aa006e0529", "User-Force-Change-Password"),
        ("1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", "DS-Replication-Get-Changes"),
        ("1131f6ad-9c07-11d1-f79f-00c04fc2dcd2", "DS-Replication-Get-Changes-All"),
        # Validated writes.
        ("bf9679c0-0de6-11d0-a285-00aa003049e2", "Self-Membership"),
        ("72e39547-7b18-11d1-adef-00c04fd8d5cd", "Validated-DNS-Host-Name"),
        ("f3a64788-5306-11d1-a9c5-0000f80367c1", "Validated-SPN"),
        # Property sets.
        ("59ba2f42-79a2-11d0-9020-00c04fc2d3cf", "General-Information"),
        ("e48d0154-bcf8-11d1-8702-00c04fb96050", "Public-Information"),
        ("77b5b886-944a-11d1-aebd-0000f80367c1", "Personal-Information"),
        ("4c164200-20c0-11d0-a768-00aa006e0529", "User-Account-Restrictions"),
        ("5f202010-79a5-11d0-9020-00c04fc2d4cf", "User-Logon"),
        ("bc0ac240-79a9-11d0-9020-00c04fc2d4cf", "Membership"),
        ("e45795b2-9455-11d1-aebd-0000f80367c1", "Email-Information"),
        ("e45795b3-9455-11d1-aebd-0000f80367c1", "Web-Information"),
        # Attributes.
        ("46a9b11d-60ae-405a-b7e8-ff8a58d456d2", "Token-Groups-Global-And-Universal"),
        # Classes (schemaIDGUID), as inherited object types.
        ("bf967aba-0de6-11d0-a285-00aa003049e2", "user"),
        ("bf967a9c-0de6-11d0-a285-00aa003049e2", "group"),
        ("bf967a86-0de6-11d0-a285-00aa003049e2", "computer"),
        ("4828cc14-1437-45bc-9b07-ad6f015e5f28", "inetOrgPerson"),
    )
}
SEND_AS = uuid.UUID("ab721a54-1e2f-11d0-9819-00aa0040529b")
RECEIVE_AS = uuid.UUID("ab721a56-1e2f-11d0-9819-00aa0040529b")
TOKEN_GROUPS_GLOBAL_AND_UNIVERSAL = uuid.UUID("46a9b11d-60ae-405a-b7e8-ff8a58d456d2")


def guid_name(guid: uuid.UUID | None) -> str | None:
    """The name of a well-known extended right, property set, attribute or class GUID."""
    return None if guid is None else KNOWN_GUIDS.get(guid)


def right_names(ace: Ace, vocabulary: str = "ad") -> list[str]:
    """Names of the rights an ACE carries, in the ``"ad"`` or ``"exchange"`` vocabulary."""
    if ace.mask is None:
        return []
    if vocabulary == "exchange":
        return store_right_names(ace.mask)
    if vocabulary != "ad":
        raise ValueError(f"unknown rights vocabulary {vocabulary!r}; expected 'ad' or 'exchange'")
    return ad_right_names(ace.mask)


# -- the question the risk engine asks -----------------------------------------------


_CREATE_ITEMS = int(MapiRight.CreateItems)


def can_post_items(entry: Ace | int | str) -> bool:
    """Does this entry let its trustee post (create items) in a public folder?

    * an :class:`Ace` from a folder's store descriptor: an allowing ACE (plain,
      callback, or object ACE without an object type) that applies to the
      folder itself (not inherit-only) and carries fsdrightCreateItem, or a
      generic right the store maps to it (GENERIC_WRITE, GENERIC_ALL);
    * an ``int``: MAPI member rights (PidTagMemberRights) with the Create bit;
    * a ``str``: a role or rights list as the cmdlets print it ("Author",
      "ReadItems, CreateItems").

    A deny ACE never lets anyone post; whether a deny elsewhere in the ACL
    overrides an allow is a question about the whole ACL, not this entry.
    """
    if isinstance(entry, Ace):
        if entry.mask is None or entry.type not in ALLOW_ACE_TYPES:
            return False
        if entry.flags & AceFlag.INHERIT_ONLY:
            return False
        if entry.type in OBJECT_ACE_TYPES and entry.object_type is not None:
            return False
        return bool(entry.mask & _STORE_CREATE_ITEM)
    if isinstance(entry, bool):
        raise TypeError("can_post_items takes an Ace, a rights mask or rights text, not a bool")
    if isinstance(entry, int):
        return bool(entry & _CREATE_ITEMS)  # a plain int: IntFlag arithmetic costs 10x, once per entry
    if isinstance(entry, str):
        return bool(parse_access_rights(entry) & MapiRight.CreateItems)
    raise TypeError(f"can_post_items takes an Ace, a rights mask or rights text, not {type(entry).__name__}")

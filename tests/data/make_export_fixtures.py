"""Write the export fixtures under tests/data/{pfdavadmin,permcsv,sddl_list,ldif}; deterministic.

Run from the repository root: ``python tests/data/make_export_fixtures.py``. The text is written here,
the encodings (UTF-16 with and without a BOM, ANSI, UTF-8 with a BOM) are what the files show.
Trustees and folders are those of examples/corp-forest.ldif.
"""

from __future__ import annotations

import base64
import codecs
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sidtool.security.sddl import parse_sddl
from sidtool.security.sid import Sid

DATA = Path(__file__).resolve().parent
ROOT_SID = "S-1-5-21-1004336348-1177238915-682003330"
LEGACY = "/o=CORP/ou=First Administrative Group/cn=Recipients"
SYSTEM_OBJECTS = "CN=Microsoft Exchange System Objects,DC=corp,DC=example,DC=com"
HEADER = ["PFDAVAdmin 2.8 permissions export", "Top folder: Public Folders", ""]


def crlf(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def setacl(folder: str, *pairs: str) -> str:
    return "\t".join(["SETACL", folder, *pairs])


def base64_descriptor(sddl: str) -> str:
    return base64.b64encode(bytes(parse_sddl(sddl, ROOT_SID))).decode("ascii")


ROOT = "DC=corp,DC=example,DC=com"


def object_sid(rid: int | str) -> str:
    """objectSid as ldifde writes it: base64 of the binary SID (a string RID is a whole SID)."""
    sid = Sid.parse(rid if isinstance(rid, str) else f"{ROOT_SID}-{rid}")
    return "objectSid:: " + base64.b64encode(bytes(sid)).decode("ascii")


def ldif_entry(dn: str, kind: str, sid: int | str, *more: str) -> list[str]:
    classes = {"user": ["top", "person", "organizationalPerson", "user"], "group": ["top", "group"]}[kind]
    return [f"dn: {dn}", "changetype: add", *(f"objectClass: {c}" for c in classes), object_sid(sid), *more, ""]


DOMAIN = [f"dn: {ROOT}", "changetype: add", "objectClass: top", "objectClass: domainDNS", object_sid(ROOT_SID), ""]
RDP = f"CN=Remote Desktop Users,CN=Builtin,{ROOT}"

# fmt: off
FILES: dict[str, bytes] = {
    # PFDAVAdmin: every trustee form, UTF-16 LE with a BOM as PFDAVAdmin writes it.
    "pfdavadmin/trustee_forms.txt": utf16(crlf([*HEADER,
        setacl("\\Sales Orders", "Default", "Reviewer", "Anonymous", "None", "CORP\\Sales", "Author",
               f"{LEGACY}/cn=alice.nguyen", "Owner", "EMEA\\dave.kowalski", "PublishingEditor"),
        setacl("\\Sales Orders\\Archive", "Default", "None", f"{ROOT_SID}-1107", "ReadItems,CreateItems", ""),
    ])),
    # ANSI (Windows-1252): a folder name with an umlaut, the rights as a hex mask.
    "pfdavadmin/ansi_folder_names.txt": crlf([*HEADER,
        setacl("\\Bestellungen Köln", "Default", "None", "CORP\\jmueller", "0x1B"),
    ]).encode("cp1252"),
    # Malformed records among good ones: each is reported with its line, the rest is read.
    "pfdavadmin/damaged_records.txt": utf16(crlf([*HEADER,
        setacl("\\Helpdesk Tickets", "Default", "None", "CORP\\Helpdesk", "Author"),
        setacl("\\Admin Notices", "Default", "Custom"),
        setacl("\\Kiosk Drop", "CORP\\kiosk01", "Superuser"),
        setacl("", "Default", "Author"),
        setacl("\\Helpdesk Tickets", "Default", "Owner"),
        setacl("\\Company Announcements", "Default", "Author", "CORP\\nobody", "Author"),
    ])),
    # Cut off in the middle of a trustee/rights pair.
    "pfdavadmin/truncated.txt": utf16(crlf([*HEADER, setacl("\\Helpdesk Tickets", "Default", "None")])
                                      + setacl("\\Sales Orders", "Default", "Author", "CORP\\Sa")),
    # UTF-16 LE saved without its BOM.
    "pfdavadmin/utf16_without_bom.txt": crlf([*HEADER, setacl("\\Helpdesk Tickets", "CORP\\Helpdesk", "Author")])
    .encode("utf-16-le"),
    # Export-Csv with its #TYPE line, UTF-8 with a BOM; rights joined with ', '.
    "permcsv/type_line_utf8_bom.csv": codecs.BOM_UTF8 + crlf([
        "#TYPE Selected.Microsoft.Exchange.Management.StoreTasks.PublicFolderClientPermission",
        '"Identity","User","AccessRights"',
        '"\\Sales Orders","Default","Reviewer"',
        '"\\Sales Orders","CORP\\Sales","Author"',
        '"\\Sales Orders","Alice Nguyen","ReadItems, CreateItems, FolderVisible"',
        '"\\Company Announcements","Müller, Jürgen","Editor"',
        '"\\Company Announcements","Anonymous","None"',
    ]).encode("utf-8"),
    # -NoTypeInformation, UTF-16 ("Unicode"), rights as "$($_.AccessRights)" writes them (space-separated).
    "permcsv/no_type_line_utf16.csv": utf16(crlf([
        '"Identity","User","AccessRights"',
        '"\\Helpdesk Tickets","CORP\\Helpdesk","ReadItems CreateItems FolderVisible"',
        '"\\Helpdesk Tickets","NT User:S-1-5-21-1004336348-1177238915-682003330-1114","Author"',
    ])),
    # ANSI (Windows PowerShell -Encoding Default): a display name with umlauts and a comma.
    "permcsv/ansi_display_name.csv": crlf([
        '"Identity","User","AccessRights"',
        '"\\Company Announcements","Müller, Jürgen","Author"',
    ]).encode("cp1252"),
    # Plain Select ... | Export-Csv: AccessRights written as the type name of the collection.
    "permcsv/type_names.csv": crlf([
        "#TYPE Selected.Microsoft.Exchange.Management.StoreTasks.PublicFolderClientPermission",
        '"Identity","User","AccessRights"',
        '"\\Sales Orders","Default","System.Collections.ObjectModel.Collection`1[Microsoft.Exchange.Management.'
        'StoreTasks.PublicFolderAccessRight]"',
        '"\\Sales Orders","Carol Jones","Microsoft.Exchange.Management.StoreTasks.MailboxFolderAccessRight[]"',
        '"\\Sales Orders","CORP\\Sales","Author"',
    ]).encode("utf-8"),
    # Select ... -ExpandProperty AccessRights: only Permission and IsRole survive.
    "permcsv/expand_property.csv": crlf([
        "#TYPE Microsoft.Exchange.Management.StoreTasks.PublicFolderAccessRight",
        '"Permission","IsRole"',
        '"Author","True"',
    ]).encode("utf-8"),
    # A row cut short, an ambiguous display name (two users are called Carol Jones), an unknown name.
    "permcsv/damaged_rows.csv": crlf([
        '"Identity","User","AccessRights"',
        '"\\Sales Orders","Carol Jones","Author"',
        '"\\Sales Orders","Nobody Known","Author"',
        '"\\Sales Orders","CORP\\Sales","Author"',
        '"\\Sales Orders","Default"',
    ]).encode("utf-8"),
    # Descriptors by DN, base64 as ldapsearch prints them.
    "sddl_list/base64_by_dn.txt": crlf([
        "# nTSecurityDescriptor of the mail-enabled public folders",
        f"CN=Sales Orders,{SYSTEM_OBJECTS}: {base64_descriptor('O:DAG:DAD:(A;;RPWPCC;;;DA)(A;;RPLCCC;;;WD)')}",
        f"CN=Kiosk Drop,{SYSTEM_OBJECTS}:: {base64_descriptor(f'O:DAG:DAD:(A;;RPWPCCLC;;;{ROOT_SID}-1109)')}",
    ]).encode("ascii"),
    # SDDL with domain-relative aliases and the domain SID that makes them readable.
    "sddl_list/sddl_with_domain_sid.txt": crlf([
        f"# domain-sid: {ROOT_SID}",
        f"CN=Helpdesk Tickets,{SYSTEM_OBJECTS}\tO:DAG:DAD:(A;;RPWPCCDCLCSWRCWDWO;;;DA)(A;;RPWPCCLC;;;{ROOT_SID}-1114)",
        "/Performance Reports\tO:DAG:DAD:(A;;RPWPCCLC;;;MU)",
    ]).encode("ascii"),
    # The same without the header: lines with DA are reported, the one with only well-known SIDs is read.
    "sddl_list/sddl_without_domain_sid.txt": crlf([
        f"CN=Helpdesk Tickets,{SYSTEM_OBJECTS}\tO:DAG:DAD:(A;;RPWPCCLC;;;DU)",
        f"CN=Company Announcements,{SYSTEM_OBJECTS}\tO:BAG:BAD:(A;;RPWPCCLC;;;AU)",
    ]).encode("ascii"),
    # Bad base64, a descriptor cut short, a duplicate DN (spelt differently), bad SDDL.
    "sddl_list/damaged_lines.txt": crlf([
        f"CN=Sales Orders,{SYSTEM_OBJECTS}: {base64_descriptor('O:BAG:BAD:(A;;CC;;;WD)')}",
        f"CN=Kiosk Drop,{SYSTEM_OBJECTS}: not*base64!",
        f"CN=Admin Notices,{SYSTEM_OBJECTS}: AQAEgBQAAAA=",
        f"cn=sales orders,{SYSTEM_OBJECTS.lower()}: {base64_descriptor('O:BAG:BAD:(A;;CC;;;AU)')}",
        f"CN=Project Phoenix,{SYSTEM_OBJECTS}\tO:BAG:BAD:(A;;CC;;;XYZ)",
    ]).encode("ascii"),
    # ldifde folds lines longer than 79 columns; a non-ASCII display name comes base64-encoded.
    "ldif/folded_lines.ldif": crlf([*DOMAIN,
        "dn: CN=Alexandra Konstantinopoulou-Papadimitriou,OU=Sales and Marketing Department,OU=Hea",
        f" dquarters,{ROOT}",
        "changetype: add", "objectClass: user", object_sid(1120),
        "sAMAccountName: akonstantinopoulou",
        "displayName:: " + base64.b64encode("Konstantinopoulou-Papadimitriou, Alexándra".encode()).decode()[:60],
        " " + base64.b64encode("Konstantinopoulou-Papadimitriou, Alexándra".encode()).decode()[60:],
        ""]).encode("utf-8"),
    # A group of more than 1500 members as ldifde exports it: member;range=0-1499 in the entry, the rest in
    # changetype: modify / add: member records of the same DN (here with a range of 2 to keep it small).
    "ldif/ranged_members.ldif": crlf([*DOMAIN,
        *ldif_entry(f"CN=Ann,CN=Users,{ROOT}", "user", 1201, "sAMAccountName: ann"),
        *ldif_entry(f"CN=Ben,CN=Users,{ROOT}", "user", 1202, "sAMAccountName: ben"),
        *ldif_entry(f"CN=Cat,CN=Users,{ROOT}", "user", 1203, "sAMAccountName: cat"),
        *ldif_entry(f"CN=Call Centre,CN=Users,{ROOT}", "group", 1210, "sAMAccountName: Call Centre",
                    f"member;range=0-1: CN=Ann,CN=Users,{ROOT}", f"member;range=0-1: CN=Ben,CN=Users,{ROOT}"),
        f"dn: CN=Call Centre,CN=Users,{ROOT}", "changetype: modify", "add: member",
        f"member: CN=Cat,CN=Users,{ROOT}", "-", "",
        *ldif_entry(RDP, "group", "S-1-5-32-555", "sAMAccountName: Remote Desktop Users",
                    f"member: CN=Call Centre,CN=Users,{ROOT}"),
    ]).encode("utf-8"),
    # ldifde -u writes UTF-16 LE with a BOM.
    "ldif/ldifde_unicode.ldif": utf16(crlf([*DOMAIN,
        *ldif_entry(f"CN=Jürgen Müller,CN=Users,{ROOT}", "user", 1108, "sAMAccountName: jmueller",
                    "displayName: Müller, Jürgen"),
        *ldif_entry(RDP, "group", "S-1-5-32-555", f"member: CN=Jürgen Müller,CN=Users,{ROOT}"),
    ])),
    # The same DN escaped three ways: "\,", "\2C" and UTF-8 bytes as "\C3\BC".
    "ldif/escaped_dns.ldif": crlf([*DOMAIN,
        *ldif_entry(f"CN=Müller\\, Jürgen,CN=Users,{ROOT}", "user", 1108, "sAMAccountName: jmueller"),
        *ldif_entry(f"CN=Sales\\2C EMEA,CN=Users,{ROOT}", "group", 1130, "sAMAccountName: Sales EMEA",
                    f"member: CN=M\\C3\\BCller\\2C J\\C3\\BCrgen,CN=Users,{ROOT}"),
        *ldif_entry(RDP, "group", "S-1-5-32-555", f"member: CN=Sales\\, EMEA,CN=Users,{ROOT}"),
    ]).encode("utf-8"),
    # A member DN that names no object in the export.
    "ldif/unknown_member.ldif": crlf([*DOMAIN,
        *ldif_entry(RDP, "group", "S-1-5-32-555", f"member: CN=Gone Away,OU=Leavers,{ROOT}"),
    ]).encode("utf-8"),
    # Groups nested in a cycle (A in B, B in A), with A in Remote Desktop Users.
    "ldif/nesting_cycle.ldif": crlf([*DOMAIN,
        *ldif_entry(f"CN=Eve,CN=Users,{ROOT}", "user", 1301, "sAMAccountName: eve"),
        *ldif_entry(f"CN=Group A,CN=Users,{ROOT}", "group", 1302, f"member: CN=Group B,CN=Users,{ROOT}"),
        *ldif_entry(f"CN=Group B,CN=Users,{ROOT}", "group", 1303, f"member: CN=Group A,CN=Users,{ROOT}",
                    f"member: CN=Eve,CN=Users,{ROOT}"),
        *ldif_entry(RDP, "group", "S-1-5-32-555", f"member: CN=Group A,CN=Users,{ROOT}"),
    ]).encode("utf-8"),
    # The same DN twice with different SIDs (two exports pasted together).
    "ldif/duplicate_dns.ldif": crlf([*DOMAIN,
        *ldif_entry(f"CN=Eve,CN=Users,{ROOT}", "user", 1301, "sAMAccountName: eve"),
        *ldif_entry(f"cn=eve,cn=users,{ROOT.lower()}", "user", 1399, "sAMAccountName: eve"),
    ]).encode("utf-8"),
    # An objectSid that is not base64; the next record is still read.
    "ldif/bad_base64.ldif": crlf([*DOMAIN,
        f"dn: CN=Eve,CN=Users,{ROOT}", "changetype: add", "objectClass: user", "objectSid:: AQUA*not base64*",
        "",
        *ldif_entry(f"CN=Fay,CN=Users,{ROOT}", "user", 1302, "sAMAccountName: fay"),
    ]).encode("utf-8"),
    # The export was cut off inside an objectSid value.
    "ldif/truncated.ldif": (crlf([*DOMAIN, *ldif_entry(f"CN=Fay,CN=Users,{ROOT}", "user", 1302)])
                            + f"dn: CN=Eve,CN=Users,{ROOT}\r\nobjectClass: user\r\nobjectSid:: AQUAAAAAAAUV")
    .encode("utf-8"),
}
# fmt: on


def main() -> None:
    for name, content in FILES.items():
        target = DATA / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    print(f"{len(FILES)} fixtures written under {DATA}")


if __name__ == "__main__":
    main()

"""Write the export corpus of tests/data/exports/ (see README.md there for what each file follows); deterministic.

Run from the repository root: ``python tests/data/exports/make_exports.py``. The text is here; the
encodings and line ends are those of the writer each file imitates. Trustees are accounts of
examples/corp-forest.ldif; folder names are invented.
"""

from __future__ import annotations

import codecs
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEGACY = "/o=CORP/ou=First Administrative Group/cn=Recipients/cn="
PFDAVADMIN_HEADER = [
    "PFDAVAdmin 2.8 permissions export",
    "Server: EX2003A.corp.example.com",
    "Top folder: Public Folders",
    "Subfolders: yes",
    "Trustee format: account name",
    "",
]


def setacl(folder: str, *pairs: str) -> str:
    return "\t".join(["SETACL", folder, *pairs])


def crlf(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def utf16_bom(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


# fmt: off
FILES: dict[str, bytes] = {
    # PFDAVAdmin 2.8, NT account names, UTF-16 LE with a BOM, CRLF, header lines before the data.
    "pfdavadmin_setacl_utf16.txt": utf16_bom(crlf([*PFDAVADMIN_HEADER,
        setacl("\\Sales Orders", "Default", "Visible", "Anonymous", "None", "CORP\\Sales", "Reviewer Create",
               "CORP\\alice.nguyen", "All", "CORP\\kiosk01", "Reviewer Superuser"),
        setacl("\\Sales Orders\\Archive", "Default", "None Visible", "CORP\\Helpdesk", "Contributor",
               "CORP\\Terminal Access", "Reviewer"),
        setacl("\\Company Announcements", "Default", "Reviewer", "Anonymous", "None",
               "CORP\\jmueller", "PublishingAuthor", "CORP\\Domain Admins", "Owner Contact"),
        setacl("\\Performance Reports", "Default", "Visible o", "CORP\\Performance Operations", "Author Delete"),
    ])),
    # PFDAVAdmin, a bare Custom among other entries (the model is tested, not the report's exit code).
    "pfdavadmin_custom.txt": utf16_bom(crlf([*PFDAVADMIN_HEADER,
        setacl("\\Admin Notices", "Default", "Custom", "CORP\\Sales", "Author", "CORP\\Helpdesk", "Custom Read"),
    ])),
    # ExFolders (Exchange 2010), legacyExchangeDN trustees, a calendar folder with the free/busy words.
    "exfolders_freebusy.txt": utf16_bom(crlf([
        setacl("\\Team Calendars", "Default", "Visible", "Anonymous", "None", f"{LEGACY}alice.nguyen", "All"),
        setacl("\\Team Calendars\\Sales", "Default", "FreeBusyBasic", "Anonymous", "None",
               f"{LEGACY}dave.kowalski", "Author FreeBusyDetails FreeBusyBasic",
               f"{LEGACY}bob.smith", "Reviewer FreeBusyDetails FreeBusyBasic",
               f"{LEGACY}erin.larsen", "Visible FreeBusyDetails FreeBusyBasic"),
    ])),
    # MAPIFolders' SETACL writer: \IPM_SUBTREE paths, no header, ANSI (a narrow wofstream), CRLF, every role word.
    "mapifolders_roles.txt": crlf([
        setacl("\\IPM_SUBTREE", "Default", "Visible", "Anonymous", "None"),
        setacl("\\IPM_SUBTREE\\Bestellungen Köln", "Default", "NonEditingAuthor", "Anonymous", "None",
               f"{LEGACY}Administrator", "All", f"{LEGACY}alice.nguyen", "Owner",
               f"{LEGACY}kiosk01", "PublishingEditor", f"{LEGACY}carol.jones2", "Editor"),
        setacl("\\IPM_SUBTREE\\Helpdesk Tickets", "Default", "Reviewer", "Anonymous", "None",
               f"{LEGACY}frank.moreau", "PublishingAuthor", f"{LEGACY}bob.smith", "Visible WriteOwn DeleteOwn Read",
               f"{LEGACY}erin.larsen", "Visible CreateSubfolder o Contact"),
    ]).encode("cp1252"),
    # A PFDAVAdmin export of mailboxes: not public folders. UTF-16 LE without a BOM (a re-saved file).
    "mailbox_export.txt": crlf([*PFDAVADMIN_HEADER[:2], "Top folder: Mailboxes", "",
        setacl("\\Alice Nguyen\\Top of Information Store", "Default", "None", "Anonymous", "None"),
        setacl("\\Alice Nguyen\\Top of Information Store\\Calendar", "Default", "FreeBusyBasic",
               "CORP\\Sales", "Author"),
        setacl("\\Bob Smith\\Top of Information Store\\Inbox", "Default", "None", "CORP\\Helpdesk", "Editor"),
    ]).encode("utf-16-le"),
    # Get-PublicFolderClientPermission | Select Identity,User,AccessRights -join | Export-Csv -UseCulture -Encoding UTF8
    # in a German locale: #TYPE line, ';', UTF-8 with a BOM, CRLF.
    "getpfcp_semicolon.csv": codecs.BOM_UTF8 + crlf([
        "#TYPE Selected.Microsoft.Exchange.Management.StoreTasks.PublicFolderClientPermission",
        '"Identity";"User";"AccessRights"',
        '"\\Sales Orders";"Default";"Reviewer"',
        '"\\Sales Orders";"CORP\\Sales";"Author"',
        '"\\Sales Orders";"Müller, Jürgen";"ReadItems,CreateItems,FolderVisible"',
        '"\\Team Calendars\\Sales";"Default";"AvailabilityOnly"',
        '"\\Team Calendars\\Sales";"Dave Kowalski";"LimitedDetails"',
        '"\\Team Calendars\\Sales";"CORP\\Helpdesk";"Editor"',
        '"\\Kiosk Drop";"Anonymous";"Contributor"',
    ]).encode("utf-8"),
    # Restore-PFPermissions2.ps1's input: Import-CliXml ... | Select-Object Identity,User,Permission | Export-Csv
    # (Windows PowerShell's default: #TYPE line, ',', ASCII).
    "pf_permission_per_row.csv": crlf([
        "#TYPE Selected.Deserialized.Microsoft.Exchange.Management.StoreTasks.PublicFolderAccessRight",
        '"Identity","User","Permission"',
        '"\\Sales Orders","Default","Reviewer"',
        '"\\Sales Orders","CORP\\Sales","ReadItems"',
        '"\\Sales Orders","CORP\\Sales","CreateItems"',
        '"\\Sales Orders","CORP\\Sales","FolderVisible"',
        '"\\Helpdesk Tickets","Default","FolderVisible"',
        '"\\Helpdesk Tickets","CORP\\Helpdesk","Author"',
        '"\\Helpdesk Tickets","Alice Nguyen","Owner"',
        '"\\Performance Reports","CORP\\Performance Operations","ReadItems"',
        '"\\Performance Reports","CORP\\Performance Operations","FolderVisible"',
        '"\\Performance Reports","Default","ReadItems"',
        '"\\Performance Reports","Default","CreateItems"',
    ]).encode("ascii"),
    # Exchange 2013 and later: Get-PublicFolderClientPermission objects name the folder (FolderName), not its path.
    "exchange2013_foldername.csv": codecs.BOM_UTF8 + crlf([
        '"FolderName","User","AccessRights"',
        '"Sales Orders","Default","Reviewer"',
        '"Sales Orders","CORP\\Sales","Author"',
    ]).encode("utf-8"),
}
# fmt: on


if __name__ == "__main__":
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
        print(f"wrote tests/data/exports/{name} ({len(data)} bytes)")

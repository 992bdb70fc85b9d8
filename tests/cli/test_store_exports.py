"""The store export corpus (tests/data/exports/): each file, as its real writer lays it out, end to end."""

from __future__ import annotations

import importlib.util
import json

import pytest

from sidtool.model import RightsKind
from sidtool.security.rights import SETACL_WORDS, MapiRight
from sidtool.sources import detect, pfdavadmin
from sidtool.sources.folders import store_path
from sidtool.sources.permcsv import EXPORT_RECIPE
from tests.support.cli_runner import run_sidtool
from tests.support.exports import DATA, head, read

EXAMPLE_LDIF = "examples/corp-forest.ldif"
CORP = "S-1-5-21-1004336348-1177238915-682003330"
EMEA = "S-1-5-21-3623811015-3361044348-30300820"
EVERYONE, ANONYMOUS = "S-1-1-0", "S-1-5-7"
SALES, HELPDESK, PERFORMANCE_OPERATIONS, JMUELLER = f"{CORP}-1111", f"{CORP}-1114", f"{CORP}-1113", f"{CORP}-1108"


def report(name: str):
    """(exit code, stderr lines, sorted (folder, trustee SID, risk) of the store findings) for one corpus file."""
    result = run_sidtool("report", f"tests/data/exports/{name}", "--directory", EXAMPLE_LDIF, "--format", "json")
    assert "Traceback" not in result.stderr
    findings = []
    if result.stdout:
        document = json.loads(result.stdout)
        findings = sorted(
            (f["folder"], f["trustee_sid"], f["risk"]) for f in document["findings"] if f["acl_source"] == "store"
        )
    return result.returncode, result.stderr.splitlines(), findings


def test_pfdavadmin_utf16_with_header_lines_keeps_every_entry_but_the_one_with_an_unknown_word():
    code, errors, findings = report("pfdavadmin_setacl_utf16.txt")
    assert code == 3  # one entry could not be read
    assert errors[0].startswith(
        "sidtool: tests/data/exports/pfdavadmin_setacl_utf16.txt:line 7: trustee 'CORP\\kiosk01': unknown right "
        "'Superuser'; known: All, Owner,"
    )
    assert len(errors) == 2 and errors[1].startswith("sidtool: 1 record(s) could not be read")
    # CORP\Sales ("Reviewer Create") is on the same line as the bad entry and still rated.
    assert findings == [
        ("/Company Announcements", JMUELLER, "high"),
        ("/Performance Reports", PERFORMANCE_OPERATIONS, "high"),
        ("/Sales Orders", SALES, "high"),
        ("/Sales Orders/Archive", HELPDESK, "high"),
    ]


def test_exfolders_free_busy_words_are_rights_not_errors():
    code, errors, findings = report("exfolders_freebusy.txt")
    assert (code, errors) == (1, [])
    assert findings == [("/Team Calendars/Sales", f"{EMEA}-1201", "high")]  # dave.kowalski: Author + free/busy


def test_mapifolders_role_words_and_leftover_rights():
    code, errors, findings = report("mapifolders_roles.txt")
    assert (code, errors) == (1, [])
    assert findings == [
        (store_path("\\IPM_SUBTREE\\Bestellungen Köln"), EVERYONE, "high"),  # Default: NonEditingAuthor
        (store_path("\\IPM_SUBTREE\\Helpdesk Tickets"), f"{EMEA}-1203", "high"),  # frank.moreau: PublishingAuthor
    ]


def test_mailbox_export_is_reported_once_not_line_by_line():
    code, errors, findings = report("mailbox_export.txt")
    assert code == 3
    assert errors == [
        "sidtool: tests/data/exports/mailbox_export.txt:line 5: this file is (or contains) a mailbox export: 3 SETACL "
        "line(s) name mailbox folders ('\\<mailbox>\\Top of Information Store\\...'), which are not public folders "
        "(skipped)",
        "sidtool: 1 record(s) could not be read and were skipped; the report may be incomplete",
    ]
    assert findings == []


def test_semicolon_csv_with_type_line_and_calendar_roles():
    code, errors, findings = report("getpfcp_semicolon.csv")
    assert (code, errors) == (1, [])
    assert findings == [
        ("/Kiosk Drop", ANONYMOUS, "high"),  # Anonymous: Contributor
        ("/Sales Orders", JMUELLER, "high"),  # "Müller, Jürgen"
        ("/Sales Orders", SALES, "high"),
        ("/Team Calendars/Sales", HELPDESK, "high"),
    ]  # Default AvailabilityOnly and Dave Kowalski LimitedDetails cannot post: no finding


def test_one_right_per_row_is_or_ed_per_folder_and_user():
    code, errors, findings = report("pf_permission_per_row.csv")
    assert (code, errors) == (1, [])
    assert findings == [
        ("/Helpdesk Tickets", HELPDESK, "high"),
        ("/Performance Reports", EVERYONE, "high"),  # Default: ReadItems + CreateItems on two rows
        ("/Sales Orders", SALES, "high"),  # CORP\Sales: ReadItems, CreateItems, FolderVisible on three rows
    ]  # Performance Operations has ReadItems + FolderVisible only


def test_exchange_2013_folder_name_layout_is_refused_with_the_export_that_works():
    code, errors, findings = report("exchange2013_foldername.csv")
    assert code == 2 and findings == []
    assert errors == [
        "sidtool: tests/data/exports/exchange2013_foldername.csv:line 1: found FolderName, User, AccessRights: the "
        "Exchange 2013 and later layout, which names each folder (FolderName) but not its path; export the paths "
        f"with: {EXPORT_RECIPE}"
    ]


def test_bare_custom_is_an_entry_of_unknown_rights_not_a_problem():
    directory, problems = read(pfdavadmin, "exports/pfdavadmin_custom.txt")
    assert problems == []
    (notices,) = directory.permissions
    assert [(e.trustee, e.rights, e.rights_kind) for e in notices.entries] == [
        ("Default", 0, RightsKind.UNKNOWN),
        ("CORP\\Sales", SETACL_WORDS["Author"], RightsKind.MAPI),
        ("CORP\\Helpdesk", MapiRight.ReadItems, RightsKind.MAPI),  # "Custom Read": the rights are stated
    ]
    assert notices.entries[0].location == "exports/pfdavadmin_custom.txt:7"


def test_bare_custom_on_a_trustee_at_risk_is_named_unchecked_and_exits_3():
    code, errors, findings = report("pfdavadmin_custom.txt")
    assert code == 3
    assert errors[-1].startswith("sidtool: 1 item(s) could not be checked")
    assert ("/Admin Notices", EVERYONE, "high") not in findings  # never rated as if it allowed posting
    assert ("/Admin Notices", SALES, "high") in findings  # the folder's other entries are still rated
    result = run_sidtool("report", "tests/data/exports/pfdavadmin_custom.txt", "--directory", EXAMPLE_LDIF,
                         "--format", "json")  # fmt: skip
    (unchecked,) = json.loads(result.stdout)["unchecked"]
    assert (unchecked["kind"], unchecked["subject"]) == ("rights-unknown", "/Admin Notices: Default")
    assert unchecked["location"] == "tests/data/exports/pfdavadmin_custom.txt:7"


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("pfdavadmin_setacl_utf16.txt", "pfdavadmin"),
        ("pfdavadmin_custom.txt", "pfdavadmin"),
        ("exfolders_freebusy.txt", "pfdavadmin"),
        ("mapifolders_roles.txt", "pfdavadmin"),
        ("mailbox_export.txt", "pfdavadmin"),
        ("getpfcp_semicolon.csv", "permcsv"),
        ("pf_permission_per_row.csv", "permcsv"),
        ("exchange2013_foldername.csv", "permcsv"),
    ],
)
def test_each_file_is_detected_by_content(name, reader):
    assert detect(head(f"exports/{name}"), name) == reader


def test_the_corpus_is_what_its_generator_writes():
    spec = importlib.util.spec_from_file_location("make_exports", DATA / "exports" / "make_exports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {name: (DATA / "exports" / name).read_bytes() for name in module.FILES} == module.FILES

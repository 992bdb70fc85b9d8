"""sidtool report on store exports and descriptor lists, with --directory: what a user runs and sees."""

from __future__ import annotations

import json

from tests.support.cli_runner import REPO, run_sidtool

EXAMPLE_LDIF = "examples/corp-forest.ldif"


def test_example_pfdavadmin_export_with_the_example_forest():
    result = run_sidtool("report", "examples/corp-forest-pfdavadmin.txt", "--directory", EXAMPLE_LDIF,
                         env={"COLUMNS": "200"})  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    rows = [line.split("  ") for line in result.stdout.splitlines() if line.startswith("high ")]
    rows = [tuple(cell.strip() for cell in row if cell.strip()) for row in rows]
    assert {row[1:4] for row in rows} == {
        ("/Sales Orders", "CORP\\Sales", "1: carol.jones"),
        ("/Sales Orders", "EMEA\\dave.kowalski", "1: dave.kowalski"),
        ("/Company Announcements", "Default", "6: bob.smith, carol.jones +4 more"),
        ("/Company Announcements", "CORP\\jmueller", "1: jmueller"),
        ("/Helpdesk Tickets", "CORP\\Helpdesk", "1: frank.moreau"),
        ("/Performance Reports", "CORP\\Performance Operations", "1: bob.smith"),
    }
    assert {row[4] for row in rows} == {"store: Author", "store: Editor", "store: ReadItems, CreateItems,"}  # wraps
    assert "Traceback" not in result.stdout + result.stderr


def test_example_csv_gives_the_same_store_findings_as_the_pfdavadmin_export():
    findings = {}
    for export in ("examples/corp-forest-pfdavadmin.txt", "examples/corp-forest-permissions.csv"):
        result = run_sidtool("report", export, "--directory", EXAMPLE_LDIF, "--format", "json")
        assert result.returncode == 1 and result.stderr == ""
        document = json.loads(result.stdout)
        findings[export] = sorted(
            (f["folder"], f["trustee_sid"], f["risk"]) for f in document["findings"] if f["acl_source"] == "store"
        )
    pfdavadmin, csv = findings.values()
    assert pfdavadmin == csv
    assert {risk for _, _, risk in csv} == {"high"}
    assert len(csv) == 6


def test_standard_input_and_input_format():
    text = (REPO / "examples/corp-forest-permissions.csv").read_text(encoding="utf-8-sig")
    result = run_sidtool("report", "-", "--input-format", "permcsv", "--directory", EXAMPLE_LDIF, input=text)
    assert result.returncode == 1, result.stderr
    assert "/Sales Orders" in result.stdout


def test_damaged_export_names_file_and_line_and_exits_3():
    result = run_sidtool("report", "tests/data/permcsv/damaged_rows.csv", "--directory", EXAMPLE_LDIF)
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert lines == [
        "sidtool: tests/data/permcsv/damaged_rows.csv:line 5: expected 3 fields, got 2 (row cut short, or a stray "
        "quote?) (skipped)",
        "sidtool: tests/data/permcsv/damaged_rows.csv:line 2: trustee 'Carol Jones': ambiguous display name and "
        "account name: 2 principals are called that (CN=Carol Jones,CN=Users,DC=corp,DC=example,DC=com; CN=Carol Jones,"
        "OU=Contractors,DC=corp,DC=example,DC=com); entry left unresolved (skipped)",
        "sidtool: tests/data/permcsv/damaged_rows.csv:line 3: trustee 'Nobody Known': no principal in the directory "
        "data has this name; entry left unresolved (skipped)",
        "sidtool: 3 record(s) could not be read and were skipped; the report may be incomplete",
    ]
    assert "/Sales Orders" in result.stdout  # CORP\Sales still rated
    assert "Traceback" not in result.stderr


def test_export_without_directory_data_says_what_is_missing():
    result = run_sidtool("report", "examples/corp-forest-pfdavadmin.txt")
    assert result.returncode == 3
    assert "add --directory with an LDIF export" in result.stderr
    assert "Traceback" not in result.stderr


def test_descriptor_list_replaces_the_directory_descriptor_of_the_same_folder():
    result = run_sidtool(
        "report", "tests/data/sddl_list/base64_by_dn.txt", "--directory", EXAMPLE_LDIF, "--format", "json"
    )
    assert result.returncode == 1, result.stderr
    sales = [f for f in json.loads(result.stdout)["findings"] if f["folder"] == "Sales Orders"]
    assert [(f["acl_source"], f["trustee_sid"]) for f in sales] == [("directory", "S-1-1-0")]  # once, not twice


def test_empty_file_and_wrong_kind_of_file_get_one_line(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"\xff\xfe")  # a UTF-16 BOM and nothing else
    result = run_sidtool("report", str(empty))
    assert result.returncode == 2
    assert result.stderr.startswith(f"sidtool: {empty}: empty input; expected a sidtool snapshot")
    assert "an LDIF export" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    result = run_sidtool("report", "README.md")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "not a format sidtool reads; expected" in result.stderr
    assert "a PFDAVAdmin permission export (SETACL lines) [pfdavadmin]" in result.stderr


def test_csv_exported_with_expand_property_is_refused_in_one_line():
    result = run_sidtool("report", "tests/data/permcsv/expand_property.csv", "--directory", EXAMPLE_LDIF)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "sidtool: tests/data/permcsv/expand_property.csv:line 2: expected the columns Identity, User, AccessRights; "
        "found Permission, IsRole (exported with -ExpandProperty AccessRights?)"
    ]

"""End to end: ``sidtool sd decode`` on descriptors as users paste them."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest

from sidtool.security import Ace, Acl, SecurityDescriptor, Sid
from sidtool.security.sddl import format_sddl, parse_sddl
from tests.support.cli_runner import run_sidtool
from tests.support.descriptor_samples import DOMAIN_SID, SAMBA_LDIF, sample_blobs


def ldapsearch_entry() -> str:
    """The first entry of the Samba export, as ldapsearch printed it (dn line and base64 value)."""
    if SAMBA_LDIF.exists():
        lines = SAMBA_LDIF.read_text(encoding="utf-8").splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("dn:"))
        return lines[start] + "\n" + lines[start + 1] + "\n"
    blob = sample_blobs()[1]
    return "dn: CN=Someone,DC=corp,DC=example,DC=com\nnTSecurityDescriptor:: " + base64.b64encode(blob).decode() + "\n"


def folded(entry: str, width: int = 76) -> str:
    """The same entry wrapped the way ldapsearch does without -o ldif-wrap=no."""
    out = []
    for line in entry.splitlines():
        out.append(line[:width])
        out.extend(" " + line[i : i + width - 1] for i in range(width, len(line), width - 1))
    return "\n".join(out) + "\n"


def value_of(entry: str) -> str:
    return next(line for line in entry.splitlines() if line.lower().startswith("ntsecuritydescriptor::"))


def test_pasted_ldapsearch_line_as_argument():
    result = run_sidtool("sd", "decode", value_of(ldapsearch_entry()))
    assert result.returncode == 0, result.stderr
    assert "Owner:" in result.stdout and "Domain Admins" in result.stdout
    assert "DACL_PRESENT" in result.stdout
    assert "Trustee" in result.stdout and "allow object" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("wrap", [False, True])
def test_whole_ldapsearch_entry_on_stdin(wrap):
    entry = ldapsearch_entry()
    result = run_sidtool("sd", "decode", "-", "--format", "json", input=folded(entry) if wrap else entry)
    assert result.returncode == 0, result.stderr
    [record] = json.loads(result.stdout)
    blob = base64.b64decode(value_of(entry).split("::", 1)[1].strip())
    expected = SecurityDescriptor.from_bytes(blob)
    assert record["owner"] == str(expected.owner)
    assert [ace["trustee"] for ace in record["aces"]] == [str(ace.sid) for _, ace in expected.aces()]
    assert any(ace["object_type_name"] == "Send-As" for ace in record["aces"]) or not SAMBA_LDIF.exists()


def test_hex_sddl_and_store_header_inputs():
    blob = sample_blobs()[0]
    by_hex = run_sidtool("sd", "decode", blob.hex(), "--format", "sddl", "--domain-sid", DOMAIN_SID)
    by_sddl = run_sidtool("sd", "decode", by_hex.stdout.strip(), "--domain-sid", DOMAIN_SID, "--format", "sddl")
    store = (b"\x08\x00\x03\x00\x04\x00\x00\x00" + blob).hex()
    by_store = run_sidtool("sd", "decode", store, "--input", "hex", "--format", "sddl", "--domain-sid", DOMAIN_SID)
    assert by_hex.returncode == by_sddl.returncode == by_store.returncode == 0
    assert by_hex.stdout == by_sddl.stdout == by_store.stdout
    assert by_hex.stdout.startswith("O:DAG:DAD:")


def test_exchange_rights_vocabulary_and_csv():
    result = run_sidtool("sd", "decode", "D:(A;;0x802;;;WD)", "--rights", "exchange", "--format", "csv")
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert "trustee" in header and "S-1-1-0" in row and "CreateItem|ViewItem" in row


def test_markdown_format():
    result = run_sidtool("sd", "decode", "O:SYD:(A;;RC;;;AU)", "--format", "markdown")
    assert result.returncode == 0
    assert "| ACL" in result.stdout and "- Owner:   S-1-5-18" in result.stdout


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("AQAE", "truncated"),
        ("O:DA", "give the domain SID"),
        ("D:(A;;RC;;;WD", "unterminated ACE"),
        ("%%%notbase64", "not base64"),
        ("01000480", "truncated"),
    ],
)
def test_bad_input_exits_2_with_one_line(value, words):
    result = run_sidtool("sd", "decode", value)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and words in result.stderr
    assert "Traceback" not in result.stderr


def test_lines_reports_bad_lines_and_decodes_the_rest():
    good = base64.b64encode(sample_blobs()[0]).decode()
    text = f"{good}\nnot a descriptor!\n\nD:(A;;RC;;;WD)\n"
    result = run_sidtool("sd", "decode", "--lines", "-", "--format", "sddl", "--domain-sid", DOMAIN_SID, input=text)
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        format_sddl(SecurityDescriptor.from_bytes(sample_blobs()[0]), DOMAIN_SID),
        "D:(A;;RC;;;WD)",
    ]
    assert result.stderr.startswith("sidtool: line 2:")


def test_lines_needs_stdin():
    result = run_sidtool("sd", "decode", "--lines", "D:")
    assert result.returncode == 2 and "standard input" in result.stderr


def callback_without_condition() -> str:
    """A descriptor whose callback ACE carries application data that is no conditional expression (base64)."""
    ace = Ace(0x09, 0, 0x1, Sid.parse("S-1-1-0"), application_data=b"\x01\x02\x03\x04")
    return base64.b64encode(bytes(SecurityDescriptor(0x8004, dacl=Acl(2, (ace,))))).decode()


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "csv", "sddl"])
def test_lines_never_lose_the_other_lines_in_any_format(fmt):
    # Line 1 decodes; line 2 is not a descriptor; line 3 decodes but has no SDDL form; line 4 is conditional.
    text = f"D:(A;;RC;;;WD)\nnot a descriptor!\n{callback_without_condition()}\n{CONDITIONAL}\n"
    result = run_sidtool("sd", "decode", "--lines", "-", "--format", fmt, input=text)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "line 2:" in result.stderr
    if fmt == "sddl":
        assert result.stdout.splitlines() == ["D:(A;;RC;;;WD)", CONDITIONAL_CANONICAL]
        assert "line 3:" in result.stderr and "not a conditional expression" in result.stderr
        return
    assert "line 3:" not in result.stderr  # the other views show the bytes and say why there is no text
    if fmt == "json":
        records = json.loads(result.stdout)
        assert [record["line"] for record in records] == [1, 3, 4]
        assert records[1]["aces"][0]["condition"] is None
        assert "not a conditional expression" in records[1]["aces"][0]["condition_error"]
        assert records[1]["aces"][0]["application_data"] == "01020304"
        assert records[2]["aces"][0]["condition"] == CONDITIONAL_CANONICAL.split(";", 6)[6][:-1]
    else:
        shown = result.stdout
        if fmt == "markdown":  # Markdown escapes HTML, and emphasis, link and code characters with a backslash
            shown = re.sub(r"\\([\\`*_\[\]|])", r"\1", html.unescape(shown))
        assert CONDITIONAL_CANONICAL.split(";", 6)[6][:-1] in shown.replace('""', '"')
        assert "S-1-1-0" in result.stdout


CONDITIONAL = 'D:(XA;;FR;;;WD;(@User.Title == "PM" && Member_of {SID(BA)}))'
CONDITIONAL_CANONICAL = 'D:(XA;;FR;;;WD;((@USER.Title == "PM") && (Member_of {SID(BA)})))'


def test_table_shows_a_condition_as_text():
    result = run_sidtool("sd", "decode", CONDITIONAL)
    assert result.returncode == 0, result.stderr
    assert "Condition" in result.stdout
    assert '(@USER.Title == "PM")' in result.stdout
    plain = run_sidtool("sd", "decode", "D:(A;;RC;;;WD)")
    assert "Condition" not in plain.stdout  # the column appears only where a condition is


def test_resource_attribute_round_trips_through_the_cli():
    text = 'S:(RA;;;;;WD;("Project",TS,0x0,"Apollo","Gemini"))'
    result = run_sidtool("sd", "decode", text, "--format", "sddl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"
    blob = bytes(parse_sddl(text))
    again = run_sidtool("sd", "decode", blob.hex(), "--format", "sddl")
    assert again.stdout == text + "\n"


@pytest.mark.parametrize("columns", [60, 80, 120, 250])
def test_the_ace_table_fits_the_terminal_and_loses_no_trustee(columns):
    text = ("O:BAG:SYD:PAI(A;;RPWPCCDCLCSWRCWDWOGA;;;S-1-5-21-1004336348-1177238915-682003330-512)"
            "(OA;CI;RP;4c164200-20c0-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;RU)"
            "(D;;WP;;;S-1-5-32-555)S:(AU;SA;WD;;;WD)")  # fmt: skip
    result = run_sidtool("sd", "decode", text, env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    for sid in ("S-1-5-21-1004336348-1177238915-682003330-512", "S-1-5-32-554", "S-1-5-32-555", "S-1-1-0"):
        assert sid in result.stdout  # in its row, or under it on a narrow terminal
    for kind in ("allow ", "allow object", "deny ", "audit "):
        assert any(line.startswith(kind) or f"  {kind}" in line for line in lines), kind
    assert "User-Account-Restrictions" in result.stdout and "WriteDacl" in result.stdout
    if columns < 120:
        assert "not shown at" in result.stdout  # what a narrow table leaves out, it says
    else:
        assert "Remote Desktop Users" in result.stdout and "SACL" in result.stdout

"""End to end: ``sidtool report`` on the example forest, as a user runs it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.support.cli_runner import REPO, run_sidtool

FOREST = str(REPO / "examples" / "corp-forest.ldif")
FINDING_KEYS = {"folder", "folder_dn", "acl_source", "trustee_sid", "trustee", "risk", "builtin_sids",
                "affected_count", "server_names", "reason"}  # fmt: skip


def report_json(*args: str):
    result = run_sidtool("report", FOREST, "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result, json.loads(result.stdout)


def routes(document: dict, finding: dict) -> list[list[str]]:
    """The route of each sender of a finding, by name: finding -> its trustee -> the senders table."""
    senders = {sender["sid"]: sender for sender in document["senders"]}
    trustee = next(t for t in document["trustees"] if t["sid"] == finding["trustee_sid"])
    return [[step["name"] for step in senders[sid]["path"]] for sid in trustee["affected_sids"]]


def test_example_forest_findings():
    result, document = report_json()
    assert result.returncode == 1
    assert {c["name"]: c["holds"] for c in document["conditions"]} == {"windows-2003": True, "multi-domain": True}
    assert (document["format"], document["version"]) == ("sidtool-report", 2)
    findings = document["findings"]
    senders = {sender["sid"] for sender in document["senders"]}
    trustees = {trustee["sid"]: trustee for trustee in document["trustees"]}
    assert set(trustees) == {finding["trustee_sid"] for finding in findings}  # each trustee once
    for finding in findings:
        assert finding.keys() >= FINDING_KEYS
        trustee = trustees[finding["trustee_sid"]]
        assert finding["affected_count"] == trustee["affected_count"] == len(trustee["affected_sids"])
        assert set(trustee["affected_sids"]) <= senders  # every sender a trustee lets in is described once
        assert finding["acl_source"] == "directory" and finding["risk"] == "medium"
    by_folder = {(f["folder"], f["trustee"]) for f in findings}
    assert ("Performance Reports", "BUILTIN\\Performance Monitor Users") in by_folder
    assert ("Sales Orders", "CORP\\Sales") in by_folder
    assert ("Helpdesk Tickets", "CORP\\Helpdesk") in by_folder
    # Administrators and Pre-Windows 2000 Compatible Access (Windows 2000 built-ins) are never flagged.
    assert not any(f["folder"] in ("Admin Notices", "Kiosk Drop") for f in findings)
    # Project Phoenix lives on a tree that only the SP2 server serves: low, so hidden without --all.
    assert not any(f["folder"] == "Project Phoenix" for f in findings)


def test_explanation_paths_are_shortest_and_cross_domain():
    _, document = report_json()
    sales = next(f for f in document["findings"] if f["trustee"] == "CORP\\Sales")
    assert routes(document, sales) == [["carol.jones", "Sales Managers", "Terminal Access", "Remote Desktop Users"]]
    # frank (EMEA) reaches EMEA's Remote Desktop Users through his primary group in two hops, and
    # CORP's Network Configuration Operators through a foreign security principal and Helpdesk in three.
    helpdesk = next(f for f in document["findings"] if f["trustee"] == "CORP\\Helpdesk")
    assert routes(document, helpdesk)[0] == ["frank.moreau", "Domain Users", "Remote Desktop Users"]
    assert helpdesk["builtin_names"] == ["Remote Desktop Users", "Network Configuration Operators"]
    everyone = next(f for f in document["findings"] if f["trustee"] == "Everyone")
    names = {route[0]: route for route in routes(document, everyone)}
    assert names["dave.kowalski"] == ["dave.kowalski", "Domain Users", "Remote Desktop Users"]
    assert names["jmueller"] == ["jmueller", "Remote Desktop Users"]
    assert "kiosk01" not in names and "alice.nguyen" not in names


def test_all_shows_low_and_fail_on_high_exits_0():
    _, document = report_json("--all")
    phoenix = [f for f in document["findings"] if f["folder"] == "Project Phoenix"]
    assert [f["risk"] for f in phoenix] == ["low"]
    servers = {server["server"]: server for server in document["servers"]}
    assert phoenix[0]["server_names"] and all(
        servers[name]["vulnerable"] is False for name in phoenix[0]["server_names"]
    )
    result = run_sidtool("report", FOREST, "--fail-on", "high")
    assert result.returncode == 0, result.stderr


def test_table_view_opens_with_the_verdict_and_ends_with_the_counts():
    result = run_sidtool("report", FOREST)
    assert result.returncode == 1
    assert result.stdout.startswith("At risk: 5 entries on 4 folder(s) (5 medium), letting 6 sender(s) in.\n")
    assert "\nKB 870585 conditions" in result.stdout
    assert "multi-domain   yes" in result.stdout
    footer = " ".join(result.stdout.split("\n\n")[-1].split())
    assert footer.startswith("7 folders scanned, 16 entries checked: 5 at risk (high 0, medium 5), 1 low (1 hidden;")
    assert "Senders: 6 at risk, 6 with a route into the new built-ins." in footer


def test_without_directory_data_the_servers_are_unknown_not_no(tmp_path: Path):
    permissions = tmp_path / "perms.csv"
    permissions.write_text("Identity,User,AccessRights\n\\Sales,Default,Author\n", encoding="utf-8")
    result = run_sidtool("report", str(permissions))
    header = result.stdout.split("KB 870585 conditions", 1)[1]
    assert "  servers        unknown  no Exchange server was read" in header


def test_every_view_gives_the_whole_json_document_and_its_own_table():
    documents = [json.loads(run_sidtool("report", FOREST, "--view", view, "--format", "json").stdout)
                 for view in ("entries", "senders", "servers", "summary")]  # fmt: skip
    assert all(document == documents[0] for document in documents)  # one shape: --view chooses the table
    senders = run_sidtool("report", FOREST, "--view", "senders", "--format", "csv").stdout
    assert {line.split(",")[0] for line in senders.splitlines()[1:]} == {
        "bob.smith", "carol.jones", "jmueller", "frank.moreau", "dave.kowalski", "erin.larsen"}  # fmt: skip
    servers = {server["server"]: server["hotfix"] for server in documents[0]["servers"]}
    assert servers == {"EX2003A": "6.5.7232.35", "EX2003B": None, "EX2000": "6.0.6617.6"}
    summary = run_sidtool("report", FOREST, "--view", "summary", "--format", "csv")
    assert "senders_at_risk,6" in summary.stdout
    markdown = run_sidtool("report", FOREST, "--format", "markdown").stdout
    assert markdown.startswith("## KB 870585 report")
    assert "| Risk" in markdown and "### Conditions" in markdown and "What to do first:" in markdown
    assert "7 folders scanned, 16 entries checked" in markdown


def test_output_file_and_remediation_ldif(tmp_path: Path):
    output, remediation = tmp_path / "report.json", tmp_path / "fix.ldif"
    output.write_text("previous")
    result = run_sidtool("report", FOREST, "--format", "json", "-o", str(output), "--remediation", "ldif",
                         str(remediation))  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"sidtool: wrote 5 member removal(s) from 4 group(s) to {remediation} for review\n"
    comments = [line for line in remediation.read_text().splitlines() if line.startswith("# removes ")]
    assert len(comments) == 5
    assert (
        "# removes Domain Users from Remote Desktop Users (emea.corp.example.com): 3 sender(s) at risk reach the "
        "group through it; every member of Domain Users also loses what Remote Desktop Users grants in "
        "emea.corp.example.com"
    ) in comments
    assert any(line.startswith("# removes jmueller from Remote Desktop Users (corp.example.com): 1 sender(s)")
               and "; jmueller also loses" in line for line in comments)  # fmt: skip
    assert json.loads(output.read_text())["findings"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left behind
    removals = set()
    for block in remediation.read_text().split("\n\n")[1:]:
        lines = dict.fromkeys(block.splitlines())
        assert "changetype: modify" in lines and "delete: member" in lines
        values = [_ldif_value(line) for line in lines if line.startswith("member")]
        group = _ldif_value(next(line for line in lines if line.startswith("dn")))
        removals.update((group.split(",")[0], value.split(",")[0]) for value in values)
    assert ("CN=Remote Desktop Users", "CN=Terminal Access") in removals
    assert ("CN=Performance Monitor Users", "CN=Performance Operations") in removals
    assert ("CN=Remote Desktop Users", "CN=Müller\\") in removals  # written base64, decoded here
    assert ("CN=Network Configuration Operators", "CN=Helpdesk") in removals  # frank's route via the FSP
    assert ("CN=Remote Desktop Users", "CN=Domain Users") in removals  # the EMEA primary-group route


def _ldif_value(line: str) -> str:
    _, _, value = line.partition(":")
    return base64.b64decode(value[1:].strip()).decode() if value.startswith(":") else value.strip()


def test_unwritable_output_keeps_the_message_short(tmp_path: Path):
    result = run_sidtool("report", FOREST, "-o", str(tmp_path / "missing" / "out.txt"))
    assert result.returncode == 2
    assert result.stderr.startswith("sidtool: ") and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_damaged_ldif_is_read_around_and_exits_3(tmp_path: Path):
    text = Path(FOREST).read_text(encoding="utf-8")
    damaged = text.replace("objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoVwQAAA==", "objectSid:: !!bad!!", 1)
    assert damaged != text
    path = tmp_path / "damaged.ldif"
    path.write_text(damaged, encoding="utf-8")
    result = run_sidtool("report", str(path), "--format", "json")
    assert result.returncode == 3
    line = damaged[: damaged.index("!!bad!!")].count("\n") + 1
    assert f"damaged.ldif:line {line}: objectsid: value is not valid base64 (skipped)" in result.stderr
    assert "could not be read and were skipped" in result.stderr
    document = json.loads(result.stdout)
    assert document["findings"]  # the rest was still analysed
    (skipped,) = document["unchecked"]  # the report itself says what was skipped, not only stderr
    assert (skipped["kind"], skipped["subject"]) == ("record-skipped", str(path))
    assert skipped["location"] == f"{path}:line {line}" and "not valid base64" in skipped["detail"]
    assert document["summary"]["unchecked"] == 1


def test_a_report_written_to_a_file_says_what_was_skipped(tmp_path: Path):
    """A record that was skipped is a hole in the report file too: never a plain "No findings" over it."""
    forest = tmp_path / "safe.ldif"  # the example forest where only Administrators may post to a folder
    forest.write_text(_with_descriptors(Path(FOREST).read_text(encoding="utf-8"), "O:BAG:BAD:(A;;CCLCRPWP;;;BA)"))
    permissions = tmp_path / "permissions.csv"
    permissions.write_text('"Identity","User","AccessRights"\n"\\Admin Notices","CORP\\Helpdesk","Author, Typo"\n')
    for fmt, name in (("table", "report.txt"), ("html", "report.html")):
        result = run_sidtool("report", str(permissions), "--directory", str(forest), "--format", fmt,
                             "-o", str(tmp_path / name))  # fmt: skip
        assert result.returncode == 3, result.stderr
    text = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert text.startswith("INCOMPLETE: 1 item(s) could not be checked")
    flat = " ".join(text.split())  # (wrapped to the width)
    assert f"record-skipped: {permissions}: could not be read and was skipped: unknown folder right" in flat
    assert "No findings among what could be checked." in text and "No findings.\n" not in text
    assert "Everything that was read was checked" not in (tmp_path / "report.html").read_text(encoding="utf-8")


def _with_descriptors(ldif: str, sddl: str) -> str:
    """``ldif`` with every public folder's descriptor replaced by ``sddl`` (binary, base64, on one line)."""
    from sidtool.security import parse_sddl

    blob = base64.b64encode(bytes(parse_sddl(sddl))).decode()
    records = []
    for record in ldif.split("\n\n"):
        if "objectClass: publicFolder" in record and "nTSecurityDescriptor" in record:
            lines, dropping = [], False
            for line in record.strip("\n").split("\n"):
                dropping = line.startswith("nTSecurityDescriptor") or (dropping and line.startswith(" "))
                lines += [] if dropping else [line]
            record = "\n".join([*lines, f"nTSecurityDescriptor:: {blob}"])
        records.append(record)
    return "\n\n".join(records) + "\n"


def test_wrong_or_empty_input_is_one_line(tmp_path: Path):
    empty, wrong = tmp_path / "empty.ldif", tmp_path / "notes.txt"
    empty.write_bytes(b"")
    wrong.write_text("hello world\n")
    for path, message in ((empty, "empty input"), (wrong, "not a format sidtool reads")):
        result = run_sidtool("report", str(path))
        assert result.returncode == 2
        assert result.stderr.strip().startswith(f"sidtool: {path}: {message}")
        assert result.stderr.count("\n") == 1
    missing = run_sidtool("report", str(tmp_path / "absent.ldif"))
    assert missing.returncode == 2 and "No such file or directory" in missing.stderr


def test_stdin_and_utf16(tmp_path: Path):
    text = Path(FOREST).read_text(encoding="utf-8")
    piped = run_sidtool("report", "-", "--format", "json", input=text)
    assert piped.returncode == 1 and json.loads(piped.stdout)["findings"]
    utf16 = tmp_path / "forest-u.ldf"
    utf16.write_bytes(text.encode("utf-16"))  # ldifde -u: UTF-16 with a byte-order mark
    result = run_sidtool("report", str(utf16), "--format", "json")
    assert json.loads(result.stdout)["findings"] == json.loads(piped.stdout)["findings"]


def test_control_characters_in_directory_data_are_neutralised(tmp_path: Path):
    text = Path(FOREST).read_text(encoding="utf-8")
    hostile = "Sales\x1b[2J\x1b]0;owned\x07\u202eevil"
    encoded = base64.b64encode(hostile.encode()).decode()
    # The Sales group's sAMAccountName becomes a string with ANSI escapes and a right-to-left override.
    damaged = text.replace("sAMAccountName: Sales\n", f"sAMAccountName:: {encoded}\n", 1)
    assert damaged != text
    path = tmp_path / "hostile.ldif"
    path.write_text(damaged, encoding="utf-8")
    table = run_sidtool("report", str(path)).stdout
    assert "\x1b" not in table and "\u202e" not in table and "\x07" not in table
    assert "CORP\\Sales\\x1b[2J\\x1b]0;owned\\x07\\u202eevil" in table
    document = json.loads(run_sidtool("report", str(path), "--format", "json").stdout)
    assert any(f["trustee"] == f"CORP\\{hostile}" for f in document["findings"])  # JSON keeps the data exact


def test_baseline_2003_knows_the_2003_builtins():
    result = run_sidtool("report", FOREST, "--baseline", "2003", "--format", "json", "--all")
    assert result.returncode == 0, result.stderr  # every at-risk alias of the example came with Windows Server 2003
    document = json.loads(result.stdout)
    assert document["baseline"] == "2003" and document["findings"] == []
    assert run_sidtool("report", FOREST, "--baseline", "Vista").returncode == 2


def test_a_sid_of_thousands_of_digits_costs_its_entry_not_the_run(tmp_path: Path):
    """int() refuses over 4,300 digits with its own ValueError: that must be a located record error, never exit 4."""
    export = tmp_path / "perms.txt"
    huge = "S-1-5-21-" + "9" * 5000
    export.write_text(f"SETACL\t\\Sales Orders\t{huge}\tAuthor\tCORP\\Sales\tAuthor\n", encoding="utf-8")
    result = run_sidtool("report", str(export), "--directory", FOREST, "--format", "json")
    assert result.returncode == 3, result.stderr
    assert f"{export}:line 1: trustee 'S-1-5-21-999" in result.stderr and "digits: it does not fit" in result.stderr
    assert max(map(len, result.stderr.splitlines())) < 1200  # the value is cut in the message
    assert any(f["trustee"] == "CORP\\Sales" for f in json.loads(result.stdout)["findings"])  # its neighbour is read
    for args in (("lookup", huge), ("sd", "decode", f"O:BAG:BAD:(A;;CC;;;{huge})")):
        result = run_sidtool(*args)
        assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr

"""The remediation LDIF changes only what the report names: member values of at-risk BUILTIN groups, by plain DN.

A hostile snapshot can give a built-in group's SID to any DN. Written as it is, the LDIF would modify
whatever that DN names: an extended DN (``<SID=...>``) that AD resolves to Domain Admins, or a group
outside ``CN=Builtin``. Such changes are refused on stderr (exit 3) and left out.
"""

from __future__ import annotations

import base64
import io
import json

import pytest

from sidtool.errors import InputError
from sidtool.remediation import removal_ldif
from sidtool.report import visible
from sidtool.risk import assess
from sidtool.sources import read_inputs, snapshot
from tests.support.cli_runner import REPO, run_sidtool

FOREST = str(REPO / "examples" / "corp-forest.ldif")
RDP = "CN=Remote Desktop Users,CN=Builtin,DC=corp,DC=example,DC=com"
DOMAIN_ADMINS_SID = "S-1-5-21-1004336348-1177238915-682003330-512"


def ldif_for(document: dict) -> tuple[str, list[InputError]]:
    """The remediation LDIF of a snapshot document, and the changes refused."""
    problems: list[InputError] = []
    directory = snapshot.load(_stream(document), "snap.json", pytest.fail)
    assessment = assess(directory)
    return removal_ldif(visible(assessment, True), problems.append), problems


def _stream(document: dict) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


def example_document() -> dict:
    return snapshot.to_document(read_inputs([FOREST], on_problem=pytest.fail))


def with_rdp_dn(dn: str) -> dict:
    document = example_document()
    (group,) = [p for p in document["principals"] if p["dn"] == RDP]
    group["dn"] = dn
    return document


def test_the_example_forest_gives_every_removal_and_refuses_none():
    text, refused = ldif_for(example_document())
    assert refused == []
    assert f"dn: {RDP}\nchangetype: modify\ndelete: member\n" in text


def test_a_non_ascii_dn_stays_base64_with_a_readable_comment_above():
    text, _ = ldif_for(example_document())
    muller = "CN=Müller\\, Jürgen,CN=Users,DC=corp,DC=example,DC=com"
    encoded = base64.b64encode(muller.encode()).decode()
    assert f"# member: {muller}\nmember:: {encoded}\n" in text


@pytest.mark.parametrize(
    ("dn", "why"),
    [
        (f"<SID={DOMAIN_ADMINS_SID}>", "is an extended DN"),
        ("<GUID=0d1d1a7c-8b45-4a5e-9b32-6a1a0f6f2b11>", "is an extended DN"),
        ("<WKGUID=a361b2ffffd211d1aa4b00c04fd7d83a,DC=corp,DC=example,DC=com>", "is an extended DN"),
        ("CN=Domain Admins,CN=Users,DC=corp,DC=example,DC=com", "is not in a CN=Builtin container"),
    ],
)
def test_a_builtin_group_read_with_a_dn_that_could_point_elsewhere_is_refused(dn, why):
    text, refused = ldif_for(with_rdp_dn(dn))
    assert refused and all(why in problem.message for problem in refused)
    assert all(problem.message.startswith("remediation: not removing ") for problem in refused)
    assert dn not in text and "Domain Admins" not in text
    assert "CN=Performance Monitor Users,CN=Builtin" in text  # the other groups' removals are still written


def test_refusals_reach_stderr_and_exit_3(tmp_path):
    path, fix = tmp_path / "hostile.json", tmp_path / "fix.ldif"
    path.write_text(json.dumps(with_rdp_dn(f"<SID={DOMAIN_ADMINS_SID}>")))
    result = run_sidtool("report", str(path), "--remediation", "ldif", str(fix))
    assert result.returncode == 3, result.stderr
    assert f"from <SID={DOMAIN_ADMINS_SID}>: '<SID=" in result.stderr
    assert "<SID=" not in fix.read_text()
    lines = result.stderr.splitlines()
    refusals = [line for line in lines if line.endswith("(left out)")]
    assert refusals and lines[-1].startswith(f"sidtool: {len(refusals)} member removal(s) were left out of {fix}: ")
    assert "could not be read" not in result.stderr and "(skipped)" not in result.stderr  # nothing was unreadable


def test_a_hostile_dn_in_the_comment_is_escaped():
    dn = "CN=Remote\x1b[2J\u202e Desktop Users,CN=Builtin,DC=corp,DC=example,DC=com"
    text, refused = ldif_for(with_rdp_dn(dn))
    assert refused == []  # a plain DN in CN=Builtin: written, base64 as RFC 2849 requires
    assert f"# dn: {dn}".replace("\x1b", "\\x1b").replace("\u202e", "\\u202e") in text
    assert f"dn:: {base64.b64encode(dn.encode()).decode()}" in text
    assert "\x1b" not in text and "\u202e" not in text

"""A live Samba DC killed in the middle of ``sidtool collect``, then left down or started again.

These tests stop a DC, so they do not use the session's shared ``test_dc``: the module starts a
DC of its own (tests/dc/run-dc, on another loopback address) and kills and restarts it by its pid.

"Mid-collection" is found without timing: with ``--page-size 1`` and ``-v``, sidtool logs
"N objects so far" after every page, and the test kills the DC as soon as the first page of users
has arrived. More than 1,600 users remain to be paged through at that moment, so the collection
cannot have finished; each test also checks, from the log, that the connection was indeed lost.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_runner import REPO
from tests.support.dc import RUN_DC, TestDomainController, controller_from, running_dc

pytestmark = [pytest.mark.dc, pytest.mark.slow]  # each test kills or restarts a DC of its own


@pytest.fixture(scope="module")
def own_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder of a DC started for this module alone (it is killed and restarted here)."""
    with running_dc(tmp_path_factory, "fault-dc") as directory:
        yield directory


def running(directory: Path) -> TestDomainController:
    """The module's DC, started again first if an earlier test left it down."""
    status = subprocess.run([sys.executable, str(RUN_DC), "status", str(directory)], capture_output=True, text=True)
    if status.returncode != 0:
        restart(directory)
    return controller_from(directory)


def restart(directory: Path) -> None:
    result = subprocess.run([sys.executable, str(RUN_DC), "restart", str(directory)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def collect_command(dc: TestDomainController, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sidtool", "collect", "--server", dc.ldaps_uri, "--ca-file", str(dc.ca_file),
            "--user", dc.admin_user, "-o", str(output), *extra]  # fmt: skip


def environment(dc: TestDomainController) -> dict[str, str]:
    values = {**os.environ, "PYTHONPATH": str(REPO), "SIDTOOL_PASSWORD": dc.password}
    values.pop("SIDTOOL_DEBUG", None)
    return values


def collect_killing_the_dc(dc: TestDomainController, output: Path, *extra: str, then_restart: bool):
    """Run ``sidtool collect -v --page-size 1``; kill the DC (SIGKILL, by pid) once the first page of users is in.

    Returns (exit code, stderr lines). With ``then_restart``, the DC is started again at once, while
    sidtool is backing off.
    """
    command = collect_command(dc, output, "-v", "--page-size", "1", *extra)
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=environment(dc), cwd=output.parent
    )
    lines: list[str] = []
    killed = False
    for line in process.stderr:
        lines.append(line.rstrip("\n"))
        if not killed and line.startswith(f"sidtool: users and computers of {dc.base_dn}: 1 objects so far"):
            os.kill(dc.pid, signal.SIGKILL)
            killed = True
            lines.append("<test: DC killed>")
            if then_restart:
                restart(dc.directory)
                lines.append("<test: DC restarted>")
    code = process.wait(timeout=120)
    assert killed, "the first page of users never arrived:\n" + "\n".join(lines[-20:])
    return code, lines


def content(path: Path) -> dict:
    """A snapshot without its timestamp, with every list in a fixed order (three searches run in parallel)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("created")
    document.pop("source")
    return {
        key: sorted(value, key=lambda item: json.dumps(item, sort_keys=True)) if isinstance(value, list) else value
        for key, value in document.items()
    }


def test_dc_killed_mid_collection_and_not_restarted_is_one_line_exit_2(own_dc, tmp_path):
    dc = running(own_dc)
    output = tmp_path / "snap.json"
    output.write_text("previous")
    code, lines = collect_killing_the_dc(dc, output, "--retries", "2", then_restart=False)
    killed_at = lines.index("<test: DC killed>")
    after = lines[killed_at:]
    assert code == 2
    assert any("connection lost" in line for line in after)
    assert not any("Traceback" in line for line in lines)
    assert [line for line in after[1:] if not line.startswith("sidtool: ")] == [], "\n".join(after)
    assert after[-1].startswith(f"sidtool: {dc.host}:636: connection lost and not regained after 2 retries (")
    assert after[-1].endswith("Connection refused)")
    # the reconnections were spaced 1 s, then 2 s: the log names each retry and its delay
    assert any("retry 1 of 2 in 1 s" in line for line in after) and any("retry 2 of 2 in 2 s" in line for line in after)
    assert output.read_text() == "previous"  # the earlier snapshot is left, and no half-written one beside it
    assert sorted(path.name for path in tmp_path.iterdir()) == ["snap.json"]


def test_dc_restarted_within_the_retry_window_gives_the_same_snapshot(own_dc, tmp_path):
    dc = running(own_dc)
    undisturbed = tmp_path / "undisturbed.json"
    result = subprocess.run(
        collect_command(dc, undisturbed, "-q"), capture_output=True, text=True, env=environment(dc), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    disturbed = tmp_path / "disturbed.json"
    code, lines = collect_killing_the_dc(running(own_dc), disturbed, then_restart=True)
    assert code == 0, "\n".join(lines[-20:])
    after = lines[lines.index("<test: DC killed>") :]
    assert any("connection lost" in line and "retry 1 of 3" in line for line in after)
    # the broken paged search was started again from its first page on the restarted DC (the old cookie died
    # with the old process), and what had been read already was not taken twice
    searches = [line for line in after if line.startswith("sidtool: search base=") and "(objectClass=user)" in line]
    assert searches
    assert content(disturbed) == content(undisturbed)
    principals = json.loads(disturbed.read_text())["principals"]
    assert len({p["dn"].lower() for p in principals}) == len(principals) > 1600


@pytest.mark.parametrize("bind", ["ldaps", "ntlm", "kerberos"])
def test_samba_s_reference_to_the_configuration_is_seen_and_is_no_gap(own_dc, tmp_path, bind):
    """Samba answers a subtree search of the domain with a continuation reference to CN=Configuration.

    With Kerberos, this second DC's KDC runs beside the session DC's (the same realm, another loopback address).
    """
    dc = running(own_dc)
    output = tmp_path / "snap.json"
    command = collect_command(dc, output, "-v")
    variables = environment(dc)
    if bind == "ntlm":
        command[command.index("--server") + 1] = dc.host
        command += ["--auth", "ntlm"]
    if bind == "kerberos":
        command[command.index("--server") + 1] = f"ldap://{dc.hostname}"
        command[command.index("--user") + 1] = dc.upn
        command += ["--auth", "kerberos", "--dc-ip", dc.host]
        variables.update(dc.kerberos_environment(tmp_path / "no-cache"), SIDTOOL_PASSWORD=dc.password)
    result = subprocess.run(command, capture_output=True, text=True, env=variables, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    configuration = f"CN=Configuration,{dc.base_dn}"
    assert re.search(
        rf"^sidtool: reference ldaps?://[^/]+/{re.escape(configuration)} \(from {re.escape(dc.base_dn)}\): "
        "a partition of this forest, read on its own$",
        result.stderr,
        re.M,
    )
    assert json.loads(output.read_text())["gaps"] == []

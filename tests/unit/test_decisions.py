"""The decisions file: bounded, every usable decision used, every other one named with its line."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from sidtool import decisions
from sidtool.errors import InputError, UsageError
from sidtool.security.sid import Sid

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib came with Python 3.11")


def _load(tmp_path: Path, text: str, today: date = date(2026, 11, 29)):
    path = tmp_path / "decisions.toml"
    path.write_text(text, encoding="utf-8")
    problems: list[InputError] = []
    return decisions.load(str(path), problems.append, today), problems, str(path)


def test_hotfixed_and_accepted_are_read_with_their_lines(tmp_path):
    loaded, problems, path = _load(
        tmp_path,
        """\
# reviewed by the Exchange team
[[hotfixed]]
server = "EX2003A"
store_build = "6.5.7232.35"

[[accepted]]
folder = "/Sales Orders"
trustee_sid = "S-1-1-0"
reason = "reviewed"
expires = 2026-11-29
""",
    )
    assert problems == []
    assert loaded.hotfixed == (("EX2003A", "6.5.7232.35"),)
    (acceptance,) = loaded.accepted
    assert acceptance == decisions.Acceptance("/Sales Orders", Sid.parse("S-1-1-0"), "reviewed", date(2026, 11, 29),
                                              f"{path}:6")  # fmt: skip
    assert loaded.expired == ()  # the day it expires, it still holds


def test_an_expired_acceptance_is_kept_apart(tmp_path):
    loaded, _, _ = _load(tmp_path, '[[accepted]]\nfolder="/X"\ntrustee_sid="S-1-1-0"\nreason="r"\nexpires=2026-11-28\n')
    assert loaded.accepted == () and len(loaded.expired) == 1


@pytest.mark.parametrize(("table", "message"), [
    ('[[accepted]]\nfolder="/X"\ntrustee_sid="S-1-1-0"\n', "reason is missing"),
    ('[[accepted]]\nfolder="/X"\ntrustee_sid="S-1-5-banana"\nreason="r"\n', "trustee_sid:"),
    ('[[accepted]]\nfolder="/X"\ntrustee_sid="S-1-1-0"\nreason="r"\nexpires="soon"\n', "expires: 'soon' is not a date"),
    ('[[accepted]]\nfolder="/X"\ntrustee_sid="S-1-1-0"\nreason="r"\nacl="store"\n', "unknown key 'acl'"),
    ('[[hotfixed]]\nserver="EX1"\nstore_build="7"\n', "is not a Store.exe version"),
])  # fmt: skip
def test_a_decision_that_cannot_be_used_is_named_and_skipped(tmp_path, table, message):
    loaded, problems, path = _load(tmp_path, '[[hotfixed]]\nserver="EX0"\n\n' + table)
    assert loaded.hotfixed[0] == ("EX0", None)  # the usable one is used
    (problem,) = problems
    assert str(problem).startswith(f"{path}:line 4: [[") and message in str(problem)


def test_the_number_of_decisions_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(decisions, "MAX_DECISIONS", 3)
    with pytest.raises(InputError, match="more than 3 decisions") as caught:
        _load(tmp_path, '[[hotfixed]]\nserver="A"\n' * 4)
    assert caught.value.location == "line 7"


def test_python_3_10_gets_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)  # import tomllib now fails, as on Python 3.10
    with pytest.raises(UsageError, match=r"--decisions needs Python 3\.11 or newer"):
        _load(tmp_path, "")


def test_hotfixed_option_values():
    assert decisions.parse_hotfixed("EX2003A") == ("EX2003A", None)
    assert decisions.parse_hotfixed(" EX2003A = 6.5.7232.35 ") == ("EX2003A", "6.5.7232.35")
    for bad in ("", "=6.5.7232.35", "EX=6.5.x"):
        with pytest.raises(ValueError):
            decisions.parse_hotfixed(bad)

"""No argument error ever prints a value given after a password-like option (argparse echoes what it does not know)."""

from __future__ import annotations

import pytest

from tests.support.cli_runner import run_sidtool

SECRET = "Hunter2-s3cret"
COLLECT = ("collect", "--server", "ldaps://127.0.0.254", "--user", "CORP\\x", "-o", "unused.json")


@pytest.mark.parametrize(
    "typed",
    [
        ["--password", SECRET], [f"--password={SECRET}"], ["--pass", SECRET], ["--passwd", SECRET], ["-p", SECRET],
        [f"-p{SECRET}"], ["-w", SECRET], ["-H", SECRET], ["--hashes", f"aad3b435:{SECRET}"], ["-hashes", SECRET],
        ["-aesKey", SECRET], ["--nt-hash", SECRET], [f"--nt-hash={SECRET}"], ["--aes-key", SECRET],
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", [COLLECT, ("report", "examples/corp-forest.ldif")])
def test_the_value_after_a_password_option_is_never_echoed(command, typed):
    result = run_sidtool(*command, *typed, env={"SIDTOOL_PASSWORD": "pw"})
    assert result.returncode == 2
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert "(value not shown)" in result.stderr


def test_the_refusal_says_where_the_password_comes_from():
    result = run_sidtool(*COLLECT, "--password", SECRET)
    assert result.stderr.splitlines()[-1] == (
        "sidtool: error: --password is not an option: the password comes from --password-file FILE, "
        "$SIDTOOL_PASSWORD or the prompt, never from the command line (value not shown)"
    )


def test_a_value_given_to_the_nt_hash_flag_points_to_its_variable():
    result = run_sidtool(*COLLECT, "--auth", "ntlm", "--nt-hash", SECRET)
    assert "--nt-hash takes no value: put the key in $SIDTOOL_NT_HASH" in result.stderr


def test_other_errors_still_show_the_words_around_a_short_secret():
    """A one-letter secret is hidden as a word, not as every letter of the message."""
    result = run_sidtool(*COLLECT, "--bogus", "--password", "a")
    assert result.returncode == 2
    assert "error: --password is not an option" in result.stderr and "argument" not in result.stderr


def test_unknown_arguments_that_are_no_secret_are_still_shown():
    result = run_sidtool(*COLLECT, "--auth", "ntlm", "--nt-hash", "--unknown-thing")
    assert "unrecognized arguments: --unknown-thing" in result.stderr
    result = run_sidtool("report", "examples/corp-forest.ldif", "--unknown-thing=x")
    assert "unrecognized arguments: --unknown-thing\n" in result.stderr  # the name, never its value


@pytest.mark.parametrize(
    "typed",
    [["--Password", SECRET], [f"--pasword={SECRET}"], ["-P", SECRET], ["--passphrase", SECRET],
     ["--credential", SECRET], ["--password-file=", SECRET], ["--unknown-thing", SECRET], [f"-P{SECRET}"],
     [f"--passwd:{SECRET}"]],
)  # fmt: skip
def test_a_value_after_any_unrecognized_option_is_never_echoed(typed):
    """Mistyped or other tools' password options are no list sidtool can keep whole: whatever follows an option it
    does not know, or an empty --option=, is not shown; the option's name is."""
    result = run_sidtool(*COLLECT, *typed, env={"SIDTOOL_PASSWORD": "pw"})
    assert result.returncode == 2
    assert SECRET not in result.stderr + result.stdout
    assert "(value not shown)" in result.stderr or typed[0].startswith("--pasword=")
    assert "Traceback" not in result.stderr


def test_an_argument_error_is_escaped_for_the_terminal():
    result = run_sidtool("report", "examples/corp-forest.ldif", "--x\x1b[31mRED\x1b]52;c;aGk=\x07")
    assert (
        result.returncode == 2 and "\x1b" not in result.stderr and "arguments: --x (value not shown)" in result.stderr
    )

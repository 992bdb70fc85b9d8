"""The README tells the truth: its console examples are real output, and CI runs its test command."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.support.cli_runner import REPO, run_sidtool

README = (REPO / "README.md").read_text(encoding="utf-8")
CONSOLE_BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def console_examples() -> list[tuple[str, str]]:
    """(command line, expected output) for every ``$ sidtool ...`` console block in the README."""
    examples = []
    for block in CONSOLE_BLOCK.findall(README):
        first, _, output = block.partition("\n")
        if first.startswith("$ sidtool "):
            examples.append((first[2:], output))
    return examples


@pytest.mark.parametrize(("command", "expected"), console_examples())
def test_readme_console_examples_are_real_output(command, expected):
    args = shlex.split(command)[1:]
    result = run_sidtool(*args)
    assert result.stdout.rstrip("\n") == expected.rstrip("\n"), command


def test_readme_has_console_examples_of_every_command():
    commands = {shlex.split(command)[1] for command, _ in console_examples()}
    assert {"lookup", "catalog", "sd", "report"} <= commands


def test_quick_start_runs_the_main_job_on_bundled_data():
    quick_start = README.split("## Quick start", 1)[1].split("<!-- test-command -->", 1)[0]
    command = re.search(r"&& (sidtool report \S+)\n", quick_start).group(1)
    result = run_sidtool(*shlex.split(command)[1:])
    assert result.returncode == 1, result.stderr  # the example forest has findings
    assert "Sales Orders" in result.stdout


def test_ci_runs_exactly_the_readme_test_command():
    match = re.search(r"<!-- test-command -->\n```sh\n(.+?)\n```", README)
    assert match, "README.md must mark its test command with <!-- test-command -->"
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert match.group(1) in ci_lines


def test_the_python_api_example_runs():
    """The README's Python API example is real code: run it from the repository root."""
    section = README.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert result.returncode == 0, result.stderr

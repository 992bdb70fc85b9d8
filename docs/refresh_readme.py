"""Re-run every ``$ sidtool ...`` console example in README.md and put its real output back in place.

Run from the repository root after changing a command's output: ``python docs/refresh_readme.py``.
tests/test_docs.py fails while the README shows output the commands no longer print.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```console\n(\$ sidtool [^\n]*)\n.*?```", re.S)


def refresh(match: re.Match[str]) -> str:
    command = match.group(1)
    environment = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "LINES")}
    result = subprocess.run(
        [sys.executable, "-m", "sidtool", *shlex.split(command[2:])[1:]],
        capture_output=True,
        text=True,
        cwd=README.parent,
        env=environment,
    )  # fmt: skip  (tables as laid out for a pipe: 100 columns, whatever terminal runs this)
    return f"```console\n{command}\n{result.stdout}```"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    README.write_text(BLOCK.sub(refresh, text), encoding="utf-8")


if __name__ == "__main__":
    main()

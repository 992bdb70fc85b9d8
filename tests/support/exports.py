"""Read a fixture with one reader, collecting the problems it reports (for the reader tests)."""

from __future__ import annotations

from pathlib import Path

from sidtool.errors import InputError
from sidtool.model import Directory

DATA = Path(__file__).resolve().parent.parent / "data"
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def read(reader, name: str) -> tuple[Directory, list[str]]:
    """The model a reader makes of ``tests/data/<name>``, and its problems as the CLI prints them."""
    problems: list[InputError] = []
    with open(DATA / name, "rb") as stream:
        directory = reader.load(stream, name, problems.append)
    return directory, [str(problem) for problem in problems]


def head(name: str) -> bytes:
    return (DATA / name).read_bytes()[:8192]

"""Mutation fuzzing of every reader: any input gives a model or the documented InputError, nothing else.

Seeds are real files (the examples and the test fixtures). Each case applies a few random
mutations: bit flips, byte insertions and deletions, truncation, duplicated or swapped slices,
and splices of interesting tokens. CI runs a small budget per reader; the long run is

    SIDTOOL_FUZZ_CASES=100000 python -m pytest tests/test_fuzz_readers.py -q

(its result is recorded in BENCHMARKS.md).
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import random
from pathlib import Path

import pytest

from sidtool.errors import InputError
from sidtool.report import VIEWS, build, render_view
from sidtool.risk import assess
from sidtool.sources import ldif, permcsv, pfdavadmin, sddl_list, snapshot
from sidtool.sources import read_inputs as read_all

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
CASES = int(os.environ.get("SIDTOOL_FUZZ_CASES", "400"))
TOKENS = [b"\n", b"\r\n", b"\n ", b":", b"::", b":<", b"dn: ", b"\t", b",", b'"', b"\\", b"\\2C", b"\xff\xfe",
          b"\x00", b"=", b"member;range=0-*: ", b"SETACL\t", b"#TYPE x\n", b"{", b"}", b"[", b"null", b"-",
          b"changetype: modify\n", b"S-1-5-32-555", b"\xc3", b"AAAA", b"O:BAG:BAD:(A;;0x2;;;RD)"]  # fmt: skip


def seeds(pattern: str, *extra: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(DATA.glob(pattern))] + [path.read_bytes() for path in extra]


def snapshot_directory():
    """The example forest, read from its LDIF and its PFDAVAdmin export."""
    return read_all([str(REPO / "examples" / "corp-forest-pfdavadmin.txt")], on_problem=lambda e: None,
                    directories=[str(REPO / "examples" / "corp-forest.ldif")])  # fmt: skip


def snapshot_seeds() -> list[bytes]:
    """The example forest as a snapshot: in sidtool's line layout (plain and gzip), and as one line of JSON."""
    directory = snapshot_directory()
    lines = "".join(snapshot.document_lines(directory)).encode()
    return [lines, gzip.compress(lines, mtime=0), json.dumps(snapshot.to_document(directory)).encode()]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not buffer:
            buffer.extend(rng.choice(TOKENS))
            continue
        position = rng.randrange(len(buffer))
        action = rng.randrange(7)
        if action == 0:
            buffer[position] ^= 1 << rng.randrange(8)
        elif action == 1:
            buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif action == 2:
            del buffer[position : position + rng.randint(1, 64)]
        elif action == 3:
            del buffer[position:]
        elif action == 4:
            end = min(len(buffer), position + rng.randint(1, 256))
            buffer[position:position] = buffer[position:end] * rng.randint(1, 4)
        elif action == 5:
            buffer[position:position] = rng.choice(TOKENS)
        else:
            other = rng.randrange(len(buffer))
            buffer[position], buffer[other] = buffer[other], buffer[position]
    return bytes(buffer)


READERS = {
    "ldif": (ldif, lambda: seeds("ldif/*.ldif", REPO / "examples" / "corp-forest.ldif")),
    "pfdavadmin": (pfdavadmin, lambda: seeds("pfdavadmin/*.txt", REPO / "examples" / "corp-forest-pfdavadmin.txt")),
    "permcsv": (permcsv, lambda: seeds("permcsv/*.csv", REPO / "examples" / "corp-forest-permissions.csv")),
    "sddl-list": (sddl_list, lambda: seeds("sddl_list/*.txt")),
    "snapshot": (snapshot, snapshot_seeds),
}


def sddl_seeds() -> list[bytes]:
    lines = (DATA / "descriptors" / "ad_schema_defaults.sddl").read_bytes().splitlines()
    return [line for line in lines if line and not line.startswith(b"#")][:200]


def test_mutated_sddl_and_sid_text_raise_only_their_documented_errors():
    """SDDL and SID text are parsers too: the same mutations, through parse_sddl and Sid.parse."""
    from sidtool.security.sddl import parse_sddl
    from sidtool.security.sid import Sid

    rng = random.Random("sidtool-fuzz-sddl")
    corpus = sddl_seeds()
    sid_corpus = [b"S-1-5-32-555", b"S-1-5-21-1004336348-1177238915-682003330-512", b"S-1-0x123456789ABC-1", b"S-1-5"]
    for case in range(CASES):
        text = mutate(rng.choice(corpus), rng).decode("utf-8", "replace")
        try:
            parse_sddl(text, "S-1-5-21-1-2-3")
        except InputError:
            pass
        except Exception as error:
            pytest.fail(f"SDDL case {case}: {type(error).__name__}: {error}\ninput: {text[:300]!r}")
        sid_text = mutate(rng.choice(sid_corpus), rng).decode("utf-8", "replace")
        try:
            Sid.parse(sid_text)
        except InputError:
            pass
        except Exception as error:
            pytest.fail(f"SID case {case}: {type(error).__name__}: {error}\ninput: {sid_text!r}")


@pytest.mark.parametrize("name", sorted(READERS))
def test_mutated_inputs_give_a_model_or_an_input_error(name):
    reader, make_seeds = READERS[name]
    corpus = make_seeds()
    assert corpus
    rng = random.Random(f"sidtool-fuzz-{name}")
    outcomes = {"read": 0, "refused": 0}
    for case in range(CASES):
        data = mutate(rng.choice(corpus), rng)
        problems: list[InputError] = []
        try:
            reader.load(io.BufferedReader(io.BytesIO(data)), f"case{case}", problems.append)  # as read_inputs opens
            outcomes["read"] += 1
        except InputError:
            outcomes["refused"] += 1
        except Exception as error:  # anything else is a bug: show the input that caused it
            pytest.fail(f"{name} case {case}: {type(error).__name__}: {error}\ninput: {data[:400]!r}")
        for problem in problems:
            assert isinstance(problem, InputError)
            assert problem.source == f"case{case}" and (problem.location or problem.message)
    assert outcomes["read"] > 0  # mutations must not all be trivially refused


JSON_VALUES = [None, True, False, 0, -1, 2**70, 1.5, "", "x", "S-1-5-32-555", "CN=x", [], ["x"], [1], [[]], {},
               {"a": 1}, "\x1b[2J\u202e"]  # fmt: skip


def test_any_json_type_in_any_snapshot_field_gives_located_errors_and_a_report():
    """Records whose fields hold the wrong JSON types are reported and skipped; the rest reads and is assessed."""
    document = snapshot.to_document(snapshot_directory())
    rng = random.Random("sidtool-fuzz-snapshot-types")
    lists = [key for key in document if isinstance(document[key], list) and document[key]]
    for case in range(max(CASES // 2, 50)):
        mutated = copy.deepcopy(document)
        for _ in range(rng.randint(1, 4)):
            record = rng.choice(mutated[key := rng.choice(lists)])
            if key in ("gaps", "others", "references"):  # (lists of strings)
                mutated[key][0] = rng.choice(JSON_VALUES)
                continue
            if key == "permissions" and record["entries"] and rng.random() < 0.5:
                record = rng.choice(record["entries"])
            record[rng.choice(list(record))] = rng.choice(JSON_VALUES)
        problems: list[InputError] = []
        data = json.dumps(mutated).encode()
        try:
            directory = snapshot.load(io.BufferedReader(io.BytesIO(data)), f"case{case}", problems.append)
            assessment = assess(directory)
            for view in VIEWS:
                for fmt in ("table", "json", "csv", "markdown"):
                    "".join(render_view(build(assessment, True), view, fmt))
        except InputError:
            continue
        except Exception as error:
            pytest.fail(f"case {case}: {type(error).__name__}: {error}\ninput: {data[:2000]!r}")
        assert all(problem.location for problem in problems)

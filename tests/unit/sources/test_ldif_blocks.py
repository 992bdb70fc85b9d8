"""The LDIF reader in blocks against the reader it replaced (``read_ldif_by_lines``): the same records, the same
problems at the same lines, on real fixtures, a generated forest and mutated files, whatever the block size."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from benchmarks.gen_forest import Options, generate
from sidtool.errors import InputError
from sidtool.sources import ldif
from sidtool.sources.entries import ATTRIBUTES, DirectoryBuilder
from tests.unit.sources.test_fuzz_readers import CASES, mutate

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"


def fixtures() -> list[bytes]:
    paths = [*sorted(DATA.glob("ldif/*.ldif")), DATA / "exports" / "ldapsearch_default.ldif"]
    return [path.read_bytes() for path in [*paths, REPO / "examples" / "corp-forest.ldif"]]


@pytest.fixture(scope="module")
def forest(tmp_path_factory) -> bytes:
    """A small generated forest as ldifde writes it: CRLF, folded base64, modify records for long member lists."""
    out = tmp_path_factory.mktemp("forest")
    options = Options(domains=2, users=1800, groups=180, depth=3, fanout=10, at_risk_share=0.01,
                      routes={"direct": 1.0, "nested": 2.0, "primary": 1.0, "foreign": 1.0},
                      servers=["2003sp2", "2000sp3"], folders=100, entries_per_folder=20, mail_enabled_share=0.5,
                      default_post_share=0.02, seed=7)  # fmt: skip
    generate(options, out)
    return (out / "forest.ldif").read_bytes()


def outcome(reader, data: bytes, **options) -> tuple[list[tuple], list[tuple]]:
    """The records a reader gives (every field) and its problems (type and text)."""
    problems: list[InputError] = []
    stream = io.BufferedReader(io.BytesIO(data))
    records = [(r.dn, r.attributes, r.line, r.changetype, r.member_ranges, r.partial_attributes)
               for r in reader(stream, "case.ldif", problems.append, **options)]  # fmt: skip
    return records, [(type(problem).__name__, str(problem)) for problem in problems]


def by_lines(data: bytes) -> tuple[list[tuple], list[tuple]]:
    return outcome(ldif.read_ldif_by_lines, data)


# Sizes that cut records, lines and CRLF pairs everywhere; a record limit of 300 bytes sends long records,
# and the rest of the file after them, down the line-by-line path.
SIZES = [{}, {"block": 1}, {"block": 7}, {"block": 64}, {"block": 4096, "record_limit": 300}]


@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_fixtures_read_the_same_in_blocks_as_line_by_line(sizes):
    for data in fixtures():
        assert outcome(ldif.read_ldif, data, **sizes) == by_lines(data)


@pytest.mark.parametrize("sizes", [{}, {"block": 333}, {"block": 4096, "record_limit": 2000}], ids=str)
def test_a_generated_forest_reads_the_same_in_blocks(forest, sizes):
    records, problems = outcome(ldif.read_ldif, forest, **sizes)
    assert problems == []
    assert len(records) > 2000
    assert (records, problems) == by_lines(forest)


def test_line_ends_and_encodings_read_the_same():
    base = fixtures()[-1]
    lf = base.replace(b"\r\n", b"\n")
    variants = [
        lf,
        lf.replace(b"\n", b"\r\n"),
        lf.replace(b"\n", b"\r\r\n"),  # a stray CR before the line end
        lf.replace(b"\n\n", b"\n\r\n\n"),  # blank lines of a CR, then two
        lf.replace(b"\n\n", b"\n \n\t\n\n"),  # lines of a space and a tab: continuations of nothing
        b"\xef\xbb\xbf" + lf,  # a UTF-8 BOM
        lf.decode("utf-8").encode("utf-16"),  # ldifde -u
        lf.replace(b"\n ", b"\n\t"),  # folded with tabs
        lf.replace(b"dn: ", b"# an ldapsearch comment\n#  continued\n dn: no, still the comment\ndn: "),
        lf.rstrip(b"\n"),  # no line end at the end
        lf.replace(b"sAMAccountName", b"SAMACCOUNTNAME"),
    ]
    for variant in variants:
        for sizes in SIZES:
            assert outcome(ldif.read_ldif, variant, **sizes) == by_lines(variant)


def test_carriage_returns_anywhere_read_the_same(forest):
    """CRs and folds put next to line ends, folds and comments (the fast path takes only CRLF line ends)."""
    rng = random.Random("sidtool-ldif-cr")
    pieces = [b"\r", b"\r\r", b"\r\n", b"\r\n ", b"\n ", b"\r\n\t", b"\n\r\n", b"\r\n#c\r\n", b" \r"]
    for case in range(300):
        data = bytearray(rng.choice([forest[:3000], forest[:3000].replace(b"\r\n", b"\n"), fixtures()[-1][:3000]]))
        for _ in range(rng.randint(1, 4)):
            ends = [n for n, byte in enumerate(data) if byte == 10]
            at = rng.choice(ends) + rng.choice([-1, 0, 1]) if ends else 0
            data[at:at] = rng.choice(pieces)
        sizes = rng.choice(SIZES)
        assert outcome(ldif.read_ldif, bytes(data), **sizes) == by_lines(bytes(data)), f"case {case}: {data!r}"


def test_mutated_files_read_the_same_in_blocks(forest):
    """Damage of every kind (the fuzz mutations): the same records and the same located problems."""
    corpus = [*fixtures(), forest[:20_000]]
    rng = random.Random("sidtool-ldif-blocks")
    for case in range(CASES):
        data = mutate(rng.choice(corpus), rng)
        sizes = rng.choice(SIZES)
        assert outcome(ldif.read_ldif, data, **sizes) == by_lines(data), f"case {case} {sizes}: {data[:300]!r}"


def test_only_the_attributes_asked_for_are_kept_and_the_rest_is_still_checked():
    data = (b"dn: CN=a,DC=x\nobjectClass: user\nobjectGUID:: AAAA\ncn: a\nmember;range=0-1: CN=b,DC=x\n\n"
            b"dn: CN=c,DC=x\nobjectClass: user\nobjectGUID:: A\n\n")  # fmt: skip
    records, problems = outcome(ldif.read_ldif, data, attributes=frozenset({"objectclass", "member"}))
    assert [(dn, attributes, ranges) for dn, attributes, _, _, ranges, _ in records] == [
        ("CN=a,DC=x", {"objectclass": [b"user"], "member": [b"CN=b,DC=x"]}, [(0, 1)])
    ]
    assert problems == [("InputError", "case.ldif:line 9: objectguid: value is not valid base64")]


class _Asked(dict):
    """Attributes that remember every name the builder asks for."""

    def __init__(self, values: dict[str, list[bytes]], asked: set[str]) -> None:
        super().__init__(values)
        self.asked = asked

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)


def test_the_builder_reads_no_attribute_outside_the_list_the_reader_keeps(forest):
    asked: set[str] = set()
    builder = DirectoryBuilder("forest.ldif", lambda error: None)
    for data in [*fixtures(), forest]:
        for record in ldif.read_ldif(io.BytesIO(data), "f", lambda error: None):
            record.attributes = _Asked(record.attributes, asked)
            if record.changetype == "add":
                builder.add(record)
    assert asked <= ATTRIBUTES
    assert {"objectclass", "objectsid", "member", "ntsecuritydescriptor", "systemflags"} <= asked


def test_the_model_is_the_same_read_in_blocks(forest):
    def line_by_line(data: bytes):
        builder = DirectoryBuilder("f", lambda error: None)
        for record in ldif.read_ldif_by_lines(io.BytesIO(data), "f", lambda error: None):
            if record.changetype == "modify":
                builder.add_members(record.dn, record.attributes.get("member", []), record.line)
            else:
                builder.add(record)
        return builder.build()

    for data in [*fixtures(), forest]:
        assert ldif.load(io.BytesIO(data), "f", lambda error: None) == line_by_line(data)

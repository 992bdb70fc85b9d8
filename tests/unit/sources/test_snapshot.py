"""The snapshot: an exact round trip of the model, and clear errors for what it cannot read."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import replace

import pytest

from sidtool.errors import InputError
from sidtool.sources import read_inputs, snapshot
from tests.support.cli_runner import REPO, run_sidtool

FOREST = [str(REPO / "examples" / "corp-forest.ldif")]
STORE = [str(REPO / "examples" / "corp-forest-pfdavadmin.txt")]


def example():
    return read_inputs(STORE, on_problem=pytest.fail, directories=FOREST)


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_round_trip_is_exact(tmp_path, name):
    directory = example()
    assert directory.permissions and any(f.descriptor for f in directory.public_folders)
    path = tmp_path / name
    snapshot.save(directory, str(path), {"server": "dc1"})
    problems: list[InputError] = []
    with path.open("rb") as stream:
        assert snapshot.load(stream, name, problems.append) == directory
    assert problems == []


def test_report_on_a_snapshot_equals_report_on_its_sources(tmp_path):
    path = tmp_path / "snap.json"
    snapshot.save(example(), str(path))
    from_snapshot = run_sidtool("report", str(path), "--format", "json", "--all")
    from_sources = run_sidtool("report", *STORE, "--directory", *FOREST, "--format", "json", "--all")
    assert json.loads(from_snapshot.stdout)["findings"] == json.loads(from_sources.stdout)["findings"]


def test_newer_version_is_refused_in_one_line(tmp_path):
    path = tmp_path / "future.json"
    path.write_text(json.dumps({"format": "sidtool-snapshot", "version": snapshot.VERSION + 1}))
    result = run_sidtool("report", str(path))
    assert result.returncode == 2
    newer, known = snapshot.VERSION + 1, snapshot.VERSION
    assert result.stderr == (
        f"sidtool: {path}: snapshot version {newer} is newer than this sidtool reads ({known}); upgrade sidtool\n"
    )


def test_a_version_1_snapshot_reads_as_one_without_others_and_references(tmp_path):
    """Version 2 added the lists "others" and "references": a version 1 snapshot (without them) still reads."""
    lines = list(snapshot.document_lines(example()))
    old = "".join(lines).replace(f'"version": {snapshot.VERSION}', '"version": 1')
    cut = old.index(',\n"others":[')  # (the last two lists, as version 1 did not have them)
    path = tmp_path / "v1.json"
    path.write_text(old[:cut] + "}\n")  # (the gaps list, last in version 1, closes the document)
    with path.open("rb") as stream:
        directory = snapshot.load(stream, "v1.json", pytest.fail)
    assert directory == replace(example(), others=frozenset(), references=())


def test_a_bad_record_is_located_and_skipped():
    document = snapshot.to_document(example())
    document["principals"][3]["sid"] = "S-1-5-x"
    del document["principals"][5]["kind"]
    problems: list[InputError] = []
    directory = snapshot.load(io.BytesIO(json.dumps(document).encode()), "snap.json", problems.append)
    assert [str(p) for p in problems] == [
        "snap.json:principals[3]: 'S-1-5-x': sub-authority 1 'x' is not a decimal number",
        "snap.json:principals[5]: KeyError: 'kind'",
    ]
    assert len(directory.principals) == len(document["principals"]) - 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"format": "sidtool-snapshot", "version": 1, "domains": [', "not valid JSON"),
        (gzip.compress(b"{}")[:-6], "not a readable gzip snapshot"),
        (b'{"format": "something-else"}', "not a sidtool snapshot"),
    ],
)
def test_damaged_snapshots(data, message):
    with pytest.raises(InputError, match=message):
        snapshot.load(io.BytesIO(data), "snap.json", pytest.fail)


def test_detected_by_content():
    assert snapshot.sniff(b'{"format":"sidtool-snapshot","version":1}')
    assert snapshot.sniff(gzip.compress(b"{}"))
    assert not snapshot.sniff(b"dn: CN=x\n")


def written(tmp_path, name: str = "snap.json") -> bytes:
    path = tmp_path / name
    snapshot.save(example(), str(path), {"server": "dc1"})
    return path.read_bytes()


def load_bytes(data: bytes, problems: list[InputError] | None = None):
    on_problem = problems.append if problems is not None else pytest.fail
    return snapshot.load(io.BufferedReader(io.BytesIO(data)), "snap.json", on_problem)


def test_written_one_record_per_line_as_one_json_document(tmp_path):
    data = written(tmp_path)
    document = json.loads(data)
    lines = data.decode().splitlines()
    records = sum(len(document[key]) for key in ("domains", "principals", "public_folders", "permissions"))
    assert len(lines) > records  # every record on a line of its own, so it can be read a line at a time
    opened = lines.index('"principals":[')
    assert json.loads(lines[opened + 1].rstrip(","))["dn"] == document["principals"][0]["dn"]
    expected = snapshot.to_document(example(), {"server": "dc1"})
    assert {k: v for k, v in document.items() if k != "created"} == {
        k: v for k, v in expected.items() if k != "created"
    }


def test_another_layout_of_the_same_json_reads_the_same(tmp_path):
    data = written(tmp_path)
    indented = json.dumps(json.loads(data), indent=2).encode()  # re-saved by a tool
    assert load_bytes(indented) == load_bytes(data) == example()


def test_a_damaged_record_line_is_located_and_skipped(tmp_path):
    lines = written(tmp_path).decode().splitlines(keepends=True)
    first = lines.index('"principals":[\n') + 1
    lines[first + 2] = lines[first + 2][:25] + "\n"  # a record cut short inside its line
    problems: list[InputError] = []
    directory = load_bytes("".join(lines).encode(), problems)
    assert [p.location for p in problems] == [f"principals[2] (line {first + 3})"]
    assert len(directory.principals) == len(example().principals) - 1


@pytest.mark.parametrize(
    ("name", "message"), [("snap.json", "the snapshot ends early"), ("snap.json.gz", "not a readable gzip snapshot")]
)
def test_a_truncated_snapshot_is_refused(tmp_path, name, message):
    data = written(tmp_path, name)
    problems: list[InputError] = []
    with pytest.raises(InputError, match=message):
        load_bytes(data[: len(data) * 2 // 3], problems)


# -- wrong JSON types, nesting, and the reader's limits -----------------------------------------------------


WRONG_TYPES = [
    ("principals", 0, "dn", 5, "dn: expected str, got a number"),
    ("principals", 1, "members", "CN=x,DC=corp", "members: expected tuple[str, ...], got a string"),
    ("principals", 2, "members", [1, 2], "members: expected tuple[str, ...], got a list"),
    ("principals", 3, "name", {"a": 1}, "name: expected str | None, got an object"),
    ("principals", 4, "members_complete", "yes", "members_complete: expected bool, got a string"),
    ("domains", 0, "functional_level", True, "functional_level: expected int | None, got a boolean"),
    ("domain_controllers", 0, "operating_system", ["Windows"], "operating_system: expected str | None, got a list"),
    ("exchange_servers", 0, "serial_number", 6.5, "serial_number: expected str | None, got a number"),
    ("public_folders", 0, "descriptor", 12, "descriptor: expected bytes | None, got a number"),
    ("permissions", 0, "entries", {"trustee": "x"}, "entries: expected tuple[PermissionEntry, ...], got an object"),
]


def hostile_document():
    """The example's document with a wrong JSON type in one field of several records, and a few wrong entries."""
    document = snapshot.to_document(example())
    for key, index, field, value, _ in WRONG_TYPES:
        document[key][index][field] = value
    document["permissions"][1]["entries"][0]["rights"] = "0x2"
    document["permissions"][2]["entries"][0] = "Default"
    document["permissions"][3]["entries"][0]["allowed"] = None
    document["gaps"] = ["a domain", {"not": "a string"}]
    return document


EXPECTED_PROBLEMS = {f"{key}[{index}]": message for key, index, _, _, message in WRONG_TYPES} | {
    "permissions[1]": "rights: expected int, got a string",
    "permissions[2]": "an entry is an object, not a string",
    "permissions[3]": "allowed: expected bool, got null",
    "gaps[1]": "an item of gaps is a string, not an object",
}


@pytest.mark.parametrize("layout", ["lines", "whole"])
def test_wrong_json_types_are_located_record_errors_and_the_rest_is_read(tmp_path, layout):
    document = hostile_document()
    if layout == "lines":
        data = "".join(snapshot.document_lines(example())).encode()
        data = _with_document(data, document)
    else:
        data = json.dumps(document).encode()
    problems: list[InputError] = []
    directory = load_bytes(data, problems)
    assert {problem.location.split(" ")[0]: problem.message.removeprefix("TypeError: ") for problem in problems} == (
        EXPECTED_PROBLEMS
    )
    assert len(directory.principals) == len(document["principals"]) - 5
    assert directory.gaps == ("a domain",)


def _with_document(lines_layout: bytes, document: dict) -> bytes:
    """sidtool's line layout with the records of ``document`` (one record a line, as the writer puts them)."""
    lines = lines_layout.decode().splitlines(keepends=True)
    out = [lines[0]]
    for key in ("domains", "domain_controllers", "principals", "exchange_servers", "public_stores", "folder_trees",
                "public_folders", "permissions", "gaps"):  # fmt: skip
        records = document[key]
        out.append(f'"{key}":[\n')
        out.extend(json.dumps(record, ensure_ascii=False) + (",\n" if n < len(records) - 1 else "\n")
                   for n, record in enumerate(records))  # fmt: skip
        out.append("]}\n" if key == "gaps" else "],\n")
    return "".join(out).encode()


def test_wrong_json_types_through_the_cli_exit_3_not_4(tmp_path):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile_document()))
    result = run_sidtool("report", str(path), "--all")
    assert result.returncode == 3, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert f"sidtool: {path}:principals[0]: TypeError: dn: expected str, got a number (skipped)" in result.stderr


@pytest.mark.parametrize("layout", ["lines", "whole"])
def test_json_nested_1100_deep_is_refused_with_its_place(tmp_path, layout):
    deep = "[" * 1100 + "]" * 1100
    if layout == "lines":
        lines = written(tmp_path).decode().splitlines(keepends=True)
        first = lines.index('"principals":[\n') + 1
        lines[first] = '{"dn":' + deep + "},\n"
        data = "".join(lines).encode()
        where = f"line {first + 1}, byte {6 + snapshot.MAX_DEPTH - 1}"  # from 0: '{' is level 1, '[' at byte 6 level 2
    else:
        data = ('{"format":"sidtool-snapshot","version":1,"principals":[{"dn":' + deep + "}]}").encode()
        where = f"byte {data.index(b'[[') + snapshot.MAX_DEPTH - 3}"  # the first '[[' opens level 4
    with pytest.raises(InputError) as caught:
        load_bytes(data)
    assert caught.value.message == f"JSON nested deeper than {snapshot.MAX_DEPTH} levels"
    assert caught.value.location == where
    path = tmp_path / "deep.json"
    path.write_bytes(data)
    result = run_sidtool("report", str(path))
    assert result.returncode == 2 and result.stderr == f"sidtool: {path}:{where}: {caught.value.message}\n"


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    document = snapshot.to_document(example())
    document["principals"][0]["display_name"] = "[{" * 500 + '\\"'
    assert load_bytes(json.dumps(document).encode()).principals[0].display_name == "[{" * 500 + '\\"'


def test_a_line_over_the_limit_is_refused_with_its_number(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_LINE_BYTES", 1000)  # the real limit (16 MiB) is exercised in test_bounded_inputs
    lines = written(tmp_path).decode().splitlines(keepends=True)
    first = lines.index('"principals":[\n') + 1
    lines[first] = '{"dn":"' + "A" * 2000 + '"},\n'
    with pytest.raises(InputError) as caught:
        load_bytes("".join(lines).encode())
    assert caught.value.location == f"line {first + 1}"
    assert caught.value.message == "a line longer than the limit of 1,000 bytes"


def test_a_gzip_that_inflates_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(snapshot, "INFLATION_FLOOR", 1 << 20)
    header = b'{"format":"sidtool-snapshot","version":1,"forest_root_dn":null,\n"gaps":[\n'
    bomb = gzip.compress(header + b'"x",\n' * (4 << 20) + b'"x"\n]}\n', compresslevel=9)
    assert len(bomb) * snapshot.MAX_INFLATION + (1 << 20) < 20 << 20  # it inflates to 20 MiB: past the limit
    with pytest.raises(InputError, match="inflates more than 100 times") as caught:
        load_bytes(bomb)
    assert caught.value.location.startswith("byte ")
    offset = int(caught.value.location.split()[1])
    assert offset <= len(bomb) * snapshot.MAX_INFLATION + (1 << 20) + (1 << 20)  # stopped near the limit


def test_a_header_of_the_wrong_type_is_refused():
    with pytest.raises(InputError, match="forest_root_dn is a string, not a number"):
        load_bytes(b'{"format":"sidtool-snapshot","version":1,"forest_root_dn":5}')


def test_a_gzip_file_that_is_no_snapshot_says_so():
    """A gzipped LDIF is detected as compressed (only snapshots are read so): the message says to decompress it."""
    ldif = gzip.compress((REPO / "examples" / "corp-forest.ldif").read_bytes())
    with pytest.raises(InputError, match=r"a gzip file that is not a sidtool snapshot: .* \(gunzip FILE\)"):
        snapshot.load(io.BytesIO(ldif), "corp.ldif.gz", lambda error: None)


def test_a_reference_or_contact_that_is_no_dn_is_a_located_record_error():
    document = snapshot.to_document(example())
    document["references"] = ["garbage", "DC=emea,DC=corp,DC=example,DC=com"]
    document["others"] = ["cn=ok,dc=corp,dc=example,dc=com", "not a dn"]
    problems: list[InputError] = []
    directory = snapshot.load(io.BytesIO(json.dumps(document).encode()), "snap.json", problems.append)
    assert sorted(problem.location for problem in problems) == ["others[1]", "references[0]"]
    assert directory.references == ("DC=emea,DC=corp,DC=example,DC=com",)

"""The snapshot: an exact round trip of the model, and clear errors for what it cannot read."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from cli_runner import REPO, run_sidtool

from sidtool.errors import InputError
from sidtool.sources import read_inputs, snapshot

FOREST = [str(REPO / "examples" / "corp-forest.ldif")]
STORE = [str(REPO / "examples" / "corp-forest-pfdavadmin.txt")]


def example():
    return read_inputs(STORE, None, pytest.fail, FOREST)


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
    path.write_text(json.dumps({"format": "sidtool-snapshot", "version": 2}))
    result = run_sidtool("report", str(path))
    assert result.returncode == 2
    assert (
        result.stderr == f"sidtool: {path}: snapshot version 2 is newer than this sidtool reads (1); upgrade sidtool\n"
    )


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

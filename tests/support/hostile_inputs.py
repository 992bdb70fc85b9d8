"""Hostile and huge inputs, streamed to a file as they are made (never held whole in memory).

Used by tests/test_bounded_inputs.py: a forest whose shape is extreme (a group of a million
members, nesting ten thousand deep, one DN repeated a hundred thousand times) but whose
meaning is small and known, and lines far longer than any reader accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

ROOT = "DC=corp,DC=example,DC=com"
DOMAIN_SID = "S-1-5-21-1-2-3"
RDP = f"CN=Remote Desktop Users,CN=Builtin,{ROOT}"


def user_dn(number: int) -> str:
    return f"CN=user{number},OU=Staff,{ROOT}"


def group_dn(number: int) -> str:
    return f"CN=level{number},OU=Groups,{ROOT}"


def record(dn: str, object_class: str, sid: str, name: str, members: Iterable[str] = ()) -> Iterator[bytes]:
    """One entry in LDIF; the SID as text, which the readers accept as well as binary."""
    yield f"dn: {dn}\nobjectClass: top\nobjectClass: {object_class}\nobjectSid: {sid}\n".encode()
    yield f"sAMAccountName: {name}\n".encode()
    for member in members:
        yield f"member: {member}\n".encode()
    yield b"\n"


def forest_head() -> Iterator[bytes]:
    """The forest's partitions and its domain (NetBIOS name CORP)."""
    yield (
        f"dn: CN=CORP,CN=Partitions,CN=Configuration,{ROOT}\nobjectClass: crossRef\nnCName: {ROOT}\n"
        f"dnsRoot: corp.example.com\nnETBIOSName: CORP\nsystemFlags: 3\n\n"
        f"dn: {ROOT}\nobjectClass: top\nobjectClass: domainDNS\nobjectSid: {DOMAIN_SID}\n\n"
    ).encode()


def write(path: Path, *parts: Iterator[bytes]) -> Path:
    with path.open("wb") as stream:
        for part in parts:
            _copy(part, stream)
    return path


def _copy(chunks: Iterator[bytes], stream: BinaryIO) -> None:
    buffer: list[bytes] = []
    size = 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size > 1 << 20:
            stream.write(b"".join(buffer))
            buffer, size = [], 0
    stream.write(b"".join(buffer))


def big_group(members: int) -> Iterator[bytes]:
    """CN=Big, a member of Remote Desktop Users, with ``members`` user members; user0 is a user entry (the others
    are names only: members of an at-risk group that were not read, a hole in the report)."""
    yield from record(RDP, "group", "S-1-5-32-555", "Remote Desktop Users", iter([f"CN=Big,OU=Groups,{ROOT}"]))
    yield from record(f"CN=Big,OU=Groups,{ROOT}", "group", f"{DOMAIN_SID}-5000", "Big", map(user_dn, range(members)))
    yield from record(user_dn(0), "user", f"{DOMAIN_SID}-1000", "user0")


def deep_nesting(depth: int) -> Iterator[bytes]:
    """user0 → level{depth-1} → ... → level0 → Remote Desktop Users: ``depth`` groups in a line."""
    yield from record(RDP, "group", "S-1-5-32-555", "Remote Desktop Users", iter([group_dn(0)]))
    for level in range(depth):
        member = group_dn(level + 1) if level + 1 < depth else user_dn(0)
        yield from record(group_dn(level), "group", f"{DOMAIN_SID}-{10000 + level}", f"level{level}", iter([member]))
    yield from record(user_dn(0), "user", f"{DOMAIN_SID}-1000", "user0")


def repeated_member(copies: int) -> Iterator[bytes]:
    """Remote Desktop Users with one member DN written ``copies`` times."""
    yield from record(RDP, "group", "S-1-5-32-555", "Remote Desktop Users", iter([user_dn(0)] * copies))
    yield from record(user_dn(0), "user", f"{DOMAIN_SID}-1000", "user0")


def repeated_entry(copies: int) -> Iterator[bytes]:
    """The same group entry (same DN, same SID, one member each time) written ``copies`` times."""
    yield from record(user_dn(0), "user", f"{DOMAIN_SID}-1000", "user0")
    for _ in range(copies):
        yield from record(RDP, "group", "S-1-5-32-555", "Remote Desktop Users", iter([user_dn(0)]))


def permissions_csv(path: Path, trustee: str) -> Path:
    """A permission export (Get-PublicFolderClientPermission) giving ``trustee`` Author on one folder."""
    path.write_text(f'"Identity","User","AccessRights"\n"\\Projects","{trustee}","Author"\n', encoding="utf-8")
    return path


def long_line(prefix: bytes, size: int, suffix: bytes = b"\n") -> Iterator[bytes]:
    """One line of ``size`` bytes after ``prefix`` (made of 'A'), in 1 MiB chunks."""
    chunk = b"A" * (1 << 20)
    yield prefix
    left = size
    while left > 0:
        yield chunk[: min(left, len(chunk))]
        left -= len(chunk)
    yield suffix

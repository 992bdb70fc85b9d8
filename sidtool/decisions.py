"""Decisions the administrator records: servers that have the Store.exe hotfix, findings reviewed and accepted.

LDAP cannot see a hotfix (a server's serialNumber changes with service packs only), and a finding that was
reviewed would otherwise fail a scheduled ``--fail-on`` job for ever. ``--hotfixed SERVER[=STORE_BUILD]`` and a
decisions file (``--decisions FILE``, TOML, read with Python 3.11's ``tomllib``; on 3.10 the option is refused
with a message) record both::

    [[hotfixed]]
    server = "EX2003A"
    store_build = "6.5.7232.35"     # optional: the Store.exe version installed

    [[accepted]]
    folder = "/Sales Orders"        # as the report names it; \\IPM_SUBTREE\\X, \\X and /X are one folder
    trustee_sid = "S-1-5-21-1004336348-1177238915-682003330-1111"   # by SID: names are never matched
    reason = "reviewed 2026-11-02: only the sales team posts there; SP2 planned"
    expires = 2027-03-31            # optional: after that day the finding counts again

A decision that cannot be used (a missing or unknown key, a SID that is not one) is named with the file and
the line of its table and skipped; the rest is used. The file is at most :data:`MAX_BYTES` long and holds at
most :data:`MAX_DECISIONS` decisions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sidtool.errors import InputError, SidError, UsageError
from sidtool.exchange import store_build_key
from sidtool.risk import Finding
from sidtool.security.sid import Sid
from sidtool.sources.folders import store_path

__all__ = ["MAX_BYTES", "MAX_DECISIONS", "Acceptance", "Decisions", "load", "parse_hotfixed"]

MAX_BYTES = 1 << 20  # a decisions file over 1 MiB is refused: it is written by hand
MAX_DECISIONS = 10_000  # hotfixed servers and accepted findings together
_KEYS = {"hotfixed": {"server", "store_build", "note"}, "accepted": {"folder", "trustee_sid", "reason", "expires"}}


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A finding the administrator reviewed and accepted: one folder, one trustee (by SID), why, until when."""

    folder: str
    trustee_sid: Sid
    reason: str
    expires: date | None = None
    location: str | None = None  # "decisions.toml:12"

    def matches(self, finding: Finding) -> bool:
        return finding.entry.trustee_sid == self.trustee_sid and _folder_key(finding.entry.folder) == _folder_key(
            self.folder
        )


@dataclass(frozen=True, slots=True)
class Decisions:
    """What the administrator recorded: hotfixed servers (name -> Store.exe build or None), accepted findings."""

    hotfixed: tuple[tuple[str, str | None], ...] = ()
    accepted: tuple[Acceptance, ...] = ()  # in force
    expired: tuple[Acceptance, ...] = ()  # past their expiry date: the findings count again

    def acceptance(self, finding: Finding) -> Acceptance | None:
        """The acceptance in force that covers ``finding``, if any."""
        return next((item for item in self.accepted if item.matches(finding)), None)

    def hotfixed_servers(self) -> dict[str, str | None]:
        return dict(self.hotfixed)

    def merged(self, other: Decisions) -> Decisions:
        return Decisions(self.hotfixed + other.hotfixed, self.accepted + other.accepted, self.expired + other.expired)


def parse_hotfixed(text: str) -> tuple[str, str | None]:
    """``SERVER`` or ``SERVER=STORE_BUILD`` (``EX2003A=6.5.7232.35``); ValueError naming what is wrong."""
    server, _, build = text.partition("=")
    if not server.strip():
        raise ValueError(f"{text!r}: give SERVER or SERVER=STORE_BUILD, such as EX2003A=6.5.7232.35")
    if not build.strip():
        return server.strip(), None
    store_build_key(build)
    return server.strip(), build.strip()


def load(path: str, on_problem: Callable[[InputError], None], today: date | None = None) -> Decisions:
    """Read a decisions file; a decision that cannot be used goes to ``on_problem`` and is skipped."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise UsageError("--decisions needs Python 3.11 or newer (tomllib); on 3.10 use --hotfixed SERVER") from None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"a decisions file is at most {MAX_BYTES} bytes", source=path, location=f"byte {MAX_BYTES}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError("not UTF-8", source=path, location=f"byte {error.start}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"not TOML: {error}", source=path) from None
    today = today or date.today()
    headers = _table_lines(text)
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        on_problem(InputError(f"unknown section {unknown[0]!r}; expected [[hotfixed]] or [[accepted]]", source=path))
    hotfixed: list[tuple[str, str | None]] = []
    accepted: list[Acceptance] = []
    expired: list[Acceptance] = []
    count = 0
    for section in ("hotfixed", "accepted"):
        tables = document.get(section, [])
        if not isinstance(tables, list):
            on_problem(InputError(f"{section} must be an array of tables ([[{section}]])", source=path))
            continue
        for number, table in enumerate(tables):
            line = headers[section][number] if number < len(headers[section]) else None
            location = f"line {line}" if line else f"{section}[{number}]"
            count += 1
            if count > MAX_DECISIONS:
                raise InputError(f"more than {MAX_DECISIONS} decisions", source=path, location=location)
            try:
                if section == "hotfixed":
                    hotfixed.append(_hotfixed(table))
                else:
                    acceptance = _accepted(table, f"{path}:{line}" if line else f"{path}:{location}")
                    (accepted if acceptance.expires is None or acceptance.expires >= today else expired).append(
                        acceptance
                    )
            except ValueError as error:
                on_problem(InputError(f"[[{section}]]: {error}", source=path, location=location))
    return Decisions(tuple(hotfixed), tuple(accepted), tuple(expired))


def unknown_servers(decisions: Decisions, names: Iterable[str]) -> list[str]:
    """The hotfixed servers that the directory data does not hold (case-insensitive names)."""
    known = {name.casefold() for name in names}
    return [server for server, _ in decisions.hotfixed if server.casefold() not in known]


def _hotfixed(table: Any) -> tuple[str, str | None]:
    values = _checked(table, "hotfixed", required=("server",))
    build = values.get("store_build")
    if build is not None and not isinstance(build, str):
        raise ValueError('store_build must be a string, such as "6.5.7232.35"')
    return parse_hotfixed(values["server"] + (f"={build}" if build else ""))


def _accepted(table: Any, location: str) -> Acceptance:
    values = _checked(table, "accepted", required=("folder", "trustee_sid", "reason"))
    try:
        sid = Sid.parse(values["trustee_sid"])
    except SidError as error:
        raise ValueError(f"trustee_sid: {error}") from None
    if not values["reason"].strip():
        raise ValueError("reason is empty: say why the finding is accepted")
    expires = values.get("expires")
    if isinstance(expires, datetime):
        expires = expires.date()
    elif isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            raise ValueError(f"expires: {expires!r} is not a date such as 2027-03-31") from None
    elif expires is not None and not isinstance(expires, date):
        raise ValueError("expires must be a date, such as 2027-03-31")
    return Acceptance(values["folder"], sid, values["reason"], expires, location)


def _checked(table: Any, section: str, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ValueError("not a table")
    if "trustee" in table and section == "accepted":
        raise ValueError("name the trustee by SID (trustee_sid): names are never matched")
    unknown = sorted(set(table) - _KEYS[section])
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; expected {', '.join(sorted(_KEYS[section]))}")
    for key in required:
        if not isinstance(table.get(key), str):
            raise ValueError(f"{key} is missing" if key not in table else f"{key} must be a string")
    return table


def _table_lines(text: str) -> dict[str, list[int]]:
    """The line numbers of the ``[[hotfixed]]`` and ``[[accepted]]`` headers, in order."""
    lines: dict[str, list[int]] = {"hotfixed": [], "accepted": []}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"\s*\[\[\s*(hotfixed|accepted)\s*\]\]", line)
        if match:
            lines[match.group(1)].append(number)
    return lines


def _folder_key(folder: str) -> str:
    return store_path(folder).casefold()

"""A search session with one DC: paged searches over one connection, retried, with ranged values completed.

A connection that breaks is reopened with bounded exponential backoff (1, 2, 4 ... s, at most
``retries`` times), and the search it broke is run again, skipping the entries already read. A DC
that is busy or unavailable (result codes 51, 52) is treated the same way. ``member`` values past
the server's MaxValRange are fetched by ranged retrieval ([MS-ADTS] 3.1.1.3.1.3.3), each step
starting where the last ended, within :data:`MAX_RANGE_STEPS` steps and ``max_member_values``
values. What a session meets beside the entries (references, gaps, groups read in part) goes to
the :class:`CollectionRecord` it shares with the other sessions of one collection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sidtool.dn import dn_key
from sidtool.errors import InputError
from sidtool.sources.ldap.connection import (
    RETRIED,
    BoundExceeded,
    CollectError,
    ConnectFailed,
    ConnectionLost,
    ConnectionOptions,
    DirectoryConnection,
    RawEntry,
)
from sidtool.sources.ldap.kerberos_transport import KerberosConnection
from sidtool.sources.ldap.ldap3_transport import Ldap3Connection
from sidtool.sources.ldap.ntlm_transport import NtlmConnection
from sidtool.terminal import printable

MAX_REFERENCES = 100  # a server cannot make sidtool chase more naming contexts than this
MAX_REPEATED_ENTRIES = 1000  # entries one search may send twice (a retried search re-reads without counting)
MAX_RANGE_STEPS = 10_000  # ranged fetches of one attribute: 15 million values at the Windows 2003 MaxValRange, 1500
_RANGE = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)

Progress = Callable[[str], None]


def connect(options: ConnectionOptions) -> DirectoryConnection:
    """Open and bind a connection of the kind ``options`` ask for."""
    if options.auth == "ntlm":
        return NtlmConnection(options)
    if options.auth == "kerberos":
        return KerberosConnection(options)
    return Ldap3Connection(options)


@dataclass(slots=True)
class CollectionRecord:
    """What the sessions of one collection note beside the model: gaps, references met, groups read in part."""

    gaps: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)  # URL of a reference or referral → the search base
    more_references: int = 0  # references past MAX_REFERENCES, only counted
    incomplete: set[str] = field(default_factory=set)  # keys of the groups whose member list was cut short


class SearchSession:
    """Searches on one DC through one connection at a time, opened when first needed."""

    def __init__(
        self,
        options: ConnectionOptions,
        record: CollectionRecord,
        *,
        connector: Callable[[ConnectionOptions], DirectoryConnection] = connect,
        progress: Progress | None = None,
        log: Progress | None = None,
        reached: bool = False,
    ) -> None:
        self.options = options
        self.record = record
        self.connector = connector
        self.progress = progress or (lambda message: None)
        self.log = log or (lambda message: None)
        self.reached = reached  # has this DC answered once? Then a refused connection is retried
        self._connection: DirectoryConnection | None = None

    def sibling(self, options: ConnectionOptions | None = None) -> SearchSession:
        """Another session sharing this one's record and callbacks: a second connection, or another DC."""
        return SearchSession(
            options or self.options,
            self.record,
            connector=self.connector,
            progress=self.progress,
            log=self.log,
            reached=self.reached if options is None else False,
        )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> DirectoryConnection:
        if self._connection is None:
            self.log(
                f"connect {self.options.address} ({self.options.tls}, {self.options.auth} bind as {self.options.user})"
            )
            self._connection = self.connector(self.options)
            self.reached = True
        return self._connection

    def search(
        self,
        base: str,
        query: str,
        attributes: Iterable[str],
        on_entry: Callable[[RawEntry], None],
        *,
        scope: str = "subtree",
        sd_flags: int | None = None,
    ) -> None:
        """A paged search; a broken connection is reopened and the search run again, skipping DNs already read."""
        seen: dict[str, int] = {}  # DN → the attempt that last delivered it
        current = 0
        repeated = 0
        record = self.record

        def refer(url: str) -> None:
            if url in record.references:
                return
            if len(record.references) < MAX_REFERENCES:
                record.references[url] = base
            else:
                record.more_references += 1

        def once(entry: RawEntry) -> None:
            nonlocal repeated
            key = entry.dn.lower()  # one server spells a DN one way: a cheap key is enough here
            before = seen.get(key)
            seen[key] = current
            if before is None:
                on_entry(entry)
            elif before == current:  # the same object twice in one search: a server going round in circles
                repeated += 1
                if repeated > MAX_REPEATED_ENTRIES:
                    raise BoundExceeded(
                        f"search under {base}: the server sent {repeated} entries again within one search; "
                        "the search was stopped there"
                    )

        delay = 1.0
        lost: str | None = None  # why the last attempt broke off; None until a connection was lost
        for attempt in range(self.options.retries + 1):
            current, repeated = attempt, 0
            try:
                connection = self._connect()
            except ConnectFailed as error:
                if lost is None and not self.reached:
                    raise  # the DC never answered: a wrong host is reported at once
                lost = str(error)  # the DC answered before: it may be restarting, so keep backing off
            else:
                try:
                    self.log(f"search base={base!r} scope={scope} filter={query} attributes={','.join(attributes)}")
                    connection.search(base, scope, query, attributes, once, sd_flags=sd_flags, on_reference=refer)
                    return
                except ConnectionLost as error:
                    lost = str(error)
                except CollectError as error:
                    if error.result_code not in RETRIED:
                        raise
                    lost = str(error)
            self.close()
            if attempt == self.options.retries:
                raise CollectError(
                    f"{self.options.address}: connection lost and not regained after "
                    f"{self.options.retries} retries ({lost})"
                )
            self.progress(f"connection lost ({lost}); retrying in {delay:g} s")
            self.log(f"{base}: connection lost ({lost}); retry {attempt + 1} of {self.options.retries} in {delay:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    def one(self, base: str, scope: str, query: str, attributes: Iterable[str]) -> RawEntry | None:
        """The first entry a search finds, or None."""
        found: list[RawEntry] = []
        self.search(base, query, attributes, found.append, scope=scope)
        return found[0] if found else None

    def complete_ranges(self, entry: RawEntry) -> None:
        """Replace ``member;range=a-b`` values by the whole list, fetching the rest range by range.

        Each step must start where the last ended and bring values; at most ``max_member_values`` values
        and :data:`MAX_RANGE_STEPS` steps are read. A list cut short by a bound or an error keeps what was
        read, marks the group ``members_complete=False`` and is recorded as a gap naming it.
        """
        for name in [n for n in entry.attributes if ";range=" in n]:
            values = entry.attributes.pop(name)
            match = _RANGE.match(name)
            attribute = match.group("name").lower() if match else name.split(";", 1)[0].lower()
            try:
                if match is None or match.group("low") != "0":
                    raise BoundExceeded(f"the first values came as {printable(name)}, not as a range from 0")
                self._fetch_rest(entry.dn, attribute, match.group("high"), values)
            except BoundExceeded as error:
                self.record.incomplete.add(dn_key_or_text(entry.dn))
                gap = f"group {printable(entry.dn)}: {attribute} read only in part ({len(values)} values): {error}"
                self.record.gaps.append(gap)
                self.progress(f"not collected: {gap}")
            entry.attributes[attribute] = entry.attributes.get(attribute, []) + values

    def _fetch_rest(self, dn: str, attribute: str, high: str, values: list[bytes]) -> None:
        """Append the values after ``high`` to ``values``, range by range, within the bounds."""
        steps = 0
        while high != "*":
            start = int(high) + 1
            steps += 1
            if steps > MAX_RANGE_STEPS:
                raise BoundExceeded(f"more than {MAX_RANGE_STEPS} ranged fetches")
            size = self.options.range_size
            wanted = f"{attribute};range={start}-{start + size - 1 if size else '*'}"
            found = self.one(dn, "base", "(objectClass=*)", (wanted,))
            names = [n for n in (found.attributes if found else ()) if n.startswith(attribute + ";range=")]
            if found is None or not names:
                raise BoundExceeded(f"the server sent no {wanted} (asked for values from {start})")
            match = _RANGE.match(names[0])
            chunk = found.attributes[names[0]]
            if match is None or int(match.group("low")) != start:
                raise BoundExceeded(f"asked for values from {start}, the server sent {printable(names[0])}")
            high = match.group("high")
            if high != "*" and (int(high) < start or not chunk):
                raise BoundExceeded(f"the range {printable(names[0])} does not advance")
            values.extend(chunk)
            if len(values) > self.options.max_member_values:
                del values[self.options.max_member_values :]
                raise BoundExceeded(f"more than {self.options.max_member_values} values (--max-member-values)")


def dn_key_or_text(dn: str) -> str:
    """``dn_key``, or the lower-cased text for a DN a server sent that does not parse."""
    try:
        return dn_key(dn)
    except InputError:
        return dn.lower()

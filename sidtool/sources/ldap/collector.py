"""The forest walk: one forest read through its DCs into the model, read-only.

The DC given is read first: its rootDSE, the forest's partitions (crossRefs), the Exchange
configuration, and its own domain. Every other domain is then read from a DC of its own (the
``dnsRoot`` of its crossRef, or ``--server DOMAIN=HOST``), not from the global catalog, which holds
the members of universal groups only. Descriptors are read with the SD flags control
(1.2.840.113556.1.4.801) set to owner, group and DACL, which accounts that are not administrators
may read ([MS-ADTS] 3.1.1.3.4.1.11).

A server is not trusted to behave. Credentials go only to the hosts the user named and to the
forest's own domain crossRefs, never to a host a reference names. A domain that cannot be read,
a reference not followed, or a search that broke a bound is a gap in the model (exit 3), and the
rest is still read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from urllib.parse import unquote, urlsplit

from sidtool.dn import dn_key, domain_dns_name
from sidtool.errors import InputError
from sidtool.model import Directory
from sidtool.sources.entries import FLAG_CR_NTDS_DOMAIN, DirectoryBuilder, first_text
from sidtool.sources.ldap.connection import (
    NO_SUCH_OBJECT,
    SD_OWNER_GROUP_DACL,
    BoundExceeded,
    CollectError,
    ConnectionOptions,
    DirectoryConnection,
    RawEntry,
)
from sidtool.sources.ldap.session import CollectionRecord, Progress, SearchSession, connect, dn_key_or_text
from sidtool.terminal import printable

PRINCIPAL_ATTRIBUTES = (
    "objectClass",
    "objectSid",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "groupType",
    "primaryGroupID",
    "legacyExchangeDN",
    "userAccountControl",
    "dNSHostName",
    "operatingSystem",
    "operatingSystemVersion",
)
FOLDER_ATTRIBUTES = (
    "objectClass",
    "cn",
    "displayName",
    "folderPathname",  # Folder-Pathname: the folder's path in the store (Exchange directory schema)
    "homeMDB",
    "legacyExchangeDN",
    "mailNickname",
    "nTSecurityDescriptor",
)
EXCHANGE_ATTRIBUTES = ("objectClass", "cn", "name", "serialNumber", "msExchOwningPFTree", "msExchPFTreeType")
PARTITION_ATTRIBUTES = ("objectClass", "nCName", "dnsRoot", "nETBIOSName", "trustParent", "systemFlags")


class Collector:
    """Reads one forest through one DC (and the DCs of its other domains) into the model."""

    def __init__(
        self,
        options: ConnectionOptions,
        progress: Progress | None = None,
        log: Progress | None = None,
        *,
        domain_servers: dict[str, str] | None = None,
        connector: Callable[[ConnectionOptions], DirectoryConnection] | None = None,
    ) -> None:
        self.options = options
        self.progress = progress or (lambda message: None)
        self.domain_servers = {name.lower(): host for name, host in (domain_servers or {}).items()}
        self.problems: list[InputError] = []
        self.record = CollectionRecord()
        self.source = f"ldap://{options.address}"
        self.builder = DirectoryBuilder(self.source, self.problems.append)
        self.session = SearchSession(
            options, self.record, connector=connector or connect, progress=self.progress, log=log
        )

    def run(self) -> Directory:
        """Collect the forest: configuration, the DC's own domain, then every other domain from a DC of its own."""
        root_attributes = ("defaultNamingContext", "configurationNamingContext", "rootDomainNamingContext")
        partitions: list[RawEntry] = []
        session = self.session
        try:
            root = session.one("", "base", "(objectClass=*)", root_attributes)
            if root is None:
                raise CollectError(f"{self.options.address}: the rootDSE could not be read")
            default_nc = first_text(root.attributes, "defaultnamingcontext") or ""
            config_nc = first_text(root.attributes, "configurationnamingcontext")
            self.builder.forest_root = first_text(root.attributes, "rootdomainnamingcontext")
            self._read(session, self.builder, f"CN=Partitions,{config_nc}", "(objectClass=crossRef)",
                       PARTITION_ATTRIBUTES, "partitions", also=partitions.append)  # fmt: skip
            self._read(
                session,
                self.builder,
                f"CN=Microsoft Exchange,CN=Services,{config_nc}",
                "(|(objectClass=msExchExchangeServer)(objectClass=msExchPublicMDB)(objectClass=msExchPFTree))",
                EXCHANGE_ATTRIBUTES,
                "Exchange configuration",
                missing_ok=True,
            )
            self._read_domain(session, default_nc)
        finally:
            session.close()
        for partition in partitions:
            self._read_other_domain(partition, default_nc)
        self._follow_references(
            {dn_key_or_text(n) for n in (first_text(p.attributes, "ncname") for p in partitions) if n}, config_nc
        )
        directory = self.builder.build()
        if self.record.incomplete:  # a member list cut short by a bound or an error
            principals = tuple(
                replace(p, members_complete=False) if dn_key_or_text(p.dn) in self.record.incomplete else p
                for p in directory.principals
            )
            directory = replace(directory, principals=principals)
        return replace(directory, gaps=tuple(self.record.gaps))

    def _follow_references(self, naming_contexts: set[str], config_nc: str | None) -> None:
        """Deal with the references and referrals the searches met; never bind where a server says.

        Credentials go only where the user sent them: to ``--server``, to the ``dnsRoot`` of the forest's
        own domain crossRefs, or to ``--server DOMAIN=HOST``. A reference to a partition of this forest
        (the configuration, a domain) needs nothing: each is read on its own, or is already a gap. One to
        another naming context is read from ``--server DOMAIN=HOST`` when given; otherwise it is a gap,
        and the host it names is never contacted (it would see our bind, a clear password with a simple
        bind). URLs are shown with control characters escaped.
        """
        record = self.record
        followed: set[str] = set()
        config = dn_key_or_text(config_nc) if config_nc else None
        done = 0
        while done < len(record.references):  # reading one domain may add references (MAX_REFERENCES)
            url, base = list(record.references.items())[done]
            done += 1
            shown = printable(url)
            what = f"referral to {shown} (from the search under {printable(base)})"
            try:
                _, target = _reference_target(url, base)
                key = dn_key(target)
            except InputError as error:
                record.gaps.append(f"{what}: its DN cannot be read ({printable(str(error))})")
                continue
            if any(key == nc or key.endswith("," + nc) for nc in naming_contexts) or (
                config and (key == config or key.endswith("," + config))
            ):
                self.session.log(f"reference {shown} (from {base}): a partition of this forest, read on its own")
                continue
            if key in followed:
                continue
            followed.add(key)
            dns_name = (domain_dns_name(target) or "").lower()
            host = self.domain_servers.get(dns_name)
            if host is None:
                record.gaps.append(
                    f"{what}: not followed: sidtool binds only to --server and the forest's own domains; "
                    f"give --server {printable(dns_name) or 'DOMAIN'}=HOST to read it"
                )
                continue
            self.session.log(f"reference {shown} (from {base}): reading {target} through {host} (--server)")
            self._read_elsewhere(host, target, what)
        if record.more_references:
            record.gaps.append(f"{record.more_references} more references not followed")

    def _read_other_domain(self, partition: RawEntry, default_nc: str) -> None:
        naming_context = first_text(partition.attributes, "ncname")
        try:
            flags = int(first_text(partition.attributes, "systemflags") or 0)
        except ValueError:
            self.record.gaps.append(f"crossRef {printable(partition.dn)}: systemFlags is not a number; not read")
            return
        if (
            not naming_context
            or not flags & FLAG_CR_NTDS_DOMAIN
            or dn_key_or_text(naming_context) == dn_key_or_text(default_nc)
        ):
            return
        dns_name = (first_text(partition.attributes, "dnsroot") or "").lower()
        netbios = (first_text(partition.attributes, "netbiosname") or "").lower()
        host = self.domain_servers.get(dns_name) or self.domain_servers.get(netbios) or dns_name
        if not host:
            self.record.gaps.append(f"domain {printable(naming_context)}: its crossRef has no dnsRoot; not read")
            return
        self._read_elsewhere(
            host, naming_context, f"domain {printable(dns_name or naming_context)} through {printable(host)}"
        )

    def _read_elsewhere(self, host: str, naming_context: str, what: str) -> None:
        """Read ``naming_context`` from ``host`` into this collection; a failure there is a gap, not the end."""
        session = self.session.sibling(self.options.for_domain_server(host))
        try:
            self._read_domain(session, naming_context)
        except CollectError as error:
            gap = f"{what}: {error}"
            self.record.gaps.append(gap)
            self.progress(f"not collected: {gap}")
        finally:
            session.close()

    def _read_domain(self, session: SearchSession, naming_context: str) -> None:
        self._read(session, self.builder, naming_context, "(objectClass=domain)",
                   ("objectClass", "objectSid", "msDS-Behavior-Version"), naming_context, scope="base")  # fmt: skip
        # Three searches over three connections at once: while the DC answers one, sidtool decodes
        # another's pages (the decoding is most of a collection's own time). Each has a builder of its
        # own (a builder is not shared between threads); they are joined once all are done.
        member = f"member;range=0-{self.options.range_size - 1}" if self.options.range_size else "member"
        searches = [
            ("(objectClass=user)", (*PRINCIPAL_ATTRIBUTES, member), "users and computers", None),
            (
                # contacts too: a group may hold one, no principal (the builder keeps its DN: Directory.others)
                "(|(objectClass=group)(objectClass=foreignSecurityPrincipal)(objectClass=contact))",
                (*PRINCIPAL_ATTRIBUTES, member),
                "groups",
                None,
            ),
            ("(objectClass=publicFolder)", FOLDER_ATTRIBUTES, "public folders", SD_OWNER_GROUP_DACL),
        ]
        sessions = [session, *(session.sibling() for _ in searches[1:])]
        builders = [self.builder, *(DirectoryBuilder(self.source, self.problems.append) for _ in searches[1:])]
        failures: list[BaseException] = []

        def run(index: int, query: str, attributes: tuple[str, ...], what: str, sd_flags: int | None) -> None:
            try:
                self._read(sessions[index], builders[index], naming_context, query, attributes,
                           f"{what} of {naming_context}", sd_flags=sd_flags)  # fmt: skip
            except BaseException as error:  # handed to the calling thread below
                failures.append(error)
            finally:
                if index:
                    sessions[index].close()

        workers = [
            threading.Thread(target=run, args=(index, *search), name=f"sidtool-{search[2]}", daemon=True)
            for index, search in enumerate(searches[1:], 1)
        ]
        for worker in workers:
            worker.start()
        try:
            run(0, *searches[0])
        finally:
            for worker in workers:
                worker.join()
        if failures:
            raise failures[0]
        for builder in builders[1:]:
            self.builder.absorb(builder)

    def _read(
        self,
        session: SearchSession,
        builder: DirectoryBuilder,
        base: str,
        query: str,
        attributes: Iterable[str],
        what: str,
        *,
        scope: str = "subtree",
        sd_flags: int | None = None,
        missing_ok: bool = False,
        also: Callable[[RawEntry], None] | None = None,
    ) -> None:
        started = time.monotonic()
        count = 0
        page_size = self.options.page_size

        def take(entry: RawEntry) -> None:
            nonlocal count
            count += 1
            session.complete_ranges(entry)
            entry.line = count
            builder.add(entry)
            if also is not None:
                also(entry)
            if count % page_size == 0:
                session.log(f"{what}: {count} objects so far")
            if count % 1000 == 0:
                self.progress(f"{what}: {count} objects ({count / max(time.monotonic() - started, 1e-6):.0f}/s)")

        try:
            session.search(base, query, attributes, take, scope=scope, sd_flags=sd_flags)
        except BoundExceeded as error:  # what was read stays; the rest of this search is a gap
            self.record.gaps.append(f"{what}: {error}")
            self.progress(f"not collected: {what}: {error}")
            return
        except CollectError as error:
            if missing_ok and error.result_code == NO_SUCH_OBJECT:
                session.log(f"{base}: not present")
                return
            raise
        self.progress(f"{what}: {count} objects in {time.monotonic() - started:.1f} s")


def _reference_target(url: str, base: str) -> tuple[str, str]:
    """The host and the DN an LDAP URL points to (RFC 4516); the search base when it names no DN."""
    try:
        parts = urlsplit(url)
        return parts.hostname or "", unquote(parts.path.lstrip("/")) or base
    except ValueError as error:  # a netloc urllib cannot read ("Invalid IPv6 URL")
        raise InputError(f"not an LDAP URL ({error})") from None

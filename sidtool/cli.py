"""The ``sidtool`` command line: parse options, call one function, map errors to exit codes.

Exit codes (README.md, "Exit codes"): 0 all went well; 1 findings, or a lookup
that found nothing; 2 usage or input error; 3 input partly unreadable;
4 internal error (a bug). No traceback reaches the user unless SIDTOOL_DEBUG is set.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import ClassVar

import wellknown
from sidtool import __version__
from sidtool.baseline import LEGACY_STORE_RELEASE
from sidtool.credentials import (
    AES_KEY_VARIABLE,
    NT_HASH_VARIABLE,
    PASSWORD_VARIABLE,
    has_password,
    read_aes_key,
    read_nt_hash,
    read_password,
)
from sidtool.decisions import parse_hotfixed
from sidtool.descriptor_view import RIGHTS_VOCABULARIES, render_descriptors
from sidtool.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    InputError,
    SidtoolError,
    UsageError,
)
from sidtool.files import joined, reader_gone
from sidtool.html_report import HTML_FORMAT
from sidtool.layout import output_width
from sidtool.lookup import CATALOG_COLUMNS, LOOKUP_COLUMNS, catalog_rows, lookup
from sidtool.output import FORMATS, RAW_CSV, render
from sidtool.report import VIEWS
from sidtool.reporting import ReportRequest, run_report
from sidtool.risk import RiskLevel
from sidtool.security.encoding import INPUT_KINDS, read_descriptor, stdin_values
from sidtool.security.sid import Sid
from sidtool.sources import READERS, snapshot
from sidtool.sources.ldap import MAX_MEMBER_VALUES, Collector, ConnectionOptions, LdapSettings
from sidtool.sources.ldap.kerberos import ticket_cache_name, ticket_cache_present
from sidtool.sources.ldap.trust import find_ca_file
from sidtool.terminal import for_terminal, printable

EXIT_INTERNAL = 4

LOOKUP_EXAMPLES = """\
examples:
  sidtool lookup S-1-5-32-555 S-1-5-32-544
  sidtool lookup "BUILTIN\\Remote Desktop Users" RD
  sidtool lookup S-1-5-21-1004336348-1177238915-682003330-512 --format json
"""
CATALOG_EXAMPLES = """\
examples:
  sidtool catalog --introduced-after 2000 --scope builtin
  sidtool catalog --format csv > sids.csv
"""


# Options other tools take a secret with (ldapsearch -w, NetExec -p/-H, impacket -hashes/-aesKey, habit's
# --password): sidtool has none of them, and refuses them without echoing the value that follows.
SECRET_OPTIONS = frozenset({"--password", "--pass", "--passwd", "--pwd", "--pw", "--secret", "--hashes", "-hashes",
                            "--hash", "-aesKey", "--aesKey", "--aeskey", "-p", "-w", "-H"})  # fmt: skip
SECRET_FLAGS = frozenset({"--nt-hash", "--aes-key"})  # sidtool's own: they take no value; the secret is in a variable
HIDDEN = "(value not shown)"


class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal; a text of several lines (the examples) kept as it is written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip("\n"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """No abbreviated options, in every subcommand: "--password X" must not pass for "--password-file X".

    No error prints a value that follows a password-like option: such options are refused by name before
    parsing, and any error message is cleared of those values (argparse echoes unrecognized arguments).
    """

    _secrets: ClassVar[set[str]] = set()

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        tokens = list(sys.argv[1:] if args is None else args)
        _Parser._secrets |= _secret_values(tokens)
        if refused := _secret_option(tokens):
            super().error(refused)  # names the option, never the value
        return super().parse_known_args(tokens, namespace)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        tokens = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(tokens, namespace)
        if extras:  # argparse would echo them all: a mistyped option's value may be a password (--Password X)
            self.error(f"unrecognized arguments: {' '.join(_shown_extras(tokens, extras))}")
        return parsed

    def error(self, message: str):  # type: ignore[override]
        for secret in sorted(_Parser._secrets, key=len, reverse=True):  # whole words only: "a" stays in "argument"
            message = re.sub(rf"(?<![^\s'\"=,]){re.escape(secret)}(?![^\s'\",])", HIDDEN, message)
        super().error(printable(message))


_OPTION_NAME = re.compile(r"--[A-Za-z0-9-]*")  # what of an unrecognized long option is shown: -PSECRET shows -P


def _shown_extras(tokens: Sequence[str], extras: Sequence[str]) -> list[str]:
    """The unrecognized arguments as an error may show them: an option's name without its ``=value``, and
    :data:`HIDDEN` for a value that follows an unrecognized option or an empty ``--option=``."""
    shown, at, previous = [], 0, ""
    for token in tokens:
        if at < len(extras) and token == extras[at]:
            at += 1
            if token.startswith("-") and token != "-":
                name = _OPTION_NAME.match(token)[0] if token.startswith("--") else token[:2]  # type: ignore[index]
                shown.append(name if name == token or token[len(name)] == "=" else f"{name} {HIDDEN}")
            elif previous.endswith("=") or (previous.startswith("-") and previous in extras and "=" not in previous):
                shown.append(HIDDEN)
            else:
                shown.append(token)  # a stray file name, say: the user's own word, worth seeing
        previous = token
    return shown


def _secret_values(tokens: Sequence[str]) -> set[str]:
    """The values that follow (or are attached to) a password-like option in ``tokens``."""
    found = set()
    for index, token in enumerate(tokens):
        if token == "--":
            break
        name, equals, value = token.partition("=")
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if name in SECRET_OPTIONS or name in SECRET_FLAGS:
            if equals:
                found.add(value)
            elif name in SECRET_OPTIONS or not following.startswith("-"):
                found.add(following)
        elif token[:2] in ("-p", "-w", "-H") and len(token) > 2 and not token.startswith("--"):
            found.add(token[2:])
    return {value for value in found if value}


def _secret_option(tokens: Sequence[str]) -> str | None:
    """Why ``tokens`` are refused (a password-like option, or a value given to a secret flag), or None."""
    for index, token in enumerate(tokens):
        if token == "--":
            return None
        name, equals, _ = token.partition("=")
        short = token[:2] if token[:2] in ("-p", "-w", "-H") and not token.startswith("--") else None
        if name in SECRET_OPTIONS or short:
            return (
                f"{short or name} is not an option: the password comes from --password-file FILE, "
                f"${PASSWORD_VARIABLE} or the prompt, never from the command line {HIDDEN}"
            )
        following = tokens[index + 1] if index + 1 < len(tokens) else "-"
        if name in SECRET_FLAGS and (equals or not following.startswith("-")):
            variable = NT_HASH_VARIABLE if name == "--nt-hash" else AES_KEY_VARIABLE
            return f"{name} takes no value: put the key in ${variable} {HIDDEN}"
    return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="sidtool",
        description="Active Directory SID analysis: which SIDs in ACLs would an older consumer not know?",
    )
    parser.add_argument("--version", action="version", version=f"sidtool {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    lookup_parser = commands.add_parser(
        "lookup",
        help="look up well-known SIDs or names in the catalog",
        description="Look up SIDs or names (any case; BUILTIN\\ and NT AUTHORITY\\ forms and SDDL aliases too). "
        "A domain SID resolves through its RID. Exit 1 when an argument matches nothing.",
        epilog=LOOKUP_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    lookup_parser.add_argument("queries", nargs="+", metavar="SID|NAME")
    _add_format(lookup_parser)
    lookup_parser.set_defaults(handler=_run_lookup)

    catalog_parser = commands.add_parser(
        "catalog",
        help="list the well-known SID catalog",
        description="List the catalog of well-known SIDs, with the release that introduced each and its sources.",
        epilog=CATALOG_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    catalog_parser.add_argument(
        "--introduced-after",
        metavar="RELEASE",
        type=_release,
        help=f"only SIDs introduced after RELEASE ({', '.join(wellknown.RELEASES)})",
    )
    catalog_parser.add_argument("--scope", choices=wellknown.SCOPES, help="only SIDs of this scope")
    _add_format(catalog_parser)
    catalog_parser.set_defaults(handler=_run_catalog)
    _add_sd_commands(commands)
    _add_report_command(commands)
    _add_collect_command(commands)
    return parser


REPORT_EXAMPLES = """\
examples:
  sidtool report examples/corp-forest.ldif
  sidtool report examples/corp-forest.ldif --format json > findings.json
  sidtool report perms.txt --directory forest.ldif
  sidtool report perms.txt --directory forest.ldif --format html -o report.html
  sidtool report forest.ldif --view senders --all
  sidtool report forest.ldif --remediation ldif remove-memberships.ldif
  sidtool report forest.ldif --hotfixed EX2003A=6.5.7232.35 \\
    --decisions decisions.toml
"""


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report",
        help="list the public-folder permission entries at risk of NDR 5.2.1 (KB 870585)",
        description="Read directory data and folder permissions, compute who is in the built-in groups the "
        "pre-SP2 Exchange store does not know, and rate every public-folder permission entry. Exit 0 when no "
        "finding reaches --fail-on, 1 when some do, 2 on a usage or input error, 3 when input was partly unreadable.",
        epilog=REPORT_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="snapshot, LDIF export, PFDAVAdmin export, permission CSV, descriptor list, or ldap[s]://HOST "
        "to read a DC; - reads standard input",
    )
    parser.add_argument(
        "--directory",
        action="append",
        default=[],
        metavar="FILE",
        help="directory data to resolve the trustee names of permission exports against (repeatable)",
    )
    parser.add_argument("--input-format", choices=sorted(READERS), help="skip format detection for INPUT")
    parser.add_argument(
        "--baseline",
        type=_release,
        default=LEGACY_STORE_RELEASE,
        help="flag built-ins introduced after this release (default: 2000, what the pre-SP2 store knows)",
    )
    parser.add_argument(
        "--view", choices=VIEWS, default="entries", help="what to list (default: entries; html holds every view)"
    )
    _add_format(parser, extra=(HTML_FORMAT,))
    _add_connection_options(parser)
    parser.add_argument("--all", action="store_true", help="also list low-risk findings")
    parser.add_argument("--explain", action="store_true", help="end the table with what its columns and levels mean")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--fail-on",
        type=_risk_level,
        default=RiskLevel.MEDIUM,
        metavar="LEVEL",
        help="exit 1 when a finding (not accepted) is at or above LEVEL: low, medium (default) or high",
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when there are findings (input errors still exit 2 or 3)"
    )
    parser.add_argument(
        "--hotfixed",
        action="append",
        default=[],
        type=_hotfixed,
        metavar="SERVER[=STORE_BUILD]",
        help="SERVER has the KB 870585 Store.exe hotfix (LDAP cannot see it): treated as fixed (repeatable)",
    )
    parser.add_argument(
        "--decisions",
        metavar="FILE",
        help="a TOML file of hotfixed servers and accepted findings (README: 'Decisions'; Python 3.11+)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output (- for stdout)"
    )
    parser.add_argument(
        "--remediation",
        nargs=2,
        metavar=("ldif", "FILE"),
        help="also write an LDIF that removes the offending memberships, for review (never applied)",
    )
    parser.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    if args.remediation and args.remediation[0] != "ldif":
        raise UsageError(f"--remediation takes 'ldif FILE', not {args.remediation[0]!r}")
    request = ReportRequest(
        inputs=tuple(args.inputs),
        directories=tuple(args.directory),
        input_format=args.input_format,
        baseline=args.baseline,
        view=args.view,
        fmt=args.format,
        show_all=args.all,
        explain=args.explain,
        fail_on=args.fail_on,
        exit_zero=args.exit_zero,
        output=args.output,
        remediation=args.remediation[1] if args.remediation else None,
        decisions=args.decisions,
        hotfixed=tuple(args.hotfixed),
        quiet=args.quiet,
    )
    return run_report(request, warn=_warn, emit=_emit, ldap=lambda: ldap_settings(args))


def _risk_level(text: str) -> RiskLevel:
    """An argparse type: a risk level, with the allowed values named when it is not one."""
    try:
        return RiskLevel.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _hotfixed(text: str) -> tuple[str, str | None]:
    try:
        return parse_hotfixed(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


COLLECT_EXAMPLES = """\
examples:
  SIDTOOL_PASSWORD=... sidtool collect --server ldaps://dc1.corp.example.com \\
    --user 'CORP\\auditor' -o snap.json
  sidtool collect --server dc1 --starttls --ca-file corp-ca.pem \\
    --user auditor@corp.example.com -o snap.json.gz
  sidtool collect --server dc1 --auth ntlm --user 'CORP\\auditor' \\
    --password-file pw.txt -o snap.json
  kinit auditor@CORP.EXAMPLE.COM &&
    sidtool collect --server dc1.corp.example.com --auth kerberos -o snap.json
  sidtool report snap.json
"""


def _add_collect_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "collect",
        help="read a forest from a domain controller into a snapshot (read-only)",
        description="Read domains, principals, memberships, the Exchange organisation and the public folders' "
        "descriptors from a domain controller over LDAP, and write a snapshot for `sidtool report`. sidtool only "
        "reads: it sends no add, modify or delete. The password comes from --password-file, SIDTOOL_PASSWORD or a "
        "prompt, never from the command line. Exit 0 when all was read, 2 on a connection, bind or usage error, "
        "3 when a part could not be read.",
        epilog=COLLECT_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    _add_connection_options(parser)
    parser.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="the snapshot to write (JSON; gzip when FILE ends in .gz)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each LDAP operation on stderr (no secrets)")
    parser.set_defaults(handler=_run_collect)


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--server",
        metavar="HOST|URL",
        action="append",
        default=[],
        help="the DC: a host name, or ldap://HOST[:PORT] / ldaps://HOST; again as DOMAIN=HOST (or DOMAIN=HOST@ADDRESS) "
        "for the DC of another domain of the forest (default: the domain's DNS name)",
    )
    group.add_argument("--port", type=_port, help="the LDAP port (default: 636 for LDAPS, 389 otherwise)")
    group.add_argument("--starttls", action="store_true", help="upgrade plain LDAP with StartTLS")
    group.add_argument(
        "--user",
        metavar="USER",
        help="DOMAIN\\user, user@dns.domain, dns.domain\\user or DOMAIN/user (Kerberos: the ticket cache's by default)",
    )
    group.add_argument(
        "--auth",
        choices=("simple", "ntlm", "kerberos"),
        default="simple",
        help="simple bind (over TLS); NTLM or Kerberos, signed and sealed on port 389 or over LDAPS with channel "
        "binding (default: simple)",
    )
    group.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    group.add_argument(
        "--nt-hash", action="store_true", help=f"NTLM or Kerberos (RC4) with the NT hash in ${NT_HASH_VARIABLE}"
    )
    group.add_argument("--aes-key", action="store_true", help=f"Kerberos with the AES key in ${AES_KEY_VARIABLE}")
    group.add_argument(
        "--dc-ip",
        metavar="ADDRESS",
        help="connect to ADDRESS, naming the DC by the host of --server (no DNS or hosts entry needed)",
    )
    group.add_argument("--kdc", metavar="ADDRESS", help="Kerberos: the KDC's address (default: the DC's)")
    group.add_argument(
        "--ca-file",
        metavar="PEM",
        help="CA certificate(s) to verify the DC's TLS certificate (default: $LDAPTLS_CACERT, then $SSL_CERT_FILE, "
        "then the system store)",
    )
    group.add_argument("--insecure", action="store_true", help="do not verify the DC's certificate (warns)")
    group.add_argument(
        "--allow-plaintext",
        action="store_true",
        help="allow a simple bind over unencrypted LDAP (the password crosses the network in clear)",
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="the most each operation may take: connect, bind, one page, one range step (default: 30)",
    )
    group.add_argument(
        "--max-member-values",
        type=_count(1, 10**9),
        default=MAX_MEMBER_VALUES,
        metavar="N",
        help=f"read at most N values of a group's member list; past that it is a gap (default: {MAX_MEMBER_VALUES})",
    )
    group.add_argument("--page-size", type=_count(1, 100_000), default=1000, help=argparse.SUPPRESS)
    group.add_argument("--range-size", type=_count(1, 10**9), help=argparse.SUPPRESS)  # tests: force ranged retrieval
    group.add_argument("--retries", type=_count(0, 10), default=3, help=argparse.SUPPRESS)  # tests: a shorter window


def _seconds(text: str) -> float:
    """A finite, positive number of seconds, at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 and at most 86400")
    return value


def _port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1 to 65535)")
    return int(text)


def _count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def whole(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from {low} to {high}")
        return int(text)

    return whole


def ldap_settings(args: argparse.Namespace) -> LdapSettings:
    """The connection options of the command line; the secret from file, environment or prompt.

    Kerberos asks for no secret when a ticket cache is there and none was given (--password-file,
    SIDTOOL_PASSWORD, --nt-hash, --aes-key).
    """
    kerberos = args.auth == "kerberos"
    if not args.user and not kerberos:
        raise UsageError("--user is required")
    if args.aes_key and not kerberos:
        raise UsageError("--aes-key is for --auth kerberos")
    if args.nt_hash and args.auth == "simple":
        raise UsageError("--nt-hash is for --auth ntlm or --auth kerberos; a simple bind needs the password")
    if args.insecure:
        _warn("warning: --insecure: the DC's certificate is not checked; anyone in the path can read the traffic")
    password = nt_hash = aes_key = ""
    if args.nt_hash:
        nt_hash = read_nt_hash()
    elif args.aes_key:
        aes_key = read_aes_key()
    elif not kerberos or args.password_file or has_password():
        password = read_password(args.password_file, args.user)
    elif not ticket_cache_present():
        if not args.user or not sys.stdin.isatty():
            raise UsageError(
                f"no Kerberos ticket (no ticket cache at {ticket_cache_name()}) and no password: run kinit "
                f"{args.user or 'user@YOUR.REALM'} first, or give --user user@dns.domain with the password "
                f"(--password-file FILE, ${PASSWORD_VARIABLE} or the prompt)"
            )
        password = read_password(None, args.user)
    ca = find_ca_file(args.ca_file)
    return LdapSettings(
        user=args.user or "",
        auth=args.auth,
        starttls=args.starttls,
        allow_plaintext=args.allow_plaintext,
        port=args.port,
        ca_file=ca.path if ca else None,
        ca_source=ca.source if ca else "--ca-file",
        dc_ip=args.dc_ip,
        kdc=args.kdc,
        insecure=args.insecure,
        timeout=args.timeout,
        page_size=args.page_size,
        range_size=args.range_size,
        retries=args.retries,
        max_member_values=args.max_member_values,
        domain_servers=tuple(tuple(server.split("=", 1)) for server in args.server if "=" in server),
        password=password,
        nt_hash=nt_hash,
        aes_key=aes_key,
    )


def _run_collect(args: argparse.Namespace) -> int:
    main_servers = [server for server in args.server if "=" not in server]
    if len(main_servers) > 1:
        raise UsageError("give one --server HOST, plus --server DOMAIN=HOST for other domains")
    if not main_servers:
        raise UsageError("--server is required")
    settings = ldap_settings(args)
    options = ConnectionOptions.from_target(main_servers[0], settings)
    show_progress = not args.quiet and sys.stderr.isatty()
    collector = Collector(
        options,
        progress=_warn if show_progress else None,
        log=_warn if args.verbose else None,
        domain_servers=dict(settings.domain_servers),
    )
    directory = collector.run()
    source = {"server": options.address, "tls": options.tls, "auth": options.auth, "user": options.user}
    snapshot.save(directory, args.output, source)
    for problem in collector.problems:
        _warn(f"{problem} (skipped)")
    for gap in directory.gaps:
        _warn(f"not collected: {gap}")
    if not args.quiet:
        _warn(
            f"{len(directory.principals)} principals, {len(directory.public_folders)} public folders, "
            f"{len(directory.exchange_servers)} Exchange servers written to {args.output}"
        )
    return EXIT_PARTIAL if collector.problems or directory.gaps else EXIT_OK


def _add_format(parser: argparse.ArgumentParser, extra: tuple[str, ...] = ()) -> None:
    parser.add_argument("--format", choices=(*FORMATS, *extra), default="table", help="output format (default: table)")
    parser.add_argument(
        "--csv-raw",
        action="store_true",
        help="CSV: write cells as they are (by default a cell starting with = + - @ gets a leading ' "
        "so that a spreadsheet does not run it as a formula)",
    )


def _release(text: str) -> str:
    try:
        return wellknown.RELEASES[wellknown.release_rank(text)]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _run_lookup(args: argparse.Namespace) -> int:
    records = []
    status = EXIT_OK
    for query in args.queries:
        try:
            results = lookup(query)
        except InputError as error:
            _warn(str(error))
            status = EXIT_USAGE
            continue
        for result in results:
            if not result.found:
                what = result.sid or repr(query)
                _warn(f"no well-known SID matches {what}")
                status = max(status, EXIT_FINDINGS)
            records.append(result.as_dict())
    _emit(render(records, LOOKUP_COLUMNS, args.format, width=output_width()))
    return status


def _run_catalog(args: argparse.Namespace) -> int:
    records = catalog_rows(args.introduced_after, args.scope)
    _emit(render(records, CATALOG_COLUMNS, args.format, width=output_width()))
    return EXIT_OK


def _emit(text: str | Iterable[str]) -> None:
    """Write to stdout: one string, or pieces as they are made (a lone surrogate as its escape, never an error).
    On a terminal, what could drive it is shown as escapes in every format (:func:`for_terminal`).

    Pieces for a file or a pipe are joined up to :data:`_EMIT_BATCH` characters a write: with PYTHONUNBUFFERED set
    (as containers and CI often have it), each write is a system call, and a report's JSON is a piece a finding."""
    if sys.stdout is None:  # started with standard output closed
        raise InputError("closed: give -o FILE", source="standard output")
    if getattr(sys.stdout, "errors", None) != "backslashreplace" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")  # strict, or surrogateescape in the C locale
    pieces = [text] if isinstance(text, str) else text
    try:
        terminal = sys.stdout.isatty()  # (a terminal shows each piece as it comes)
    except (AttributeError, ValueError):
        terminal = False
    try:
        for piece in map(for_terminal, pieces) if terminal else joined(pieces, _EMIT_BATCH):
            sys.stdout.write(piece)
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()
    except OSError as error:  # a full disk, a device that refuses
        raise InputError(f"cannot write: {error.strerror or error}", source="standard output") from None


_EMIT_BATCH = 1 << 18  # characters of output joined into one write (a write holds at most this and one piece more)


def _warn(message: str) -> None:
    """One line on stderr, neutralised for the terminal: messages carry DNs, file text and servers' words."""
    if sys.stderr is None:  # started with standard error closed: the exit code still says how it went
        return
    with suppress(OSError, ValueError):  # standard error full, gone or closed: the same
        sys.stderr.write(f"sidtool: {printable(message)}\n")  # one write: threads' lines do not interleave


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "csv_raw", False) and args.format == "csv":
        args.format = RAW_CSV
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SidtoolError as error:
        _warn(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        _warn("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away where no writer expected it: no message; stdout goes to /dev/null so that the
        # interpreter's final flush does not complain. The writers handle it themselves (files.reader_gone) and
        # the run ends with its own exit code; here it is unknown, so not 0.
        reader_gone()
        return EXIT_PARTIAL
    except Exception as error:  # the last line of defence against tracebacks
        if os.environ.get("SIDTOOL_DEBUG"):
            raise
        _warn(f"internal error: {type(error).__name__}: {error} (set SIDTOOL_DEBUG=1 for details; please report it)")
        return EXIT_INTERNAL


SD_DECODE_EXAMPLES = """\
examples:
  sidtool sd decode 'O:DAG:DAD:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)' \\
    --domain-sid S-1-5-21-1-2-3
  sidtool sd decode AQAEgBQAAAAgAAAAAAAAACwAAAABAQAAAAAABRIAAAABAQAAAAAABRIAAAACABwAAQAAAAAAFAD/AQ8AAQEAAAAAAAEAAAAA
  ldapsearch -LLL ... nTSecurityDescriptor | sidtool sd decode -
  sidtool sd decode --lines --format json - < descriptors.txt
"""


def _add_sd_commands(commands: argparse._SubParsersAction) -> None:
    """``sidtool sd decode``: security descriptors from base64, hex or SDDL."""
    sd_parser = commands.add_parser("sd", help="security descriptors", description="Work with security descriptors.")
    sd_commands = sd_parser.add_subparsers(dest="sd_command", metavar="SUBCOMMAND", required=True)
    decode_parser = sd_commands.add_parser(
        "decode",
        help="decode a security descriptor (base64, hex or SDDL)",
        description="Decode a security descriptor given as base64 (as ldapsearch prints nTSecurityDescriptor), "
        "hex (also PR_NT_SECURITY_DESCRIPTOR with its Exchange store header) or SDDL. Prints owner, group, "
        "control flags and the ACEs. Exit 2 when a value cannot be decoded (with --lines: after decoding the rest).",
        epilog=SD_DECODE_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    decode_parser.add_argument("value", metavar="VALUE|-", help="the descriptor, or - to read standard input")
    decode_parser.add_argument("--input", choices=INPUT_KINDS, default="auto", help="input encoding (default: auto)")
    decode_parser.add_argument("--lines", action="store_true", help="standard input holds one value per line")
    decode_parser.add_argument("--domain-sid", metavar="SID", help="domain SID for SDDL aliases such as DA and DU")
    decode_parser.add_argument(
        "--rights", choices=RIGHTS_VOCABULARIES, default="ad", help="name rights as AD or Exchange store rights"
    )
    decode_parser.add_argument(
        "--format", choices=(*FORMATS, "sddl"), default="table", help="output format (default: table)"
    )
    decode_parser.set_defaults(handler=_run_sd_decode)


MAX_STDIN_BYTES = 64 << 20  # what `sd decode -` reads of standard input at most


def _standard_input_text() -> str:
    """Standard input as text, at most :data:`MAX_STDIN_BYTES`; bytes that are not UTF-8 stay as escapes, for the
    decoder to name (descriptors are ASCII: base64, hex or SDDL)."""
    if sys.stdin is None:
        raise InputError("standard input is closed", source="-")
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InputError(f"standard input holds more than {MAX_STDIN_BYTES:,} bytes: give it in parts", source="-")
    return data.decode("utf-8", "backslashreplace").removeprefix("\ufeff")


def _run_sd_decode(args: argparse.Namespace) -> int:
    if args.domain_sid:
        Sid.parse(args.domain_sid)  # a malformed domain SID is a usage error, reported as such
    if args.value == "-":
        values = stdin_values(_standard_input_text(), lines=args.lines)
    elif args.lines:
        raise InputError("--lines reads standard input: give - as the value")
    else:
        values = [(None, args.value)]
    status = EXIT_OK
    decoded = []
    for line, text in values:
        try:
            decoded.append((line, read_descriptor(text, args.input, args.domain_sid)))
        except InputError as error:
            if line is None:
                raise
            _warn(f"line {line}: {error}")
            status = EXIT_USAGE
    text, failures = render_descriptors(decoded, args.format, args.rights, args.domain_sid, many=args.lines,
                                        width=output_width() if args.format == "table" else None)  # fmt: skip
    for line, failure in failures:
        if line is None:
            raise failure
        _warn(f"line {line}: {failure}")
        status = EXIT_USAGE
    _emit(text)
    return status

"""The ``sidtool`` command line: parse options, call one function, map errors to exit codes.

Exit codes (README.md, "Exit codes"): 0 all went well; 1 findings, or a lookup
that found nothing; 2 usage or input error; 3 input partly unreadable;
4 internal error (a bug). No traceback reaches the user unless SIDTOOL_DEBUG is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import wellknown
from sidtool import __version__
from sidtool.baseline import LEGACY_STORE_RELEASE
from sidtool.descriptor_view import (
    INPUT_KINDS,
    RIGHTS_VOCABULARIES,
    read_descriptor,
    render_descriptors,
    stdin_values,
)
from sidtool.errors import EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, InputError, SidtoolError, UsageError
from sidtool.lookup import CATALOG_COLUMNS, LOOKUP_COLUMNS, catalog_rows, lookup
from sidtool.output import FORMATS, render, write_atomic
from sidtool.remediation import removal_ldif
from sidtool.report import VIEWS, render_view, visible
from sidtool.risk import RiskLevel, assess
from sidtool.security.sid import Sid
from sidtool.sources import READERS, read_inputs

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lookup_parser.add_argument("queries", nargs="+", metavar="SID|NAME")
    _add_format(lookup_parser)
    lookup_parser.set_defaults(handler=_run_lookup)

    catalog_parser = commands.add_parser(
        "catalog",
        help="list the well-known SID catalog",
        description="List the catalog of well-known SIDs, with the release that introduced each and its sources.",
        epilog=CATALOG_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    return parser


REPORT_EXAMPLES = """\
examples:
  sidtool report examples/corp-forest.ldif
  sidtool report examples/corp-forest.ldif --format json > findings.json
  sidtool report perms.txt --directory forest.ldif
  sidtool report forest.ldif --view senders --all
  sidtool report forest.ldif --remediation ldif remove-memberships.ldif
"""


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report",
        help="list the public-folder permission entries at risk of NDR 5.2.1 (KB 870585)",
        description="Read directory data and folder permissions, compute who is in the built-in groups the "
        "pre-SP2 Exchange store does not know, and rate every public-folder permission entry. Exit 0 when no "
        "finding reaches --fail-on, 1 when some do, 2 on a usage or input error, 3 when input was partly unreadable.",
        epilog=REPORT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="LDIF export, PFDAVAdmin export, permission CSV or descriptor list; - reads standard input",
    )  # fmt: skip
    parser.add_argument(
        "--directory", action="append", default=[], metavar="FILE",
        help="directory data to resolve the trustee names of permission exports against (repeatable)",
    )  # fmt: skip
    parser.add_argument("--input-format", choices=sorted(READERS), help="skip format detection for INPUT")
    parser.add_argument(
        "--baseline", type=_release, default=LEGACY_STORE_RELEASE,
        help="flag built-ins introduced after this release (default: 2000, what the pre-SP2 store knows)",
    )  # fmt: skip
    parser.add_argument("--view", choices=VIEWS, default="entries", help="what to list (default: entries)")
    _add_format(parser)
    parser.add_argument("--all", action="store_true", help="also list low-risk findings")
    parser.add_argument(
        "--fail-on", type=RiskLevel.parse, default=RiskLevel.MEDIUM, metavar="LEVEL",
        help="exit 1 when a finding is at or above LEVEL: low, medium (default) or high",
    )  # fmt: skip
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output")
    parser.add_argument(
        "--remediation", nargs=2, metavar=("ldif", "FILE"),
        help="also write an LDIF that removes the offending memberships, for review (never applied)",
    )  # fmt: skip
    parser.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    if args.remediation and args.remediation[0] != "ldif":
        raise UsageError(f"--remediation takes 'ldif FILE', not {args.remediation[0]!r}")
    problems = ProblemLog()
    directory = read_inputs(args.inputs, args.input_format, problems, args.directory)
    assessment = assess(directory, args.baseline)
    findings = visible(assessment, args.all)
    text = render_view(assessment, findings, args.view, args.format)
    if args.output:
        write_atomic(args.output, text)
    else:
        _emit(text)
    if args.remediation:
        write_atomic(args.remediation[1], removal_ldif(findings))
    for note in assessment.notes:
        _warn(f"note: {note}")
    if problems.count:
        problems.close()
        return EXIT_PARTIAL
    return EXIT_FINDINGS if any(f.risk >= args.fail_on for f in assessment.findings) else EXIT_OK


class ProblemLog:
    """Reports skipped records on stderr as they are met; after the first 20, only counts them."""

    LIMIT = 20

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, error: InputError) -> None:
        self.count += 1
        if self.count <= self.LIMIT:
            _warn(f"{error} (skipped)")

    def close(self) -> None:
        hidden = f", {self.count - self.LIMIT} not shown" if self.count > self.LIMIT else ""
        _warn(f"{self.count} record(s) could not be read and were skipped{hidden}; the report may be incomplete")


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")


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
    _emit(render(records, LOOKUP_COLUMNS, args.format))
    return status


def _run_catalog(args: argparse.Namespace) -> int:
    records = catalog_rows(args.introduced_after, args.scope)
    _emit(render(records, CATALOG_COLUMNS, args.format))
    return EXIT_OK


def _emit(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _warn(message: str) -> None:
    print(f"sidtool: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
        # The reader went away (sidtool ... | head): not an error worth a message. Point stdout
        # at /dev/null so that the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # the last line of defence against tracebacks
        if os.environ.get("SIDTOOL_DEBUG"):
            raise
        _warn(f"internal error: {type(error).__name__}: {error} (set SIDTOOL_DEBUG=1 for details; please report it)")
        return EXIT_INTERNAL


SD_DECODE_EXAMPLES = """\
examples:
  sidtool sd decode 'O:DAG:DAD:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)' --domain-sid S-1-5-21-1-2-3
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
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


def _run_sd_decode(args: argparse.Namespace) -> int:
    if args.domain_sid:
        Sid.parse(args.domain_sid)  # a malformed domain SID is a usage error, reported as such
    if args.value == "-":
        values = stdin_values(sys.stdin.read(), lines=args.lines)
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
    _emit(render_descriptors(decoded, args.format, args.rights, args.domain_sid, many=args.lines))
    return status

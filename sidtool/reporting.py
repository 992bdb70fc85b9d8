"""The report command as one call: inputs read, assessed, worded, written; its exit code returned.

:func:`run_report` takes a :class:`ReportRequest` (what the command line asked for, as values) and two
outlets the caller owns: ``warn`` for one-line messages (stderr) and ``emit`` for the report itself
when it goes to standard output. Exit codes are those of README.md, "Exit codes": 3 when something
could not be read or checked, 1 when a finding reaches ``fail_on`` (0 with ``exit_zero``), else 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sidtool import __version__
from sidtool.baseline import LEGACY_STORE_RELEASE
from sidtool.decisions import Decisions, unknown_servers
from sidtool.decisions import load as load_decisions
from sidtool.errors import EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, IncompleteInput, InputError, UsageError
from sidtool.files import STDOUT, write_atomic
from sidtool.heap import long_lived_allocations
from sidtool.html_report import HTML_FORMAT, render_html
from sidtool.layout import output_width
from sidtool.output import RAW_CSV
from sidtool.progress import Progress
from sidtool.provenance import RunInfo, describe_input
from sidtool.remediation import removal_ldif
from sidtool.report import build, render_view
from sidtool.risk import RiskLevel, Unchecked, UncheckedKind, assess
from sidtool.sources import is_ldap_url, read_inputs
from sidtool.sources.ldap import LdapSettings

__all__ = ["ProblemLog", "ReportRequest", "run_report"]

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What ``sidtool report`` was asked for."""

    inputs: tuple[str, ...]
    directories: tuple[str, ...] = ()
    input_format: str | None = None
    baseline: str = LEGACY_STORE_RELEASE
    view: str = "entries"
    fmt: str = "table"
    show_all: bool = False
    explain: bool = False
    fail_on: RiskLevel = RiskLevel.MEDIUM
    exit_zero: bool = False
    output: str | None = None  # a path, "-" for standard output, or None for standard output
    remediation: str | None = None  # where the remediation LDIF goes
    decisions: str | None = None  # a decisions file
    hotfixed: tuple[tuple[str, str | None], ...] = ()  # --hotfixed SERVER[=STORE_BUILD]
    quiet: bool = False


def run_report(
    request: ReportRequest,
    *,
    warn: Warn,
    emit: Callable[[Iterable[str]], None],
    ldap: Callable[[], LdapSettings] | None = None,
) -> int:
    """Run the report; ``ldap`` gives the connection settings (asking for the secret) when an input is a DC."""
    started = datetime.now(timezone.utc)
    refuse_overwriting_inputs(request)
    problems = ProblemLog(warn)
    decisions = Decisions(hotfixed=request.hotfixed)
    if request.decisions:
        decisions = decisions.merged(load_decisions(request.decisions, problems))
    expired = [f"{acceptance.location}: the acceptance of {acceptance.folder} expired; the finding counts again"
               for acceptance in decisions.expired]  # fmt: skip
    _warn_first(warn, expired, "{} more acceptances expired")
    settings = ldap() if ldap is not None and any(is_ldap_url(name) for name in request.inputs) else None
    progress = Progress(enabled=False if request.quiet else None)
    with long_lived_allocations():
        directory = read_inputs(request.inputs, on_problem=problems, directories=request.directories,
                                input_format=request.input_format, ldap=settings, progress=progress)  # fmt: skip
        missing = unknown_servers(decisions, (server.name for server in directory.exchange_servers))
        if missing:
            known = ", ".join(server.name for server in directory.exchange_servers) or "none"
            raise UsageError(f"hotfixed server {missing[0]!r} is not in the directory data (servers: {known})")
        progress.phase("analysing: membership and risk")
        assessment = assess(directory, request.baseline, decisions.hotfixed_servers())
    skipped = tuple(problems.unchecked())  # the report itself says what was skipped, not only stderr
    if skipped:
        assessment = replace(assessment, unchecked=assessment.unchecked + skipped)
    report = build(assessment, request.show_all, decisions.acceptance)
    progress.phase("writing")
    to_file = bool(request.output) and request.output != STDOUT
    if request.fmt == HTML_FORMAT:
        pieces = render_html(report, run_info(request, started))
    else:
        pieces = render_view(report, request.view, request.fmt, width=output_width(), explain=request.explain)
    if to_file and request.fmt in ("csv", RAW_CSV):
        pieces = _with_bom(pieces)  # Excel reads a CSV file as UTF-8 only with the byte-order mark
    progress.done()
    if request.output:
        write_atomic(request.output, pieces)
    else:
        emit(pieces)
    left_out: list[InputError] = []  # remediation changes refused: a DN that could point elsewhere
    if request.remediation:
        ldif = removal_ldif(report.shown, left_out.append)
        write_atomic(request.remediation, ldif)
        changes = ldif.count("\ndelete: member\n")
        values = sum(1 for line in ldif.splitlines() if line.startswith("member:"))
        warn(f"wrote {values} member removal(s) from {changes} group(s) to {request.remediation} for review")
        for refusal in left_out[: ProblemLog.LIMIT]:
            warn(f"{refusal} (left out)")
        if left_out:
            hidden = f", {len(left_out) - ProblemLog.LIMIT} not shown" if len(left_out) > ProblemLog.LIMIT else ""
            warn(f"{len(left_out)} member removal(s) were left out of {request.remediation}{hidden}: check those "
                 "memberships in the directory and remove them by hand")  # fmt: skip
    _warn_first(warn, [f"note: {note}" for note in assessment.notes], "{} more notes not shown")
    holes = len(assessment.unchecked) - len(skipped)  # (the skipped records are counted by ProblemLog.close)
    if holes:
        warn(
            f"{holes} item(s) could not be checked (a domain, a group's members, a folder's "
            "permissions); the report lists them under 'Could not check' ('unchecked' in JSON) and is incomplete"
        )
    if problems.count:
        problems.close()
    if problems.count or assessment.unchecked or left_out:
        return EXIT_PARTIAL
    accepted = {id(finding) for finding, _ in report.accepted}
    failing = any(f.risk >= request.fail_on for f in assessment.findings if id(f) not in accepted)
    return EXIT_FINDINGS if failing and not request.exit_zero else EXIT_OK


def _warn_first(warn: Warn, messages: list[str], more: str) -> None:
    """The first :attr:`ProblemLog.LIMIT` messages, then ``more`` with the count of the others, if any."""
    for message in messages[: ProblemLog.LIMIT]:
        warn(message)
    if len(messages) > ProblemLog.LIMIT:
        warn(more.format(len(messages) - ProblemLog.LIMIT))


def run_info(request: ReportRequest, started: datetime) -> RunInfo:
    """What the HTML report says it was made from: each input (hashed when it is a regular file), and when."""
    named = [(name, "input") for name in request.inputs] + [(name, "directory") for name in request.directories]
    if request.decisions:
        named.append((request.decisions, "decisions"))
    inputs = tuple(describe_input(name, role, is_ldap_url(name)) for name, role in named)
    return RunInfo(started, __version__, inputs)


def _with_bom(pieces: Iterable[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from pieces


def refuse_overwriting_inputs(request: ReportRequest) -> None:
    """No output may be one of the inputs (nor two outputs one file): refused before anything is read or written."""
    inputs = [name for name in (*request.inputs, *request.directories, request.decisions or "") if name and name != "-"]
    inputs = [name for name in inputs if not is_ldap_url(name)]
    outputs = [("-o", request.output)] if request.output and request.output != STDOUT else []
    if request.remediation:
        outputs.append(("--remediation", request.remediation))
    for option, output in outputs:
        for name in inputs:
            if _same_file(output, name):
                raise UsageError(f"{option} {output}: that is an input of this report; nothing was written")
    if len(outputs) == 2 and _same_file(outputs[0][1], outputs[1][1]):
        raise UsageError(f"-o and --remediation name the same file {outputs[0][1]}; nothing was written")


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one does not exist (yet): compare where the paths lead
        return os.path.realpath(first) == os.path.realpath(second)


class ProblemLog:
    """Reports skipped records through ``warn`` as they are met; after the first 20, only counts them.

    It keeps the first :attr:`KEPT` skipped records for the report itself (:meth:`unchecked`), so that a report
    written to a file or read by a script says what stderr said: a record that was skipped is a hole."""

    LIMIT = 20
    KEPT = 1000

    def __init__(self, warn: Warn) -> None:
        self.warn = warn
        self.count = 0
        self.incomplete = 0  # of them, inputs read whole that hold only part of something (IncompleteInput)
        self.skipped: list[InputError] = []  # the first KEPT of the others

    def __call__(self, error: InputError) -> None:
        self.count += 1
        partial = isinstance(error, IncompleteInput)
        self.incomplete += partial
        if not partial and len(self.skipped) < self.KEPT:
            self.skipped.append(error)
        if self.count <= self.LIMIT:
            self.warn(f"{error}" if partial else f"{error} (skipped)")

    def unchecked(self) -> list[Unchecked]:
        """The skipped records as the report lists them (the incomplete ones are in the model already); past
        :attr:`KEPT`, one more item counts the rest."""
        items = [
            Unchecked(UncheckedKind.RECORD_SKIPPED, error.source or "input", error.where or None, error=error.message)
            for error in self.skipped
        ]
        more = self.count - self.incomplete - len(self.skipped)
        if more:
            items.append(Unchecked(UncheckedKind.RECORD_SKIPPED, f"{more} more record(s)", error="not listed here"))
        return items

    def close(self) -> None:
        skipped = self.count - self.incomplete  # the incomplete ones are counted in the report's "Could not check"
        if skipped:
            hidden = f", {self.count - self.LIMIT} message(s) not shown" if self.count > self.LIMIT else ""
            self.warn(f"{skipped} record(s) could not be read and were skipped{hidden}; the report may be incomplete")

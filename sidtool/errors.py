"""The one exception family of sidtool, and the exit codes the CLI maps it to.

Every error a user can cause derives from :class:`SidtoolError`. Errors about
input say which input (``source``) and where in it (``location``: a line
number, or a byte offset) the problem is.
"""

from __future__ import annotations

# Exit codes, documented in README.md ("Exit codes").
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

MAX_MESSAGE = 1000  # characters of an input error's message: past that its middle is cut, saying how much


class SidtoolError(Exception):
    """Base of every error sidtool reports to its user."""

    exit_code = EXIT_USAGE


class UsageError(SidtoolError):
    """Options that do not fit together."""


class InputError(SidtoolError, ValueError):
    """Input that cannot be read: names the source and the location in it."""

    def __init__(self, message: str, *, source: str | None = None, location: str | None = None) -> None:
        if len(message) > MAX_MESSAGE:  # it quotes input, and a line of input may hold up to 16 MiB: the middle goes
            cut = len(message) - MAX_MESSAGE
            message = f"{message[: MAX_MESSAGE // 2]} …[{cut:,} characters]… {message[-MAX_MESSAGE // 2 :]}"
        super().__init__(message)
        self.message = message
        self.source = source
        self.location = location

    @property
    def where(self) -> str:
        """``source:location`` (either may be missing), or empty."""
        return ":".join(part for part in (self.source, self.location) if part)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class IncompleteInput(InputError):
    """Input that was read, but holds only part of what it stands for (a member list cut at a range, an export
    cut short by the server): nothing was skipped, yet the report cannot be complete."""


class SidError(InputError):
    """A SID that is malformed, as text or as bytes."""


class DescriptorError(InputError):
    """A security descriptor, ACL or ACE that is malformed, as bytes or as SDDL.

    ``offset`` is where the problem is: a byte offset into the binary input, or
    a character offset into SDDL text (``unit`` says which); the message names
    it too, so the one line the CLI prints is enough to find the fault.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        unit: str = "byte",
        source: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message, source=source, location=location)
        self.offset = offset
        self.unit = unit


__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "DescriptorError",
    "IncompleteInput",
    "InputError",
    "SidError",
    "SidtoolError",
    "UsageError",
]

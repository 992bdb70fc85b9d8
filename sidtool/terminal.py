"""Text bound for a terminal, neutralised: what directory data or a file holds is shown, never obeyed.

A displayName, an ``operatingSystem`` value, a member DN or a server's diagnostic message can hold
escape sequences (ESC ``[``..., which a terminal executes), line breaks that forge extra lines, or
bidirectional controls that reorder what the reader sees (CVE-2021-42574, "Trojan Source"). Every
table cell, header value and stderr message passes through :func:`printable`, which shows each such
character as a visible escape (``\\x1b``, ``\\u202e``). JSON and files for machines keep the exact text.

What is escaped, and why:

- C0 controls U+0000..U+001F, DEL and the C1 controls U+0080..U+009F (ECMA-48: ESC, CSI, OSC, and
  the line ends CR, LF, VT, FF, NEL; U+001C..U+001E are line boundaries for ``str.splitlines``);
- U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (Unicode categories Zl and Zp: they break a
  line, and a table cell with them, as LF does);
- the characters with the Unicode property Bidi_Control (PropList.txt): U+061C, U+200E, U+200F,
  U+202A..U+202E, U+2066..U+2069 — the format controls that reorder displayed text (UAX #9);
- every other format character (Unicode category Cf: soft hyphen, zero width space, word joiner, U+FEFF,
  the invisible tag characters U+E0020.., the Arabic number signs, ...): drawn as nothing, or as a mark whose
  columns the layout cannot know, so a trustee "CORP\\Sa\\u200bles" would otherwise read as "CORP\\Sales". The
  joiners U+200C and U+200D stay: Persian and Indic names need them, and they reorder nothing (the layout
  counts them as no column);
- lone surrogates U+D800..U+DFFF (JSON can spell them; they cannot be encoded as UTF-8 at all).
"""

from __future__ import annotations

import re

__all__ = ["for_terminal", "printable"]

# Every format character (Unicode category Cf, as of Unicode 15: Python 3.12's tables) but the joiners U+200C and
# U+200D; a test holds this list to the running Python's unicodedata.
_FORMAT = (
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_FORMAT}]")


def printable(text: str) -> str:
    """``text`` with every control, line-breaking or reordering character replaced by a visible escape."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


_UNSAFE_IN_OUTPUT = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x08\x0b-\x1f"))  # all but TAB and LF


def for_terminal(text: str) -> str:
    """Output of any format bound for a terminal (JSON, CSV, SDDL): each unsafe character but TAB and LF as
    ``\\uXXXX``, which JSON reads as the same character, and a person sees. Files and pipes get the exact text."""
    return _UNSAFE_IN_OUTPUT.sub(_as_json_escape, text)


def _as_json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON spells a character past the BMP as its UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"

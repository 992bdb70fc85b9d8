"""Distinguished names (RFC 4514) as AD writes them: split, unescape, and compare.

AD compares DNs case-insensitively, and the same DN may arrive escaped in
different ways (``\\,`` or ``\\2C``; ``Müller`` raw or as ``\\C3\\BC``). A DN is
stored as the text we received, and matched through :func:`dn_key`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sidtool.errors import InputError

_SPECIAL = set(',+"\\<>;=#')
_NEEDS_ESCAPE = re.compile(r'[,+"\\<>;=#\x00-\x1f]|^ | $')


def split_rdns(dn: str) -> list[tuple[str, str]]:
    """Split a DN into (attribute type, unescaped value) pairs, leftmost first.

    Multi-valued RDNs (``a=1+b=2``) are kept as one value with its ``+``.
    Raises :class:`InputError` for a DN that cannot be read.
    """
    if "\\" not in dn and '"' not in dn and ";" not in dn:
        fast = _split_plain(dn)
        if fast is not None:
            return fast
    rdns: list[tuple[str, str]] = []
    index, length = 0, len(dn)
    while index < length:
        equals = dn.find("=", index)
        if equals < 0:
            raise InputError(f"DN {dn!r}: RDN at character {index} has no '='")
        attribute = dn[index:equals].strip()
        if not attribute:
            raise InputError(f"DN {dn!r}: empty attribute type at character {index}")
        value, index = _read_value(dn, equals + 1)
        rdns.append((attribute, value))
        if index < length:
            index += 1  # past the ','
            if index == length:
                raise InputError(f"DN {dn!r} ends with a separator")
    return rdns


def _split_plain(dn: str) -> list[tuple[str, str]] | None:
    """The common case, a DN without escapes, split with string methods; None sends it the slow way."""
    rdns = []
    for part in dn.split(","):
        attribute, separator, value = part.partition("=")
        attribute = attribute.strip()
        if not separator or not attribute:
            return None  # let the character-by-character reader name the problem
        rdns.append((attribute, value.strip(" ")))
    return rdns


def _read_value(dn: str, index: int) -> tuple[str, int]:
    """The unescaped value that starts at ``index`` (leading and trailing unescaped spaces dropped), and the index
    of the ',' or ';' after it (or the end)."""
    length = len(dn)
    while index < length and dn[index] == " ":
        index += 1
    end = _VALUE.match(dn, index).end()  # type: ignore[union-attr]  # it matches the empty string
    if end < length and dn[end] == "\\":  # a '\\' escapes the next character: this one is the last
        raise InputError(f"DN {dn!r}: dangling '\\' at the end")
    text = dn[index:end]
    value = text.rstrip(" ")
    if len(value) < len(text) and value.endswith("\\"):
        backslashes = len(value) - len(value.rstrip("\\"))
        if backslashes % 2:  # the first of the trailing spaces is escaped, and kept
            value += " "
    if "\\" not in value:
        value.encode("utf-8")  # text that cannot be UTF-8 (a lone surrogate) fails here as it did
        return value, end
    try:
        return _ESCAPE.sub(_unescaped, value.encode("utf-8")).decode("utf-8"), end
    except UnicodeDecodeError as error:
        raise InputError(f"DN {dn!r}: escaped bytes are not UTF-8 ({error.reason})") from None


_VALUE = re.compile(r"(?:\\.|[^\\,;])*", re.DOTALL)  # up to the first ',' or ';' that is not escaped
_ESCAPE = re.compile(rb"\\(?:([0-9a-fA-F]{2})|(.))", re.DOTALL)  # '\\' and two hex digits, or another character


def _unescaped(match: re.Match[bytes]) -> bytes:
    hex_digits = match[1]
    return bytes.fromhex(hex_digits.decode("ascii")) if hex_digits else match[2]


def escape_value(value: str) -> str:
    """Escape an attribute value for use inside a DN (RFC 4514 section 2.4)."""
    out = []
    for position, char in enumerate(value):
        if char in _SPECIAL or (char == " " and position in (0, len(value) - 1)):
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append(f"\\{ord(char):02X}")
        else:
            out.append(char)
    return "".join(out)


# A DN whose canonical form is its case-folded text: RDNs of a plain attribute type, '=' and a value with
# nothing to unescape, trim or escape (no escapes, quotes, other separators, '#', '=' or controls; no space
# at either end of a value). Anything else takes the full parser.
_PLAIN_RDN = r'[A-Za-z0-9.-]+=(?! )[^\\"+;<>#\x00-\x1f=,]*(?<! )'  # the value neither starts nor ends with ' '
_PLAIN_DN = re.compile(rf"{_PLAIN_RDN}(?:,{_PLAIN_RDN})*")


@lru_cache(maxsize=1 << 18)  # a forest's principals are keyed again by the membership graph: keep ~10^5 of them
def dn_key(dn: str) -> str:
    """A canonical form for comparing DNs: types and values case-folded, one escaping style."""
    if _PLAIN_DN.fullmatch(dn):
        return dn.casefold()  # a plain DN (one '=' per RDN, nothing to unescape or trim) is its own canonical form
    return ",".join(
        f"{attribute.casefold()}={(escape_value(value) if _NEEDS_ESCAPE.search(value) else value).casefold()}"
        for attribute, value in split_rdns(dn)
    )


def is_plain(dn: str) -> bool:
    """Is ``dn`` in the plain shape: its RDNs are its ','-parts, each ``type=value`` with nothing to unescape or
    trim, and its key its case-folded text? (:func:`split_rdns` reads such a DN without error.)"""
    return _PLAIN_DN.fullmatch(dn) is not None


def naming_context(dn: str, rdns: list[tuple[str, str]] | None = None) -> str | None:
    """The domain DN (the trailing run of DC= RDNs, spelt as in ``dn``) of an object, or None.

    ``rdns``: :func:`split_rdns` of ``dn``, when known. Raises :class:`InputError` for a DN that cannot be read.
    """
    if rdns is None and _PLAIN_DN.fullmatch(dn):  # its RDNs are its ','-parts, each without spaces around its type
        parts = dn.split(",")
        index = len(parts)
        while index and parts[index - 1][:3].lower() == "dc=":
            index -= 1
        if index == len(parts):
            return None
        return (",".join(parts[index:]).strip() if index else dn) or None  # strip(): a value may end in U+00A0
    if rdns is None:
        rdns = split_rdns(dn)
    index = len(rdns)
    while index > 0 and rdns[index - 1][0].casefold() == "dc":
        index -= 1
    if index == len(rdns):
        return None
    # Re-slice the original text so that the domain DN keeps its spelling.
    parts = dn.split(",")
    if len(parts) == len(rdns) and "\\" not in dn and '"' not in dn and ";" not in dn:  # RDNs = its ','-parts
        return (",".join(parts[index:]).strip() if index else dn) or None
    return _walked_up(dn, index)


def _walked_up(dn: str, steps: int) -> str | None:
    """The DN ``steps`` RDNs up, found RDN by RDN (escapes and quotes respected)."""
    tail = dn
    for _ in range(steps):
        tail = parent_dn(tail) or ""
    return tail or None


def parent_dn(dn: str) -> str | None:
    """The DN one level up, or None at the top (computed on the text, escapes respected)."""
    if "=" not in dn:
        return None
    _, index = _read_value(dn, dn.index("=") + 1)
    return dn[index + 1 :].strip() or None


def rdn_value(dn: str) -> str:
    """The unescaped value of the leftmost RDN (``Müller, Jürgen`` for ``CN=Müller\\, Jürgen,OU=...``)."""
    rdns = split_rdns(dn)
    if not rdns:
        raise InputError("empty DN")
    return rdns[0][1]


def domain_dns_name(dn: str) -> str | None:
    """``corp.example.com`` for any DN ending in ``DC=corp,DC=example,DC=com``."""
    labels = [value for attribute, value in split_rdns(dn) if attribute.casefold() == "dc"]
    return ".".join(labels).lower() or None

"""Search entries decoded straight from their bytes: message ID, DN and raw values, nothing else.

An LDAPMessage holding a SearchResultEntry ([RFC 4511] 4.2 and 4.5.2) is, in BER ([X.690] 8.1)::

    30 len  LDAPMessage SEQUENCE
      02 len  messageID INTEGER
      64 len  [APPLICATION 4] SEQUENCE
        04 len  objectName OCTET STRING
        30 len  attributes SEQUENCE OF
          30 len  PartialAttribute SEQUENCE
            04 len  type OCTET STRING
            31 len  vals SET OF
              04 len  value OCTET STRING ...
      a0 len  controls [0] OPTIONAL

ldap3's decoder builds a tuple per element and a list per constructed one, and finds each
element's decoder by a dictionary lookup; for a collection that is a fifth of the client's time
(BENCHMARKS.md). :func:`decode_search_entry` walks this one shape and keeps only the values.
It reads definite lengths only ([RFC 4511] 5.1), checks that every element ends inside the one
that holds it, and never reads past the message; the nesting is fixed, so it needs no recursion.
A message of another kind, an entry with controls, or text that is not UTF-8 is left to ldap3
(None); bytes that break the shape raise :class:`MalformedEntry`, naming the byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidtool.sources.ldap.stream import MalformedReply

__all__ = ["MalformedEntry", "SearchEntry", "decode_search_entry"]

_SEQUENCE, _SET, _INTEGER, _OCTET_STRING = 0x30, 0x31, 0x02, 0x04
_SEARCH_RESULT_ENTRY, _CONTROLS = 0x64, 0xA0
_MAX_LENGTH_OCTETS = 4  # a length of up to 4 GiB: more than any message stream.py lets through
_MAX_MESSAGE_ID_OCTETS = 4  # messageID is INTEGER (0 .. 2^31 - 1)


class MalformedEntry(MalformedReply):
    """A search entry whose bytes break the shape of [RFC 4511] 4.5.2; the message names the byte."""


@dataclass(frozen=True, slots=True)
class SearchEntry:
    """One SearchResultEntry: the message it came in, its DN, its values by lower-case attribute name."""

    message_id: int
    dn: str
    attributes: dict[str, list[bytes]]


def _length(data: bytes, index: int, end: int) -> tuple[int, int]:
    """(start, stop) of the content whose length octets begin at ``index``, inside ``data[:end]``."""
    if index >= end:
        raise MalformedEntry(f"byte {index} of a search entry: the element ends before its length")
    first = data[index]
    if first < 0x80:
        start = index + 1
        stop = start + first
    else:
        count = first & 0x7F
        if count == 0:
            raise MalformedEntry(f"byte {index} of a search entry: an indefinite length (definite lengths only)")
        if count > _MAX_LENGTH_OCTETS:
            raise MalformedEntry(f"byte {index} of a search entry: a length of {count} octets")
        start = index + 1 + count
        if start > end:
            raise MalformedEntry(f"byte {index} of a search entry: the length runs past its element")
        stop = start + int.from_bytes(data[index + 1 : start], "big")
    if stop > end:
        raise MalformedEntry(f"byte {index} of a search entry: a length of {stop - start} runs past its element")
    return start, stop


def _expect(data: bytes, index: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """(start, stop) of the content of the element at ``index``, which must be tagged ``tag``."""
    if index >= end or data[index] != tag:
        found = f"0x{data[index]:02x}" if index < end else "nothing"
        raise MalformedEntry(f"byte {index} of a search entry: {found} where {what} (0x{tag:02x}) belongs")
    return _length(data, index + 1, end)


_NAMES: dict[bytes, str] = {}  # attribute types as received -> lower-case text: the same few names in every entry
_MAX_NAMES = 4096


def _name(raw: bytes) -> str:
    """``raw`` (an attribute type) as lower-case text, remembered while fewer than _MAX_NAMES are."""
    name = raw.decode("utf-8").lower()
    if len(_NAMES) < _MAX_NAMES:
        _NAMES[raw] = name
    return name


def decode_search_entry(message: bytes) -> SearchEntry | None:
    """The SearchResultEntry that ``message`` (one whole LDAPMessage) holds, or None for anything else.

    None also for an entry with controls, or whose DN or attribute names are not UTF-8 (ldap3
    decodes those). Raises :class:`MalformedEntry` for an entry that breaks its shape.
    """
    end = len(message)
    start, stop = _expect(message, 0, end, _SEQUENCE, "an LDAPMessage")
    if stop != end:
        raise MalformedEntry(f"byte {stop} of a search entry: {end - stop} bytes after the LDAPMessage")
    id_start, id_stop = _expect(message, start, end, _INTEGER, "the messageID")
    if not 0 < id_stop - id_start <= _MAX_MESSAGE_ID_OCTETS:
        raise MalformedEntry(f"byte {start} of a search entry: a messageID of {id_stop - id_start} bytes")
    if id_stop >= end or message[id_stop] != _SEARCH_RESULT_ENTRY:
        return None  # another operation: ldap3's
    message_id = int.from_bytes(message[id_start:id_stop], "big", signed=True)
    entry_start, entry_stop = _length(message, id_stop + 1, end)
    if entry_stop != end:
        if message[entry_stop] == _CONTROLS:
            return None  # an entry with controls: ldap3's
        raise MalformedEntry(f"byte {entry_stop} of a search entry: 0x{message[entry_stop]:02x} after the entry")
    name_start, name_stop = _expect(message, entry_start, entry_stop, _OCTET_STRING, "the objectName")
    index, attributes_stop = _expect(message, name_stop, entry_stop, _SEQUENCE, "the attributes")
    if attributes_stop != entry_stop:
        raise MalformedEntry(f"byte {attributes_stop} of a search entry: bytes after the attributes")
    attributes: dict[str, list[bytes]] = {}
    try:
        dn = message[name_start:name_stop].decode("utf-8")
        # Short lengths are read inline; long ones go to _expect, and so do faults: an element that runs past
        # its container is handed back to _expect only so that it raises, naming the byte.
        while index < attributes_stop:
            if index + 1 < attributes_stop and message[index] == _SEQUENCE and (size := message[index + 1]) < 0x80:
                index, attribute_stop = index + 2, index + 2 + size
                if attribute_stop > attributes_stop:
                    _expect(message, index - 2, attributes_stop, _SEQUENCE, "a PartialAttribute")
            else:
                index, attribute_stop = _expect(message, index, attributes_stop, _SEQUENCE, "a PartialAttribute")
            if index + 1 < attribute_stop and message[index] == _OCTET_STRING and (size := message[index + 1]) < 0x80:
                type_start, type_stop = index + 2, index + 2 + size
                if type_stop > attribute_stop:
                    _expect(message, index, attribute_stop, _OCTET_STRING, "an attribute type")
            else:
                type_start, type_stop = _expect(message, index, attribute_stop, _OCTET_STRING, "an attribute type")
            index, values_stop = _expect(message, type_stop, attribute_stop, _SET, "the values' SET")
            if values_stop != attribute_stop:
                raise MalformedEntry(f"byte {values_stop} of a search entry: bytes after an attribute's values")
            values = []
            while index < values_stop:
                if index + 1 < values_stop and message[index] == _OCTET_STRING and (size := message[index + 1]) < 0x80:
                    value_start = index + 2
                    index = value_start + size
                    if index > values_stop:
                        _expect(message, value_start - 2, values_stop, _OCTET_STRING, "a value")
                else:
                    value_start, index = _expect(message, index, values_stop, _OCTET_STRING, "a value")
                values.append(message[value_start:index])
            name = message[type_start:type_stop]
            attributes[_NAMES.get(name) or _name(name)] = values
    except UnicodeDecodeError:
        return None  # ldap3 tries its other server encodings
    return SearchEntry(message_id, dn, attributes)

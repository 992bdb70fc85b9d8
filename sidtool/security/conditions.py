"""Conditional expressions of callback ACEs, as bytes and as SDDL text, both ways.

The binary form is [MS-DTYP] 2.4.4.17: the application data of a callback ACE
(XA, XD, ZA, XU) starts with the signature ``artx`` and holds the expression
in postfix order, one token after another, then zero bytes up to a multiple
of four. Tokens (2.4.4.17.4 to 2.4.4.17.9):

* integers 0x01-0x04 (Int8 to Int64): a signed 64-bit little-endian value,
  a sign byte (1 ``+``, 2 ``-``, 3 none) and a base byte (1 octal, 2 decimal,
  3 hex), which only say how the number was written;
* 0x10 a UTF-16LE string, 0x18 an octet string, 0x50 a composite (a list of
  literals), 0x51 a SID: each a 32-bit byte length, then the bytes;
* attributes 0xF8 local, 0xF9 ``@User.``, 0xFA ``@Resource.``, 0xFB
  ``@Device.``: a 32-bit byte length, then the UTF-16LE name;
* operators 0x80-0x93 (relational, membership, existence) and 0xA0-0xA2
  (``&&``, ``||``, ``!``), which pop one or two operands.

The text form is [MS-DTYP] 2.5.1.1 (``cond-expr``) and 2.5.1.2. Canonical
text, which is what Windows prints (as described by Samba's implementation,
``libcli/security/sddl_conditional_ace.c``, written against Windows' output):

* every relational and membership expression is in parentheses, and so is
  every operand of ``&&``, ``||`` and ``!`` that is not already: ``((@USER.Title
  == "PM") && (Member_of {SID(BA)}))``; ``!`` is written without a space;
  the whole expression is in parentheses;
* attribute classes print upper case (``@USER.``, ``@DEVICE.``,
  ``@RESOURCE.``) and are read in any case; a character of a name that is
  white space, outside printable ASCII or one of ``!"&()<=>|%`` prints as
  ``%`` and four hex digits (a UTF-16 code unit), and reading such an escape
  of a character that must stand for itself is an error;
* ``Member_of_Any`` prints as Windows prints it, ``Member_of_any``; operator
  names are read in any case;
* integers keep their written base and sign (``0x1f``, ``017``, ``+5``,
  ``-0x10``); without a sign, octal and hex print the 64-bit pattern
  unsigned, and text may therefore give up to 2^64-1 in those bases (our
  choice, so that every binary integer has a text that reads back to it).
  Zero in octal or hex prints ``00`` and ``0x0``, where Windows prints ``0``
  for every base: ours reads back to the same bytes, Windows' does not. A
  negative value without a sign byte (Windows never writes one) prints with
  its minus and reads back with the minus sign byte;
* strings print in double quotes with no escapes (SDDL has none: a string
  holding ``"`` has no text form); octet strings print as ``#`` and hex
  digits, upper case (our choice: [MS-DTYP] does not fix the case), and read
  ``#`` inside the digits as ``0`` as Windows does; composites print
  ``{a, b}``; SIDs print ``SID(alias)`` where an alias exists.

Round trips: text -> bytes -> text gives the canonical text; bytes -> text
-> bytes gives the same bytes whenever the bytes are in the form Windows'
compiler writes (integers as Int64, zero padding to a multiple of four).
Other integer sizes, and longer padding, read to the same text and compile to
that form.

Bounds: an expression nests at most :data:`MAX_DEPTH` levels (operators and
parentheses), both ways; deeper input is an error, never a RecursionError.
The size of an expression is bounded by the 64 KiB an ACE can hold.
Errors raise DescriptorError with the character offset in the SDDL text or
the byte offset in the ACE's application data.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from sidtool.errors import DescriptorError, SidError
from sidtool.security.sid import Sid

__all__ = [
    "MAX_DEPTH",
    "SIGNATURE",
    "Attribute",
    "Literal",
    "Operation",
    "compile_condition",
    "decode_condition",
    "encode_condition",
    "format_condition",
    "parse_condition",
]

SIGNATURE = b"artx"  # [MS-DTYP] 2.4.4.17: the first four bytes of a conditional ACE's application data
MAX_DEPTH = 100

INT8, INT16, INT32, INT64 = 0x01, 0x02, 0x03, 0x04
STRING, OCTETS, COMPOSITE, SID = 0x10, 0x18, 0x50, 0x51
LOCAL, USER, RESOURCE, DEVICE = 0xF8, 0xF9, 0xFA, 0xFB
SIGN_PLUS, SIGN_MINUS, SIGN_NONE = 1, 2, 3
BASE_OCTAL, BASE_DECIMAL, BASE_HEX = 1, 2, 3

_INTEGER_RANGES = {INT8: 8, INT16: 16, INT32: 32, INT64: 64}
_CLASS_PREFIXES = {USER: "@USER.", RESOURCE: "@RESOURCE.", DEVICE: "@DEVICE."}
_CLASS_BY_NAME = {"user": USER, "resource": RESOURCE, "device": DEVICE}

# Operators of [MS-DTYP] 2.4.4.17.6-2.4.4.17.8: byte code -> (SDDL name, number of operands).
_RELATIONAL = {0x80: "==", 0x81: "!=", 0x82: "<", 0x83: "<=", 0x84: ">", 0x85: ">="}
_WORD_BINARY = {0x86: "Contains", 0x88: "Any_of", 0x8E: "Not_Contains", 0x8F: "Not_Any_of"}
_MEMBERSHIP = {
    0x89: "Member_of",
    0x8A: "Device_Member_of",
    0x8B: "Member_of_any",  # [MS-DTYP] writes Member_of_Any; Windows prints it so
    0x8C: "Device_Member_of_Any",
    0x90: "Not_Member_of",
    0x91: "Not_Device_Member_of",
    0x92: "Not_Member_of_Any",
    0x93: "Not_Device_Member_of_Any",
}
_EXISTENCE = {0x87: "Exists", 0x8D: "Not_Exists"}
AND, OR, NOT = 0xA0, 0xA1, 0xA2
_LOGICAL = {AND: "&&", OR: "||", NOT: "!"}
_BINARY = {**_RELATIONAL, **_WORD_BINARY, AND: "&&", OR: "||"}
_UNARY = {**_MEMBERSHIP, **_EXISTENCE, NOT: "!"}
OPERATOR_NAMES = {**_BINARY, **_UNARY}
_UNARY_WORDS = {name.lower(): code for code, name in {**_MEMBERSHIP, **_EXISTENCE}.items()}
_BINARY_WORDS = {name.lower(): code for code, name in _WORD_BINARY.items()}

_UINT32 = struct.Struct("<I")
_INTEGER_BODY = struct.Struct("<qBB")
_WHITE = " \t\n\v\f\r"
_ATTR_CHAR1 = re.compile(r"[A-Za-z0-9:./_]")
_LOCAL_NAME = re.compile(r"[A-Za-z0-9:./_][A-Za-z0-9:./_@]*")
_INTEGER = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_NAME_STOP = set('!&()><=| "') | set(_WHITE)
_MUST_ESCAPE = set('!"&()<=>|%')
_MUST_BE_LITERAL = set("#$'*+-;?@[\\]^_`{}~:/.")


# -- the expression tree ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal: ``kind`` is its token code; integers keep their sign and base, composites a tuple."""

    kind: int
    value: int | str | bytes | Sid | tuple[Literal, ...]
    sign: int = SIGN_NONE
    base: int = BASE_DECIMAL


@dataclass(frozen=True, slots=True)
class Attribute:
    """A local (0xF8), user (0xF9), resource (0xFA) or device (0xFB) attribute."""

    kind: int
    name: str


@dataclass(frozen=True, slots=True)
class Operation:
    """An operator and its operands (one or two)."""

    code: int
    operands: tuple[Node, ...]


Node = Literal | Attribute | Operation


def _text_error(message: str, offset: int) -> DescriptorError:
    return DescriptorError(f"{message} (at character {offset})", offset=offset, unit="character")


def _byte_error(message: str, offset: int) -> DescriptorError:
    return DescriptorError(f"{message} (at byte offset {offset} of the condition)", offset=offset)


def _check(code: int, operands: tuple[Node, ...]) -> str | None:
    """What is wrong with this operation, or None; the same rules for text and bytes."""
    if code in _RELATIONAL or code in _WORD_BINARY:
        if not isinstance(operands[0], Attribute):
            return f"the left side of {OPERATOR_NAMES[code]} must be an attribute"
        if isinstance(operands[1], Operation):
            return f"the right side of {OPERATOR_NAMES[code]} must be an attribute or a value"
        if code in _RELATIONAL and code not in (0x80, 0x81) and _is_composite(operands[1]):
            return f"{OPERATOR_NAMES[code]} compares single values, not a list"
    elif code in _MEMBERSHIP:
        operand = operands[0]
        items = operand.value if isinstance(operand, Literal) and operand.kind == COMPOSITE else (operand,)
        sids = all(isinstance(item, Literal) and item.kind == SID for item in items)  # type: ignore[union-attr]
        if not isinstance(operand, Literal) or not sids:
            return f"{OPERATOR_NAMES[code]} takes a SID or a list of SIDs"
    elif code in _EXISTENCE and not isinstance(operands[0], Attribute):
        return f"{OPERATOR_NAMES[code]} takes an attribute"
    return None


def _is_composite(node: Node) -> bool:
    return isinstance(node, Literal) and node.kind == COMPOSITE


# -- bytes -> tree -----------------------------------------------------------------------------


def decode_condition(data: bytes) -> Node | None:
    """The expression in a conditional ACE's application data (``artx`` first); None when it is empty."""
    data = bytes(data)
    if data[:4] != SIGNATURE:
        raise _byte_error("not a conditional expression: the application data does not start with 'artx'", 0)
    stack: list[tuple[Node, int]] = []  # each node with its depth
    position = 4
    while position < len(data):
        code = data[position]
        if code == 0:
            if any(data[position:]):
                rest = next(index for index in range(position, len(data)) if data[index])
                raise _byte_error(f"byte 0x{data[rest]:02X} after the padding that ends the expression", rest)
            break
        if code in OPERATOR_NAMES:
            arity = 2 if code in _BINARY else 1
            if len(stack) < arity:
                name = OPERATOR_NAMES[code]
                raise _byte_error(f"operator {name!r} has {len(stack)} of its {arity} operands", position)
            popped = stack[-arity:]
            del stack[-arity:]
            operands = tuple(node for node, _ in popped)
            problem = _check(code, operands)
            if problem:
                raise _byte_error(f"{problem}: SDDL cannot write this expression", position)
            depth = 1 + max(depth for _, depth in popped)
            if depth > MAX_DEPTH:
                raise _byte_error(f"the expression nests deeper than {MAX_DEPTH} levels", position)
            stack.append((Operation(code, operands), depth))
            position += 1
            continue
        node, position = _read_operand(data, position, nested=False)
        stack.append((node, 1))
    if not stack:
        return None
    if len(stack) != 1:
        raise _byte_error(f"the expression leaves {len(stack)} values where one is expected", position)
    return stack[0][0]


def _read_length(data: bytes, position: int, what: str) -> tuple[int, int]:
    if position + 5 > len(data):
        raise _byte_error(f"{what} token truncated: its length is missing", position)
    (length,) = _UINT32.unpack_from(data, position + 1)
    end = position + 5 + length
    if end > len(data):
        raise _byte_error(f"{what} of {length} bytes runs past the end of the condition", position)
    return position + 5, end


def _utf16(data: bytes, start: int, end: int, what: str) -> str:
    if (end - start) % 2:
        raise _byte_error(f"{what} has an odd number of bytes ({end - start}): not UTF-16", start)
    return data[start:end].decode("utf-16-le", errors="surrogatepass")


def _read_operand(data: bytes, position: int, *, nested: bool) -> tuple[Node, int]:
    code = data[position]
    if code in _INTEGER_RANGES:
        if position + 11 > len(data):
            raise _byte_error("integer token truncated: needs 11 bytes", position)
        value, sign, base = _INTEGER_BODY.unpack_from(data, position + 1)
        if sign not in (SIGN_PLUS, SIGN_MINUS, SIGN_NONE):
            raise _byte_error(f"integer sign byte {sign} is not 1, 2 or 3", position + 9)
        if base not in (BASE_OCTAL, BASE_DECIMAL, BASE_HEX):
            raise _byte_error(f"integer base byte {base} is not 1, 2 or 3", position + 10)
        bits = _INTEGER_RANGES[code]
        if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise _byte_error(f"{value} does not fit the {bits}-bit integer token that holds it", position)
        if (sign == SIGN_PLUS and value < 0) or (sign == SIGN_MINUS and value > 0):
            raise _byte_error(f"integer {value} contradicts its sign byte", position + 9)
        return Literal(code, value, sign, base), position + 11
    if code == STRING:
        start, end = _read_length(data, position, "string")
        return Literal(STRING, _utf16(data, start, end, "string")), end
    if code == OCTETS:
        start, end = _read_length(data, position, "octet string")
        return Literal(OCTETS, data[start:end]), end
    if code == SID:
        start, end = _read_length(data, position, "SID")
        try:
            sid = Sid.from_bytes(data[start:end])
        except SidError as error:
            raise _byte_error(f"SID literal: {error.message}", start) from None
        return Literal(SID, sid), end
    if code == COMPOSITE:
        if nested:
            raise _byte_error("a composite inside a composite has no SDDL form", position)
        start, end = _read_length(data, position, "composite")
        items = []
        inner = start
        while inner < end:
            item, inner = _read_operand(data[:end], inner, nested=True)
            if not isinstance(item, Literal):
                raise _byte_error("a composite holds literals only", inner)
            items.append(item)
        return Literal(COMPOSITE, tuple(items)), end
    if code in (LOCAL, USER, RESOURCE, DEVICE) and not nested:
        start, end = _read_length(data, position, "attribute name")
        name = _utf16(data, start, end, "attribute name")
        if not name:
            raise _byte_error("empty attribute name", position)
        return Attribute(code, name), end
    raise _byte_error(f"unknown token 0x{code:02X}", position)


# -- tree -> bytes -----------------------------------------------------------------------------


def encode_condition(node: Node | None) -> bytes:
    """The application data for ``node``: ``artx``, the postfix tokens, zero padding to a multiple of 4."""
    parts = [SIGNATURE]
    if node is not None:
        _encode(node, parts)
    body = b"".join(parts)
    return body + bytes(-len(body) % 4)


def _encode(node: Node, parts: list[bytes]) -> None:
    pending: list[Node | int] = [node]  # iterative post-order; ints are operator codes to emit
    while pending:
        item = pending.pop()
        if isinstance(item, int):
            parts.append(bytes((item,)))
        elif isinstance(item, Operation):
            pending.append(item.code)
            pending.extend(reversed(item.operands))
        else:
            parts.append(_operand_bytes(item))


def _sized(code: int, payload: bytes) -> bytes:
    return bytes((code,)) + _UINT32.pack(len(payload)) + payload


def _operand_bytes(node: Literal | Attribute) -> bytes:
    if isinstance(node, Attribute):
        return _sized(node.kind, node.name.encode("utf-16-le", errors="surrogatepass"))
    if node.kind in _INTEGER_RANGES:
        return bytes((node.kind,)) + _INTEGER_BODY.pack(node.value, node.sign, node.base)
    if node.kind == STRING:
        return _sized(STRING, str(node.value).encode("utf-16-le", errors="surrogatepass"))
    if node.kind == OCTETS:
        return _sized(OCTETS, bytes(node.value))  # type: ignore[arg-type]
    if node.kind == SID:
        return _sized(SID, bytes(node.value))  # type: ignore[arg-type]
    return _sized(COMPOSITE, b"".join(_operand_bytes(item) for item in node.value))  # type: ignore[union-attr,arg-type]


# -- tree -> text ------------------------------------------------------------------------------


def format_condition(node: Node | None, sid_text: Callable[[Sid], str] = str) -> str:
    """The canonical SDDL text of ``node`` (see the module docstring); ``sid_text`` writes SIDs (aliases)."""
    if node is None:
        return "()"
    return _format(node, sid_text, parenthesised=True)


def _wants_parentheses(node: Node) -> bool:
    return isinstance(node, Operation) and (node.code in _BINARY or node.code in _MEMBERSHIP)


def _format(node: Node, sid_text: Callable[[Sid], str], *, parenthesised: bool) -> str:
    if isinstance(node, Operation):
        logical = node.code in _LOGICAL
        texts = [
            _format(operand, sid_text, parenthesised=_wants_parentheses(operand) or logical)
            for operand in node.operands
        ]
        name = OPERATOR_NAMES[node.code]
        if len(texts) == 2:
            text = f"{texts[0]} {name} {texts[1]}"
        elif node.code == NOT:
            text = f"!{texts[0]}"
        else:
            text = f"{name} {texts[0]}"
    elif isinstance(node, Attribute):
        text = _CLASS_PREFIXES.get(node.kind, "") + _escape_name(node.name, local=node.kind == LOCAL)
    else:
        text = format_literal(node, sid_text)
    return f"({text})" if parenthesised or _wants_parentheses(node) else text


def format_literal(node: Literal, sid_text: Callable[[Sid], str] = str, *, sid_wrapper: bool = True) -> str:
    """One literal as SDDL writes it (SIDs as ``SID(...)`` unless ``sid_wrapper`` is false)."""
    if node.kind in _INTEGER_RANGES:
        return format_integer(int(node.value), node.sign, node.base)  # type: ignore[arg-type]
    if node.kind == STRING:
        if '"' in str(node.value):
            raise DescriptorError(f"string {node.value!r} holds a double quote, which SDDL cannot write")
        return f'"{node.value!s}"'
    if node.kind == OCTETS:
        return "#" + bytes(node.value).hex().upper()  # type: ignore[arg-type]
    if node.kind == SID:
        text = sid_text(node.value)  # type: ignore[arg-type]
        return f"SID({text})" if sid_wrapper else text
    return "{" + ", ".join(format_literal(item, sid_text) for item in node.value) + "}"  # type: ignore[union-attr,arg-type]


def format_integer(value: int, sign: int = SIGN_NONE, base: int = BASE_DECIMAL) -> str:
    """An integer literal in its written base and sign, as Windows prints it."""
    if sign == SIGN_NONE:
        if base == BASE_DECIMAL:
            return str(value)
        pattern = value & 0xFFFF_FFFF_FFFF_FFFF
        return f"0{pattern:o}" if base == BASE_OCTAL else f"0x{pattern:x}"
    mark = "-" if sign == SIGN_MINUS else "+"
    magnitude = abs(value)
    if base == BASE_DECIMAL:
        return f"{mark}{magnitude}"
    return f"{mark}0{magnitude:o}" if base == BASE_OCTAL else f"{mark}0x{magnitude:x}"


def _escape_name(name: str, *, local: bool) -> str:
    if local:
        if not _LOCAL_NAME.fullmatch(name):
            raise DescriptorError(f"local attribute name {name!r} has characters SDDL cannot write")
        return name
    units = name.encode("utf-16-le", errors="surrogatepass")
    out = []
    for index in range(0, len(units), 2):
        unit = units[index] | units[index + 1] << 8
        if unit <= 0x20 or unit > 0x7E or chr(unit) in _MUST_ESCAPE:
            if unit == 0:
                raise DescriptorError(f"attribute name {name!r} holds a NUL character, which SDDL cannot write")
            out.append(f"%{unit:04x}")
        else:
            out.append(chr(unit))
    return "".join(out)


# -- text -> tree ------------------------------------------------------------------------------


def parse_condition(
    text: str, start: int = 0, resolve_sid: Callable[[str, int], Sid] | None = None
) -> tuple[Node | None, int]:
    """Parse the parenthesised condition at ``start`` of ``text``; return it and the offset after its ')'.

    ``resolve_sid(token, offset)`` turns a SID alias or string into a Sid (the SDDL parser passes its own).
    """
    parser = _ConditionParser(text, start, resolve_sid or _plain_sid)
    return parser.condition()


def compile_condition(text: str, resolve_sid: Callable[[str, int], Sid] | None = None) -> bytes:
    """The application data for the condition ``text`` (with its outer parentheses)."""
    node, end = parse_condition(text, 0, resolve_sid)
    if text[end:].strip(_WHITE):
        raise _text_error(f"unexpected {text[end : end + 10]!r} after the condition", end)
    return encode_condition(node)


def _plain_sid(token: str, offset: int) -> Sid:
    try:
        return Sid.parse(token)
    except SidError as error:
        raise _text_error(f"bad SID {token!r}: {error.message}", offset) from None


class _ConditionParser:
    def __init__(self, text: str, start: int, resolve_sid: Callable[[str, int], Sid]) -> None:
        self.text = text
        self.position = start
        self.resolve_sid = resolve_sid
        self.depth = 0

    # helpers
    def _skip(self) -> None:
        text = self.text
        while self.position < len(text) and text[self.position] in _WHITE:
            self.position += 1

    def _peek(self, count: int = 1) -> str:
        return self.text[self.position : self.position + count]

    def _expect(self, char: str, what: str) -> None:
        self._skip()
        if self._peek() != char:
            found = self._peek() or "the end"
            raise _text_error(f"expected {char!r} {what}, found {found!r}", self.position)
        self.position += 1

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _text_error(f"the condition nests deeper than {MAX_DEPTH} levels", self.position)

    # grammar
    def condition(self) -> tuple[Node | None, int]:
        self._expect("(", "to open the condition")
        self._skip()
        if self._peek() == ")":
            self.position += 1
            return None, self.position
        self.depth = 1
        node = self._or()
        self._expect(")", "to close the condition")
        return node, self.position

    def _or(self) -> Node:
        node = self._and()
        while True:
            self._skip()
            if self._peek(2) != "||":
                return node
            self.position += 2
            node = Operation(OR, (node, self._and()))

    def _and(self) -> Node:
        node = self._unary()
        while True:
            self._skip()
            if self._peek(2) != "&&":
                return node
            self.position += 2
            node = Operation(AND, (node, self._unary()))

    def _unary(self) -> Node:
        self._skip()
        if self._peek() == "!" and self._peek(2) != "!=":
            self.position += 1
            self._enter()
            operand = self._unary()
            self.depth -= 1
            return Operation(NOT, (operand,))
        if self._peek() == "(":
            self.position += 1
            self._enter()
            node = self._or()
            self.depth -= 1
            self._expect(")", "to close a parenthesis")
            return node
        return self._term()

    def _term(self) -> Node:
        self._skip()
        start = self.position
        word = self._word()
        if word is not None and word.lower() in _UNARY_WORDS:
            code = _UNARY_WORDS[word.lower()]
            self.position += len(word)
            if not self._peek() or self._peek() not in _WHITE:
                raise _text_error(f"{word} must be followed by white space and its operand", self.position)
            self._skip()
            operand = self._operand()
            return self._operation(code, (operand,), start)
        left = self._operand()
        self._skip()
        operator_at = self.position
        operator = self._binary_operator()
        if operator is None:
            return left
        self._skip()
        right = self._operand()
        return self._operation(operator, (left, right), operator_at)

    def _operation(self, code: int, operands: tuple[Node, ...], offset: int) -> Operation:
        problem = _check(code, operands)
        if problem:
            raise _text_error(problem, offset)
        return Operation(code, operands)

    def _word(self) -> str | None:
        match = _LOCAL_NAME.match(self.text, self.position)
        return match.group() if match else None

    def _binary_operator(self) -> int | None:
        for code, name in sorted(_RELATIONAL.items(), key=lambda item: -len(item[1])):
            if self._peek(len(name)) == name:
                self.position += len(name)
                return code
        word = self._word()
        if word is not None and word.lower() in _BINARY_WORDS:
            self.position += len(word)
            return _BINARY_WORDS[word.lower()]
        return None

    def _operand(self) -> Node:
        self._skip()
        char = self._peek()
        if char == "@":
            return self._attribute()
        if char in ('"', "#", "{") or self._peek(4).upper() == "SID(":
            return self._literal(in_composite=False)
        integer = self._integer()
        if integer is not None:
            return integer
        word = self._word()
        if word is None:
            found = char or "the end"
            raise _text_error(f"expected an attribute or a value, found {found!r}", self.position)
        self.position += len(word)
        return Attribute(LOCAL, word)

    def _attribute(self) -> Attribute:
        start = self.position
        dot = self.text.find(".", start)
        kind = _CLASS_BY_NAME.get(self.text[start + 1 : dot].lower()) if dot > start else None
        if kind is None:
            raise _text_error("unknown attribute class: expected @User., @Device. or @Resource.", start)
        self.position = dot + 1
        name = self._escaped_name(lambda char: char in _NAME_STOP)
        if not name:
            raise _text_error("empty attribute name", self.position)
        return Attribute(kind, name)

    def _escaped_name(self, stop: Callable[[str], bool]) -> str:
        text = self.text
        units: list[int] = []
        while self.position < len(text) and not stop(text[self.position]):
            char = text[self.position]
            if char == "%":
                digits = text[self.position + 1 : self.position + 5]
                if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                    raise _text_error("'%' must be followed by four hex digits", self.position)
                unit = int(digits, 16)
                if unit < 0x7F and (chr(unit).isalnum() or chr(unit) in _MUST_BE_LITERAL):
                    message = f"'%{digits}' escapes {chr(unit)!r}, which must be written as itself"
                    raise _text_error(message, self.position)
                units.append(unit)
                self.position += 5
                continue
            units.extend(struct.unpack(f"<{len(char.encode('utf-16-le')) // 2}H", char.encode("utf-16-le")))
            self.position += 1
        return struct.pack(f"<{len(units)}H", *units).decode("utf-16-le", errors="surrogatepass")

    def _integer(self) -> Literal | None:
        match = _INTEGER.match(self.text, self.position)
        if match is None:
            return None
        after = self.text[match.end() : match.end() + 1]
        if after and _ATTR_CHAR1.match(after):
            if match.group(1):
                raise _text_error(f"{self.text[self.position : match.end() + 1]!r} is not a number", self.position)
            return None  # a local attribute whose name starts with digits
        sign_text, digits = match.groups()
        if digits[:2] in ("0x", "0X"):
            base, magnitude = BASE_HEX, int(digits[2:], 16)
        elif len(digits) > 1 and digits[0] == "0":
            base, magnitude = BASE_OCTAL, int(digits[1:], 8)
        elif len(digits.lstrip("0")) > 20:  # over 64 bits whatever it is; int() refuses over 4,300 digits
            too_long = f"integer {digits[:12]}… of {len(digits):,} digits does not fit in 64 bits"
            raise _text_error(too_long, self.position)
        else:
            base, magnitude = BASE_DECIMAL, int(digits)
        sign = {"+": SIGN_PLUS, "-": SIGN_MINUS}.get(sign_text, SIGN_NONE)
        value = -magnitude if sign == SIGN_MINUS else magnitude
        if sign == SIGN_NONE and base != BASE_DECIMAL and magnitude < 1 << 64:
            value = value - (1 << 64) if value >= 1 << 63 else value  # the unsigned pattern (docstring)
        if not -(1 << 63) <= value < 1 << 63:
            raise _text_error(f"integer {match.group()} does not fit in 64 bits", self.position)
        self.position = match.end()
        return Literal(INT64, value, sign, base)

    def _literal(self, *, in_composite: bool) -> Literal:
        self._skip()
        start = self.position
        char = self._peek()
        if char == '"':
            end = self.text.find('"', start + 1)
            if end < 0:
                raise _text_error("unterminated string: missing '\"'", start)
            self.position = end + 1
            return Literal(STRING, self.text[start + 1 : end])
        if char == "#":
            match = re.compile(r"#[0-9A-Fa-f#]*").match(self.text, start)
            digits = match.group()[1:].replace("#", "0")  # type: ignore[union-attr]
            if len(digits) % 2:
                raise _text_error("octet string has an odd number of hex digits", start)
            self.position = match.end()  # type: ignore[union-attr]
            return Literal(OCTETS, bytes.fromhex(digits))
        if char == "{":
            if in_composite:
                raise _text_error("a list inside a list is not allowed", start)
            self.position += 1
            items: list[Literal] = []
            self._skip()
            if self._peek() == "}":
                self.position += 1
                return Literal(COMPOSITE, ())
            while True:
                items.append(self._literal(in_composite=True))
                self._skip()
                if self._peek() == "}":
                    self.position += 1
                    return Literal(COMPOSITE, tuple(items))
                self._expect(",", "between the values of a list")
        if self._peek(4).upper() == "SID(":
            self.position += 4
            self._skip()
            sid_start = self.position
            end = self.text.find(")", sid_start)
            if end < 0:
                raise _text_error("unterminated SID(: missing ')'", start)
            token = self.text[sid_start:end]
            if token != token.rstrip(_WHITE) or not token:
                raise _text_error("SID(...) must hold a SID or an alias and nothing else", sid_start)
            self.position = end + 1
            return Literal(SID, self.resolve_sid(token, sid_start))
        integer = self._integer()
        if integer is not None:
            return integer
        found = char or "the end"
        raise _text_error(f"expected a value (number, string, #octets, SID(...) or {{list}}), found {found!r}", start)

"""Line reading with a bound: text_lines at the edges of its limit, in UTF-8 and UTF-16."""

from __future__ import annotations

import io

from sidtool.sources.text import OverlongLine, text_lines


def lines(data: bytes, limit: int = 10) -> list:
    return list(text_lines(io.BytesIO(data), limit))


def test_a_line_of_exactly_the_limit_is_kept_with_any_line_end():
    assert lines(b"abcdefghij\nabcdefghij\r\nabcdefghij") == ["abcdefghij"] * 3


def test_one_byte_over_the_limit_is_an_overlong_line_and_the_next_line_is_read():
    assert lines(b"abcdefghijk\r\nnext\n") == [OverlongLine(11), "next"]


def test_an_overlong_line_is_measured_to_its_end_across_pieces():
    size = 200_000  # more than one skipping piece (64 KiB)
    assert lines(b"x" * size + b"\r\nlast") == [OverlongLine(size), "last"]
    assert lines(b"x" * size) == [OverlongLine(size)]


def test_utf16_input_is_bounded_in_characters():
    data = "ok\r\n" + "é" * 30 + "\r\nafter\r\n"
    assert lines(data.encode("utf-16")) == ["ok", OverlongLine(30), "after"]


def test_the_error_names_the_source_and_the_line():
    error = OverlongLine(123_456_789).error("dump.ldif", 7)
    assert str(error) == "dump.ldif:line 7: line of 123,456,789 bytes is longer than the limit of 16,777,216"

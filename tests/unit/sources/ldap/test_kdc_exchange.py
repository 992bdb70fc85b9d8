"""A KDC is a server too: its replies are read within the deadline and refused past their size bound."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from sidtool.sources.ldap.kerberos import MAX_KDC_REPLY_BYTES, KdcUnreachable, kdc_exchange
from sidtool.sources.ldap.stream import ReplyTimedOut


def serve_once(reply: bytes | None) -> tuple[int, threading.Event]:
    """A one-shot server on 127.0.0.1 that reads the request and sends ``reply`` (None: nothing, held open)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def run() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.recv(65536)
            if reply is not None:
                connection.sendall(reply)
            done.wait(10)

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], done


def test_a_length_prefix_past_the_bound_is_refused_without_reading_it():
    port, done = serve_once(struct.pack("!I", MAX_KDC_REPLY_BYTES + 1) + b"x" * 100)
    try:
        with pytest.raises(KdcUnreachable, match="over"):
            kdc_exchange(b"request", "127.0.0.1", port, timeout=5)
    finally:
        done.set()


def test_a_silent_kdc_is_given_up_at_the_deadline():
    port, done = serve_once(None)
    try:
        with pytest.raises(ReplyTimedOut, match=r"0\.5 s"):
            kdc_exchange(b"request", "127.0.0.1", port, timeout=0.5)
    finally:
        done.set()


def test_a_kdc_that_closes_mid_reply_is_named():
    port, done = serve_once(struct.pack("!I", 100) + b"x" * 10)
    done.set()
    with pytest.raises(KdcUnreachable, match="closed"):
        kdc_exchange(b"request", "127.0.0.1", port, timeout=5)


def test_a_whole_reply_that_is_no_krb_error_is_returned():
    port, done = serve_once(struct.pack("!I", 5) + b"hello")
    try:
        assert kdc_exchange(b"request", "127.0.0.1", port, timeout=5) == b"hello"
    finally:
        done.set()


def test_a_refused_connection_names_the_kdc():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(KdcUnreachable, match=f"127.0.0.1:{port}"):
        kdc_exchange(b"request", "127.0.0.1", port, timeout=5)

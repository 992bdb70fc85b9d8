"""The ldap3 transport: simple binds over LDAPS or StartTLS, the certificate checked.

The certificate is checked against the system store or ``--ca-file`` (``--insecure`` opts out).
Pages are requested one at a time, so that the paging cookie can be checked
(:class:`~sidtool.sources.ldap.connection.PageGuard`); replies are read through
:mod:`sidtool.sources.ldap.stream` (linear, size-capped, each request within ``--timeout``).
"""

from __future__ import annotations

import contextlib
import math
import ssl
import threading

from sidtool.sources.ldap.account import AccountName
from sidtool.sources.ldap.connection import (
    _MALFORMED,
    PAGED_RESULTS,
    REFERRAL,
    BoundExceeded,
    CollectError,
    ConnectFailed,
    ConnectionLost,
    ConnectionOptions,
    PageGuard,
    RawEntry,
    _bind_error,
    _connect_error,
    _reason,
    _search_error,
    result_code,
)
from sidtool.sources.ldap.search_entry import decode_search_entry
from sidtool.sources.ldap.stream import (
    MAX_MESSAGES_OVER_PAGE,
    Deadline,
    MalformedReply,
    ReplyTimedOut,
    receive,
    take_messages,
)


class Ldap3Connection:
    """Simple bind with ldap3; certificate verification on unless ``insecure``.

    Pages are requested here, one at a time, so that the paging cookie can be checked
    (:class:`PageGuard`); replies are read by :func:`_bounded_receiving`.
    """

    def __init__(self, options: ConnectionOptions) -> None:
        import ldap3
        from ldap3.core import exceptions

        self._ldap3 = ldap3
        self._errors = exceptions
        self._page_size = options.page_size
        self._address = options.address
        # One request at a time: a search made from a callback (a ranged fetch of a group's members)
        # waits for the page being read ahead (see search). ldap3 holds a lock of its own around a
        # search; this one keeps the guarantee in sidtool's hands (the reply buffer is shared).
        self._in_use = threading.Lock()
        tls = ldap3.Tls(
            validate=ssl.CERT_NONE if options.insecure else ssl.CERT_REQUIRED,
            ca_certs_file=options.ca_file,
            valid_names=[options.host] if options.connect_to else None,  # --dc-ip: the certificate names the host
        )
        server = ldap3.Server(
            options.network_host,
            port=options.port,
            use_ssl=options.tls == "ldaps",
            tls=tls,
            connect_timeout=max(1, math.ceil(options.timeout)),
            get_info=ldap3.NONE,
        )
        self._connection = ldap3.Connection(
            server,
            user=AccountName.parse(options.user).for_simple_bind(),
            password=options.password,
            authentication=ldap3.SIMPLE,
            receive_timeout=max(1, math.ceil(options.timeout)),
            auto_range=False,
            auto_referrals=False,  # a referral is reported to the collector, never chased with our credentials
            return_empty_attributes=False,
            read_only=True,
            raise_exceptions=False,
            check_names=False,  # no per-value formatting (BENCHMARKS.md) for what ldap3 still decodes
        )
        _decode_entries_directly(self._connection.strategy)
        _bounded_receiving(self._connection, options.timeout, options.page_size)
        try:
            self._connection.open()
            if options.tls == "starttls" and not self._connection.start_tls():
                raise CollectError(f"{options.address}: StartTLS refused: {self._description()}")
            if not self._connection.bind():
                result = self._connection.result
                raise _bind_error(
                    options, result_code(result.get("result")), result.get("description", ""), result.get("message", "")
                )
        except exceptions.LDAPException as error:
            raise _connect_error(options, error) from None
        except ReplyTimedOut as error:
            raise ConnectFailed(f"{options.address}: {error}") from None
        except _MALFORMED as error:
            raise CollectError(f"{options.address}: malformed reply to the bind: {_reason(error)}") from None

    def _description(self) -> str:
        return str(self._connection.result.get("description") or self._connection.result)

    def search(self, base, scope, query, attributes, on_entry, *, sd_flags=None, on_reference=None) -> None:
        """Page through a search; while one page's entries go to ``on_entry``, the next page is read.

        The next page is asked for as soon as a page's result (and its cookie) has come, and read by
        :class:`_PageAhead` on a thread of its own while this one hands out the page before; at most
        two pages are held. The DC works on a page while sidtool decodes and models the one before,
        instead of waiting for it (BENCHMARKS.md). A search that a callback makes on this connection
        (the ranged fetch of a group's members) waits until that page has come. Everything else is as
        one page at a time: entries first, then the page's result, a referral, an error or a bound broken.
        """
        from ldap3.protocol.microsoft import security_descriptor_control

        controls = security_descriptor_control(criticality=True, sdflags=sd_flags) if sd_flags is not None else None
        scopes = {"base": self._ldap3.BASE, "subtree": self._ldap3.SUBTREE}
        request = (base, scopes[scope], query, list(attributes), controls)
        guard = PageGuard(base)
        response, result = self._page(*request, None)
        while True:
            code = result.get("result")
            ahead: _PageAhead | None = None
            broken: BoundExceeded | None = None
            if code in (0, None) and (cookie := _cookie(result)):
                try:
                    guard.next_page(cookie, sum(item.get("type") == "searchResEntry" for item in response))
                    ahead = _PageAhead(self._page, (*request, cookie))
                except BoundExceeded as error:  # raised once this page's entries are handed out
                    broken = error
            try:
                _hand_out(response, on_entry, on_reference)
            finally:
                if ahead is not None:
                    ahead.wait()  # the connection is idle again before anything else uses or closes it
            if code == REFERRAL and on_reference is not None:
                for url in result.get("referrals") or ():
                    on_reference(str(url))
                return
            if code not in (0, None):
                description = str(result.get("description", ""))
                raise _search_error(base, result_code(code), description, str(result.get("message", "")))
            if broken is not None:
                raise broken
            if ahead is None:
                return
            response, result = ahead.result()

    def _page(self, base, scope, query, attributes, controls, cookie) -> tuple[list[dict], dict]:
        """One page of a search: its entries and references, and its result (one request at a time)."""
        with self._in_use:
            return self._page_now(base, scope, query, attributes, controls, cookie)

    def _page_now(self, base, scope, query, attributes, controls, cookie) -> tuple[list[dict], dict]:
        try:
            self._connection.search(
                base,
                query,
                search_scope=scope,
                attributes=attributes,
                controls=controls,
                paged_size=self._page_size,
                paged_cookie=cookie,
            )
        except self._errors.LDAPOperationResult as error:
            raise _search_error(base, result_code(error.result), str(error.description), str(error.message)) from None
        except ReplyTimedOut as error:
            raise ConnectionLost(str(error)) from None
        except self._errors.LDAPSocketReceiveError as error:
            if "messageId" in str(error) or "unsolicited" in str(error):  # the server broke the protocol
                raise CollectError(f"{self._address}: malformed reply to the search under {base}: {error}") from None
            raise ConnectionLost(str(error)) from None
        except (
            OSError,
            self._errors.LDAPSocketSendError,
            self._errors.LDAPSessionTerminatedByServerError,
            self._errors.LDAPSocketOpenError,
            self._errors.LDAPResponseTimeoutError,
        ) as error:
            raise ConnectionLost(str(error) or type(error).__name__) from None
        except _MALFORMED as error:
            raise CollectError(
                f"{self._address}: malformed reply to the search under {base}: {_reason(error)}"
            ) from None
        result = self._connection.result
        if not isinstance(result, dict):
            raise CollectError(f"{self._address}: no result for the search under {base}")
        return list(self._connection.response or ()), result

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection may fail in any way
            self._connection.unbind()


def _hand_out(response: list[dict], on_entry, on_reference) -> None:
    """Give the entries and references of one page to the search's callbacks, in the order they came."""
    for item in response:
        kind = item.get("type")
        if kind == "searchResEntry":
            raw = item["raw_attributes"]
            if not item.get(_OWN_DECODER):
                raw = {name.lower(): list(values or ()) for name, values in raw.items()}
            on_entry(RawEntry(item["dn"], raw))
        elif kind == "searchResRef" and on_reference is not None:
            for url in item.get("uri") or ():
                on_reference(str(url))


class _PageAhead:
    """One page read on a thread of its own: ``read(*arguments)``; its outcome is taken by :meth:`result`.

    The read ends within the connection's ``--timeout`` (each request has a deadline for its reply),
    so :meth:`wait` is bounded.
    """

    def __init__(self, read, arguments: tuple) -> None:
        self._read, self._arguments = read, arguments
        self._outcome: tuple[list[dict], dict] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"{threading.current_thread().name}-next-page")
        self._thread.daemon = True
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = self._read(*self._arguments)
        except BaseException as error:  # handed to the searching thread by result()
            self._error = error

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> tuple[list[dict], dict]:
        self.wait()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome


def _cookie(result: dict) -> bytes | None:
    """The paging cookie of a page's result ([RFC 2696]: empty on the last page)."""
    control = (result.get("controls") or {}).get(PAGED_RESULTS) or {}
    cookie = (control.get("value") or {}).get("cookie") if isinstance(control, dict) else None
    return bytes(cookie) if isinstance(cookie, bytes | bytearray) and cookie else None


def _bounded_receiving(connection, timeout: float, page_size: int) -> None:
    """Make ``connection`` (ldap3, synchronous) read replies through :mod:`sidtool.sources.ldap.stream`.

    Each request sent starts a deadline of ``timeout`` seconds for its whole reply (a bind, one page);
    a reply holding more than ``page_size + MAX_MESSAGES_OVER_PAGE`` messages is refused.
    """
    strategy = connection.strategy
    original_sending = strategy.sending
    deadline = Deadline(timeout)
    pending = bytearray()
    limit = page_size + MAX_MESSAGES_OVER_PAGE
    counted = [0]

    def sending(message) -> None:
        deadline.start()
        counted[0] = 0
        connection.socket.settimeout(timeout)
        original_sending(message)

    def receiving() -> list[bytes]:
        while not (messages := take_messages(pending)):
            chunk = receive(connection.socket, deadline)
            if not chunk:
                return []  # the server closed the connection: ldap3 reports the session as terminated
            pending.extend(chunk)
        counted[0] += len(messages)
        if counted[0] > limit:
            raise MalformedReply(f"more than {limit} messages in the reply to one request")
        return messages

    strategy.sending = sending
    strategy.receiving = receiving


_OWN_DECODER = "sidtool_own_decoder"  # marks an entry decoded by search_entry.decode_search_entry
_NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"  # [RFC 4511] 4.4.1
_NOT_FINAL = ("searchResEntry", "searchResRef", "intermediateResponse")


def _decode_entries_directly(strategy) -> None:
    """Decode this connection's search entries from their bytes, by :func:`decode_search_entry`.

    ldap3 decodes every message it receives into a tree of tuples (``decode_message_fast``),
    then an entry into two dicts: its raw values and the same values decoded to text. sidtool
    uses only the raw values, and the two steps were about two fifths of the client's time in a
    24,000-object collection (BENCHMARKS.md). This replaces the strategy's gathering of one
    reply (``_get_response``) on this one connection: a search entry goes from its bytes to its
    DN and raw values; any other message, and an entry :func:`decode_search_entry` leaves
    alone, goes through ldap3's own decoders. Messages are matched to the request as ldap3
    matches them ([RFC 4511] 4.1.1.1): the request's ID, or 0 for a notice of disconnection.
    """
    from ldap3.core.exceptions import LDAPSocketReceiveError
    from ldap3.strategy.base import RESPONSE_COMPLETE, SESSION_TERMINATED_BY_SERVER
    from ldap3.utils.asn1 import decode_message_fast

    def get_response(message_id: int, timeout: float | None) -> list | str:
        responses: list = []
        complete = False
        while not complete:
            messages = strategy.receiving()
            if not messages:
                return SESSION_TERMINATED_BY_SERVER
            for message in messages:
                entry = decode_search_entry(message)
                if entry is not None:
                    number = entry.message_id
                    response = {"type": "searchResEntry", "dn": entry.dn, "raw_attributes": entry.attributes,
                                "attributes": {}, _OWN_DECODER: True}  # fmt: skip
                else:
                    decoded = decode_message_fast(message)
                    number, response = int(decoded["messageID"]), strategy.decode_response_fast(decoded)
                if number == message_id:
                    responses.append(response)
                    complete = complete or response["type"] not in _NOT_FINAL
                elif number == 0 and response.get("responseName") == _NOTICE_OF_DISCONNECTION:
                    return SESSION_TERMINATED_BY_SERVER
                elif number == 0:
                    raise LDAPSocketReceiveError("unknown unsolicited notification from server")
                else:
                    raise LDAPSocketReceiveError(f"invalid messageId received: {number}, not {message_id}")
        responses.append(RESPONSE_COMPLETE)
        return responses

    strategy._get_response = get_response

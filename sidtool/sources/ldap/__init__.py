"""The live reader: a read-only LDAP collector for one forest.

Laid out by what each part holds:

* :mod:`.connection`: how to reach a DC (:class:`ConnectionOptions`, its TLS and bind policy),
  what a search returns (:class:`RawEntry`), the transport interface, result codes and errors;
* :mod:`.ldap3_transport` (simple binds over LDAPS or StartTLS) and :mod:`.ntlm_transport`
  (NTLM on 389, signed and sealed): the two transports, search only (sidtool never adds,
  modifies or deletes);
* :mod:`.stream`: replies read off the socket in linear time, within a deadline, size-capped;
* :mod:`.search_entry`: search entries decoded straight from their bytes (DN and raw values),
  for every transport; other messages are decoded by the LDAP library;
* :mod:`.session`: a retrying, paged, ranged search session with one DC;
* :mod:`.collector`: the forest walk.

README.md, "sidtool collect", lists the bounds.
"""

from sidtool.sources.ldap.collector import Collector
from sidtool.sources.ldap.connection import (
    MAX_MEMBER_VALUES,
    CollectError,
    ConnectionOptions,
    LdapSettings,
)

__all__ = ["MAX_MEMBER_VALUES", "CollectError", "Collector", "ConnectionOptions", "LdapSettings"]

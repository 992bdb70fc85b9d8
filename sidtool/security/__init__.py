"""SIDs, security descriptors and access rights: the vocabulary of ACLs."""

from sidtool.security.descriptor import (
    Ace,
    AceFlag,
    AceType,
    Acl,
    Control,
    SecurityDescriptor,
    clear_caches,
    decode_descriptor,
    store_property_header,
)
from sidtool.security.rights import can_post_items
from sidtool.security.sddl import format_sddl, parse_sddl
from sidtool.security.sid import BUILTIN_DOMAIN, Sid

__all__ = [
    "BUILTIN_DOMAIN",
    "Ace",
    "AceFlag",
    "AceType",
    "Acl",
    "Control",
    "SecurityDescriptor",
    "Sid",
    "can_post_items",
    "clear_caches",
    "decode_descriptor",
    "format_sddl",
    "parse_sddl",
    "store_property_header",
]

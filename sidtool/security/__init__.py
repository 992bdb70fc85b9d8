"""SIDs, security descriptors and access rights: the vocabulary of ACLs."""

from sidtool.security.sid import BUILTIN_DOMAIN, Sid

__all__ = ["BUILTIN_DOMAIN", "Sid"]

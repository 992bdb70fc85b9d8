"""The account a bind names, read from the forms admins type, and written as each kind of bind needs it.

Accepted: ``DOMAIN\\user`` (NetBIOS domain), ``dns.domain\\user``, ``DOMAIN/user`` and ``dns.domain/user``
(impacket's habit), ``user@dns.domain`` (a UPN, or the implicit one AD gives every account: sAMAccountName
@ the domain's DNS name, [MS-ADTS] 5.1.1.1.1), a bare ``user``, and, for a simple bind only, a DN.

What each bind can use:

* simple: a DN, ``user@dns.domain`` or ``NETBIOS\\user`` ([MS-ADTS] 5.1.1.1.1 lists the name forms an AD
  simple bind accepts); ``dns.domain\\user`` is sent as ``user@dns.domain``; a bare ``user`` is refused, as AD
  finds no account by it and answers "invalid credentials";
* NTLM: user and domain apart; the domain may be empty (the DC's own);
* Kerberos: user and realm; the realm is the DNS domain in upper case, so a NetBIOS domain is refused, and a
  bare ``user`` takes the realm from the DC's host name or from the ticket cache.

A refused form is a :class:`~sidtool.errors.UsageError` raised before any connection, naming the form that works.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidtool.errors import UsageError

MAX_NAME_CHARACTERS = 1024  # longer than any account name AD allows (a DN may be long, but not this long)


@dataclass(frozen=True, slots=True)
class AccountName:
    """An account as typed: ``user``, ``domain`` (NetBIOS or DNS name, or empty) and the form it came in."""

    text: str
    user: str
    domain: str
    form: str  # "netbios" (DOMAIN\\user), "dns" (dns.domain\\user), "upn" (user@dns.domain), "bare" or "dn"

    @classmethod
    def parse(cls, text: str) -> AccountName:
        """The account named by ``text``, in any of the forms in the module docstring."""
        if not text or not text.strip():
            raise UsageError("--user is empty")
        if len(text) > MAX_NAME_CHARACTERS:
            raise UsageError(f"--user is longer than {MAX_NAME_CHARACTERS} characters")
        if "=" in text and "," in text:
            return cls(text, text, "", "dn")
        for separator in ("\\", "/"):
            if separator in text:
                domain, _, user = text.partition(separator)
                if not domain or not user or "\\" in user or "/" in user:
                    raise UsageError(f"--user {text}: expected DOMAIN\\user, user@dns.domain or user")
                return cls(text, user, domain, "dns" if "." in domain else "netbios")
        if "@" in text:
            user, _, domain = text.rpartition("@")
            if not user or not domain:
                raise UsageError(f"--user {text}: expected user@dns.domain")
            return cls(text, user, domain, "upn")
        return cls(text, text, "", "bare")

    def for_simple_bind(self) -> str:
        """The name a simple bind sends."""
        if self.form == "bare":
            raise UsageError(
                f"--user {self.text}: a simple bind needs the domain: give {self.text}@your.dns.domain "
                f"or DOMAIN\\{self.text}"
            )
        if self.form == "dns":
            return f"{self.user}@{self.domain}"
        if self.form == "netbios":
            return f"{self.domain}\\{self.user}"
        return self.text

    def for_ntlm(self) -> tuple[str, str]:
        """User and domain for NTLM (an empty domain: the DC's own)."""
        if self.form == "dn":
            raise UsageError(f"--user {self.text}: NTLM needs DOMAIN\\user or user@dns.domain, not a DN")
        return self.user, self.domain

    def for_kerberos(self, host: str) -> tuple[str, str]:
        """User and realm for Kerberos; a bare user takes the realm from ``host`` (the DC's DNS name), if it has one."""
        if self.form == "dn":
            raise UsageError(f"--user {self.text}: Kerberos needs user@dns.domain, not a DN")
        if self.form == "netbios":
            raise UsageError(
                f"--user {self.text}: Kerberos needs the domain's DNS name (its realm), not its NetBIOS name: "
                f"give {self.user}@your.dns.domain"
            )
        if self.form == "bare":
            _, dot, rest = host.partition(".")
            if not dot or not rest or rest.replace(".", "").isdigit():
                raise UsageError(
                    f"--user {self.text}: Kerberos needs the realm: give {self.text}@your.dns.domain, "
                    "or name the DC by its DNS name (--server dc1.your.dns.domain)"
                )
            return self.user, rest.upper()
        return self.user, self.domain.upper()

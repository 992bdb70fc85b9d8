"""Which SIDs a consumer built for an older Windows release does not know.

The pre-SP2 Exchange 2000/2003 store holds an array of the BUILTIN aliases that
Windows 2000 defined; any other S-1-5-32 SID it looks up as an ordinary group,
and in a forest with child domains that lookup fails, so mail to the public
folder is refused with NDR 5.2.1 (Microsoft KB 870585). The set of aliases it
knows is not written here: it is every builtin entry of the catalog introduced
in Windows 2000 or earlier.
"""

from __future__ import annotations

import wellknown
from sidtool.security.sid import BUILTIN_DOMAIN, Sid

LEGACY_STORE_RELEASE = "2000"  # KB 870585: the store's built-in array predates Windows Server 2003


def is_builtin_alias(sid: Sid) -> bool:
    """True for S-1-5-32-<rid>: a BUILTIN alias, which exists once in every domain."""
    return len(sid.sub_authorities) == 2 and sid.is_under(BUILTIN_DOMAIN)


def unknown_to(sid: Sid, release: str) -> bool:
    """True when a consumer built for ``release`` would not know this well-known SID.

    A catalog entry introduced after ``release`` is unknown to it. A BUILTIN
    alias missing from the catalog, or of unknown release, counts as unknown
    too: such a consumer cannot know an alias its own release did not define.
    Ordinary account SIDs are resolved through the directory, so they are known.
    """
    wellknown.release_rank(release)  # reject a misspelt release early
    entry = wellknown.lookup(str(sid))
    if entry is None:
        return is_builtin_alias(sid)
    after = entry.introduced_after(release)
    return after if after is not None else is_builtin_alias(sid)


def known_to_legacy_store(sid: Sid) -> bool:
    """Would the pre-SP2 Exchange 2000/2003 store recognise this SID? Only BUILTIN aliases can fail."""
    return not (is_builtin_alias(sid) and unknown_to(sid, LEGACY_STORE_RELEASE))

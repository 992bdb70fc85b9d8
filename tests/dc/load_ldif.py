"""Load LDIF files straight into a stopped Samba DC's sam.ldb (offline, fast).

Runs under Debian's /usr/bin/python3, which has the Samba bindings
(python3-samba); the project's own Python usually does not.

Usage: load_ldif.py SMB_CONF [--schema] FILE.ldif [[--schema] FILE.ldif ...]

Before a file is parsed these placeholders are filled in:
  ${DOMAINDN} ${CONFIGDN} ${SCHEMADN} ${DOMAINSID}
  ${SID:name}  objectSid of the object whose sAMAccountName is name
  ${RID:name}  the last part of that SID
so a later file can name SIDs of objects that an earlier file created.
A file given after --schema is loaded one entry at a time, each followed by a
schema reload (rootDSE schemaUpdateNow), so later classes can use earlier
attributes and classes.
"""

from __future__ import annotations

import re
import sys
import time

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

PLACEHOLDER = re.compile(r"\$\{(SID|RID):([^}]+)\}")
BATCH = 500  # records per transaction
SCHEMA_UPDATE_NOW = "dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n"


def open_samdb(smb_conf: str) -> SamDB:
    """Open sam.ldb of the DC that smb_conf describes, as the system user."""
    lp = LoadParm()
    lp.load(smb_conf)
    return SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)


def object_sid(samdb: SamDB, account_name: str) -> str:
    """objectSid (as text) of the object with this sAMAccountName."""
    found = samdb.search(
        samdb.domain_dn(),
        scope=ldb.SCOPE_SUBTREE,
        expression=f"(sAMAccountName={ldb.binary_encode(account_name)})",
        attrs=["objectSid"],
    )
    if len(found) != 1:
        raise SystemExit(f"load_ldif: sAMAccountName {account_name!r} matched {len(found)} objects")
    return samdb.schema_format_value("objectSid", found[0]["objectSid"][0]).decode()


def fill_placeholders(samdb: SamDB, text: str) -> str:
    """Replace ${DOMAINDN}-style and ${SID:name}/${RID:name} placeholders."""
    text = (
        text.replace("${DOMAINDN}", str(samdb.domain_dn()))
        .replace("${CONFIGDN}", str(samdb.get_config_basedn()))
        .replace("${SCHEMADN}", str(samdb.get_schema_basedn()))
        .replace("${DOMAINSID}", str(samdb.get_domain_sid()))
    )
    cache: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if name not in cache:
            cache[name] = object_sid(samdb, name)
        sid = cache[name]
        return sid if kind == "SID" else sid.rsplit("-", 1)[1]

    return PLACEHOLDER.sub(replace, text)


def load_file(samdb: SamDB, path: str, schema: bool) -> int:
    """Load one LDIF file inside a transaction; return the number of records."""
    with open(path, encoding="utf-8") as handle:
        text = fill_placeholders(samdb, handle.read())
    count = 0
    samdb.transaction_start()
    try:
        for changetype, message in samdb.parse_ldif(text):
            try:
                if changetype == ldb.CHANGETYPE_MODIFY:
                    samdb.modify(message)
                else:
                    samdb.add(message)
            except ldb.LdbError as error:
                raise SystemExit(f"load_ldif: {path}: {message.dn}: {error.args[-1]}") from error
            count += 1
            if schema:
                samdb.modify_ldif(SCHEMA_UPDATE_NOW)
            elif count % BATCH == 0:  # one huge transaction grows superlinearly slow in Samba's tdb backend
                samdb.transaction_commit()
                samdb.transaction_start()
    except BaseException:
        samdb.transaction_cancel()
        raise
    samdb.transaction_commit()
    return count


def main(argv: list[str]) -> int:
    """Load every file named on the command line, in order."""
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    samdb = open_samdb(argv[0])
    schema = False
    for argument in argv[1:]:
        if argument == "--schema":
            schema = True
            continue
        started = time.monotonic()
        count = load_file(samdb, argument, schema)
        print(f"load_ldif: {argument}: {count} records in {time.monotonic() - started:.1f}s", file=sys.stderr)
        schema = False
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

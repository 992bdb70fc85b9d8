"""The test DC: a real Samba AD DC with the sidtool fixture organisation, started by tests/dc/run-dc.

Each DC lives in a temporary folder on a free loopback address and is stopped by its pid at the
end. Samba's packages are installed from Debian only when asked: under CI (``CI=true``, as
``.ci/run`` sets it) or with ``SIDTOOL_INSTALL_SAMBA=1``. Where Samba is missing or cannot start,
tests that need it are skipped with one line, except under CI, where that is an error.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DC_DIR = Path(__file__).resolve().parent.parent / "dc"
RUN_DC = DC_DIR / "run-dc"


@dataclass(frozen=True, slots=True)
class TestDomainController:
    """Where the running test DC is and how to talk to it."""

    __test__ = False  # not a test class, despite its name

    host: str
    hostname: str
    ldap_port: int
    ldaps_port: int
    ldap_uri: str
    ldaps_uri: str
    base_dn: str
    realm: str
    netbios_name: str
    admin_user: str
    password: str = field(repr=False)
    ca_file: Path
    pid: int
    directory: Path
    sam_ldb: Path
    expected: dict = field(repr=False, compare=False)
    krb5_conf: Path | None = None  # the realm's KDC is this DC (run-dc writes it; None for a DC started before)

    @property
    def upn(self) -> str:
        """The administrator as user@dns.domain, the form Kerberos needs."""
        return f"Administrator@{self.realm.lower()}"

    def kerberos_environment(self, cache: Path) -> dict[str, str]:
        """Variables for kinit and sidtool: this DC's krb5.conf and the ticket cache ``cache``; no password."""
        if self.krb5_conf is None:
            pytest.skip("this DC was started without a KDC (tests/dc/run-dc before Kerberos)")
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5CCNAME": f"FILE:{cache}", "SIDTOOL_PASSWORD": ""}

    def kinit(self, cache: Path, *, lifetime: str | None = None) -> None:
        """Get the administrator's TGT into ``cache`` with MIT kinit, the password on its standard input."""
        command = ["kinit", *(("-l", lifetime) if lifetime else ()), f"Administrator@{self.realm}"]
        environment = {**os.environ, **self.kerberos_environment(cache)}
        subprocess.run(command, input=self.password + "\n", capture_output=True, text=True, check=True,
                       env=environment)  # fmt: skip

    def audit_log(self) -> str:
        """Samba's log: with auth_audit on, one line per bind naming how it authenticated."""
        return (self.directory / "log" / "samba.stdout").read_text(errors="replace")

    def ldapsearch(self, *arguments: str, base: str | None = None, plain: bool = True) -> str:
        """Run ldapsearch over LDAPS as the administrator (password from a file); return its LDIF.

        ``plain``: ``-LLL`` and no line wrapping; otherwise ldapsearch's default layout (comments, folded
        lines, reference and result blocks), as an admin who types no options gets it.
        """
        command = [
            "ldapsearch",
            *(("-LLL", "-o", "ldif-wrap=no") if plain else ()),
            "-H",
            self.ldaps_uri,
            "-D",
            self.admin_user,
            "-y",
            str(self.directory / "password"),
            "-b",
            base or self.base_dn,
            *arguments,
        ]
        environment = {**os.environ, "LDAPTLS_CACERT": str(self.ca_file)}
        return subprocess.run(command, capture_output=True, text=True, check=True, env=environment).stdout

    def ldbsearch(self, *arguments: str, base: str | None = None) -> str:
        """Run ldbsearch directly on the DC's sam.ldb (local, no LDAP); return its LDIF."""
        command = ["ldbsearch", "-H", str(self.sam_ldb), "-b", base or self.base_dn, *arguments]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def free_loopback_address() -> str:
    """The first of 127.0.0.1, 127.0.0.2, ... where nothing listens on 389 or 636."""
    for last in range(1, 30):
        host = f"127.0.0.{last}"
        busy = False
        for port in (389, 636):
            with socket.socket() as probe:
                probe.settimeout(0.2)
                busy = busy or probe.connect_ex((host, port)) == 0
        if not busy:
            return host
    raise RuntimeError("no free loopback address for the test DC")


def read_environment(directory: Path) -> dict[str, str]:
    values = {}
    for line in (directory / "env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value.strip("'")
    return values


def controller_from(directory: Path) -> TestDomainController:
    values = read_environment(directory)
    return TestDomainController(
        host=values["DC_HOST"],
        hostname=values["DC_HOSTNAME"],
        ldap_port=int(values["DC_LDAP_PORT"]),
        ldaps_port=int(values["DC_LDAPS_PORT"]),
        ldap_uri=values["DC_LDAP_URI"],
        ldaps_uri=values["DC_LDAPS_URI"],
        base_dn=values["DC_BASE_DN"],
        realm=values["DC_REALM"],
        netbios_name=values["DC_NETBIOS_NAME"],
        admin_user=values["DC_ADMIN_USER"],
        password=values["DC_ADMIN_PASSWORD"],
        ca_file=Path(values["DC_CA_FILE"]),
        pid=int(values["DC_PID"]),
        directory=directory,
        sam_ldb=Path(values["DC_SAM_LDB"]),
        expected=json.loads((DC_DIR / "fixture_expected.json").read_text(encoding="utf-8")),
        krb5_conf=Path(values["KRB5_CONFIG"]) if "KRB5_CONFIG" in values else None,
    )


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def unavailable(reason: str) -> None:
    """Fail under CI, where the DC must run; skip elsewhere."""
    if under_ci():
        pytest.fail(f"test DC unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"test DC unavailable: {reason}")


@contextmanager
def running_dc(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """Provision and start a DC of its own in a new temporary folder on a free loopback address; stop it after."""
    if not sys.platform.startswith("linux"):
        unavailable("the Samba test DC runs on Linux only")
    directory = tmp_path_factory.mktemp(name)
    try:
        host = free_loopback_address()
    except RuntimeError as error:
        unavailable(str(error))
    install = [] if under_ci() or os.environ.get("SIDTOOL_INSTALL_SAMBA") == "1" else ["--no-install"]
    result = subprocess.run(
        [sys.executable, str(RUN_DC), "start", str(directory), "--host", host, *install], capture_output=True, text=True
    )
    if result.returncode != 0:
        subprocess.run([sys.executable, str(RUN_DC), "stop", str(directory)], capture_output=True)
        unavailable("\n".join(result.stderr.strip().splitlines()[-15:]) or "run-dc start failed")
    try:
        yield directory
    finally:
        subprocess.run([sys.executable, str(RUN_DC), "stop", str(directory)], capture_output=True)

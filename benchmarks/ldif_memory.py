"""Memory and time of ``sidtool report`` on a large LDIF export (issue target: 200 MB under 2 GB resident).

It writes an ldifde-style LDIF of about --megabytes MB (users, groups with long member lists,
built-in groups, an Exchange organisation and mail-enabled public folders with descriptors) to a
temporary folder, then runs ``sidtool report FILE --format json -q`` under ``/usr/bin/time -v``
and prints the file size, wall time and peak resident memory.

    python benchmarks/ldif_memory.py --megabytes 200
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sidtool.security.sddl import parse_sddl  # noqa: E402
from sidtool.security.sid import Sid  # noqa: E402

ROOT = "DC=corp,DC=example,DC=com"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
EXCHANGE = f"CN=Microsoft Exchange,CN=Services,CN=Configuration,{ROOT}"
ORG = f"CN=First Administrative Group,CN=Administrative Groups,CN=CORP,{EXCHANGE}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_forest(path: Path, megabytes: int, seed: int) -> None:
    rng = random.Random(seed)
    users = max(1000, megabytes * 1300)  # calibrated: about 1 MB of LDIF per 1,300 users with their share
    groups = max(10, users // 50)
    folders = max(10, users // 10)
    with path.open("w", encoding="utf-8", newline="\r\n") as out:
        out.write(f"dn: {ROOT}\nobjectClass: domainDNS\nobjectSid:: {b64(bytes(Sid.parse(DOMAIN_SID)))}\n\n")
        out.write(
            f"dn: CN=DC1,OU=Domain Controllers,{ROOT}\nobjectClass: computer\nobjectSid:: "
            f"{b64(bytes(Sid.parse(DOMAIN_SID + '-1000')))}\nuserAccountControl: 532480\n"
            "operatingSystem: Windows Server 2003\n\n"
        )
        for number in range(users):
            sid = Sid.parse(f"{DOMAIN_SID}-{2000 + number}")
            out.write(
                f"dn: CN=User {number:07d},OU=Staff,{ROOT}\nchangetype: add\nobjectClass: top\nobjectClass: user\n"
                f"sAMAccountName: user{number:07d}\ndisplayName: User {number:07d}\nobjectSid:: {b64(bytes(sid))}\n"
                f"primaryGroupID: 513\nobjectGUID:: {b64(rng.randbytes(16))}\n\n"
            )
        members = [f"member: CN=User {m:07d},OU=Staff,{ROOT}\n" for m in range(users)]
        out.write(
            f"dn: CN=Domain Users,CN=Users,{ROOT}\nobjectClass: group\nsAMAccountName: Domain Users\n"
            f"objectSid:: {b64(bytes(Sid.parse(DOMAIN_SID + '-513')))}\n\n"
        )
        for number in range(groups):
            sid = Sid.parse(f"{DOMAIN_SID}-{1_000_000 + number}")
            out.write(
                f"dn: CN=Group {number:06d},OU=Groups,{ROOT}\nobjectClass: group\nsAMAccountName: group{number:06d}\n"
                f"objectSid:: {b64(bytes(sid))}\n"
            )
            out.writelines(rng.sample(members, min(len(members), 400)))
            out.write("\n")
        out.write(
            f"dn: CN=Remote Desktop Users,CN=Builtin,{ROOT}\nobjectClass: group\nsAMAccountName: Remote Desktop Users\n"
            f"objectSid:: {b64(bytes(Sid.parse('S-1-5-32-555')))}\n"
            f"member: CN=Group 000001,OU=Groups,{ROOT}\n\n"
        )
        out.write(
            f"dn: CN=EX1,CN=Servers,{ORG}\nobjectClass: msExchExchangeServer\n"
            "serialNumber: Version 6.5 (Build 7226.6: Service Pack 1)\n\n"
        )
        for number in range(folders):
            trustees = [f"{DOMAIN_SID}-{1_000_000 + rng.randrange(groups)}" for _ in range(4)]
            sddl = "O:DAG:DAD:(A;;RPWPCCDCLCSWRCWDWO;;;DA)" + "".join(f"(A;;RPWPCCLC;;;{t})" for t in trustees)
            descriptor = bytes(parse_sddl(sddl, DOMAIN_SID))
            line = f"nTSecurityDescriptor:: {b64(descriptor)}"
            folded = "\n ".join(line[i : i + 76] for i in range(0, len(line), 76))
            out.write(
                f"dn: CN=Folder {number:07d},CN=Microsoft Exchange System Objects,{ROOT}\nobjectClass: publicFolder\n"
                f"displayName: Folder {number:07d}\n{folded}\n\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=870585)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sidtool-ldif-memory-") as work:
        path = Path(work) / "forest.ldif"
        write_forest(path, args.megabytes, args.seed)
        size = path.stat().st_size
        command = [
            "/usr/bin/time",
            "-v",
            sys.executable,
            "-m",
            "sidtool",
            "report",
            str(path),
            "--format",
            "json",
            "-q",
            "-o",
            str(Path(work) / "report.json"),
        ]
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", result.stderr).group(1)
        print(
            f"LDIF: {size / 1e6:.0f} MB; sidtool report exit {result.returncode}; wall {wall}; "
            f"peak RSS {peak / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()

"""Decode rate of sidtool's security descriptor parser against impacket's, side by side.

    python benchmarks/sd_decode.py [--ldif FILE] [--repeat N]

Both parsers decode the same blobs, in the same process, into ACEs with their
trustee SIDs. Two corpora:

* distinct: every blob different (the Samba export's distinct descriptors
  when tests/data/descriptors/samba_fixture_dc.ldif is present, else
  synthetic ones built from the AD schema defaults with per-object explicit
  ACEs). sidtool runs with the descriptor cache OFF (``from_bytes``) and its
  SID/GUID/ACE interning tables emptied before every timed pass;
* repeating: the blobs as a directory holds them, most repeated (the whole
  Samba export, or the distinct corpus cycled), decoded through
  ``decode_descriptor`` with its cache ON, emptied before every pass.

Prints descriptors and ACEs per second for each, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from impacket.ldap.ldaptypes import SR_SECURITY_DESCRIPTOR  # noqa: E402

from sidtool.security import SecurityDescriptor, clear_caches, decode_descriptor  # noqa: E402
from sidtool.security import descriptor as descriptor_module  # noqa: E402
from sidtool.security.sddl import parse_sddl  # noqa: E402
from tests.support.descriptor_samples import DOMAIN_SID, SAMBA_LDIF, ldif_descriptors, sample_sddl  # noqa: E402


class _NeverStores(dict):
    """An interning table that keeps nothing (for --no-ace-interning)."""

    def __setitem__(self, key, value) -> None:
        pass


def synthetic_corpus(count: int, seed: int = 3) -> list[bytes]:
    """Distinct descriptors: schema defaults plus explicit ACEs naming per-object users and groups."""
    generator = random.Random(seed)
    templates = [t for t in sample_sddl() if "(" in t]
    rights = ["RP", "WP", "RPWP", "CR", "CCDC", "LCRPLORC", "GA", "SW"]
    guids = [
        "ab721a54-1e2f-11d0-9819-00aa0040529b",
        "00299570-246d-11d0-a768-00aa006e0529",
        "bf9679c0-0de6-11d0-a285-00aa003049e2",
        "4c164200-20c0-11d0-a768-00aa006e0529",
    ]
    blobs = set()
    while len(blobs) < count:
        text = generator.choice(templates)
        extra = []
        for _ in range(generator.randint(1, 4)):
            sid = f"{DOMAIN_SID}-{generator.randint(1100, 60000)}"
            if generator.random() < 0.5:
                extra.append(f"(A;CI;{generator.choice(rights)};;;{sid})")
            else:
                extra.append(f"(OA;;{generator.choice(rights)};{generator.choice(guids)};;{sid})")
        owner = f"O:{DOMAIN_SID}-{generator.randint(1100, 60000)}"
        head, dacl = text.split("D:", 1)
        head = owner + head[head.index("G:") :] if "G:" in head else owner
        text = head + "D:" + dacl[: dacl.index("(")] + "".join(extra) + dacl[dacl.index("(") :]
        blobs.add(bytes(parse_sddl(text, DOMAIN_SID)))
    return sorted(blobs)


def decode_impacket(blobs: list[bytes]) -> int:
    trustees = []
    for blob in blobs:
        descriptor = SR_SECURITY_DESCRIPTOR(data=blob)
        for which in ("Dacl", "Sacl"):
            acl = descriptor[which]
            if acl:
                trustees.extend(ace["Ace"]["Sid"] for ace in acl.aces)
    return len(trustees)


def decode_sidtool(blobs: list[bytes]) -> int:
    trustees = []
    for blob in blobs:
        descriptor = SecurityDescriptor.from_bytes(blob)
        trustees.extend(ace.sid for _, ace in descriptor.aces())
    return len(trustees)


def decode_sidtool_cached(blobs: list[bytes]) -> int:
    trustees = []
    for blob in blobs:
        descriptor = decode_descriptor(blob)
        trustees.extend(ace.sid for _, ace in descriptor.aces())
    return len(trustees)


def rate(function, blobs: list[bytes], repeat: int) -> tuple[float, float]:
    """Best of ``repeat`` passes, caches emptied before each: (descriptors/s, ACEs/s)."""
    best = float("inf")
    aces = 0
    for _ in range(repeat):
        clear_caches()
        start = time.perf_counter()
        aces = function(blobs)
        best = min(best, time.perf_counter() - start)
    return len(blobs) / best, aces / best


def memory() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            kilobytes = int(info.readline().split()[1])
        return f"{kilobytes / 1024 / 1024:.1f} GiB"
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ldif", type=Path, default=SAMBA_LDIF, help="LDIF export with nTSecurityDescriptor values")
    parser.add_argument("--synthetic", type=int, default=2000, help="distinct synthetic descriptors without LDIF")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the best counts")
    parser.add_argument("--no-ace-interning", action="store_true", help="measure with the ACE interning table disabled")
    args = parser.parse_args()
    if args.no_ace_interning:
        descriptor_module._ACE_CACHE = _NeverStores()

    if args.ldif.exists():
        repeating = ldif_descriptors(args.ldif)
        distinct = list(dict.fromkeys(repeating))
        source = f"{args.ldif.name}: {len(repeating)} descriptors, {len(distinct)} distinct"
    else:
        distinct = synthetic_corpus(args.synthetic)
        repeating = [distinct[i % len(distinct)] for i in range(len(distinct) * 10)]
        random.Random(1).shuffle(repeating)
        source = f"synthetic: {len(distinct)} distinct descriptors (no {args.ldif.name}); repeating = each 10 times"

    print(f"machine: {platform.machine()}, nproc {os.cpu_count()}, memory {memory()}")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}")
    print(f"corpus: {source}")
    print(f"ACE interning: {'off' if args.no_ace_interning else 'on (emptied before each pass)'}")
    peer = rate(decode_impacket, distinct, max(1, args.repeat // 2))
    ours = rate(decode_sidtool, distinct, args.repeat)
    print(f"distinct, impacket SR_SECURITY_DESCRIPTOR: {peer[0]:>10,.0f} SD/s {peer[1]:>12,.0f} ACE/s")
    print(f"distinct, sidtool from_bytes (cache off):  {ours[0]:>10,.0f} SD/s {ours[1]:>12,.0f} ACE/s")
    print(f"distinct ratio sidtool/impacket: {ours[0] / peer[0]:.1f}x")
    cached = rate(decode_sidtool_cached, repeating, args.repeat)
    print(f"repeating, sidtool decode_descriptor (cache on): {cached[0]:>10,.0f} SD/s {cached[1]:>12,.0f} ACE/s")
    print(f"repeating ratio sidtool cached/impacket: {cached[0] / peer[0]:.1f}x")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Benchmark: wire.dovecot.ops, the commands per second `ratchet run
--target` drives through a local Dovecot (maildir) with 10 clients, every
command recorded and checked online.

    /usr/bin/python3 tests/bench_wire.py [--ratchet PATH] [--seconds S]

prints {"results": [{"name": "wire.dovecot.ops", "unit": "ops/s", "value": N}]}.
Exit 1 if the run reported violations (a benchmark of a broken run is no
figure), 2 if Dovecot cannot be installed or started."""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "servers"))
import servers  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ratchet", default=os.environ.get(
        "RATCHET_BIN", str(ROOT / "build" / "ratchet")))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    why = servers.install("dovecot")
    if why:
        print(f"bench_wire: {why}", file=sys.stderr)
        return 2
    try:
        srv = servers.start_dovecot("maildir")
    except RuntimeError as e:
        print(f"bench_wire: {e}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = pathlib.Path(tmp) / "r.json"
            p = subprocess.run(
                [a.ratchet, "run", "--quiet", "--target", srv.url(),
                 "--clients", str(a.clients), "--seconds", str(a.seconds),
                 "--seed", str(a.seed), "--report", str(report)],
                capture_output=True, text=True, timeout=a.seconds * 10 + 120)
            if not report.exists():
                print(f"bench_wire: ratchet failed: {p.stderr.strip()}", file=sys.stderr)
                return 2
            s = json.loads(report.read_text())["summary"]
    finally:
        srv.stop()
    print(json.dumps({"results": [{"name": "wire.dovecot.ops", "unit": "ops/s",
                                   "value": round(s["ops_per_second"], 1)}]}))
    if s["errors"]:
        print(f"bench_wire: {s['errors']} violations: {s['violations_by_id']}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: the binaries built by CMake (build/ratchet,
build/ratchet-imapd); RATCHET_BIN and RATCHET_IMAPD point elsewhere; the
invariant catalogue as the program has it."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def binary(env, name):
    path = pathlib.Path(os.environ.get(env, ROOT / "build" / name))
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (make test does)")
    return str(path)


@pytest.fixture(scope="session")
def ratchet():
    return binary("RATCHET_BIN", "ratchet")


@pytest.fixture(scope="session")
def invariants(ratchet):
    """`ratchet --list-invariants --json`: one {id, family, severity,
    derived, rfc, summary, gated_by} per invariant, in catalogue order.
    Tests derive the IDs they need from it; they never keep copies."""
    p = run([ratchet, "--list-invariants", "--json"], cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="session")
def imapd():
    return binary("RATCHET_IMAPD", "ratchet-imapd")


def run(args, cwd, timeout=600):
    """Runs ratchet; returns the CompletedProcess (text)."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)

"""Shared fixtures: the ratchet binary built by CMake (build/ratchet)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ratchet():
    path = pathlib.Path(os.environ.get("RATCHET_BIN", ROOT / "build" / "ratchet"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (make test does)")
    return str(path)


def run(args, cwd, timeout=600):
    """Runs ratchet; returns the CompletedProcess (text)."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)

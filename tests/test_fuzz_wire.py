"""The wire fuzz target's seeds: a conversation recorded from ratchet-imapd
(RATCHET_FUZZ_SERVER + RATCHET_FUZZ_RECORD, see fuzz/README.md) replays
without the server op for op, and the checker judges the replay as it would
have judged the real run: no violation from an honest server, and one as
soon as recorded replies are changed."""
import imaplib
import os
import re
import signal
import subprocess

import pytest

from conftest import binary, run


@pytest.fixture(scope="session")
def fuzz_wire():
    return binary("RATCHET_FUZZ_WIRE", "fuzz_wire_corpus")


@pytest.fixture
def refimapd(imapd, tmp_path):
    """ratchet-imapd (account ratchet/ratchet) with INBOX and Archive."""
    proc = subprocess.Popen([imapd, "--root", str(tmp_path / "mail"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        m = re.fullmatch(r"ratchet-imapd: listening on 127\.0\.0\.1:(\d+)\n",
                         proc.stdout.readline())
        assert m, "ratchet-imapd did not start"
        port = int(m.group(1))
        c = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        c.login("ratchet", "ratchet")
        assert c.create("Archive")[0] == "OK"
        c.logout()
        yield port
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        proc.stdout.close()


def replay(fuzz_wire, path, tmp_path):
    """Replays one input; returns (ops, unknown, errors) and the history."""
    hist = tmp_path / "replay.jsonl"
    env = dict(os.environ, RATCHET_FUZZ_VERBOSE="1", RATCHET_FUZZ_HISTORY=str(hist))
    p = subprocess.run([fuzz_wire, str(path)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    m = re.search(r"fuzz_wire: (\d+) ops, (\d+) unknown, (\d+) errors", p.stderr)
    assert m, p.stderr
    return tuple(int(x) for x in m.groups()), hist


def test_recorded_conversation_replays_op_for_op(fuzz_wire, ratchet, refimapd, tmp_path):
    header = tmp_path / "header"
    header.write_bytes(b"\xbf\x05")  # every extension but IMAP4rev2, two clients
    seed = tmp_path / "seed"
    env = dict(os.environ, RATCHET_FUZZ_SERVER=f"127.0.0.1:{refimapd}",
               RATCHET_FUZZ_RECORD=str(seed), RATCHET_FUZZ_TURNS="40")
    p = subprocess.run([fuzz_wire, str(header)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    data = seed.read_bytes()
    assert data[:2] == b"\xbf\x05"
    turns = data[2:].split(b"~~\n")
    assert len(turns) == 40
    assert turns[0].startswith(b"* OK ")
    assert b"%T OK " in data  # tags are written as the placeholder

    (ops, unknown, errors), hist = replay(fuzz_wire, seed, tmp_path)
    assert errors == 0
    assert ops >= 30 and unknown <= 2  # the ops in flight when the turns ran out
    # The replay's history is a valid one, and `ratchet check` agrees.
    c = run([ratchet, "check", "--quiet", str(hist)], cwd=tmp_path, timeout=60)
    assert c.returncode == 0, c.stdout + c.stderr

    # The same conversation with replies changed is judged: every APPEND
    # into a mailbox after its first says it got the first one's UID again.
    found = re.findall(rb"\[APPENDUID (\d+) (\d+)\]", data)
    vals = [v for v, _ in found]
    val = max(set(vals), key=vals.count)
    assert vals.count(val) >= 2, "fewer than two APPENDs into one mailbox"
    first = next(u for v, u in found if v == val)
    cut = data.index(b"[APPENDUID " + val + b" " + first + b"]") + 1
    forged = re.sub(rb"\[APPENDUID " + val + rb" \d+\]",
                    b"[APPENDUID " + val + b" " + first + b"]", data[cut:])
    bad = tmp_path / "forged"
    bad.write_bytes(data[:cut] + forged)
    (_, _, errors), _ = replay(fuzz_wire, bad, tmp_path)
    assert errors > 0

"""A hostile local client of ratchet-imapd, and hostile input to rs-deliver
(issue 10, section 5). Each case failed before the fix it names:

- DELETE followed symbolic links and removed plain directories: a link
  planted in a mailbox made DELETE empty a directory outside the root.
- Before login a client could send a 64 MiB literal (65.6 MiB of RSS per
  connection); now a command is at most 4 KiB before login, over it BYE.
- Failed logins were answered at once (about 6,300 guesses a second
  through reconnects); now after 1, 2, 4 s, then BYE, and one password is
  checked at a time server-wide, so reconnecting does not multiply guesses.
- An idle pre-auth socket held its slot for 60 s (120 s in all); now 10 s.
- --max-conns 0 and other out-of-range numbers were accepted.
- rs-deliver --repeat 99999999999999999999 was accepted (strtol saturates)
  and its block-buffered output lost the records of a killed deliverer.

No timed assertion but hang guards (socket timeouts) and lower bounds on a
delay; RSS is read from the kernel's own accounting (RUSAGE_CHILDREN of a
helper that starts, stops by PID and reaps the server)."""
import imaplib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT
from test_imapd import PASSWORD, USER, Server, server  # noqa: F401 (fixture)

PREAUTH_MAX = 4096


def rs_deliver():
    path = pathlib.Path(os.environ.get("RS_DELIVER", ROOT / "build" / "rs-deliver"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build first")
    return str(path)


def connect(port, timeout=30):
    """A raw socket after the greeting; timeout is the hang guard."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"* OK")
    return sock, f


def one_line_error(p, prog, *words):
    assert p.returncode == 2, p
    assert p.stdout == "", p
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(prog + ": "), p.stderr
    for w in words:
        assert w in p.stderr, p.stderr


# ---- the namespace: only real mailboxes, never through a link ----

def test_delete_and_list_never_follow_links(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me\n")
    away = tmp_path / "away"  # a complete-looking mailbox outside the root
    for d in ("tmp", "new", "cur"):
        (away / d).mkdir(parents=True)
    (away / "cur" / "mail").write_text("x\n")
    m = server.client()
    assert m.create("Box")[0] == "OK"
    root = pathlib.Path(server.root)
    os.symlink(outside, root / "Box" / "cur" / "evil")
    os.symlink(away, root / "Linked")
    (root / "Plain").mkdir()
    (root / "Plain" / "file").write_text("not a mailbox\n")

    typ, data = m.list('""', "*")
    assert typ == "OK"
    names = sorted(re.search(rb'NIL "?([^"]*)"?$', d).group(1).decode() for d in data)
    assert names == ["Box", "INBOX"]
    assert m.delete("Plain")[0] == "NO"
    assert m.delete("Linked")[0] == "NO"
    assert m.select("Linked")[0] == "NO"
    assert m.delete("Box")[0] == "OK"
    m.logout()
    assert (outside / "precious").read_text() == "keep me\n"
    assert (away / "cur" / "mail").exists()
    assert (root / "Plain" / "file").exists()
    assert not (root / "Box").exists()


# ---- before login ----

# Starts ratchet-imapd, says its port, and on "stop" SIGTERMs it by PID,
# reaps it and reports the largest RSS of it and of every connection
# process it reaped (RUSAGE_CHILDREN covers reaped grandchildren).
RSS_HELPER = r"""
import os, re, resource, signal, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True)
print(p.stdout.readline(), end="", flush=True)
sys.stdin.readline()
os.kill(p.pid, signal.SIGTERM)
rc = p.wait(timeout=30)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
"""


def test_preauth_literal_is_cut_off_and_memory_stays_small(imapd, tmp_path):
    helper = subprocess.Popen(
        [sys.executable, "-c", RSS_HELPER, imapd, "--root", str(tmp_path / "mail"),
         "--port", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        m = re.fullmatch(r"ratchet-imapd: listening on 127\.0\.0\.1:(\d+)\n",
                         helper.stdout.readline())
        assert m
        port = int(m.group(1))
        # A non-synchronizing literal: before, the server read all of it.
        big = 48 << 20
        sock, f = connect(port)
        sent = [0]

        def pour():
            chunk = b"x" * (1 << 20)
            try:
                sock.sendall(b"a1 LOGIN {%d+}\r\n" % big)
                for _ in range(big >> 20):
                    sock.sendall(chunk)
                    sent[0] += len(chunk)
            except OSError:
                pass

        t = threading.Thread(target=pour)
        t.start()
        assert f.readline() == b"* BYE Literal too large\r\n"
        assert f.readline() == b""  # closed
        t.join(60)
        sock.close()
        # A synchronizing one: the tagged BAD, then BYE, then closed.
        sock, f = connect(port)
        sock.sendall(b"a2 LOGIN {%d}\r\n" % (PREAUTH_MAX + 1))
        assert f.readline() == b"a2 BAD [TOOBIG] Literal too large\r\n"
        assert f.readline() == b"* BYE Literal too large\r\n"
        assert f.readline() == b""
        sock.close()
        # A long line before login (fine after it): BYE.
        sock, f = connect(port)
        sock.sendall(b"a3 NOOP " + b"y" * (PREAUTH_MAX + 100) + b"\r\n")
        assert f.readline() == b"* BYE Line too long\r\n"
        sock.close()
        # Within the limit, LOGIN by literals still works.
        sock, f = connect(port)
        sock.sendall(b"a4 LOGIN {7+}\r\nratchet {7+}\r\nratchet\r\n")
        assert f.readline().startswith(b"a4 OK")
        sock.close()
        helper.stdin.write("stop\n")
        helper.stdin.flush()
        rc, maxrss_kb = map(int, helper.stdout.readline().split())
    finally:
        if helper.poll() is None:
            helper.stdin.close()
            helper.wait(timeout=60)
    assert rc == 0
    # The connection that announced 48 MiB stayed far below it.
    assert maxrss_kb < 24 * 1024, f"max RSS {maxrss_kb} KiB"


def test_failed_logins_are_throttled_then_bye(server):
    sock, f = connect(server.port)
    delays = []
    for i, want in enumerate((1.0, 2.0, 4.0)):
        start = time.monotonic()
        sock.sendall(f'a{i} LOGIN {USER} "wrong"\r\n'.encode())
        line = f.readline()
        delays.append(time.monotonic() - start)
        assert line == f"a{i} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n".encode()
        assert delays[-1] >= want * 0.95, delays  # a lower bound only
    assert f.readline() == b"* BYE Too many failed logins\r\n"
    assert f.readline() == b""
    sock.close()
    # After the BYE the account still works.
    m = server.client()
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_failed_logins_are_serialized_server_wide(server):
    """Reconnecting does not multiply the guesses: one password is checked
    at a time server-wide and a wrong one holds the turn for its delay (so
    hanging up early does not help either: a right guess would only be
    answered after the turns before it)."""
    socks = [connect(server.port) for _ in range(3)]
    start = time.monotonic()
    for sock, _ in socks:
        sock.sendall(f'a1 LOGIN {USER} "wrong"\r\n'.encode())
    for sock, f in socks:
        assert f.readline() == b"a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
        sock.close()
    # Three first failures, one after the other: at least 3 x 1 s (a
    # lower bound; before, each connection waited alone: about 1 s).
    assert time.monotonic() - start >= 2.85


def test_idle_preauth_sockets_do_not_lock_everyone_out(imapd):
    # An authenticated idle timeout longer than the hang guard: before, a
    # pre-auth socket had min(it, 60 s) of silence.
    s = Server(imapd, "--max-conns", "3", "--idle-timeout", "100")
    try:
        idle = [connect(s.port) for _ in range(3)]
        refused, rf = connect_refused(s.port)
        assert refused
        start = time.monotonic()
        for sock, f in idle:
            # The socket timeout (30 s) is the hang guard: before, the
            # server waited 60 s of silence.
            assert f.readline() == b"* BYE Idle timeout or read error\r\n"
            sock.close()
        assert time.monotonic() - start >= 5  # lower bound: not at once
        # Slots are free again: a real client logs in. (The server reaps
        # its children every half second: a few tries, hang-guarded.)
        for _ in range(40):
            try:
                m = s.client()
                break
            except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
                time.sleep(0.25)
        else:
            pytest.fail("no slot after the pre-auth sockets were dropped")
        assert m.select("INBOX")[0] == "OK"
        m.logout()
    finally:
        assert s.stop() == 0
        shutil.rmtree(s.dir, ignore_errors=True)


def connect_refused(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = sock.makefile("rb")
    line = f.readline()
    sock.close()
    return line == b"* BYE Too many connections\r\n", line


@pytest.mark.parametrize("args", [
    ["--max-conns", "0"], ["--max-conns", "10001"],
    ["--max-conns", "99999999999999999999"], ["--idle-timeout", "0"],
    ["--idle-timeout", "604801"], ["--port", "65536"], ["--port", "-1"],
    ["--port", "+5"], ["--port", " 5"], ["--max-conns", ""], ["--port", "0x10"],
])
def test_numeric_options_out_of_range(imapd, tmp_path, args):
    p = subprocess.run([imapd, "--root", str(tmp_path / "mail"), *args],
                       capture_output=True, text=True, timeout=30)
    one_line_error(p, "ratchet-imapd", args[0])
    assert not (tmp_path / "mail").exists()  # refused before any set-up


# ---- rs-deliver ----

@pytest.mark.parametrize("value", ["99999999999999999999", "0", "-1", "abc", "",
                                   "1e3", "1000000001"])
def test_rs_deliver_repeat_is_parsed_strictly(tmp_path, value):
    box = tmp_path / "box"
    p = subprocess.run([rs_deliver(), "--create", "--repeat", value, str(box)],
                       input="Subject: x\r\n\r\nbody\r\n", capture_output=True,
                       text=True, timeout=30)
    one_line_error(p, "rs-deliver", "--repeat")
    assert not box.exists()


def test_rs_deliver_other_usage_errors_are_one_line(tmp_path):
    for args in (["--repeat"], ["--flags", "(bad\"flag)", "x"], ["--mutant", "nope", "x"],
                 ["--bogus", "x"], []):
        p = subprocess.run([rs_deliver(), *args], input="", capture_output=True,
                           text=True, timeout=30)
        one_line_error(p, "rs-deliver")


def test_killed_rs_deliver_has_recorded_its_deliveries(tmp_path):
    box = tmp_path / "box"
    p = subprocess.Popen([rs_deliver(), "--create", "--repeat", "1000000", str(box)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(b"Subject: x\r\n\r\nbody\r\n")
    p.stdin.close()
    lines = []
    try:
        # Before: nothing came out until 4 KiB of records were buffered.
        while len(lines) < 20:
            line = p.stdout.readline()
            assert line, "rs-deliver ended early"
            lines.append(line)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    lines += p.stdout.read().splitlines(keepends=True)
    p.stdout.close()
    records = [re.fullmatch(rb"(\d+) deliver-(\d+)-(\d+)\n", l) for l in lines]
    assert all(records), lines[:5]
    assert [int(r.group(3)) for r in records] == list(range(len(records)))
    delivered = len(os.listdir(box / "new")) + len(os.listdir(box / "cur"))
    # Every delivery made is recorded, but at most the one in progress.
    assert len(records) <= delivered <= len(records) + 1, (len(records), delivered)


# ---- the same strict parser behind `ratchet run` ----

@pytest.mark.parametrize("args", [["--seed", " 7"], ["--seed", "+7"],
                                  ["--ops", "99999999999999999999"], ["--clients", "+2"]])
def test_ratchet_run_numbers_are_strict(ratchet, tmp_path, args):
    # Before, " 7" and "+7" were taken: keep such a run short.
    extra = [] if "--ops" in args else ["--ops", "10"]
    p = subprocess.run([ratchet, "run", "--quiet", *args, *extra],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 2, p
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("ratchet: run: "), p.stderr
    assert args[0] in p.stderr


def test_rs_deliver_through_a_linked_dir_still_cleans_stale_locks(tmp_path):
    """DIR may be a link the user names: resolved, so the store's own
    listings (which refuse to go through a link) still see the mailbox."""
    box, link = tmp_path / "box", tmp_path / "link"
    msg = "Subject: x\r\n\r\nbody\r\n"
    subprocess.run([rs_deliver(), "--create", str(box)], input=msg, text=True,
                   check=True, timeout=30)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = box / f"ratchet-uidlist.lock.P{dead.pid}"
    stale.write_text("")
    os.symlink(box, link)
    p = subprocess.run([rs_deliver(), "--repeat", "1", str(link)], input=msg,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"2 deliver-\d+-0\n", p.stdout)
    assert not stale.exists()

"""ratchet-imapd on 127.0.0.1, driven by Python's imaplib (a real client)
and by a raw socket client (exact bytes, hostile input), from several
concurrent connections: one server process per connection sharing the
reference store through its locks."""
import base64
import imaplib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

USER, PASSWORD = "alice", "s3cret pass"


class Server:
    """A running ratchet-imapd with a fresh mail root."""

    def __init__(self, binary, *extra):
        self.dir = tempfile.mkdtemp(dir="/tmp", prefix="imapd-test-")
        self.root = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "imapd.log")
        self.proc = subprocess.Popen(
            [binary, "--root", self.root, "--port", "0", "--user", USER,
             "--password", PASSWORD, "--log", self.log, "--idle-timeout", "30", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"ratchet-imapd: listening on 127\.0\.0\.1:(\d+)\n", line)
        if m is None:
            self.proc.kill()
            raise AssertionError(f"unexpected first line {line!r}: "
                                 f"{self.proc.stderr.read()}")
        self.port = int(m.group(1))

    def stop(self):
        """SIGTERM by PID; returns the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc

    def client(self, login=True):
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=20)
        if login:
            m.login(USER, PASSWORD)
        return m


@pytest.fixture
def server(imapd):
    s = Server(imapd)
    yield s
    rc = s.stop()
    shutil.rmtree(s.dir, ignore_errors=True)
    assert rc == 0


# ---- a raw client: exact responses, checked for well-formedness ----

RESPONSE_FORMS = [
    r"\* \d+ (EXISTS|RECENT|EXPUNGE)",
    r"\* VANISHED( \(EARLIER\))? \d+(:\d+)?(,\d+(:\d+)?)*",
    r"\* \d+ FETCH \(.*\)",
    r"\* (OK|NO|BAD|BYE)( \[[A-Z-]+( [^\]]*)?\])? [ -~]+",
    r"\* FLAGS \([^()]*\)",
    r"\* SEARCH( \d+)*( \(MODSEQ \d+\))?",
    r"\* STATUS (\S+|\"[^\"]*\") \((\w+ \d+( \w+ \d+)*)?\)",
    r"\* ENABLED( [A-Z]+)*",
    r"\* CAPABILITY [ -~]+",
    r"\* LIST \([^()]*\) NIL .+",
    r"\+ [ -~]*",
    r"[A-Za-z0-9.]+ (OK|NO|BAD)( \[[A-Z-]+( [^\]]*)?\])? [ -~]+",
]


def well_formed(resp):
    """resp: one response with literal contents replaced by '{n}'."""
    return any(re.fullmatch(form, resp) for form in RESPONSE_FORMS)


class Raw:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.n = 0
        self.greeting = self.response()

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def response(self):
        """One response: (text with literals as {n}, [literal bytes])."""
        text, lits = b"", []
        while True:
            line = self._line()
            text += line
            m = re.search(rb"\{(\d+)\}$", line)
            if m is None:
                break
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            lits.append(self.buf[:n])
            self.buf = self.buf[n:]
        resp = text.decode("latin-1")
        assert well_formed(resp), f"malformed response: {resp!r}"
        return resp, lits

    def send(self, data):
        self.sock.sendall(data)

    def run(self, command):
        """Sends 'TAG command' (str or bytes without sync literals);
        returns (untagged, tagged, literals)."""
        self.n += 1
        tag = f"r{self.n}"
        if isinstance(command, str):
            command = command.encode()
        self.send(tag.encode() + b" " + command + b"\r\n")
        untagged, lits = [], []
        while True:
            resp, l = self.response()
            lits += l
            if resp.startswith(tag + " "):
                return untagged, resp, lits
            untagged.append(resp)


def raw_login(server):
    r = Raw(server.port)
    _, tagged, _ = r.run(f'LOGIN {USER} "{PASSWORD}"')
    assert tagged.startswith("r1 OK"), tagged
    return r


def message(ident, extra=""):
    return (f"X-Ratchet-Id: {ident}\r\nSubject: test {ident}\r\n{extra}\r\n"
            f"body of {ident}\r\n").encode()


def appenduid(typ_data):
    typ, data = typ_data
    assert typ == "OK", typ_data
    m = re.match(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
    assert m, data
    return int(m.group(1)), int(m.group(2))


# ---- tests ----

def test_greeting_capabilities_and_auth(server):
    m = server.client(login=False)
    for cap in ("IMAP4REV1", "UIDPLUS", "CONDSTORE", "QRESYNC", "MOVE", "ENABLE",
                "LITERAL+", "AUTH=PLAIN"):
        assert cap in m.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        m.login(USER, "wrong")
    typ, _ = m.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
    assert typ == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    # SASL-IR, and the state rules before login
    r = Raw(server.port)
    assert r.greeting[0].startswith("* OK [CAPABILITY IMAP4rev1 ")
    _, tagged, _ = r.run("SELECT INBOX")
    assert tagged == "r1 BAD Log in first"
    ir = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    _, tagged, _ = r.run(f"AUTHENTICATE PLAIN {ir}")
    assert tagged.startswith("r2 OK [CAPABILITY IMAP4rev1")
    untagged, tagged, _ = r.run("LOGOUT")
    assert untagged == ["* BYE Logging out"] and tagged == "r3 OK LOGOUT completed"
    r.close()


def test_append_appenduid_fetch_body(server):
    m = server.client()
    assert m.create("Work")[0] == "OK"
    uv, uid = appenduid(m.append("Work", r"(\Flagged $Label1)",
                                 imaplib.Time2Internaldate(946684800), message("a1")))
    uv2, uid2 = appenduid(m.append("Work", None, None, message("a2")))
    assert uv2 == uv and uid2 == uid + 1
    assert m.select("Work")[0] == "OK"
    typ, data = m.uid("FETCH", f"{uid}:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[] "
                      "BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)])")
    assert typ == "OK"
    bodies = [d for d in data if isinstance(d, tuple)]
    assert bodies[0][1] == message("a1")
    assert b"FLAGS (\\Flagged $Label1 \\Recent)" in bodies[0][0]
    assert f"RFC822.SIZE {len(message('a1'))}".encode() in bodies[0][0]
    assert bodies[1][1] == b"X-Ratchet-Id: a1\r\n\r\n"
    # BODY[] (not PEEK) sets \Seen
    typ, data = m.uid("FETCH", str(uid2), "(BODY[])")
    assert typ == "OK"
    typ, data = m.uid("FETCH", str(uid2), "(FLAGS)")
    assert b"\\Seen" in data[0]
    m.logout()
    # APPEND to a missing mailbox: TRYCREATE
    r = raw_login(server)
    _, tagged, _ = r.run(b"APPEND Missing {3+}\r\nabc")
    assert tagged == "r2 NO [TRYCREATE] No such mailbox"
    r.close()


def test_harness_message_goes_through_the_session(server, imapd):
    """A body the harness writes (rs_session_message_bytes) is stored by
    the session; anything else by the same store call with the client's
    bytes: either way FETCH returns what was appended."""
    r = raw_login(server)
    body = (b"X-Ratchet-Id: h-1\r\nFrom: ratchet <ratchet@example.invalid>\r\n"
            b"To: ratchet <ratchet@example.invalid>\r\nSubject: ratchet h-1\r\n"
            b"Message-ID: <h-1@ratchet.invalid>\r\n"
            b"Date: Sat, 01 Jan 2000 00:00:00 +0000\r\n\r\nratchet message h-1\r\n")
    r.run("SELECT INBOX")
    untagged, tagged, _ = r.run(b"APPEND INBOX (\\Seen) {%d+}\r\n" % len(body) + body)
    assert re.fullmatch(r"r3 OK \[APPENDUID \d+ 1\] APPEND completed", tagged)
    assert untagged == ["* 1 EXISTS", "* 1 RECENT"]
    _, tagged, lits = r.run("FETCH 1 (BODY.PEEK[])")
    assert lits == [body]
    r.close()


def test_unchangedsince_modified_across_connections(server):
    a, b = server.client(), server.client()
    uv, uid = appenduid(a.append("INBOX", None, None, message("u1")))
    a.select("INBOX")
    b.select("INBOX")
    typ, data = a.uid("FETCH", str(uid), "(MODSEQ)")
    old = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
    assert b.uid("STORE", str(uid), "+FLAGS", r"(\Answered)")[0] == "OK"
    typ, data = a.uid("STORE", str(uid), f"(UNCHANGEDSINCE {old}) +FLAGS", r"(\Seen)")
    assert typ == "OK" and a.untagged_responses.pop("MODIFIED") == [str(uid).encode()]
    typ, data = a.uid("FETCH", str(uid), "(FLAGS MODSEQ)")
    fresh = int(re.search(rb"MODSEQ \((\d+)\)", data[-1]).group(1))
    assert fresh > old and b"\\Seen" not in data[-1]
    typ, data = a.uid("STORE", str(uid), f"(UNCHANGEDSINCE {fresh}) +FLAGS", r"(\Seen)")
    assert typ == "OK" and "MODIFIED" not in a.untagged_responses
    assert rb"FLAGS (\Answered \Seen" in data[-1], data
    b.noop()
    fetches = b.response("FETCH")[1]
    assert any(rb"FLAGS (\Answered \Seen" in d for d in fetches), fetches
    a.logout()
    b.logout()


def test_move_copyuid_and_expunge(server):
    a, b = server.client(), server.client()
    a.create("Dest")
    _, u1 = appenduid(a.append("INBOX", None, None, message("m1")))
    _, u2 = appenduid(a.append("INBOX", None, None, message("m2")))
    uvd, _ = appenduid(a.append("Dest", None, None, message("d0")))
    a.select("INBOX")
    b.select("Dest")
    typ, data = a.uid("MOVE", str(u1), "Dest")
    assert typ == "OK"
    copyuid = a.untagged_responses.get("COPYUID") or []
    assert copyuid and copyuid[-1] == f"{uvd} {u1} 2".encode(), a.untagged_responses
    assert a.response("EXPUNGE")[1][-1] == b"1"
    b.noop()
    assert b.response("EXISTS")[1][-1] == b"2"
    typ, data = a.uid("COPY", str(u2), "Dest")
    assert typ == "OK"
    assert a.untagged_responses["COPYUID"][-1] == f"{uvd} {u2} 3".encode()
    a.uid("STORE", str(u2), "+FLAGS.SILENT", r"(\Deleted)")
    typ, data = a.expunge()
    assert typ == "OK" and data[-1] == b"1"
    typ, data = a.status("Dest", "(MESSAGES UIDNEXT)")
    assert data[0] == b"Dest (MESSAGES 3 UIDNEXT 4)"
    a.logout()
    b.logout()


def test_qresync_vanished_earlier(server):
    r = raw_login(server)
    for i in range(4):
        r.run(b"APPEND INBOX {%d+}\r\n" % len(message(f"q{i}")) + message(f"q{i}"))
    untagged, tagged, _ = r.run("ENABLE QRESYNC")
    assert untagged == ["* ENABLED QRESYNC"]
    untagged, _, _ = r.run("SELECT INBOX")
    uv = int(next(re.search(r"\[UIDVALIDITY (\d+)\]", u).group(1) for u in untagged
                  if "UIDVALIDITY" in u))
    highestmodseq = int(next(re.search(r"\[HIGHESTMODSEQ (\d+)\]", u).group(1) for u in untagged
                   if "HIGHESTMODSEQ" in u))
    # another connection expunges 2 and 3 and flags 4
    other = raw_login(server)
    other.run("SELECT INBOX")
    other.run("UID STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    other.run("UID STORE 4 +FLAGS (\\Flagged)")
    untagged, tagged, _ = other.run("EXPUNGE")
    assert untagged == ["* 3 EXPUNGE", "* 2 EXPUNGE"] and tagged.startswith("r5 OK")
    other.close()
    r.run("UNSELECT")
    untagged, tagged, _ = r.run(f"SELECT INBOX (QRESYNC ({uv} {highestmodseq}))")
    assert "* VANISHED (EARLIER) 2:3" in untagged
    fetches = [u for u in untagged if " FETCH " in u]
    assert len(fetches) == 1 and "UID 4 " in fetches[0] and "\\Flagged" in fetches[0]
    assert tagged.endswith("OK [READ-WRITE] SELECT completed")
    # the known-uids form limits what vanishes to what the client knew
    r.run("UNSELECT")
    untagged, _, _ = r.run(f"EXAMINE INBOX (QRESYNC ({uv} {highestmodseq} 3:4))")
    assert "* VANISHED (EARLIER) 3" in untagged
    # a stale UIDVALIDITY: nothing but the usual SELECT data
    r.run("UNSELECT")
    untagged, _, _ = r.run(f"SELECT INBOX (QRESYNC ({uv - 1} {highestmodseq}))")
    assert not any("VANISHED" in u or "FETCH" in u for u in untagged)
    # FETCH (CHANGEDSINCE m VANISHED)
    untagged, tagged, _ = r.run(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highestmodseq} VANISHED)")
    assert untagged[0] == "* VANISHED (EARLIER) 2:3" and "UID 4" in untagged[1]
    r.close()


def test_status_and_search(server):
    m = server.client()
    for i in range(3):
        m.append("INBOX", r"(\Seen)" if i == 0 else None, None, message(f"s{i}"))
    typ, data = m.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)")
    assert typ == "OK"
    assert re.fullmatch(rb"INBOX \(MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY \d+ "
                        rb"UNSEEN 2 HIGHESTMODSEQ \d+\)", data[0]), data
    m.select("INBOX")
    assert m.search(None, "ALL") == ("OK", [b"1 2 3"])
    assert m.uid("SEARCH", "ALL") == ("OK", [b"1 2 3"])
    with pytest.raises(imaplib.IMAP4.error, match="Only SEARCH ALL"):
        m._simple_command("SEARCH", "UNSEEN")
    typ, data = m.list()
    assert typ == "OK" and b'() NIL INBOX' in data
    m.close()
    assert m.state == "AUTH"
    m.logout()


def test_concurrent_appends_and_stores(server):
    """Three connections (three server processes) append and store at the
    same time: every APPENDUID distinct, UIDs ascending per client, every
    message present once."""
    clients = [server.client() for _ in range(3)]
    results, errors = [[] for _ in clients], []

    def work(i):
        try:
            m = clients[i]
            m.select("INBOX")
            for k in range(15):
                _, uid = appenduid(m.append("INBOX", None, None, message(f"c{i}-{k}")))
                results[i].append(uid)
                typ, _ = m.uid("STORE", str(uid), "+FLAGS", r"(\Flagged)")
                assert typ == "OK"
                m.noop()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    uids = sorted(u for r in results for u in r)
    assert uids == list(range(1, 46))
    for r in results:
        assert r == sorted(r)
    m = clients[0]
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (X-Ratchet-Id)])")
    ids = sorted(re.search(rb"X-Ratchet-Id: (\S+)", d[1]).group(1).decode()
                 for d in data if isinstance(d, tuple))
    assert ids == sorted(f"c{i}-{k}" for i in range(3) for k in range(15))
    for m in clients:
        m.logout()


def test_hostile_clients_do_not_hurt_the_server(server):
    # garbage, NUL bytes, unknown commands: BAD, and the connection goes on
    r = Raw(server.port)
    r.send(b"\x00\xff garbage\r\n")
    assert r.response()[0].startswith("* BAD")
    r.send(b"a1 FROB\r\n")
    assert r.response()[0] == "a1 BAD Unknown command"
    r.send(b"\r\n")  # empty lines are ignored
    r.send(b"a2 NOOP\r\n")
    assert r.response()[0] == "a2 OK NOOP completed"
    r.close()
    # logged in, a synchronizing literal that is too large is refused, the
    # stream goes on (before login the connection ends: test_hostile_imapd)
    r = raw_login(server)
    r.send(b"a3 APPEND INBOX {99999999999}\r\n")
    assert r.response()[0] == "a3 BAD [TOOBIG] Literal too large"
    r.send(b"a4 NOOP\r\n")
    assert r.response()[0] == "a4 OK NOOP completed"
    # a LITERAL+ that is too large cannot be skipped: BYE
    r.send(b"a5 APPEND INBOX {99999999999+}\r\n")
    assert r.response()[0].startswith("* BYE")
    with pytest.raises((EOFError, ConnectionError)):
        r.response()
    r.close()
    # a line longer than 64 KiB: BYE and close
    r = Raw(server.port)
    try:
        r.send(b"a1 NOOP " + b"x" * (70 << 10))
    except ConnectionError:
        pass
    assert r.response()[0] == "* BYE Line too long"
    r.close()
    # three failed logins end the connection
    r = Raw(server.port)
    for i in range(3):
        r.send(f'a{i} LOGIN {USER} "bad"\r\n'.encode())
        assert r.response()[0] == f"a{i} NO [AUTHENTICATIONFAILED] Invalid credentials"
    assert r.response()[0] == "* BYE Too many failed logins"
    r.close()
    # a client that vanishes mid-literal
    r = Raw(server.port)
    r.send(b"a1 LOGIN {10+}\r\nabc")
    r.close()
    # still serving, and the store is sane
    m = server.client()
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_sigterm_says_bye_and_reaps(imapd):
    s = Server(imapd)
    try:
        r = raw_login(s)
        r.run("SELECT INBOX")
        os.kill(s.proc.pid, signal.SIGTERM)
        assert r.response()[0] == "* BYE Server shutting down"
        assert s.proc.wait(timeout=15) == 0
        with open(s.log) as f:
            log = f.read()
        assert "stopped" in log and "disconnected" in log
    finally:
        s.stop()
        shutil.rmtree(s.dir, ignore_errors=True)


def test_options(imapd, tmp_path):
    def run(*args):
        return subprocess.run([imapd, *args], capture_output=True, text=True, timeout=30)

    for args in (["--bogus", "1"], ["--root"], ["--port", "x", "--root", "/tmp/x"],
                 ["--mutant", "no-such-mutant", "--root", "/tmp/x"],
                 ["--caps", "FOO", "--root", "/tmp/x"], []):
        p = run(*args)
        assert p.returncode == 2, (args, p)
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("ratchet-imapd: ")
    assert run("--help").returncode == 0


def test_mutants_and_caps(imapd):
    s = Server(imapd, "--mutant", "move-rename,deliver-nolock", "--caps", "UIDPLUS")
    try:
        m = s.client(login=False)
        assert "UIDPLUS" in m.capabilities and "CONDSTORE" not in m.capabilities
        assert "MOVE" not in m.capabilities
        m.login(USER, PASSWORD)
        appenduid(m.append("INBOX", None, None, message("x")))
        m.select("INBOX")
        with pytest.raises(imaplib.IMAP4.error, match="CONDSTORE not supported"):
            m._simple_command("FETCH", "1", "(MODSEQ)")
        m.logout()
    finally:
        assert s.stop() == 0
        shutil.rmtree(s.dir, ignore_errors=True)


def test_idle_timeout(imapd):
    s = Server(imapd, "--idle-timeout", "1")
    try:
        r = raw_login(s)
        time.sleep(1.5)
        assert r.response()[0] == "* BYE Idle timeout or read error"
        with pytest.raises((EOFError, ConnectionError)):
            r.response()
        r.close()
    finally:
        assert s.stop() == 0
        shutil.rmtree(s.dir, ignore_errors=True)

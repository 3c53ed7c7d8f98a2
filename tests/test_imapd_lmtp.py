"""ratchet-imapd's LMTP listener (--lmtp-port on 127.0.0.1, --lmtp-socket),
driven by Python's smtplib.LMTP (its send() and getreply() for pipelined
groups: its sendmail() reads one reply after DATA, LMTP has one per
recipient) and by raw sockets for exact bytes. What it delivers is read
back over IMAP (imaplib) from the same server, byte for byte, under the
UIDs its 250 replies named."""
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading

import pytest

from test_imapd import PASSWORD, USER, Server

LMTP_LINE = re.compile(r"ratchet-imapd: lmtp listening on 127\.0\.0\.1:(\d+)\n")
DELIVERED = re.compile(rb"2\.0\.0 (\d+) delivered to (\S+)")


class LmtpServer(Server):
    """A ratchet-imapd with LMTP on a TCP port (tcp) and on a UNIX socket
    in a directory of its own (unix)."""

    def __init__(self, binary, *extra, tcp=True, unix=True):
        self.sockdir = tempfile.mkdtemp(dir="/tmp", prefix="lmtp-test-")
        self.sock = os.path.join(self.sockdir, "lmtp.sock")
        args = (["--lmtp-port", "0"] if tcp else []) + \
            (["--lmtp-socket", self.sock] if unix else [])
        super().__init__(binary, *args, *extra)
        self.lport = None
        if tcp:
            line = self.proc.stdout.readline()
            m = LMTP_LINE.fullmatch(line)
            if m is None:
                self.proc.kill()
                raise AssertionError(f"unexpected second line {line!r}")
            self.lport = int(m.group(1))

    def lmtp(self, unix=False):
        """An smtplib.LMTP client after its LHLO."""
        c = smtplib.LMTP(self.sock if unix else "127.0.0.1",
                         0 if unix else self.lport, timeout=20)
        code, _ = c.ehlo("client.example")
        assert code == 250
        for ext in ("pipelining", "enhancedstatuscodes", "8bitmime"):
            assert c.has_extn(ext), c.esmtp_features
        return c

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture
def lmtp_server(imapd):
    s = LmtpServer(imapd)
    yield s
    rc = s.stop()
    s.cleanup()
    assert rc == 0


def stuff(body):
    """Dot-stuffing (RFC 5321 4.5.2): a dot that starts a line, after a
    CRLF, is doubled."""
    return re.sub(rb"(^|\r\n)\.", rb"\1..", body)


def transaction(c, rcpts, body, sender="sender@example.org"):
    """One pipelined group MAIL, RCPT..., DATA, then the message. Returns
    (the RCPT replies, the DATA reply, the replies after the final dot)."""
    group = f"MAIL FROM:<{sender}>\r\n" + "".join(f"RCPT TO:<{r}>\r\n" for r in rcpts)
    c.send((group + "DATA\r\n").encode())
    assert c.getreply()[0] == 250
    rcpt_replies = [c.getreply() for _ in rcpts]
    data = c.getreply()
    if data[0] != 354:
        return rcpt_replies, data, []
    c.send(stuff(body) + b".\r\n")
    accepted = sum(1 for code, _ in rcpt_replies if code == 250)
    return rcpt_replies, data, [c.getreply() for _ in range(accepted)]


def delivered(reply):
    """(uid, mailbox) of a 250 after DATA."""
    code, text = reply
    m = DELIVERED.fullmatch(text)
    assert code == 250 and m, reply
    return int(m.group(1)), m.group(2).decode()


def fetch(server, mailbox, uid):
    m = server.client()
    try:
        assert m.select(mailbox)[0] == "OK"
        typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
        assert typ == "OK" and isinstance(data[0], tuple), data
        return data[0][1]
    finally:
        m.logout()


def uids(server, mailbox):
    m = server.client()
    try:
        assert m.select(mailbox)[0] == "OK"
        typ, data = m.uid("SEARCH", "ALL")
        assert typ == "OK"
        return [int(u) for u in data[0].split()]
    finally:
        m.logout()


def message(ident, extra=b""):
    return (b"X-Ratchet-Id: " + ident.encode() + b"\r\nSubject: lmtp " +
            ident.encode() + b"\r\n" + extra + b"\r\nbody of " + ident.encode() + b"\r\n")


# ---- delivery ----

def test_pipelined_to_inbox_and_mailbox(lmtp_server):
    s = lmtp_server
    m = s.client()
    assert m.create("Work")[0] == "OK"
    m.logout()
    c = s.lmtp()
    body = message("tcp-1")
    rcpts, data, finals = transaction(c, [USER, f"{USER}+Work@example.org"], body)
    assert [code for code, _ in rcpts] == [250, 250] and data[0] == 354
    (uid_inbox, box1), (uid_work, box2) = map(delivered, finals)
    assert (box1, box2) == ("INBOX", "Work")
    # A second transaction on the same connection, with its own UIDs.
    body2 = message("tcp-2")
    _, _, finals = transaction(c, [f"{USER}@example.org"], body2)
    uid2, box = delivered(finals[0])
    assert box == "INBOX" and uid2 > uid_inbox
    assert c.docmd("QUIT")[0] == 221
    assert fetch(s, "INBOX", uid_inbox) == body
    assert fetch(s, "Work", uid_work) == body
    assert fetch(s, "INBOX", uid2) == body2
    assert uids(s, "INBOX") == [uid_inbox, uid2]


def test_unix_socket_sendmail(lmtp_server):
    s = lmtp_server
    c = s.lmtp(unix=True)
    body = message("unix")
    assert c.sendmail("a@example.org", [USER], body) == {}
    c.quit()
    got = uids(s, "INBOX")
    assert len(got) == 1
    assert fetch(s, "INBOX", got[0]) == body


def test_two_recipients_two_messages_and_refusals(lmtp_server):
    """A reply per accepted recipient, in RCPT order; refused ones get
    theirs at RCPT and none after DATA; one mailbox twice is two messages."""
    s = lmtp_server
    m = s.client()
    assert m.create("Lists")[0] == "OK"
    m.logout()
    c = s.lmtp()
    rcpts = [f"{USER}+Lists", "nobody@example.org", USER, f"{USER}+Missing",
             f"{USER}@elsewhere.example", f"{USER.upper()}", f"{USER}+"]
    body = message("multi")
    replies, data, finals = transaction(c, rcpts, body)
    assert [code for code, _ in replies] == [250, 550, 250, 550, 250, 550, 550]
    assert all(text.startswith(b"5.1.1 ") for code, text in replies if code == 550)
    assert data[0] == 354
    got = list(map(delivered, finals))
    assert [box for _, box in got] == ["Lists", "INBOX", "INBOX"]
    assert got[1][0] != got[2][0]
    # Nothing more is pending: the next reply is the NOOP's.
    assert c.docmd("NOOP") == (250, b"2.0.0 OK")
    c.quit()
    assert uids(s, "INBOX") == sorted([got[1][0], got[2][0]])
    for uid, box in got:
        assert fetch(s, box, uid) == body


def test_dot_stuffed_body_round_trips(lmtp_server):
    s = lmtp_server
    body = (b".starts with a dot\r\nX-Id: dots\r\n\r\n.\r\n..\r\n...x\r\n"
            b"middle . dot\r\n.\r\n\xe9\xff 8-bit\r\n" + b"y" * 3000 + b"\r\n"
            b"bare\nLF then\n.dot\r\n.")
    body += b"\r\n"
    c = s.lmtp()
    _, data, finals = transaction(c, [USER], body)
    assert data[0] == 354
    uid, _ = delivered(finals[0])
    c.quit()
    assert fetch(s, "INBOX", uid) == body


def test_mutant_deliver_nolock_still_delivers(imapd):
    """The mutant's race needs concurrent writers (the harness's job);
    deliveries one at a time still work and read back exactly."""
    s = LmtpServer(imapd, "--mutant", "deliver-nolock")
    try:
        c = s.lmtp()
        sent = {}
        for i in range(5):
            body = message(f"nolock-{i}")
            _, _, finals = transaction(c, [USER], body)
            uid, _ = delivered(finals[0])
            sent[uid] = body
        c.quit()
        assert sorted(sent) == uids(s, "INBOX")
        for uid, body in sent.items():
            assert fetch(s, "INBOX", uid) == body
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_concurrent_deliveries_and_appends(lmtp_server):
    """LMTP connections (TCP and UNIX) and IMAP APPENDs race through the
    store's lock: every acknowledged UID is distinct and holds its message."""
    s = lmtp_server
    results, errors = {}, []

    def deliverer(n, unix):
        try:
            c = s.lmtp(unix=unix)
            for i in range(6):
                body = message(f"race-{n}-{i}")
                _, _, finals = transaction(c, [USER, USER], body)
                for reply in finals:
                    uid, _ = delivered(reply)
                    results.setdefault(uid, []).append(body)
            c.quit()
        except Exception as e:  # reported below, with the thread's name
            errors.append(f"deliverer {n}: {e!r}")

    def appender():
        try:
            m = s.client()
            for i in range(6):
                body = message(f"append-{i}")
                typ, data = m.append("INBOX", None, None, body)
                uid = int(re.match(rb"\[APPENDUID \d+ (\d+)\]", data[0]).group(1))
                results.setdefault(uid, []).append(body)
            m.logout()
        except Exception as e:
            errors.append(f"appender: {e!r}")

    threads = [threading.Thread(target=deliverer, args=(n, n % 2 == 1)) for n in range(3)]
    threads.append(threading.Thread(target=appender))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(len(v) == 1 for v in results.values()), "a UID given twice"
    assert len(results) == 3 * 6 * 2 + 6
    assert sorted(results) == uids(s, "INBOX")
    for uid, (body,) in results.items():
        assert fetch(s, "INBOX", uid) == body


# ---- the protocol, byte for byte ----

class RawLmtp:
    """A raw LMTP client: exact bytes out, replies as (code, [texts])."""

    def __init__(self, server, unix=False):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(20)
            self.sock.connect(server.sock)
        else:
            self.sock = socket.create_connection(("127.0.0.1", server.lport), timeout=20)
        self.buf = b""
        self.greeting = self.reply()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        texts = []
        while True:
            line = self.line()
            assert re.fullmatch(rb"[2-5]\d\d[ -][ -~]*", line), line
            texts.append(line[4:].decode())
            if line[3:4] == b" ":
                return int(line[:3]), texts

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


def test_greeting_sequence_and_syntax(lmtp_server):
    r = RawLmtp(lmtp_server)
    code, texts = r.greeting
    assert code == 220 and texts[0].endswith("LMTP ratchet-imapd ready")
    # Everything in one write: the replies come in order.
    script = [
        (b"MAIL FROM:<a@b>", 503, "5.5.1 "),        # before LHLO
        (b"HELO client", 500, "5.5.1 "),            # SMTP's, not LMTP's
        (b"EHLO client", 500, "5.5.1 "),
        (b"LHLO client.example", 250, "localhost"),
        (b"RCPT TO:<%s>" % USER.encode(), 503, "5.5.1 "),  # before MAIL
        (b"DATA", 503, "5.5.1 "),
        (b"MAIL FROM:a@b", 501, "5.5.4 "),
        (b"MAIL FROM:<>", 250, "2.1.0 "),
        (b"MAIL FROM:<a@b>", 503, "5.5.1 Nested"),
        (b"DATA", 503, "5.5.1 No valid recipients"),  # RFC 2033 4.2
        (b"RCPT TO:<>", 501, "5.5.4 "),
        (b"RCPT TO:<a b>", 501, "5.5.4 "),
        (b"RCPT TO:<nobody>", 550, "5.1.1 "),
        (b"DATA", 503, "5.5.1 No valid recipients"),
        (b"FROB", 500, "5.5.1 Unknown command"),
        (b"DATA now", 501, "5.5.4 "),
        (b"VRFY alice", 252, ""),
        (b"EXPN list", 502, "5.5.1 "),
        (b"HELP", 502, "5.5.1 "),
        (b"NOOP \x00\xff", 501, "5.5.4 "),
        (b"RSET", 250, "2.0.0 "),
        (b"RCPT TO:<%s>" % USER.encode(), 503, "5.5.1 "),  # RSET ended MAIL
        (b"noop", 250, "2.0.0 OK"),
        (b"QUIT", 221, "2.0.0 "),
    ]
    r.send(b"".join(cmd + b"\r\n" for cmd, _, _ in script) + b"NOOP\r\n")
    for cmd, code, start in script:
        got = r.reply()
        assert got[0] == code and got[1][0].startswith(start), (cmd, got)
    assert got[1] == ["2.0.0 Bye"]
    with pytest.raises((EOFError, ConnectionError)):
        r.reply()  # nothing after QUIT, not even for the NOOP sent after it
    r.close()
    lhlo = RawLmtp(lmtp_server, unix=True)
    lhlo.send(b"LHLO x\r\n")
    assert lhlo.reply() == (250, ["localhost", "PIPELINING", "ENHANCEDSTATUSCODES",
                                  "8BITMIME"])
    lhlo.close()
    # The server is none the worse: a delivery works.
    c = lmtp_server.lmtp()
    _, _, finals = transaction(c, [USER], message("after"))
    delivered(finals[0])
    c.quit()


def test_oversized_line_is_refused_and_skipped(lmtp_server):
    r = RawLmtp(lmtp_server)
    r.send(b"LHLO x\r\n")
    assert r.reply()[0] == 250
    # 4096 bytes is the limit; one more is too long, in one piece or many.
    r.send(b"NOOP " + b"x" * 4091 + b"\r\n")
    assert r.reply() == (250, ["2.0.0 OK"])
    r.send(b"NOOP " + b"x" * 4092 + b"\r\n")
    assert r.reply()[1][0].startswith("5.5.2 Line too long") and r.buf == b""
    for _ in range(20):
        r.send(b"RCPT TO:<" + b"y" * 5000)
    r.send(b">\r\nNOOP\r\n")
    assert r.reply()[0] == 500
    assert r.reply() == (250, ["2.0.0 OK"])
    # The stream is in step: a whole transaction on the same connection.
    body = message("long-line")
    r.send(b"MAIL FROM:<>\r\nRCPT TO:<" + USER.encode() + b">\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(3)] == [250, 250, 354]
    r.send(body + b".\r\n")
    code, texts = r.reply()
    uid, _ = delivered((code, texts[0].encode()))
    r.close()
    assert fetch(lmtp_server, "INBOX", uid) == body


def test_too_many_recipients(lmtp_server):
    r = RawLmtp(lmtp_server)
    r.send(b"LHLO x\r\nMAIL FROM:<>\r\n" + b"RCPT TO:<%s>\r\n" % USER.encode() * 101 +
           b"RSET\r\nQUIT\r\n")
    assert [r.reply()[0] for _ in range(2)] == [250, 250]
    codes = [r.reply() for _ in range(101)]
    assert [c for c, _ in codes[:100]] == [250] * 100
    assert codes[100][0] == 452 and codes[100][1][0].startswith("4.5.3 ")
    assert r.reply()[0] == 250 and r.reply()[0] == 221
    r.close()
    assert uids(lmtp_server, "INBOX") == []


def test_oversized_message_refused_per_recipient(lmtp_server):
    """Over 64 MiB after unstuffing: 552 for each recipient, read to the
    final dot so that the next command is understood; nothing stored."""
    c = lmtp_server.lmtp()
    line = b"z" * 998 + b"\r\n"
    body = line * ((64 << 20) // len(line) + 1)
    assert len(body) > 64 << 20
    _, data, finals = transaction(c, [USER, USER], body)
    assert data[0] == 354
    assert [code for code, _ in finals] == [552, 552]
    assert all(text.startswith(b"5.3.4 ") for _, text in finals)
    assert c.docmd("NOOP") == (250, b"2.0.0 OK")
    # Exactly the bound is accepted.
    exact = b"a" * ((64 << 20) - 2) + b"\r\n"
    _, _, finals = transaction(c, [USER], exact)
    uid, _ = delivered(finals[0])
    c.quit()
    assert uids(lmtp_server, "INBOX") == [uid]
    assert fetch(lmtp_server, "INBOX", uid) == exact


# ---- listeners, connections, time ----

def rest_of_stdout(server):
    """Stops the server (SIGTERM by PID); what it printed after the lines
    read already."""
    os.kill(server.proc.pid, signal.SIGTERM)
    out = server.proc.stdout.read()
    assert server.proc.wait(timeout=15) == 0
    return out


def test_socket_only_and_removed_at_stop(imapd):
    s = LmtpServer(imapd, tcp=False)
    try:
        assert s.lport is None
        c = s.lmtp(unix=True)
        assert c.sendmail("", [USER], message("sock")) == {}
        c.quit()
        assert rest_of_stdout(s) == ""  # no LMTP port line without --lmtp-port
        assert not os.path.exists(s.sock)
    finally:
        s.stop()
        s.cleanup()


def test_neither_listener_is_imap_only(imapd):
    s = Server(imapd)
    try:
        assert rest_of_stdout(s) == ""
        log = open(s.log).read()
        assert "lmtp" not in log and "listening on 127.0.0.1:" in log
    finally:
        s.stop()
        shutil.rmtree(s.dir, ignore_errors=True)


def start_fails(imapd, sock_path):
    d = tempfile.mkdtemp(dir="/tmp", prefix="lmtp-test-")
    try:
        p = subprocess.run([imapd, "--root", os.path.join(d, "mail"), "--port", "0",
                            "--lmtp-socket", sock_path], capture_output=True, text=True,
                           timeout=30)
        return p.returncode, p.stdout, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_stale_socket_replaced_others_left_alone(imapd):
    d = tempfile.mkdtemp(dir="/tmp", prefix="lmtp-test-")
    try:
        path = os.path.join(d, "lmtp.sock")
        # Something that is not a socket: refused, left as it was.
        with open(path, "w") as f:
            f.write("keep me")
        rc, out, err = start_fails(imapd, path)
        assert rc == 2 and out == "" and err.count("\n") == 1, err
        assert path in err and "not a socket" in err
        assert open(path).read() == "keep me"
        os.unlink(path)
        # A live socket: somebody accepts on it; refused, left alone.
        live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        live.bind(path)
        live.listen(1)
        rc, out, err = start_fails(imapd, path)
        assert rc == 2 and "a server accepts on it" in err and err.count("\n") == 1
        # The same socket, closed without removing it: stale, replaced.
        live.close()
        assert os.path.exists(path)
        s = Server(imapd, "--lmtp-socket", path)
        try:
            s.sock = path
            c = LmtpServer.lmtp(s, unix=True)
            assert c.docmd("NOOP")[0] == 250
            c.quit()
        finally:
            assert s.stop() == 0
            shutil.rmtree(s.dir, ignore_errors=True)
        assert not os.path.exists(path)
        rc, _, err = start_fails(imapd, os.path.join(d, "x" * 120))
        assert rc == 2 and "too long" in err
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_usage_errors(imapd):
    for args in (["--lmtp-port", "65536"], ["--lmtp-port", "x"], ["--lmtp-socket", ""]):
        p = subprocess.run([imapd, "--root", "/nonexistent-never-made", *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1, args
    p = subprocess.run([imapd, "--help"], capture_output=True, text=True, timeout=30)
    assert "--lmtp-port N" in p.stdout and "--lmtp-socket PATH" in p.stdout


def test_max_conns_counts_lmtp(imapd):
    s = LmtpServer(imapd, "--max-conns", "1")
    try:
        first = RawLmtp(s)  # served: holds the one slot
        assert first.greeting[0] == 220
        second = RawLmtp(s, unix=True)
        assert second.greeting == (421, ["4.3.2 Too many connections"])
        second.close()
        imap = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        assert imap.makefile("rb").readline() == b"* BYE Too many connections\r\n"
        imap.close()
        first.send(b"QUIT\r\n")
        assert first.reply()[0] == 221
        first.close()
    finally:
        assert s.stop() == 0
        s.cleanup()


def test_idle_timeout_and_shutdown(imapd):
    s = LmtpServer(imapd, "--idle-timeout", "1")
    try:
        r = RawLmtp(s)
        r.send(b"LHLO x\r\nMAIL FROM:<>\r\n")
        assert [r.reply()[0] for _ in range(2)] == [250, 250]
        # Silent: the server ends the connection, saying why.
        assert r.reply() == (421, ["4.4.2 Idle timeout or read error, closing"])
        with pytest.raises((EOFError, ConnectionError)):
            r.reply()
        r.close()
    finally:
        assert s.stop() == 0
        s.cleanup()
    s = LmtpServer(imapd)
    r = RawLmtp(s, unix=True)
    r.send(b"LHLO x\r\n")
    assert r.reply()[0] == 250
    assert s.stop() == 0  # SIGTERM: the connection is told, then ends
    assert r.reply() == (421, ["4.3.2 Server shutting down"])
    r.close()
    s.cleanup()

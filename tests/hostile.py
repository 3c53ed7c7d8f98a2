"""Hostile IMAP peers for pytest, on 127.0.0.1 only.

Two kinds, both threaded, both stopped by stop():

FakeServer(behaviour)
    A scripted server with no upstream. `behaviour` is an object whose
    methods `cmd_<verb>(sess, tag, args, raw)` answer a command (verb lower
    case, UID commands as `cmd_uid_<verb>`); a missing method gets
    `tag BAD`. `BlackHole` is a complete behaviour: it answers OK to
    everything, assigns an APPENDUID to every APPEND and stores nothing, so
    every mailbox always reads empty. Subclass it to script an attack.

Proxy(upstream_port, policy)
    Sits between ratchet and an honest server (ratchet-imapd, which offers
    LITERAL+). `policy.on_command(proxy, sess, cmd)` may return bytes to
    answer the command itself (the command then never reaches the server)
    or None to forward it; `policy.on_server_line(proxy, sess, line)` may
    rewrite each line the server sends (literal data passes untouched).
    The proxy tracks which mailbox each connection has selected
    (`proxy.selected(sess)`, `proxy.others_selected(sess, name)`).

A command is a `Command`: tag, verb (upper case, "UID FETCH" for UID
forms), args (a list of atoms, strings and literals as bytes, parenthesized
lists as one bytes value) and raw (the bytes as received, every literal made
non-synchronizing, so they can be forwarded as they are).

Both listen on an ephemeral port of 127.0.0.1: `.port` and `.url(user, pw)`.
"""
import re
import socket
import threading

LITERAL = re.compile(rb"~?\{(\d+)(\+?)\}\r\n$")
MAX_LITERAL = 64 << 20


class Closed(Exception):
    pass


class Command:
    def __init__(self, raw, tag, verb, args):
        self.raw, self.tag, self.verb, self.args = raw, tag, verb, args

    def arg(self, i, default=b""):
        return self.args[i] if i < len(self.args) else default


class Session:
    """One client connection: the socket, a read buffer and free-form
    state (`vars`) for behaviours and policies."""

    def __init__(self, sock):
        self.sock, self.buf, self.vars = sock, b"", {}
        self.selected = None
        self.send_lock = threading.Lock()
        self.closed = False

    def send(self, data):
        with self.send_lock:
            if not self.closed:
                self.sock.sendall(data)

    def recv_line(self, limit=1 << 20):
        while b"\r\n" not in self.buf:
            if len(self.buf) > limit:
                raise Closed("line too long")
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def recv_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed("peer closed")
        self.buf += chunk

    def close(self):
        with self.send_lock:
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def tokenize(data):
    """Atoms, quoted strings and parenthesized lists (kept whole) of one
    command line whose literals were replaced by \\0<index>\\0 markers."""
    out, i, n = [], 0, len(data)
    while i < n:
        c = data[i:i + 1]
        if c == b" ":
            i += 1
        elif c == b'"':
            j, val = i + 1, b""
            while j < n and data[j:j + 1] != b'"':
                if data[j:j + 1] == b"\\":
                    j += 1
                val += data[j:j + 1]
                j += 1
            out.append(val)
            i = j + 1
        elif c in (b"(", b"["):
            close, depth, j = {b"(": b")", b"[": b"]"}[c], 0, i
            while j < n:
                if data[j:j + 1] == c:
                    depth += 1
                elif data[j:j + 1] == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append(data[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < n and data[j:j + 1] not in (b" ", b"("):
                j += 1
            out.append(data[i:j])
            i = j
    return out


def read_command(sess, sync_ack=b"+ go ahead\r\n"):
    """Reads one command; answers synchronizing literals itself. Returns a
    Command with every literal in raw made non-synchronizing."""
    raw, text, lits = b"", b"", []
    while True:
        line = sess.recv_line()
        m = LITERAL.search(line)
        if m is None:
            raw += line
            text += line[:-2]
            break
        size = int(m.group(1))
        if size > MAX_LITERAL:
            raise Closed("literal too big")
        head = line[:m.start()]
        raw += head + b"{%d+}\r\n" % size
        if not m.group(2):
            sess.send(sync_ack)
        lit = sess.recv_exact(size)
        raw += lit
        text += head + b"\0%d\0" % len(lits)
        lits.append(lit)
    parts = text.split(b" ", 2)
    tag = parts[0]
    verb = parts[1].upper() if len(parts) > 1 else b""
    rest = parts[2] if len(parts) > 2 else b""
    if verb == b"UID" and rest:
        sub, _, rest = rest.partition(b" ")
        verb = b"UID " + sub.upper()
    args = [lits[int(a[1:-1])] if re.fullmatch(rb"\0\d+\0", a) else a
            for a in tokenize(rest)]
    return Command(raw, tag, verb.decode("ascii", "replace"), args)


class _Listener:
    """Accepts on 127.0.0.1:0 and runs serve(sock) in a thread per
    connection."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.sessions, self.lock = [], threading.Lock()
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, user="ratchet", password="pw"):
        return f"imap://{user}:{password}@127.0.0.1:{self.port}"

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            sess = Session(sock)
            with self.lock:
                self.sessions.append(sess)
            threading.Thread(target=self._run, args=(sess,), daemon=True).start()

    def _run(self, sess):
        try:
            self.serve(sess)
        except (Closed, OSError):
            pass
        finally:
            sess.close()

    def stop(self):
        self.stopping = True
        self.lsock.close()
        with self.lock:
            for s in self.sessions:
                s.close()


class FakeServer(_Listener):
    def __init__(self, behaviour):
        self.behaviour = behaviour
        super().__init__()

    def serve(self, sess):
        b = self.behaviour
        sess.send(b.greeting())
        while True:
            cmd = read_command(sess)
            name = "cmd_" + cmd.verb.lower().replace(" ", "_")
            fn = getattr(b, name, None)
            if fn is None:
                sess.send(cmd.tag + b" BAD unknown command\r\n")
                continue
            if fn(sess, cmd) == "close":
                return


def unquote(v):
    return v.decode("utf-8", "replace")


class BlackHole:
    """Acknowledges every write and keeps nothing: every mailbox reads empty,
    with a UIDNEXT that follows the UIDs it handed out. `caps` is the
    CAPABILITY list; without UIDPLUS no APPENDUID is sent."""

    UIDVALIDITY = 7

    def __init__(self, caps="IMAP4rev1 LITERAL+ UIDPLUS"):
        self.caps = caps
        self.boxes = {"INBOX": 1}     # name -> UIDNEXT
        self.lock = threading.Lock()
        self.appends = 0

    def greeting(self):
        return b"* OK [CAPABILITY %s] hostile ready\r\n" % self.caps.encode()

    def ok(self, sess, cmd, text=b"done", code=b""):
        sess.send(cmd.tag + b" OK " + (code + b" " if code else b"") + text + b"\r\n")

    def cmd_capability(self, sess, cmd):
        sess.send(b"* CAPABILITY %s\r\n" % self.caps.encode())
        self.ok(sess, cmd)

    def cmd_login(self, sess, cmd):
        self.ok(sess, cmd)

    def cmd_logout(self, sess, cmd):
        sess.send(b"* BYE bye\r\n")
        self.ok(sess, cmd)
        return "close"

    def cmd_noop(self, sess, cmd):
        self.ok(sess, cmd)

    cmd_check = cmd_noop

    def cmd_list(self, sess, cmd):
        pattern = unquote(cmd.arg(1))
        if pattern == "":
            sess.send(b'* LIST (\\Noselect) "/" ""\r\n')
        else:
            rx = re.escape(pattern).replace(r"\*", ".*").replace("%", "[^/]*")
            with self.lock:
                names = [n for n in self.boxes if re.fullmatch(rx, n)]
            for n in names:
                sess.send(b'* LIST () "/" "%s"\r\n' % n.encode())
        self.ok(sess, cmd)

    def cmd_create(self, sess, cmd):
        with self.lock:
            self.boxes.setdefault(unquote(cmd.arg(0)), 1)
        self.ok(sess, cmd)

    def cmd_delete(self, sess, cmd):
        with self.lock:
            self.boxes.pop(unquote(cmd.arg(0)), None)
        self.ok(sess, cmd)

    def uidnext(self, name):
        with self.lock:
            return self.boxes.setdefault(name, 1)

    def cmd_select(self, sess, cmd, rw=b"READ-WRITE"):
        name = unquote(cmd.arg(0))
        sess.selected = name
        sess.send(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                  b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen"
                  b" \\Draft \\*)] ok\r\n"
                  b"* 0 EXISTS\r\n* 0 RECENT\r\n"
                  b"* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT %d] ok\r\n"
                  % (self.UIDVALIDITY, self.uidnext(name)))
        self.ok(sess, cmd, code=b"[" + rw + b"]")

    def cmd_examine(self, sess, cmd):
        self.cmd_select(sess, cmd, b"READ-ONLY")

    def cmd_close(self, sess, cmd):
        sess.selected = None
        self.ok(sess, cmd)

    cmd_unselect = cmd_close

    def cmd_status(self, sess, cmd):
        name = unquote(cmd.arg(0))
        sess.send(b'* STATUS "%s" (MESSAGES 0 UIDNEXT %d UIDVALIDITY %d)\r\n'
                  % (name.encode(), self.uidnext(name), self.UIDVALIDITY))
        self.ok(sess, cmd)

    def cmd_append(self, sess, cmd):
        name = unquote(cmd.arg(0))
        with self.lock:
            uid = self.boxes.setdefault(name, 1)
            self.boxes[name] = uid + 1
            self.appends += 1
        code = (b"[APPENDUID %d %d]" % (self.UIDVALIDITY, uid)
                if "UIDPLUS" in self.caps else b"")
        self.ok(sess, cmd, code=code)

    def cmd_search(self, sess, cmd):
        sess.send(b"* SEARCH\r\n")
        self.ok(sess, cmd)

    cmd_uid_search = cmd_search

    def cmd_expunge(self, sess, cmd):
        self.ok(sess, cmd)

    cmd_uid_expunge = cmd_fetch = cmd_uid_fetch = cmd_expunge
    cmd_uid_store = cmd_uid_copy = cmd_uid_move = cmd_expunge

    def cmd_store(self, sess, cmd):
        sess.send(cmd.tag + b" BAD no such message\r\n")

    cmd_copy = cmd_move = cmd_store


class Proxy(_Listener):
    def __init__(self, upstream_port, policy):
        self.upstream_port, self.policy = upstream_port, policy
        self.state_lock = threading.Lock()
        super().__init__()

    def selected(self, sess):
        with self.state_lock:
            return sess.selected

    def others_selected(self, sess, name):
        with self.state_lock:
            return any(s is not sess and s.selected == name and not s.closed
                       for s in self.sessions)

    def serve(self, sess):
        up = Session(socket.create_connection(("127.0.0.1", self.upstream_port)))
        sess.vars["pending"] = {}
        t = threading.Thread(target=self._downstream, args=(sess, up), daemon=True)
        t.start()
        try:
            while True:
                cmd = read_command(sess)
                reply = self.policy.on_command(self, sess, cmd)
                if reply is not None:
                    sess.send(reply)
                    continue
                with self.state_lock:
                    sess.vars["pending"][cmd.tag] = cmd
                up.send(cmd.raw)
        finally:
            up.close()

    def _downstream(self, sess, up):
        try:
            while True:
                line = up.recv_line(limit=64 << 20)
                self._track(sess, line)
                sess.send(self.policy.on_server_line(self, sess, line))
                m = LITERAL.search(line)
                if m:
                    sess.send(up.recv_exact(int(m.group(1))))
        except (Closed, OSError):
            sess.close()

    def _track(self, sess, line):
        """Follows SELECT/EXAMINE/CLOSE outcomes per connection."""
        tag, _, rest = line.partition(b" ")
        with self.state_lock:
            cmd = sess.vars["pending"].pop(tag, None)
            if cmd is None:
                return
            ok = rest.upper().startswith(b"OK")
            if cmd.verb in ("SELECT", "EXAMINE"):
                sess.selected = unquote(cmd.arg(0)) if ok else None
            elif cmd.verb in ("CLOSE", "UNSELECT", "LOGOUT"):
                sess.selected = None


class Policy:
    """Forwards everything unchanged; subclass to misbehave."""

    def on_command(self, proxy, sess, cmd):
        return None

    def on_server_line(self, proxy, sess, line):
        return line
